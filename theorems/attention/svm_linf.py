r"""The l-infinity and l1 limits of the lp-Att-SVM as linear programs, certified in exact rational arithmetic,
and the distance of a direction to the SET of their optimal directions.

For a token choice ``alpha`` and the constraint rows of :func:`theorems.attention.svm.att_svm_constraints` (row
``k`` for the pair ``(i, t != alpha_i)`` is ``a_k = vec((x_{i,alpha_i} - x_{i,t}) z_i^T)``, row-major)::

    linf-Att-SVM:  s* = min ||W||_inf = max_ij |W_ij|   s.t.  A vec(W) >= 1
    l1-Att-SVM:    s* = min ||W||_1   = sum_ij |W_ij|   s.t.  A vec(W) >= 1

Both are linear programs (cvxpy with HiGHS, Clarabel as fallback). Their duals are
``max 1^T lam s.t. lam >= 0, ||A^T lam||_{q*} <= 1`` with ``q* = 1`` (linf) and ``q* = inf`` (l1).

**Certificate** (exact rationals; every float64 number is a dyadic rational, the rows are rebuilt exactly from
the data by :class:`theorems.attention.certificate.FactoredRows`):

- upper bound: a primal point ``w``, scaled up by its exact minimum margin ``r`` when ``r < 1``, is exactly
  feasible, so ``s* <= ||w / min(r, 1)||_q`` (a max or a sum of absolute values: exact, no roots);
- lower bound: for any ``lam >= 0``, ``sum lam = lam^T 1 <= lam^T A w = <A^T lam, w> <= ||A^T lam||_{q*} ||w||_q``
  for every feasible ``w`` (Hoelder), so ``s* >= sum lam / ||A^T lam||_{q*}`` (exact);
- before checking, the solver's answer is **polished** to an exact vertex: the tight rows ``K`` and the
  saturated entries ``J`` (linf: ``|w_j| = s``; l1: the support ``w_j != 0``) are read off the float solution,
  the primal equations (``a_k^T w = 1`` on ``K``; ``w_j = sigma_j s`` on ``J`` for linf, ``w_j = 0`` off the
  support for l1) and the dual ones (``(A_K^T lam)_j = 0`` off ``J`` for linf; ``(A_K^T lam)_j = sigma_j c``
  on the support for l1) are solved in rationals (free unknowns fixed at the rounded float values), and the
  result is checked exactly. When both polishes pass, the two bounds coincide: the optimum is known exactly
  (``rel_gap = 0``). When a polish fails (a degenerate vertex, a wrong guess) the rounded float point is
  checked instead, and the interval is still a proof, only wider (about the solver's 1e-9).

``certified`` (certificate ``"rigorous"``) means the exact checks passed and the relative width of the interval
is at most ``tol`` (default 1e-9); the interval is reported either way, and a failed check is ``"numerical"``.

**Non-uniqueness.** Neither LP need have a unique solution (the linf one rarely does: entries that no active
row needs can move freely inside ``[-s*, s*]``). The optimal set is the polytope
``S* = {W : A vec(W) >= 1, ||W||_q <= s*}``, and its normalized directions are exactly ``S*/s*`` (every optimal
point has norm ``s*``). :func:`set_distance` measures ``min_{U in S*/s*} ||V - U||_q`` for
``V = W_t/||W_t||_q``, itself a linear program (scipy's HiGHS). It is solved over the slightly larger polytope
``{A u >= (1 - 1e-9)/s_hi, ||u||_q <= 1}`` (``s_hi`` the certified upper bound of ``s*``), which contains
``S*/s*``: the value is a lower bound on the distance to the set, up to the LP solver's tolerance. The
distance to the one returned solution, ``||V - W/||W||_q||_q``, is an upper bound on it; the two are reported
side by side.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from theorems.attention.certificate import (
    NUMERICAL,
    RIGOROUS,
    FactoredRows,
    _interval,
)
from theorems.attention.svm import _alpha_str, _check_data, _reject_zero_rows, att_svm_constraints
from verify.errors import InfeasibleProblemError, SolverError, VerifyInputError
from verify.exact import _rref, decimal_up

if TYPE_CHECKING:
    import cvxpy as cp
else:  # imported on first use
    from verify.lazy import lazy_module

    cp = lazy_module("cvxpy")

NORMS = ("inf", "1")
#: Relative width of the norm interval accepted as rigorous (the polished vertex gives 0).
DEFAULT_TOL = 1e-9
#: Active-set guess: a row is tight when its slack is <= this (relative to 1); an entry is saturated (linf) when
#: |w_j| >= (1 - this) s, in the support (l1) when |w_j| > this * max |w|.
_TIGHT = 1e-7
#: Relaxation of the optimal set in :func:`set_distance` (absorbs the LP solver's feasibility tolerance).
_SET_RELAX = 1e-9


def check_norm(q: Any) -> str:
    """``"inf"`` or ``"1"`` (also accepted: ``float('inf')``, 1, "linf", "l1")."""
    s = str(q).lower().removeprefix("l")
    if s in ("inf", "infinity"):
        return "inf"
    if s in ("1", "1.0"):
        return "1"
    raise VerifyInputError(f"the polyhedral Att-SVM norm must be 'inf' or '1', got {q!r}")


def qnorm(V: np.ndarray, q: str, axes: tuple[int, ...] | None = None) -> np.ndarray:
    """Entrywise ||V||_inf or ||V||_1 over ``axes`` (default: all axes but the first, a batch)."""
    V = np.asarray(V, dtype=float)
    ax = tuple(range(1, V.ndim)) if axes is None else axes
    return np.max(np.abs(V), axis=ax) if q == "inf" else np.sum(np.abs(V), axis=ax)


@dataclass(frozen=True, eq=False)
class PolySVMSolution:
    """A solution of the linf or l1 Att-SVM with its exact certificate.

    ``W`` (d, d) is the float64 rounding of the exactly feasible (polished or scaled) primal point; ``norm`` its
    q-norm; ``norm_bounds`` the exact ``(lo, hi)`` enclosing ``s*`` (Fractions) and ``norm_interval`` their decimal
    strings rounded outward; ``rel_gap`` = (hi - lo)/hi; ``polished`` says whether the exact vertex polish passed
    (primal, dual). ``support``: the tight constraints ``(i, t)``. ``certificate``: "rigorous" or "numerical".
    """

    W: np.ndarray
    q: str
    norm: float
    alpha: tuple[int, ...]
    support: tuple[tuple[int, int], ...]
    certificate: str
    reason: str
    norm_bounds: tuple[Fraction, Fraction]
    rel_gap: float
    polished: tuple[bool, bool]
    solver: str
    multipliers: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @property
    def certified(self) -> bool:
        return self.certificate == RIGOROUS

    @property
    def norm_interval(self) -> tuple[str, str]:
        return _interval(*self.norm_bounds)

    @property
    def s_hi(self) -> float:
        """A float64 number >= the certified upper bound of s* (rounded up)."""
        return float(decimal_up(self.norm_bounds[1], 17))

    def to_json(self) -> dict:
        return {"q": self.q, "alpha": list(self.alpha), "norm": self.norm, "certificate": self.certificate,
                "certified": self.certified, "norm_interval": list(self.norm_interval), "rel_gap": self.rel_gap,
                "polished": list(self.polished), "support": [list(s) for s in self.support],
                "solver": self.solver, "note": self.reason, "W": self.W.tolist()}


# ------------------------------------------------------------------------------------------------- exact
def _dense_rows(rows: FactoredRows, idx: Sequence[int]) -> list[list[int]]:
    """The exact rows ``a_k / scale`` (ints, row-major vec of u_k z_i^T) for k in ``idx``."""
    out = []
    for k in idx:
        u, z = rows.U[k], rows.Z[rows.seq[k]]
        out.append([int(a) * int(b) for a in u for b in z])
    return out


def _solve_fixing_free(M: list[list[Fraction]], rhs: list[Fraction], guess: np.ndarray) -> list[Fraction] | None:
    """An exact solution of ``M x = rhs`` (consistent systems only, else None): RREF, the free unknowns fixed at
    the rational value of ``guess`` (the float solution), the pivots solved for."""
    ncol = len(guess)
    if not M:
        return [Fraction(float(g)) for g in guess]
    R, piv = _rref([row + [b] for row, b in zip(M, rhs, strict=True)])
    if ncol in piv:  # a pivot in the right-hand side column: inconsistent
        return None
    x = [Fraction(float(g)) for g in guess]
    for r, p in enumerate(piv):
        x[p] = R[r][ncol] - sum((R[r][f] * x[f] for f in range(ncol) if f not in piv and R[r][f] != 0), Fraction(0))
    return x


def _exact_norm(vals: list[Fraction], q: str) -> Fraction:
    a = [abs(v) for v in vals]
    return max(a) if q == "inf" else sum(a, Fraction(0))


def _margins(rows: FactoredRows, w: list[Fraction]) -> list[Fraction]:
    """``a_k^T w`` exactly for every row."""
    den = math.lcm(*(v.denominator for v in w))
    ints = np.array([int(v * den) for v in w], dtype=object).reshape(rows.d, rows.d)
    return [Fraction(int(v)) * rows.scale / den for v in rows.values(ints)]


def _upper(rows: FactoredRows, w: list[Fraction], q: str) -> tuple[Fraction, list[Fraction]] | None:
    """(||w'||_q, w') with w' = w / min(r, 1) exactly feasible, or None when some margin is <= 0."""
    r = min(_margins(rows, w))
    if r <= 0:
        return None
    wp = w if r >= 1 else [v / r for v in w]
    return _exact_norm(wp, q), wp


