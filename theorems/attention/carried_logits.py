"""Gram logits carried from one step to the next: one mat-vec per step instead of three (float64 numpy).

In the Gram representation the logits are a = a0 + K c, and a step costs three (nT x nT) mat-vecs: K c for the
logits, K G for ||grad||^2 = G^T K G, and |K| |c| for the rounding bound of a0 + K c. A step of a GD-type method
moves c along the last direction u = G / ||grad||, whose image K u the gradient norm already computed. So

    c' = c + Delta,   Delta = s u + r   (s = <Delta, u> / <u, u>, r what is left),
    a' = a0 + K c' = a + s (K u) + K r.

:class:`CarriedLogits` computes a + s (K u) and bounds K r without an (nT x nT) mat-vec, by the block structure
of K: its rows and columns are the tokens (i, t), grouped by sequence into n blocks of T. With beta_ji the largest
|K| entry of block (j, i) off the diagonal of K (computed once) and V_i = sum_t |v_{i,t}|, for any v

    max_k (|K| |v|)_k <= h(v) := max_k K_kk |v_k| + max_j (beta V)_j,

an (n x n) mat-vec; h is never below |K| |v| and within a small factor of it where tokens are far from parallel.
r is the rounding of the update (r_k ~ eps c'_k), so with rho = max_k |r_k| / (|c'_k| + |s u_k|),
max_k (|K| |r|)_k <= rho (Bc' + |s| h(u)).

Per instance, first order in the unit roundoff eps (as the direct bound of ``Gram.logit_abs_error``):

    Bc' = Bc + h(Delta)                                           (upper bound on max_k (|K| |c'|)_k)
    E'  = E + rho (Bc' + |s| h(u)) + eps (max |a'| + (nT + 4) |s| h(u) + 2 h(Delta))

where E bounds the absolute error of every logit. The eps terms are the rounding of a + s (K u), of K u itself
(a length-nT dot product per entry) and of Delta and r. At an *anchor* the logits are evaluated directly:
Bc = max_k (|K| |c|)_k exactly and E = eps (nT Bc + max |a0|).

**When it re-anchors.** An instance is evaluated directly when E' would exceed its limit: GROWTH = 2 times the
larger of the direct bound at its last anchor and eps (nT max |a' - a0| + max |a0|), a lower bound on the direct
bound at c' itself (|K| |c'| >= |K c'| = |a' - a0|). So the precision watch reads at most twice the bound a
direct evaluation would give at the anchor. More than half the batch failing re-anchors the whole batch in one
batched mat-vec. A state that is not a step along u (another method, another run) has a large r and fails the
test; a new run starts with :meth:`reset`. So the result never depends on an earlier run, only the cost does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GROWTH = 2.0
"""A carried error bound may reach GROWTH times the direct bound at the same iterate size, then re-anchors."""

MIN_TOKENS = 64
MIN_WORK = 250_000
"""Carry only when nT >= MIN_TOKENS and B (nT)^2 >= MIN_WORK: below that the mat-vecs cost less than the O(nT)
bookkeeping and the re-anchoring (whose period grows with nT) that replace them (benchmarks/run.py, (f))."""


@dataclass
class _Step:
    c: np.ndarray  # (B, m) the iterate the logits below belong to (a copy)
    a: np.ndarray  # (B, m) its logits
    E: np.ndarray  # (B,) bound on their absolute error
    Bc: np.ndarray  # (B,) bound on max_k (|K| |c|)_k
    limit: np.ndarray  # (B,) GROWTH times the direct bound at the last anchor
    u: np.ndarray | None = None  # (B, m) the direction taken from c, and its image K u
    Ku: np.ndarray | None = None
    uu: np.ndarray | None = None  # <u, u>
    hu: np.ndarray | None = None  # h(u)


class CarriedLogits:
    """a0 + K c with its rounding bound, for c (B, m) float64; see the module docstring."""

    def __init__(self, K: np.ndarray, absK: np.ndarray, a0: np.ndarray, eps: float) -> None:
        B, n, T = a0.shape
        m = n * T
        self.K, self.absK, self.a0, self.eps = K, absK, a0.reshape(B, m), eps
        self.a0max = np.max(np.abs(self.a0), axis=-1)
        self.diag = np.abs(np.diagonal(K, axis1=1, axis2=2))  # (B, m)
        off = absK.copy()
        off[:, np.arange(m), np.arange(m)] = 0.0
        self.beta = off.reshape(B, n, T, n, T).max(axis=(2, 4))  # (B, n, n)
        self.n, self.T, self.m = n, T, m
        self.last: _Step | None = None
        self.anchors = 0.0  # direct evaluations, in batches (a single instance counts 1/B; tests, benchmarks)
        self.carried = 0.0

    @staticmethod
    def worthwhile(B: int, m: int) -> bool:
        return m >= MIN_TOKENS and B * m * m >= MIN_WORK

    def reset(self) -> None:
        self.last = None

    def _h(self, v: np.ndarray) -> np.ndarray:
        """h(v) >= max_k (|K| |v|)_k, shape (B,) (module docstring)."""
        av = np.abs(v)
        V = av.reshape(-1, self.n, self.T).sum(axis=-1)
        return np.max(self.diag * av, axis=-1) + np.max(np.matmul(self.beta, V[..., None])[..., 0], axis=-1)

    def logits(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, E): the logits of c (B, m) and a bound on their absolute error (B,). Each instance is carried when
        that keeps its E within the limit (module docstring), else evaluated directly."""
        prev = self.last
        if prev is None or prev.u is None or prev.c.shape != c.shape:
            return self._anchor(c)
        a, E, Bc, limit = self._carry(prev, c)
        redo = np.flatnonzero(~(limit >= E))  # also NaN and inf
        if redo.size * 2 > c.shape[0]:
            return self._anchor(c)
        for b in redo:  # per-instance mat-vecs on views (no copy of K)
            a[b] = self.a0[b] + self.K[b] @ c[b]
            Bc[b] = np.max(self.absK[b] @ np.abs(c[b]))
            E[b] = self.eps * (self.m * Bc[b] + self.a0max[b])
            limit[b] = GROWTH * E[b]
        self.anchors += redo.size / c.shape[0]
        self.carried += 1 - redo.size / c.shape[0]
        self.last = _Step(c.copy(), a, E, Bc, limit)
        return a, E

    def _anchor(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.anchors += 1
        a = self.a0 + np.matmul(self.K, c[..., None])[..., 0]
        Bc = np.max(np.matmul(self.absK, np.abs(c)[..., None])[..., 0], axis=-1)
        E = self.eps * (self.m * Bc + self.a0max)
        self.last = _Step(c.copy(), a, E, Bc, GROWTH * E)
        return a, E

    def _carry(self, prev: _Step, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """a + s K u with E, Bc and the limit, for every instance (module docstring)."""
        assert prev.u is not None and prev.Ku is not None and prev.uu is not None and prev.hu is not None
        delta = c - prev.c
        s = np.einsum("bm,bm->b", delta, prev.u) / prev.uu
        su = s[:, None] * prev.u
        r = delta - su
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.max(np.abs(r) / (np.abs(c) + np.abs(su)), axis=-1)
        rho = np.where(np.isnan(rho), 0.0, rho)  # 0/0: an entry that is exactly 0 and did not move
        a = prev.a + s[:, None] * prev.Ku
        h_delta = self._h(delta)
        Bc = prev.Bc + h_delta
        shu = np.abs(s) * prev.hu
        E = prev.E + rho * (Bc + shu) + self.eps * (np.max(np.abs(a), axis=-1) + (self.m + 4) * shu + 2 * h_delta)
        # |K| |c| >= |K c| = |a - a0|: the direct bound at c is at least eps (nT max |a - a0| + max |a0|)
        limit = np.maximum(prev.limit, GROWTH * self.eps * (self.m * np.max(np.abs(a - self.a0), axis=-1)
                                                             + self.a0max))
        return a, E, Bc, limit

    def took(self, c: np.ndarray, unit: np.ndarray, K_unit: np.ndarray) -> None:
        """Record the direction ``unit`` (B, m) computed at ``c`` and its image ``K_unit``: the next call to
        :meth:`logits` may carry along it. Ignored when ``c`` is not the iterate the last logits belong to."""
        prev = self.last
        if prev is None or prev.c.shape != c.shape or not np.array_equal(prev.c, c):
            self.last = None
            return
        prev.u, prev.Ku = unit.copy(), K_unit.copy()
        prev.uu = np.einsum("bm,bm->b", unit, unit)
        prev.hu = self._h(unit)
        if not np.all(prev.uu > 0):  # a zero direction (a stationary point): nothing to carry along
            self.last = None
