-- SQLFlow's tutorial "Explaining Model on SQLFlow Tutorial": its SQL cells, verbatim, from
-- doc/tutorial/housing-explain.md of https://github.com/sql-machine-learning/sqlflow at commit
-- 6c492098320875427b08ad82ce3f874c0b6aaa7a (2022-05-13, the commit the
-- vendored datasets come from; this file last changed in 4fae29c073a4, 2020-09-29).
-- Each `-- %%sqlflow` line starts one cell, in the tutorial's order (the notebook's
-- %%sqlflow magic, made a comment): tests/tests/tutorials.rs runs each cell as one job,
-- as the notebook does. The tutorial's prose and outputs are not copied.
-- Left out: the first sql block, a syntax template (`SELECT * FROM tbl ...`), not a cell.
-- %%sqlflow
SELECT * FROM boston.train
TO TRAIN xgboost.gbtree
WITH
    objective="reg:squarederror",
    train.num_boost_round = 30
COLUMN crim, zn, indus, chas, nox, rm, age, dis, rad, tax, ptratio, b, lstat
LABEL medv
INTO sqlflow_models.my_xgb_regression_model;
-- %%sqlflow
SELECT *
FROM boston.train
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH
    summary.plot_type="dot",
    summary.alpha=1,
    summary.sort=True
USING TreeExplainer;
-- %%sqlflow
SELECT *
FROM boston.train
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH
    summary.plot_type="bar",
    summary.alpha=1,
    summary.sort=True
USING TreeExplainer;
