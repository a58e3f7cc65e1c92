//! A synthetic stand-in for SQLFlow's `activepower.train` (the Kaggle household power
//! data, preprocessed by the tutorial's `activepower_preprocessing.py`: one row per day,
//! `m1..m48` the power of each half hour, min-max scaled per column), which cannot be
//! vendored. Two years of days, each drawn from one of three daily load shapes, so a
//! clustering can be checked against the shape that made each day:
//!
//! - 0, workday: low at night, a short morning peak, away at midday, a long evening peak;
//! - 1, weekend (Saturday, Sunday): a late rise and a broad midday plateau;
//! - 2, winter workday (the heating season, November to March): electric heating all
//!   night, earlier and higher peaks.
//!
//! Each day's curve is shifted in time (Gaussian, σ one hour: people do not rise at the
//! same minute every day) and scaled by a random factor in [0.7, 1.3]; each reading gets
//! Gaussian noise (σ 0.5 kW) and, one time in twenty, an appliance spike of up to 2 kW.
//! At this noise k-means on the rows finds the shapes only in part (scikit-learn: adjusted
//! Rand index 0.863), so the data tells clusterings apart. The columns are then min-max
//! scaled as the tutorial's preprocessing does and rounded to six decimals (what SQL text
//! carries exactly). Fully deterministic: a SplitMix64 stream
//! from a fixed seed, so the Rust tests, the end-to-end tutorial test and
//! `models/bench/dec_baseline.py` (which reads the rows the Rust test dumps) see the same
//! rows.

/// One generated day: `date` as `YYYY-MM-DD`, the shape that made it, its 48 readings.
pub struct Day {
    pub date: String,
    pub shape: usize,
    pub readings: Vec<f64>,
}

pub const DAYS: usize = 730;

#[path = "../seeded/mod.rs"]
mod seeded;

use seeded::SplitMix;

/// A bump of height 1 centred at hour `at`, `width` hours wide (one standard deviation).
fn bump(hour: f64, at: f64, width: f64) -> f64 {
    (-0.5 * ((hour - at) / width).powi(2)).exp()
}

/// The mean power (kW) of `shape` at `hour`.
fn profile(shape: usize, hour: f64) -> f64 {
    match shape {
        0 => 0.3 + 1.2 * bump(hour, 7.5, 0.8) + 1.8 * bump(hour, 20.0, 1.5),
        1 => 0.4 + 1.4 * bump(hour, 12.0, 2.5) + 1.0 * bump(hour, 19.5, 1.5),
        _ => {
            0.5 + 1.2 * bump(hour, 2.5, 2.0)
                + 1.6 * bump(hour, 6.5, 0.8)
                + 2.2 * bump(hour, 18.5, 1.5)
        }
    }
}

/// The days from 2007-01-01 (a Monday), in date order.
pub fn days() -> Vec<Day> {
    const MONTH_DAYS: [usize; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut rng = SplitMix(20_191_017);
    let (mut year, mut month, mut day) = (2007usize, 1usize, 1usize);
    let mut raw: Vec<(String, usize, Vec<f64>)> = Vec::with_capacity(DAYS);
    for i in 0..DAYS {
        let weekend = i % 7 >= 5;
        let shape = if weekend {
            1
        } else if matches!(month, 11 | 12 | 1 | 2 | 3) {
            2
        } else {
            0
        };
        let scale = 0.7 + 0.6 * rng.uniform();
        let shift = rng.gaussian();
        let readings = (0..48)
            .map(|slot| {
                let hour = slot as f64 / 2.0 + 0.25 - shift;
                let mut v = scale * profile(shape, hour) + 0.5 * rng.gaussian();
                if rng.uniform() < 0.05 {
                    v += 2.0 * rng.uniform();
                }
                v.max(0.0)
            })
            .collect();
        raw.push((format!("{year:04}-{month:02}-{day:02}"), shape, readings));
        let leap = year.is_multiple_of(4);
        let length = MONTH_DAYS[month - 1] + usize::from(month == 2 && leap);
        day += 1;
        if day > length {
            (day, month) = (1, month + 1);
            if month > 12 {
                (month, year) = (1, year + 1);
            }
        }
    }
    for col in 0..48 {
        let (lo, hi) = raw
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), d| {
                (lo.min(d.2[col]), hi.max(d.2[col]))
            });
        for d in &mut raw {
            let scaled = (d.2[col] - lo) / (hi - lo);
            d.2[col] = (scaled * 1e6).round() / 1e6;
        }
    }
    raw.into_iter()
        .map(|(date, shape, readings)| Day {
            date,
            shape,
            readings,
        })
        .collect()
}
