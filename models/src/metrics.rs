//! Evaluation metrics, usable on their own.
//!
//! Classes are indices `0..n_classes` (the model's sorted classes). For two classes the
//! positive class is index 1 (the larger label: `1`, or the later string). With more,
//! Precision/Recall/F1 are macro averages over the classes present in the truth or the
//! predictions (as scikit-learn), and AUC is the one-vs-rest macro average over the
//! classes that have both positive and negative rows.

//! Besides the short names, the names Keras (`tf.keras.metrics`) and scikit-learn
//! (`sklearn.metrics`) give the same metrics are accepted, as SQLFlow's TensorFlow and
//! XGBoost programs wrote them; see [`names`].

/// The classifier metrics `EVALUATE` reports when none are named.
pub const CLASSIFICATION_METRICS: &[&str] = &["Accuracy", "Precision", "Recall", "F1", "AUC"];
/// The regressor metrics reported when none are named.
pub const REGRESSION_METRICS: &[&str] = &["MSE", "MAE", "R2"];
/// The clustering metric (compared against a label column).
pub const CLUSTERING_METRICS: &[&str] = &["ARI"];

/// What a metric computes; several names (Keras, scikit-learn, short) map to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    Accuracy,
    BalancedAccuracy,
    Precision,
    Recall,
    F1,
    Auc,
    AveragePrecision,
    LogLoss,
    ZeroOneLoss,
    Kappa,
    Mcc,
    Brier,
    TruePositives,
    TrueNegatives,
    FalsePositives,
    FalseNegatives,
    Mse,
    Rmse,
    Mae,
    /// Keras: in percent.
    MapePercent,
    /// scikit-learn: a fraction.
    Mape,
    Msle,
    R2,
    ExplainedVariance,
    MedianAbsoluteError,
    MaxError,
    Ari,
}

/// Classifier metric names (matched case-insensitively).
const CLASSIFICATION_NAMES: &[(&str, Metric)] = &[
    ("Accuracy", Metric::Accuracy),
    ("Precision", Metric::Precision),
    ("Recall", Metric::Recall),
    ("F1", Metric::F1),
    ("AUC", Metric::Auc),
    // Keras
    ("BinaryAccuracy", Metric::Accuracy),
    ("CategoricalAccuracy", Metric::Accuracy),
    ("SparseCategoricalAccuracy", Metric::Accuracy),
    ("BinaryCrossentropy", Metric::LogLoss),
    ("CategoricalCrossentropy", Metric::LogLoss),
    ("SparseCategoricalCrossentropy", Metric::LogLoss),
    ("TruePositives", Metric::TruePositives),
    ("TrueNegatives", Metric::TrueNegatives),
    ("FalsePositives", Metric::FalsePositives),
    ("FalseNegatives", Metric::FalseNegatives),
    // scikit-learn
    ("accuracy_score", Metric::Accuracy),
    ("balanced_accuracy_score", Metric::BalancedAccuracy),
    ("precision_score", Metric::Precision),
    ("recall_score", Metric::Recall),
    ("f1_score", Metric::F1),
    ("roc_auc_score", Metric::Auc),
    ("average_precision_score", Metric::AveragePrecision),
    ("log_loss", Metric::LogLoss),
    ("zero_one_loss", Metric::ZeroOneLoss),
    ("hamming_loss", Metric::ZeroOneLoss),
    ("cohen_kappa_score", Metric::Kappa),
    ("matthews_corrcoef", Metric::Mcc),
    ("brier_score_loss", Metric::Brier),
];

/// Regressor metric names.
const REGRESSION_NAMES: &[(&str, Metric)] = &[
    ("MSE", Metric::Mse),
    ("MAE", Metric::Mae),
    ("R2", Metric::R2),
    ("RMSE", Metric::Rmse),
    // Keras
    ("MeanSquaredError", Metric::Mse),
    ("RootMeanSquaredError", Metric::Rmse),
    ("MeanAbsoluteError", Metric::Mae),
    ("MeanAbsolutePercentageError", Metric::MapePercent),
    ("MeanSquaredLogarithmicError", Metric::Msle),
    // scikit-learn
    ("mean_squared_error", Metric::Mse),
    ("mean_absolute_error", Metric::Mae),
    ("mean_absolute_percentage_error", Metric::Mape),
    ("mean_squared_log_error", Metric::Msle),
    ("r2_score", Metric::R2),
    ("explained_variance_score", Metric::ExplainedVariance),
    ("median_absolute_error", Metric::MedianAbsoluteError),
    ("max_error", Metric::MaxError),
];

