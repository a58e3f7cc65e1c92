use super::*;
use crate::attrs::{AttrValue, Attrs, resolve};

fn tiny(kind: CellKind, units: &[usize], n_features: usize, n_in: usize, n_out: usize) -> Rnn {
    let mut rng = Rng::new(3);
    let mut m = Rnn::init(kind, n_in, n_features, n_out, units, &mut rng);
    // Non-zero biases, so their gradients are exercised too.
    for t in m.tensors_mut() {
        for (i, v) in t.iter_mut().enumerate() {
            *v += 0.05 * ((i as f32) * 0.7).sin();
        }
    }
    m
}

fn batch(m: &Rnn, b: usize) -> (Vec<f32>, Vec<f32>) {
    let seq: Vec<f32> = (0..m.n_in * b * m.n_features)
        .map(|i| ((i as f32) * 0.31).cos())
        .collect();
    let target: Vec<f32> = (0..b * m.n_out)
        .map(|i| ((i as f32) * 0.53).sin())
        .collect();
    (seq, target)
}

fn loss(m: &Rnn, seq: &[f32], target: &[f32], b: usize) -> (f64, Vec<Vec<f32>>) {
    let mut caches: Vec<Cache> = m.layers.iter().map(|_| Cache::default()).collect();
    let mut grads: Vec<Vec<f32>> = m.tensors().iter().map(|t| vec![0.0; t.len()]).collect();
    // The same seed gives the same dropout mask in every evaluation.
    let l = m.step(seq, target, b, &mut Rng::new(11), &mut caches, &mut grads);
    (l / b as f64, grads)
}

/// Backpropagation through time against central differences, every weight of a small
/// two-layer network of each cell.
#[test]
fn gradients_match_finite_differences() {
    for kind in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
        let m = tiny(kind, &[3, 2], 2, 4, 2);
        let b = 3;
        let (seq, target) = batch(&m, b);
        let (_, grads) = loss(&m, &seq, &target, b);
        assert_eq!(grads.len(), m.tensors().len());
        let mut worst = 0.0f64;
        for (ti, grad) in grads.iter().enumerate() {
            for (j, analytic) in grad.iter().enumerate() {
                let eps = 1e-2f32;
                let mut plus = m.clone();
                plus.tensors_mut()[ti][j] += eps;
                let mut minus = m.clone();
                minus.tensors_mut()[ti][j] -= eps;
                let numeric = (loss(&plus, &seq, &target, b).0 - loss(&minus, &seq, &target, b).0)
                    / (2.0 * f64::from(eps));
                let analytic = f64::from(*analytic);
                let err = (numeric - analytic).abs() / (1e-3 + numeric.abs().max(analytic.abs()));
                worst = worst.max(err);
                assert!(
                    err < 0.05,
                    "{kind:?} tensor {ti}[{j}]: numeric {numeric}, backprop {analytic}"
                );
            }
        }
        assert!(worst < 0.05, "{kind:?}: {worst}");
    }
}

fn attrs(pairs: &[(&str, AttrValue)]) -> Resolved {
    let mut a = Attrs::new();
    for (k, v) in pairs {
        a.insert(k.to_string(), v.clone());
    }
    resolve(NAME, &specs(), &a).unwrap()
}

/// Windows of a noisy seasonal series: `n_in` past values → the next `n_out`.
fn windows(n: usize, n_in: usize, n_out: usize) -> (Matrix, Vec<f64>) {
    let series: Vec<f64> = (0..n + n_in + n_out)
        .map(|i| 0.5 + 0.3 * (i as f64 * 0.4).sin() + 0.05 * ((i * 7919 % 13) as f64 / 13.0))
        .collect();
    let mut x = Matrix::zeros(n, n_in);
    let mut y = Vec::with_capacity(n * n_out);
    for r in 0..n {
        x.row_mut(r).copy_from_slice(&series[r..r + n_in]);
        y.extend_from_slice(&series[r + n_in..r + n_in + n_out]);
    }
    (x, y)
}

#[test]
fn learns_a_seasonal_series_better_than_repeating_the_last_value() {
    let (n_in, n_out) = (8, 2);
    let (x, y) = windows(300, n_in, n_out);
    for kind in ["rnn", "lstm", "gru"] {
        let mut a = attrs(&[
            ("model.n_in", AttrValue::Int(n_in as i64)),
            ("model.n_out", AttrValue::Int(n_out as i64)),
            (
                "model.stack_units",
                AttrValue::List(vec![AttrValue::Int(16)]),
            ),
            ("model.model_type", AttrValue::Str(kind.into())),
            ("train.epoch", AttrValue::Int(40)),
            ("train.batch_size", AttrValue::Int(16)),
            ("optimizer.learning_rate", AttrValue::Float(0.01)),
        ]);
        let mut lines = Vec::new();
        let m = Rnn::train(&x, &y, &mut a, &Monitor::default(), &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        assert_eq!(lines.len(), 40);
        assert!(lines[0].starts_with("epoch 1/40: loss "), "{}", lines[0]);
        let pred = m.predict(&x);
        let mae = pred.iter().zip(&y).map(|(p, t)| (p - t).abs()).sum::<f64>() / y.len() as f64;
        let naive = (0..x.rows)
            .flat_map(|r| {
                let last = x.get(r, n_in - 1);
                (0..n_out).map(move |j| (r, j, last))
            })
            .map(|(r, j, last)| (last - y[r * n_out + j]).abs())
            .sum::<f64>()
            / y.len() as f64;
        assert!(mae < naive * 0.6, "{kind}: MAE {mae} against naive {naive}");
        assert!(m.check(n_in));
    }
}

#[test]
fn same_seed_same_model_and_shape_errors_name_the_attribute() {
    let (x, y) = windows(40, 4, 1);
    let base = [
        ("model.n_in", AttrValue::Int(4)),
        (
            "model.stack_units",
            AttrValue::List(vec![AttrValue::Int(5), AttrValue::Int(3)]),
        ),
        ("model.model_type", AttrValue::Str("LSTM".into())),
        ("train.epoch", AttrValue::Int(2)),
        ("model.seed", AttrValue::Int(9)),
    ];
    let train = |pairs: &[(&str, AttrValue)]| {
        Rnn::train(&x, &y, &mut attrs(pairs), &Monitor::default(), &mut |_| {})
    };
    let a = train(&base).unwrap();
    assert_eq!(a, train(&base).unwrap());
    let mut other = base.to_vec();
    other[4] = ("model.seed", AttrValue::Int(10));
    assert_ne!(a, train(&other).unwrap());
    let mut wrong = base.to_vec();
    wrong[0] = ("model.n_in", AttrValue::Int(5));
    let err = train(&wrong).unwrap_err().to_string();
    assert!(err.contains("model.n_in") && err.contains("(4)"), "{err}");
    let err = resolve(
        NAME,
        &specs(),
        &Attrs::from([("model.model_type".to_string(), AttrValue::Str("cnn".into()))]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("model.model_type") && err.contains("lstm"),
        "{err}"
    );
    let err = resolve(
        NAME,
        &specs(),
        &Attrs::from([("model.n_out".to_string(), AttrValue::Int(0))]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("model.n_out"), "{err}");
}
