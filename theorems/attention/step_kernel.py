"""The step's kernel for float64 numpy, in as few array calls as the math allows.

At small shapes (nT of a few dozen, a handful of instances) a step is microseconds of arithmetic, and the time
goes to the Python overhead of each array call. :func:`step_coefficients` computes exactly what
``classifier.softmax_logistic_kernel(..., metrics=False)`` computes, operation for operation in the same order
(so bit for bit the same values, but for the sign of a zero log scale, below; ``tests/test_step_kernel.py``
checks it), with about half the calls:

- rows are flattened to (B n, T), and the reference token r_i = argmax_t a_{i,t} is read and written through
  flat indices (i T + r_i) instead of ``where`` over a one-hot mask;
- with many rows and few tokens, a reduction along the T axis (numpy's is slow for a short inner axis) is T - 1
  elementwise calls over the columns (and so is M = max_i m_i with many instances and few sequences, 9x faster
  at B = 1024, n = 4): for max, and for sums only for T < 8, where numpy adds the row left to
  right from +0, which the columns repeat in the same order (checked at import, bit for bit with signed zeros,
  on wide-ranging data; where this numpy sums otherwise, the column sums are off). A column max can differ from
  numpy's only in the sign of a zero maximum m_i (a row whose top logits are zeros of both signs); e^{m},
  delta - m and sum_t w_t do not see that sign, so G_hat and r are bit for bit the same, and the log scale M
  equals the generic one (as a number: its sign may differ where it is 0; e^{m - M} does not see it either);
- delta_{i,t} = a_{i,t} - a_{i,r} gets -inf at t = r in place, so m_i = max_{t != r} delta and
  w = e^{delta - m} (0 at r) need no masks;
- reductions call the ufunc's ``reduce`` (no ``np.sum`` wrapper), the sigmoid is inlined, and temporaries are
  overwritten where the value is not read again.

With the log scale M = max_i m_i, w_t = e^{delta_t - m} and s_hat = w / (1 + e^{m} sum_{t != r} w_t):

    D_hat_i = sum_t s_hat (g_t - g_r),  gbar_i = g_r + e^{m} D_hat,  l'_i = -sigmoid(-gbar),
    G_hat_{i,t} = l'_i e^{m - M} / n * s_hat_t ((g_t - g_r) - e^{m} D_hat)   (t != r),
    G_hat_{i,r} = -sum_{t != r} G_hat_{i,t}.

Only for float64 ndarrays with T >= 2 (:func:`applies`); the generic kernel handles everything else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from verify.backends import is_float64_array

_max = np.maximum.reduce
_add = np.add.reduce


def _by_columns(x: np.ndarray) -> bool:
    """Whether T - 1 column calls beat one reduction along the rows' T axis (measured: many rows, few tokens; a
    single column is read by the reduction)."""
    R, T = x.shape
    return T >= 2 and R >= 48 * T


def row_max(x: np.ndarray) -> np.ndarray:
    """max_t x[:, t] for x (R, T) float64. The same value as numpy's reduction; where the maximum is a zero and the
    row holds zeros of both signs, the sign may differ (numpy's vectorized reduction takes them in another order).
    Also the Gram bound's max over a row of |K| |c| (classifier.Gram.logit_abs_error), whose zeros are all +0."""
    return _column_max(x) if _by_columns(x) else _max(x, axis=1)


def _column_max(x: np.ndarray) -> np.ndarray:
    m = np.maximum(x[:, 0], x[:, 1])
    for t in range(2, x.shape[1]):
        np.maximum(m, x[:, t], out=m)
    return m


def _column_sum(x: np.ndarray) -> np.ndarray:
    """0 + x_0 + x_1 + ... left to right (numpy's row sum starts from +0: a row of -0 sums to +0)."""
    s = np.add(x[:, 0], 0.0)
    for t in range(1, x.shape[1]):
        np.add(s, x[:, t], out=s)
    return s


def _bits(x: np.ndarray) -> np.ndarray:
    return x.view(np.int64)


def _columns_sum_as_numpy() -> bool:
    """Whether this numpy's row sum for T < 8 is the column-wise one bit for bit (signed zeros included), on
    wide-ranging data with zeros of both signs."""
    rng = np.random.default_rng(0)
    for T in range(2, 8):
        x = rng.normal(size=(256, T)) * np.exp(rng.normal(size=(256, T)) * 8)
        x[rng.random(x.shape) < 0.3] = 0.0
        x[rng.random(x.shape) < 0.3] = -0.0
        x[-2:] = -0.0
        if not np.array_equal(_bits(_column_sum(x)), _bits(_add(x, axis=1))):
            return False
    return True


_COLUMN_SUMS = _columns_sum_as_numpy()


def _row_sum(x: np.ndarray) -> np.ndarray:
    """sum_t x[:, t] for x (R, T), the same value as numpy's reduction along axis 1."""
    if _COLUMN_SUMS and x.shape[1] < 8 and _by_columns(x):
        return _column_sum(x)
    return _add(x, axis=1)


def applies(a: object, T: int) -> bool:
    """Whether :func:`step_coefficients` computes this kernel: float64 numpy logits, at least two tokens."""
    return T >= 2 and is_float64_array(a)


def _minus_sigmoid_of_minus(x: np.ndarray) -> np.ndarray:
    """l'(x) = -sigmoid(-x), as -Backend.sigmoid(-x) evaluates it: with z = e^{-|x|}, -(1 / (1 + z)) where
    -x >= 0 (x <= 0) and -(z / (1 + z)) elsewhere. IEEE division is symmetric in sign, so dividing -1 or -z
    gives the same bits as negating the quotient."""
    z = np.abs(x)
    np.exp(np.negative(z, out=z), out=z)
    num = np.where(x <= 0, -1.0, -z)
    return np.divide(num, np.add(z, 1.0, out=z), out=num)


def step_coefficients(a: np.ndarray, g: np.ndarray, pad: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(G_hat (B, n, T), M (B,), r (B, n)) from logits ``a`` and token scores ``g`` (both (B, n, T)); ``pad``: each
    instance's own n and sequence weights in a padded batch (theorems.attention.padding)."""
    B, n, T = a.shape
    rows = a.reshape(B * n, T)
    r = rows.argmax(axis=1)
    at_r = np.arange(0, B * n * T, T) + r  # flat index of (i, r_i)
    delta = rows - rows.reshape(-1)[at_r][:, None]  # a_t - a_r <= 0
    delta.reshape(-1)[at_r] = -np.inf
    m = row_max(delta)  # max_{t != r} (a_t - a_r)
    w = np.exp(np.subtract(delta, m[:, None], out=delta), out=delta)  # e^{delta - m}, 0 at r
    e_m = np.exp(m)
    inv = np.multiply(e_m, _row_sum(w))
    np.divide(1.0, np.add(inv, 1.0, out=inv), out=inv)  # 1 / (1 + e^{m} sum_w)
    s_hat = np.multiply(w, inv[:, None], out=w)
    gr = g.reshape(B * n, T)
    g_r = gr.reshape(-1)[at_r]
    dg = gr - g_r[:, None]
    D_hat = _row_sum(s_hat * dg)
    eD = np.multiply(e_m, D_hat, out=e_m)
    gbar = g_r + eD
    lprime = _minus_sigmoid_of_minus(gbar)
    M = row_max(m.reshape(B, n))  # (by columns where there are many instances: m's sign of 0 does not reach G)
    shift = np.subtract(m.reshape(B, n), M[:, None]).reshape(B * n)
    coef = np.divide(np.multiply(lprime, np.exp(shift, out=shift), out=lprime), n if pad is None else pad.rows,
                     out=lprime)
    if pad is not None:
        np.multiply(coef, pad.weight.reshape(-1), out=coef)
    G = np.multiply(coef[:, None], s_hat, out=s_hat)
    np.multiply(G, np.subtract(dg, eD[:, None], out=dg), out=G)
    G.reshape(-1)[at_r] = -_row_sum(G)
    return G.reshape(B, n, T), M, r.reshape(B, n)
