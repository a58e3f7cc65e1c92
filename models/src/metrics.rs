//! Evaluation metrics, usable on their own.
//!
//! Classes are indices `0..n_classes` (the model's sorted classes). For two classes the
//! positive class is index 1 (the larger label: `1`, or the later string). With more,
//! Precision/Recall/F1 are macro averages over the classes present in the truth or the
//! predictions (as scikit-learn), and AUC is the one-vs-rest macro average over the
//! classes that have both positive and negative rows.

/// Metric names for classifiers, as `EVALUATE` accepts them (case-insensitive).
pub const CLASSIFICATION_METRICS: &[&str] = &["Accuracy", "Precision", "Recall", "F1", "AUC"];
/// Metric names for regressors.
pub const REGRESSION_METRICS: &[&str] = &["MSE", "MAE", "R2"];
/// Metric names for clustering (compared against a label column).
pub const CLUSTERING_METRICS: &[&str] = &["ARI"];

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
pub fn auc(y_true: &[usize], proba: &[Vec<f64>], n_classes: usize) -> Option<f64> {
    let score = |k: usize| -> Vec<f64> {
        proba
            .iter()
            .map(|p| p.get(k).copied().unwrap_or(0.0))
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
    }
}