def _lower(rows: FactoredRows, lam: dict[int, Fraction], q: str) -> Fraction | None:
    """sum lam / ||A^T lam||_{q*} exactly (None when some lam < 0 or A^T lam = 0)."""
    if any(v < 0 for v in lam.values()):
        return None
    idx = [k for k, v in lam.items() if v != 0]
    if not idx:
        return None
    R = _dense_rows(rows, idx)
    v = [sum((lam[k] * R[j][c] for j, k in enumerate(idx)), Fraction(0)) * rows.scale for c in range(len(R[0]))]
    dual = sum((abs(x) for x in v), Fraction(0)) if q == "inf" else max(abs(x) for x in v)
    if dual == 0:
        return None
    return sum(lam.values(), Fraction(0)) / dual


def _polish_primal(rows: FactoredRows, w: np.ndarray, K: list[int], q: str) -> list[Fraction] | None:
    N = w.size
    s = float(np.max(np.abs(w)))
    R = _dense_rows(rows, K)
    sc = rows.scale
    if q == "inf":
        J = [j for j in range(N) if abs(w[j]) >= (1 - _TIGHT) * s]
        sig = {j: (1 if w[j] > 0 else -1) for j in J}
        free = [j for j in range(N) if j not in sig]
        # unknowns (w_free, s): sum_{j free} a_kj w_j + s sum_{j in J} a_kj sigma_j = 1
        M = [[Fraction(row[j]) * sc for j in free] + [sum((Fraction(row[j] * sig[j]) for j in J), Fraction(0)) * sc]
             for row in R]
        x = _solve_fixing_free(M, [Fraction(1)] * len(K), np.r_[w[free], s])
        if x is None:
            return None
        out = [Fraction(0)] * N
        for j, v in zip(free, x[:-1], strict=True):
            out[j] = v
        for j in J:
            out[j] = sig[j] * x[-1]
        if any(abs(out[j]) > x[-1] for j in free):
            return None
        return out
    P = [j for j in range(N) if abs(w[j]) > _TIGHT * max(s, 1e-300)]
    M = [[Fraction(row[j]) * sc for j in P] for row in R]
    x = _solve_fixing_free(M, [Fraction(1)] * len(K), w[P])
    if x is None:
        return None
    out = [Fraction(0)] * N
    for j, v in zip(P, x, strict=True):
        out[j] = v
    return out


