SELECT * FROM t TO TRAIN DNNClassifier COLUMN label, `for`, "x y", column FOR dnn COLUMN for LABEL label INTO m;
