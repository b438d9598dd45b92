"""Att-SVM: the max-margin token-selection problem, solved by cvxpy/Clarabel and certified in mpmath.

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

The float64 input data are taken to be exact (every float64 is an exact mpmath number); the certificate is
about that exact problem. See :func:`solve_att_svm` for the certificate and its tolerance.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mpmath
import numpy as np

from verify.errors import InfeasibleSVMError, SolverError, VerifyInputError

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
#: A solver "infeasible" is accepted when a convex combination of rows has norm <= this times the largest row.
#: The Farkas QP (min ||A^T y|| over the simplex) is solved by Clarabel only to ~3e-5..6e-5 relative on exactly
#: infeasible data, so the threshold sits at 1e-3. The message always states what is proven: any separating W
#: needs ||W||_F >= 1/||A^T y|| (>= 1000 / largest row). An exact mpmath polish of y is future work.
_FARKAS_REL = 1e-3
_MIN_DPS = 20
_MAX_USER_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class SVMSolution:
    """Result of :func:`solve_att_svm`; every residual is measured in mpmath at ``dps`` digits.

    ``W`` is the float64 rounding of the certified high-precision solution when ``certified`` (status
    ``"optimal"``), else the solver's own float solution (status ``"optimal_inaccurate"``: callers should
    report "undecided"). ``multipliers`` maps every constraint ``(i, t)`` to its dual ``lam`` (0 if inactive).
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

    def to_json(self) -> dict:
        """A JSON-able dict (plain lists, ints, floats, strings, bools)."""
        return {
            "alpha": list(self.alpha),
            "status": self.status,
            "certified": self.certified,
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


# ------------------------------------------------------------------------------------- exact arithmetic


@dataclass(frozen=True)
class _Exact:
    """The constraint data in mpmath: ``a_k = vec(u_k z_{seq_k}^T)``; ``seq_k`` is row k's sequence.

    Using this factored form, ``<a_k, a_l> = <u_k, u_l> <z_i, z_j>`` and ``a_k^T w = u_k^T (W z_i)`` cost O(d)
    instead of O(d^2) operations.
    """

    ctx: Any
    U: list[list[Any]]
    Z: list[list[Any]]
    seq: list[int]
    d: int


def _exact(ctx: Any, Xa: np.ndarray, Za: np.ndarray, alpha: tuple, labels: list[Label]) -> _Exact:
    mpf = ctx.mpf
    U = [
        [mpf(float(p)) - mpf(float(q)) for p, q in zip(Xa[i, alpha[i]], Xa[i, t], strict=True)]
        for i, t in labels
    ]
    Zm = [[mpf(float(v)) for v in z] for z in Za]
    return _Exact(ctx, U, Zm, [i for i, _ in labels], Xa.shape[2])


def _gram(ex: _Exact, k: int, l: int) -> Any:
    return ex.ctx.fdot(ex.U[k], ex.U[l]) * ex.ctx.fdot(ex.Z[ex.seq[k]], ex.Z[ex.seq[l]])


def _combine(ex: _Exact, lam: Sequence[Any]) -> list[list[Any]]:
    """``A^T lam`` as a d x d matrix: ``sum_k lam_k u_k z_{seq_k}^T``."""
    ctx, d = ex.ctx, ex.d
    V = [[ctx.mpf(0)] * d for _ in ex.Z]
    for k, lk in enumerate(lam):
        if lk:
            V[ex.seq[k]] = [v + lk * u for v, u in zip(V[ex.seq[k]], ex.U[k], strict=True)]
    return [[ctx.fsum(V[i][a] * z[b] for i, z in enumerate(ex.Z)) for b in range(d)] for a in range(d)]


def _slacks(ex: _Exact, W: list[list[Any]]) -> list[Any]:
    """``a_k^T w - 1`` for every row k."""
    Wz = [[ex.ctx.fdot(row, z) for row in W] for z in ex.Z]
    return [ex.ctx.fdot(u, Wz[i]) - 1 for u, i in zip(ex.U, ex.seq, strict=True)]


def _norm2(ctx: Any, W: list[list[Any]]) -> Any:
    return ctx.fsum(v * v for row in W for v in row)


def _polish(ex: _Exact, order: list[int], rank_tol: Any) -> list[Any] | None:
    """Multipliers from the equality system on a guessed active set, or None if it is empty.

    Rows are taken in ``order``; a row is kept unless its component orthogonal to the kept rows is
    negligible (squared-norm ratio ``<= rank_tol``): an incremental Cholesky factorisation ``G_S = L L^T`` of
    the Gram matrix ``G_S = A_S A_S^T`` of the kept rows ``S``. Then ``lam_S = G_S^{-1} 1`` (other entries 0),
    so ``w = A_S^T lam_S`` is the minimum-norm point of ``{w : A_S w = 1}``. Dropped rows are (numerically)
    combinations of kept rows, so the certificate, which checks every row, decides whether dropping was right.
    """
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
    lam = [ctx.mpf(0)] * len(ex.U)
    for j, k in enumerate(kept):
        lam[k] = x[j]
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


def _measure(ex: _Exact, W: list[list[Any]], lam: list[Any]) -> _Measured:
    """Residuals: violation ``max(0, max_k 1 - a_k^T w)``, ``min lam``, stationarity
    ``||w - A^T lam||_inf``, complementarity ``max_k |lam_k (a_k^T w - 1)|`` and the duality gap
    ``1/2||w||^2 - (1^T lam - 1/2||A^T lam||^2)``."""
    ctx = ex.ctx
    slack = _slacks(ex, W)
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
        comp=max(abs(lk * s) for lk, s in zip(lam, slack, strict=True)),
        gap=n2 / 2 - (ctx.fsum(lam) - _norm2(ctx, AtL) / 2),
        norm2=n2,
    )