def _polish_dual(rows: FactoredRows, w: np.ndarray, lam: np.ndarray, K: list[int],
                 q: str) -> dict[int, Fraction] | None:
    N = w.size
    s = float(np.max(np.abs(w)))
    R = _dense_rows(rows, K)
    if q == "inf":
        J = {j for j in range(N) if abs(w[j]) >= (1 - _TIGHT) * s}
        # (A_K^T lam)_j = 0 for every entry j off the saturated set
        M = [[Fraction(R[i][j]) for i in range(len(K))] for j in range(N) if j not in J]
        x = _solve_fixing_free(M, [Fraction(0)] * len(M), lam[K])
        if x is None:
            return None
        return dict(zip(K, x, strict=True))
    P = [j for j in range(N) if abs(w[j]) > _TIGHT * max(s, 1e-300)]
    # (A_K^T lam)_j - sigma_j c = 0 on the support, unknowns (lam_K, c); c guessed as ||A^T lam||_inf / scale
    v = np.asarray(R, dtype=float).T @ lam[K]
    M = [[Fraction(R[i][j]) for i in range(len(K))] + [Fraction(-1 if w[j] > 0 else 1)] for j in P]
    x = _solve_fixing_free(M, [Fraction(0)] * len(M), np.r_[lam[K], float(np.max(np.abs(v))) if v.size else 0.0])
    if x is None:
        return None
    return dict(zip(K, x[:-1], strict=True))


