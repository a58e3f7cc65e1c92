#!/usr/bin/env python3
"""Feature columns and estimators through the real server, next to scikit-learn / XGBoost.

For every feature column function (a bare column's derivation, NUMERIC, CATEGORY_ID,
SEQ_CATEGORY_ID, CATEGORY_HASH, WEIGHTED_CATEGORY, INDICATOR, EMBEDDING with each
combiner, CROSS, BUCKET, DENSE, SPARSE) and for every estimator family, this runs one
SQLFlow program through the `sqlflow` CLI against a `sqlflow-server` on SQLite loaded
with SQLFlow's tutorial data (`sqlflow demo-data`), and fits the scikit-learn / XGBoost
counterpart on the same rows, read straight from the same SQLite file, with the same
encoding built by hand (sorted vocabularies, one-hot for INDICATOR, FNV-1a hashing for
CATEGORY_HASH and CROSS as engine/src/feature_columns.rs, np.digitize with the same
boundaries for BUCKET, multi-hot scaled by the combiner for EMBEDDING, whose peer has
no embedding table). It prints one markdown table:

    feature column | dataset | estimator | our metric | peer | peer metric | note

Splits: 5 folds (rows numbered in SQL, fold = number % 5; creditcard: `time % 5`) over
a table the script makes from the tutorial tables (iris.train+test: 120 rows, churn.train
+test: 92, boston.train+test: 506, creditcard: 984); each fold trains with `TO TRAIN` on
the other four and scores with `TO EVALUATE` on it; the metric is the mean over folds
(accuracy for classifiers, R2 for regressors). Rows marked "tutorial split" use the split
of the SQLFlow tutorial they quote instead. Seeds are fixed (`model.seed = 0`, XGBoost's
seed 0, `random_state = 0`), so a rerun prints the same numbers.

    cargo build --bins
    pip install scikit-learn xgboost
    python3 models/bench/feature_columns.py [FILTER] [--out FILE]
    python3 models/bench/feature_columns.py --server http://127.0.0.1:50051 \\
        --datasource sqlite://bench.db --sqlite /path/to/bench.db     # a running server

Without --server the script copies target/debug's sqlflow-server, sqlflow-step,
sqlflow and liblocal_runner.so (--bin-dir) into a temporary directory, starts the server
there with `listen = "127.0.0.1:0"` as tests/src/lib.rs does, reads its `listening on
ADDR` line, and stops it at the end. FILTER keeps rows whose feature column, dataset or
estimator contains it. It takes about 3 minutes on two cores with a debug build.
"""
import argparse
import csv
import io
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

try:
    import xgboost
except ImportError:  # the xgboost peers then say so
    xgboost = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FOLDS = 5
MASK = (1 << 64) - 1

# ---------------------------------------------------------------------------------------
# The tables every program reads: the tutorial tables with a fold column (and, for iris,
# the DENSE / key:value text columns made with SQL as tests/tests/feature_columns.rs does;
# for churn, the services a customer has as a comma-separated list of ids).

IRIS_COLS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
BOSTON_COLS = ["crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio", "b", "lstat"]
CARD_COLS = ["time"] + [f"v{i}" for i in range(1, 29)] + ["amount"]
# Services in the list, id = position + 1; id 0 is in every row, so no list is empty.
SERVICES = ["PhoneService", "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
            "StreamingMovies"]
# The churn columns each categorical feature column is applied to, and the numbers kept.
CHURN_CATS = ["Contract", "InternetService", "PaymentMethod", "PaperlessBilling", "OnlineSecurity", "TechSupport"]
CHURN_NUMS = ["SeniorCitizen", "tenure", "MonthlyCharges"]
CHURN_ALL = ["gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService", "MultipleLines",
             "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
             "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod", "MonthlyCharges", "TotalCharges"]


