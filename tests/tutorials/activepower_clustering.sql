-- SQLFlow's tutorial "Clustering the Active Power Consumption Using Clustering model in
-- SQLFlow": its SQL cells, verbatim, from doc/tutorial/apsara2019/activepower_clustering/README.md
-- of https://github.com/sql-machine-learning/sqlflow at commit
-- a3823c8cc1a9ac22370b597a3bc5ced57bac5d3a (the copy that could be read; the file at
-- 6c492098320875427b08ad82ce3f874c0b6aaa7a, the commit the vendored datasets come from,
-- could not).
-- Each `-- %%sqlflow` line starts one cell, in the tutorial's order (the notebook's
-- %%sqlflow magic, made a comment): tests/tests/tutorials.rs runs each cell as one job,
-- as the notebook does. The tutorial's prose and outputs are not copied.
-- Left out: the `text` blocks that show pieces of the TO TRAIN and TO PREDICT cells.
-- Its dataset, activepower.train (Kaggle's household power consumption), is not vendored:
-- the test writes synthetic days of the same columns first (models/tests/activepower).
-- %%sqlflow
describe activepower.train;
-- %%sqlflow
select * 
from activepower.train 
limit 1;
-- %%sqlflow
SELECT * FROM activepower.train
TO TRAIN sqlflow_models.DeepEmbeddingClusterModel
WITH
  model.n_clusters=3,
  model.pretrain_epochs=10,
  model.train_max_iters=800,
  model.train_lr=0.01,
  model.pretrain_lr=1,
  train.batch_size=256
COLUMN m1,m2,m3,m4,m5,m6,m7,m8,m9,m10,m11,m12,m13,m14,m15,m16,m17,m18,m19,m20,m21,m22,m23,m24,m25,m26,m27,m28,m29,m30,m31,m32,m33,m34,m35,m36,m37,m38,m39,m40,m41,m42,m43,m44,m45,m46,m47,m48
INTO sqlflow_models.my_customized_model;
-- %%sqlflow
SELECT * 
FROM activepower.train
TO PREDICT activepower.predict.class
USING sqlflow_models.my_customized_model;
-- %%sqlflow
SELECT * 
FROM activepower.predict
limit 5;
-- %%sqlflow
select class, count(*) as count 
from activepower.predict 
group by class;
-- %%sqlflow
select 
class
,avg(m1) as clock0
,avg(m8) as clock4
,avg(m16) as clock8
,avg(m24) as clock12
,avg(m32) as clock16
,avg(m40) as clock20
,avg(m46) as clock23
from activepower.predict
group by class;
