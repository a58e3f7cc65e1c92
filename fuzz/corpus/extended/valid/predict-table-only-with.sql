SELECT * FROM iris.test TO PREDICT predicted WITH predict.batch_size = 1 USING sqlflow_models.my_model;
