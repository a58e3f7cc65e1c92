#!/usr/bin/env python3
"""statsmodels' side of sqlflow_models.ARIMAWithSTLDecomposition.

Two jobs:

  python3 models/bench/arima_baseline.py --stl-fixture > models/testdata/arima_stl.json
      statsmodels' STL (defaults) of a fixed series for periods 7, 12 and 30: the
      reference models/tests/arima.rs checks our STL against (to 1e-6).

  python3 models/bench/arima_baseline.py [--no-ours]
      The synthetic fund series (the same generator as models/tests/arima.rs,
      models/examples/arima_bench.rs and tests/tests/arima.rs: 2014-04-01..2014-08-31 to
      train, September to test), forecast as SQLFlow's model does it (STL per period in
      turn, min-max normalization, ARIMA(7, 0, 2) with a constant, seasonal components
      added back, the last season repeated) with statsmodels.tsa.arima.model.ARIMA
      (trend 'c', its default state-space maximum likelihood), timed, and MAE / MAPE
      against September; then ours (`cargo run --release -p sqlflow-models --example
      arima_bench`) beside it, and the seasonal-naive forecast (last week repeated).

Needs numpy and statsmodels (pip install statsmodels).
"""

import json
import math
import subprocess
import sys
import time

import numpy as np

MASK = (1 << 64) - 1
TRAIN_DAYS = 153  # 2014-04-01 .. 2014-08-31
TEST_DAYS = 30  # 2014-09-01 .. 2014-09-30


class SplitMix64:
    """The generator the Rust side uses (splitmix64), so both see the same series."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * (1.0 / (1 << 53))

    def normalish(self):
        # The sum of four uniforms, centered and scaled to unit variance.
        s = self.uniform() + self.uniform() + self.uniform() + self.uniform()
        return (s - 2.0) * math.sqrt(3.0)


def fund_series(which):
    """(purchase or redeem) for days 0 .. TRAIN_DAYS + TEST_DAYS - 1."""
    if which == "purchase":
        seed, base, slope, weekly, monthly, sd = (
            20140401,
            3.0e8,
            1.0e5,
            [3.0e7, 2.0e7, 1.0e7, 0.5e7, -0.5e7, -4.0e7, -3.0e7],
            2.5e7,
            1.0e7,
        )
    else:
        seed, base, slope, weekly, monthly, sd = (
            20140402,
            2.6e8,
            0.5e5,
            [2.5e7, 1.5e7, 1.0e7, 0.0, -1.0e7, -3.0e7, -1.5e7],
            2.0e7,
            0.8e7,
        )
    rng = SplitMix64(seed)
    noise = 0.0
    out = []
    for t in range(TRAIN_DAYS + TEST_DAYS):
        noise = 0.5 * noise + sd * rng.normalish()
        v = (
            base
            + slope * t
            + weekly[t % 7]
            + monthly * math.sin(2.0 * math.pi * t / 30.0)
            + noise
        )
        out.append(v)
    return out


def stl_fixture():
    from statsmodels.tsa.seasonal import STL

    y = [
        10.0
        + 0.05 * t
        + 2.0 * math.sin(2.0 * math.pi * t / 7.0)
        + 0.5 * math.cos(2.0 * math.pi * t / 12.0)
        + ((t * 7919) % 17) / 17.0
        - 0.5
        for t in range(72)
    ]
    out = {"y": y, "periods": {}}
    for p in (7, 12, 30):
        r = STL(np.array(y), period=p).fit()
        out["periods"][str(p)] = {
            "seasonal": [float(v) for v in r.seasonal],
            "trend": [float(v) for v in r.trend],
        }
    json.dump(out, sys.stdout, indent=0)
    print()


def last_season(seasonal, period, horizon):
    n = len(seasonal)
    tail = seasonal[n - period :]
    return np.array([tail[i % period] for i in range(horizon)])


def statsmodels_forecast(y, order=(7, 0, 2), periods=(7, 30), horizon=TEST_DAYS):
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.seasonal import STL

    left = np.array(y, dtype=float)
    seasons = []
    for p in periods:
        s = np.asarray(STL(left, period=p).fit().seasonal)
        seasons.append((p, s))
        left = left - s
    lo, hi = left.min(), left.max()
    x = (left - lo) / (hi - lo)
    fit = ARIMA(x, order=order, trend="c").fit()
    f = np.asarray(fit.forecast(horizon)) * (hi - lo) + lo
    for p, s in seasons:
        f = f + last_season(s, p, horizon)
    return f


def metrics(actual, forecast):
    a, f = np.array(actual), np.array(forecast)
    return float(np.mean(np.abs(a - f))), float(np.mean(np.abs(a - f) / np.abs(a)))


def main():
    if "--stl-fixture" in sys.argv:
        stl_fixture()
        return
    print(f"{'series':<10} {'implementation':<28} {'seconds':>9} {'MAE':>14} {'MAPE':>8}")
    ours = {}
    if "--no-ours" not in sys.argv:
        run = subprocess.run(
            ["cargo", "run", "-q", "--release", "-p", "sqlflow-models", "--example", "arima_bench"],
            capture_output=True,
            text=True,
            check=True,
        )
        for line in run.stdout.splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                ours[r["series"]] = r
    # Imported before the clock starts: the time is the fit's, not the import's.
    import statsmodels.tsa.arima.model  # noqa: F401
    import statsmodels.tsa.seasonal  # noqa: F401

    for which in ("purchase", "redeem"):
        y = fund_series(which)
        train, test = y[:TRAIN_DAYS], y[TRAIN_DAYS:]
        started = time.perf_counter()
        f = statsmodels_forecast(train)
        seconds = time.perf_counter() - started
        mae, mape = metrics(test, f)
        print(f"{which:<10} {'statsmodels STL + ARIMA':<28} {seconds:>9.3f} {mae:>14.0f} {mape:>8.4f}")
        if which in ours:
            r = ours[which]
            print(
                f"{which:<10} {'sqlflow-models (ours)':<28} {r['seconds']:>9.3f} "
                f"{r['mae']:>14.0f} {r['mape']:>8.4f}"
            )
            diff = np.array(r["forecast"]) - f
            print(f"{which:<10} {'max |ours - statsmodels|':<28} {'':>9} {np.max(np.abs(diff)):>14.0f}")
        naive = [train[TRAIN_DAYS - 7 + (i % 7)] for i in range(TEST_DAYS)]
        mae, mape = metrics(test, naive)
        print(f"{which:<10} {'seasonal naive (last week)':<28} {'':>9} {mae:>14.0f} {mape:>8.4f}")


if __name__ == "__main__":
    main()
