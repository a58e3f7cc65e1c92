SELECT * FROM t TO MAXIMIZE SUM(x WITH variables = "x(p)" INTO r;
