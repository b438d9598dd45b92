"""Rigorous certificates for the attention model's max-margin problems, checked in exact rational arithmetic.

The data (float64 tokens and queries) are exact dyadic rationals, and so are the solver's high-precision answers
(mpmath numbers are ``m 2^e``). Every check below works on integers (:mod:`verify.exact`): no rounding happens,
so a certificate that passes is a proof about the exact problem, and one that is wrong cannot pass.

l2 problems (the Att-SVM, ``W_mm(alpha)``, the decoder SVM, the relaxed Att-SVM)::

    opt = min 1/2 ||W||_F^2  s.t.  <A_k, W> >= b_k  (b_k in {0, 1})

- Upper bound: for a primal point ``W``, ``r = min_{b_k = 1} <A_k, W>`` is computed exactly; every row with
  ``b_k = 0`` must have ``<A_k, W> >= 0`` exactly; then ``W' = W / min(r, 1)`` is exactly feasible and
  ``opt <= P = 1/2 ||W'||^2``.
- Lower bound: for multipliers ``lam >= 0`` (exactly), weak duality gives
  ``opt >= D = sum_k lam_k b_k - 1/2 ||sum_k lam_k A_k||^2``.
- So ``||W_mm|| = sqrt(2 opt)`` lies in ``[sqrt(2 D), sqrt(2 P)]`` (square roots enclosed by integer roots).
- Strong convexity: ``W_mm`` minimizes ``1/2||.||^2`` over the feasible set, so ``<W_mm, W' - W_mm> >= 0`` and
  ``||W' - W_mm||^2 <= ||W'||^2 - ||W_mm||^2 <= 2 (P - D)``. For any reported matrix ``W_f`` (the float64 answer)
  the triangle inequality gives ``||W_f - W_mm|| <= ||W_f - W'|| + sqrt(2 (P - D))`` (``distance_bound``), and
  ``||W_f/||W_f|| - W_mm/||W_mm|||| <= 2 ||W_f - W_mm|| / max(||W_f||, ||W_mm||)`` (``direction_bound``).
- A certificate is **rigorous** when all of this checks AND the relative gap ``(P - D) / P`` is at most the
  problem's tolerance: a perturbed primal (scaled up to feasibility, so ``P`` grows) or a perturbed dual (``D``
  drops) leaves a gap far above it and is rejected. The bounds a rejected pair gives are still valid, and reported.

lp problems (``min ||w||_p s.t. <A_k, w> >= 1``): ``||w'||_p`` (``w'`` scaled to exact feasibility as above) is an
upper bound, and for ``lam >= 0``, ``sum lam / ||A^T lam||_q`` (q = p/(p-1)) a lower one (Hoelder:
``sum lam <= lam^T A w = <A^T lam, w> <= ||A^T lam||_q ||w||_p``). The p-th powers are enclosed by integer roots
when p has a small denominator (1.25 = 5/4, 1.5, 1.75, 3, ...), by Arb balls (python-flint) otherwise; without
either the answer is "numerical". Distances: for ``1 < p <= 2``, ``1/2||.||_p^2`` is ``(p-1)``-strongly convex in
``||.||_p``, so ``||w' - w*||_2 <= ||w' - w*||_p <= sqrt((hi^2 - lo^2) / (p-1))``; for ``p >= 2`` Clarkson's
inequality with the feasible midpoint gives ``||w' - w*||_p <= 2 ((hi^p - lo^p)/2)^(1/p)`` and
``||.||_2 <= N^(1/2 - 1/p) ||.||_p``.

Infeasibility: an exact Farkas vector, ``y >= 0`` rational with ``sum_k y_k A_k = 0`` and ``sum_k y_k b_k > 0``
(for ``W`` feasible, ``0 = <sum y_k A_k, W> >= sum y_k b_k > 0`` is a contradiction), found from the solver's
approximate one by an exact null-space computation on its support and checked exactly.

Words: "rigorous" = proven by these exact checks; "confirmed" = the KKT residuals measured in high precision
(mpmath) are within tolerance, which is strong evidence but not a proof; "numerical" = confirmed only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from verify.exact import (
    ExactUnavailable,
    common_denominator,
    decimal_down,
    decimal_up,
    dyadic_ints,
    int_array,
    int_matmul,
    integer_roots,
    nullspace_ints,
    pow_bounds,
    solve_rational,
    sqrt_bounds,
)

RIGOROUS, NUMERICAL, NONE = "rigorous", "numerical", "none"
#: Relative precision (bits) of the square-root and power enclosures: far below any tolerance used.
_BITS = 256
#: Digits of distance_bound and direction_bound (rounded up).
_BOUND_DIGITS = 6
#: Exact KKT solves (rational Gram systems) only for active sets up to this size.
_EXACT_KKT_MAX = 200
#: Farkas support search: thresholds (relative to max y) and the largest support tried.
_FARKAS_REL = (1e-6, 1e-9, 1e-3, 1e-12)
_FARKAS_MAX = 400


# ------------------------------------------------------------------------------------------ exact rows
@dataclass(frozen=True)
class ExactPoint:
    """An exact array ``ints * scale`` (``ints`` an object array of Python ints, ``scale`` a positive Fraction)."""

    ints: np.ndarray
    scale: Fraction

    @classmethod
    def of(cls, values: Any) -> ExactPoint:
        """The exact value of an array of float64 numbers or mpmath mpf (their dyadic value, no rounding)."""
        M, e = dyadic_ints(values)
        return cls(M, Fraction(2) ** e)

    def sq_norm(self) -> Fraction:
        return Fraction(sum(int(v) * int(v) for v in self.ints.ravel())) * self.scale**2

    def values(self) -> list[Fraction]:
        return [Fraction(int(v)) * self.scale for v in self.ints.ravel()]


def sq_distance(a: ExactPoint, b: ExactPoint) -> Fraction:
    """``||a - b||^2`` exactly (same shape)."""
    an, ad = a.scale.numerator, a.scale.denominator
    bn, bd = b.scale.numerator, b.scale.denominator
    fa, fb = an * bd, bn * ad
    tot = sum((int(x) * fa - int(y) * fb) ** 2 for x, y in zip(a.ints.ravel(), b.ints.ravel(), strict=True))
    return Fraction(tot, (ad * bd) ** 2)


@dataclass(frozen=True)
class FactoredRows:
    """The exact constraint matrices ``A_k = u_k z_{seq_k}^T`` of an Att-SVM, as integers: ``u_k = U[k] 2^ex``,
    ``z_i = Z[i] 2^ez`` (``u_k = x_{i,alpha_i} - x_{i,t}`` formed exactly from the float64 tokens), so
    ``A_k = (U[k] Z[i]^T) * scale`` with ``scale = 2^(ex + ez)``. Built from the data, never from solver output."""

    U: np.ndarray
    Z: np.ndarray
    seq: np.ndarray
    scale: Fraction
    d: int

    @classmethod
    def from_data(cls, X: np.ndarray, Z: np.ndarray, alpha: Sequence[int]) -> FactoredRows:
        Xa, Za = np.asarray(X, dtype=np.float64), np.asarray(Z, dtype=np.float64)
        n, T, d = Xa.shape
        Xi, ex = dyadic_ints(Xa)
        Zi, ez = dyadic_ints(Za)
        labels = [(i, t) for i in range(n) for t in range(T) if t != alpha[i]]
        U = np.empty((len(labels), d), dtype=object)
        for k, (i, t) in enumerate(labels):
            U[k] = Xi[i, alpha[i]] - Xi[i, t]
        seq = np.array([i for i, _ in labels], dtype=np.intp)
        return cls(U, Zi, seq, Fraction(2) ** (ex + ez), d)

    @property
    def m(self) -> int:
        return len(self.seq)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.d, self.d)

    def values(self, W: np.ndarray) -> np.ndarray:
        """``<A_k, W> / scale`` for every k (integers), ``W`` a (d, d) object array of ints."""
        WZ = int_matmul(np.asarray(W, dtype=object).reshape(self.d, self.d), self.Z.T)  # (d, n)
        return (self.U * WZ.T[self.seq]).sum(axis=1)

    def _per_sequence(self, L: np.ndarray) -> tuple[list[int], np.ndarray]:
        V: dict[int, np.ndarray] = {}
        for k in np.flatnonzero([int(v) != 0 for v in L]):
            i = int(self.seq[k])
            V[i] = V[i] + int(L[k]) * self.U[k] if i in V else int(L[k]) * self.U[k]
        seqs = sorted(V)
        return seqs, (np.array([V[i] for i in seqs], dtype=object) if seqs else np.empty((0, self.d), dtype=object))

    def combine(self, L: np.ndarray) -> np.ndarray:
        """``sum_k L_k A_k / scale`` as a (d, d) object array of ints."""
        seqs, V = self._per_sequence(L)
        if not seqs:
            return int_array([0] * (self.d * self.d), (self.d, self.d))
        return int_matmul(V.T.copy(), self.Z[seqs])

    def combine_sq(self, L: np.ndarray) -> int:
        """``||sum_k L_k A_k||^2 / scale^2`` (an int): ``sum_ij <v_i, v_j> <z_i, z_j>`` over the sequences."""
        seqs, V = self._per_sequence(L)
        if not seqs:
            return 0
        Zs = self.Z[seqs]
        return int((int_matmul(V, V.T.copy()) * int_matmul(Zs, Zs.T.copy())).sum())

    def gram(self, idx: Sequence[int]) -> np.ndarray:
        """``<A_k, A_l> / scale^2`` for k, l in ``idx`` (an object array of ints)."""
        ix = np.asarray(idx, dtype=np.intp)
        U, Zs = self.U[ix], self.Z[self.seq[ix]]
        return int_matmul(U, U.T.copy()) * int_matmul(Zs, Zs.T.copy())


@dataclass(frozen=True)
class DenseRows:
    """Exact constraint rows ``a_k = A[k] * scale`` (an (m, N) object array of ints) for a vector variable."""

    A: np.ndarray
    scale: Fraction
    var_shape: tuple[int, ...]

    @classmethod
    def of(cls, rows: Any, var_shape: tuple[int, ...] | None = None) -> DenseRows:
        """Rows given as float64 (or mpf) values, taken exactly."""
        M, e = dyadic_ints(rows)
        return cls(M, Fraction(2) ** e, var_shape or (M.shape[1],))

    @property
    def m(self) -> int:
        return self.A.shape[0]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.var_shape

    def values(self, w: np.ndarray) -> np.ndarray:
        return int_matmul(self.A, np.asarray(w, dtype=object).reshape(-1, 1)).ravel()

    def combine(self, L: np.ndarray) -> np.ndarray:
        return int_matmul(self.A.T.copy(), np.asarray(L, dtype=object).reshape(-1, 1)).reshape(self.var_shape)

    def combine_sq(self, L: np.ndarray) -> int:
        return sum(int(v) ** 2 for v in self.combine(L).ravel())

    def gram(self, idx: Sequence[int]) -> np.ndarray:
        Ai = self.A[np.asarray(idx, dtype=np.intp)]
        return int_matmul(Ai, Ai.T.copy())


Rows = FactoredRows | DenseRows


# ----------------------------------------------------------------------------------------- certificates
@dataclass(frozen=True)
class Certificate:
    """The verdict of an exact check, with what it proves.

    ``kind``: ``"rigorous"`` (exact bounds, relative gap within tolerance), ``"numerical"`` (not proven, but the
    high-precision KKT residuals were confirmed), ``"none"``. ``norm_interval``: decimal strings ``[lo, hi]``,
    rounded outward, enclosing the optimal norm (present whenever the exact checks of feasibility and
    multiplier signs passed, even if the gap is too wide for "rigorous"). ``distance_bound`` / ``direction_bound``:
    rigorous upper bounds (decimal, rounded up) on ``||W_f - W*||_2`` and ``||W_f/||W_f|| - W*/||W*|| ||_2`` for the
    reported float64 answer ``W_f``. ``reason``: one line, what was proven or why not.
    """

    kind: str
    reason: str
    norm_interval: tuple[str, str] | None = None
    distance_bound: str | None = None
    direction_bound: str | None = None
    rel_gap: float | None = None
    seconds: float = 0.0
    norm_bounds: tuple[Fraction, Fraction] | None = field(default=None, repr=False)
    distance: Fraction | None = field(default=None, repr=False)
    direction: Fraction | None = field(default=None, repr=False)

    @property
    def rigorous(self) -> bool:
        return self.kind == RIGOROUS

    def to_json(self) -> dict:
        return {"certificate": self.kind,
                "norm_interval": list(self.norm_interval) if self.norm_interval else None,
                "distance_bound": self.distance_bound, "direction_bound": self.direction_bound,
                "certificate_note": self.reason}


def not_certified(reason: str, confirmed: bool) -> Certificate:
    return Certificate(NUMERICAL if confirmed else NONE, reason)


def _rel_digits(lo: Fraction, hi: Fraction) -> int:
    """Significant digits that resolve an interval: its relative width's decimal exponent plus 3 (17..60)."""
    if hi <= 0:
        return 17
    w = (hi - lo) / hi
    if w <= 0:
        return 45
    digits = 0
    while w < 1 and digits < 60:
        w *= 10
        digits += 1
    return max(17, min(60, digits + 3))


