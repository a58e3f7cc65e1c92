SELECT * FROM t TO MAXIMIZE x ! y WITH variables = "x(p)" INTO r;
