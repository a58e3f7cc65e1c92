-- SQLFlow's extensions: train, evaluate, predict, explain and show models, on the
-- tutorial datasets (load them first: sqlflow demo-data).

-- A neural network on iris, checked on held-out rows while it trains.
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20], train.epoch = 100,
     optimizer.learning_rate = 0.01,
     validation.select = "SELECT * FROM iris.test"
LABEL class
INTO sqlflow_models.iris_dnn;

SELECT * FROM iris.test
TO EVALUATE sqlflow_models.iris_dnn
WITH validation.metrics = "Accuracy,F1"
LABEL class
INTO iris.evaluation;
SELECT * FROM iris.evaluation;

SELECT * FROM iris.test TO PREDICT iris.predicted.class USING sqlflow_models.iris_dnn;
SELECT * FROM iris.predicted LIMIT 5;

-- Gradient-boosted trees (XGBoost's parameters) on house prices, and why they predict so.
-- (boston.test is SQLFlow's 10 last rows, whose prices hardly vary: read MAE, not R2.)
SELECT * FROM boston.train
TO TRAIN xgboost.gbtree
WITH objective = "reg:squarederror", eta = 0.1, max_depth = 4, num_boost_round = 100,
     validation.select = "SELECT * FROM boston.test"
LABEL medv
INTO sqlflow_models.boston_xgb;

SELECT * FROM boston.test TO EXPLAIN sqlflow_models.boston_xgb USING TreeExplainer;

-- Strings are category-encoded automatically (NULLs would be too: a missing value of
-- its own).
SELECT gender, SeniorCitizen, tenure, InternetService, Contract, PaymentMethod,
       MonthlyCharges, TotalCharges, Churn
FROM churn.train
TO TRAIN RandomForestClassifier
WITH model.n_estimators = 50,
     validation.select = "SELECT * FROM churn.test"
LABEL Churn
INTO sqlflow_models.churn_forest;

SHOW TRAIN sqlflow_models.churn_forest;

-- SQLFlow's Titanic tutorial: titanic.test is Kaggle's unlabelled half (its survived
-- column is all 0), so the model predicts it.
SELECT * FROM titanic.train
TO TRAIN xgboost.gbtree
WITH objective = "binary:logistic", eta = 0.1, max_depth = 4, num_boost_round = 50
LABEL survived
INTO sqlflow_models.titanic_xgb;

SELECT * FROM titanic.test TO PREDICT titanic.predicted.survived USING sqlflow_models.titanic_xgb;
SELECT survived, count(*) AS passengers FROM titanic.predicted GROUP BY survived ORDER BY survived;
