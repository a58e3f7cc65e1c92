#!/usr/bin/env python3
"""scikit-learn (and XGBoost, when installed) counterparts of `models-bench`.

Same CSVs, same splits (SplitMix64 Fisher-Yates, seed 42: iris 120/30, boston 400/106),
matching hyper-parameters; prints the same table: test-split metric and median `fit` time.

    pip install scikit-learn xgboost
    python3 models/bench/sklearn_baseline.py [--runs N] [--seeds N] [FILTER]

With --seeds N the metric is the mean over random_state 0..N-1 and the time the median
over seeds (seed 0: median of --runs fits; other seeds: one fit each); --large uses the
20,000-row synthetic problem (16,000 train / 4,000 test) instead of iris/boston.
"""
import argparse
import os
import statistics
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, adjusted_rand_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

try:
    import xgboost
except ImportError:  # the table then has no xgboost rows
    xgboost = None

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "..", "testdata")
MASK = (1 << 64) - 1
SPLIT_SEED = 42


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def permutation(n, seed=SPLIT_SEED):
    """Fisher-Yates driven by SplitMix64, as tests/common/mod.rs."""
    state, p = seed, list(range(n))
    for i in range(n - 1, 0, -1):
        state, r = splitmix64(state)
        j = r % (i + 1)
        p[i], p[j] = p[j], p[i]
    return p


def load(name, skip):
    rows = np.loadtxt(os.path.join(TESTDATA, name), delimiter=",", skiprows=skip)
    return rows[:, :-1], rows[:, -1]


def split(x, y, n_train):
    p = permutation(len(y))
    tr, te = p[:n_train], p[n_train:]
    return x[tr], y[tr], x[te], y[te]


# HistGradientBoosting set up like XGBoost's defaults (up to 2^max_depth leaves, no
# minimum leaf size beyond one row, L2 = 1) so that it grows trees of the same size.
HGB = dict(max_leaf_nodes=None, min_samples_leaf=1, l2_regularization=1.0, early_stopping=False, random_state=0)


def synthetic(n, seed=7):
    """The 20-feature synthetic problem of tests/common/mod.rs, bit for bit."""
    state, rows, y = seed, [], []

    def uniform():
        nonlocal state
        state, r = splitmix64(state)
        return (r >> 11) * (1.0 / 9007199254740992.0)

    for _ in range(n):
        x = [2.0 * uniform() - 1.0 for _ in range(20)]
        noise = 0.1 * (2.0 * uniform() - 1.0)
        y.append(x[0] * x[1] + 2.0 * x[2] * x[2] - x[3] + 0.5 * x[4] * x[5] * x[6] + x[7] + noise)
        rows.append(x)
    x, y = np.array(rows), np.array(y)
    cls = np.where(y < 0.0, 0.0, np.where(y < 1.0, 1.0, 2.0))
    cut = n * 4 // 5
    return (x[:cut], y[:cut], x[cut:], y[cut:]), (x[:cut], cls[:cut], x[cut:], cls[cut:])


MLP = dict(solver="adam", alpha=0.0, shuffle=True, random_state=0, tol=0.0, n_iter_no_change=10**9)


