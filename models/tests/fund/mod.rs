//! A synthetic stand-in for SQLFlow's `fund.train` (Tianchi's daily purchase and redeem
//! totals, 2014-04-01..2014-08-31), which cannot be vendored: per series a level, a
//! linear trend, a weekly pattern, a 30-day cycle and AR(1) noise (φ 0.5) from a
//! SplitMix64 stream with a fixed seed, the noise's innovations the centered sum of four
//! uniforms (unit variance). `models/bench/arima_baseline.py` draws the same numbers, so
//! statsmodels sees the series the Rust tests and the end-to-end test see.

/// 2014-04-01..2014-08-31.
pub const TRAIN_DAYS: usize = 153;
/// 2014-09-01..2014-09-30.
pub const TEST_DAYS: usize = 30;

#[path = "../seeded/mod.rs"]
mod seeded;

use seeded::SplitMix;

/// `purchase` or `redeem` for days 0..TRAIN_DAYS + TEST_DAYS after 2014-04-01.
pub fn series(which: &str) -> Vec<f64> {
    let (seed, base, slope, weekly, monthly, sd) = if which == "purchase" {
        (
            20_140_401u64,
            3.0e8,
            1.0e5,
            [3.0e7, 2.0e7, 1.0e7, 0.5e7, -0.5e7, -4.0e7, -3.0e7],
            2.5e7,
            1.0e7,
        )
    } else {
        (
            20_140_402,
            2.6e8,
            0.5e5,
            [2.5e7, 1.5e7, 1.0e7, 0.0, -1.0e7, -3.0e7, -1.5e7],
            2.0e7,
            0.8e7,
        )
    };
    let mut rng = SplitMix(seed);
    let mut noise = 0.0;
    (0..TRAIN_DAYS + TEST_DAYS)
        .map(|t| {
            noise = 0.5 * noise + sd * rng.normalish();
            base + slope * t as f64
                + weekly[t % 7]
                + monthly * (2.0 * std::f64::consts::PI * t as f64 / 30.0).sin()
                + noise
        })
        .collect()
}

/// Day `t` after 2014-04-01 as `YYYY-MM-DD` (April to October).
pub fn date(t: usize) -> String {
    let months = [
        (4, 30),
        (5, 31),
        (6, 30),
        (7, 31),
        (8, 31),
        (9, 30),
        (10, 31),
    ];
    let mut d = t;
    for (m, len) in months {
        if d < len {
            return format!("2014-{m:02}-{:02}", d + 1);
        }
        d -= len;
    }
    format!("day {t} is past October")
}

/// The mean absolute percentage error (a fraction) of `forecast` against `actual`.
pub fn mape(actual: &[f64], forecast: &[f64]) -> f64 {
    actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| ((a - f) / a).abs())
        .sum::<f64>()
        / actual.len() as f64
}

/// The seasonal-naive forecast of the test days: the last training week repeated.
pub fn seasonal_naive(y: &[f64]) -> Vec<f64> {
    (0..TEST_DAYS).map(|i| y[TRAIN_DAYS - 7 + i % 7]).collect()
}
