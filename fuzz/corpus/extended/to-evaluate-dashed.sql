SELECT * FROM t
TO evaluate-x LABEL c INTO m;