def _certifies(r: _Measured, tol: Any) -> bool:
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


def _reject_zero_rows(A: np.ndarray, labels: list[Label], alpha: tuple) -> None:
    """A zero row is an exact Farkas certificate: ``a_k^T w = 0 < 1`` for every ``w``."""
    zero = [labels[k] for k in np.flatnonzero(~np.any(A != 0, axis=1))]
    if zero:
        i, t = zero[0]
        raise InfeasibleSVMError(
            f"Att-SVM for alpha={_alpha_str(alpha)} is infeasible: constraint (i={i}, t={t}) reads 0 >= 1 "
            f"(x_(i,alpha_i) = x_(i,t) or z_i = 0; {len(zero)} such constraint(s))"
        )


def _cvx_solve(prob: cp.Problem, what: str) -> str | None:
    try:
        prob.solve(solver=cp.CLARABEL)
    except cp.error.SolverError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SolverError(f"Clarabel failed on {what}: {first}") from exc
    return None if prob.status is None else str(prob.status)


def _solve_qp(A: np.ndarray, what: str) -> tuple[str | None, np.ndarray | None, np.ndarray | None]:
    """``min 1/2||w||^2 s.t. A w >= 1`` with Clarabel; returns (status, w, lam)."""
    w = cp.Variable(A.shape[1])
    con = A @ w >= 1
    status = _cvx_solve(cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w)), [con]), what)
    lam = None if con.dual_value is None else np.asarray(con.dual_value, dtype=np.float64).reshape(-1)
    return status, (None if w.value is None else np.asarray(w.value, dtype=np.float64)), lam


