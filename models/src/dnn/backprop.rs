//! One mini-batch through the network: gathering its rows, the forward pass with
//! dropout and batch statistics, the loss's gradient, and backpropagation into every
//! parameter and embedding table.

use super::{
    layers::{
        Layer, add_dense_grads, affine, batch_norm_backward, batch_normalize, softmax_in_place,
    },
    mlp::Mlp,
};
use crate::{data::Matrix, embedding::Active, rng::Rng};

/// Per-layer buffers for one mini-batch, reused across batches.
pub(super) struct Buffers {
    /// `inputs[l]`: the input of layer `l` (`inputs[0]` the deep columns of the batch).
    pub(super) inputs: Vec<Vec<f64>>,
    /// Pre-activations of the hidden layers; the output layer's logits last.
    pub(super) z: Vec<Vec<f64>>,
    /// Hidden layers: activations, before dropout.
    pub(super) a: Vec<Vec<f64>>,
    /// Hidden layers: dropout multipliers (0 or 1/keep).
    pub(super) mask: Vec<Vec<f64>>,
    /// Hidden layers with batch norm: the normalized values and 1/std per unit.
    pub(super) xhat: Vec<Vec<f64>>,
    pub(super) inv_std: Vec<Vec<f64>>,
    /// The batch's wide columns.
    pub(super) wide_in: Vec<f64>,
    /// dLoss/d(layer output), per layer.
    pub(super) delta: Vec<Vec<f64>>,
    /// Gradients shaped like the parameters: w, b per layer, then gamma, beta per norm.
    pub(super) grads: Vec<Vec<f64>>,
    pub(super) wide_grad: Vec<f64>,
    /// Per batch row, the embedding table rows it used.
    pub(super) emb_active: Vec<Active>,
}

impl Mlp {
    pub(super) fn buffers(&self, rows: usize) -> Buffers {
        let hidden = self.layers.len().saturating_sub(1);
        let widths = |f: &dyn Fn(&Layer) -> usize| -> Vec<Vec<f64>> {
            self.layers.iter().map(|l| vec![0.0; f(l) * rows]).collect()
        };
        let n_out = self.layers.last().map_or(0, |l| l.n_out);
        Buffers {
            inputs: widths(&|l| l.n_in),
            z: widths(&|l| l.n_out),
            a: widths(&|l| l.n_out)[..hidden].to_vec(),
            mask: widths(&|l| l.n_out)[..hidden].to_vec(),
            xhat: widths(&|l| l.n_out)[..self.norms.len()].to_vec(),
            inv_std: self
                .norms
                .iter()
                .map(|n| vec![0.0; n.gamma.len()])
                .collect(),
            wide_in: vec![0.0; self.wide.as_ref().map_or(0, |w| w.inputs.len()) * rows],
            delta: widths(&|l| l.n_out),
            grads: self.deep_params().map(|p| vec![0.0; p.len()]).collect(),
            wide_grad: vec![0.0; self.wide.as_ref().map_or(0, |w| w.inputs.len()) * n_out],
            emb_active: vec![Active::new(); rows],
        }
    }

    /// Copies the batch's rows into the input buffers.
    pub(super) fn gather(&self, buf: &mut Buffers, x: &Matrix, rows: &[usize]) {
        let n_in = self.layers.first().map_or(0, |l| l.n_in);
        for (i, &r) in rows.iter().enumerate() {
            let row = x.row(r);
            let dst = &mut buf.inputs[0][i * n_in..(i + 1) * n_in];
            match &self.deep_inputs {
                None => dst.copy_from_slice(row),
                Some(cols) => dst.iter_mut().zip(cols).for_each(|(d, &c)| *d = row[c]),
            }
            if let (Some(e), Some(cols)) = (&self.embeddings, &self.deep_inputs) {
                let active = buf.emb_active.get_mut(i);
                e.forward(row, &self.scaler, &mut dst[cols.len()..], active);
            }
            if let Some(w) = &self.wide {
                let k = w.inputs.len();
                buf.wide_in[i * k..(i + 1) * k]
                    .iter_mut()
                    .zip(&w.inputs)
                    .for_each(|(d, &c)| *d = row[c]);
            }
        }
    }

    pub(super) fn forward_train(&self, buf: &mut Buffers, rows: usize, rng: &mut Rng) {
        let last = self.layers.len() - 1;
        let keep = 1.0 - self.dropout;
        for (l, layer) in self.layers.iter().enumerate() {
            let h = layer.n_out;
            let z = &mut buf.z[l][..rows * h];
            z.iter_mut().for_each(|v| *v = 0.0);
            affine(&buf.inputs[l][..rows * layer.n_in], rows, layer, z);
            if l == last {
                break;
            }
            let (a, mask) = (&mut buf.a[l], &mut buf.mask[l]);
            for j in 0..rows * h {
                a[j] = self.activation.apply(z[j]);
                mask[j] = if self.dropout > 0.0 {
                    if rng.next_f64() < keep {
                        1.0 / keep
                    } else {
                        0.0
                    }
                } else {
                    1.0
                };
            }
            let next = &mut buf.inputs[l + 1][..rows * h];
            next.iter_mut()
                .zip(a.iter().zip(mask.iter()))
                .for_each(|(o, (a, m))| *o = a * m);
            if let Some(norm) = self.norms.get(l) {
                batch_normalize(next, rows, h, norm, &mut buf.xhat[l], &mut buf.inv_std[l]);
            }
        }
        if let Some(w) = &self.wide {
            let n_out = self.layers[last].n_out;
            let k = w.inputs.len();
            let out = &mut buf.z[last];
            for r in 0..rows {
                for (i, &xi) in buf.wide_in[r * k..(r + 1) * k].iter().enumerate() {
                    if xi != 0.0 {
                        out[r * n_out..(r + 1) * n_out]
                            .iter_mut()
                            .zip(&w.w[i * n_out..(i + 1) * n_out])
                            .for_each(|(o, wi)| *o += xi * wi);
                    }
                }
            }
        }
    }

