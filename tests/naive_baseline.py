"""A deliberately naive, "autograd-style" float64 NGD for the one-layer attention classifier.

THIS MODULE IS A TEST BASELINE ONLY. It is the implementation one would get by writing the forward pass in
numpy and back-propagating by hand exactly as an autograd framework would:

- softmax as ``exp(a - max) / sum``,
- the gradient through the softmax Jacobian, ``ds -> da = s * (v - s.v)``,
- the loss gap as the plain difference ``L - L*``.

It is used by ``tests/test_numerics.py`` to show the *false divergence* that the library's stable, log-scaled
kernel avoids: once the softmax saturates, ``v - s.v`` cancels catastrophically, the non-optimal weights
underflow, and the computed direction turns into rounding noise (or exactly zero / NaN). Never use it to
produce results.
"""

from __future__ import annotations

import numpy as np


def naive_forward_backward(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, u: np.ndarray, z: np.ndarray
) -> tuple[float, np.ndarray]:
    """L(W) and grad_W L by plain back-propagation (float64, shapes X (n,T,d), z (n,d), W (d,d))."""
    n = X.shape[0]
    a = np.einsum("ntd,de,ne->nt", X, W, z)  # logits
    e = np.exp(a - a.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)  # softmax
    v = X @ u  # (n, T): df/ds
    f = np.sum(s * v, axis=1)
    m = y * f
    loss = float(np.mean(np.log1p(np.exp(-m))))
    dL_df = -y / (1.0 + np.exp(m)) / n  # l'(m) * y / n
    ds = dL_df[:, None] * v  # dL/ds
    da = s * (ds - np.sum(s * ds, axis=1, keepdims=True))  # softmax Jacobian-vector product
    grad = np.einsum("nt,ntd,ne->de", da, X, z)
    return loss, grad


def naive_optimal_loss(X: np.ndarray, y: np.ndarray, u: np.ndarray) -> float:
    g = y[:, None] * (X @ u)
    return float(np.mean(np.log1p(np.exp(-g.max(axis=1)))))


def naive_ngd(
    X: np.ndarray, y: np.ndarray, u: np.ndarray, z: np.ndarray, W0: np.ndarray, eta: float, steps: int,
    checkpoints: list[int],
) -> dict[str, list]:
    """NGD ``W <- W - eta grad / ||grad||``; records W, the plain loss gap and ||grad|| at each checkpoint.

    No guard of any kind: a zero gradient yields NaN (0/0), exactly as the naive loop would.
    """
    cps = set(checkpoints)
    W = W0.astype(np.float64).copy()
    Lstar = naive_optimal_loss(X, y, u)
    out: dict[str, list] = {"t": [], "W": [], "loss_gap": [], "grad_norm": []}
    with np.errstate(all="ignore"):
        for t in range(steps + 1):
            loss, grad = naive_forward_backward(W, X, y, u, z)
            gn = float(np.linalg.norm(grad))
            if t in cps:
                out["t"].append(t)
                out["W"].append(W.copy())
                out["loss_gap"].append(loss - Lstar)
                out["grad_norm"].append(gn)
            if t == steps:
                break
            W = W - eta * grad / gn
    return out
