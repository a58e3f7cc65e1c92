#!/usr/bin/env python3
"""References for sqlflow_models.DeepEmbeddingClusterModel's comparison (models/README.md).

On the synthetic active power days (models/tests/activepower/mod.rs: 730 days x 48
half-hour readings, min-max scaled, three generating shapes), which the Rust test writes as
JSON together with the Rust model's clusters and training time:

    pip install scikit-learn torch
    DEC_DUMP=/tmp/dec_rust.json cargo test -p sqlflow-models --test dec \
        tutorial_attributes_recover_the_daily_shapes -- --nocapture
    python3 models/bench/dec_baseline.py /tmp/dec_rust.json

it prints, against the generating shape, the adjusted Rand index, purity and training time
of: the Rust model (the tutorial's attributes, seeds 0..4); scikit-learn's KMeans on the raw rows
(n_init 20, as the zoo's k-means start); and a small PyTorch DEC written as the zoo's
Keras model trains (autoencoder 48-100-100-10 with ReLU on every encoder layer, mirrored
decoder, MSE, SGD lr 1 momentum 0.9, batch 32, 10 epochs; k-means with 20 starts on the
embedding; then KL(P||Q) with Student's t q, p updated every 100 iterations, batches of 256
rows in table order, SGD lr 0.01 momentum 0.9, at most 800 iterations, stop below 1e-4
changed), for seeds 0..4. One CPU thread for every model (the Rust model uses one).
"""

import json
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score


def purity(pred, truth):
    total = 0
    for c in np.unique(pred):
        total += np.bincount(truth[pred == c]).max()
    return total / len(truth)


def report(name, results):
    ari = np.array([r[0] for r in results])
    pur = np.array([r[1] for r in results])
    secs = np.array([r[2] for r in results])
    print(
        f"{name:<38} ARI {ari.mean():.3f} (min {ari.min():.3f}, max {ari.max():.3f})  "
        f"purity {pur.mean():.3f}  time {np.median(secs):.2f} s (median of {len(results)})"
    )


def sklearn_kmeans(x, truth, seed):
    t = time.perf_counter()
    pred = KMeans(n_clusters=3, n_init=20, random_state=seed).fit_predict(x)
    secs = time.perf_counter() - t
    return adjusted_rand_score(truth, pred), purity(pred, truth), secs


def torch_dec(x, truth, seed):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x_t = torch.tensor(x, dtype=torch.float32)
    n, d = x_t.shape
    dims = [100, 100, 10]

    def dense(sizes, last_linear):
        layers = []
        for i in range(len(sizes) - 1):
            lin = nn.Linear(sizes[i], sizes[i + 1])
            nn.init.xavier_uniform_(lin.weight)  # Keras' glorot_uniform
            nn.init.zeros_(lin.bias)
            layers.append(lin)
            if not (last_linear and i == len(sizes) - 2):
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    start = time.perf_counter()
    encoder = dense([d] + dims, last_linear=False)
    decoder = dense(dims[::-1] + [d], last_linear=True)
    ae = nn.Sequential(encoder, decoder)
    opt = torch.optim.SGD(ae.parameters(), lr=1.0, momentum=0.9)
    for _ in range(10):
        perm = torch.randperm(n)
        for i in range(0, n, 32):
            batch = x_t[perm[i : i + 32]]
            opt.zero_grad()
            loss = ((ae(batch) - batch) ** 2).mean()
            loss.backward()
            opt.step()
    with torch.no_grad():
        z = encoder(x_t).numpy()
    km = KMeans(n_clusters=3, n_init=20, random_state=seed).fit(z)
    last = km.labels_
    mu = nn.Parameter(torch.tensor(km.cluster_centers_, dtype=torch.float32))
    opt = torch.optim.SGD(list(encoder.parameters()) + [mu], lr=0.01, momentum=0.9)

    def soft(zb):
        q = 1.0 / (1.0 + ((zb.unsqueeze(1) - mu) ** 2).sum(2))
        return q / q.sum(1, keepdim=True)

    batch, index, p = 256, 0, None
    for ite in range(800):
        if ite % 100 == 0:
            with torch.no_grad():
                q = soft(encoder(x_t))
                w = q**2 / q.sum(0)
                p = w / w.sum(1, keepdim=True)
            pred = q.argmax(1).numpy()
            changed = (pred != last).mean()
            last = pred
            if ite > 0 and changed < 1e-4:
                break
        if index * batch >= n:
            index = 0
        lo, hi = index * batch, min((index + 1) * batch, n)
        index = index + 1 if (index + 1) * batch <= n else 0
        opt.zero_grad()
        q = soft(encoder(x_t[lo:hi]))
        # Keras' kld: sum over clusters of p log(p / q), mean over the batch.
        loss = (p[lo:hi] * (p[lo:hi].clamp_min(1e-7) / q.clamp_min(1e-7)).log()).sum(1).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = soft(encoder(x_t)).argmax(1).numpy()
    secs = time.perf_counter() - start
    return adjusted_rand_score(truth, pred), purity(pred, truth), secs


def main():
    dump = json.loads(open(sys.argv[1]).read())
    x = np.array(dump["rows"], dtype=np.float64)
    truth = np.array(dump["shape"])
    print(f"{len(x)} days x {x.shape[1]} readings, shapes {np.bincount(truth).tolist()}")
    ours = [
        (adjusted_rand_score(truth, c), purity(np.array(c), truth), t)
        for c, t in zip(dump["rust_clusters"], dump["rust_seconds"])
    ]
    report("sqlflow-models DEC, seed 0", ours[:1])
    report("sqlflow-models DEC", ours)
    seeds = range(5)
    report("scikit-learn KMeans, raw rows", [sklearn_kmeans(x, truth, s) for s in seeds])
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch DEC: torch is not installed (pip install torch)")
        return
    report("PyTorch DEC (the zoo's recipe)", [torch_dec(x, truth, s) for s in seeds])


if __name__ == "__main__":
    main()