const CLUSTERING_NAMES: &[(&str, Metric)] =
    &[("ARI", Metric::Ari), ("adjusted_rand_score", Metric::Ari)];

/// Every accepted metric name for a kind of model: `"classification"`,
/// `"regression"` or `"clustering"`.
pub fn names(kind: &str) -> Vec<&'static str> {
    table(kind).iter().map(|(n, _)| *n).collect()
}

fn table(kind: &str) -> &'static [(&'static str, Metric)] {
    match kind {
        "classification" => CLASSIFICATION_NAMES,
        "regression" => REGRESSION_NAMES,
        _ => CLUSTERING_NAMES,
    }
}

/// The metric `name` means for a kind of model (case-insensitive).
pub(crate) fn lookup(name: &str, kind: &str) -> Option<Metric> {
    let name = name.trim();
    table(kind)
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, m)| *m)
}

/// Class probabilities, one row per example: nested rows, or [`FlatProba`], which
/// a streamed evaluation of millions of rows keeps (one allocation, not one per row).
pub trait ProbaRows {
    /// How many rows.
    fn rows(&self) -> usize;
    /// Row `i`'s probabilities, one per class.
    fn row(&self, i: usize) -> &[f64];
}

impl ProbaRows for [Vec<f64>] {
    fn rows(&self) -> usize {
        self.len()
    }
    fn row(&self, i: usize) -> &[f64] {
        &self[i]
    }
}

impl ProbaRows for Vec<Vec<f64>> {
    fn rows(&self) -> usize {
        self.len()
    }
    fn row(&self, i: usize) -> &[f64] {
        &self[i]
    }
}

/// Rows of `k` class probabilities laid end to end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlatProba {
    k: usize,
    data: Vec<f64>,
}

impl FlatProba {
    /// No rows yet, `k` classes each.
    pub fn new(k: usize) -> FlatProba {
        FlatProba {
            k,
            data: Vec::new(),
        }
    }

    /// Appends a row, cut or padded with 0 to `k` values.
    pub fn push(&mut self, row: &[f64]) {
        let keep = row.len().min(self.k);
        self.data.extend_from_slice(&row[..keep]);
        self.data.resize(self.data.len() + (self.k - keep), 0.0);
    }

    /// The rows as nested vectors.
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        (0..self.rows()).map(|i| self.row(i).to_vec()).collect()
    }
}

impl ProbaRows for FlatProba {
    fn rows(&self) -> usize {
        self.data.len().checked_div(self.k).unwrap_or(0)
    }
    fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.k..(i + 1) * self.k]
    }
}

