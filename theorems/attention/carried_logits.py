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

**Compiled (jax).** :func:`compiled_logits` is the same step as a pure function of a :class:`Carry` (the loop
state of ``jax.lax.fori_loop``, see verify/compiled.py). Inside a compiled loop there is no per-instance branch, so
when any instance would pass its limit the whole batch is evaluated directly (``lax.cond``), and every instance's
limit restarts from there. A carry that has not seen a direction yet (E = inf) is evaluated directly too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

GROWTH = 2.0
"""A carried error bound may reach GROWTH times the direct bound at the same iterate size, then re-anchors."""

MIN_TOKENS = 64
MIN_WORK = 250_000
"""Carry only when nT >= MIN_TOKENS and B (nT)^2 >= MIN_WORK: below that the mat-vecs cost less than the O(nT)
bookkeeping and the re-anchoring (whose period grows with nT) that replace them (benchmarks/run.py, (f))."""


def worthwhile(B: int, m: int) -> bool:
    return m >= MIN_TOKENS and B * m * m >= MIN_WORK


# ------------------------------------------------------------------------- the math, for any array namespace
def block_data(K: Any, absK: Any, n: int, T: int, xp: Any) -> tuple[Any, Any]:
    """(|K_kk| (B, m), beta (B, n, n)): beta_ji is the largest |K| entry of block (j, i) off K's diagonal."""
    B, m, _ = K.shape
    eye = xp.eye(m, dtype=bool)
    diag = xp.max(xp.where(eye, absK, 0.0), axis=-1)
    off = xp.where(eye, 0.0, absK)
    return diag, xp.max(off.reshape(B, n, T, n, T), axis=(2, 4))


def h_bound(diag: Any, beta: Any, v: Any, xp: Any) -> Any:
    """h(v) >= max_k (|K| |v|)_k, shape (B,) (module docstring)."""
    n = beta.shape[-1]
    av = abs(v)
    V = xp.sum(av.reshape(av.shape[0], n, -1), axis=-1)
    return xp.max(diag * av, axis=-1) + xp.max(xp.matmul(beta, V[..., None])[..., 0], axis=-1)


def direct_bound(Bc: Any, a0max: Any, m: int, eps: float) -> Any:
    """E = eps (nT Bc + max |a0|), the rounding bound of a0 + K c with Bc = max_k (|K| |c|)_k (Gram's own)."""
    return eps * (m * Bc + a0max)


def direct(K: Any, absK: Any, a0: Any, a0max: Any, c: Any, eps: float, xp: Any) -> tuple[Any, Any, Any]:
    """(a, E, Bc) evaluated directly: a = a0 + K c, Bc = max_k (|K| |c|)_k, E its rounding bound."""
    m = c.shape[-1]
    a = a0 + xp.matmul(K, c[..., None])[..., 0]
    Bc = xp.max(xp.matmul(absK, abs(c)[..., None])[..., 0], axis=-1)
    return a, direct_bound(Bc, a0max, m, eps), Bc


def carried(prev_c: Any, prev_a: Any, E: Any, Bc: Any, limit: Any, u: Any, Ku: Any, uu: Any, hu: Any,
            c: Any, diag: Any, beta: Any, a0: Any, a0max: Any, eps: float, xp: Any) -> tuple[Any, Any, Any, Any]:
    """(a, E, Bc, limit) at c, carried from the step at prev_c along u (module docstring)."""
    m = c.shape[-1]
    delta = c - prev_c
    s = xp.sum(delta * u, axis=-1) / uu
    su = s[:, None] * u
    r = delta - su
    q = abs(r) / (abs(c) + abs(su))
    rho = xp.max(xp.where(q == q, q, 0.0), axis=-1)  # 0/0: an entry that is exactly 0 and did not move
    a = prev_a + s[:, None] * Ku
    h_delta = h_bound(diag, beta, delta, xp)
    Bc = Bc + h_delta
    shu = abs(s) * hu
    E = E + rho * (Bc + shu) + eps * (xp.max(abs(a), axis=-1) + (m + 4) * shu + 2 * h_delta)
    # |K| |c| >= |K c| = |a - a0|: the direct bound at c is at least eps (nT max |a - a0| + max |a0|)
    limit = xp.maximum(limit, GROWTH * direct_bound(xp.max(abs(a - a0), axis=-1), a0max, m, eps))
    return a, E, Bc, limit