def _interval(lo: Fraction, hi: Fraction) -> tuple[str, str]:
    sig = _rel_digits(lo, hi)
    return decimal_down(lo, sig), decimal_up(hi, sig)


@dataclass(frozen=True)
class _Bounds:
    """Exact value bounds of an l2 problem: ``D <= opt <= P`` and the exactly feasible primal point ``W'``."""

    P: Fraction
    D: Fraction
    W: ExactPoint


def l2_bounds(rows: Rows, b: Sequence[int], W: ExactPoint, lam: ExactPoint) -> _Bounds | str:
    """Check a primal point and multipliers exactly; the bounds, or a one-line reason they are not valid.

    ``b``: the right-hand sides, each 0 or 1. ``W``: the primal point (variable's shape), ``lam``: one multiplier
    per row. The primal is scaled up by ``1/r`` (``r`` its exact minimum margin over the rows with ``b_k = 1``)
    when ``r < 1``."""
    bb = [int(v) for v in b]
    if any(v not in (0, 1) for v in bb) or len(bb) != rows.m or 1 not in bb:
        raise ValueError("b must be a 0/1 vector with one entry per row and at least one 1")
    if W.scale <= 0 or lam.scale <= 0:
        raise ValueError("ExactPoint scales must be positive")
    L = lam.ints.ravel()
    if L.shape[0] != rows.m:
        raise ValueError(f"{L.shape[0]} multipliers for {rows.m} rows")
    neg = [k for k, v in enumerate(L) if int(v) < 0]
    if neg:
        return f"{len(neg)} multiplier(s) are negative (first: row {neg[0]}): no dual bound"
    vals = rows.values(W.ints)
    zero_viol = [k for k, (v, bk) in enumerate(zip(vals, bb, strict=True)) if bk == 0 and int(v) < 0]
    if zero_viol:
        return (f"{len(zero_viol)} constraint(s) with right-hand side 0 are violated by the rounded primal (first: row "
                f"{zero_viol[0]}); scaling cannot repair them")
    c = rows.scale * W.scale
    r = min(int(v) for v, bk in zip(vals, bb, strict=True) if bk == 1) * c
    if r <= 0:
        return "the primal point has a non-positive margin on a constraint with right-hand side 1"
    t = Fraction(1) if r >= 1 else 1 / r
    Wp = ExactPoint(W.ints, W.scale * t)
    P = Wp.sq_norm() / 2
    lam_sum = sum(int(v) for v, bk in zip(L, bb, strict=True) if bk == 1) * lam.scale
    D = lam_sum - Fraction(rows.combine_sq(L)) * (rows.scale * lam.scale) ** 2 / 2
    if D > P:  # weak duality: impossible for exact arithmetic on valid inputs
        raise RuntimeError("exact weak duality failed (dual bound above primal bound): an arithmetic defect")
    return _Bounds(P, D, Wp)


