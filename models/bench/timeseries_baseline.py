"""Peers of sqlflow_models.RNNBasedTimeSeriesModel on the energy tutorial's windows.

PyTorch's CPU wheels are not reachable from this machine (only PyPI is, and its torch
pulls in CUDA), so the peer is scikit-learn's MLPRegressor on the same windows (10 past
values -> the next 4, scaled to [0, 1]): a feed-forward network, not a recurrent one,
trained with Adam on mean squared error as the RNN is. Also "repeat the last value".

Make the windows with the Rust bench, then run this:

    cargo run --release -p sqlflow-models --example timeseries_bench -- \
        --windows /tmp/energy_windows.csv
    python3 models/bench/timeseries_baseline.py /tmp/energy_windows.csv
"""

import sys
import time
import warnings

import numpy as np
from sklearn.neural_network import MLPRegressor


def load(path):
    rows = {"train": [], "val": [], "test": []}
    with open(path) as f:
        next(f)
        for line in f:
            cells = line.strip().split(",")
            rows[cells[0]].append([float(v) for v in cells[1:]])
    return {k: np.array(v) for k, v in rows.items()}


def main():
    data = load(sys.argv[1])
    x, y = data["train"][:, :10], data["train"][:, 10:]
    tx, ty = data["test"][:, :10], data["test"][:, 10:]
    naive = np.abs(ty - tx[:, 9:10]).mean()
    print(f"repeat the last value: test MAE {naive:.4} ({len(tx)} test windows)")
    for hidden in [(500, 500), (64,)]:
        started, cpu = time.perf_counter(), time.process_time()
        m = MLPRegressor(
            hidden_layer_sizes=hidden,
            solver="adam",
            learning_rate_init=0.001,
            batch_size=10,
            max_iter=30,
            random_state=0,
            shuffle=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(x, y)
        secs, cpu = time.perf_counter() - started, time.process_time() - cpu
        p = m.predict(tx)
        mae = np.abs(p - ty).mean()
        mse = ((p - ty) ** 2).mean()
        print(
            f"MLPRegressor{hidden} adam batch 10, 30 epochs: trained in {secs:.1f} s "
            f"({cpu:.1f} s CPU); "
            f"test MAE {mae:.4}, MSE {mse:.5}"
        )


if __name__ == "__main__":
    main()