impl Metric {
    /// A classifier metric from the truth, the class probabilities and the predicted
    /// classes; `None` when the rows do not define it (AUC with one class present).
    pub(crate) fn classification(
        self,
        y: &[usize],
        proba: &(impl ProbaRows + ?Sized),
        pred: &[usize],
        k: usize,
    ) -> Option<f64> {
        let counts = |which: Metric| -> f64 {
            let n = y.len() as f64;
            let right = y.iter().zip(pred).filter(|(a, b)| a == b).count() as f64;
            if k == 2 {
                let c = |t: usize, p: usize| {
                    y.iter()
                        .zip(pred)
                        .filter(|&(&a, &b)| a == t && b == p)
                        .count() as f64
                };
                match which {
                    Metric::TruePositives => c(1, 1),
                    Metric::TrueNegatives => c(0, 0),
                    Metric::FalsePositives => c(0, 1),
                    _ => c(1, 0),
                }
            } else {
                // One-vs-rest counts summed over the classes.
                let wrong = n - right;
                match which {
                    Metric::TruePositives => right,
                    Metric::TrueNegatives => k as f64 * n - right - 2.0 * wrong,
                    _ => wrong,
                }
            }
        };
        Some(match self {
            Metric::Accuracy => accuracy(y, pred),
            Metric::ZeroOneLoss => 1.0 - accuracy(y, pred),
            Metric::BalancedAccuracy => balanced_accuracy(y, pred, k),
            Metric::Precision => precision(y, pred, k),
            Metric::Recall => recall(y, pred, k),
            Metric::F1 => f1(y, pred, k),
            Metric::Auc => auc(y, proba, k)?,
            Metric::AveragePrecision => average_precision(y, proba, k)?,
            Metric::LogLoss => log_loss(y, proba),
            Metric::Kappa => kappa(y, pred, k),
            Metric::Mcc => mcc(y, pred, k),
            Metric::Brier => brier(y, proba, k),
            Metric::TruePositives
            | Metric::TrueNegatives
            | Metric::FalsePositives
            | Metric::FalseNegatives => counts(self),
            _ => return None,
        })
    }

    /// A regressor metric.
    pub(crate) fn regression(self, y: &[f64], pred: &[f64]) -> Option<f64> {
        let abs_err = || y.iter().zip(pred).map(|(a, b)| (a - b).abs());
        Some(match self {
            Metric::Mse => mse(y, pred),
            Metric::Rmse => mse(y, pred).sqrt(),
            Metric::Mae => mae(y, pred),
            Metric::MapePercent => {
                100.0
                    * mean(
                        y.iter()
                            .zip(pred)
                            .map(|(a, b)| (a - b).abs() / a.abs().max(1e-7)),
                        y.len(),
                    )
            }
            Metric::Mape => mean(
                y.iter()
                    .zip(pred)
                    .map(|(a, b)| (a - b).abs() / a.abs().max(f64::EPSILON)),
                y.len(),
            ),
            Metric::Msle => mean(
                y.iter().zip(pred).map(|(a, b)| {
                    // Keras clips at 0 rather than failing on a negative value.
                    let d = a.max(0.0).ln_1p() - b.max(0.0).ln_1p();
                    d * d
                }),
                y.len(),
            ),
            Metric::R2 => r2(y, pred),
            Metric::ExplainedVariance => {
                let diff: Vec<f64> = y.iter().zip(pred).map(|(a, b)| a - b).collect();
                let var_y = variance(y);
                let var_d = variance(&diff);
                if var_y == 0.0 {
                    if var_d == 0.0 { 1.0 } else { 0.0 }
                } else {
                    1.0 - var_d / var_y
                }
            }
            Metric::MedianAbsoluteError => {
                let mut e: Vec<f64> = abs_err().collect();
                e.sort_by(f64::total_cmp);
                match e.len() {
                    0 => 0.0,
                    n if n % 2 == 1 => e[n / 2],
                    n => (e[n / 2 - 1] + e[n / 2]) / 2.0,
                }
            }
            Metric::MaxError => abs_err().fold(0.0, f64::max),
            _ => return None,
        })
    }
}

fn variance(v: &[f64]) -> f64 {
    let m = mean(v.iter().copied(), v.len());
    mean(v.iter().map(|x| (x - m) * (x - m)), v.len())
}

/// The canonical spelling of `name` among `valid`, matched case-insensitively.
pub fn canonical(name: &str, valid: &[&'static str]) -> Option<&'static str> {
    let name = name.trim();
    valid.iter().copied().find(|m| m.eq_ignore_ascii_case(name))
}

/// Fraction of rows predicted right; 0 for no rows.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    if y_true.is_empty() {
        return 0.0;
    }
    let right = y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count();
    right as f64 / y_true.len() as f64
}

