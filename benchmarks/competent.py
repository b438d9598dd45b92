"""Baselines a competent researcher would write (issue #12), for benchmarks/run.py's sections (f) and (g).

Every baseline runs the same NGD iteration as the project (fixed decoder, W <- W - eta grad / ||grad||_F,
batched over B instances of one shape) and is checked against the project before it is timed
(:func:`agreement`). None of them watches its own rounding error; that is the project's extra work.

float64:
- :func:`torch_autograd_ngd`: batched torch float64 autograd (one graph over the whole batch, torch.softmax and
  softplus, so the softmax and the loss are computed stably);
- :func:`numpy_dense_ngd`: numpy, dense W, factored contractions (matmul chains, never a 3-operand einsum),
  log-sum-exp softmax, the closed-form gradient;
- :func:`numpy_gram_ngd`: a plain numpy implementation of the Gram algorithm (W = W0 + sum c x z^T, logits
  a0 + K c, ||grad||^2 = G^T K G), with the same softmax and gradient in coefficient space;
- :func:`jax_gram_ngd` / :func:`jax_dense_ngd`: the same two algorithms under ``jax.jit`` + ``lax.scan`` with
  x64 (only where JAX is installed: ``pip install -e '.[bench]'``).

High precision (one instance):
- :func:`fdot_gram_ngd`: the Gram algorithm with plain mpmath scalars and ``mpmath.fdot`` for each row;
- :func:`arb_gram_ngd`: the Gram algorithm with python-flint ``arb_mat`` (Arb balls), the reference token by
  the balls' midpoints.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from theorems.attention import classifier as ac


# ------------------------------------------------------------------------------------------ shared pieces
def values(batch: ac.Batch) -> np.ndarray:
    """v_{i,t} = u^T x_{i,t}, shape (B, n, T)."""
    return np.matmul(batch.X, batch.u[:, None, :, None])[..., 0]


def gram_matrix(batch: ac.Batch) -> tuple[np.ndarray, np.ndarray]:
    """K (B, nT, nT) with K[(j,s),(i,t)] = <x_js, x_it><z_j, z_i>, and a0 = logits of W0 (B, n, T)."""
    B, n, T, d = batch.X.shape
    Xf = batch.X.reshape(B, n * T, d)
    XX = np.matmul(Xf, Xf.transpose(0, 2, 1))
    ZZ = np.matmul(batch.Z, batch.Z.transpose(0, 2, 1))
    K = XX * np.repeat(np.repeat(ZZ, T, axis=1), T, axis=2)
    a0 = np.matmul(batch.X, np.matmul(batch.Z, batch.W0.transpose(0, 2, 1))[..., None])[..., 0]
    return K, a0


def _coefficients(a: np.ndarray, v: np.ndarray, y: np.ndarray) -> np.ndarray:
    """grad L = sum_{i,t} G_{i,t} x_{i,t} z_i^T: log-sum-exp softmax, stable logistic derivative."""
    n = a.shape[1]
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    s = e / e.sum(axis=-1, keepdims=True)
    f = np.sum(s * v, axis=-1)
    lp = -np.exp(-np.logaddexp(0.0, y * f))  # l'(y f) = -sigmoid(-y f), never overflows
    return (lp * y / n)[..., None] * s * (v - f[..., None])


def matrix_from_coefficients(batch: ac.Batch, c: np.ndarray) -> np.ndarray:
    """W0 + sum c_{i,t} x_{i,t} z_i^T with factored contractions: (sum_t c x)^T Z."""
    A = np.matmul(c[:, :, None, :], batch.X)[:, :, 0, :]  # (B, n, d)
    return batch.W0 + np.matmul(A.transpose(0, 2, 1), batch.Z)


# ------------------------------------------------------------------------------------------------ numpy
def numpy_dense_ngd(batch: ac.Batch, steps: int, eta: float) -> np.ndarray:
    """``steps`` NGD steps on the dense W (B, d, d); returns W."""
    v, y, X, Z = values(batch), batch.y, batch.X, batch.Z
    W = batch.W0.copy()
    for _ in range(steps):
        Wz = np.matmul(Z, W.transpose(0, 2, 1))  # rows W z_i
        a = np.matmul(X, Wz[..., None])[..., 0]
        G = _coefficients(a, v, y)
        A = np.matmul(G[:, :, None, :], X)[:, :, 0, :]
        grad = np.matmul(A.transpose(0, 2, 1), Z)
        nrm = np.sqrt(np.sum(grad * grad, axis=(1, 2)))
        W = W - (eta / nrm)[:, None, None] * grad
    return W


def numpy_gram_ngd(batch: ac.Batch, steps: int, eta: float, K: np.ndarray | None = None,
                   a0: np.ndarray | None = None) -> np.ndarray:
    """``steps`` NGD steps of the Gram algorithm; returns the coefficients c (B, n, T)."""
    B, n, T, _ = batch.X.shape
    m = n * T
    if K is None or a0 is None:
        K, a0 = gram_matrix(batch)
    v, y = values(batch), batch.y
    c = np.zeros((B, n, T))
    for _ in range(steps):
        a = a0 + np.matmul(K, c.reshape(B, m, 1)).reshape(B, n, T)
        G = _coefficients(a, v, y).reshape(B, m, 1)
        nrm = np.sqrt(np.matmul(G.transpose(0, 2, 1), np.matmul(K, G))[:, 0, 0])
        c = c - (eta / nrm)[:, None, None] * G.reshape(B, n, T)
    return c


# ------------------------------------------------------------------------------------------------ torch
def torch_autograd_ngd(batch: ac.Batch, steps: int, eta: float) -> np.ndarray:
    """Batched torch float64 autograd over the whole batch (CPU); returns W."""
    import torch

    X, Z, y = (torch.as_tensor(a, dtype=torch.float64) for a in (batch.X, batch.Z, batch.y))
    v = torch.as_tensor(values(batch), dtype=torch.float64)
    W = torch.as_tensor(batch.W0, dtype=torch.float64).clone()
    for _ in range(steps):
        W.requires_grad_(True)
        a = torch.einsum("bntd,bnd->bnt", X, torch.einsum("bde,bne->bnd", W, Z))
        s = torch.softmax(a, dim=-1)
        f = (s * v).sum(dim=-1)
        loss = torch.nn.functional.softplus(-y * f).mean(dim=-1).sum()
        (g,) = torch.autograd.grad(loss, W)
        with torch.no_grad():
            W = W - eta * g / torch.linalg.vector_norm(g, dim=(1, 2), keepdim=True)
    return W.detach().numpy()


# -------------------------------------------------------------------------------------------------- JAX
def jax_available() -> str | None:
    """None when JAX can be used, else the reason."""
    try:
        import jax  # noqa: F401
    except ImportError:
        return "JAX not installed (pip install -e '.[bench]')"
    return None


def _jax() -> Any:
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def _jax_coefficients(jnp: Any, jax: Any, a: Any, v: Any, y: Any) -> Any:
    n = a.shape[1]
    s = jax.nn.softmax(a, axis=-1)
    f = jnp.sum(s * v, axis=-1)
    lp = -jnp.exp(-jnp.logaddexp(0.0, y * f))
    return (lp * y / n)[..., None] * s * (v - f[..., None])


def jax_gram_ngd(batch: ac.Batch, eta: float) -> Callable[[int], np.ndarray]:
    """A compiled Gram NGD: returns ``f(steps) -> c`` (compiled once per ``steps`` on first call)."""
    jax = _jax()
    jnp = jax.numpy
    B, n, T, _ = batch.X.shape
    m = n * T
    K0, a00 = gram_matrix(batch)
    K, a0, v, y = (jnp.asarray(x) for x in (K0, a00, values(batch), batch.y))

    def step(c: Any, _: Any) -> tuple[Any, None]:
        a = a0 + jnp.matmul(K, c.reshape(B, m, 1)).reshape(B, n, T)
        G = _jax_coefficients(jnp, jax, a, v, y).reshape(B, m, 1)
        nrm = jnp.sqrt(jnp.matmul(jnp.swapaxes(G, 1, 2), jnp.matmul(K, G))[:, 0, 0])
        return c - (eta / nrm)[:, None, None] * G.reshape(B, n, T), None

    compiled: dict[int, Any] = {}

    def run(steps: int) -> np.ndarray:
        if steps not in compiled:
            compiled[steps] = jax.jit(lambda c0: jax.lax.scan(step, c0, None, length=steps)[0])
        return np.asarray(compiled[steps](jnp.zeros((B, n, T))).block_until_ready())

    return run


def jax_dense_ngd(batch: ac.Batch, eta: float) -> Callable[[int], np.ndarray]:
    """A compiled dense NGD: returns ``f(steps) -> W``."""
    jax = _jax()
    jnp = jax.numpy
    X, Z, v, y, W0 = (jnp.asarray(x) for x in (batch.X, batch.Z, values(batch), batch.y, batch.W0))

    def step(W: Any, _: Any) -> tuple[Any, None]:
        Wz = jnp.matmul(Z, jnp.swapaxes(W, 1, 2))
        a = jnp.matmul(X, Wz[..., None])[..., 0]
        G = _jax_coefficients(jnp, jax, a, v, y)
        A = jnp.matmul(G[:, :, None, :], X)[:, :, 0, :]
        grad = jnp.matmul(jnp.swapaxes(A, 1, 2), Z)
        nrm = jnp.sqrt(jnp.sum(grad * grad, axis=(1, 2)))
        return W - (eta / nrm)[:, None, None] * grad, None

    compiled: dict[int, Any] = {}

    def run(steps: int) -> np.ndarray:
        if steps not in compiled:
            compiled[steps] = jax.jit(lambda w: jax.lax.scan(step, w, None, length=steps)[0])
        return np.asarray(compiled[steps](W0).block_until_ready())

    return run


# -------------------------------------------------------------------------------------- high precision
def fdot_gram_ngd(inst: ac.AttentionInstance, steps: int, eta: float, dps: int) -> list:
    """NGD in the Gram form with mpmath scalars and ``mpmath.fdot`` per row (W0 = 0 assumed by the caller's
    comparison; a0 is included anyway). Returns c as a flat list of mpf (length nT)."""
    import mpmath

    n, T, d = inst.X.shape
    with mpmath.workdps(dps):
        mpf = mpmath.mpf
        X = [[[mpf(float(v)) for v in x] for x in seq] for seq in inst.X]
        z = [[mpf(float(v)) for v in zz] for zz in inst.z]
        u = [mpf(float(v)) for v in inst.u]
        y = [mpf(float(v)) for v in inst.y]
        W0 = [[mpf(float(v)) for v in row] for row in inst.W0]
        flat = [(i, t) for i in range(n) for t in range(T)]
        zz = [[mpmath.fdot(z[i], z[j]) for j in range(n)] for i in range(n)]
        K = [[mpmath.fdot(X[i][t], X[j][s]) * zz[i][j] for (j, s) in flat] for (i, t) in flat]
        W0z = [[mpmath.fdot(W0[a], z[i]) for a in range(d)] for i in range(n)]
        a0 = [mpmath.fdot(X[i][t], W0z[i]) for (i, t) in flat]
        v = [[mpmath.fdot(u, X[i][t]) for t in range(T)] for i in range(n)]
        c = [mpf(0)] * (n * T)
        for _ in range(steps):
            a = [a0[k] + mpmath.fdot(K[k], c) for k in range(n * T)]
            G = []
            for i in range(n):
                ai = a[i * T:(i + 1) * T]
                top = max(ai)
                e = [mpmath.exp(x - top) for x in ai]
                S = mpmath.fsum(e)
                s = [w / S for w in e]
                f = mpmath.fdot(s, v[i])
                lp = -1 / (1 + mpmath.exp(y[i] * f))
                G.extend(lp * y[i] * s[t] * (v[i][t] - f) / n for t in range(T))
            KG = [mpmath.fdot(K[k], G) for k in range(n * T)]
            step = eta / mpmath.sqrt(mpmath.fdot(G, KG))
            c = [ck - step * gk for ck, gk in zip(c, G, strict=True)]
        return c


def arb_gram_ngd(inst: ac.AttentionInstance, steps: int, eta: float, dps: int) -> list:
    """NGD in the Gram form with python-flint ``arb_mat`` (Arb balls at ``dps`` digits); returns c as a flat list
    of arb (length nT)."""
    import flint

    old = flint.ctx.dps
    flint.ctx.dps = dps
    try:
        n, T, d = inst.X.shape
        arb = flint.arb
        Xf = inst.X.reshape(n * T, d)
        Xa = flint.arb_mat([[arb(float(v)) for v in row] for row in Xf])
        Za = flint.arb_mat([[arb(float(v)) for v in row] for row in inst.z])
        XX, ZZ = Xa * Xa.transpose(), Za * Za.transpose()
        m = n * T
        K = flint.arb_mat([[XX[p, q] * ZZ[p // T, q // T] for q in range(m)] for p in range(m)])
        W0 = flint.arb_mat([[arb(float(v)) for v in row] for row in inst.W0])
        W0z = W0 * Za.transpose()  # (d, n)
        XW = Xa * W0z  # (nT, n)
        a0 = flint.arb_mat([[XW[p, p // T]] for p in range(m)])
        ua = flint.arb_mat([[arb(float(v))] for v in inst.u])
        vv = Xa * ua
        y = [arb(float(v)) for v in inst.y]
        c = flint.arb_mat(m, 1)
        for _ in range(steps):
            a = a0 + K * c
            G = flint.arb_mat(m, 1)
            for i in range(n):
                ai = [a[i * T + t, 0] for t in range(T)]
                top = max(ai, key=lambda x: x.mid())
                e = [(x - top).exp() for x in ai]
                S = sum(e[1:], e[0])
                s = [w / S for w in e]
                f = sum((s[t] * vv[i * T + t, 0] for t in range(1, T)), s[0] * vv[i * T, 0])
                lp = -1 / (1 + (y[i] * f).exp())
                for t in range(T):
                    G[i * T + t, 0] = lp * y[i] * s[t] * (vv[i * T + t, 0] - f) / n
            nrm = (G.transpose() * (K * G))[0, 0].sqrt()
            c = c - G * (eta / nrm)
        return [c[k, 0] for k in range(m)]
    finally:
        flint.ctx.dps = old


# -------------------------------------------------------------------------------------------- agreement
def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max |b| (the relative agreement of two iterates)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = float(np.max(np.abs(b)))
    return float(np.max(np.abs(a - b))) / scale if scale > 0 else float(np.max(np.abs(a - b)))


AGREEMENT_TOL = 1e-12
"""Relative agreement every baseline must reach with the project at a checkpoint before it is timed."""


def agreement(name: str, ours: np.ndarray, theirs: np.ndarray, tol: float = AGREEMENT_TOL) -> float:
    """The relative difference; raises AssertionError (the benchmark stops) when it exceeds ``tol``."""
    r = rel_diff(theirs, ours)
    if not (r <= tol):
        raise AssertionError(f"baseline {name} disagrees with the project: relative difference {r:.3g} > {tol:g}")
    return r


def ulp_ratio(x: float) -> float:
    return x / 2.0**-52 if math.isfinite(x) else math.inf


# ---------------------------------------------------------------------------------------------- timing
def interleaved(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Wall times of each contender, ``repeats`` rounds, every round timing each contender once in turn (so a
    burst of load on the shared machine hits all of them alike); one untimed warm-up call each first. Round i
    starts at the i-th contender (the order rotates), so that running after a given neighbour, whose data may
    still be in the caches, favours none of them."""
    import time

    for f in contenders.values():
        f()
    out: dict[str, list[float]] = {k: [] for k in contenders}
    names = list(contenders)
    for i in range(max(3, repeats)):
        for k in names[i % len(names):] + names[:i % len(names)]:
            f = contenders[k]
            t0 = time.perf_counter()
            f()
            out[k].append(time.perf_counter() - t0)
    return out


def ratio_stats(times: dict[str, list[float]], ours: str, base: str) -> dict[str, float]:
    """Per round base / ours (above 1: ours is faster), as min / median / max over the rounds."""
    r = sorted(b / o for o, b in zip(times[ours], times[base], strict=True))
    return {"min": r[0], "median": float(np.median(r)), "max": r[-1]}