def _infeasible_error(ex: _Exact, A: np.ndarray, what: str, shape: str) -> InfeasibleSVMError:
    """Check the solver's 'infeasible' with a Farkas vector ``y >= 0, 1^T y = 1`` of small ``||A^T y||``.

    For any ``w`` with ``A w >= 1``: ``1 = 1^T y <= y^T A w <= ||A^T y|| ||w||``, so
    ``||W||_F >= 1/||A^T y||`` (measured in mpmath). ``y`` minimises ``||A^T y||`` over the simplex
    (Clarabel). Raises SolverError when no such ``y`` is small relative to the largest row (the solver's claim
    is then unsupported).
    """
    y = cp.Variable(A.shape[0], nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(A.T @ y)), [cp.sum(y) == 1])
    status = _cvx_solve(prob, f"the Farkas problem of {what}")
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or y.value is None:
        raise SolverError(
            f"Clarabel reported {what} infeasible but the Farkas problem ended with status {status!r}"
        )
    ctx = ex.ctx
    ym = [ctx.mpf(float(v)) for v in np.clip(np.asarray(y.value, dtype=np.float64), 0.0, None)]
    total = ctx.fsum(ym)
    delta = ctx.sqrt(_norm2(ctx, _combine(ex, [v / total for v in ym]))) if total > 0 else ctx.inf
    row_max = max(ctx.sqrt(_gram(ex, k, k)) for k in range(len(ex.U)))
    if not delta <= _FARKAS_REL * row_max:
        raise SolverError(
            f"Clarabel reported {what} infeasible but no Farkas certificate was found "
            f"(min ||A^T y|| over the simplex ~ {float(delta):.3g}, largest row {float(row_max):.3g})"
        )
    bound = (
        "exactly 0"
        if delta == 0
        else f"{float(delta):.3g}, so any separating W needs ||W||_F >= {float(1 / delta):.3g}"
    )
    return InfeasibleSVMError(
        f"{what[0].upper()}{what[1:]} is infeasible: no W separates the selected tokens ({shape}; Farkas "
        f"certificate: a convex combination of the constraint rows has norm {bound})"
    )


def _candidate_orders(A: np.ndarray, w: np.ndarray, lam: np.ndarray) -> list[list[int]]:
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


def _nnls_order(A: np.ndarray, r: _Measured, tol: Any) -> list[int]:
    """Rows of a basis for the multipliers of a primal-certified ``w``: among the rows tight at ``w``, the
    passive set of ``min ||A_T^T lam - w||, lam >= 0``, by decreasing ``lam``. By Caratheodory such a
    linearly independent set exists whenever ``w`` is optimal, even if the solver's multipliers are spread
    over a linearly dependent (degenerate) support."""
    tight = np.array([k for k, s in enumerate(r.slack) if abs(s) <= tol], dtype=int)
    if tight.size == 0:
        return []
    w = np.array([float(v) for row in r.W for v in row])
    x = _nnls(A[tight].T, w)
    return [int(tight[j]) for j in np.argsort(-x, kind="stable") if x[j] > 0]


def _certify(
    ex: _Exact, A: np.ndarray, w: np.ndarray, lam: np.ndarray, tol: Any, rank_tol: Any
) -> _Measured | None:
    """Try the guessed active sets in turn (:func:`_candidate_orders`); when a polished ``w`` is primal
    feasible but its multipliers are not all nonnegative, also try the NNLS basis of :func:`_nnls_order`.
    Returns the first certified measurement, or None."""
    queue = _candidate_orders(A, w, lam)
    tried: list[list[int]] = []
    while queue and len(tried) < 8:
        order = queue.pop(0)
        if not order or order in tried:
            continue
        tried.append(order)
        lam_p = _polish(ex, order, rank_tol)
        if lam_p is None:
            continue
        r = _measure(ex, _combine(ex, lam_p), lam_p)
        if _certifies(r, tol):
            return r
        if r.violation <= tol:
            queue.append(_nnls_order(A, r, tol))
    return None


def _check_params(dps: int, tol: float | None) -> None:
    if isinstance(dps, bool) or not isinstance(dps, int) or dps < _MIN_DPS:
        raise VerifyInputError(f"dps must be an integer >= {_MIN_DPS}; got {dps!r}")
    if tol is not None and not (isinstance(tol, (int, float)) and 0 < tol <= _MAX_USER_TOL):
        raise VerifyInputError(f"tol must lie in (0, {_MAX_USER_TOL:g}] to certify anything; got {tol!r}")


