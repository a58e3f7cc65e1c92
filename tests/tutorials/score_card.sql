-- SQLFlow's tutorial "Credit ScoreCard Model on SQLFlow": its SQL cells, verbatim, from
-- doc/tutorial/score_card.md of https://github.com/sql-machine-learning/sqlflow at commit
-- 6c492098320875427b08ad82ce3f874c0b6aaa7a (2022-05-13, the commit the
-- vendored datasets come from; this file last changed in 9f6a41540ca5, 2020-09-27).
-- Each `-- %%sqlflow` line starts one cell, in the tutorial's order (the notebook's
-- %%sqlflow magic, made a comment): tests/tests/tutorials.rs runs each cell as one job,
-- as the notebook does. The tutorial's prose and outputs are not copied.
-- Left out: the data loading block (CREATE TABLE, LOAD DATA LOCAL INFILE), which
-- `sqlflow demo-data scorecard` replaces. The TO TRAIN block has no %%sqlflow line in the
-- tutorial; it is a cell here all the same.
-- %%sqlflow
SELECT * FROM scorecard.train LIMIT 10;
-- %%sqlflow
SELECT * FROM scorecard.train
TO TRAIN sqlflow_models.ScoreCard
LABEL serious_dlqin2yrs
INTO sqlflow_models.my_scorecard_model;
