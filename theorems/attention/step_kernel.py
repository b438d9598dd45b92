"""The step's kernel for float64 numpy, in as few array calls as the math allows.

At small shapes (nT of a few dozen, a handful of instances) a step is microseconds of arithmetic, and the time
goes to the Python overhead of each array call. :func:`step_coefficients` computes exactly what
``classifier.softmax_logistic_kernel(..., metrics=False)`` computes, operation for operation in the same order
(so bit for bit the same values; ``tests/test_step_kernel.py`` checks it), with about half the calls:

- rows are flattened to (B n, T), and the reference token r_i = argmax_t a_{i,t} is read and written by one
  fancy index instead of ``where`` over a one-hot mask;
- delta_{i,t} = a_{i,t} - a_{i,r} gets -inf at t = r in place, so m_i = max_{t != r} delta and
  w = e^{delta - m} (0 at r) need no masks;
- reductions call the ufunc's ``reduce`` (no ``np.sum`` wrapper), softplus is inlined
  (max(x, 0) + log1p(e^{-|x|})), and temporaries are overwritten where the value is not read again.

With the log scale M = max_i m_i and s_hat = w / (1 + S), S = sum_{t != r} e^{delta - m}:

    D_hat_i = sum_t s_hat (g_t - g_r),  gbar_i = g_r + e^{m} D_hat,  l'_i = -e^{-softplus(gbar)},
    G_hat_{i,t} = l'_i e^{m - M} / n * s_hat_t ((g_t - g_r) - e^{m} D_hat)   (t != r),
    G_hat_{i,r} = -sum_{t != r} G_hat_{i,t}.

Only for float64 ndarrays with T >= 2 (:func:`applies`); the generic kernel handles everything else.
"""

from __future__ import annotations

import numpy as np

_max = np.maximum.reduce
_add = np.add.reduce


def applies(a: object, T: int) -> bool:
    """Whether :func:`step_coefficients` computes this kernel: float64 numpy logits, at least two tokens."""
    return T >= 2 and isinstance(a, np.ndarray) and a.dtype == np.float64


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}), as Backend.softplus evaluates it."""
    t = np.abs(x)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    return np.add(np.maximum(x, 0), t, out=t)


def step_coefficients(a: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(G_hat (B, n, T), M (B,), r (B, n)) from logits ``a`` and token scores ``g`` (both (B, n, T))."""
    B, n, T = a.shape
    rows = a.reshape(B * n, T)
    idx = np.arange(B * n)
    r = rows.argmax(axis=1)
    delta = rows - rows[idx, r][:, None]  # a_t - a_r <= 0
    delta[idx, r] = -np.inf
    m = _max(delta, axis=1)  # max_{t != r} (a_t - a_r)
    w = np.exp(np.subtract(delta, m[:, None], out=delta), out=delta)  # e^{delta - m}, 0 at r
    log_S = m + np.log(_add(w, axis=1))
    log_1pS = _softplus(log_S)
    s_hat = np.multiply(w, np.exp(np.negative(log_1pS, out=log_1pS))[:, None], out=w)
    gr = g.reshape(B * n, T)
    g_r = gr[idx, r]
    dg = gr - g_r[:, None]
    D_hat = _add(s_hat * dg, axis=1)
    e_m = np.exp(m)
    eD = np.multiply(e_m, D_hat, out=e_m)
    gbar = g_r + eD
    lprime = _softplus(gbar)
    np.negative(lprime, out=lprime)
    np.exp(lprime, out=lprime)
    np.negative(lprime, out=lprime)
    M = _max(m.reshape(B, n), axis=1)
    shift = np.subtract(m.reshape(B, n), M[:, None]).reshape(B * n)
    coef = np.divide(np.multiply(lprime, np.exp(shift, out=shift), out=lprime), n, out=lprime)
    G = np.multiply(coef[:, None], s_hat, out=s_hat)
    np.multiply(G, np.subtract(dg, eD[:, None], out=dg), out=G)
    G[idx, r] = -_add(G, axis=1)
    return G.reshape(B, n, T), M, r.reshape(B, n)
