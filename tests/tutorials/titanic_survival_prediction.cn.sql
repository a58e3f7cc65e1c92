-- SQLFlow's tutorial "泰坦尼克号生存预测 (sqlflow.org's Chinese Titanic tutorial)": its SQL cells, verbatim, from
-- doc/sqlflow.org_cn/titanic_survival_prediction.cn.md of https://github.com/sql-machine-learning/sqlflow at commit
-- 6c492098320875427b08ad82ce3f874c0b6aaa7a (2022-05-13, the commit the
-- vendored datasets come from; this file last changed in 5dce866c4456, 2020-05-07).
-- Each `-- %%sqlflow` line starts one cell, in the tutorial's order (the notebook's
-- %%sqlflow magic, made a comment): tests/tests/tutorials.rs runs each cell as one job,
-- as the notebook does. The tutorial's prose and outputs are not copied.
-- Left out: the shell commands that load the data (`mysql < popularize_titanic.sql`,
-- `hive -f ...`) and the cell written for MaxCompute (`FROM alifin_jtest_dev.sqlflow_titanic_train`).
-- Most cells have no %%sqlflow line in the tutorial; each sql block is a cell here.
-- %%sqlflow
DESCRIBE titanic.train;
SELECT * FROM titanic.train limit 20;
-- %%sqlflow
SELECT * FROM titanic.train
TO TRAIN DNNClassifier WITH
  model.n_classes=2,
  model.hidden_units=[100, 100]
LABEL survived
INTO titanic.my_titanic_model;
-- %%sqlflow
SELECT * FROM titanic.train
TO TRAIN DNNClassifier WITH
  model.hidden_units=[200, 200, 200],
  validation.select='select * from titanic.train'
LABEL survived
INTO titanic.my_titanic_model;
-- %%sqlflow
SELECT * FROM titanic.train
TO TRAIN DNNClassifier WITH
  model.hidden_units=[200, 200, 200],
  optimizer.learning_rate=0.01,
  validation.select='select * from titanic.train'
LABEL survived
INTO titanic.my_titanic_model;
-- %%sqlflow
SELECT * FROM titanic.test
TO PREDICT titanic.sqlflow_titanic_predict.survived
USING titanic.my_titanic_model;
-- %%sqlflow
SELECT * FROM titanic.test
TO EXPLAIN titanic.my_titanic_model;
-- %%sqlflow
SELECT * FROM titanic.test
TO EXPLAIN titanic.my_titanic_model WITH summary.plot_type=dot;
-- %%sqlflow
SELECT sex_male, survived, count(*) FROM titanic.train GROUP BY sex_male, survived;