def large_cases():
    mlp = dict(hidden_layer_sizes=(64, 32), learning_rate_init=0.003, max_iter=20, batch_size=64, **MLP)
    c = [
        ("DNNClassifier", "synth-cls", "Accuracy", lambda: make_pipeline(StandardScaler(), MLPClassifier(**mlp))),
        ("LinearClassifier", "synth-cls", "Accuracy", lambda: make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=100))),
        ("HistGradientBoosting (vs xgboost multi:softprob)", "synth-cls", "Accuracy", lambda: HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_depth=6, **HGB)),
        ("DecisionTreeClassifier", "synth-cls", "Accuracy", lambda: DecisionTreeClassifier(random_state=0)),
        ("RandomForestClassifier", "synth-cls", "Accuracy", lambda: RandomForestClassifier(
            n_estimators=50, random_state=0, n_jobs=1)),
        ("KMeans", "synth-cls", "ARI", lambda: KMeans(n_clusters=3, random_state=0, n_init=1)),
        ("DNNRegressor", "synth-reg", "R2", lambda: TransformedTargetRegressor(
            regressor=make_pipeline(StandardScaler(), MLPRegressor(**mlp)), transformer=StandardScaler())),
        ("LinearRegressor", "synth-reg", "R2", lambda: LinearRegression()),
        ("HistGradientBoosting (vs xgboost reg:squarederror)", "synth-reg", "R2", lambda: HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.1, max_depth=6, **HGB)),
        ("DecisionTreeRegressor", "synth-reg", "R2", lambda: DecisionTreeRegressor(random_state=0)),
        ("RandomForestRegressor", "synth-reg", "R2", lambda: RandomForestRegressor(
            n_estimators=50, random_state=0, n_jobs=1)),
    ]
    if xgboost is not None:
        xgb = dict(tree_method="hist", max_bin=256, n_jobs=1, random_state=0, n_estimators=100,
                   learning_rate=0.1, max_depth=6)
        c.insert(3, ("xgboost multi:softprob", "synth-cls", "Accuracy", lambda: xgboost.XGBClassifier(
            objective="multi:softprob", **xgb)))
        c.insert(10, ("xgboost reg:squarederror", "synth-reg", "R2", lambda: xgboost.XGBRegressor(
            objective="reg:squarederror", **xgb)))
    return c


def cases():
    mlp = dict(batch_size=32, **MLP)
    c = [
        ("DNNClassifier", "iris", "Accuracy", lambda: make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(10, 20), learning_rate_init=0.01, max_iter=200, **mlp))),
        # LinearClassifier's model.l2_reg = 1/(C * n_train) is this objective.
        ("LinearClassifier", "iris", "Accuracy", lambda: make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=100))),
        ("HistGradientBoosting (vs xgboost multi:softprob)", "iris", "Accuracy", lambda: HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.3, max_depth=6, **HGB)),
        ("DecisionTreeClassifier", "iris", "Accuracy", lambda: DecisionTreeClassifier(random_state=0)),
        ("RandomForestClassifier", "iris", "Accuracy", lambda: RandomForestClassifier(
            n_estimators=100, random_state=0, n_jobs=1)),
        ("KMeans", "iris", "ARI", lambda: KMeans(n_clusters=3, random_state=0, n_init=1)),
        ("DNNRegressor", "boston", "R2", lambda: TransformedTargetRegressor(
            regressor=make_pipeline(StandardScaler(), MLPRegressor(
                hidden_layer_sizes=(64, 32), learning_rate_init=0.003, max_iter=200, **mlp)),
            transformer=StandardScaler())),
        ("LinearRegressor", "boston", "R2", lambda: LinearRegression()),
        ("HistGradientBoosting (vs xgboost reg:squarederror)", "boston", "R2", lambda: HistGradientBoostingRegressor(
            max_iter=200, learning_rate=0.1, max_depth=6, **HGB)),
        ("DecisionTreeRegressor", "boston", "R2", lambda: DecisionTreeRegressor(random_state=0)),
        ("RandomForestRegressor", "boston", "R2", lambda: RandomForestRegressor(
            n_estimators=100, random_state=0, n_jobs=1)),
    ]
    if xgboost is not None:
        xgb = dict(tree_method="hist", max_bin=256, n_jobs=1, random_state=0)
        c.insert(3, ("xgboost multi:softprob", "iris", "Accuracy", lambda: xgboost.XGBClassifier(
            objective="multi:softprob", n_estimators=100, learning_rate=0.3, max_depth=6, **xgb)))
        c.insert(10, ("xgboost reg:squarederror", "boston", "R2", lambda: xgboost.XGBRegressor(
            objective="reg:squarederror", n_estimators=200, learning_rate=0.1, max_depth=6, **xgb)))
        # The other boosters and growth policies, and TensorFlow's boosted trees in XGBoost's
        # terms (no L2, no minimum hessian, 1/epsilon = 100 bins, first margin 0).
        lin = dict(n_jobs=1, random_state=0, booster="gblinear")
        tf_bt = dict(tree_method="hist", max_bin=100, n_jobs=1, random_state=0, learning_rate=0.1,
                     max_depth=6, reg_lambda=0.0, min_child_weight=0.0)
        c += [
            ("xgboost.dart multi:softprob", "iris", "Accuracy", lambda: xgboost.XGBClassifier(
                objective="multi:softprob", booster="dart", rate_drop=0.1, n_estimators=100,
                learning_rate=0.3, max_depth=6, **xgb)),
            ("xgboost.gblinear multi:softprob", "iris", "Accuracy", lambda: xgboost.XGBClassifier(
                objective="multi:softprob", n_estimators=50, **lin)),
            ("BoostedTreesClassifier", "iris", "Accuracy", lambda: xgboost.XGBClassifier(
                objective="multi:softprob", n_estimators=100, base_score=0.5, **tf_bt)),
            ("xgboost.dart reg:squarederror", "boston", "R2", lambda: xgboost.XGBRegressor(
                booster="dart", rate_drop=0.1, n_estimators=200, learning_rate=0.1, max_depth=6, **xgb)),
            ("xgboost.gblinear reg:squarederror", "boston", "R2", lambda: xgboost.XGBRegressor(
                n_estimators=1000, **lin)),
            ("xgboost lossguide", "boston", "R2", lambda: xgboost.XGBRegressor(
                n_estimators=200, learning_rate=0.1, max_depth=0, grow_policy="lossguide", max_leaves=16, **xgb)),
            ("BoostedTreesRegressor", "boston", "R2", lambda: xgboost.XGBRegressor(
                n_estimators=200, base_score=0.0, **tf_bt)),
        ]
    return c