def setup_sql():
    services = ", ".join(f"CASE WHEN {c} = 'Yes' THEN ',{i + 1}' ELSE '' END" for i, c in enumerate(SERVICES))
    iris_order = ", ".join(IRIS_COLS + ["class"])
    boston_order = ", ".join(BOSTON_COLS + ["medv"])
    return f"""DROP TABLE IF EXISTS fcb_iris;
CREATE TABLE fcb_iris AS SELECT *,
  CONCAT(sepal_length, ',', sepal_width, ',', petal_length, ',', petal_width) AS features,
  CONCAT('0:', sepal_length, ' 1:', sepal_width, ' 2:', petal_length, ' 3:', petal_width) AS kv,
  (ROW_NUMBER() OVER (ORDER BY {iris_order}) - 1) % {FOLDS} AS fold
FROM (SELECT * FROM iris.train UNION ALL SELECT * FROM iris.test) u;
DROP TABLE IF EXISTS fcb_churn;
CREATE TABLE fcb_churn AS SELECT *,
  CONCAT('0', {services}) AS services,
  (ROW_NUMBER() OVER (ORDER BY customerID) - 1) % {FOLDS} AS fold
FROM (SELECT * FROM churn.train UNION ALL SELECT * FROM churn.test) u;
DROP TABLE IF EXISTS fcb_boston;
CREATE TABLE fcb_boston AS SELECT *, (ROW_NUMBER() OVER (ORDER BY {boston_order}) - 1) % {FOLDS} AS fold
FROM (SELECT * FROM boston.train UNION ALL SELECT * FROM boston.test) u;
DROP TABLE IF EXISTS fcb_creditcard;
CREATE TABLE fcb_creditcard AS SELECT *, time % {FOLDS} AS fold FROM creditcard.creditcard;
DROP TABLE IF EXISTS fcb_fraud_tutorial;
CREATE TABLE fcb_fraud_tutorial AS SELECT {', '.join(CARD_COLS[:-1])}, amount / 25691.2 AS amount, class,
  CASE WHEN rowid <= 780 THEN 1 ELSE 0 END AS fold
FROM creditcard.creditcard ORDER BY rowid;
"""


# ---------------------------------------------------------------------------------------
# The peers' encoding. A feature column becomes blocks of raw values per row; `Encoder`
# learns vocabularies and ids from the training rows only, as SQLFlow does, then makes
# the matrix: numbers as they are (NULL: training mean), one id per row one-hot (neural
# and linear peers) or as one ordinal code (XGBoost), several ids per row multi-hot.


def fnv1a(parts):
    """engine/src/feature_columns.rs's fnv1a: FNV-1a 64 over the texts, 0x1f between them."""
    h = 0xCBF29CE484222325
    for i, p in enumerate(parts):
        if i > 0:
            h ^= 0x1F
            h = (h * 0x100000001B3) & MASK
        for b in p.encode():
            h ^= b
            h = (h * 0x100000001B3) & MASK
    return h


