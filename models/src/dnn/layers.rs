//! The network's pieces: dense layers, activations, batch normalization, the wide part,
//! and softmax.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Layer {
    pub(crate) n_in: usize,
    pub(crate) n_out: usize,
    /// Row-major `n_in × n_out`.
    pub(crate) w: Vec<f64>,
    pub(crate) b: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum Head {
    Softmax,
    /// The network predicts the standardized target.
    Linear {
        y_mean: f64,
        y_scale: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) enum Activation {
    #[default]
    Relu,
    Relu6,
    Elu,
    Selu,
    Tanh,
    Sigmoid,
    Softplus,
    Softsign,
    LeakyRelu,
    Swish,
    Linear,
}

const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;
/// `tf.nn.leaky_relu`'s default slope.
const LEAKY_SLOPE: f64 = 0.2;

impl Activation {
    pub(crate) fn from_name(name: &str) -> Option<Activation> {
        Some(match name {
            "relu" => Activation::Relu,
            "relu6" => Activation::Relu6,
            "elu" => Activation::Elu,
            "selu" => Activation::Selu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "softplus" => Activation::Softplus,
            "softsign" => Activation::Softsign,
            "leaky_relu" => Activation::LeakyRelu,
            "swish" | "silu" => Activation::Swish,
            "linear" | "none" | "identity" => Activation::Linear,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Swish => "swish",
            Activation::Linear => "linear",
        }
    }

    pub(crate) fn apply(self, z: f64) -> f64 {
        match self {
            Activation::Relu => z.max(0.0),
            Activation::Relu6 => z.clamp(0.0, 6.0),
            Activation::Elu => {
                if z > 0.0 {
                    z
                } else {
                    z.exp_m1()
                }
            }
            Activation::Selu => SELU_SCALE * if z > 0.0 { z } else { SELU_ALPHA * z.exp_m1() },
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => sigmoid(z),
            Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
            Activation::Softsign => z / (1.0 + z.abs()),
            Activation::LeakyRelu => {
                if z > 0.0 {
                    z
                } else {
                    LEAKY_SLOPE * z
                }
            }
            Activation::Swish => z * sigmoid(z),
            Activation::Linear => z,
        }
    }

    /// d activation / dz at `z`, given `a = apply(z)`.
    pub(crate) fn derivative(self, z: f64, a: f64) -> f64 {
        match self {
            Activation::Relu => f64::from(u8::from(z > 0.0)),
            Activation::Relu6 => f64::from(u8::from(z > 0.0 && z < 6.0)),
            Activation::Elu => {
                if z > 0.0 {
                    1.0
                } else {
                    a + 1.0
                }
            }
            Activation::Selu => {
                if z > 0.0 {
                    SELU_SCALE
                } else {
                    a + SELU_SCALE * SELU_ALPHA
                }
            }
            Activation::Tanh => 1.0 - a * a,
            Activation::Sigmoid => a * (1.0 - a),
            Activation::Softplus => sigmoid(z),
            Activation::Softsign => {
                let d = 1.0 + z.abs();
                1.0 / (d * d)
            }
            Activation::LeakyRelu => {
                if z > 0.0 {
                    1.0
                } else {
                    LEAKY_SLOPE
                }
            }
            Activation::Swish => {
                let s = sigmoid(z);
                s + z * s * (1.0 - s)
            }
            Activation::Linear => 1.0,
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Batch normalization after a hidden layer: `gamma · (x − mean) / sqrt(var + ε) + beta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct BatchNorm {
    pub(super) gamma: Vec<f64>,
    pub(super) beta: Vec<f64>,
    /// The statistics used at prediction time: those of the whole training set, computed
    /// after training. TensorFlow keeps a moving average instead (momentum 0.999), which
    /// after a short training is still close to its initial 0/1 and predicts badly.
    pub(super) mean: Vec<f64>,
    pub(super) var: Vec<f64>,
}

/// Keras' and TensorFlow's `BatchNormalization` epsilon.
const BN_EPS: f64 = 1e-3;

/// The linear ("wide") part of wide and deep: a linear map of its own columns, added to
/// the network's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Wide {
    /// Encoded columns it reads.
    pub(super) inputs: Vec<usize>,
    /// `inputs.len() × n_out`, row-major.
    pub(super) w: Vec<f64>,
}

/// `out[r] += input[r] · W + b` for `rows` rows.
pub(crate) fn affine(input: &[f64], rows: usize, layer: &Layer, out: &mut [f64]) {
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    for r in 0..rows {
        let o = &mut out[r * n_out..(r + 1) * n_out];
        o.iter_mut().zip(&layer.b).for_each(|(o, b)| *o += b);
        for (i, &ai) in input[r * n_in..(r + 1) * n_in].iter().enumerate() {
            // One-hot columns are mostly zero: skipping them is the cheap sparse product.
            if ai != 0.0 {
                let w = &layer.w[i * n_out..(i + 1) * n_out];
                o.iter_mut().zip(w).for_each(|(o, wj)| *o += ai * wj);
            }
        }
    }
}

/// A dense layer's gradients for a batch: `gb += Σ_r delta[r]`, `gw += Σ_r input[r]ᵀ ·
/// delta[r]` (callers set the starting values: zero, or the L2 term).
pub(crate) fn add_dense_grads(
    input: &[f64],
    delta: &[f64],
    rows: usize,
    (n_in, n_out): (usize, usize),
    gw: &mut [f64],
    gb: &mut [f64],
) {
    for r in 0..rows {
        let dr = &delta[r * n_out..(r + 1) * n_out];
        gb.iter_mut().zip(dr).for_each(|(g, v)| *g += v);
        for (i, &ai) in input[r * n_in..(r + 1) * n_in].iter().enumerate() {
            // As in `affine`: a zero input adds nothing.
            if ai != 0.0 {
                gw[i * n_out..(i + 1) * n_out]
                    .iter_mut()
                    .zip(dr)
                    .for_each(|(g, v)| *g += ai * v);
            }
        }
    }
}

/// Training-time batch normalization of `v` (`rows × h`) with the batch's statistics.
pub(super) fn batch_normalize(
    v: &mut [f64],
    rows: usize,
    h: usize,
    norm: &BatchNorm,
    xhat: &mut [f64],
    inv_std: &mut [f64],
) {
    let n = rows.max(1) as f64;
    for j in 0..h {
        let mean = (0..rows).map(|r| v[r * h + j]).sum::<f64>() / n;
        let var = (0..rows)
            .map(|r| (v[r * h + j] - mean).powi(2))
            .sum::<f64>()
            / n;
        let inv = 1.0 / (var + BN_EPS).sqrt();
        inv_std[j] = inv;
        for r in 0..rows {
            let x = (v[r * h + j] - mean) * inv;
            xhat[r * h + j] = x;
            v[r * h + j] = norm.gamma[j] * x + norm.beta[j];
        }
    }
}

/// Back through training-time batch normalization: `g` holds dLoss/d(output) and
/// becomes dLoss/d(input); the gamma and beta gradients are written.
#[allow(clippy::too_many_arguments)]
pub(super) fn batch_norm_backward(
    g: &mut [f64],
    rows: usize,
    h: usize,
    norm: &BatchNorm,
    xhat: &[f64],
    inv_std: &[f64],
    g_gamma: &mut [f64],
    g_beta: &mut [f64],
) {
    let n = rows.max(1) as f64;
    for j in 0..h {
        let (mut sum_g, mut sum_gx) = (0.0, 0.0);
        for r in 0..rows {
            sum_g += g[r * h + j];
            sum_gx += g[r * h + j] * xhat[r * h + j];
        }
        g_gamma[j] = sum_gx;
        g_beta[j] = sum_g;
        let scale = norm.gamma[j] * inv_std[j] / n;
        for r in 0..rows {
            let i = r * h + j;
            g[i] = scale * (n * g[i] - sum_g - xhat[i] * sum_gx);
        }
    }
}

/// Prediction-time batch normalization with the stored statistics.
pub(super) fn normalize_rows(v: &mut [f64], h: usize, norm: &BatchNorm) {
    for row in v.chunks_mut(h) {
        for (j, x) in row.iter_mut().enumerate() {
            *x = norm.gamma[j] * (*x - norm.mean[j]) / (norm.var[j] + BN_EPS).sqrt() + norm.beta[j];
        }
    }
}

pub(crate) fn softmax_in_place(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    v.iter_mut().for_each(|x| *x /= sum);
}

/// Softmax of each row of `k` scores in `scores` (`rows × k`).
pub(crate) fn softmax_rows(scores: &[f64], k: usize) -> Vec<Vec<f64>> {
    scores
        .chunks(k.max(1))
        .map(|row| {
            let mut p = row.to_vec();
            softmax_in_place(&mut p);
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::AttrValue;
    use crate::dnn::flavor::normalize_activation;

    #[test]
    fn activation_derivatives_match_finite_differences() {
        for name in [
            "relu",
            "relu6",
            "elu",
            "selu",
            "tanh",
            "sigmoid",
            "softplus",
            "softsign",
            "leaky_relu",
            "swish",
            "linear",
        ] {
            let act = Activation::from_name(name).unwrap();
            assert_eq!(act.name(), name);
            for z in [-2.3, -0.4, 0.7, 3.1] {
                let h = 1e-6;
                let numeric = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let analytic = act.derivative(z, act.apply(z));
                assert!((numeric - analytic).abs() < 1e-5, "{name} at {z}");
            }
        }
        assert_eq!(
            normalize_activation(&AttrValue::Str("tf.nn.tanh".into())),
            Some(AttrValue::Str("tanh".into()))
        );
    }

    #[test]
    fn batch_norm_backward_matches_finite_differences() {
        let (rows, h) = (4, 2);
        let input = vec![0.3, -1.0, 2.0, 0.5, -0.7, 1.5, 1.1, -0.2];
        let norm = BatchNorm {
            gamma: vec![1.5, 0.7],
            beta: vec![0.1, -0.3],
            mean: vec![0.0; 2],
            var: vec![1.0; 2],
        };
        // loss = Σ c_i · out_i with fixed weights c
        let c: Vec<f64> = (0..rows * h).map(|i| (i as f64 * 0.37).sin()).collect();
        let loss = |x: &[f64]| {
            let mut v = x.to_vec();
            let (mut xhat, mut inv) = (vec![0.0; rows * h], vec![0.0; h]);
            batch_normalize(&mut v, rows, h, &norm, &mut xhat, &mut inv);
            v.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut v = input.clone();
        let (mut xhat, mut inv) = (vec![0.0; rows * h], vec![0.0; h]);
        batch_normalize(&mut v, rows, h, &norm, &mut xhat, &mut inv);
        let mut g = c.clone();
        let (mut gg, mut gb) = (vec![0.0; h], vec![0.0; h]);
        batch_norm_backward(&mut g, rows, h, &norm, &xhat, &inv, &mut gg, &mut gb);
        for i in 0..rows * h {
            let mut plus = input.clone();
            plus[i] += 1e-6;
            let mut minus = input.clone();
            minus[i] -= 1e-6;
            let numeric = (loss(&plus) - loss(&minus)) / 2e-6;
            assert!((numeric - g[i]).abs() < 1e-5, "{i}: {numeric} vs {}", g[i]);
        }
    }
}