def timed_fit(model, metric, x, y):
    """Fits `model` (a clusterer without the label); returns the time taken in ms."""
    start = time.perf_counter()
    if metric == "ARI":
        model.fit(x)
    else:
        model.fit(x, y)
    return (time.perf_counter() - start) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--large", action="store_true", help="20,000 synthetic rows instead of iris/boston")
    ap.add_argument("filter", nargs="?")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.large:
        reg, cls = synthetic(20_000)
        data = {"synth-reg": reg, "synth-cls": cls}
    else:
        data = {
            "iris": split(*load("iris.csv", 1), 120),
            "boston": split(*load("boston_house_prices.csv", 2), 400),
        }
    print(f"| model | dataset | metric | value (mean over {args.seeds} seeds) | median train ms | runs |")
    print("|---|---|---|---|---|---|")
    for name, dataset, metric, make in large_cases() if args.large else cases():
        if args.filter and args.filter.lower() not in name.lower() and args.filter != dataset:
            continue
        xtr, ytr, xte, yte = data[dataset]
        times = []
        for _ in range(args.runs):
            model = make()
            times.append(timed_fit(model, metric, xtr, ytr))
        score = {"Accuracy": accuracy_score, "R2": r2_score, "ARI": adjusted_rand_score}[metric]
        values = [score(yte, model.predict(xte))]
        seed_times = [statistics.median(times)]  # one time per seed, as models-bench
        for seed in range(1, args.seeds):
            m = make()
            keys = [k for k in m.get_params() if k == "random_state" or k.endswith("__random_state")]
            if not keys:
                break
            m.set_params(**{k: seed for k in keys})
            seed_times.append(timed_fit(m, metric, xtr, ytr))
            values.append(score(yte, m.predict(xte)))
        value = statistics.mean(values)
        print(f"| {name} | {dataset} | {metric} | {value:.4f} | {statistics.median(seed_times):.3f} | {args.runs} |")


if __name__ == "__main__":
    main()
