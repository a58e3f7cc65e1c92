#!/usr/bin/env python3
"""1M rows x 5 columns into pandas: `Job.results()[0].to_pandas()` through the server
versus `pandas.read_sql` on the same SQLite table, side by side.

    python python/bench/to_pandas.py                      # starts target/debug's server
    python python/bench/to_pandas.py --bin-dir target/release
    python python/bench/to_pandas.py --server 127.0.0.1:50051 --db /path/to/its.db

With --server, --db must be the SQLite file behind the server's default datasource.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))

import pandas as pd  # noqa: E402

from sqlflow import Client  # noqa: E402

TABLE = "bench_to_pandas"


def make_table(db: pathlib.Path, rows: int) -> None:
    con = sqlite3.connect(db)
    have = con.execute("SELECT count(*) FROM sqlite_master WHERE name = ?", (TABLE,)
                       ).fetchone()[0]
    if have and con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == rows:
        con.close()
        return
    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    con.execute(f"CREATE TABLE {TABLE}(id INTEGER, x REAL, name TEXT, k INTEGER, y REAL)")
    rnd = random.Random(7)
    con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)",
                    ((i, rnd.random(), f"name-{rnd.randrange(100000)}", i * 7 % 1000,
                      rnd.uniform(-1e6, 1e6)) for i in range(rows)))
    con.commit()
    con.close()


def start_server(bin_dir: pathlib.Path, directory: pathlib.Path):
    spec = importlib.util.spec_from_file_location(
        "sqlflow_test_conftest", PYTHON_DIR / "tests" / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(conftest)
    return conftest.SQLFlowServer(bin_dir, directory).start()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--server", help="a running server (host:port); needs --db")
    ap.add_argument("--db", type=pathlib.Path, help="the server's SQLite file")
    ap.add_argument("--bin-dir", type=pathlib.Path,
                    default=pathlib.Path(os.environ.get("SQLFLOW_BIN_DIR")
                                         or PYTHON_DIR.parent / "target" / "debug"))
    args = ap.parse_args()
    server = None
    tmp = None
    if args.server:
        if not args.db:
            ap.error("--server needs --db (the SQLite file of its default datasource)")
        address, db = args.server, args.db
    else:
        tmp = tempfile.TemporaryDirectory(prefix="sqlflow-bench-")
        server = start_server(args.bin_dir.resolve(), pathlib.Path(tmp.name))
        address, db = server.address, server.db_path
    try:
        print(f"table: {args.rows:,} rows x 5 columns (int, float, text, int, float) in {db}")
        make_table(db, args.rows)
        client = Client(server=address)
        sql = f"SELECT * FROM {TABLE}"
        ours, fetch, convert, theirs = [], [], [], []
        for run in range(args.runs):
            t0 = time.perf_counter()
            res = client.run(sql).results()[0]
            t1 = time.perf_counter()
            df = res.to_pandas()
            t2 = time.perf_counter()
            assert df.shape == (args.rows, 5), df.shape
            ours.append(t2 - t0)
            fetch.append(t1 - t0)
            convert.append(t2 - t1)
            del df, res
            con = sqlite3.connect(db)
            t3 = time.perf_counter()
            ref = pd.read_sql(sql, con)
            t4 = time.perf_counter()
            con.close()
            assert ref.shape == (args.rows, 5)
            theirs.append(t4 - t3)
            del ref
            print(f"run {run + 1}: to_pandas {ours[-1]:.2f} s (job + fetch {fetch[-1]:.2f} s, "
                  f"decode + DataFrame {convert[-1]:.2f} s) | read_sql {theirs[-1]:.2f} s")
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"median of {args.runs}: Job.results()[0].to_pandas() {a:.2f} s "
              f"(job + fetch {statistics.median(fetch):.2f} s, decode + DataFrame "
              f"{statistics.median(convert):.2f} s) | pandas.read_sql {b:.2f} s | "
              f"ratio {a / b:.2f}x")
    finally:
        if server is not None:
            server.stop()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