def _tolerance(ctx: Any, dps: int, tol: float | None, m: int, d: int) -> Any:
    """``tol`` if given, else ``(m + d^2) 10^(-dps/2)`` (see :func:`solve_att_svm`)."""
    if tol is not None:
        return ctx.mpf(tol)
    return (m + d * d) * ctx.power(10, -ctx.mpf(dps) / 2)


def _solution(
    ex: _Exact, r: _Measured, labels: list[Label], alpha: tuple, dps: int, certified: bool, tight: Any
) -> SVMSolution:
    ctx = ex.ctx
    norm = ctx.sqrt(r.norm2)
    W = np.array([[float(v) for v in row] for row in r.W], dtype=np.float64)
    W.setflags(write=False)
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
    )


def solve_att_svm(
    X: np.ndarray, Z: np.ndarray, alpha: Sequence[int], *, dps: int = 50, tol: float | None = None
) -> SVMSolution:
    """Solve the Att-SVM for ``alpha`` and certify the answer in mpmath at ``dps`` digits.

    1. Clarabel (via cvxpy) solves ``min 1/2||w||^2 s.t. A w >= 1``; its status is checked on every call.
       ``infeasible``/``infeasible_inaccurate`` -> :class:`InfeasibleSVMError` after a Farkas check (a zero
       row is reported without calling the solver); ``optimal``/``optimal_inaccurate`` -> step 2; anything
       else (``solver_error``, ``unbounded``, None, missing values) -> :class:`SolverError`.
    2. Polish: guess the active set ``S`` from the solver (``lam_k >= 1e-6 max lam`` or
       ``|a_k^T w - 1| <= 1e-6``; both ratios are scale-invariant), solve ``A_S A_S^T lam_S = 1`` exactly
       (see :func:`_polish`, which drops numerically dependent rows, i.e. degenerate supports) and set
       ``w = A_S^T lam_S``. Measure on ALL rows: violation ``max(0, max_k 1 - a_k^T w)``, ``min lam``,
       stationarity, complementarity and the duality gap.
    3. Certify when each residual is ``<= tol`` relative to its scale (:func:`_certifies`). If not, retry with
       the active set from primal tightness alone, then the dual rule alone, and, when a polished ``w`` is
       feasible but some ``lam_k < 0`` (degenerate support), with a nonnegative basis found by NNLS
       (:func:`_certify`). If none certifies, return status ``"optimal_inaccurate"``, ``certified=False``, the
       solver's float ``(w, lam)`` and their measured residuals.

    Tolerance: ``tol = (m + d^2) 10^(-dps/2)`` with ``m = n(T-1)``, unless given (``0 < tol <= 1e-6``).
    Derivation: the inputs are exact, and every residual is a sum of at most ``m + d^2`` products computed
    with unit round-off ``10^(-dps)``, after a Gram solve whose error is amplified by ``cond(A_S A_S^T)``;
    rounding therefore stays below ``tol`` whenever ``cond <= 10^(dps/2)`` (1e25 at dps=50), while a wrong
    active set leaves a defect of the size of the instance's geometry, far above ``tol``.

    What a certificate means: ``w' = w/(1 - viol)`` is exactly feasible and ``lam' = max(lam, 0)`` dual
    feasible, so by weak duality and 1-strong convexity ``||w' - w_mm||^2 <= 2 (1/2||w'||^2 - D(lam'))``,
    i.e. ``||W - W_mm||_F <= O(sqrt(tol)) ||W||_F`` before rounding to float64 (the residuals are ~10^(-dps)
    in practice, giving ~10^(-dps/2)). ``stationarity`` is 0 up to rounding by construction
    (``w := A^T lam``).

    Support = rows with ``|a_k^T w - 1| <= tol`` (certified) or ``<= 1e-6`` (uncertified fallback), sorted.
    """
    Xa, Za, al = _check_data(X, Z, alpha)
    _check_params(dps, tol)
    A, labels = att_svm_constraints(Xa, Za, al)
    _reject_zero_rows(A, labels, al)
    ctx = mpmath.MPContext()
    ctx.dps = dps
    d = Xa.shape[2]
    tol_mp = _tolerance(ctx, dps, tol, len(labels), d)
    ex = _exact(ctx, Xa, Za, al, labels)
    what = f"the Att-SVM for alpha={_alpha_str(al)}"
    shape = f"n(T-1)={len(labels)} constraints, d^2={d * d} unknowns"
    status, w, lam = _solve_qp(A, what)
    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise _infeasible_error(ex, A, what, shape)
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w is None or lam is None:
        raise SolverError(f"Clarabel returned status {status!r} on {what} ({shape}); no solution to certify")
    r = _certify(ex, A, w, lam, tol_mp, ctx.power(10, -ctx.mpf(3 * dps) / 4))
    if r is not None:
        return _solution(ex, r, labels, al, dps, True, tol_mp)
    W_s = [[ctx.mpf(float(v)) for v in row] for row in w.reshape(d, d)]
    r = _measure(ex, W_s, [ctx.mpf(float(v)) for v in lam])
    return _solution(ex, r, labels, al, dps, False, max(tol_mp, ctx.mpf(_PRIMAL_TIGHT)))