    /// Writes dLoss/dOutput (averaged over the batch) into the last delta buffer and
    /// returns the batch's summed loss.
    pub(super) fn output_delta(
        &self,
        buf: &mut Buffers,
        rows: &[usize],
        targets: &[f64],
        k: usize,
        softmax: bool,
    ) -> f64 {
        let (out, delta) = match (buf.z.last_mut(), buf.delta.last_mut()) {
            (Some(o), Some(d)) => (o, d),
            _ => return 0.0,
        };
        let scale = 1.0 / rows.len() as f64;
        let mut loss = 0.0;
        for (i, &r) in rows.iter().enumerate() {
            let o = &mut out[i * k..(i + 1) * k];
            let t = &targets[r * k..(r + 1) * k];
            let d = &mut delta[i * k..(i + 1) * k];
            if softmax {
                softmax_in_place(o);
                for j in 0..k {
                    if t[j] > 0.0 {
                        loss -= o[j].max(1e-300).ln();
                    }
                    d[j] = (o[j] - t[j]) * scale;
                }
            } else {
                for j in 0..k {
                    let e = o[j] - t[j];
                    loss += 0.5 * e * e;
                    d[j] = e * scale;
                }
            }
        }
        loss
    }

    pub(super) fn backward(&self, buf: &mut Buffers, rows: usize, l2: f64) {
        let n_layers = self.layers.len();
        if let Some(w) = &self.wide {
            let n_out = self.layers[n_layers - 1].n_out;
            let k = w.inputs.len();
            let d = &buf.delta[n_layers - 1];
            let g = &mut buf.wide_grad;
            g.iter_mut().zip(&w.w).for_each(|(g, w)| *g = l2 * w);
            for r in 0..rows {
                let dr = &d[r * n_out..(r + 1) * n_out];
                for (i, &xi) in buf.wide_in[r * k..(r + 1) * k].iter().enumerate() {
                    if xi != 0.0 {
                        g[i * n_out..(i + 1) * n_out]
                            .iter_mut()
                            .zip(dr)
                            .for_each(|(g, v)| *g += xi * v);
                    }
                }
            }
        }
        let norm_base = 2 * n_layers;
        for l in (0..n_layers).rev() {
            let layer = &self.layers[l];
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            {
                let (gw_part, gb_part) = buf.grads.split_at_mut(2 * l + 1);
                let (gw, gb) = (&mut gw_part[2 * l], &mut gb_part[0]);
                gw.iter_mut().zip(&layer.w).for_each(|(g, w)| *g = l2 * w);
                gb.iter_mut().for_each(|g| *g = 0.0);
                add_dense_grads(&buf.inputs[l], &buf.delta[l], rows, (n_in, n_out), gw, gb);
            }
            if l == 0 {
                self.embedding_backward(buf, rows);
                break;
            }
            // dLoss/d(input of layer l) = delta · Wᵀ, then back through batch norm,
            // dropout and the activation of hidden layer l - 1.
            let h = n_in;
            let (lower, upper) = buf.delta.split_at_mut(l);
            let (prev, d) = (&mut lower[l - 1], &upper[0]);
            for r in 0..rows {
                let dr = &d[r * n_out..(r + 1) * n_out];
                for i in 0..h {
                    prev[r * h + i] = crate::optim::dot(&layer.w[i * n_out..(i + 1) * n_out], dr);
                }
            }
            let hl = l - 1;
            if let Some(norm) = self.norms.get(hl) {
                let (gg, gb) = {
                    let (left, right) = buf.grads.split_at_mut(norm_base + 2 * hl + 1);
                    (&mut left[norm_base + 2 * hl], &mut right[0])
                };
                batch_norm_backward(
                    &mut prev[..rows * h],
                    rows,
                    h,
                    norm,
                    &buf.xhat[hl],
                    &buf.inv_std[hl],
                    gg,
                    gb,
                );
            }
            let (z, a, mask) = (&buf.z[hl], &buf.a[hl], &buf.mask[hl]);
            for j in 0..rows * h {
                prev[j] *= mask[j] * self.activation.derivative(z[j], a[j]);
            }
        }
    }

    /// The embedding tables' gradients: the loss's gradient at the first layer's
    /// embedding inputs (delta · Wᵀ for those rows of W), spread over the table rows each
    /// batch row used.
    fn embedding_backward(&self, buf: &mut Buffers, rows: usize) {
        let (Some(e), Some(cols), Some(layer)) =
            (&self.embeddings, &self.deep_inputs, self.layers.first())
        else {
            return;
        };
        let (n_dense, n_out, width) = (cols.len(), layer.n_out, e.width());
        let base = 2 * self.layers.len() + 2 * self.norms.len();
        let Some(grads) = buf.grads.get_mut(base..) else {
            return;
        };
        grads
            .iter_mut()
            .for_each(|g| g.iter_mut().for_each(|v| *v = 0.0));
        let mut d_emb = vec![0.0; width];
        for r in 0..rows {
            let dr = &buf.delta[0][r * n_out..(r + 1) * n_out];
            for (j, d) in d_emb.iter_mut().enumerate() {
                let i = n_dense + j;
                *d = crate::optim::dot(&layer.w[i * n_out..(i + 1) * n_out], dr);
            }
            if let Some(active) = buf.emb_active.get(r) {
                e.backward(active, &d_emb, grads);
            }
        }
    }
}
