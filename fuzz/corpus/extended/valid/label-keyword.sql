SELECT * FROM t TO TRAIN DNNClassifier WITH model.n_classes = 2 LABEL label INTO m;
