-- SQLFlow's tutorial "Use SQLFlow to Solve Optimization Problems": its SQL cells, verbatim, from
-- doc/tutorial/optimization_guide.md of https://github.com/sql-machine-learning/sqlflow at commit
-- 6c492098320875427b08ad82ce3f874c0b6aaa7a (2022-05-13, the commit the
-- vendored datasets come from; this file last changed in 4fae29c073a4, 2020-09-29).
-- Each `-- %%sqlflow` line starts one cell, in the tutorial's order (the notebook's
-- %%sqlflow magic, made a comment): tests/tests/tutorials.rs runs each cell as one job,
-- as the notebook does. The tutorial's prose and outputs are not copied.
-- Left out: the first sql block, a syntax template (`SELECT ... FROM ... TO MAXIMIZE|MINIMIZE`).
-- %%sqlflow
CREATE DATABASE IF NOT EXISTS my_db;

DROP TABLE IF EXISTS my_db.woodcarving;

CREATE TABLE my_db.woodcarving (
    product VARCHAR(255),
    price FLOAT,
    materials_cost FLOAT,
    other_cost FLOAT,
    finishing FLOAT,
    carpentry FLOAT,
    max_num FLOAT
);

INSERT INTO my_db.woodcarving VALUES('soldier', 27, 10, 14, 2, 1, 40);
INSERT INTO my_db.woodcarving VALUES('train', 21, 9, 10, 1, 1, 10000);
-- %%sqlflow
SELECT * FROM my_db.woodcarving -- the input data source
TO MAXIMIZE 
    SUM((price - materials_cost - other_cost) * amount) -- the objective expression
CONSTRAINT 
    SUM(finishing * amount) <= 100, -- finishing constraint, i.e, 2*x + 1*y <= 100
    SUM(carpentry * amount) <= 80, -- carpentry constraint, i.e., 1*x + 1*y <= 80
    amount <= max_num -- demand constraint, i.e., x <= 40, y <= 10000
WITH 
    variables="amount(product)", -- amount = (x, y) is the value to be optimized, product is the column name of the variable
    var_type="NonNegativeIntegers" -- amount = (x, y) is inside the domain of non-negative integers
USING glpk -- use the GLPK solver to solve the linear optimization problem
INTO my_db.woodcarving_result_table;
-- %%sqlflow
SELECT * FROM my_db.woodcarving_result_table;
-- %%sqlflow
CREATE DATABASE IF NOT EXISTS my_db;

DROP TABLE IF EXISTS my_db.plants;
CREATE TABLE my_db.plants (
    plants VARCHAR(255),
    capacity FLOAT
);
INSERT INTO my_db.plants VALUES('plantA', 100), ('plantB', 90);

DROP TABLE IF EXISTS my_db.markets;
CREATE TABLE my_db.markets (
    markets VARCHAR(255),
    demand FLOAT
);
INSERT INTO my_db.markets VALUES('marketA', 130), ('marketB', 60);

DROP TABLE IF EXISTS my_db.transportation;
CREATE TABLE my_db.transportation (
    plants VARCHAR(255),
    markets VARCHAR(255),
    distance FLOAT
);
INSERT INTO my_db.transportation VALUES('plantA', 'marketA', 140);
INSERT INTO my_db.transportation VALUES('plantA', 'marketB', 210);
INSERT INTO my_db.transportation VALUES('plantB', 'marketA', 300);
INSERT INTO my_db.transportation VALUES('plantB', 'marketB', 90);
-- %%sqlflow
SELECT 
    t.plants AS plants, 
    t.markets AS markets, 
    t.distance AS distance, 
    p.capacity AS capacity, 
    m.demand AS demand
FROM my_db.transportation AS t
LEFT JOIN my_db.plants AS p ON t.plants = p.plants
LEFT JOIN my_db.markets AS m ON t.markets = m.markets;
-- %%sqlflow
SELECT 
    t.plants AS plants, 
    t.markets AS markets, 
    t.distance AS distance, 
    p.capacity AS capacity, 
    m.demand AS demand
FROM my_db.transportation AS t
LEFT JOIN my_db.plants AS p ON t.plants = p.plants
LEFT JOIN my_db.markets AS m ON t.markets = m.markets  -- the joined SQL statement
TO MINIMIZE 
    SUM(amount * distance) -- the objective expression, minimize the total transportation distance
CONSTRAINT 
    SUM(amount) <= capacity GROUP BY plants,
    SUM(amount) >= demand GROUP BY markets 
WITH 
    -- amount is the value to be optimized, "plants" and "markets" are the column names of the variables
    variables="amount(plants,markets)",
    var_type="NonNegativeIntegers" -- the amount value should be non-negative integers
USING glpk
INTO my_db.transportation_result_table;
-- %%sqlflow
SELECT * FROM my_db.transportation_result_table;