def _distance_bounds(Wp: ExactPoint, gap2: Fraction, reported: ExactPoint | None, norm_lo: Fraction
                     ) -> tuple[Fraction, Fraction] | None:
    """``(dist, dir)``: upper bounds on ``||W_f - W*||`` and on the direction error of ``W_f`` (``reported``), given
    ``||W' - W*||^2 <= gap2``."""
    if reported is None:
        return None
    dist = sqrt_bounds(sq_distance(reported, Wp), _BITS)[1] + sqrt_bounds(gap2, _BITS)[1]
    nf = sqrt_bounds(reported.sq_norm(), _BITS)[0]
    den = max(nf, norm_lo)
    direction = min(Fraction(2), 2 * dist / den) if den > 0 else Fraction(2)
    return dist, direction


def certify_l2(rows: Rows, W: ExactPoint, lam: ExactPoint, *, tol: Fraction, b: Sequence[int] | None = None,
               reported: np.ndarray | None = None, confirmed: bool = False,
               kkt_rows: Iterable[int] | None = None) -> Certificate:
    """The exact certificate of an l2 problem from a primal point and multipliers (see the module docstring).

    ``tol``: the largest relative gap ``(P - D)/P`` accepted as rigorous. ``reported``: the float64 answer whose
    distance to the optimum is bounded. ``confirmed``: whether the high-precision KKT check passed (the kind when
    the exact check fails is then "numerical"). ``kkt_rows``: when the pair does not certify, the exact KKT point
    of these (active) rows is tried: ``G_S lam_S = b_S`` solved in rationals, ``W = sum lam_k A_k``, which makes
    the active constraints hold with equality exactly (at most 200 rows)."""
    t0 = time.perf_counter()
    bb = [1] * rows.m if b is None else [int(v) for v in b]
    rep = None if reported is None else ExactPoint.of(np.asarray(reported, dtype=np.float64).reshape(rows.shape))
    res = l2_bounds(rows, bb, W, lam)
    how = "rounded high-precision primal and dual"
    if not _tight(res, tol) and kkt_rows is not None:
        alt = exact_kkt_point(rows, list(kkt_rows), bb)
        if alt is not None:
            res2 = l2_bounds(rows, bb, *alt)
            if _tight(res2, tol) or isinstance(res, str):
                res, how = res2, "exact KKT point of the active set (rational Gram solve)"
    if isinstance(res, str):
        return Certificate(NUMERICAL if confirmed else NONE, f"exact check failed: {res}",
                           seconds=time.perf_counter() - t0)
    lo = sqrt_bounds(2 * max(res.D, Fraction(0)), _BITS)[0]
    hi = sqrt_bounds(2 * res.P, _BITS)[1]
    gap = res.P - res.D
    rel = gap / res.P
    db = _distance_bounds(res.W, 2 * gap, rep, lo)
    ok = rel <= tol
    kind = RIGOROUS if ok else (NUMERICAL if confirmed else NONE)
    reason = (f"exact weak duality ({how}): primal feasible and multipliers >= 0 in rational arithmetic, relative "
              f"gap {float(rel):.3g} {'<=' if ok else '>'} tolerance {float(tol):.3g}")
    return Certificate(kind, reason, _interval(lo, hi),
                       None if db is None else decimal_up(db[0], _BOUND_DIGITS),
                       None if db is None else decimal_up(db[1], _BOUND_DIGITS),
                       float(rel), time.perf_counter() - t0, (lo, hi),
                       None if db is None else db[0], None if db is None else db[1])


