#!/usr/bin/env python3
"""scikit-learn's side of sqlflow_models.ScoreCard's comparison (models/README.md).

SQLFlow's score card (sqlflow_models/score_card.py) binned each feature with pandas'
qcut(x, 5, duplicates="drop"), replaced values by their bin's weight of evidence and fitted
scikit-learn's LogisticRegression() on them. This does the same on the "give me some
credit" rows `sqlflow demo-data` loads (client/data/sqlflow-tutorial/
popularize_give_me_some_credit.sql), with the split models/tests/scorecard.rs uses (every
fourth row, index % 4 == 3, held out) and the Rust model's two additions: a bin without
bad or good rows adds 0.5 to both counts, and the outer bins reach to -inf/+inf when
scoring. Prints AUC and KS on the held-out rows and the time to bin and fit.

    pip install scikit-learn pandas
    OMP_NUM_THREADS=1 python3 models/bench/scorecard_baseline.py [--runs 5]
"""

import argparse
import pathlib
import re
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve

DUMP = (pathlib.Path(__file__).resolve().parents[2] / "client" / "data" /
        "sqlflow-tutorial" / "popularize_give_me_some_credit.sql")


def load():
    text = DUMP.read_text()
    create = re.search(r"scorecard\.train\((.*?)\);", text, re.S).group(1)
    names = [c.split()[0] for c in create.split(",")]
    rows = [[float(v) for v in line.strip().rstrip(",;").strip("()").split(",")]
            for line in text.splitlines() if line.startswith("(")]
    df = pd.DataFrame(rows, columns=names)
    assert df.shape == (2000, 11), df.shape
    return df


def woe_bins(x, y, q=5):
    """Edges and WoE per bin, as the Rust model (SQLFlow's qcut, smoothed pure bins)."""
    _, edges = pd.qcut(x, q, duplicates="drop", retbins=True)
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0]])
    bins = np.clip(np.searchsorted(edges[1:-1], x, side="left"), 0, len(edges) - 2)
    bad_total, good_total = y.sum(), len(y) - y.sum()
    woe = np.zeros(len(edges) - 1)
    for k in range(len(woe)):
        b = y[bins == k].sum()
        g = (bins == k).sum() - b
        if b == 0 or g == 0:
            b, g = b + 0.5, g + 0.5
        woe[k] = np.log((b / bad_total) / (g / good_total))
    return edges, woe


def transform(x, edges, woe):
    bins = np.clip(np.searchsorted(edges[1:-1], x, side="left"), 0, len(woe) - 1)
    return woe[bins]


def ks(y, p):
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    df = load()
    label = df.columns[0]
    test = (np.arange(len(df)) % 4) == 3
    tr, te = df[~test], df[test]
    y_tr, y_te = tr[label].to_numpy(), te[label].to_numpy()
    for name, make in [("LogisticRegression() (C=1, SQLFlow's)", lambda: LogisticRegression()),
                       ("LogisticRegression(C=inf)",
                        lambda: LogisticRegression(C=np.inf, max_iter=1000))]:
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            tables = {c: woe_bins(tr[c].to_numpy(), y_tr) for c in df.columns[1:]}
            x_tr = np.column_stack([transform(tr[c].to_numpy(), *tables[c]) for c in tables])
            lr = make().fit(x_tr, y_tr)
            times.append(time.perf_counter() - t0)
        x_te = np.column_stack([transform(te[c].to_numpy(), *tables[c]) for c in tables])
        p = lr.predict_proba(x_te)[:, 1]
        print(f"{name}: AUC {roc_auc_score(y_te, p):.4f}, KS {ks(y_te, p):.4f}, "
              f"bin + fit {np.median(times) * 1e3:.1f} ms (median of {args.runs})")


if __name__ == "__main__":
    main()
