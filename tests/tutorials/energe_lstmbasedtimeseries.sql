-- SQLFlow's tutorial "Time Series Model on SQLFlow Tutorial": its SQL cells, verbatim, from
-- doc/tutorial/energe_lstmbasedtimeseries.md of https://github.com/sql-machine-learning/sqlflow at commit
-- 6c492098320875427b08ad82ce3f874c0b6aaa7a (2022-05-13, the commit the
-- vendored datasets come from; this file last changed in 2109cecdc3c3, 2020-06-10).
-- Each `-- %%sqlflow` line starts one cell, in the tutorial's order (the notebook's
-- %%sqlflow magic, made a comment): tests/tests/tutorials.rs runs each cell as one job,
-- as the notebook does. The tutorial's prose and outputs are not copied.
-- Left out: the `text` blocks that show pieces of the TO TRAIN and TO PREDICT cells.
-- %%sqlflow
select * from energy.raw limit 10;
-- %%sqlflow
select count(*) from energy.raw;
-- %%sqlflow
drop table if exists energy.normalized;
create table energy.normalized as
select
    dt,
    (
        energy - (select min(ta.energy) as a from energy.raw as ta)
    ) / (
        (select max(ta.energy) as a from energy.raw as ta)  
        -(select min(ta.energy) as a from energy.raw as ta)
    ) as energy
from
    energy.raw;
-- %%sqlflow
select * from energy.normalized limit 5;
-- %%sqlflow
drop table if exists energy.con_all;
create table energy.con_all as
select * from(
select
    t.dt,
    @lagfield0:= @lagfield1 as col_1,
    @lagfield1:= @lagfield2 as col_2,
    @lagfield2:= @lagfield3 as col_3,
    @lagfield3:= @lagfield4 as col_4,
    @lagfield4:= @lagfield5 as col_5,
    @lagfield5:= @lagfield6 as col_6,
    @lagfield6:= @lagfield7 as col_7,
    @lagfield7:= @lagfield8 as col_8,
    @lagfield8:= @lagfield9 as col_9,
    @lagfield9:= @lagfield10 as col_10,
    @lagfield10:= @lagfield11 as col_11,
    @lagfield11:= @lagfield12 as col_12,
    @lagfield12:= @lagfield13 as col_13,
    @lagfield13:= energy as energy
from
    energy.normalized t,(
        select
            @lagfield0:= null,
            @lagfield1:= null,
            @lagfield2:= null,
            @lagfield3:= null,
            @lagfield4:= null,
            @lagfield5:= null,
            @lagfield6:= null,
            @lagfield7:= null,
            @lagfield8:= null,
            @lagfield9:= null,
            @lagfield10:= null,
            @lagfield11:= null,
            @lagfield12:= null,
            @lagfield13:= null
    ) init
) k where k.col_1 is not null;
-- %%sqlflow
select * from energy.con_all limit 5;
-- %%sqlflow
select count(*) from energy.con_all;
-- %%sqlflow
alter table energy.con_all modify  column col_1 float;
alter table energy.con_all modify  column col_2 float;
alter table energy.con_all modify  column col_3 float;
alter table energy.con_all modify  column col_4 float;
alter table energy.con_all modify  column col_5 float;
alter table energy.con_all modify  column col_6 float;
alter table energy.con_all modify  column col_7 float;
alter table energy.con_all modify  column col_8 float;
alter table energy.con_all modify  column col_9 float;
alter table energy.con_all modify  column col_10 float;
alter table energy.con_all modify  column col_11 float;
alter table energy.con_all modify  column col_12 float;
alter table energy.con_all modify  column col_13 float;
alter table energy.con_all modify  column energy float;
-- %%sqlflow
drop table if exists energy.train;
create table energy.train as
select * from energy.con_all limit 0, 1537;
drop table if exists energy.val;
create table energy.val as
select * from energy.con_all limit 1537, 1976;
drop table if exists energy.test;
create table energy.test as
select * from energy.con_all limit 1976, 2196;
-- %%sqlflow
SELECT col_1, col_2, col_3, col_4, col_5, col_6, col_7, col_8, col_9,col_10,
concat(col_11,',', col_12,',', col_13,',', energy) as class 
FROM energy.train
TO TRAIN sqlflow_models.RNNBasedTimeSeriesModel 
WITH
  model.n_in=10,
  model.stack_units = [500, 500],
  model.n_out=4,
  model.model_type="lstm",
  validation.select = "SELECT col_1, col_2, col_3, col_4, col_5, col_6, col_7, col_8, 
  col_9,col_10,concat(col_11,\",\", col_12,\",\",col_13,\",\", energy) as class 
  FROM energy.val",
  train.batch_size=10,
  train.verbose=1,
  train.epoch=30,
  validation.metrics= "MeanAbsoluteError,MeanSquaredError"
LABEL class
INTO sqlflow_models.my_lstmts_model;
-- %%sqlflow
SELECT col_1, col_2, col_3, col_4, col_5, col_6, col_7, col_8, col_9,col_10,
concat(col_11,',', col_12,',', col_13,',', energy) as class 
FROM energy.test
TO PREDICT energy.predict_lstmts_test.class USING sqlflow_models.my_lstmts_model;
-- %%sqlflow
SELECT * from energy.predict_lstmts_test limit 5;
-- %%sqlflow
drop table if exists energy.predict_lstmts_split;
create table energy.predict_lstmts_split as
SELECT SUBSTRING_INDEX(class, ',', 1) as y_pred1
, SUBSTRING_INDEX(SUBSTRING_INDEX(class, ',', 2), ',', -1) as y_pred2
, SUBSTRING_INDEX(SUBSTRING_INDEX(class, ',', 3), ',', -1) as y_pred3
, SUBSTRING_INDEX(SUBSTRING_INDEX(class, ',', 4), ',', -1) as y_pred4
from energy.predict_lstmts_test;
-- %%sqlflow
SELECT * from energy.predict_lstmts_split limit 5;
-- %%sqlflow
select
    y_pred1 * ((select max(energy) from energy.raw) - (select min(energy) from energy.raw)) + (select min(energy) from energy.raw) as y_pred1_raw
    , y_pred2 * ((select max(energy) from energy.raw) - (select min(energy) from energy.raw)) + (select min(energy) from energy.raw) as y_pred2_raw
    , y_pred3 * ((select max(energy) from energy.raw) - (select min(energy) from energy.raw)) + (select min(energy) from energy.raw) as y_pred3_raw
    , y_pred4 * ((select max(energy) from energy.raw) - (select min(energy) from energy.raw)) + (select min(energy) from energy.raw) as y_pred4_raw
from
    energy.predict_lstmts_split 
limit 100;