# ------------------------------------------------------------------------------------- eager (float64 numpy)
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
        self.diag, self.beta = block_data(K, absK, n, T, np)
        self.n, self.T, self.m = n, T, m
        self.last: _Step | None = None
        self.anchors = 0.0  # direct evaluations, in batches (a single instance counts 1/B; tests, benchmarks)
        self.carried = 0.0

    worthwhile = staticmethod(worthwhile)

    def reset(self) -> None:
        self.last = None

    def _h(self, v: np.ndarray) -> np.ndarray:
        return h_bound(self.diag, self.beta, v, np)

    def logits(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, E): the logits of c (B, m) and a bound on their absolute error (B,). Each instance is carried when
        that keeps its E within the limit (module docstring), else evaluated directly."""
        prev = self.last
        if prev is None or prev.u is None or prev.c.shape != c.shape:
            return self._anchor(c)
        assert prev.Ku is not None and prev.uu is not None and prev.hu is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            a, E, Bc, limit = carried(prev.c, prev.a, prev.E, prev.Bc, prev.limit, prev.u, prev.Ku, prev.uu,
                                      prev.hu, c, self.diag, self.beta, self.a0, self.a0max, self.eps, np)
        redo = np.flatnonzero(~(limit >= E))  # also NaN and inf
        if redo.size * 2 > c.shape[0]:
            return self._anchor(c)
        for b in redo:  # per-instance mat-vecs on views (no copy of K)
            ab, Eb, Bcb = direct(self.K[b:b + 1], self.absK[b:b + 1], self.a0[b:b + 1], self.a0max[b:b + 1],
                                 c[b:b + 1], self.eps, np)
            a[b], E[b], Bc[b] = ab[0], Eb[0], Bcb[0]
            limit[b] = GROWTH * E[b]
        self.anchors += redo.size / c.shape[0]
        self.carried += 1 - redo.size / c.shape[0]
        self.last = _Step(c.copy(), a, E, Bc, limit)
        return a, E

    def _anchor(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.anchors += 1
        a, E, Bc = direct(self.K, self.absK, self.a0, self.a0max, c, self.eps, np)
        self.last = _Step(c.copy(), a, E, Bc, GROWTH * E)
        return a, E

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


# ---------------------------------------------------------------------------------------- compiled (jax)
class Carry(NamedTuple):
    """The loop state of a compiled run's carried logits: the last step's iterate, logits, bounds and direction
    (as :class:`_Step`), all arrays, so that it travels through ``jax.lax.fori_loop``."""

    c: Any
    a: Any
    E: Any
    Bc: Any
    limit: Any
    u: Any
    Ku: Any
    uu: Any
    hu: Any


def empty_carry(c: Any, xp: Any) -> Carry:
    """A carry that has seen no step: E = inf, so the first call evaluates directly."""
    B = c.shape[0]
    zero, one = xp.zeros(B), xp.ones(B)
    return Carry(c, c * 0, zero + np.inf, zero, zero, c * 0, c * 0, one, zero)


def compiled_logits(carry: Carry, c: Any, K: Any, absK: Any, a0: Any, a0max: Any, diag: Any, beta: Any,
                    eps: float) -> tuple[Any, Any, Any, Any, Any]:
    """(a, E, Bc, limit, anchored) at c (B, m) inside ``jax.jit``: carried along ``carry``'s direction, or, when
    any instance's E would pass its limit (or is not finite), evaluated directly for the whole batch."""
    import jax

    from verify.backends import jax_namespace

    xp = jax_namespace()
    got = carried(carry.c, carry.a, carry.E, carry.Bc, carry.limit, carry.u, carry.Ku, carry.uu, carry.hu, c,
                  diag, beta, a0, a0max, eps, xp)
    need = xp.any(~(got[3] >= got[1]))

    def anchor(_: Any) -> tuple[Any, Any, Any, Any]:
        a, E, Bc = direct(K, absK, a0, a0max, c, eps, xp)
        return a, E, Bc, GROWTH * E

    a, E, Bc, limit = jax.lax.cond(need, anchor, lambda _: got, None)
    return a, E, Bc, limit, need


def took_carry(c: Any, a: Any, E: Any, Bc: Any, limit: Any, unit: Any, K_unit: Any, diag: Any, beta: Any,
               xp: Any) -> Carry:
    """The carry after a step's first order at c: its logits and bounds, and the direction taken from c."""
    uu = xp.sum(unit * unit, axis=-1)
    E = xp.where(uu > 0, E, np.inf)  # a zero direction (a stationary point): nothing to carry along
    return Carry(c, a, E, Bc, limit, unit, K_unit, xp.where(uu > 0, uu, 1.0), h_bound(diag, beta, unit, xp))