# ------------------------------------------------------------------------------------------------- solve
@contextmanager
def _no_banner() -> Iterator[None]:
    """File descriptor 1 sent to /dev/null while HiGHS starts: its C library prints a licence banner to stdout
    whatever the options say, which would corrupt ``verify ... --json`` output. Python-level output is flushed
    first and nothing else is written meanwhile (errors come back as exceptions)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (an embedded interpreter): nothing to protect
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _lp(Af: np.ndarray, q: str, what: str) -> tuple[str, np.ndarray, np.ndarray, str]:
    """Solve the LP with cvxpy (HiGHS, else Clarabel); (status, w, lam, solver)."""
    w = cp.Variable(Af.shape[1])
    con = Af @ w >= 1
    obj = cp.norm_inf(w) if q == "inf" else cp.norm1(w)
    prob = cp.Problem(cp.Minimize(obj), [con])
    last = None
    for solver in ("HIGHS", "CLARABEL"):
        if solver not in cp.installed_solvers():
            continue
        try:
            with _no_banner() if solver == "HIGHS" else nullcontext():
                prob.solve(solver=solver)
        except cp.error.SolverError as exc:
            last = exc
            continue
        status = str(prob.status)
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise InfeasibleProblemError(f"{what} is infeasible ({solver}; the feasible set is the l2 Att-SVM's, "
                                         "whose exact Farkas certificate theorems.attention.svm gives)")
        if status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and w.value is not None and con.dual_value is not None:
            return status, np.asarray(w.value, float), np.clip(np.asarray(con.dual_value, float).ravel(), 0, None), \
                solver
    raise SolverError(f"no LP solver solved {what}" + (f": {last}" if last else ""))


def solve_poly_att_svm(X: np.ndarray, Z: np.ndarray, alpha: Sequence[int], q: Any, *,
                       tol: float = DEFAULT_TOL) -> PolySVMSolution:
    """The linf (``q="inf"``) or l1 (``q="1"``) Att-SVM for ``alpha``, solved, polished and certified."""
    q = check_norm(q)
    Xa, Za, al = _check_data(X, Z, alpha)
    Af, labels = att_svm_constraints(Xa, Za, al)
    _reject_zero_rows(Af, labels, al)
    d = Xa.shape[2]
    what = f"the l{q}-Att-SVM for alpha={_alpha_str(al)}"
    _status, w, lam, solver = _lp(Af, q, what)
    rows = FactoredRows.from_data(Xa, Za, al)
    s = float(qnorm(w[None], q)[0])
    K = [k for k in range(rows.m) if float(Af[k] @ w) <= 1 + _TIGHT * max(1.0, s)]
    notes = []
    wp = _polish_primal(rows, w, K, q)
    up = None if wp is None else _upper(rows, wp, q)
    pol_p = up is not None
    if up is None:
        notes.append("primal polish failed: the rounded solver point scaled to exact feasibility is used")
        up = _upper(rows, [Fraction(float(v)) for v in w], q)
    if up is None:
        raise SolverError(f"{what}: the solver's point has a non-positive margin; no certificate")
    hi, w_exact = up
    ld = _polish_dual(rows, w, lam, K, q)
    lo = None if ld is None else _lower(rows, ld, q)
    pol_d = lo is not None
    if lo is None:
        notes.append("dual polish failed: the rounded solver multipliers (clipped at 0) are used")
        lo = _lower(rows, {k: Fraction(float(v)) for k, v in enumerate(lam) if v > 0}, q) or Fraction(0)
    if lo > hi:
        raise RuntimeError("exact LP weak duality failed (dual bound above primal bound): an arithmetic defect")
    rel = (hi - lo) / hi
    ok = rel <= Fraction(tol)
    reason = (f"exact LP weak duality: primal feasible and multipliers >= 0 in rational arithmetic, relative gap "
              f"{float(rel):.3g} {'<=' if ok else '>'} tolerance {tol:g}"
              + ("; exact vertex (primal and dual polished)" if pol_p and pol_d else "")
              + ("; " + "; ".join(notes) if notes else ""))
    W = np.array([float(v) for v in w_exact], dtype=float).reshape(d, d)
    W.setflags(write=False)
    support = tuple(sorted(labels[k] for k in K))
    return PolySVMSolution(W, q, float(qnorm(W[None], q)[0]), al, support, RIGOROUS if ok else NUMERICAL, reason,
                           (lo, hi), float(rel), (pol_p, pol_d), solver, lam)


# ------------------------------------------------------------------------------------- distance to the set
def set_distance(V: np.ndarray, sol: PolySVMSolution, X: np.ndarray, Z: np.ndarray) -> float:
    """min over the (relaxed) optimal set of ||V/||V||_q - U||_q, U in S*/s* (see the module docstring): a lower
    bound on the distance of the direction of ``V`` (d, d) to the set of optimal directions, up to the LP
    solver's tolerance (HiGHS, ~1e-9)."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, eye, hstack, vstack

    q = sol.q
    v = np.ravel(np.asarray(V, dtype=float))
    nv = float(qnorm(v[None], q)[0])
    if nv == 0:
        return float("nan")
    v = v / nv
    Af, _ = att_svm_constraints(X, Z, sol.alpha)
    N = v.size
    c_lo = (1 - _SET_RELAX) / sol.s_hi
    A = csr_matrix(Af)
    I = eye(N, format="csr")
    if q == "inf":
        # unknowns (u, r): min r s.t. -r <= v - u <= r, -1 <= u <= 1, A u >= c_lo
        one = csr_matrix(np.ones((N, 1)))
        A_ub = vstack([hstack([-I, -one]), hstack([I, -one]), hstack([-A, csr_matrix((A.shape[0], 1))])])
        b_ub = np.r_[-v, v, -c_lo * np.ones(A.shape[0])]
        cost = np.r_[np.zeros(N), 1.0]
        bounds: list[tuple[float | None, float | None]] = [(-1.0, 1.0)] * N + [(0.0, None)]
    else:
        # unknowns (u, e, a): min sum e s.t. -e <= v - u <= e, -a <= u <= a, sum a <= 1, A u >= c_lo
        Z0 = csr_matrix((N, N))
        zA = csr_matrix((A.shape[0], N))
        A_ub = vstack([hstack([-I, -I, Z0]), hstack([I, -I, Z0]), hstack([I, Z0, -I]), hstack([-I, Z0, -I]),
                       hstack([csr_matrix((1, 2 * N)), csr_matrix(np.ones((1, N)))]), hstack([-A, zA, zA])])
        b_ub = np.r_[-v, v, np.zeros(2 * N), 1.0, -c_lo * np.ones(A.shape[0])]
        cost = np.r_[np.zeros(N), np.ones(N), np.zeros(N)]
        bounds = [(None, None)] * N + [(0.0, None)] * (2 * N)
    res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:
        raise SolverError(f"the set-distance LP ended with status {res.status}: {res.message}")
    return float(res.fun)


