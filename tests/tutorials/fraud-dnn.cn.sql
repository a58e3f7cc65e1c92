-- SQLFlow's tutorial "信用卡欺诈检测 (sqlflow.org's Chinese credit card fraud tutorial)": its SQL cells, verbatim, from
-- doc/sqlflow.org_cn/tutorials/fraud-dnn.cn.md of https://github.com/sql-machine-learning/sqlflow at commit
-- 6c492098320875427b08ad82ce3f874c0b6aaa7a (2022-05-13, the commit the
-- vendored datasets come from; this file last changed in d4c871d869cb, 2020-10-22).
-- Each `-- %%sqlflow` line starts one cell, in the tutorial's order (the notebook's
-- %%sqlflow magic, made a comment): tests/tests/tutorials.rs runs each cell as one job,
-- as the notebook does. The tutorial's prose and outputs are not copied.
-- Left out: the shell and CREATE TABLE / LOAD DATA blocks that load the full Kaggle data
-- (`sqlflow demo-data creditcard` loads SQLFlow's sample instead) and the `txt` blocks.
-- %%sqlflow
select class, count(*) from creditcard.creditcard group by class;
-- %%sqlflow
DROP TABLE IF EXISTS creditcard.train;

CREATE TABLE creditcard.train AS
SELECT amount,
       v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, 
       v16, v17, v18, v19, v20, v21, v22, v23, v24, v25, v26, v27, v28, class
FROM (
    SELECT * FROM (
        SELECT rand() as r, creditcard.creditcard.*
        FROM creditcard.creditcard
        ORDER BY class DESC, r
        LIMIT 984
    ) t ORDER BY r
) tmp
-- %%sqlflow
select class, count(*) from creditcard.train group by class;
-- %%sqlflow
UPDATE creditcard.train SET amount = amount / 25691.2;
-- %%sqlflow
SELECT * FROM creditcard.train limit 780
TO TRAIN DNNClassifier
WITH train.batch_size=128,
    model.n_classes=2,
    model.batch_norm=True,
    model.hidden_units=[64, 32],
    optimizer.learning_rate=0.1,
    train.epoch=20,
    validation.select="select * from creditcard.train limit 780, 200"
LABEL class
INTO creditcard.my_fraud_dnn_model;
-- %%sqlflow
SELECT * from creditcard.train limit 780, 1000
TO PREDICT creditcard.predict.class
USING creditcard.my_fraud_dnn_model;
-- %%sqlflow
SELECT * from creditcard.predict limit 5
-- %%sqlflow
SELECT * FROM creditcard.train WHERE class=1 limit 10
TO EXPLAIN creditcard.my_fraud_dnn_model
WITH summary.plot_type="bar";