def _tight(res: _Bounds | str, tol: Fraction) -> bool:
    if isinstance(res, str):
        return False
    gap = res.P - res.D
    return gap <= tol * res.P


def exact_kkt_point(rows: Rows, idx: list[int], b: Sequence[int]) -> tuple[ExactPoint, ExactPoint] | None:
    """``(W, lam)`` with ``G_S lam_S = b_S`` solved exactly on the rows ``idx`` (other multipliers 0) and
    ``W = sum_k lam_k A_k``; None when the Gram matrix is singular, a multiplier is negative, or ``idx`` is empty
    or larger than 200 rows."""
    if not idx or len(idx) > _EXACT_KKT_MAX:
        return None
    G = rows.gram(idx)  # <A_k, A_l> = G * scale^2
    y = solve_rational(G, [int(b[k]) for k in idx])
    if y is None or any(v < 0 for v in y):
        return None
    N, D = common_denominator(y)
    L = int_array([0] * rows.m, (rows.m,))
    for k, v in zip(idx, N, strict=True):
        L[k] = v
    lam_scale = Fraction(1, D) / rows.scale**2
    return ExactPoint(rows.combine(L), rows.scale * lam_scale), ExactPoint(L, lam_scale)


# ----------------------------------------------------------------------------------------------- Farkas
@dataclass(frozen=True)
class FarkasCertificate:
    """``y_k >= 0`` (exact rationals, on the rows ``rows``) with ``sum_k y_k A_k = 0`` and ``sum_k y_k b_k > 0``."""

    rows: tuple[int, ...]
    y: tuple[Fraction, ...]

    def describe(self, labels: Sequence[Any] | None = None) -> str:
        names = [labels[k] if labels is not None else k for k in self.rows]
        shown = ", ".join(f"{n}: {v}" for n, v in list(zip(names, self.y, strict=True))[:4])
        more = f", ... ({len(self.rows)} rows)" if len(self.rows) > 4 else ""
        return f"y = {{{shown}{more}}}"


