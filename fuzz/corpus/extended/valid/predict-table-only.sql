SELECT * FROM iris.test TO PREDICT predicted USING sqlflow_models.my_model;
