-- SQLFlow's tutorial "The Credit Card Fraud Detection Example": its SQL cells, verbatim, from
-- doc/tutorial/fraud-dnn.md of https://github.com/sql-machine-learning/sqlflow at commit
-- 6c492098320875427b08ad82ce3f874c0b6aaa7a (2022-05-13, the commit the
-- vendored datasets come from; this file last changed in 4fae29c073a4, 2020-09-29).
-- Each `-- %%sqlflow` line starts one cell, in the tutorial's order (the notebook's
-- %%sqlflow magic, made a comment): tests/tests/tutorials.rs runs each cell as one job,
-- as the notebook does. The tutorial's prose and outputs are not copied.
-- %%sqlflow
SELECT * from creditcard.creditcard limit 5;
-- %%sqlflow
SELECT * from creditcard.creditcard
TO TRAIN DNNClassifier
WITH model.n_classes=2, model.hidden_units=[128,32], train.epoch=100
COLUMN time,v1,v2,v3,v4,v5,v6,v7,v8,v9,v10,v11,v12,v13,v14,v15,v16,v17,v18,v19,v20,v21,v22,v23,v24,v25,v26,v27,v28,amount
LABEL class
INTO creditcard.creditcard_deep_model;
-- %%sqlflow
SELECT * from creditcard.creditcard
WHERE class=1
TO PREDICT creditcard.predict.class
USING creditcard.creditcard_deep_model;
-- %%sqlflow
SELECT * from creditcard.predict;
