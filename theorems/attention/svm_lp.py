"""lp max-margin problems (lp-Att-SVM, lp decoder SVM), solved by cvxpy/Clarabel, confirmed in mpmath and
certified in exact arithmetic.

Both problems have the form ``min ||w||_p  s.t.  A w >= 1`` (1 < p < inf, ``||.||_p`` the entrywise p-norm of the
flattened variable):

- lp-Att-SVM for a token choice alpha: ``w = vec(W)`` (row-major) and row ``k`` of ``A`` is
  ``vec((x_{i,alpha_i} - x_{i,t}) z_i^T)`` for each pair ``(i, t != alpha_i)`` (as in :mod:`theorems.attention.svm`);
- lp decoder SVM: ``w = u`` and row ``i`` is ``y_i x_{i,alpha_i}``.

The minimizer is the same as that of ``psi(w) = (1/p) ||w||_p^p`` under the same constraints (psi is a monotone
function of the norm). With q = p/(p-1), ``phi(w) = grad psi(w) = sign(w)|w|^{p-1}`` and its inverse
``phi^{-1}(v) = grad psi*(v) = sign(v)|v|^{q-1}``, psi* = (1/q)||.||_q^q, the KKT conditions read

    w = grad psi*(A^T mu),  mu >= 0,  A w >= 1,  mu_k (a_k^T w - 1) = 0,

and the (smooth) dual is ``max_{mu >= 0} 1^T mu - (1/q) ||A^T mu||_q^q``; at the optimum both values equal
``||w||_p^p / p``. The norm form's multipliers are ``lam = mu / ||w||_p^{p-1}`` (cvxpy's duals of the pnorm
problem), and the dual of the norm form is ``max 1^T lam s.t. ||A^T lam||_q <= 1``.

Confirmation (mpmath, ``dps`` digits, exact float64 data): guess the active set S from the solver, solve the
nonlinear equations ``A_S grad psi*(A_S^T mu_S) = 1`` by damped Newton (Jacobian
``A_S diag((q-1)|v|^{q-2}) A_S^T``), drop rows whose multiplier goes negative, then measure on ALL rows: constraint
violation, ``min mu``, stationarity ``||phi(w) - A^T mu||_inf`` (0 by construction, re-measured), complementary
slackness and the duality gap. Each is compared to ``tol`` relative to its scale (``confirmed``).

Certificate (:func:`theorems.attention.certificate.certify_lp`, exact rationals): the polished ``w`` scaled up by
its exact minimum margin is exactly feasible, so ``||W_mm^p|| <= ||w'||_p``; the multipliers give
``sum mu / ||A^T mu||_q <= ||W_mm^p||`` (the norm form's dual ``max 1^T lam s.t. ||A^T lam||_q <= 1``). The p-norms
are enclosed by integer roots (p with a small denominator, such as 1.25, 1.5, 1.75, 3) or Arb balls (python-flint;
without it such a p is "numerical"). ``certified=True`` (status ``"optimal"``, ``certificate="rigorous"``) when
the relative gap is ``<= tol``; the certificate also bounds ``||W - W_mm^p||_F`` for the float64 ``W``. Anything
else comes back ``certified=False`` with status ``optimal_inaccurate`` and a note saying how far it got; callers
turn that into "undecided". An infeasible problem raises :class:`InfeasibleProblemError` with an exact Farkas
certificate (the feasible set does not depend on p), or :class:`SolverError` (not certified) when none is found.

An independent check, :func:`solve_lp_smooth_dual`, maximizes the smooth dual with scipy's L-BFGS-B (no cvxpy,
no Newton polish); the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import mpmath
import numpy as np

from theorems.attention.certificate import (
    Certificate,
    DenseRows,
    ExactPoint,
    FactoredRows,
    FarkasCertificate,
    Rows,
    certify_lp,
    check_farkas,
    find_farkas,
    not_certified,
)
from theorems.attention.svm import _alpha_str, _as_alpha, _check_data
from verify.errors import InfeasibleProblemError, SolverError, VerifyInputError
from verify.exact import to_fraction

if TYPE_CHECKING:
    import cvxpy as cp
else:  # imported on first use: start-up (verify list, show, --help) does not pay for cvxpy
    from verify.lazy import lazy_module

    cp = lazy_module("cvxpy")

Label = Any  # (i, t) for the Att-SVM, i for the decoder SVM

#: Active-set guess, as in theorems.attention.svm: Clarabel stops at relative accuracy ~1e-8, so active rows have slack
#: ~1e-8 and inactive rows multipliers ~1e-8 max(mu); 1e-6 sits between with two orders to spare each side.
_DUAL_REL = 1e-6
_PRIMAL_TIGHT = 1e-6
#: Quoted bound of an uncertified infeasibility, as in theorems.attention.svm (Clarabel solves the simplex QP only to
#: ~5e-5 on infeasible data).
_FARKAS_REL = 1e-3
_P_MIN, _P_MAX = 1.01, 100.0
_MAX_NEWTON = 60


def check_p(p: Any) -> float:
    """Validate 1 < p < inf (we accept 1.01 <= p <= 100; outside, the maps lose all float64 meaning)."""
    try:
        v = float(p)
    except (TypeError, ValueError):
        raise VerifyInputError(f"p must be a number, got {p!r}") from None
    if not (_P_MIN <= v <= _P_MAX):
        raise VerifyInputError(f"p must lie in [{_P_MIN}, {_P_MAX}] (1 < p < inf), got {p!r}")
    return v


def dual_exponent(p: float) -> float:
    """q = p/(p-1), the dual exponent."""
    return p / (p - 1.0)


@dataclass(frozen=True, eq=False)
class LpSVMSolution:
    """A certified (or explicitly uncertified) solution of ``min ||w||_p s.t. A w >= 1``.

    ``W`` has the variable's shape ((d, d) or (d,)); ``multipliers`` are the psi-form duals mu (0 if inactive);
    ``norm`` is ``||W||_p`` and ``margin`` = 1/norm. Residuals are measured in mpmath at ``dps`` digits, each
    relative to its scale (see :func:`_confirms`); ``confirmed`` says they passed. ``certified`` means the exact
    certificate ``proof`` is rigorous (its ``norm_interval`` encloses ``||W_mm^p||_p``, ``distance_bound`` bounds
    ``||W - W_mm^p||_F``). ``note`` says what was (not) reached.
    """

    W: np.ndarray
    p: float
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
    kind: str = "att"
    note: str = ""
    extra: dict = field(default_factory=dict)
    confirmed: bool = False
    proof: Certificate = field(default_factory=lambda: not_certified("no exact check was run", False))

    def to_json(self) -> dict:
        sup = [list(s) if isinstance(s, tuple) else s for s in self.support]
        mult = [[*(k if isinstance(k, tuple) else (k,)), v] for k, v in sorted(self.multipliers.items())]
        return {"kind": self.kind, "p": self.p, "alpha": list(self.alpha), "status": self.status,
                "certified": self.certified, "confirmed": self.confirmed, **self.proof.to_json(),
                "norm": self.norm, "margin": self.margin, "support": sup,
                "multipliers": mult, "W": self.W.tolist(),
                "max_constraint_violation": self.max_constraint_violation, "stationarity": self.stationarity,
                "complementary_slackness": self.complementary_slackness, "duality_gap": self.duality_gap,
                "dps": self.dps, "note": self.note}


# --------------------------------------------------------------------------------------------- exact rows
def _mp_rows_att(ctx: Any, X: np.ndarray, Z: np.ndarray, alpha: tuple, labels: list) -> np.ndarray:
    """Exact rows vec((x_{i,alpha_i} - x_{i,t}) z_i^T) as an object array (m, d*d) of mpf."""
    d = X.shape[2]
    out = np.empty((len(labels), d * d), dtype=object)
    for k, (i, t) in enumerate(labels):
        u = [ctx.mpf(float(a)) - ctx.mpf(float(b)) for a, b in zip(X[i, alpha[i]], X[i, t], strict=True)]
        z = [ctx.mpf(float(v)) for v in Z[i]]
        out[k] = [ua * zb for ua in u for zb in z]
    return out


def _mp(ctx: Any, A: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda v: ctx.mpf(float(v)), otypes=[object])(A)


def _phi_inv(ctx: Any, v: np.ndarray, p: float) -> np.ndarray:
    """grad psi*(v) = sign(v)|v|^{q-1}, elementwise in mpmath; q - 1 = 1/(p-1) is formed in mpmath (a float64 q
    would make phi(phi^{-1}(v)) differ from v by 1e-16)."""
    e = 1 / (ctx.mpf(p) - 1)
    return np.array([ctx.sign(x) * ctx.power(abs(x), e) if x else ctx.mpf(0) for x in v], dtype=object)


def _phi(ctx: Any, w: np.ndarray, p: float) -> np.ndarray:
    e = ctx.mpf(p) - 1
    return np.array([ctx.sign(x) * ctx.power(abs(x), e) if x else ctx.mpf(0) for x in w], dtype=object)


@dataclass(frozen=True)
class _Measured:
    w: np.ndarray
    mu: np.ndarray
    v: np.ndarray
    slack: np.ndarray
    violation: Any
    min_mu: Any
    stationarity: Any
    comp: Any
    gap: Any
    psi: Any


def _measure(ctx: Any, A: np.ndarray, w: np.ndarray, mu: np.ndarray, p: float) -> _Measured:
    """Residuals of (w, mu) on all rows (mpmath)."""
    q = ctx.mpf(p) / (ctx.mpf(p) - 1)
    slack = A.dot(w) - 1
    v = A.T.dot(mu)
    psi = ctx.fsum(ctx.power(abs(x), p) for x in w) / p
    psi_star = ctx.fsum(ctx.power(abs(x), q) for x in v) / q
    stat = max(abs(a - b) for a, b in zip(_phi(ctx, w, p), v, strict=True))
    return _Measured(
        w=w, mu=mu, v=v, slack=slack, violation=max(ctx.mpf(0), -min(slack)), min_mu=min(mu), stationarity=stat,
        comp=max(abs(m * s) for m, s in zip(mu, slack, strict=True)), gap=psi - (ctx.fsum(mu) - psi_star), psi=psi)


def _confirms(ctx: Any, r: _Measured, tol: Any) -> bool:
    """Each residual within ``tol`` of its scale: violation (rhs 1), ``min mu >= -tol max mu``,
    stationarity ``<= tol max|A^T mu|``, complementarity ``<= tol max mu``, ``|gap| <= tol psi(w)``."""
    mu_max = max(r.mu)
    v_max = max(abs(x) for x in r.v)
    if mu_max <= 0 or v_max == 0:
        return False
    return bool(r.violation <= tol and r.min_mu >= -tol * mu_max and r.stationarity <= tol * v_max
                and r.comp <= tol * mu_max and abs(r.gap) <= tol * r.psi)


def _newton(ctx: Any, A_S: np.ndarray, mu0: np.ndarray, p: float, target: Any) -> np.ndarray | None:
    """Solve F(mu) = A_S grad psi*(A_S^T mu) - 1 = 0 by damped Newton from mu0 (mpmath); None on failure."""
    mu = mu0.copy()
    e = 1 / (ctx.mpf(p) - 1)  # q - 1

    def F(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = A_S.T.dot(m)
        return A_S.dot(_phi_inv(ctx, v, p)) - 1, v

    f, v = F(mu)
    fn = max(abs(x) for x in f)
    for _ in range(_MAX_NEWTON):
        if fn <= target:
            return mu
        # Jacobian A_S diag((q-1)|v|^{q-2}) A_S^T; at v_j = 0 with q < 2 the weight is infinite: such a
        # coordinate is pinned, so cap it at the largest finite weight times 1e6 (a damping, not an answer:
        # the residuals decide).
        raw = [e * ctx.power(abs(x), e - 1) if x else None for x in v]
        finite = [x for x in raw if x is not None]
        cap = (max(finite) if finite else ctx.mpf(1)) * 10**6
        wts = np.array([cap if x is None else x for x in raw], dtype=object)
        J = ctx.matrix((A_S * wts[None, :]).dot(A_S.T).tolist())
        try:
            step = ctx.lu_solve(J, ctx.matrix((-f).tolist()))
        except ZeroDivisionError:
            return None
        step = np.array([step[i] for i in range(len(mu))], dtype=object)
        lr = ctx.mpf(1)
        for _ in range(40):
            cand = mu + lr * step
            fc, vc = F(cand)
            fcn = max(abs(x) for x in fc)
            if fcn < fn:
                break
            lr /= 2
        else:
            return None
        mu, f, v, fn = cand, fc, vc, fcn
    return mu if fn <= target else None


def _independent(Af: np.ndarray, order: list[int]) -> list[int]:
    """Rows of ``order`` kept greedily while they add rank (float64 Gram-Schmidt, relative threshold 1e-9):
    duplicated or dependent rows (degenerate supports) would make the Newton Jacobian singular. Dropping them
    is safe: the certificate is measured on every row."""
    basis: list[np.ndarray] = []
    kept = []
    for k in order:
        r = Af[k].astype(float).copy()
        nrm = float(np.linalg.norm(r))
        for b in basis:
            r -= (b @ r) * b
        if nrm > 0 and float(np.linalg.norm(r)) > 1e-9 * nrm:
            basis.append(r / np.linalg.norm(r))
            kept.append(k)
    return kept


def _confirm(ctx: Any, A: np.ndarray, w_f: np.ndarray, mu_f: np.ndarray, Af: np.ndarray, p: float,
             tol: Any) -> _Measured | None:
    """Guess active sets from the solver, polish by Newton, drop rows with negative mu, measure on all rows."""
    mu_max = float(np.max(mu_f)) if mu_f.size else 0.0
    dual = mu_f >= _DUAL_REL * mu_max if mu_max > 0 else np.zeros(mu_f.shape, dtype=bool)
    tight = np.abs(Af @ w_f - 1.0) <= _PRIMAL_TIGHT
    target = ctx.power(10, -ctx.mpf(ctx.dps) + 8)
    tried: list[tuple[int, ...]] = []
    queue = [tuple(int(k) for k in np.flatnonzero(m)) for m in (dual | tight, dual, tight)]
    while queue and len(tried) < 8:
        S = queue.pop(0)
        if not S or S in tried:
            continue
        tried.append(S)
        idx = _independent(Af, sorted(S, key=lambda k: -mu_f[k]))
        mu0 = np.array([ctx.mpf(float(max(mu_f[k], 0.0)) or 1e-3 * mu_max or 1e-3) for k in idx], dtype=object)
        mu_S = _newton(ctx, A[idx], mu0, p, target)
        if mu_S is None:
            continue
        if min(mu_S) < 0:
            queue.insert(0, tuple(k for k, m in zip(idx, mu_S, strict=True) if m > 0))
            continue
        mu = np.array([ctx.mpf(0)] * A.shape[0], dtype=object)
        for k, m in zip(idx, mu_S, strict=True):
            mu[k] = m
        w = _phi_inv(ctx, A.T.dot(mu), p)
        r = _measure(ctx, A, w, mu, p)
        if _confirms(ctx, r, tol):
            return r
        if r.violation > tol:  # a dropped row is violated: add the violated rows and retry
            viol = tuple(sorted(set(idx) | {k for k, s in enumerate(r.slack) if s < -tol}))
            queue.insert(0, viol)
    return None


# ------------------------------------------------------------------------------------------------ solve
def _cvx(Af: np.ndarray, p: float, what: str) -> tuple[str | None, np.ndarray | None, np.ndarray | None]:
    w = cp.Variable(Af.shape[1])
    con = Af @ w >= 1
    prob = cp.Problem(cp.Minimize(cp.pnorm(w, p)), [con])  # type: ignore[arg-type]  # float p is supported
    try:
        prob.solve(solver=cp.CLARABEL)
    except cp.error.SolverError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SolverError(f"Clarabel failed on {what}: {first}") from exc
    lam = None if con.dual_value is None else np.asarray(con.dual_value, dtype=np.float64).reshape(-1)
    return (None if prob.status is None else str(prob.status),
            None if w.value is None else np.asarray(w.value, dtype=np.float64), lam)


def _farkas(ctx: Any, A: np.ndarray, Af: np.ndarray, what: str,
            exact_rows: Rows) -> InfeasibleProblemError | SolverError:
    """Infeasibility (the feasible set does not depend on p): an exact Farkas vector (``y >= 0`` rational,
    ``sum y_k a_k = 0`` exactly: :func:`theorems.attention.certificate.find_farkas` from Clarabel's min-norm convex
    combination) -> :class:`InfeasibleProblemError`; none found -> :class:`SolverError` (not certified), quoting
    the proven bound ``||w||_2 >= 1/||A^T y||`` (1 = 1^T y <= y^T A w <= ||A^T y|| ||w||)."""
    zero = np.flatnonzero(~np.any(Af != 0, axis=1))
    if zero.size and check_farkas(exact_rows, FarkasCertificate((int(zero[0]),), (to_fraction(1),))):
        return InfeasibleProblemError(f"{what} is infeasible: constraint row {int(zero[0])} is zero (reads 0 >= 1; "
                                      "exact)")
    y = cp.Variable(Af.shape[0], nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(Af.T @ y)), [cp.sum(y) == 1])
    prob.solve(solver=cp.CLARABEL)
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or y.value is None:
        raise SolverError(f"Clarabel reported {what} infeasible but the Farkas problem ended with {prob.status!r}")
    cert = find_farkas(exact_rows, np.asarray(y.value, dtype=np.float64))
    if cert is not None:
        return InfeasibleProblemError(f"{what} is infeasible (exact Farkas certificate: y >= 0 on {len(cert.rows)} "
                                      f"row(s) with sum_k y_k a_k = 0 exactly, checked in rational arithmetic; "
                                      f"{cert.describe()})")
    ym = np.array([ctx.mpf(float(v)) for v in np.clip(y.value, 0.0, None)], dtype=object)
    ym = ym / ctx.fsum(ym)
    delta = ctx.sqrt(ctx.fsum(x * x for x in A.T.dot(ym)))
    row_max = max(ctx.sqrt(ctx.fsum(x * x for x in row)) for row in A)
    if not delta <= _FARKAS_REL * row_max:
        raise SolverError(f"Clarabel reported {what} infeasible but no Farkas certificate was found "
                          f"(min ||A^T y|| ~ {float(delta):.3g}, largest row {float(row_max):.3g})")
    return SolverError(f"Clarabel reported {what} infeasible; not certified: no exact Farkas certificate was found (a "
                       f"convex combination of the constraint rows has norm {float(delta):.3g})")


def solve_lp_margin(A: np.ndarray, Af: np.ndarray, labels: list, p: float, *, dps: int, what: str,
                    shape: tuple[int, ...], alpha: tuple[int, ...], kind: str,
                    tol: float | None = None, exact_rows: Rows | None = None) -> LpSVMSolution:
    """Solve, confirm and certify ``min ||w||_p s.t. A w >= 1`` (``A`` exact mpf rows, ``Af`` their float64
    rounding; ``exact_rows``: the rows as exact integers for the certificate, built from the data; default: the
    mpf values of ``A`` taken exactly).

    Tolerance ``tol = (m + N) 10^(-dps/2)`` (m rows, N unknowns), derived as in
    :func:`theorems.attention.svm.solve_att_svm`:
    every residual is a sum of at most m + N products at unit round-off 10^(-dps) after a Newton solve whose error
    is amplified by the Jacobian's condition number, so rounding stays below ``tol`` while cond <= 10^(dps/2); a
    wrong active set leaves a defect of the size of the geometry, far above it.
    """
    p = check_p(p)
    if dps < 20:
        raise VerifyInputError(f"dps must be >= 20; got {dps}")
    ctx = mpmath.MPContext()
    ctx.dps = dps
    m, N = Af.shape
    tol_mp = ctx.mpf(tol) if tol is not None else (m + N) * ctx.power(10, -ctx.mpf(dps) / 2)
    rows_x = DenseRows.of(A, shape) if exact_rows is None else exact_rows
    if not np.any(Af != 0, axis=1).all():
        raise _farkas(ctx, A, Af, what, rows_x)
    status, w_f, lam = _cvx(Af, p, what)
    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise _farkas(ctx, A, Af, what, rows_x)
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w_f is None or lam is None:
        raise SolverError(f"Clarabel returned status {status!r} on {what}; no solution to certify")
    nrm = float(np.linalg.norm(w_f, ord=p)) if np.any(w_f) else 1.0
    mu_f = np.clip(lam, 0.0, None) * nrm ** (p - 1)  # psi-form multipliers
    r = _confirm(ctx, A, w_f, mu_f, Af, p, tol_mp)
    confirmed = r is not None
    note = "confirmed by Newton polish in mpmath"
    if r is None:
        w_m = np.array([ctx.mpf(float(v)) for v in w_f], dtype=object)
        r = _measure(ctx, A, w_m, np.array([ctx.mpf(float(v)) for v in mu_f], dtype=object), p)
        note = (f"NOT confirmed: Clarabel's solution has constraint violation {float(r.violation):.3g} and duality "
                f"gap {float(r.gap / r.psi) if r.psi else float('nan'):.3g} (relative), and the mpmath polish did "
                "not converge; a verdict needing more accuracy than this is undecided")
    tight = tol_mp if confirmed else max(tol_mp, ctx.mpf(_PRIMAL_TIGHT))
    norm = ctx.power(ctx.fsum(ctx.power(abs(x), p) for x in r.w), 1 / ctx.mpf(p))
    W = np.array([float(x) for x in r.w], dtype=np.float64).reshape(shape)
    W.setflags(write=False)
    proof = certify_lp(rows_x, p, ExactPoint.of(r.w), ExactPoint.of([x if x > 0 else 0 for x in r.mu]),
                       tol=to_fraction(tol_mp), reported=W, confirmed=confirmed)
    certified = proof.rigorous
    note = f"{note}; {'certified' if certified else 'not certified'}: {proof.reason}"
    return LpSVMSolution(
        W=W, p=p, norm=float(norm), margin=float(1 / norm) if norm > 0 else float("inf"),
        support=tuple(sorted(lab for lab, s in zip(labels, r.slack, strict=True) if abs(s) <= tight)),
        multipliers={lab: float(x) for lab, x in zip(labels, r.mu, strict=True)},
        status="optimal" if certified else "optimal_inaccurate", certified=certified,
        max_constraint_violation=float(r.violation), stationarity=float(r.stationarity),
        complementary_slackness=float(r.comp), duality_gap=float(r.gap), alpha=alpha, dps=dps, kind=kind,
        note=note, confirmed=confirmed, proof=proof)


def solve_lp_att_svm(X: np.ndarray, Z: np.ndarray, alpha: Sequence[int], p: float, *, dps: int = 40,
                     tol: float | None = None) -> LpSVMSolution:
    """lp-Att-SVM: ``argmin ||W||_p s.t. (x_{i,alpha_i} - x_{i,t})^T W z_i >= 1`` (entrywise p-norm), certified."""
    from theorems.attention.svm import att_svm_constraints

    p = check_p(p)
    Xa, Za, al = _check_data(X, Z, alpha)
    Af, labels = att_svm_constraints(Xa, Za, al)
    ctx = mpmath.MPContext()
    ctx.dps = dps
    A = _mp_rows_att(ctx, Xa, Za, al, labels)
    d = Xa.shape[2]
    return solve_lp_margin(A, Af, labels, p, dps=dps, what=f"the l{p:g}-Att-SVM for alpha={_alpha_str(al)}",
                           shape=(d, d), alpha=al, kind="att", tol=tol, exact_rows=FactoredRows.from_data(Xa, Za, al))


def decoder_rows(X: np.ndarray, y: np.ndarray, alpha: Sequence[int]) -> np.ndarray:
    """Rows y_i x_{i,alpha_i} of the decoder SVM (exact in float64: a sign flip)."""
    Xa = np.asarray(X, dtype=np.float64)
    al = _as_alpha(alpha, Xa.shape[0], Xa.shape[1])
    return np.asarray(y, dtype=np.float64)[:, None] * Xa[np.arange(Xa.shape[0]), list(al)]


def solve_lp_decoder_svm(X: np.ndarray, y: np.ndarray, alpha: Sequence[int], p: float, *, dps: int = 40,
                         tol: float | None = None) -> LpSVMSolution:
    """lp decoder SVM on the tokens alpha: ``argmin ||u||_p s.t. y_i u^T x_{i,alpha_i} >= 1``, certified."""
    p = check_p(p)
    Xa = np.asarray(X, dtype=np.float64)
    if Xa.ndim != 3 or not np.all(np.isfinite(Xa)):
        raise VerifyInputError(f"X must be a finite (n, T, d) array; got shape {Xa.shape}")
    al = _as_alpha(alpha, Xa.shape[0], Xa.shape[1])
    Af = decoder_rows(Xa, y, al)
    ctx = mpmath.MPContext()
    ctx.dps = dps
    return solve_lp_margin(_mp(ctx, Af), Af, list(range(Xa.shape[0])), p, dps=dps,
                           what=f"the l{p:g} decoder SVM for alpha={_alpha_str(al)}", shape=(Xa.shape[2],),
                           alpha=al, kind="decoder", tol=tol, exact_rows=DenseRows.of(Af))


def svm_lp_report(X: np.ndarray, Z: np.ndarray, scores: np.ndarray, alpha: Sequence[int], p: float) -> tuple[dict, str]:
    """What ``verify svm --p P`` prints: the certified lp-Att-SVM's norm, margin, support, status, residuals and
    whether alpha is locally optimal (against ``scores`` g), as a JSON-able dict and as text."""
    from theorems.attention.svm import classify_alpha

    sol = solve_lp_att_svm(X, Z, alpha, p)
    out = sol.to_json()
    out["locally_optimal"] = classify_alpha(scores, alpha, sol.support)
    keys = ("p", "norm", "margin", "support", "status", "max_constraint_violation", "complementary_slackness",
            "duality_gap", "locally_optimal", "certified", "confirmed", "certificate", "norm_interval",
            "distance_bound", "direction_bound", "note")
    text = "\n".join(f"{k}: {out[k]}" for k in keys)
    return {k: out[k] for k in (*keys, "alpha", "W", "multipliers")}, text


# ----------------------------------------------------------------------------------- independent check
def solve_lp_smooth_dual(Af: np.ndarray, p: float, *, gtol: float = 1e-13) -> tuple[np.ndarray, np.ndarray]:
    """Independent solve: minimize (1/q)||A^T mu||_q^q - 1^T mu over mu >= 0 (L-BFGS-B, float64), then
    w = grad psi*(A^T mu). The objective is C^1 and convex; no cvxpy and no mpmath are involved. Returns (w, mu).

    To keep the iteration well scaled, the rows are first divided by s = max |A|: the scaled problem's solution
    is w' = s w (constraints (A/s)(s w) >= 1), so w = w'/s; the returned mu is the scaled problem's.
    """
    from scipy.optimize import minimize

    p = check_p(p)
    q = dual_exponent(p)
    s = float(np.max(np.abs(Af)))
    B = Af / s  # constraints B (s w) >= 1

    def f(mu: np.ndarray) -> tuple[float, np.ndarray]:
        v = B.T @ mu
        av = np.abs(v)
        wv = np.sign(v) * av ** (q - 1)
        return float(np.sum(av**q) / q - np.sum(mu)), B @ wv - 1.0

    mu0 = np.full(B.shape[0], 1.0 / B.shape[0])
    res = minimize(f, mu0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * B.shape[0],
                   options={"maxiter": 20000, "ftol": 1e-16, "gtol": gtol, "maxcor": 50})
    mu = res.x
    v = B.T @ mu
    w_scaled = np.sign(v) * np.abs(v) ** (q - 1)
    return w_scaled / s, mu
