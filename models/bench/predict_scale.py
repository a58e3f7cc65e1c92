"""How PREDICT's time and peak memory grow with the row count, beside scikit-learn.

For each size N, a SQLite table of N rows x 10 REAL features and an INTEGER label is
built; a depth-8 decision tree is trained on its first 100 000 rows; then every row is
predicted into a new table:

- ours: `sqlflow-step run -` with `... TO PREDICT t_pred.label USING tree_m` (the engine
  reads, predicts and sets aside a batch at a time);
- peer: pandas.read_sql of the whole table, DecisionTreeClassifier.predict,
  DataFrame.to_sql into a new table (the usual Python way).

Each runs in its own process; its peak RSS comes from wait4, its time from the wall
clock. Usage:

    cargo build --release -p sqlflow-engine
    python3 models/bench/predict_scale.py --step target/release/sqlflow-step \
        --rows 100000,1000000,10000000
"""

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

TRAIN_ROWS = 100_000

PEER = r"""
import sqlite3, sys
import pandas as pd
from sklearn.tree import DecisionTreeClassifier
db = sys.argv[1]
con = sqlite3.connect(db)
train = pd.read_sql("SELECT * FROM t LIMIT %d", con)
x = [f"f{i}" for i in range(10)]
m = DecisionTreeClassifier(max_depth=8, random_state=0).fit(train[x], train["label"])
df = pd.read_sql("SELECT * FROM t", con)
df["label"] = m.predict(df[x])
df.to_sql("t_peer", con, if_exists="replace", index=False)
con.commit()
""" % TRAIN_ROWS


def build(path, rows):
    con = sqlite3.connect(path)
    con.execute("DROP TABLE IF EXISTS t")
    cols = ", ".join(f"f{i} REAL" for i in range(10))
    con.execute(f"CREATE TABLE t ({cols}, label INTEGER)")
    feats = ", ".join(f"(abs(random()) % 1000000) / 1e6 AS f{i}" for i in range(10))
    con.execute(
        f"INSERT INTO t SELECT *, CAST(f0 + f1 > 1.0 AS INTEGER) FROM ("
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
        f"SELECT {feats} FROM n)"
    )
    con.commit()
    con.close()


def measured(argv, stdin=None, env=None):
    """Runs argv; returns (seconds, peak RSS in MB)."""
    start = time.perf_counter()
    p = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    if stdin is not None:
        p.stdin.write(stdin.encode())
    p.stdin.close()
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - start
    err = p.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} failed: {err}")
    return seconds, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--step", default="target/release/sqlflow-step")
    ap.add_argument("--rows", default="100000,1000000")
    ap.add_argument(
        "--evaluate",
        action="store_true",
        help="also run TO EVALUATE (Accuracy, AUC) over every row and print its time and peak RSS",
    )
    args = ap.parse_args()
    print("| rows | raw f64 size | ours: time | ours: peak RSS | scikit-learn + pandas: time | peak RSS |")
    print("|---|---|---|---|---|---|")
    evaluated = []
    for rows in [int(r) for r in args.rows.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "scale.db")
            build(db, rows)
            env = dict(os.environ, SQLFLOW_DATASOURCE=f"sqlite://{db}")
            train = (
                f"SELECT * FROM t LIMIT {TRAIN_ROWS} TO TRAIN DecisionTreeClassifier "
                "WITH model.max_depth = 8 LABEL label INTO tree_m;"
            )
            measured([args.step, "run", "-"], train, env)
            ours = measured(
                [args.step, "run", "-"],
                "SELECT * FROM t TO PREDICT t_pred.label USING tree_m;",
                env,
            )
            con = sqlite3.connect(db)
            (n,) = con.execute("SELECT COUNT(*) FROM t_pred").fetchone()
            con.close()
            if n != rows:
                sys.exit(f"PREDICT wrote {n} rows of {rows}")
            if args.evaluate:
                ev = measured(
                    [args.step, "run", "-"],
                    'SELECT * FROM t TO EVALUATE tree_m WITH validation.metrics = "Accuracy,AUC" '
                    "LABEL label INTO t_eval;",
                    env,
                )
                evaluated.append((rows, ev))
            peer = measured([sys.executable, "-c", PEER, db])
            raw_mb = rows * 11 * 8 / 1e6
            print(
                f"| {rows:,} | {raw_mb:,.0f} MB | {ours[0]:.2f} s | {ours[1]:.0f} MB "
                f"| {peer[0]:.2f} s | {peer[1]:.0f} MB |",
                flush=True,
            )
    for rows, (seconds, rss) in evaluated:
        print(f"EVALUATE (Accuracy, AUC) over {rows:,} rows: {seconds:.2f} s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
