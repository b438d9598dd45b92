"""Att-SVM: the max-margin token-selection problem, solved by cvxpy/Clarabel, confirmed in mpmath and certified
in exact rational arithmetic.

Data: ``X`` has shape ``(n, T, d)`` (sequence ``i`` has tokens ``x_{i,t} = X[i, t]``), ``Z`` has shape
``(n, d)`` (queries ``z_i``), and a token choice ``alpha`` picks one ``alpha_i`` in ``{0..T-1}`` per sequence.
The Att-SVM is

    W_mm(alpha) = argmin ||W||_F  s.t.  (x_{i,alpha_i} - x_{i,t})^T W z_i >= 1   for all i, t != alpha_i.

With ``w = vec(W)`` (row-major: ``W[a, b] = w[a*d + b]``) and ``a_k = vec(u_k z_i^T)``,
``u_k = x_{i,alpha_i} - x_{i,t}`` for the k-th pair ``(i, t)``, the constraint reads ``a_k^T w = u_k^T W z_i``
and the problem is the QP

    primal:  min 1/2 ||w||^2  s.t.  A w >= 1;        dual:  max 1^T lam - 1/2 ||A^T lam||^2  s.t.  lam >= 0,

with KKT conditions ``w = A^T lam``, ``lam >= 0``, ``A w >= 1``, ``lam_k (a_k^T w - 1) = 0``. The primal is
strictly convex, so ``W_mm`` is unique whenever the problem is feasible; the multipliers need not be.

The float64 input data are taken to be exact (every float64 is an exact rational); every statement is about
that exact problem. Two levels, two words:

- **confirmed**: the active set is solved in mpmath at ``dps`` digits and every KKT residual is measured within a
  tolerance (:func:`solve_att_svm`). Strong evidence, not a proof (the residuals are rounded).
- **certified** (``certified=True``, ``certificate="rigorous"``): the high-precision primal and dual, taken
  exactly as rationals, pass the exact weak-duality check of :mod:`theorems.attention.certificate`: an exactly
  feasible primal (the rounded one scaled up by its exact minimum margin) and exactly nonnegative multipliers
  whose bounds agree to the tolerance. That encloses ``||W_mm||`` (``norm_interval``) and bounds the distance of
  the reported float64 ``W`` to ``W_mm`` (``distance_bound``) and its direction error (``direction_bound``).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import mpmath
import numpy as np

from theorems.attention.certificate import (
    Certificate,
    ExactPoint,
    FactoredRows,
    certify_l2,
    find_farkas,
    not_certified,
)
from theorems.attention.resources import dense_svm_estimate, svm_estimate
from verify.errors import InfeasibleProblemError, SolverError, VerifyInputError
from verify.exact import to_fraction
from verify.resources import DEFAULT, enforce

if TYPE_CHECKING:
    import cvxpy as cp
else:  # imported on first use: start-up (verify list, show, --help) does not pay for cvxpy
    from verify.lazy import lazy_module

    cp = lazy_module("cvxpy")

Label = tuple[int, int]

#: Active-set guess from the solver (both ratios are invariant under rescaling the data):
#: ``k`` is guessed active when ``lam_k >= _DUAL_REL * max(lam)`` or ``|a_k^T w - 1| <= _PRIMAL_TIGHT``.
#: Clarabel stops at relative accuracy ~1e-8, so strictly active rows have slack ~1e-8 and inactive rows
#: multipliers ~1e-8 * max(lam); 1e-6 sits between with two orders of magnitude to spare on each side.
_DUAL_REL = 1e-6
_PRIMAL_TIGHT = 1e-6
#: A solver "infeasible" is first turned into an exact Farkas vector (:func:`theorems.attention.certificate.
#: find_farkas`); when none is found it is reported as not certified (SolverError). The Farkas QP (min ||A^T y||
#: over the simplex) is solved by Clarabel only to ~3e-5..6e-5 relative on exactly infeasible data; a combination
#: of norm <= this times the largest row is what the message then quotes (any separating W needs
#: ||W||_F >= 1/||A^T y||).
_FARKAS_REL = 1e-3
_MIN_DPS = 20
_MAX_USER_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class SVMSolution:
    """Result of :func:`solve_att_svm`; every residual is measured in mpmath at ``dps`` digits.

    ``confirmed``: the mpmath KKT check passed. ``certified``: the exact certificate ``proof`` is rigorous
    (status ``"optimal"``); otherwise status ``"optimal_inaccurate"`` and callers should report "undecided".
    ``W`` is the float64 rounding of the high-precision solution when confirmed, else the solver's own float
    solution. ``proof`` (:class:`~theorems.attention.certificate.Certificate`) carries ``norm_interval`` (decimal
    strings enclosing ``||W_mm||``), ``distance_bound`` (``||W - W_mm||_F``, for this float64 ``W``) and
    ``direction_bound``. ``multipliers`` maps every constraint ``(i, t)`` to its dual ``lam`` (0 if inactive).
    ``support`` lists the tight constraints, sorted. ``eq=False``: instances compare by identity (``W`` is an
    array).
    """

    W: np.ndarray
    norm: float
    margin: float
    support: tuple[Label, ...]
    multipliers: dict[Label, float]
    status: str
    certified: bool
    max_constraint_violation: float
    stationarity: float
    complementary_slackness: float
    duality_gap: float
    alpha: tuple[int, ...]
    dps: int
    confirmed: bool = False
    proof: Certificate = field(default_factory=lambda: not_certified("no exact check was run", False))

    @property
    def norm_interval(self) -> tuple[str, str] | None:
        return self.proof.norm_interval

    @property
    def distance_bound(self) -> str | None:
        return self.proof.distance_bound

    def to_json(self) -> dict:
        """A JSON-able dict (plain lists, ints, floats, strings, bools)."""
        return {
            "alpha": list(self.alpha),
            "status": self.status,
            "certified": self.certified,
            "confirmed": self.confirmed,
            **self.proof.to_json(),
            "norm": self.norm,
            "margin": self.margin,
            "support": [[i, t] for i, t in self.support],
            "multipliers": [[i, t, lam] for (i, t), lam in sorted(self.multipliers.items())],
            "W": self.W.tolist(),
            "max_constraint_violation": self.max_constraint_violation,
            "stationarity": self.stationarity,
            "complementary_slackness": self.complementary_slackness,
            "duality_gap": self.duality_gap,
            "dps": self.dps,
        }


# ----------------------------------------------------------------------------------------------- inputs


def _as_alpha(alpha: Sequence[int], n: int, T: int) -> tuple[int, ...]:
    try:
        out = tuple(operator.index(a) for a in alpha)
    except TypeError as exc:
        raise VerifyInputError(f"alpha must be a sequence of integers, got {alpha!r}") from exc
    if len(out) != n:
        raise VerifyInputError(f"alpha has {len(out)} entries but there are n={n} sequences")
    bad = [a for a in out if not 0 <= a < T]
    if bad:
        raise VerifyInputError(f"alpha entries {bad} are outside 0..{T - 1} (T={T} tokens per sequence)")
    return out


def _check_data(X: np.ndarray, Z: np.ndarray, alpha: Sequence[int]) -> tuple[np.ndarray, np.ndarray, tuple]:
    Xa, Za = np.asarray(X, dtype=np.float64), np.asarray(Z, dtype=np.float64)
    if Xa.ndim != 3 or Za.ndim != 2 or Za.shape != (Xa.shape[0], Xa.shape[2]):
        raise VerifyInputError(
            f"expected X of shape (n, T, d) and Z of shape (n, d); got {Xa.shape}, {Za.shape}"
        )
    n, T, d = Xa.shape
    if n < 1 or d < 1 or T < 2:
        raise VerifyInputError(f"the Att-SVM needs n >= 1, d >= 1 and T >= 2 tokens; got n={n}, T={T}, d={d}")
    if not (np.all(np.isfinite(Xa)) and np.all(np.isfinite(Za))):
        raise VerifyInputError("X and Z must be finite (found NaN or inf)")
    return Xa, Za, _as_alpha(alpha, n, T)


def _alpha_str(alpha: tuple[int, ...]) -> str:
    return str(alpha) if len(alpha) <= 12 else f"({', '.join(map(str, alpha[:10]))}, ...) [n={len(alpha)}]"


def att_svm_constraints(X: np.ndarray, Z: np.ndarray, alpha: Sequence[int]) -> tuple[np.ndarray, list[Label]]:
    """Constraint rows of the Att-SVM: ``A`` of shape ``(n(T-1), d^2)`` and the label ``(i, t)`` of each row.

    Row ``k`` for the pair ``(i, t)``, ``t != alpha_i`` (pairs in lexicographic order), is
    ``a_k = vec((x_{i,alpha_i} - x_{i,t}) z_i^T)`` in row-major order, so ``a_k @ W.ravel()`` equals
    ``(x_{i,alpha_i} - x_{i,t}) @ W @ z_i``. Entries are rounded to float64 (the solver's input); the
    certificate recomputes them exactly.
    """
    Xa, Za, al = _check_data(X, Z, alpha)
    labels = [(i, t) for i in range(Xa.shape[0]) for t in range(Xa.shape[1]) if t != al[i]]
    rows = [np.outer(Xa[i, al[i]] - Xa[i, t], Za[i]).ravel() for i, t in labels]
    return np.array(rows, dtype=np.float64), labels


# ------------------------------------------------------------------------------------------ factored rows


@dataclass(frozen=True)
class _Rows:
    """The constraint rows in factored form, float64: ``a_k = vec(U[k] Z[seq[k]]^T)`` (never the dense m x d^2).

    ``A @ w`` (``w = vec(W)`` row-major, or ``W`` itself) costs O(nd^2 + md), a working set's Gram matrix
    ``<a_k, a_l> = <u_k, u_l><z_i, z_j>`` O(s^2 d). ``U[k]`` is the float64 rounding of ``x_{i,alpha_i} - x_{i,t}``
    (the solver's input; the certificate recomputes it exactly).
    """

    U: np.ndarray
    Z: np.ndarray
    seq: np.ndarray
    d: int

    def __matmul__(self, w: np.ndarray) -> np.ndarray:
        W = np.asarray(w, dtype=np.float64).reshape(self.d, self.d)
        return np.einsum("kd,kd->k", self.U, (self.Z @ W.T)[self.seq])

    def __len__(self) -> int:
        return len(self.seq)

    def gram(self, idx: np.ndarray) -> np.ndarray:
        U, Zs = self.U[idx], self.Z[self.seq[idx]]
        return (U @ U.T) * (Zs @ Zs.T)

    def dense(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` as a dense ``(len(idx), d^2)`` array (small sets only)."""
        return np.einsum("ka,kb->kab", self.U[idx], self.Z[self.seq[idx]]).reshape(len(idx), -1)

    def combine(self, idx: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """``sum_k lam_k u_k z_{seq_k}^T`` over rows ``idx`` (float64, d x d)."""
        V = np.zeros((self.Z.shape[0], self.d))
        np.add.at(V, self.seq[idx], lam[:, None] * self.U[idx])
        return V.T @ self.Z

    def norms(self) -> np.ndarray:
        return np.linalg.norm(self.U, axis=1) * np.linalg.norm(self.Z[self.seq], axis=1)


def _rows(Xa: np.ndarray, Za: np.ndarray, alpha: tuple) -> tuple[_Rows, list[Label]]:
    n, T, d = Xa.shape
    labels = [(i, t) for i in range(n) for t in range(T) if t != alpha[i]]
    seq = np.array([i for i, _ in labels], dtype=np.intp)
    tok = np.array([t for _, t in labels], dtype=np.intp)
    U = Xa[seq, np.asarray(alpha, dtype=np.intp)[seq]] - Xa[seq, tok]
    return _Rows(U, Za, seq, d), labels


# ------------------------------------------------------------------------ high precision (mpmath) arithmetic


@dataclass(frozen=True)
class _Exact:
    """The constraint data in mpmath, built on first use per row (only the rows the certificate touches):
    ``a_k = vec(u_k z_{seq_k}^T)``, ``u_k = x_{i,alpha_i} - x_{i,t}`` formed exactly from the float64 inputs.

    Using this factored form, ``<a_k, a_l> = <u_k, u_l> <z_i, z_j>`` and ``a_k^T w = u_k^T (W z_i)`` cost O(d)
    instead of O(d^2) operations.
    """

    ctx: Any
    X: np.ndarray
    Zf: np.ndarray
    alpha: tuple
    labels: list[Label]
    seq: list[int]
    d: int
    _u: dict = field(default_factory=dict)
    _z: dict = field(default_factory=dict)
    _memo: dict = field(default_factory=dict)

    def u(self, k: int) -> list[Any]:
        if k not in self._u:
            i, t = self.labels[k]
            mpf = self.ctx.mpf
            self._u[k] = [mpf(float(p)) - mpf(float(q)) for p, q in zip(self.X[i, self.alpha[i]], self.X[i, t],
                                                                        strict=True)]
        return self._u[k]

    def z(self, i: int) -> list[Any]:
        if i not in self._z:
            self._z[i] = [self.ctx.mpf(float(v)) for v in self.Zf[i]]
        return self._z[i]


def _exact(ctx: Any, Xa: np.ndarray, Za: np.ndarray, alpha: tuple, labels: list[Label]) -> _Exact:
    return _Exact(ctx, Xa, Za, alpha, labels, [i for i, _ in labels], Xa.shape[2])


def _gram(ex: _Exact, k: int, l: int) -> Any:
    return ex.ctx.fdot(ex.u(k), ex.u(l)) * ex.ctx.fdot(ex.z(ex.seq[k]), ex.z(ex.seq[l]))


def _combine(ex: _Exact, lam: Sequence[Any]) -> list[list[Any]]:
    """``A^T lam`` as a d x d matrix: ``sum_k lam_k u_k z_{seq_k}^T`` over the nonzero ``lam_k`` only."""
    ctx, d = ex.ctx, ex.d
    key = [(k, lk) for k, lk in enumerate(lam) if lk]
    memo = ex._memo.get("combine")
    if memo is not None and memo[0] == key:
        return [list(row) for row in memo[1]]
    V: dict[int, list[Any]] = {}
    for k, lk in enumerate(lam):
        if lk:
            i = ex.seq[k]
            acc = V.get(i, [ctx.mpf(0)] * d)
            V[i] = [v + lk * u for v, u in zip(acc, ex.u(k), strict=True)]
    if not V:
        return [[ctx.mpf(0)] * d for _ in range(d)]
    seqs = sorted(V)
    cols = [[V[i][a] for i in seqs] for a in range(d)]
    zcols = [[ex.z(i)[b] for i in seqs] for b in range(d)]
    out = [[ctx.fdot(cols[a], zcols[b]) for b in range(d)] for a in range(d)]
    ex._memo["combine"] = (key, out)  # the last combination, reused when the same multipliers come back
    return [list(row) for row in out]


def _slacks_on(ex: _Exact, W: list[list[Any]], rows: Iterable[int]) -> dict[int, Any]:
    """``a_k^T w - 1`` for the given rows k, exactly (``W z_i`` once per sequence touched)."""
    Wz: dict[int, list[Any]] = {}
    out = {}
    for k in rows:
        i = ex.seq[k]
        if i not in Wz:
            Wz[i] = [ex.ctx.fdot(row, ex.z(i)) for row in W]
        out[k] = ex.ctx.fdot(ex.u(k), Wz[i]) - 1
    return out


def _slacks(ex: _Exact, W: list[list[Any]]) -> list[Any]:
    """``a_k^T w - 1`` for every row k."""
    s = _slacks_on(ex, W, range(len(ex.labels)))
    return [s[k] for k in range(len(ex.labels))]


def _norm2(ctx: Any, W: list[list[Any]]) -> Any:
    return ctx.fsum(v * v for row in W for v in row)


#: Active sets up to this size are factorized exactly in mpmath (incremental Cholesky, O(s^3) mpmath
#: operations); larger ones by float64 Cholesky plus iterative refinement of the mpmath residual
#: (:func:`_polish_refined`), which costs O(n d^2 + s d) mpmath operations per round instead.
_MP_CHOLESKY_MAX = 120
#: Float64 rank test of :func:`_polish_refined`: a row is dropped when its squared residual against the kept rows
#: is below this fraction of its squared norm (float64 cannot see dependence below ~1e-13).
_FLOAT_RANK_TOL = 1e-11
_MAX_REFINE = 12


def _polish(ex: _Exact, order: list[int], rank_tol: Any, rows: _Rows | None = None) -> list[Any] | None:
    """Multipliers from the equality system on a guessed active set, or None if it is empty.

    Rows are taken in ``order``; a row is kept unless its component orthogonal to the kept rows is
    negligible (squared-norm ratio ``<= rank_tol``): an incremental Cholesky factorisation ``G_S = L L^T`` of
    the Gram matrix ``G_S = A_S A_S^T`` of the kept rows ``S``. Then ``lam_S = G_S^{-1} 1`` (other entries 0),
    so ``w = A_S^T lam_S`` is the minimum-norm point of ``{w : A_S w = 1}``. Dropped rows are (numerically)
    combinations of kept rows, so the certificate, which checks every row, decides whether dropping was right.
    Active sets larger than ``_MP_CHOLESKY_MAX`` go to :func:`_polish_refined` (same system, same meaning).
    """
    if rows is not None and len(order) > _MP_CHOLESKY_MAX:
        return _polish_refined(ex, order, rows)
    ctx = ex.ctx
    kept: list[int] = []
    L: list[list[Any]] = []
    for k in order:
        c: list[Any] = []
        for j, kj in enumerate(kept):
            c.append((_gram(ex, kj, k) - ctx.fdot(L[j][:j], c)) / L[j][j])
        gkk = _gram(ex, k, k)
        r = gkk - ctx.fdot(c, c)
        if r > rank_tol * gkk:
            L.append([*c, ctx.sqrt(r)])
            kept.append(k)
    if not kept:
        return None
    y: list[Any] = []
    for j in range(len(kept)):
        y.append((1 - ctx.fdot(L[j][:j], y)) / L[j][j])
    x = [ctx.mpf(0)] * len(kept)
    for j in reversed(range(len(kept))):
        x[j] = (y[j] - ctx.fsum(L[i][j] * x[i] for i in range(j + 1, len(kept)))) / L[j][j]
    lam = [ctx.mpf(0)] * len(ex.labels)
    for j, k in enumerate(kept):
        lam[k] = x[j]
    return lam


def _float_basis(G: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Positions (into ``G``'s order) of a linearly independent subset and the Cholesky factor of its Gram
    matrix: LAPACK when ``G`` is numerically definite, else the in-order incremental factorization that drops a
    row whose squared residual is ``<= _FLOAT_RANK_TOL`` of its squared norm."""
    import scipy.linalg as sla

    diag = np.diag(G).copy()
    try:
        L = np.linalg.cholesky(G)
        if np.all(np.diag(L) ** 2 > _FLOAT_RANK_TOL * diag):
            return list(range(len(G))), L
    except np.linalg.LinAlgError:
        pass
    kept: list[int] = []
    L = np.zeros((len(G), len(G)))
    for k in range(len(G)):
        j = len(kept)
        c = sla.solve_triangular(L[:j, :j], G[kept, k], lower=True) if j else np.zeros(0)
        r = diag[k] - c @ c
        if r > _FLOAT_RANK_TOL * diag[k]:
            L[j, :j], L[j, j] = c, np.sqrt(r)
            kept.append(k)
    j = len(kept)
    return kept, L[:j, :j]


def _polish_refined(ex: _Exact, order: list[int], rows: _Rows) -> list[Any] | None:
    """:func:`_polish` for large active sets: the basis and ``G_S``'s Cholesky factor in float64, then
    ``lam_S`` by iterative refinement with exact residuals: ``r = 1 - A_S A_S^T lam_S`` is computed in mpmath
    through ``W = A_S^T lam_S`` (O(n d^2 + s d) operations, never the s x s Gram matrix), and
    ``lam_S += G_S^{-1} r`` in float64. Each round gains about ``16 - log10 cond(G_S)`` digits; it stops at
    ``10^(5-dps)`` or when the residual no longer halves. Returns None for an empty set."""
    import scipy.linalg as sla

    ctx = ex.ctx
    idx = np.asarray(order, dtype=np.intp)
    pos, L = _float_basis(rows.gram(idx))
    kept = [int(idx[p]) for p in pos]
    if not kept:
        return None

    def solve(b: np.ndarray) -> np.ndarray:
        return sla.cho_solve((L, True), b)

    lam_k = [ctx.mpf(float(v)) for v in solve(np.ones(len(kept)))]
    lam = [ctx.mpf(0)] * len(ex.labels)
    target, prev = ctx.power(10, 5 - ctx.dps), None
    for _ in range(_MAX_REFINE):
        for k, v in zip(kept, lam_k, strict=True):
            lam[k] = v
        sl = _slacks_on(ex, _combine(ex, lam), kept)
        r = [-sl[k] for k in kept]
        rmax = max(abs(v) for v in r)
        if rmax <= target or (prev is not None and rmax > prev / 2):
            break
        prev = rmax
        delta = solve(np.array([float(v) for v in r]))
        lam_k = [v + ctx.mpf(float(e)) for v, e in zip(lam_k, delta, strict=True)]
    return lam


@dataclass(frozen=True)
class _Measured:
    """KKT residuals of a primal-dual pair ``(W, lam)``, all in mpmath."""

    W: list[list[Any]]
    lam: list[Any]
    slack: list[Any]
    violation: Any
    min_lam: Any
    stationarity: Any
    comp: Any
    gap: Any
    norm2: Any


#: Rows whose float64 slack, minus its rounding bound, exceeds this are proven satisfied and not tight
#: without exact arithmetic (the largest tightness threshold any caller uses is ``_PRIMAL_TIGHT``).
_SCREEN = 2 * _PRIMAL_TIGHT


def _screened_slacks(ex: _Exact, W: list[list[Any]], lam: list[Any], rows: _Rows) -> list[Any]:
    """``a_k^T w - 1`` for every row: exactly (mpmath) for the rows with ``lam_k != 0`` and for every row that
    float64 cannot place above ``_SCREEN``; for the others their float64 value, which is then proven to exceed
    ``_SCREEN`` > 0 (so they add nothing to the violation, the complementarity or the support).

    Float64 bound: with ``W_f`` = fl(W), ``u_f`` = fl(x_a - x_t) and the evaluation ``fl(u_f^T fl(W_f z))``,
    ``|fl - exact| <= (2d + 4) u |u_f|^T |W_f| |z|`` (u = 2^-53: W's and u_k's rounding, two d-term dot
    products); we use ``(4d + 16) u`` times the float64 value of ``|u_f|^T |W_f| |z|``, plus 1e-290 for
    underflow."""
    Wf = np.array([[float(v) for v in row] for row in W], dtype=np.float64)
    sf = (rows @ Wf) - 1.0
    mag = np.einsum("kd,kd->k", np.abs(rows.U), (np.abs(rows.Z) @ np.abs(Wf).T)[rows.seq])
    bound = (4 * rows.d + 16) * 2.0**-53 * mag + 1e-290
    exact_rows = np.flatnonzero(~(sf - bound > _SCREEN) | ~np.isfinite(sf))
    need = sorted(set(exact_rows.tolist()) | {k for k, lk in enumerate(lam) if lk})
    ex_sl = _slacks_on(ex, W, need)
    out: list[Any] = [float(v) for v in sf]
    for k, v in ex_sl.items():
        out[k] = v
    return out


def _measure(ex: _Exact, W: list[list[Any]], lam: list[Any], rows: _Rows | None = None) -> _Measured:
    """Residuals: violation ``max(0, max_k 1 - a_k^T w)``, ``min lam``, stationarity
    ``||w - A^T lam||_inf``, complementarity ``max_k |lam_k (a_k^T w - 1)|`` and the duality gap
    ``1/2||w||^2 - (1^T lam - 1/2||A^T lam||^2)``. With ``rows``, slacks are exact only where they matter
    (:func:`_screened_slacks`); without, exact on every row."""
    ctx = ex.ctx
    slack = _slacks(ex, W) if rows is None else _screened_slacks(ex, W, lam, rows)
    AtL = _combine(ex, lam)
    n2 = _norm2(ctx, W)
    return _Measured(
        W=W,
        lam=lam,
        slack=slack,
        violation=max(ctx.mpf(0), -min(slack)),
        min_lam=min(lam),
        stationarity=max(
            abs(p - q) for r1, r2 in zip(W, AtL, strict=True) for p, q in zip(r1, r2, strict=True)
        ),
        comp=max(abs(lk * s) for lk, s in zip(lam, slack, strict=True) if lk) if any(lam) else ctx.mpf(0),
        gap=n2 / 2 - (ctx.fsum(lam) - _norm2(ctx, AtL) / 2),
        norm2=n2,
    )


def _confirms(r: _Measured, tol: Any) -> bool:
    """All KKT conditions hold to ``tol``, each relative to its natural scale (so the test is scale-free):
    violation ``<= tol`` (the right-hand side is 1), ``min lam >= -tol max lam``, stationarity
    ``<= tol max|W|``, complementarity ``<= tol max lam``, ``|gap| <= tol ||w||^2``."""
    lam_max = max(r.lam)
    w_max = max(abs(v) for row in r.W for v in row)
    if lam_max <= 0 or w_max == 0:
        return False
    return bool(
        r.violation <= tol
        and r.min_lam >= -tol * lam_max
        and r.stationarity <= tol * w_max
        and r.comp <= tol * lam_max
        and abs(r.gap) <= tol * r.norm2
    )


# ------------------------------------------------------------------------------------------------ solver


def _reject_zero_rows(A: np.ndarray | _Rows, labels: list[Label], alpha: tuple) -> None:
    """A zero row is an exact Farkas certificate: ``a_k^T w = 0 < 1`` for every ``w``. For factored rows,
    ``u_k z_i^T = 0`` exactly iff ``u_k = 0`` (``x_(i,alpha_i) = x_(i,t)``) or ``z_i = 0``."""
    if isinstance(A, _Rows):
        zero_mask = ~np.any(A.U != 0, axis=1) | ~np.any(A.Z != 0, axis=1)[A.seq]
    else:
        zero_mask = ~np.any(A != 0, axis=1)
    zero = [labels[k] for k in np.flatnonzero(zero_mask)]
    if zero:
        i, t = zero[0]
        raise InfeasibleProblemError(
            f"Att-SVM for alpha={_alpha_str(alpha)} is infeasible: constraint (i={i}, t={t}) reads 0 >= 1 "
            f"(x_(i,alpha_i) = x_(i,t) or z_i = 0; {len(zero)} such constraint(s))"
        )


#: Working sets of at least this many rows are solved with Clarabel's multithreaded supernodal LDL (faer),
#: when the installed Clarabel has it; smaller ones with its default (QDLDL).
_FAER_MIN = 400


def _has_faer() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(v) for v in version("clarabel").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (0, 10)


def _cvx_solve(prob: cp.Problem, what: str, size: int = 0) -> str | None:
    import warnings

    opts = {"direct_solve_method": "faer"} if size >= _FAER_MIN and _has_faer() else {}
    try:
        with warnings.catch_warnings():  # "Solution may be inaccurate": the status is checked, the certificate decides
            warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
            prob.solve(solver=cp.CLARABEL, **opts)
    except cp.error.SolverError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SolverError(f"Clarabel failed on {what}: {first}") from exc
    return None if prob.status is None else str(prob.status)


def _solve_qp(A: np.ndarray, what: str) -> tuple[str | None, np.ndarray | None, np.ndarray | None]:
    """``min 1/2||w||^2 s.t. A w >= 1`` with Clarabel on dense rows; returns (status, w, lam)."""
    w = cp.Variable(A.shape[1])
    con = A @ w >= 1
    status = _cvx_solve(cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w)), [con]), what)
    lam = None if con.dual_value is None else np.asarray(con.dual_value, dtype=np.float64).reshape(-1)
    return status, (None if w.value is None else np.asarray(w.value, dtype=np.float64)), lam


def _dual_qp(G: np.ndarray, what: str) -> tuple[str | None, np.ndarray | None]:
    """``min 1/2 lam^T G lam - 1^T lam s.t. lam >= 0`` (the Att-SVM's dual on a working set); (status, lam)."""
    lam = cp.Variable(G.shape[0], nonneg=True)
    prob = cp.Problem(cp.Minimize(0.5 * cp.quad_form(lam, cp.psd_wrap(G)) - cp.sum(lam)))
    status = _cvx_solve(prob, what, G.shape[0])
    return status, (None if lam.value is None else np.asarray(lam.value, dtype=np.float64).reshape(-1))


#: Working-set solve: every row when there are at most this many, else start from this many shortest rows.
_WS_START = 1500
_WS_ROUNDS = 40


def _working_set_solve(rows: _Rows, ex: _Exact, what: str,
                       shape: str) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """The Att-SVM in float64 through its dual on a working set S of rows (cvxpy/Clarabel sees the s x s Gram
    matrix of S, never the m x d^2 rows): solve, compute every row's slack from ``W = A_S^T lam_S`` in the
    factored form, add the most violated rows (slack < 1 - 1e-6), drop rows with ``lam_k = 0`` and slack
    > 1 + 1e-3, repeat until no row is violated. Each round's dual value strictly increases (the added rows are
    violated, the dropped ones inactive), so no set repeats. Starts from all rows when m <= 1500, else from the
    1500 rows of smallest norm (a short row needs a large W to reach margin 1).

    Returns (status, w, lam over all m rows, S). An unbounded dual (the rows of S admit no separating W) raises
    :class:`InfeasibleProblemError` after a Farkas check on S.
    """
    m = len(rows)
    S = np.arange(m) if m <= _WS_START else np.sort(np.argpartition(rows.norms(), _WS_START)[:_WS_START])
    status: str | None = None
    for _ in range(_WS_ROUNDS):
        G = rows.gram(S)
        status, lam_s = _dual_qp(G, what)
        if status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE, cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise _infeasible_error(ex, rows, S, G, what, shape)
        if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or lam_s is None or not np.all(np.isfinite(lam_s)):
            raise SolverError(f"Clarabel returned status {status!r} on {what} ({shape}); no solution to certify")
        lam_s = np.clip(lam_s, 0.0, None)
        W = rows.combine(S, lam_s)
        sl = rows @ W
        viol = np.flatnonzero(sl < 1 - _PRIMAL_TIGHT)
        viol = viol[~np.isin(viol, S)]
        if viol.size == 0:
            lam = np.zeros(m)
            lam[S] = lam_s
            return str(status), W.ravel(), lam, S
        add = viol[np.argsort(sl[viol], kind="stable")][: max(500, len(S) // 2)]
        lam_max = float(lam_s.max()) if lam_s.size else 0.0
        keep = S[(lam_s > _DUAL_REL * 1e-3 * lam_max) | (sl[S] < 1 + 1e-3)]
        S = np.union1d(keep, add)
    raise SolverError(f"the working-set solve of {what} ({shape}) did not settle in {_WS_ROUNDS} rounds")


def _infeasible_error(ex: _Exact, rows: _Rows, S: np.ndarray, G: np.ndarray, what: str,
                      shape: str) -> InfeasibleProblemError | SolverError:
    """Check the solver's 'infeasible' with a Farkas vector over the working set S (a certificate for S is one
    for all rows): ``y`` minimises ``||A_S^T y||^2 = y^T G_S y`` over the simplex (Clarabel), then
    :func:`theorems.attention.certificate.find_farkas` turns it into an exact rational ``y >= 0`` with
    ``sum_k y_k A_k = 0`` (checked exactly): the returned :class:`InfeasibleProblemError` says "exact Farkas
    certificate". When no exact vector is found, the infeasibility is not certified: :class:`SolverError`, quoting
    the proven bound ``||W||_F >= 1/||A^T y||`` for any separating ``W`` (``1 = 1^T y <= y^T A w <=
    ||A^T y|| ||w||``, measured in mpmath) when ``||A^T y||`` is small relative to the largest row.
    """
    y = cp.Variable(G.shape[0], nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(G))), [cp.sum(y) == 1])
    status = _cvx_solve(prob, f"the Farkas problem of {what}", G.shape[0])
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or y.value is None:
        raise SolverError(
            f"Clarabel reported {what} infeasible but the Farkas problem ended with status {status!r}"
        )
    ctx = ex.ctx
    yv = np.clip(np.asarray(y.value, dtype=np.float64), 0.0, None)
    y_full = np.zeros(len(rows))
    y_full[S] = yv
    exact_rows = FactoredRows.from_data(ex.X, ex.Zf, ex.alpha)
    cert = find_farkas(exact_rows, y_full)
    if cert is not None:
        return InfeasibleProblemError(
            f"{what[0].upper()}{what[1:]} is infeasible: no W separates the selected tokens ({shape}; exact Farkas "
            f"certificate: y >= 0 on {len(cert.rows)} constraint(s) with sum_k y_k A_k = 0 exactly, checked in "
            f"rational arithmetic; {cert.describe(ex.labels)})")
    ym = [ctx.mpf(0)] * len(rows)
    for k, v in zip(S, yv, strict=True):
        ym[int(k)] = ctx.mpf(float(v))
    total = ctx.fsum(ym)
    delta = ctx.sqrt(_norm2(ctx, _combine(ex, [v / total for v in ym]))) if total > 0 else ctx.inf
    row_max = max(ctx.sqrt(_gram(ex, int(k), int(k))) for k in S)
    if not delta <= _FARKAS_REL * row_max:
        raise SolverError(
            f"Clarabel reported {what} infeasible but no Farkas certificate was found "
            f"(min ||A^T y|| over the simplex ~ {float(delta):.3g}, largest row {float(row_max):.3g})"
        )
    bound = f"{float(delta):.3g}, so any separating W needs ||W||_F >= {float(1 / delta):.3g}" if delta else "~0"
    return SolverError(
        f"Clarabel reported {what} infeasible; not certified: no exact Farkas certificate was found ({shape}; a "
        f"convex combination of the constraint rows has norm {bound})"
    )



def _candidate_orders(A: np.ndarray | _Rows, w: np.ndarray, lam: np.ndarray) -> list[list[int]]:
    """Guessed active sets, each ordered by decreasing solver multiplier: (dual OR primal rule), then the
    primal-tightness rule alone, then the dual rule alone (duplicates and empty sets skipped)."""
    lam_max = float(np.max(lam))
    dual = lam >= _DUAL_REL * lam_max if lam_max > 0 else np.zeros(lam.shape, dtype=bool)
    tight = np.abs(A @ w - 1.0) <= _PRIMAL_TIGHT
    rank = np.argsort(-lam, kind="stable")
    out: list[list[int]] = []
    for mask in (dual | tight, tight, dual):
        order = [int(k) for k in rank if mask[k]]
        if order and order not in out:
            out.append(order)
    return out


def _nnls(M: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lawson-Hanson active-set NNLS, ``argmin ||M x - b|| s.t. x >= 0`` (float64).

    Its passive set (the positive entries) has linearly independent columns, which is what a basis for the
    multipliers needs; the result is only a guess for :func:`_polish`, so no accuracy is assumed here.
    """
    k = M.shape[1]
    x, P = np.zeros(k), np.zeros(k, dtype=bool)
    eps = 10 * np.finfo(np.float64).eps * max(M.shape) * max(1.0, float(np.abs(M).max()))

    def restricted_lstsq() -> np.ndarray:
        s = np.zeros(k)
        s[P] = np.linalg.lstsq(M[:, P], b, rcond=None)[0]
        return s

    for _ in range(3 * k):
        grad = M.T @ (b - M @ x)
        if P.all() or grad[~P].max() <= eps:
            break
        P[int(np.argmax(np.where(P, -np.inf, grad)))] = True
        s = restricted_lstsq()
        while P.any() and s[P].min() <= 0:
            neg = P & (s <= 0)
            x = x + float(np.min(x[neg] / (x[neg] - s[neg]))) * (s - x)
            P &= x > eps
            s = restricted_lstsq()
        x = s
    return x


#: NNLS basis search only for tight sets whose dense rows have at most this many entries (it is a fallback for
#: degenerate supports; beyond this size the certificate simply stays with the candidates already tried).
_NNLS_MAX_ENTRIES = 500_000


def _nnls_order(A: np.ndarray | _Rows, r: _Measured, tol: Any) -> list[int]:
    """Rows of a basis for the multipliers of a primal-confirmed ``w``: among the rows tight at ``w``, the
    passive set of ``min ||A_T^T lam - w||, lam >= 0``, by decreasing ``lam``. By Caratheodory such a
    linearly independent set exists whenever ``w`` is optimal, even if the solver's multipliers are spread
    over a linearly dependent (degenerate) support."""
    tight = np.array([k for k, s in enumerate(r.slack) if abs(s) <= tol], dtype=int)
    if tight.size == 0:
        return []
    w = np.array([float(v) for row in r.W for v in row])
    if isinstance(A, _Rows):
        if tight.size * A.d * A.d > _NNLS_MAX_ENTRIES:
            return []
        M = A.dense(tight).T
    else:
        M = A[tight].T
    x = _nnls(M, w)
    return [int(tight[j]) for j in np.argsort(-x, kind="stable") if x[j] > 0]


def _confirm(
    ex: _Exact, A: np.ndarray | _Rows, w: np.ndarray, lam: np.ndarray, tol: Any, rank_tol: Any
) -> _Measured | None:
    """Try the guessed active sets in turn (:func:`_candidate_orders`); when a polished ``w`` is primal
    feasible but its multipliers are not all nonnegative, also try the NNLS basis of :func:`_nnls_order`.
    Returns the first confirmed measurement, or None. With factored rows (``_Rows``), mpmath arithmetic runs on
    the active set and on the rows float64 cannot place clearly inside the feasible set (:func:`_measure`)."""
    rows = A if isinstance(A, _Rows) else None
    queue: list[Any] = list(_candidate_orders(A, w, lam))
    tried: list[list[int]] = []
    while queue and len(tried) < 12:
        item = queue.pop(0)
        order = _nnls_order(A, *item) if isinstance(item, tuple) else item  # NNLS only when its turn comes
        if not order or order in tried:
            continue
        tried.append(order)
        lam_p = _polish(ex, order, rank_tol, rows)
        if lam_p is None:
            continue
        r = _measure(ex, _combine(ex, lam_p), lam_p, rows)
        if _confirms(r, tol):
            return r
        if r.violation <= tol:
            if rows is not None and r.min_lam < -tol * max(r.lam):
                # primal active-set step: the rows forced to equality with a negative multiplier leave the set
                queue.insert(0, [k for k in order if not r.lam[k] < 0])
            queue.append((r, tol))
    return None


def _check_params(dps: int, tol: float | None) -> None:
    if isinstance(dps, bool) or not isinstance(dps, int) or dps < _MIN_DPS:
        raise VerifyInputError(f"dps must be an integer >= {_MIN_DPS}; got {dps!r}")
    if tol is not None and not (isinstance(tol, (int, float)) and 0 < tol <= _MAX_USER_TOL):
        raise VerifyInputError(f"tol must lie in (0, {_MAX_USER_TOL:g}] to confirm anything; got {tol!r}")


def _tolerance(ctx: Any, dps: int, tol: float | None, m: int, d: int) -> Any:
    """``tol`` if given, else ``(m + d^2) 10^(-dps/2)`` (see :func:`solve_att_svm`)."""
    if tol is not None:
        return ctx.mpf(tol)
    return (m + d * d) * ctx.power(10, -ctx.mpf(dps) / 2)


def _prove(rows: FactoredRows, r: _Measured, tol: Any, confirmed: bool, b: Sequence[int] | None = None,
           kkt_rows: Iterable[int] | None = None) -> Certificate:
    """The exact certificate of ``(r.W, max(r.lam, 0))`` (:func:`theorems.attention.certificate.certify_l2`), with
    the distance bound for the float64 rounding of ``r.W`` (the ``W`` that is reported)."""
    W_f = np.array([[float(v) for v in row] for row in r.W], dtype=np.float64)
    lam = [v if v > 0 else 0 for v in r.lam]  # the dual bound needs lam >= 0 exactly: clip (a valid, weaker dual)
    return certify_l2(rows, ExactPoint.of(r.W), ExactPoint.of(lam), tol=to_fraction(tol), b=b, reported=W_f,
                      confirmed=confirmed, kkt_rows=kkt_rows)


def _solution(
    ex: _Exact, r: _Measured, labels: list[Label], alpha: tuple, dps: int, confirmed: bool, tight: Any,
    proof: Certificate,
) -> SVMSolution:
    ctx = ex.ctx
    norm = ctx.sqrt(r.norm2)
    W = np.array([[float(v) for v in row] for row in r.W], dtype=np.float64)
    W.setflags(write=False)
    certified = proof.rigorous
    return SVMSolution(
        W=W,
        norm=float(norm),
        margin=float(1 / norm) if norm > 0 else float("inf"),
        support=tuple(sorted(lab for lab, s in zip(labels, r.slack, strict=True) if abs(s) <= tight)),
        multipliers={lab: float(lk) for lab, lk in zip(labels, r.lam, strict=True)},
        status="optimal" if certified else "optimal_inaccurate",
        certified=certified,
        max_constraint_violation=float(r.violation),
        stationarity=float(r.stationarity),
        complementary_slackness=float(r.comp),
        duality_gap=float(r.gap),
        alpha=alpha,
        dps=dps,
        confirmed=confirmed,
        proof=proof,
    )


def solve_att_svm(
    X: np.ndarray, Z: np.ndarray, alpha: Sequence[int], *, dps: int = 50, tol: float | None = None,
    max_memory: Any = DEFAULT,
) -> SVMSolution:
    """Solve the Att-SVM for ``alpha``, confirm the answer in mpmath at ``dps`` digits, certify it exactly.

    0. Resources: :func:`theorems.attention.resources.svm_estimate` from (n, T, d, dps) against ``max_memory`` (bytes,
       a size string such as ``"8G"``, None for no limit; default half of MemAvailable); over it ->
       :class:`VerifyInputError` with the estimate and the limit, before any heavy step.
    1. Clarabel (via cvxpy) solves the dual ``min 1/2 lam^T G_S lam - 1^T lam, lam >= 0`` on a working set S
       of rows (:func:`_working_set_solve`; the rows are kept factored, ``a_k = u_k z_i^T``, so no m x d^2
       matrix is formed); its status is checked on every call. An unbounded dual (infeasible Att-SVM) ->
       :class:`InfeasibleProblemError` with an exact Farkas certificate, or :class:`SolverError` (not certified)
       when none is found (a zero row is reported without calling the solver);
       ``optimal``/``optimal_inaccurate`` -> step 2; anything else (``solver_error``, None, missing values)
       -> :class:`SolverError`.
    2. Polish: guess the active set ``S`` from the solver (``lam_k >= 1e-6 max lam`` or
       ``|a_k^T w - 1| <= 1e-6``; both ratios are scale-invariant), solve ``A_S A_S^T lam_S = 1`` in mpmath
       (see :func:`_polish`, which drops numerically dependent rows, i.e. degenerate supports) and set
       ``w = A_S^T lam_S`` (active sets above 120 rows: float64 Cholesky and iterative refinement of the
       mpmath residual, :func:`_polish_refined`). Measure on ALL rows: violation ``max(0, max_k 1 - a_k^T w)``,
       ``min lam``, stationarity, complementarity and the duality gap; a row's slack is in mpmath when its
       multiplier is nonzero or float64 with its rounding bound cannot prove it above 2e-6
       (:func:`_screened_slacks`), so mpmath arithmetic runs on the active set, not on all n(T-1) rows.
    3. Confirm when each residual is ``<= tol`` relative to its scale (:func:`_confirms`). If not, retry with
       the active set from primal tightness alone, then the dual rule alone, and, when a polished ``w`` is
       feasible but some ``lam_k < 0`` (degenerate support), with a nonnegative basis found by NNLS
       (:func:`_confirm`). If none confirms, keep the solver's float ``(w, lam)`` and their measured residuals.
    4. Certify (:func:`theorems.attention.certificate.certify_l2`): the primal ``w`` and ``max(lam, 0)`` of step 3,
       as exact rationals, give ``D(lam) <= 1/2||W_mm||^2 <= 1/2||w'||^2`` with ``w'`` the primal scaled up by its
       exact minimum margin; ``certified=True`` (status ``"optimal"``, ``certificate="rigorous"``) when the
       relative gap is ``<= tol``. Otherwise status ``"optimal_inaccurate"``, ``certified=False``, and
       ``certificate`` is ``"numerical"`` (confirmed in step 3) or ``"none"``.

    Tolerance: ``tol = (m + d^2) 10^(-dps/2)`` with ``m = n(T-1)``, unless given (``0 < tol <= 1e-6``).
    Derivation: the inputs are exact, and every residual is a sum of at most ``m + d^2`` products computed
    with unit round-off ``10^(-dps)``, after a Gram solve whose error is amplified by ``cond(A_S A_S^T)``;
    rounding therefore stays below ``tol`` whenever ``cond <= 10^(dps/2)`` (1e25 at dps=50), while a wrong
    active set leaves a defect of the size of the instance's geometry, far above ``tol``.

    What the certificate proves: ``norm_interval`` encloses ``||W_mm||_F``; by 1-strong convexity
    ``||w' - w_mm||^2 <= 2 (1/2||w'||^2 - D(lam'))``, so ``distance_bound`` (``||W - W_mm||_F`` for the returned
    float64 ``W``: its exact distance to ``w'`` plus that) and ``direction_bound`` are proven upper bounds. At
    dps=50 the relative gap is ~1e-50 and the distance is the float64 rounding of ``W`` (~1e-16 ||W||).
    ``stationarity`` is 0 up to rounding by construction (``w := A^T lam``).

    Support = rows with ``|a_k^T w - 1| <= tol`` (confirmed) or ``<= 1e-6`` (unconfirmed fallback), sorted.
    """
    Xa, Za, al = _check_data(X, Z, alpha)
    _check_params(dps, tol)
    n, T, d = Xa.shape
    enforce(svm_estimate(n, T, d, dps=dps), max_memory)
    rows, labels = _rows(Xa, Za, al)
    _reject_zero_rows(rows, labels, al)
    ctx = mpmath.MPContext()
    ctx.dps = dps
    tol_mp = _tolerance(ctx, dps, tol, len(labels), d)
    ex = _exact(ctx, Xa, Za, al, labels)
    what = f"the Att-SVM for alpha={_alpha_str(al)}"
    shape = f"n(T-1)={len(labels)} constraints, d^2={d * d} unknowns"
    _status, w, lam, _S = _working_set_solve(rows, ex, what, shape)
    r = _confirm(ex, rows, w, lam, tol_mp, ctx.power(10, -ctx.mpf(3 * dps) / 4))
    exact_rows = FactoredRows.from_data(Xa, Za, al)
    if r is not None:
        return _solution(ex, r, labels, al, dps, True, tol_mp, _prove(exact_rows, r, tol_mp, True))
    W_s = [[ctx.mpf(float(v)) for v in row] for row in w.reshape(d, d)]
    r = _measure(ex, W_s, [ctx.mpf(float(v)) for v in lam], rows)
    return _solution(ex, r, labels, al, dps, False, max(tol_mp, ctx.mpf(_PRIMAL_TIGHT)),
                     _prove(exact_rows, r, tol_mp, False))


#: A score gap is a tie when it is at most this many ulps (2^-52) per token dimension of the score magnitudes,
#: plus 4: see :func:`tie_thresholds`.
TIE_ULPS_PER_DIM = 2


def tie_thresholds(X: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per sequence, the score gap below which the optimal token counts as tied:
    ``tau_i = (2d + 4) 2^-52 max_t sum_a |u_a x_{i,t,a}|``.

    Why: a float64 score ``g_{i,t} = y_i u^T x_{i,t}`` is a d-term dot product, off by at most
    ``d 2^-53 sum_a |u_a x_{i,t,a}|`` (for y_i = +-1); a gap is the difference of two such scores, so a gap
    at or below ``2 d 2^-53`` (= d ulps) of the magnitudes is indistinguishable from 0, and (2d + 4) ulps leaves a
    factor of 2 and a few ulps for the subtraction. An exact tie and a tie off by 2.2e-16 (one ulp at
    magnitude 1) are both refused."""
    Xa = np.asarray(X, dtype=np.float64)
    mag = np.abs(Xa) @ np.abs(np.asarray(u, dtype=np.float64))
    return (TIE_ULPS_PER_DIM * Xa.shape[2] + 4) * 2.0**-52 * mag.max(axis=1)


def tie_message(gaps: np.ndarray, thresholds: np.ndarray, d: int) -> str | None:
    """One line naming the first sequence whose score gap is a tie (:func:`tie_thresholds`), or None."""
    ties = np.flatnonzero(np.asarray(gaps) <= np.asarray(thresholds))
    if ties.size == 0:
        return None
    i = int(ties[0])
    return (f"the optimal token is not unique in sequence {i}: its score gap {float(gaps[i]):.3g} is at most the "
            f"tie threshold {float(thresholds[i]):.3g} ((2d+4) = {TIE_ULPS_PER_DIM * d + 4} ulps of the score "
            f"magnitude; {ties.size} tied sequence(s))")


def classify_alpha(scores: np.ndarray, alpha: Sequence[int], support: Iterable[Label],
                   tie_tol: np.ndarray | float = 0.0) -> str:
    """Classify a token choice against scores ``g`` (shape ``(n, T)``) and the support of ``W_mm(alpha)``.

    - ``"optimal"``: every ``alpha_i`` is the strict, unique argmax of ``g[i]`` (``alpha = opt``);
    - ``"locally-optimal"``: ``g[i, alpha_i] > g[i, t]`` for every support pair ``(i, t)``;
    - ``"not-locally-optimal"``: otherwise.

    Ties count against ``alpha`` (``>`` is strict), so a tied maximum is never "optimal". With ``tie_tol``
    (a scalar or one threshold per sequence, e.g. :func:`tie_thresholds`), "beats" means "by more than
    ``tie_tol[i]``", so a gap within rounding is a tie too.
    """
    g = np.asarray(scores, dtype=np.float64)
    if g.ndim != 2 or not np.all(np.isfinite(g)):
        raise VerifyInputError(f"scores must be a finite (n, T) array; got shape {g.shape}")
    n, T = g.shape
    al = _as_alpha(alpha, n, T)
    tau = np.broadcast_to(np.asarray(tie_tol, dtype=np.float64), (n,))
    pairs = [(operator.index(i), operator.index(t)) for i, t in support]
    bad = [(i, t) for i, t in pairs if not (0 <= i < n and 0 <= t < T) or t == al[i]]
    if bad:
        raise VerifyInputError(f"support pairs {bad} are out of range or name the selected token itself")
    if all(np.all(np.delete(g[i], al[i]) < g[i, al[i]] - tau[i]) for i in range(n)):
        return "optimal"
    if all(g[i, al[i]] - tau[i] > g[i, t] for i, t in pairs):
        return "locally-optimal"
    return "not-locally-optimal"


# ------------------------------------------------------------------------------------------- decoder SVM
@dataclass(frozen=True, eq=False)
class DecoderSVMSolution:
    """The decoder SVM u_mm = argmin ||u||_2 s.t. y_i u^T x_{i,opt_i} >= 1 [seed: 001, 003].

    ``support`` lists the sequences whose constraint is tight; ``certificate`` is the underlying QP solution
    (:class:`SVMSolution` of the exact reduction; its residuals, status, ``confirmed`` and ``certified`` flags and
    exact ``proof`` are those of this problem: ``norm_interval`` encloses ``||u_mm||``, ``distance_bound`` bounds
    ``||u - u_mm||``, since the reduction's W has u as its only nonzero column).
    """

    u: np.ndarray
    norm: float
    margin: float
    support: tuple[int, ...]
    multipliers: dict[int, float]
    certified: bool
    status: str
    certificate: SVMSolution

    @property
    def confirmed(self) -> bool:
        return self.certificate.confirmed

    @property
    def proof(self) -> Certificate:
        return self.certificate.proof

    def to_json(self) -> dict:
        c = self.certificate
        return {"u": self.u.tolist(), "norm": self.norm, "margin": self.margin, "support": list(self.support),
                "status": self.status, "certified": self.certified, "confirmed": c.confirmed, **c.proof.to_json(),
                "max_constraint_violation": c.max_constraint_violation, "duality_gap": c.duality_gap}


def solve_decoder_svm(X: np.ndarray, y: np.ndarray, alpha: Sequence[int], *, dps: int = 50,
                      tol: float | None = None, max_memory: Any = DEFAULT) -> DecoderSVMSolution:
    """Solve, confirm and certify u_mm for the selected tokens x_{i,alpha_i}, exactly as the Att-SVM is.

    Reduction (exact, no rounding): the rows y_i x_{i,alpha_i} are the Att-SVM rows (x'_{i,0} - x'_{i,1}) z'_i^T
    of the 2-token data x'_{i,0} = y_i x_{i,alpha_i}, x'_{i,1} = 0, z'_i = e_1 (multiplying by y_i = +-1 and
    subtracting 0 are exact in float64). For these rows ||W||_F is minimized by a W whose only nonzero column
    is the first, and that column is u_mm; so :func:`solve_att_svm` (Clarabel, the mpmath KKT confirmation and the
    exact certificate) solves the decoder SVM, and its certificate, residuals and infeasibility (exact Farkas)
    diagnosis carry over verbatim (the exact rows are the same rationals).
    """
    Xa = np.asarray(X, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if Xa.ndim != 3 or ya.shape != (Xa.shape[0],) or not np.all(np.isin(ya, (-1.0, 1.0))):
        raise VerifyInputError(f"decoder SVM needs X (n, T, d) and labels y in {{-1, +1}} of length n; got "
                               f"{Xa.shape} and {ya.shape}")
    n, T, d = Xa.shape
    al = _as_alpha(alpha, n, T)
    Xp = np.zeros((n, 2, d))
    Xp[:, 0, :] = ya[:, None] * Xa[np.arange(n), list(al), :]
    Zp = np.zeros((n, d))
    Zp[:, 0] = 1.0
    sol = solve_att_svm(Xp, Zp, [0] * n, dps=dps, tol=tol, max_memory=max_memory)
    u = sol.W[:, 0].copy()
    u.setflags(write=False)
    return DecoderSVMSolution(
        u=u, norm=sol.norm, margin=sol.margin, support=tuple(sorted(i for i, _ in sol.support)),
        multipliers={i: v for (i, _), v in sol.multipliers.items()}, certified=sol.certified,
        status=sol.status, certificate=sol,
    )


# ------------------------------------------------------------------------------------- relaxed Att-SVM
def solve_relaxed_att_svm(X: np.ndarray, Z: np.ndarray, alpha: Sequence[int], tight: Iterable[int], *,
                          dps: int = 50, tol: float | None = None, max_memory: Any = DEFAULT) -> SVMSolution:
    """The relaxed Att-SVM used for joint training in PRIOR [prior]:

        min ||W||_F  s.t.  (x_{i,alpha_i} - x_{i,t})^T W z_i >= b_i  for all i, t != alpha_i,

    with b_i = 1 for the sequences in ``tight`` (the support vectors of the decoder SVM u_mm) and b_i = 0 for
    the others. KKT: w = A^T lam, lam >= 0, A w >= b, lam_k (a_k^T w - b_k) = 0; dual max b^T lam - 1/2||A^T lam||^2.

    Confirmed like :func:`solve_att_svm`: Clarabel (status checked), then the guessed active set S (the same
    scale-free rules) is solved in mpmath, A_S A_S^T lam_S = b_S, w = A_S^T lam_S, and every KKT residual is
    measured on all rows at ``dps`` digits against ``tol`` (same default). Certified by the exact check of
    :func:`theorems.attention.certificate.certify_l2` with right-hand sides b: a row with b_k = 0 that is active
    cannot be repaired by scaling the rounded primal, so then the exact KKT point of S (the Gram system solved in
    rationals, active constraints tight exactly) is checked instead. When nothing is confirmed, the solver's own
    (w, lam) is returned with ``certified=False``. An infeasible report is checked by an exact Farkas vector
    (``y >= 0``, ``sum y_k A_k = 0``, ``b^T y > 0``, from the QP ``min ||A^T y||^2 s.t. b^T y = 1``):
    :class:`InfeasibleProblemError` when found, else :class:`SolverError` (not certified).
    """
    Xa, Za, al = _check_data(X, Z, alpha)
    _check_params(dps, tol)
    n = Xa.shape[0]
    enforce(dense_svm_estimate(n, Xa.shape[1], Xa.shape[2], dps=dps), max_memory)
    S = {operator.index(i) for i in tight}
    if not S or not all(0 <= i < n for i in S):
        raise VerifyInputError(f"tight sequences must be a non-empty subset of 0..{n - 1}; got {sorted(S)}")
    A, labels = att_svm_constraints(Xa, Za, al)
    b = np.array([1.0 if i in S else 0.0 for i, _ in labels])
    ones = [k for k in range(len(labels)) if b[k] == 1]
    _reject_zero_rows(A[ones], [labels[k] for k in ones], al)
    ctx = mpmath.MPContext()
    ctx.dps = dps
    d = Xa.shape[2]
    tol_mp = _tolerance(ctx, dps, tol, len(labels), d)
    ex = _exact(ctx, Xa, Za, al, labels)
    what = f"the relaxed Att-SVM for alpha={_alpha_str(al)}"
    w = cp.Variable(A.shape[1])
    con = A @ w >= b
    status = _cvx_solve(cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w)), [con]), what)
    exact_rows = FactoredRows.from_data(Xa, Za, al)
    bi = [int(v) for v in b]
    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise _relaxed_farkas(A, b, exact_rows, labels, what)
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w.value is None or con.dual_value is None:
        raise SolverError(f"Clarabel returned status {status!r} on {what}; no solution to certify")
    wf = np.asarray(w.value, dtype=np.float64)
    lam = np.asarray(con.dual_value, dtype=np.float64).reshape(-1)
    bm = [ctx.mpf(float(v)) for v in b]

    def measure(W: list[list[Any]], lm: list[Any]) -> _Measured:
        Wz = [[ctx.fdot(row, ex.z(i)) for row in W] for i in range(n)]
        slack = [ctx.fdot(ex.u(k), Wz[i]) - bk for k, (i, bk) in enumerate(zip(ex.seq, bm, strict=True))]
        AtL = _combine(ex, lm)
        n2 = _norm2(ctx, W)
        return _Measured(W, lm, slack, max(ctx.mpf(0), -min(slack)), min(lm),
                         max(abs(p - q) for r1, r2 in zip(W, AtL, strict=True) for p, q in zip(r1, r2, strict=True)),
                         max(abs(lk * s) for lk, s in zip(lm, slack, strict=True)),
                         n2 / 2 - (ctx.fdot(lm, bm) - _norm2(ctx, AtL) / 2), n2)

    for order in _candidate_orders(A, wf, lam):
        act = [k for k in order if b[k] > 0 or abs(float(A[k] @ wf) - b[k]) <= _PRIMAL_TIGHT]
        if not act:
            continue
        G = ctx.matrix([[_gram(ex, k, m) for m in act] for k in act])
        try:
            sol = ctx.lu_solve(G, ctx.matrix([bm[k] for k in act]))
        except ZeroDivisionError:
            continue
        lm = [ctx.mpf(0)] * len(labels)
        for j, k in enumerate(act):
            lm[k] = sol[j]
        r = measure(_combine(ex, lm), lm)
        if _confirms(r, tol_mp):
            return _solution(ex, r, labels, al, dps, True, tol_mp, _prove(exact_rows, r, tol_mp, True, bi, act))
    W_s = [[ctx.mpf(float(v)) for v in row] for row in wf.reshape(d, d)]
    r = measure(W_s, [ctx.mpf(float(v)) for v in lam])
    return _solution(ex, r, labels, al, dps, False, max(tol_mp, ctx.mpf(_PRIMAL_TIGHT)),
                     _prove(exact_rows, r, tol_mp, False, bi))


def _relaxed_farkas(A: np.ndarray, b: np.ndarray, exact_rows: FactoredRows, labels: list[Label],
                    what: str) -> InfeasibleProblemError | SolverError:
    """The relaxed problem's infeasibility, certified by an exact Farkas vector or reported as not certified."""
    y = cp.Variable(A.shape[0], nonneg=True)
    status = _cvx_solve(cp.Problem(cp.Minimize(cp.sum_squares(A.T @ y)), [b @ y == 1]), f"the Farkas problem of {what}")
    cert = None
    if status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and y.value is not None:
        cert = find_farkas(exact_rows, np.asarray(y.value, dtype=np.float64), [int(v) for v in b])
    if cert is None:
        return SolverError(f"Clarabel reports {what} infeasible; not certified: no exact Farkas certificate was found")
    return InfeasibleProblemError(
        f"{what[0].upper()}{what[1:]} is infeasible (exact Farkas certificate: y >= 0 on {len(cert.rows)} "
        f"constraint(s) with sum_k y_k A_k = 0 and sum_k y_k b_k > 0, checked in rational arithmetic; "
        f"{cert.describe(labels)})")