/// (true positives, predicted positives, actual positives) per class.
fn confusion(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Vec<(f64, f64, f64)> {
    let mut c = vec![(0.0, 0.0, 0.0); n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        if let Some(e) = c.get_mut(p) {
            e.1 += 1.0;
        }
        if let Some(e) = c.get_mut(t) {
            e.2 += 1.0;
            if t == p {
                e.0 += 1.0;
            }
        }
    }
    c
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Applies `per_class` to the positive class (binary) or macro-averages it.
fn averaged(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    per_class: impl Fn(f64, f64, f64) -> f64,
) -> f64 {
    let c = confusion(y_true, y_pred, n_classes);
    if n_classes == 2 {
        let (tp, pp, ap) = c[1];
        return per_class(tp, pp, ap);
    }
    let present: Vec<&(f64, f64, f64)> = c
        .iter()
        .filter(|(_, pp, ap)| *pp > 0.0 || *ap > 0.0)
        .collect();
    if present.is_empty() {
        return 0.0;
    }
    present
        .iter()
        .map(|(tp, pp, ap)| per_class(*tp, *pp, *ap))
        .sum::<f64>()
        / present.len() as f64
}

/// Mean recall over the classes that occur in the truth (scikit-learn's
/// `balanced_accuracy_score`).
pub fn balanced_accuracy(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let c = confusion(y_true, y_pred, n_classes);
    let present: Vec<f64> = c
        .iter()
        .filter(|(_, _, ap)| *ap > 0.0)
        .map(|(tp, _, ap)| tp / ap)
        .collect();
    mean(present.iter().copied(), present.len())
}

/// Cohen's kappa: agreement beyond chance.
pub fn kappa(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let n = y_true.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let c = confusion(y_true, y_pred, n_classes);
    let po = c.iter().map(|(tp, _, _)| tp).sum::<f64>() / n;
    let pe = c.iter().map(|(_, pp, ap)| pp * ap).sum::<f64>() / (n * n);
    if pe >= 1.0 {
        0.0
    } else {
        (po - pe) / (1.0 - pe)
    }
}

/// Matthews correlation coefficient, multi-class form (as scikit-learn).
pub fn mcc(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let s = y_true.len() as f64;
    let c = confusion(y_true, y_pred, n_classes);
    let correct: f64 = c.iter().map(|(tp, _, _)| tp).sum();
    let pt: f64 = c.iter().map(|(_, pp, ap)| pp * ap).sum();
    let pp2: f64 = c.iter().map(|(_, pp, _)| pp * pp).sum();
    let ap2: f64 = c.iter().map(|(_, _, ap)| ap * ap).sum();
    let denom = ((s * s - pp2) * (s * s - ap2)).sqrt();
    if denom == 0.0 {
        0.0
    } else {
        (correct * s - pt) / denom
    }
}

/// Mean cross-entropy of the true class's probability (clipped at 1e-15).
pub fn log_loss(y_true: &[usize], proba: &(impl ProbaRows + ?Sized)) -> f64 {
    mean(
        y_true.iter().take(proba.rows()).enumerate().map(|(i, &t)| {
            -proba
                .row(i)
                .get(t)
                .copied()
                .unwrap_or(0.0)
                .clamp(1e-15, 1.0)
                .ln()
        }),
        y_true.len(),
    )
}

/// Brier score: squared distance between the probabilities and the one-hot truth; for
/// two classes the positive class's probability only (scikit-learn's
/// `brier_score_loss`), for more the sum over classes.
pub fn brier(y_true: &[usize], proba: &(impl ProbaRows + ?Sized), n_classes: usize) -> f64 {
    mean(
        y_true.iter().take(proba.rows()).enumerate().map(|(i, &t)| {
            let p = proba.row(i);
            let hit = |k: usize| if t == k { 1.0 } else { 0.0 };
            if n_classes == 2 {
                let d = p.get(1).copied().unwrap_or(0.0) - hit(1);
                d * d
            } else {
                (0..n_classes)
                    .map(|k| {
                        let d = p.get(k).copied().unwrap_or(0.0) - hit(k);
                        d * d
                    })
                    .sum()
            }
        }),
        y_true.len(),
    )
}

/// Area under the precision-recall curve as scikit-learn's `average_precision_score`
/// (Σ (Rₙ − Rₙ₋₁)·Pₙ over score thresholds); the macro average over classes for more
/// than two. `None` when no class has a positive row.
pub fn average_precision(
    y_true: &[usize],
    proba: &(impl ProbaRows + ?Sized),
    n_classes: usize,
) -> Option<f64> {
    let one = |k: usize| -> Option<f64> {
        let mut order: Vec<usize> = (0..y_true.len().min(proba.rows())).collect();
        let score = |i: usize| proba.row(i).get(k).copied().unwrap_or(0.0);
        order.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
        let positives = y_true.iter().filter(|&&t| t == k).count() as f64;
        if positives == 0.0 {
            return None;
        }
        let (mut tp, mut seen, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
        let mut i = 0;
        while i < order.len() {
            let s = score(order[i]);
            while i < order.len() && score(order[i]) == s {
                seen += 1.0;
                if y_true[order[i]] == k {
                    tp += 1.0;
                }
                i += 1;
            }
            let recall = tp / positives;
            ap += (recall - last_recall) * (tp / seen);
            last_recall = recall;
        }
        Some(ap)
    };
    if n_classes == 2 {
        return one(1);
    }
    let per: Vec<f64> = (0..n_classes).filter_map(one).collect();
    (!per.is_empty()).then(|| per.iter().sum::<f64>() / per.len() as f64)
}

pub fn precision(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    averaged(y_true, y_pred, n_classes, |tp, pp, _| ratio(tp, pp))
}

pub fn recall(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    averaged(y_true, y_pred, n_classes, |tp, _, ap| ratio(tp, ap))
}

/// F1 per class is 2·tp / (predicted + actual), then averaged like precision.
pub fn f1(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    averaged(y_true, y_pred, n_classes, |tp, pp, ap| {
        ratio(2.0 * tp, pp + ap)
    })
}

/// Area under the ROC curve of `scores` for `positive` (ties count half).
/// `None` when the truth has only one side.
pub fn binary_auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Mann-Whitney U with average ranks for ties.
    let (mut rank_sum, mut n_pos) = (0.0, 0usize);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if positive[k] {
                rank_sum += avg_rank;
                n_pos += 1;
            }
        }
        i = j + 1;
    }
    let n_neg = scores.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// AUC from class probabilities (`proba[row][class]`): binary for two classes, else the
/// one-vs-rest macro average. `None` when no class has both positive and negative rows.
pub fn auc(y_true: &[usize], proba: &(impl ProbaRows + ?Sized), n_classes: usize) -> Option<f64> {
    let score = |k: usize| -> Vec<f64> {
        (0..proba.rows())
            .map(|i| proba.row(i).get(k).copied().unwrap_or(0.0))
            .collect()
    };
    if n_classes == 2 {
        let pos: Vec<bool> = y_true.iter().map(|&t| t == 1).collect();
        return binary_auc(&pos, &score(1));
    }
    let aucs: Vec<f64> = (0..n_classes)
        .filter_map(|k| {
            let pos: Vec<bool> = y_true.iter().map(|&t| t == k).collect();
            binary_auc(&pos, &score(k))
        })
        .collect();
    (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64)
}

pub fn mse(y_true: &[f64], y_pred: &[f64]) -> f64 {
    mean(
        y_true.iter().zip(y_pred).map(|(a, b)| (a - b) * (a - b)),
        y_true.len(),
    )
}

pub fn mae(y_true: &[f64], y_pred: &[f64]) -> f64 {
    mean(
        y_true.iter().zip(y_pred).map(|(a, b)| (a - b).abs()),
        y_true.len(),
    )
}

/// Coefficient of determination; for a constant truth 1 if predicted exactly, else 0.
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> f64 {
    let m = mean(y_true.iter().copied(), y_true.len());
    let ss_tot: f64 = y_true.iter().map(|a| (a - m) * (a - m)).sum();
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    if ss_tot == 0.0 {
        return if ss_res == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - ss_res / ss_tot
}

fn mean(values: impl Iterator<Item = f64>, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        values.sum::<f64>() / n as f64
    }
}

/// Adjusted Rand index between two labelings (1 = identical partitions, ~0 = chance).
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len().min(b.len());
    let (ka, kb) = (
        a.iter().max().map_or(0, |m| m + 1),
        b.iter().max().map_or(0, |m| m + 1),
    );
    let mut table = vec![0u64; ka * kb];
    let (mut rows, mut cols) = (vec![0u64; ka], vec![0u64; kb]);
    for (&x, &y) in a.iter().zip(b).take(n) {
        table[x * kb + y] += 1;
        rows[x] += 1;
        cols[y] += 1;
    }
    let pairs = |c: u64| (c * c.saturating_sub(1)) as f64 / 2.0;
    let index: f64 = table.iter().map(|&c| pairs(c)).sum();
    let sum_a: f64 = rows.iter().map(|&c| pairs(c)).sum();
    let sum_b: f64 = cols.iter().map(|&c| pairs(c)).sum();
    let total = pairs(n as u64);
    if total == 0.0 {
        return 1.0;
    }
    let expected = sum_a * sum_b / total;
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn flat_probabilities_give_the_nested_ones_metrics() {
        let nested = vec![
            vec![0.7, 0.2, 0.1],
            vec![0.1, 0.6, 0.3],
            vec![0.2, 0.2, 0.6],
            vec![0.5, 0.4, 0.1],
        ];
        let y = [0, 1, 2, 1];
        let mut flat = FlatProba::new(3);
        for row in &nested {
            flat.push(row);
        }
        assert_eq!(flat.rows(), 4);
        assert_eq!(flat.to_rows(), nested);
        assert_eq!(log_loss(&y, &flat), log_loss(&y, &nested));
        assert_eq!(brier(&y, &flat, 3), brier(&y, &nested, 3));
        assert_eq!(auc(&y, &flat, 3), auc(&y, &nested, 3));
        assert_eq!(
            average_precision(&y, &flat, 3),
            average_precision(&y, &nested, 3)
        );
        // A row of another width keeps the layout: cut, or padded with 0.
        flat.push(&[0.1, 0.2, 0.3, 0.4]);
        flat.push(&[1.0]);
        assert_eq!(flat.rows(), 6);
        assert_eq!(flat.row(4), &[0.1, 0.2, 0.3]);
        assert_eq!(flat.row(5), &[1.0, 0.0, 0.0]);
        assert_eq!(FlatProba::new(0).rows(), 0);
    }

    #[test]
    fn binary_scores_by_hand() {
        // truth: 1 1 0 0 1, predicted: 1 0 0 1 1 -> tp=2, fp=1, fn=1
        let t = [1, 1, 0, 0, 1];
        let p = [1, 0, 0, 1, 1];
        assert!(close(accuracy(&t, &p), 0.6));
        assert!(close(precision(&t, &p, 2), 2.0 / 3.0));
        assert!(close(recall(&t, &p, 2), 2.0 / 3.0));
        assert!(close(f1(&t, &p, 2), 2.0 / 3.0));
    }

    #[test]
    fn macro_scores_by_hand() {
        // class 0: tp1 pp1 ap2; class 1: tp1 pp2 ap1; class 2: tp1 pp1 ap1
        let t = [0, 0, 1, 2];
        let p = [0, 1, 1, 2];
        assert!(close(precision(&t, &p, 3), (1.0 + 0.5 + 1.0) / 3.0));
        assert!(close(recall(&t, &p, 3), (0.5 + 1.0 + 1.0) / 3.0));
        assert!(close(f1(&t, &p, 3), (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0));
    }

    #[test]
    fn auc_by_hand() {
        // positives scored 0.8, 0.4; negatives 0.5, 0.1: 3 of 4 pairs ordered right.
        let pos = [true, true, false, false];
        assert!(close(
            binary_auc(&pos, &[0.8, 0.4, 0.5, 0.1]).unwrap(),
            0.75
        ));
        // a tie counts half
        assert!(close(binary_auc(&[true, false], &[0.5, 0.5]).unwrap(), 0.5));
        assert!(binary_auc(&[true, true], &[0.1, 0.2]).is_none());
        let proba = vec![
            vec![0.8, 0.1, 0.1],
            vec![0.1, 0.8, 0.1],
            vec![0.1, 0.1, 0.8],
        ];
        assert!(close(auc(&[0, 1, 2], &proba, 3).unwrap(), 1.0));
    }

    #[test]
    fn regression_by_hand() {
        let t = [3.0, -0.5, 2.0, 7.0];
        let p = [2.5, 0.0, 2.0, 8.0];
        assert!(close(mse(&t, &p), 0.375));
        assert!(close(mae(&t, &p), 0.5));
        assert!((r2(&t, &p) - 0.948_608_137_044_967_9).abs() < 1e-12);
    }

    #[test]
    fn ari() {
        assert!(close(
            adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]),
            1.0
        ));
        // scikit-learn: adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
        assert!(close(
            adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]),
            0.571_428_571_428_571_5
        ));
    }

    #[test]
    fn names() {
        assert_eq!(canonical("auc", CLASSIFICATION_METRICS), Some("AUC"));
        assert_eq!(canonical(" r2 ", REGRESSION_METRICS), Some("R2"));
        assert_eq!(canonical("rmse", REGRESSION_METRICS), None);
        assert_eq!(
            lookup("SparseCategoricalAccuracy", "classification"),
            Some(Metric::Accuracy)
        );
        assert_eq!(lookup("f1_score", "classification"), Some(Metric::F1));
        assert_eq!(
            lookup("meanabsolutepercentageerror", "regression"),
            Some(Metric::MapePercent)
        );
        assert_eq!(lookup("r2_score", "classification"), None);
    }

    #[test]
    fn scikit_learn_values_by_hand() {
        // y = [0, 0, 1, 1, 2], predicted [0, 1, 1, 1, 2]
        let (t, p) = ([0, 0, 1, 1, 2], [0, 1, 1, 1, 2]);
        // recalls 0.5, 1, 1
        assert!(close(balanced_accuracy(&t, &p, 3), 2.5 / 3.0));
        // sklearn.metrics.cohen_kappa_score -> 0.6875
        assert!(close(kappa(&t, &p, 3), 0.6875));
        // sklearn.metrics.matthews_corrcoef -> 0.7349684152591671
        assert!((mcc(&t, &p, 3) - 0.734_968_415_259_167_1).abs() < 1e-12);
        // average_precision_score([1, 0, 1, 0], [0.9, 0.8, 0.4, 0.1]) = 0.8333...
        let proba: Vec<Vec<f64>> = [0.9, 0.8, 0.4, 0.1]
            .iter()
            .map(|&s| vec![1.0 - s, s])
            .collect();
        assert!(close(
            average_precision(&[1, 0, 1, 0], &proba, 2).unwrap(),
            (0.5 * 1.0) + (0.5 * 2.0 / 3.0)
        ));
        // log_loss([1, 0], [[0.2, 0.8], [0.6, 0.4]]) = (-ln 0.8 - ln 0.6) / 2
        let lp = vec![vec![0.2, 0.8], vec![0.6, 0.4]];
        assert!(close(
            log_loss(&[1, 0], &lp),
            -(0.8f64.ln() + 0.6f64.ln()) / 2.0
        ));
        assert!(close(brier(&[1, 0], &lp, 2), (0.04 + 0.16) / 2.0));
        let (y, q) = ([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]);
        // sklearn: explained_variance_score = 0.9571734475374732, median_absolute_error 0.5
        let ev = Metric::ExplainedVariance.regression(&y, &q).unwrap();
        assert!((ev - 0.957_173_447_537_473_2).abs() < 1e-12, "{ev}");
        assert_eq!(Metric::MedianAbsoluteError.regression(&y, &q), Some(0.5));
        assert_eq!(Metric::MaxError.regression(&y, &q), Some(1.0));
        let mape = Metric::Mape.regression(&y, &q).unwrap();
        // sklearn.metrics.mean_absolute_percentage_error -> 0.3273809523809524
        assert!((mape - 0.327_380_952_380_952_4).abs() < 1e-12, "{mape}");
        assert!(
            (Metric::MapePercent.regression(&y, &q).unwrap() - 32.738_095_238_095_24).abs() < 1e-9
        );
    }
}
