-- SQLFlow's tutorial "Train and Predict Titanic Dataset Using DNNClassifer in SQLFlow": its SQL cells, verbatim, from
-- doc/tutorial/apsara2019/titanic_dnn/README.md of https://github.com/sql-machine-learning/sqlflow at commit
-- 6c492098320875427b08ad82ce3f874c0b6aaa7a (2022-05-13, the commit the
-- vendored datasets come from; this file last changed in 16f5e38ba1c0, 2019-12-27).
-- Each `-- %%sqlflow` line starts one cell, in the tutorial's order (the notebook's
-- %%sqlflow magic, made a comment): tests/tests/tutorials.rs runs each cell as one job,
-- as the notebook does. The tutorial's prose and outputs are not copied.
-- %%sqlflow
describe titanic.train;
-- %%sqlflow
select *
from titanic.train
limit 1;
-- %%sqlflow
SELECT *
FROM titanic.train
TO TRAIN DNNClassifier
WITH
  model.n_classes = 2,
  model.hidden_units = [10, 40, 10],
  train.epoch = 200,
  train.batch_size = 64
COLUMN pclass_1, pclass_2, pclass_3, sex_female, sex_male, embarked_c, embarked_q, embarked_s, title_master, title_misc, title_miss, title_mr, title_mrs, nosibsp, noparch, nullcabin, cabinalpha, family, isalone, ismother, age, realfare
LABEL survived
INTO sqlflow_models.my_dnn_model;
-- %%sqlflow
SELECT *
FROM titanic.test
TO PREDICT titanic.predict.survived
USING sqlflow_models.my_dnn_model;

SELECT *
FROM titanic.test
LIMIT 5;

SELECT *
FROM titanic.predict
LIMIT 5;
