SELECT * FROM t TO TRAIN xgboost.gbtree LABEL `label` USING old INTO m;