def classify_alpha(scores: np.ndarray, alpha: Sequence[int], support: Iterable[Label]) -> str:
    """Classify a token choice against scores ``g`` (shape ``(n, T)``) and the support of ``W_mm(alpha)``.

    - ``"optimal"``: every ``alpha_i`` is the strict, unique argmax of ``g[i]`` (``alpha = opt``);
    - ``"locally-optimal"``: ``g[i, alpha_i] > g[i, t]`` for every support pair ``(i, t)``;
    - ``"not-locally-optimal"``: otherwise.

    Ties count against ``alpha`` (``>`` is strict), so a tied maximum is never "optimal".
    """
    g = np.asarray(scores, dtype=np.float64)
    if g.ndim != 2 or not np.all(np.isfinite(g)):
        raise VerifyInputError(f"scores must be a finite (n, T) array; got shape {g.shape}")
    n, T = g.shape
    al = _as_alpha(alpha, n, T)
    pairs = [(operator.index(i), operator.index(t)) for i, t in support]
    bad = [(i, t) for i, t in pairs if not (0 <= i < n and 0 <= t < T) or t == al[i]]
    if bad:
        raise VerifyInputError(f"support pairs {bad} are out of range or name the selected token itself")
    if all(np.all(np.delete(g[i], al[i]) < g[i, al[i]]) for i in range(n)):
        return "optimal"
    if all(g[i, al[i]] > g[i, t] for i, t in pairs):
        return "locally-optimal"
    return "not-locally-optimal"


# ------------------------------------------------------------------------------------------- decoder SVM
@dataclass(frozen=True, eq=False)
class DecoderSVMSolution:
    """The decoder SVM u_mm = argmin ||u||_2 s.t. y_i u^T x_{i,opt_i} >= 1 [seed: 001, 003], certified.

    ``support`` lists the sequences whose constraint is tight; ``certificate`` is the underlying certified
    QP solution (its residuals, status and ``certified`` flag are those of this problem).
    """

    u: np.ndarray
    norm: float
    margin: float
    support: tuple[int, ...]
    multipliers: dict[int, float]
    certified: bool
    status: str
    certificate: SVMSolution

    def to_json(self) -> dict:
        c = self.certificate
        return {"u": self.u.tolist(), "norm": self.norm, "margin": self.margin, "support": list(self.support),
                "status": self.status, "certified": self.certified,
                "max_constraint_violation": c.max_constraint_violation, "duality_gap": c.duality_gap}


