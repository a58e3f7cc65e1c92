"""How TRAIN's time and peak memory grow with the row count, beside scikit-learn.

For each size N, a SQLite table of N rows x 10 REAL features and an INTEGER label is
built (the same table as predict_scale.py); a depth-8 decision tree is trained on all
of it:

- ours: `sqlflow-step run -` with `SELECT * FROM t TO TRAIN DecisionTreeClassifier
  WITH model.max_depth = 8 LABEL label INTO tree_m` (the engine reads the SELECT a
  batch at a time into columns);
- peer: pandas.read_sql of the whole table, DecisionTreeClassifier(max_depth=8).fit
  (the usual Python way).

Each runs in its own process; its peak RSS comes from wait4, its time from the wall
clock. Usage:

    cargo build --release -p sqlflow-engine
    python3 models/bench/train_scale.py --step target/release/sqlflow-step \
        --rows 100000,1000000,10000000
"""

import argparse
import os
import sqlite3
import sys
import tempfile

from predict_scale import build, measured

PEER = r"""
import sqlite3, sys
import pandas as pd
from sklearn.tree import DecisionTreeClassifier
con = sqlite3.connect(sys.argv[1])
df = pd.read_sql("SELECT * FROM t", con)
x = [f"f{i}" for i in range(10)]
DecisionTreeClassifier(max_depth=8, random_state=0).fit(df[x], df["label"])
"""

TRAIN = (
    "SELECT * FROM t TO TRAIN DecisionTreeClassifier "
    "WITH model.max_depth = 8 LABEL label INTO tree_m;"
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--step", default="target/release/sqlflow-step")
    ap.add_argument("--rows", default="100000,1000000")
    ap.add_argument("--no-peer", action="store_true", help="skip scikit-learn")
    args = ap.parse_args()
    print("| rows | raw f64 size | ours: time | ours: peak RSS | scikit-learn + pandas: time | peak RSS |")
    print("|---|---|---|---|---|---|")
    for rows in [int(r) for r in args.rows.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "scale.db")
            build(db, rows)
            env = dict(os.environ, SQLFLOW_DATASOURCE=f"sqlite://{db}")
            ours = measured([args.step, "run", "-"], TRAIN, env)
            con = sqlite3.connect(db)
            (saved,) = con.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'tree_m'"
            ).fetchone()
            con.close()
            if saved != 1:
                sys.exit("TRAIN saved no model")
            if args.no_peer:
                peer = ("-", "-")
            else:
                seconds, mb = measured([sys.executable, "-c", PEER, db])
                peer = (f"{seconds:.2f}", f"{mb:,.0f}")
            raw_mb = rows * 11 * 8 / 1e6
            print(
                f"| {rows:,} | {raw_mb:,.0f} MB | {ours[0]:.2f} s | {ours[1]:,.0f} MB "
                f"| {peer[0]} s | {peer[1]} MB |",
                flush=True,
            )


if __name__ == "__main__":
    main()
