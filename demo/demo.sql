-- A SQLFlow program runs statement by statement on the datasource; each statement may
-- read what an earlier one created.
DROP TABLE IF EXISTS iris;
CREATE TABLE iris (
  sepal_length REAL, sepal_width REAL, petal_length REAL, petal_width REAL, class INTEGER
);
INSERT INTO iris VALUES
  (5.1, 3.5, 1.4, 0.2, 0), (4.9, 3.0, 1.4, 0.2, 0), (4.7, 3.2, 1.3, 0.2, 0),
  (7.0, 3.2, 4.7, 1.4, 1), (6.4, 3.2, 4.5, 1.5, 1), (6.9, 3.1, 4.9, 1.5, 1),
  (6.3, 3.3, 6.0, 2.5, 2), (5.8, 2.7, 5.1, 1.9, 2), (7.1, 3.0, 5.9, 2.1, 2);
SELECT class, count(*) AS n, round(avg(petal_length), 2) AS avg_petal_length
FROM iris GROUP BY class ORDER BY class;
SELECT * FROM iris WHERE petal_width > 1.8;