def solve_decoder_svm(X: np.ndarray, y: np.ndarray, alpha: Sequence[int], *, dps: int = 50,
                      tol: float | None = None) -> DecoderSVMSolution:
    """Solve and certify u_mm for the selected tokens x_{i,alpha_i}, exactly as the Att-SVM is certified.

    Reduction (exact, no rounding): the rows y_i x_{i,alpha_i} are the Att-SVM rows (x'_{i,0} - x'_{i,1}) z'_i^T
    of the 2-token data x'_{i,0} = y_i x_{i,alpha_i}, x'_{i,1} = 0, z'_i = e_1 (multiplying by y_i = +-1 and
    subtracting 0 are exact in float64). For these rows ||W||_F is minimized by a W whose only nonzero column
    is the first, and that column is u_mm; so :func:`solve_att_svm` (Clarabel + mpmath KKT certificate) solves
    the decoder SVM, and its certificate, residuals and infeasibility (Farkas) diagnosis carry over verbatim.
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
    sol = solve_att_svm(Xp, Zp, [0] * n, dps=dps, tol=tol)
    u = sol.W[:, 0].copy()
    u.setflags(write=False)
    return DecoderSVMSolution(
        u=u, norm=sol.norm, margin=sol.margin, support=tuple(sorted(i for i, _ in sol.support)),
        multipliers={i: v for (i, _), v in sol.multipliers.items()}, certified=sol.certified,
        status=sol.status, certificate=sol,
    )


# ------------------------------------------------------------------------------------- relaxed Att-SVM
def solve_relaxed_att_svm(X: np.ndarray, Z: np.ndarray, alpha: Sequence[int], tight: Iterable[int], *,
                          dps: int = 50, tol: float | None = None) -> SVMSolution:
    """The relaxed Att-SVM used for joint training in PRIOR [prior]:

        min ||W||_F  s.t.  (x_{i,alpha_i} - x_{i,t})^T W z_i >= b_i  for all i, t != alpha_i,

    with b_i = 1 for the sequences in ``tight`` (the support vectors of the decoder SVM u_mm) and b_i = 0 for
    the others. KKT: w = A^T lam, lam >= 0, A w >= b, lam_k (a_k^T w - b_k) = 0; dual max b^T lam - 1/2||A^T lam||^2.

    Certified like :func:`solve_att_svm`: Clarabel (status checked), then the guessed active set S (the same
    scale-free rules) is solved exactly in mpmath, A_S A_S^T lam_S = b_S, w = A_S^T lam_S, and every KKT
    residual is measured on all rows at ``dps`` digits against ``tol`` (same default). When the Gram matrix of S
    is singular or a residual fails, the solver's own (w, lam) is returned with ``certified=False``. An
    infeasible report raises :class:`InfeasibleSVMError` stating that no Farkas certificate is computed for the
    relaxed problem (only rows with b_i = 1 can be infeasible).
    """
    Xa, Za, al = _check_data(X, Z, alpha)
    _check_params(dps, tol)
    n = Xa.shape[0]
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
    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise InfeasibleSVMError(f"Clarabel reports {what} infeasible (no Farkas certificate is computed for the "
                                 "relaxed problem)")
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w.value is None or con.dual_value is None:
        raise SolverError(f"Clarabel returned status {status!r} on {what}; no solution to certify")
    wf = np.asarray(w.value, dtype=np.float64)
    lam = np.asarray(con.dual_value, dtype=np.float64).reshape(-1)
    bm = [ctx.mpf(float(v)) for v in b]

    def measure(W: list[list[Any]], lm: list[Any]) -> _Measured:
        Wz = [[ctx.fdot(row, z) for row in W] for z in ex.Z]
        slack = [ctx.fdot(u, Wz[i]) - bk for u, i, bk in zip(ex.U, ex.seq, bm, strict=True)]
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
        if _certifies(r, tol_mp):
            return _solution(ex, r, labels, al, dps, True, tol_mp)
    W_s = [[ctx.mpf(float(v)) for v in row] for row in wf.reshape(d, d)]
    r = measure(W_s, [ctx.mpf(float(v)) for v in lam])
    return _solution(ex, r, labels, al, dps, False, max(tol_mp, ctx.mpf(_PRIMAL_TIGHT)))
