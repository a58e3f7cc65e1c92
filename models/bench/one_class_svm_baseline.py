#!/usr/bin/env python3
"""scikit-learn's side of sqlflow_models.OneClassSVM's comparison (models/README.md).

SQLFlow's model (sqlflow_models/one_class_svm.py) wrapped scikit-learn's OneClassSVM on the
features as they are. This fits scikit-learn's OneClassSVM on the same data the Rust tests
use, with the same attributes, and compares its predictions (1 / -1) and decision values
with the Rust model's, which models/tests/one_class_svm.rs writes as JSON when asked:

    pip install scikit-learn
    ONE_CLASS_SVM_DUMP=/tmp/ocsvm_rust.json cargo test --release -p sqlflow-models \
        --test one_class_svm dump_for_baseline -- --nocapture
    OMP_NUM_THREADS=1 python3 models/bench/one_class_svm_baseline.py --rust /tmp/ocsvm_rust.json

Datasets (all rows are training rows, as an outlier detector is used):
- iris: models/testdata/iris.csv's four features (150 rows);
- creditcard: SQLFlow's fraud tutorial rows (client/data/sqlflow-tutorial/
  popularize_creditcardfraud.sql), time, v1..v28 and amount, without the class (984 rows);
- synthetic: 20,000 and 60,000 rows of 10 features drawn by a 64-bit LCG that the Rust
  test repeats exactly (uniform in [-1, 1], every 20th row scaled by 4).
Without --rust it prints scikit-learn's numbers alone (what the tests hard-code).
"""

import argparse
import json
import pathlib
import re
import time

import numpy as np
from sklearn.svm import OneClassSVM

ROOT = pathlib.Path(__file__).resolve().parents[2]


def iris():
    lines = (ROOT / "models" / "testdata" / "iris.csv").read_text().splitlines()[1:]
    return np.array([[float(v) for v in l.split(",")[:4]] for l in lines if l.strip()])


def creditcard():
    text = (ROOT / "client" / "data" / "sqlflow-tutorial" /
            "popularize_creditcardfraud.sql").read_text()
    rows = [[float(v) for v in line.strip().rstrip(",;").strip("()").split(",")]
            for line in text.splitlines() if line.startswith("(")]
    x = np.array(rows)[:, :30]
    assert x.shape == (984, 30), x.shape
    return x


def synthetic(n=20000, d=10):
    state = 42
    mask = (1 << 64) - 1
    out = np.empty((n, d))
    for i in range(n):
        for j in range(d):
            state = (state * 6364136223846793005 + 1442695040888963407) & mask
            out[i, j] = (state >> 11) / float(1 << 53) * 2.0 - 1.0
        if i % 20 == 0:
            out[i] *= 4.0
    return out


# name, dataset, attributes (scikit-learn's names; the Rust test uses model.<name>)
CASES = [
    ("iris rbf scale nu=0.5", "iris", dict()),
    ("iris rbf auto nu=0.1", "iris", dict(gamma="auto", nu=0.1)),
    ("iris linear nu=0.5", "iris", dict(kernel="linear")),
    ("iris poly(3) coef0=1 nu=0.2", "iris", dict(kernel="poly", coef0=1.0, nu=0.2)),
    ("iris sigmoid gamma=0.01 nu=0.5", "iris", dict(kernel="sigmoid", gamma=0.01)),
    ("creditcard rbf scale nu=0.5", "creditcard", dict()),
    ("creditcard rbf scale nu=0.05", "creditcard", dict(nu=0.05)),
    ("synthetic 20k rbf scale nu=0.1", "synthetic", dict(nu=0.1)),
    ("synthetic 60k rbf scale nu=0.1", "synthetic60k", dict(nu=0.1)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rust", help="the JSON models/tests/one_class_svm.rs wrote")
    ap.add_argument("--show", type=int, default=3, help="decision values to print per case")
    args = ap.parse_args()
    rust = json.loads(pathlib.Path(args.rust).read_text()) if args.rust else {}
    big = synthetic(60000)
    data = {"iris": iris(), "creditcard": creditcard(), "synthetic": big[:20000],
            "synthetic60k": big}
    print("| data, attributes | rows | scikit-learn outliers | Rust outliers | same prediction "
          "| max abs diff of decision values (scale) | scikit-learn s | Rust s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, ds, kw in CASES:
        x = data[ds]
        t = time.perf_counter()
        m = OneClassSVM(**kw).fit(x)
        fit_s = time.perf_counter() - t
        dec = m.decision_function(x)
        pred = m.predict(x)
        if not rust:
            print(f"{name}: rows {len(x)}, outliers {(pred == -1).sum()}, rho {-m.intercept_[0]!r}, "
                  f"support vectors {len(m.support_)}, fit {fit_s:.3f} s")
            for i in np.linspace(0, len(x) - 1, args.show).astype(int):
                print(f"    decision[{i}] = {dec[i]!r}")
            continue
        r = rust[name]
        rdec = np.array(r["decision"])
        rpred = np.where(rdec > 0, 1, -1)
        same = (rpred == pred).mean() * 100
        diff = np.abs(rdec - dec).max()
        scale = np.abs(dec).max()
        print(f"| {name} | {len(x)} | {(pred == -1).sum()} | {(rpred == -1).sum()} | "
              f"{same:.2f}% | {diff:.2e} ({scale:.3g}) | {fit_s:.3f} | {r['seconds']:.3f} |")


if __name__ == "__main__":
    main()
