#!/usr/bin/env python3
"""Peers of `models-bench --threads`: the 100k-row, 10-feature, 3-class problem.

    pip install scikit-learn xgboost lightgbm
    python3 models/bench/threads_baseline.py --make-data DIR [--rows 100000]
    python3 models/bench/threads_baseline.py --run DIR --family gbtree --threads 2 [--runs 3]

`--make-data` writes scikit-learn's `make_classification` rows (10 features, 5
informative, 2 redundant, 3 classes, random_state 0) as DIR/train.csv (the first
`--rows`) and DIR/test.csv (a quarter as many more), so both sides read the same numbers.

`--run` fits each peer of a family and prints one JSON line per peer: the median fit
time in seconds over `--runs` fits and the test accuracy. `models-bench --threads` runs it
in a child process with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set to the thread count
(they must be set before numpy and the libraries load their thread pools), beside its own
runs, and prints both in one table.
"""
import argparse
import json
import os
import statistics
import time
import warnings


def make_data(out, rows):
    import numpy as np
    from sklearn.datasets import make_classification

    test = rows // 4
    x, y = make_classification(n_samples=rows + test, n_features=10, n_informative=5,
                               n_redundant=2, n_classes=3, random_state=0)
    os.makedirs(out, exist_ok=True)
    header = ",".join([f"f{i}" for i in range(10)] + ["label"])
    for name, sl in (("train.csv", slice(0, rows)), ("test.csv", slice(rows, rows + test))):
        data = np.column_stack([x[sl], y[sl]])
        np.savetxt(os.path.join(out, name), data, delimiter=",", header=header, comments="",
                   fmt=["%.17g"] * 10 + ["%d"])


def load(path):
    import numpy as np

    rows = np.loadtxt(path, delimiter=",", skiprows=1)
    return rows[:, :-1], rows[:, -1].astype(int)


def peers(family, threads):
    """(peer name, model maker) with the settings models-bench gives our side."""
    if family == "gbtree":
        import lightgbm
        import xgboost

        return [
            ("XGBoost hist", lambda: xgboost.XGBClassifier(
                tree_method="hist", max_bin=256, n_estimators=100, learning_rate=0.3,
                max_depth=6, objective="multi:softprob", n_jobs=threads, random_state=0)),
            # Depth 6 as XGBoost's: up to 64 leaves; min_child_weight 1 as XGBoost's and ours.
            ("LightGBM", lambda: lightgbm.LGBMClassifier(
                n_estimators=100, learning_rate=0.3, max_depth=6, num_leaves=64, max_bin=255,
                min_child_samples=1, min_child_weight=1.0, reg_lambda=1.0, n_jobs=threads,
                random_state=0, verbose=-1)),
        ]
    if family == "forest":
        from sklearn.ensemble import RandomForestClassifier

        return [("scikit-learn RandomForest", lambda: RandomForestClassifier(
            n_estimators=100, max_depth=12, n_jobs=threads, random_state=0))]
    if family == "kmeans":
        from sklearn.cluster import KMeans

        # One k-means++ start, as ours; scikit-learn's threads are OpenMP's.
        return [("scikit-learn KMeans", lambda: KMeans(
            n_clusters=3, n_init=1, max_iter=300, tol=1e-4, random_state=0))]
    raise SystemExit(f"unknown family {family}")


def run(data, family, threads, runs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    xtr, ytr = load(os.path.join(data, "train.csv"))
    xte, yte = load(os.path.join(data, "test.csv"))
    for name, make in peers(family, threads):
        times = []
        for _ in range(runs):
            model = make()
            start = time.perf_counter()
            model.fit(xtr, ytr)
            times.append(time.perf_counter() - start)
        if family == "kmeans":
            from sklearn.metrics import adjusted_rand_score

            score = adjusted_rand_score(yte, model.predict(xte))
        else:
            score = accuracy_score(yte, model.predict(xte))
        print(json.dumps({"peer": name, "threads": threads, "seconds": statistics.median(times),
                          "score": score}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-data")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--run")
    ap.add_argument("--family", default="gbtree", choices=["gbtree", "forest", "kmeans"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if args.make_data:
        make_data(args.make_data, args.rows)
    if args.run:
        run(args.run, args.family, args.threads, args.runs)


if __name__ == "__main__":
    main()
