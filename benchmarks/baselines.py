"""Baselines the benchmarks measure against (benchmarks/run.py). Never used to produce results.

- :func:`autograd_ngd_loop`: the research code's pattern: a Python loop over instances, torch autograd,
  float64, naive softmax ``exp(a) / sum exp(a)``, NGD ``W <- W - eta g / ||g||``.
- :func:`dense_mpmath_ngd_steps`: a plain dense high-precision implementation with ``mpmath.matrix``: W as a
  d x d mpmath matrix, the textbook softmax and gradient at ``dps`` digits.
- :func:`naive_numpy_horizon`: tests/naive_baseline.py's naive float64 NGD, run until it breaks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorems.attention import classifier as ac


def _torch() -> Any:
    import torch

    return torch


def _autograd_step(torch: Any, W: Any, X: Any, y: Any, u: Any, z: Any, eta: float) -> Any:
    W = W.detach().requires_grad_(True)
    a = torch.einsum("ntd,de,ne->nt", X, W, z)
    e = torch.exp(a)
    s = e / e.sum(dim=1, keepdim=True)  # naive softmax, as in the papers' code
    f = (s * (X @ u)).sum(dim=1)
    loss = torch.log(1 + torch.exp(-y * f)).mean()  # naive logistic loss
    (g,) = torch.autograd.grad(loss, W)
    with torch.no_grad():
        return W - eta * g / g.norm()


def autograd_ngd_loop(batch: ac.Batch, steps: int, eta: float) -> None:
    """``steps`` NGD steps on every instance of the batch, one instance after the other (float64, CPU)."""
    torch = _torch()
    B = batch.X.shape[0]
    for b in range(B):
        X, y, u, z = (torch.as_tensor(v[b], dtype=torch.float64) for v in (batch.X, batch.y, batch.u, batch.Z))
        W = torch.as_tensor(batch.W0[b], dtype=torch.float64)
        for _ in range(steps):
            W = _autograd_step(torch, W, X, y, u, z, eta)


def autograd_ngd_trace(inst: ac.AttentionInstance, steps: int, eta: float, checkpoints: list[int]) -> np.ndarray:
    """W at each checkpoint of the autograd NGD loop on one instance (NaN once it has broken down)."""
    torch = _torch()
    X, y, u, z = (torch.as_tensor(v, dtype=torch.float64) for v in (inst.X, inst.y, inst.u, inst.z))
    W = torch.as_tensor(inst.W0, dtype=torch.float64)
    cps, out = set(checkpoints), []
    for t in range(steps + 1):
        if t in cps:
            out.append(W.detach().numpy().copy())
        if t == steps:
            break
        W = _autograd_step(torch, W, X, y, u, z, eta)
    return np.stack(out)


def dense_mpmath_ngd_steps(inst: ac.AttentionInstance, steps: int, eta: float, dps: int) -> Any:
    """``steps`` NGD steps with mpmath matrices at ``dps`` digits (textbook formulas, no Gram form)."""
    import mpmath

    with mpmath.workdps(dps):
        n, T, d = inst.X.shape
        X = [mpmath.matrix(inst.X[i].tolist()) for i in range(n)]  # T x d
        z = [mpmath.matrix(inst.z[i].tolist()) for i in range(n)]  # d x 1
        u = mpmath.matrix(inst.u.tolist())
        y = [mpmath.mpf(float(v)) for v in inst.y]
        W = mpmath.matrix(inst.W0.tolist())
        v = [X[i] * u for i in range(n)]  # T x 1 token values u^T x
        for _ in range(steps):
            G = mpmath.zeros(d, d)
            for i in range(n):
                a = X[i] * (W * z[i])  # T x 1 logits
                m = max(a[t] for t in range(T))
                e = [mpmath.exp(a[t] - m) for t in range(T)]
                S = mpmath.fsum(e)
                s = [w / S for w in e]
                f = mpmath.fsum(s[t] * v[i][t] for t in range(T))
                lp = -1 / (1 + mpmath.exp(y[i] * f))  # l'(y f)
                for t in range(T):
                    coef = lp * y[i] * s[t] * (v[i][t] - f) / n
                    G += coef * (X[i][t, :].T * z[i].T)  # rank-one x_t z^T
            W = W - eta * G / mpmath.mnorm(G, "f")
        return W


def horizon_of(t: list[int], err: np.ndarray, ok: np.ndarray) -> dict:
    """The last checkpoint up to which the direction error is finite, non-increasing and (for our paths)
    precision was kept. "Non-increasing" allows a relative rise of 1e-9 between checkpoints: float64 rounding of
    e(t) itself is ~1e-16/e(t) relative, far below that, and a real rise (drift) is much larger. Checked from
    t >= 100 on (the first steps may legitimately raise e while W leaves W0 = 0's neighbourhood)."""
    last, stop = 0, "reached the end"
    prev = math.inf
    for k, tk in enumerate(t):
        e = float(err[k])
        if not math.isfinite(e):
            stop = f"direction error not finite at t={tk}"
            break
        if not bool(ok[k]):
            stop = f"precision lost at t={tk}"
            break
        if tk >= 100 and e > prev * (1 + 1e-9):
            stop = f"direction error rose at t={tk} ({prev:.3g} -> {e:.3g})"
            break
        if tk >= 100:
            prev = e
        last = tk
    return {"horizon": int(last), "stop": stop}


def naive_numpy_horizon(inst: ac.AttentionInstance, W_mm: np.ndarray, steps: int) -> dict:
    from naive_baseline import naive_ngd  # tests/naive_baseline.py

    from verify.trajectory import log_checkpoints

    cps = log_checkpoints(steps, per_decade=5)
    out = naive_ngd(inst.X, inst.y, inst.u, inst.z, inst.W0, 0.1, steps, cps)
    with np.errstate(all="ignore"):
        err, _ = ac.direction_error(np.stack(out["W"]), W_mm)
    res = horizon_of(out["t"], err, np.ones(len(cps), dtype=bool))
    res["attempted"] = steps
    return res
