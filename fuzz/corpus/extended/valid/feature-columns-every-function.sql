SELECT * FROM t TO TRAIN DNNClassifier
WITH model.n_classes = 2
COLUMN a, NUMERIC(b), NUMERIC(c, 3), NUMERIC(DENSE(d, [2, 2], ";", float)), DENSE(e), DENSE(f, none, COMMA),
       SPARSE(g, 100), SPARSE(h, 10, ",", int, ":", float),
       CATEGORY_ID(i, 100), CATEGORY_ID(DENSE(j, 4), 50, COMMA), SEQ_CATEGORY_ID(k, 1600, COMMA),
       CATEGORY_HASH(l, 10), WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(m, 10, ",", "int", ":", "float"), 10)),
       INDICATOR(n), INDICATOR(CATEGORY_ID(o, 2)), EMBEDDING(p, 8), EMBEDDING(CATEGORY_HASH(q, 100), 4, mean, "truncated_normal_initializer"),
       CROSS([r, BUCKET(s, [1, 2]), CATEGORY_HASH(u, 5)], 1000), BUCKET(v, [-1.5, 0, 2e3]), BUCKET(DENSE(w, 3), [0])
LABEL label INTO m;