def text(v):
    """A value's text as the engine reads it (integers without '.0')."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def num(col):
    return lambda r: ("num", col, r[col])


def cat(col):
    """One category per row (a vocabulary when text: CATEGORY_ID, derived strings)."""
    return lambda r: ("cat", col, r[col])


def hashed(col, n):
    return lambda r: ("cat", f"hash({col})", fnv1a([text(r[col])]) % n)


def crossed(cols, n):
    return lambda r: ("cat", "cross(" + ",".join(cols) + ")", fnv1a([text(r[c]) for c in cols]) % n)


def bucket(col, bounds):
    return lambda r: ("cat", f"bucket({col})", int(np.digitize(float(r[col]), bounds)))


def indicator(col):
    return lambda r: ("multi", f"ind({col})", {r[col]: 1.0})


def id_list(col, combiner="sum"):
    """A comma-separated list of ids as multi-hot: counts (sum), / n (mean), / sqrt(n)."""
    def f(r):
        ids = r[col].split(",")
        w = {"sum": 1.0, "mean": 1.0 / len(ids), "sqrtn": 1.0 / math.sqrt(len(ids))}[combiner]
        out = {}
        for i in ids:
            out[int(i)] = out.get(int(i), 0.0) + w
        return ("multi", f"{col}:{combiner}", out)
    return f


def dense_text(col, i):
    return lambda r: ("num", f"{col}_{i}", float(r[col].split(",")[i]))


def kv_text(col):
    def f(r):
        pairs = dict(p.split(":") for p in r[col].split())
        return ("multi", col, {int(k): float(v) for k, v in pairs.items()})
    return f


class Encoder:
    def __init__(self, blocks, ordinal):
        self.blocks, self.ordinal = blocks, ordinal

    def fit(self, rows):
        self.state = []
        for b in self.blocks:
            kind, _, _ = b(rows[0])
            vals = [b(r)[2] for r in rows]
            if kind == "num":
                xs = [float(v) for v in vals if v is not None]
                self.state.append(sum(xs) / len(xs) if xs else 0.0)
            elif kind == "cat":
                self.state.append(sorted({v for v in vals}, key=lambda v: (v is None, v)))
            else:
                self.state.append(sorted({k for d in vals for k in d}))
        return self

    def transform(self, rows):
        out = []
        for r in rows:
            x = []
            for b, st in zip(self.blocks, self.state):
                kind, _, v = b(r)
                if kind == "num":
                    x.append(st if v is None else float(v))
                elif kind == "cat" and self.ordinal:
                    x.append(float(st.index(v)) if v in st else np.nan)
                elif kind == "cat":
                    x.extend(1.0 if v == s else 0.0 for s in st)
                else:
                    x.extend(float(v.get(s, 0.0)) for s in st)
            out.append(x)
        return np.array(out, dtype=float)


# ---------------------------------------------------------------------------------------
# Peers.


def mlp(hidden, lr, epochs, batch=32, regress=False, solver="adam"):
    kw = dict(hidden_layer_sizes=tuple(hidden), solver=solver, learning_rate_init=lr, max_iter=epochs,
              batch_size=batch, alpha=0.0, random_state=0, n_iter_no_change=epochs + 1, tol=0.0)
    if solver == "sgd":  # tf.keras SGD's defaults: no momentum
        kw.update(momentum=0.0, nesterovs_momentum=False)
    else:  # tf.keras Adam's epsilon
        kw.update(epsilon=1e-7)
    if regress:
        return ("MLPRegressor", lambda: TransformedTargetRegressor(
            make_pipeline(StandardScaler(), MLPRegressor(**kw)), transformer=StandardScaler()), False)
    return ("MLPClassifier", lambda: make_pipeline(StandardScaler(), MLPClassifier(**kw)), False)


def logreg():
    return ("LogisticRegression", lambda: make_pipeline(
        StandardScaler(), LogisticRegression(C=np.inf, max_iter=2000)), False)


def linreg():
    return ("LinearRegression", lambda: make_pipeline(StandardScaler(), LinearRegression()), False)


def xgb(regress=False, name=None, **kw):
    kw.setdefault("tree_method", "hist")
    kw.setdefault("random_state", 0)
    kw.setdefault("n_jobs", 1)
    if regress:
        return (name or "XGBRegressor", lambda: xgboost.XGBRegressor(**kw), True)
    return (name or "XGBClassifier", lambda: xgboost.XGBClassifier(**kw), True)


# ---------------------------------------------------------------------------------------
# Rows of the table.

DNN = ("DNNClassifier", "model.n_classes = {k}, model.hidden_units = [16, 8], model.optimizer = Adam, "
       "optimizer.learning_rate = 0.01, train.epoch = 100, train.batch_size = 32, model.seed = 0")
GBT = ("xgboost.gbtree", 'objective = "{obj}", num_boost_round = 50, max_depth = 3, eta = 0.1, seed = 0')
LIN = ("LinearClassifier", "model.n_classes = {k}")
PEER_DNN = mlp([16, 8], 0.01, 100)
PEER_GBT = xgb(n_estimators=50, max_depth=3, learning_rate=0.1)
PEER_LIN = logreg()


class Case:
    def __init__(self, fc, table, estimator, attrs, label, blocks, peer, column=None, select=None, note="",
                 dataset=None, metric="Accuracy", folds=range(FOLDS)):
        self.fc, self.table, self.estimator, self.attrs = fc, table, estimator, attrs
        self.label, self.blocks, self.peer, self.column = label, blocks, peer, column
        self.select, self.note, self.metric, self.folds = select, note, metric, list(folds)
        self.dataset = dataset or f"{table.removeprefix('fcb_')} ({len(self.folds)}-fold)"


def classes(table):
    return {"fcb_iris": 3}.get(table, 2)


def std(estimator_attrs, table, obj=None):
    """The estimator name and its WITH clause for this table."""
    name, attrs = estimator_attrs
    k = classes(table)
    obj = obj or ("multi:softprob" if k > 2 else "binary:logistic")
    return name, attrs.format(k=k, obj=obj)


def feature_cases():
    out = []

    def trio(fc, table, label, column, blocks, select=None, note="", ests=("dnn", "gbt"), dataset=None):
        for e in ests:
            est = {"dnn": DNN, "gbt": GBT, "lin": LIN}[e]
            peer = {"dnn": PEER_DNN, "gbt": PEER_GBT, "lin": PEER_LIN}[e]
            name, attrs = std(est, table)
            out.append(Case(fc, table, name, attrs, label, blocks, peer, column, select, note, dataset))

    # A bare column's derivation: SELECT * with no COLUMN (numbers -> NUMERIC).
    trio("derived (`SELECT *`, no COLUMN): NUMERIC", "fcb_creditcard", "class", None,
         [num(c) for c in CARD_COLS], select=", ".join(CARD_COLS + ["class"]),
         note="SQLFlow's fraud tutorial program shape")
    # Derived strings -> CATEGORY_ID(c, |vocabulary|), numbers -> NUMERIC.
    trio("derived (no COLUMN): strings CATEGORY_ID, numbers NUMERIC", "fcb_churn", "Churn", None,
         [cat(c) if c not in ("SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges") else num(c)
          for c in CHURN_ALL], select=", ".join(CHURN_ALL + ["Churn"]),
         note="92 rows: +-0.05 is noise (see the baseline below the table)")
    trio("NUMERIC", "fcb_iris", "class", ", ".join(f"NUMERIC({c})" for c in IRIS_COLS),
         [num(c) for c in IRIS_COLS], ests=("dnn", "gbt", "lin"))
    base = [num(c) for c in CHURN_NUMS]
    base_sql = ", ".join(CHURN_NUMS)
    vocab = {"Contract": 3, "InternetService": 3, "PaymentMethod": 4, "PaperlessBilling": 2, "OnlineSecurity": 3,
             "TechSupport": 3}
    trio("CATEGORY_ID(c, n)", "fcb_churn", "Churn",
         base_sql + ", " + ", ".join(f"CATEGORY_ID({c}, {vocab[c]})" for c in CHURN_CATS),
         base + [cat(c) for c in CHURN_CATS], note="6 text columns + 3 numbers; peer: sorted vocabulary, "
         "one-hot (MLP) / ordinal code (XGBoost)")
    trio("INDICATOR(c)", "fcb_churn", "Churn",
         base_sql + ", " + ", ".join(f"INDICATOR({c})" for c in CHURN_CATS),
         base + [indicator(c) for c in CHURN_CATS], note="peer: one-hot for both", ests=("dnn", "gbt", "lin"))
    trio("CATEGORY_HASH(c, 8)", "fcb_churn", "Churn",
         base_sql + ", " + ", ".join(f"CATEGORY_HASH({c}, 8)" for c in CHURN_CATS),
         base + [hashed(c, 8) for c in CHURN_CATS], note="peer: the engine's FNV-1a mod 8")
    trio("SEQ_CATEGORY_ID(services, 8, \",\")", "fcb_churn", "Churn",
         base_sql + ", SEQ_CATEGORY_ID(services, 8, \",\")", base + [id_list("services")],
         note="services: comma list of ids made in SQL; peer: multi-hot")
    trio("WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(kv), 4))", "fcb_iris", "class",
         "WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(kv), 4))", [kv_text("kv")],
         note="kv = '0:sepal_length 1:...' (SQL CONCAT): the weights are the 4 measurements")
    for comb in ("sum", "mean", "sqrtn"):
        out.append(Case(f"EMBEDDING(SEQ_CATEGORY_ID(services, 8, \",\"), 3, {comb})", "fcb_churn",
                        *std(DNN, "fcb_churn"), "Churn", base + [id_list("services", comb)], PEER_DNN,
                        base_sql + f", EMBEDDING(SEQ_CATEGORY_ID(services, 8, \",\"), 3, {comb})",
                        note=f"peer has no embedding: MLP on the multi-hot scaled as `{comb}` combines"))
    out.append(Case("EMBEDDING(c, 2) on single ids", "fcb_churn", *std(DNN, "fcb_churn"), "Churn",
                    base + [cat(c) for c in CHURN_CATS], PEER_DNN,
                    base_sql + ", " + ", ".join(f"EMBEDDING({c}, 2)" for c in CHURN_CATS),
                    note="peer: one-hot MLP (no embedding)"))
    trio("CROSS([a, b], 16)", "fcb_churn", "Churn",
         base_sql + ", CROSS([Contract, InternetService], 16), CROSS([PaymentMethod, PaperlessBilling], 16), "
         "CROSS([OnlineSecurity, TechSupport], 16)",
         base + [crossed(["Contract", "InternetService"], 16), crossed(["PaymentMethod", "PaperlessBilling"], 16),
                 crossed(["OnlineSecurity", "TechSupport"], 16)],
         note="3 crosses of 2 text columns; peer: FNV-1a of the pair mod 16", ests=("dnn", "gbt", "lin"))
    trio("BUCKET(c, boundaries)", "fcb_churn", "Churn",
         "SeniorCitizen, BUCKET(tenure, [6, 12, 24, 48]), BUCKET(MonthlyCharges, [35, 70, 90]), "
         + ", ".join(f"CATEGORY_ID({c}, {vocab[c]})" for c in CHURN_CATS),
         [num("SeniorCitizen"), bucket("tenure", [6, 12, 24, 48]), bucket("MonthlyCharges", [35, 70, 90])]
         + [cat(c) for c in CHURN_CATS], note="peer: np.digitize, same boundaries", ests=("dnn", "gbt", "lin"))
    dense = [dense_text("features", i) for i in range(4)]
    trio("derived DENSE (bare comma-separated column)", "fcb_iris", "class", None, dense,
         select="features, class", note="features = CONCAT of the 4 measurements")
    trio("DENSE(features, 4, COMMA)", "fcb_iris", "class", "DENSE(features, 4, COMMA)", dense)
    trio("SPARSE(kv)", "fcb_iris", "class", "SPARSE(kv)", [kv_text("kv")], note="key:value text")
    return out


def estimator_cases():
    out = []
    iris = [num(c) for c in IRIS_COLS]
    boston = [num(c) for c in BOSTON_COLS]
    iris_cols = ", ".join(IRIS_COLS)
    bos_cols = ", ".join(BOSTON_COLS)
    churn = [num(c) for c in CHURN_NUMS] + [cat(c) for c in CHURN_CATS]
    # SQLFlow's iris tutorial (doc/tutorial/iris-dnn.md) tunes in three steps and prints
    # TensorFlow's evaluation after each training: 0.4, 0.72, 0.98.
    for hidden, lr, tut in (([10, 10], None, "0.4"), ([100, 100], None, "0.72"), ([100, 100], 0.1, "0.98")):
        lr_sql = f", optimizer.learning_rate = {lr}" if lr else ""
        out.append(Case("(estimator family)", "fcb_iris", "DNNClassifier",
                        f"model.n_classes = 3, model.hidden_units = {hidden}{lr_sql}, train.epoch = 10", "class",
                        iris, mlp(hidden, 0.01 if lr else 0.001, 10), iris_cols,
                        note=f"iris tutorial step: {tut} ({hidden}, Adagrad {lr or 'default'}, 10 epochs); "
                             f"peer Adam {0.01 if lr else 0.001} (no Adagrad in scikit-learn)"))
    out.append(Case("(estimator family)", "fcb_iris", *std(DNN, "fcb_iris"), "class", iris, PEER_DNN, iris_cols,
                    note="Adam 0.01 both sides"))
    out.append(Case("(estimator family)", "fcb_iris", "DNNClassifier",
                    "model.n_classes = 3, model.hidden_units = [16, 8], model.optimizer = SGD, "
                    "optimizer.learning_rate = 0.1, train.epoch = 100, train.batch_size = 32, model.seed = 0",
                    "class", iris, mlp([16, 8], 0.1, 100, solver="sgd"), iris_cols,
                    note="plain SGD 0.1 both sides (control for the Adam row above)"))
    out.append(Case("(estimator family)", "fcb_boston", "DNNRegressor",
                    "model.hidden_units = [32, 16], model.optimizer = Adam, optimizer.learning_rate = 0.01, "
                    "train.epoch = 100, model.seed = 0", "medv", boston, mlp([32, 16], 0.01, 100, regress=True),
                    bos_cols, metric="R2", note="both standardize inputs and target"))
    out.append(Case("(estimator family)", "fcb_iris", *std(LIN, "fcb_iris"), "class", iris, PEER_LIN, iris_cols))
    out.append(Case("(estimator family)", "fcb_boston", "LinearRegressor", "model.l2_reg = 0", "medv", boston,
                    linreg(), bos_cols, metric="R2"))
    out.append(Case("(estimator family)", "fcb_churn", "DNNLinearCombinedClassifier",
                    "model.n_classes = 2, model.dnn_hidden_units = [16, 8], train.epoch = 100, model.seed = 0",
                    "Churn", [num(c) for c in CHURN_NUMS] + [indicator(c) for c in CHURN_CATS],
                    mlp([16, 8], 0.01, 100),
                    ", ".join(f"INDICATOR({c})" for c in CHURN_CATS) + " FOR linear_feature_columns COLUMN "
                    + ", ".join(CHURN_NUMS) + ", " + ", ".join(f"INDICATOR({c})" for c in CHURN_CATS)
                    + " FOR dnn_feature_columns",
                    note="peer: MLP on all inputs (no wide and deep); ours Adagrad 0.05 + Ftrl (defaults), peer Adam 0.01"))
    out.append(Case("(estimator family)", "fcb_churn", "DNNClassifier",
                    "model.n_classes = 2, model.hidden_units = [16, 8], train.epoch = 100, model.seed = 0",
                    "Churn", [num(c) for c in CHURN_NUMS] + [indicator(c) for c in CHURN_CATS],
                    mlp([16, 8], 0.01, 100), ", ".join(CHURN_NUMS) + ", "
                    + ", ".join(f"INDICATOR({c})" for c in CHURN_CATS),
                    note="control for the row above: the deep part alone, Adagrad 0.05 (default)"))
    out.append(Case("(estimator family)", "fcb_creditcard", "BoostedTreesClassifier",
                    "model.n_classes = 2, model.n_trees = 50, model.max_depth = 3, model.learning_rate = 0.1",
                    "class", [num(c) for c in CARD_COLS],
                    xgb(n_estimators=50, max_depth=3, learning_rate=0.1, reg_lambda=0.0, min_child_weight=0.0,
                        base_score=0.5), ", ".join(CARD_COLS),
                    note="peer: lambda 0, min_child_weight 0, base_score 0.5 (TF's defaults)"))
    out.append(Case("(estimator family)", "fcb_boston", "xgboost.gbtree",
                    'objective = "reg:squarederror", train.num_boost_round = 30', "medv", boston,
                    xgb(True, n_estimators=30), bos_cols, metric="R2",
                    note="housing-xgboost tutorial's program (no number reported)"))
    out.append(Case("(estimator family)", "fcb_boston", "xgboost.dart",
                    'objective = "reg:squarederror", num_boost_round = 30, rate_drop = 0.1, seed = 0', "medv",
                    boston, xgb(True, "XGBRegressor(booster=dart)", booster="dart", n_estimators=30, rate_drop=0.1), bos_cols, metric="R2",
                    note="drops are random: different trees dropped than XGBoost's"))
    out.append(Case("(estimator family)", "fcb_boston", "xgboost.gblinear",
                    'objective = "reg:squarederror", num_boost_round = 30', "medv", boston,
                    xgb(True, "XGBRegressor(booster=gblinear)", booster="gblinear", n_estimators=30,
                        tree_method=None), bos_cols, metric="R2",
                    note="raw (unstandardized) features, as XGBoost"))
    out.append(Case("(estimator family)", "fcb_iris", "xgboost.gbtree",
                    'objective = "multi:softprob", num_class = 3, num_boost_round = 30', "class", iris,
                    xgb(n_estimators=30), iris_cols))
    out.append(Case("(estimator family)", "fcb_iris", "xgboost.XGBClassifier", "n_estimators = 30", "class",
                    iris, xgb(n_estimators=30), iris_cols))
    out.append(Case("(estimator family)", "fcb_churn", "xgboost.XGBClassifier", "n_estimators = 30", "Churn",
                    churn, xgb(n_estimators=30), ", ".join(CHURN_NUMS + CHURN_CATS),
                    note="text columns as ordinal codes both sides"))
    out.append(Case("(estimator family)", "fcb_boston", "xgboost.XGBRegressor", "n_estimators = 30", "medv",
                    boston, xgb(True, n_estimators=30), bos_cols, metric="R2"))
    out.append(Case("(estimator family)", "fcb_iris", "sqlflow_models.DNNClassifier",
                    "model.n_classes = 3, train.epoch = 100", "class", iris,
                    mlp([10, 10], 0.01, 100), iris_cols,
                    note="Keras model's defaults: [10, 10], Adagrad 0.1; peer Adam 0.01"))
    # SQLFlow's fraud tutorial (doc/sqlflow.org_cn/tutorials/fraud-dnn.cn.md): first 780 rows
    # train, the rest validate, amount / 25691.2.
    out.append(Case("(estimator family)", "fcb_fraud_tutorial", "DNNClassifier",
                    "train.batch_size = 128, model.n_classes = 2, model.batch_norm = true, "
                    "model.hidden_units = [64, 32], optimizer.learning_rate = 0.1, train.epoch = 20",
                    "class", [num(c) for c in CARD_COLS], mlp([64, 32], 0.01, 20, batch=128),
                    ", ".join(CARD_COLS), folds=[0], dataset="creditcard (tutorial split 780/204)",
                    note="fraud tutorial: accuracy 0.868, AUC 0.939 on its 200 validation rows; "
                         "peer Adam 0.01, no batch norm"))
    return out


# ---------------------------------------------------------------------------------------
# Running SQLFlow.


class Sqlflow:
    def __init__(self, cli, server, datasource):
        self.cli, self.server, self.datasource = cli, server, datasource

    def run(self, program, args=()):
        env = dict(os.environ, SQLFLOW_SERVER=self.server)
        cmd = [self.cli, *args]
        if self.datasource:
            cmd += ["--datasource", self.datasource]
        if not args:
            cmd += ["--format", "csv", "-e", program]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"sqlflow exited {p.returncode}: {p.stderr.strip()[-2000:]}\nprogram:\n{program}")
        return p.stdout, p.stderr


def tables(stdout):
    """CSV tables separated by blank lines -> list of (header, rows)."""
    out, cur = [], None
    for row in csv.reader(io.StringIO(stdout)):
        if not row:
            cur = None
            continue
        if cur is None:
            cur = (row, [])
            out.append(cur)
        else:
            cur[1].append(row)
    return out


def our_metric(sf, case, idx):
    model = f"sqlflow_models.fcb_m{idx}"
    select = case.select or "*"
    column = f"\nCOLUMN {case.column}" if case.column else ""
    program = []
    for k in case.folds:
        train = f"SELECT {select} FROM {case.table} WHERE fold <> {k}"
        held = f"SELECT {select} FROM {case.table} WHERE fold = {k}"
        if case.table == "fcb_fraud_tutorial":
            train, held = f"SELECT {select} FROM {case.table} WHERE fold = 1", \
                f"SELECT {select} FROM {case.table} WHERE fold = 0"
        program.append(f"{train}\nTO TRAIN {case.estimator}\nWITH {case.attrs}{column}\nLABEL {case.label}\n"
                       f"INTO {model}_{k};\n"
                       f"{held} TO EVALUATE {model}_{k} WITH validation.metrics = \"{case.metric}\" "
                       f"LABEL {case.label} INTO fcb_eval_{idx}_{k};\nSELECT * FROM fcb_eval_{idx}_{k};\n")
    stdout, _ = sf.run("".join(program))
    values = []
    for header, rows in tables(stdout):
        i = [h.lower() for h in header].index(case.metric.lower())
        values.append(float(rows[0][i]))
    if len(values) != len(case.folds):
        raise RuntimeError(f"expected {len(case.folds)} metric tables, got {len(values)}:\n{stdout}")
    return float(np.mean(values))


# ---------------------------------------------------------------------------------------
# The peers, on rows read from the SQLite file.


def read_rows(db, table):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY rowid")]
    con.close()
    return rows


def peer_metric(db, case, cache):
    if case.table not in cache:
        cache[case.table] = read_rows(db, case.table)
    rows = cache[case.table]
    name, make, ordinal = case.peer
    if make is None or (ordinal and xgboost is None):
        return name, None
    scores = []
    for k in case.folds:
        if case.table == "fcb_fraud_tutorial":
            tr, te = [r for r in rows if r["fold"] == 1], [r for r in rows if r["fold"] == 0]
        else:
            tr, te = [r for r in rows if r["fold"] != k], [r for r in rows if r["fold"] == k]
        enc = Encoder(case.blocks, ordinal).fit(tr)
        xtr, xte = enc.transform(tr), enc.transform(te)
        ytr, yte = [r[case.label] for r in tr], [r[case.label] for r in te]
        model = make()
        if case.metric == "R2":
            model.fit(xtr, np.array(ytr, dtype=float))
            scores.append(r2_score(np.array(yte, dtype=float), model.predict(xte)))
        else:
            labels = sorted(set(ytr))
            code = {v: i for i, v in enumerate(labels)}
            model.fit(xtr, np.array([code[v] for v in ytr]))
            pred = [labels[int(i)] for i in model.predict(xte)]
            scores.append(accuracy_score(yte, pred))
    return name, float(np.mean(scores))


def majority_baseline(rows, label):
    scores = []
    for k in range(FOLDS):
        tr = [r[label] for r in rows if r["fold"] != k]
        te = [r[label] for r in rows if r["fold"] == k]
        top = max(sorted(set(tr), key=str), key=tr.count)
        scores.append(sum(v == top for v in te) / len(te))
    return float(np.mean(scores))


# ---------------------------------------------------------------------------------------


def start_server(bin_dir, work):
    bins = os.path.join(work, "bin")
    os.makedirs(bins)
    # A private copy: other builds may replace target/debug while this runs.
    for f in ("sqlflow-server", "sqlflow-step", "sqlflow", "liblocal_runner.so"):
        src = os.path.join(bin_dir, f)
        if not os.path.isfile(src):
            sys.exit(f"{src} is missing: run `cargo build --bins` first (or pass --bin-dir / --server)")
        shutil.copy2(src, bins)
    with open(os.path.join(work, "sqlflow.toml"), "w") as f:
        f.write(f'listen = "127.0.0.1:0"\nplugin_dir = "{bins}"\ndatasource = "sqlite://bench.db"\n'
                f'default_timeout_seconds = 0\n[runners.local]\nwork_dir = "jobs"\n'
                f'step_binary = "{bins}/sqlflow-step"\nsync_writes = false\nmax_running_per_user = 0\n')
    log = open(os.path.join(work, "server.log"), "w")
    proc = subprocess.Popen([os.path.join(bins, "sqlflow-server"), "--config", "sqlflow.toml"], cwd=work,
                            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, RUST_LOG="warn"), start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("listening on "):
            return proc, "http://" + line.split()[-1], os.path.join(bins, "sqlflow"), os.path.join(work, "bench.db")
    proc.kill()
    sys.exit("sqlflow-server did not start; see " + os.path.join(work, "server.log"))


def cell(v):
    return "n/a" if v is None else f"{v:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("filter", nargs="?", help="keep rows whose feature column, dataset or estimator contains it")
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "debug"))
    ap.add_argument("--server", help="use this running server instead of starting one")
    ap.add_argument("--datasource", help="with --server: its SQLite datasource (default: the server's)")
    ap.add_argument("--sqlite", help="with --server: the datasource's database file on this machine")
    ap.add_argument("--out", help="also write the table (markdown) to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary server directory")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=UserWarning)

    work = proc = None
    try:
        if args.server:
            if not args.sqlite:
                sys.exit("--server needs --sqlite FILE: the datasource's database file, read by the peers")
            cli = os.path.join(args.bin_dir, "sqlflow")
            sf, db = Sqlflow(cli, args.server, args.datasource), args.sqlite
        else:
            work = tempfile.mkdtemp(prefix="sqlflow-fc-bench-")
            proc, addr, cli, db = start_server(args.bin_dir, work)
            sf = Sqlflow(cli, addr, None)
        sf.run("", ["demo-data", "iris", "boston", "churn", "creditcard"])
        sf.run(setup_sql())

        cases = feature_cases() + estimator_cases()
        if args.filter:
            f = args.filter.lower()
            cases = [c for c in cases if f in f"{c.fc} {c.dataset} {c.estimator}".lower()]
        version = sf.run("", ["--version"])[0].strip()
        import sklearn
        head = [f"Generated by `python3 models/bench/feature_columns.py{' ' + args.filter if args.filter else ''}` "
                f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {version} (debug build, "
                f"local runner, SQLite), scikit-learn {sklearn.__version__}, "
                f"XGBoost {xgboost.__version__ if xgboost else 'not installed'}. Metric: mean over the folds of "
                "accuracy (acc) or R2 on the held-out fold.", ""]
        lines = head + ["| feature column | dataset | estimator | our metric | peer | peer metric | note |",
                        "|---|---|---|---|---|---|---|"]
        print("\n".join(lines), flush=True)
        cache = {}
        for idx, case in enumerate(cases):
            t0 = time.time()
            try:
                ours = our_metric(sf, case, idx)
            except RuntimeError as e:
                print(f"<!-- {case.fc} / {case.estimator}: {e} -->", file=sys.stderr)
                ours = None
            peer, theirs = peer_metric(db, case, cache)
            metric = "R2" if case.metric == "R2" else "acc"
            line = (f"| {case.fc} | {case.dataset} | {case.estimator} | {metric} {cell(ours)} | {peer} | "
                    f"{metric} {cell(theirs)} | {case.note} |")
            lines.append(line)
            print(line, flush=True)
            print(f"  ({time.time() - t0:.1f} s)", file=sys.stderr, flush=True)
        base = []
        for table, label in (("fcb_iris", "class"), ("fcb_churn", "Churn"), ("fcb_creditcard", "class")):
            if any(c.table == table for c in cases):
                base.append(f"{table.removeprefix('fcb_')} {majority_baseline(cache[table], label):.3f}")
        if base:
            lines += ["", "Majority-class baseline (predict the training folds' most frequent label), same folds: "
                      + ", ".join(base) + "."]
            print("\n".join(lines[-2:]), flush=True)
        if args.out:
            with open(args.out, "w") as f:
                f.write("\n".join(lines) + "\n")
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if work and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