def point_distance(V: np.ndarray, sol: PolySVMSolution) -> float:
    """||V/||V||_q - W/||W||_q||_q for the one returned solution W: an upper bound on the distance to the set."""
    q = sol.q
    v = np.ravel(np.asarray(V, dtype=float))
    w = np.ravel(sol.W)
    return float(qnorm((v / qnorm(v[None], q)[0] - w / qnorm(w[None], q)[0])[None], q)[0])


def margin_ratio(V: np.ndarray, sol: PolySVMSolution, X: np.ndarray, Z: np.ndarray) -> float:
    """s_hi * min_k a_k^T V / ||V||_q: the normalized margin of the direction of ``V`` relative to the optimal one
    (<= 1 up to the certificate's width; 1 exactly on the optimal set)."""
    Af, _ = att_svm_constraints(X, Z, sol.alpha)
    v = np.ravel(np.asarray(V, dtype=float))
    return float(np.min(Af @ v) / qnorm(v[None], sol.q)[0] * sol.s_hi)


def margin_lower_bound(V: np.ndarray, sol: PolySVMSolution, X: np.ndarray, Z: np.ndarray) -> float:
    """A solver-free lower bound on the distance (in the q-norm) of ``V/||V||_q`` to the set S*/s* of optimal
    directions: every U in S*/s* has a_k^T U >= 1/s* >= 1/s_hi, so for the row k of V's smallest margin
    gamma(V) = min_k a_k^T V/||V||_q, 1/s_hi - gamma(V) <= a_k^T (U - V) <= ||a_k||_{q*} ||U - V||_q (Hoelder),
    hence ||U - V||_q >= (1/s_hi - gamma(V)) / max_k ||a_k||_{q*} (q* = 1 for linf, inf for l1). Positive only
    when V's normalized margin is below the optimal one; float64 arithmetic (rounding ~1e-15 relative)."""
    Af, _ = att_svm_constraints(X, Z, sol.alpha)
    v = np.ravel(np.asarray(V, dtype=float))
    gamma = float(np.min(Af @ v) / qnorm(v[None], sol.q)[0])
    dual = np.sum(np.abs(Af), axis=1) if sol.q == "inf" else np.max(np.abs(Af), axis=1)
    return (1.0 / sol.s_hi - gamma) / float(np.max(dual))