def check_farkas(rows: Rows, cert: FarkasCertificate, b: Sequence[int] | None = None) -> bool:
    """Exactly: every ``y_k >= 0``, ``sum_k y_k b_k > 0`` and ``||sum_k y_k A_k||^2 == 0``."""
    if not cert.rows or len(cert.rows) != len(cert.y) or any(v < 0 for v in cert.y):
        return False
    bb = [1] * rows.m if b is None else [int(v) for v in b]
    if not all(0 <= k < rows.m for k in cert.rows) or len(set(cert.rows)) != len(cert.rows):
        return False
    if sum(v * bb[k] for k, v in zip(cert.rows, cert.y, strict=True)) <= 0:
        return False
    N, _ = common_denominator(list(cert.y))
    L = int_array([0] * rows.m, (rows.m,))
    for k, v in zip(cert.rows, N, strict=True):
        L[k] = v
    return rows.combine_sq(L) == 0


def find_farkas(rows: Rows, y: np.ndarray, b: Sequence[int] | None = None) -> FarkasCertificate | None:
    """An exact Farkas vector near the solver's approximate ``y`` (one entry per row, ``y >= 0``), or None.

    For each support threshold (``y_k > 1e-6 max y``, then 1e-9, 1e-3, 1e-12): the exact null space of the
    support's Gram matrix (``G y = 0`` iff ``sum y_k A_k = 0``), the float least-squares fit of ``y`` in that
    basis rounded to rationals, mapped back exactly; kept when it checks (:func:`check_farkas`)."""
    yv = np.clip(np.asarray(y, dtype=np.float64).ravel(), 0.0, None)
    if yv.size != rows.m or not np.all(np.isfinite(yv)) or yv.max() <= 0:
        return None
    tried: list[tuple[int, ...]] = []
    for rel in _FARKAS_REL:
        T = tuple(int(k) for k in np.flatnonzero(yv > rel * yv.max()))
        if not T or T in tried or len(T) > _FARKAS_MAX:
            continue
        tried.append(T)
        basis = nullspace_ints(rows.gram(T))
        if not basis:
            continue
        Nf = np.array([[float(v) for v in vec] for vec in basis]).T  # (|T|, r)
        scale = np.abs(Nf).max(axis=0)
        c = np.linalg.lstsq(Nf / scale, yv[list(T)], rcond=None)[0] / scale
        cands = [[Fraction(float(v)) for v in c]]
        if len(basis) == 1:
            cands.append([Fraction(1 if sum(basis[0]) >= 0 else -1)])
        for cf in cands:
            yex = [sum((cf[j] * basis[j][i] for j in range(len(basis))), Fraction(0)) for i in range(len(T))]
            keep = [(k, v) for k, v in zip(T, yex, strict=True) if v != 0]
            if not keep or any(v < 0 for _, v in keep):
                continue
            N, _ = common_denominator([v for _, v in keep])
            g = math.gcd(*N)  # any positive multiple is a certificate: report the smallest integer one
            cert = FarkasCertificate(tuple(k for k, _ in keep), tuple(Fraction(v // g) for v in N))
            if check_farkas(rows, cert, b):
                return cert
    return None


# --------------------------------------------------------------------------------------------------- lp
def _pnorm_pow_hi(ints: np.ndarray, scale: Fraction, p: Fraction, bits: int) -> tuple[Fraction, Fraction]:
    """``(lo, hi)`` enclosing ``sum_j |ints_j scale|^p``."""
    s_lo, s_hi = pow_bounds(scale, p, bits)
    lo, hi = Fraction(0), Fraction(0)
    for v in ints.ravel():
        a = abs(int(v))
        if a:
            pl, ph = pow_bounds(Fraction(a), p, bits)
            lo += pl
            hi += ph
    return lo * s_lo, hi * s_hi


def pnorm_bounds(x: ExactPoint, p: Fraction, bits: int = _BITS) -> tuple[Fraction, Fraction]:
    """``lo <= ||x||_p <= hi`` (exact rationals; integer roots or Arb, see :func:`verify.exact.pow_bounds`)."""
    lo, hi = _pnorm_pow_hi(x.ints, x.scale, p, bits)
    return pow_bounds(lo, 1 / p, bits)[0], pow_bounds(hi, 1 / p, bits)[1]


def certify_lp(rows: Rows, p: float, w: ExactPoint, mu: ExactPoint, *, tol: Fraction,
               reported: np.ndarray | None = None, confirmed: bool = False) -> Certificate:
    """The exact certificate of ``min ||w||_p s.t. <A_k, w> >= 1`` from a primal point and multipliers (any
    positive scaling of the multipliers: the lower bound is ``sum mu / ||A^T mu||_q``); see the module docstring."""
    t0 = time.perf_counter()
    P = Fraction(p)
    if P <= 1:
        raise ValueError("p must exceed 1")
    Q = P / (P - 1)
    mint = mu.ints.ravel()
    if any(int(v) < 0 for v in mint):
        return not_certified("exact check failed: a multiplier is negative", confirmed)
    vals = rows.values(w.ints)
    r = min(int(v) for v in vals) * rows.scale * w.scale
    if r <= 0:
        return not_certified("exact check failed: the primal point has a non-positive margin", confirmed)
    t = Fraction(1) if r >= 1 else 1 / r
    wp = ExactPoint(w.ints, w.scale * t)
    try:
        hi = pnorm_bounds(wp, P)[1]
        v = rows.combine(mint)
        vq_hi = pnorm_bounds(ExactPoint(np.asarray(v, dtype=object), rows.scale * mu.scale), Q)[1]
        mu_sum = sum(int(x) for x in mint) * mu.scale
        lo = mu_sum / vq_hi if vq_hi > 0 else Fraction(0)
        rep = None if reported is None else ExactPoint.of(np.asarray(reported, dtype=np.float64).reshape(rows.shape))
        dist = direction = None
        if rep is not None:
            N = int(np.prod(rows.shape))
            if P <= 2:
                dp = sqrt_bounds(max(hi * hi - lo * lo, Fraction(0)) / (P - 1), _BITS)[1]
            else:
                h, lw = pow_bounds(hi, P, _BITS)[1], pow_bounds(lo, P, _BITS)[0]
                dp = 2 * pow_bounds(max(h - lw, Fraction(0)) / 2, 1 / P, _BITS)[1]
                dp *= pow_bounds(Fraction(N), (P - 2) / (2 * P), _BITS)[1]
            dist = sqrt_bounds(sq_distance(rep, wp), _BITS)[1] + dp
            nf = sqrt_bounds(rep.sq_norm(), _BITS)[0]
            direction = min(Fraction(2), 2 * dist / nf) if nf > 0 else Fraction(2)
    except ExactUnavailable as exc:
        return not_certified(f"not checked exactly: {exc}", confirmed)
    if lo > hi:
        raise RuntimeError("exact lp weak duality failed (dual bound above primal bound): an arithmetic defect")
    rel = (hi - lo) / hi
    ok = rel <= tol
    kind = RIGOROUS if ok else (NUMERICAL if confirmed else NONE)
    how = "integer roots" if all(integer_roots(e) for e in (P, 1 / P, Q, 1 / Q)) else "Arb balls"
    reason = (f"exact lp weak duality: primal feasible and multipliers >= 0 in rational arithmetic, p-norms "
              f"enclosed ({how}), relative gap {float(rel):.3g} {'<=' if ok else '>'} tolerance {float(tol):.3g}")
    return Certificate(kind, reason, _interval(lo, hi), None if dist is None else decimal_up(dist, _BOUND_DIGITS),
                       None if direction is None else decimal_up(direction, _BOUND_DIGITS), float(rel),
                       time.perf_counter() - t0, (lo, hi), dist, direction)
