r"""The infinite-data limit of the softmax layer [derived]: tilted means and the finite-n gap.

Gaussian tilting: for x ~ N(0, Sigma) and any vector a, E[e^{a^T x} x] / E[e^{a^T x}] = Sigma a (completing the
square, the tilted density is N(Sigma a, Sigma)). For a fixed query q the softmax average of the keys,
sum_j softmax_j(x_j^T B^T q) x_j, is the self-normalized importance-sampling estimate of that tilted mean with
a = B^T q, so f(q; X) -> A Sigma B^T q as n -> inf. Its bias is O(1/n) and its standard deviation O(n^{-1/2}),
so the squared gap E||f(q; X) - A Sigma B^T q||^2 is O(1/n), with a constant that grows like the second moment
of the weights, exp(||B^T q||^2_Sigma).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorems.regression import regressor as ar


def tilting_monte_carlo(
    Sigma: np.ndarray, a: np.ndarray, N: int, seed: int, distribution: str = "gaussian"
) -> tuple[np.ndarray, np.ndarray]:
    """Self-normalized estimate of E[e^{a^T x} x]/E[e^{a^T x}] from N draws, and its delta-method standard error
    sqrt(sum_i w_i^2 (x_i - mu)^2) per coordinate (w the normalized weights)."""
    rng = np.random.default_rng(seed)
    X = ar.sample_tokens(rng, N, Sigma, distribution)
    z = X @ a
    w = np.exp(z - z.max())
    w = w / w.sum()
    mu = w @ X
    se = np.sqrt(np.sum((w[:, None] * (X - mu)) ** 2, axis=0))
    return mu, se


def gap_curve(
    Sigma: np.ndarray,
    distribution: str,
    n_grid: list[int],
    reps: int,
    m: int,
    beta: float,
    seed: int,
    t_df: float = 5.0,
) -> dict[str, Any]:
    """Finite-n gap of the layer with A = I, B = (beta / sqrt d) Sigma^{-1}: f(q; X) - Sigma B^T q, averaged over
    ``reps`` key sets of each size n and ``m`` fixed Gaussian queries. Returns per n the mean squared gap ``sq``
    and the mean norm ``abs``, and the per-replicate ``sq`` values ``reps_sq`` (rows: n) for a bootstrap of the
    fitted exponent (:func:`verify.checks.bootstrap_exponent_se`)."""
    d = Sigma.shape[0]
    B = beta / math.sqrt(d) * np.linalg.inv(Sigma)
    A = np.eye(d)
    Q = ar.sample_tokens(np.random.default_rng(seed), m, Sigma, "gaussian")
    lim = Q @ ar.population_map(A, B, Sigma).T
    sq, ab, reps_sq = [], [], []
    for n in n_grid:
        row_sq, row_ab = [], []
        for r in range(reps):
            X = ar.sample_tokens(np.random.default_rng([seed, n, r]), n, Sigma, distribution, t_df)
            D = ar.attention(Q, A, B, X) - lim
            nr = np.sum(D * D, axis=1)
            row_sq.append(float(np.mean(nr)))
            row_ab.append(float(np.mean(np.sqrt(nr))))
        sq.append(float(np.mean(row_sq)))
        ab.append(float(np.mean(row_ab)))
        reps_sq.append(row_sq)
    return {"sq": sq, "abs": ab, "reps_sq": reps_sq}
