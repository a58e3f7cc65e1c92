SELECT * FROM iris.train TO TRAIN DNNLinearCombinedClassifier WITH model.n_classes = 3
COLUMN EMBEDDING(CATEGORY_ID(sepal_length, 20), 2, "sum") for dnn_feature_columns
COLUMN EMBEDDING(CATEGORY_ID(sepal_width, 20), 2, "sum"), INDICATOR(BUCKET(petal_length, [1, 2, 3])) for linear_feature_columns
LABEL class INTO sqlflow_models.wide_deep;
