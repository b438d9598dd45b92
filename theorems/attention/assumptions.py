"""Assumption predicates on attention-classification instances, shared by VDT24, JTA24 and PRIOR.

Each returns an :class:`~verify.theory.AssumptionResult` whose slack is positive iff the assumption holds:

- ``unique_opt``      min_i (g_{i,opt} - max_{t != opt} g_{i,t}) > 0                            [prior]
- ``score_gap``       min_i (g_{i,opt} - max_{t != opt} g_{i,t}) >= Delta                       [recon]
- ``near_orthogonal`` |<x_{i,t}, x_{j,tau}>| <= eps * min ||x||^2 for all distinct token pairs  [recon]
- ``feasible_svm``    the Att-SVM for opt has a (certified) solution; slack = its margin 1/||W_mm||  [prior]
- ``nonopt_support``  every non-optimal token is a support token of W_mm                         [derived]
- ``uniform_scores``  max_i (max_{t != opt} g_{i,t} - min_{t != opt} g_{i,t}) <= tol              [prior, Assumption B]
- ``alpha_locally_optimal``  g_{i,alpha_i} > g_{i,t} on every support token of W_mm(alpha), alpha from
  ``meta["alpha"]``                                                                              [prior]
- ``init_cone``       corr(W0, W_mm(alpha)) >= 1 - mu and ||W0|| >= R ||W_mm(alpha)||             [prior, recon]
- ``data_model``      DM: x_{i,0} = y_i mu for one mu, and d >= kappa n T                         [seed, recon]

The constants Delta and eps are [recon] parameters (``PARAMS``); the paper's values are unknown to us.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.svm import SVMSolution, solve_att_svm
from verify.errors import InfeasibleProblemError, SolverError
from verify.provenance import prov
from verify.theory import FAILS, HOLDS, UNDECIDED, Assumption, AssumptionResult

T = TypeVar("T")

PARAMS = {"Delta": 0.01, "eps": 0.5, "uniform_tol": 1e-9, "cone_mu": 0.05, "cone_R": 1.0, "dm_kappa": 1.0,
          "dm_tol": 1e-12}
"""[recon] constants. ``uniform_tol`` (absolute, in score units): generators equalize scores by an exact
projection, leaving a spread of a few ulps (~1e-16 for unit-size scores), far below 1e-9, while a generic
instance has spreads of order 0.1. ``cone_R`` is in units of ||W_mm(alpha)||. ``dm_tol`` is the relative
residual allowed in x_{i,0} = y_i mu (float64 sign flips are exact, so a DM draw has residual ~1e-16)."""


def cached_solve(cache: dict, key: tuple, solve: Callable[[], T]) -> T:
    """``solve()`` once per instance cache and key; an infeasible or failed solve is cached too and re-raised on
    every later request (so predicates and claims sharing the cache never solve the same problem twice)."""
    if key not in cache:
        try:
            cache[key] = solve()
        except (InfeasibleProblemError, SolverError) as exc:
            cache[key] = exc
    val = cache[key]
    if isinstance(val, Exception):
        raise val
    return val


SVM_MEMO_SIZE = 128
_SVM_MEMO: OrderedDict[tuple, Any] = OrderedDict()


def _memo_solve(X: np.ndarray, Z: np.ndarray, alpha: tuple[int, ...]) -> SVMSolution:
    """``solve_att_svm(X, Z, alpha)``, remembered across instance caches for the last :data:`SVM_MEMO_SIZE`
    problems (keyed by the exact bytes of the data): a search draws an instance through a strategy that checks
    its assumptions, and the engine then checks them again, confirms on re-runs and evaluates the claim, each
    with a fresh cache. The solve is deterministic, so the same data give the same certified solution (or the
    same infeasibility or solver error, re-raised)."""
    key = (X.shape, Z.shape, str(X.dtype), X.tobytes(), Z.tobytes(), alpha)
    if key in _SVM_MEMO:
        _SVM_MEMO.move_to_end(key)
    else:
        try:
            _SVM_MEMO[key] = solve_att_svm(X, Z, alpha)
        except (InfeasibleProblemError, SolverError) as exc:
            _SVM_MEMO[key] = exc
        if len(_SVM_MEMO) > SVM_MEMO_SIZE:
            _SVM_MEMO.popitem(last=False)
    val = _SVM_MEMO[key]
    if isinstance(val, Exception):
        raise val
    return val


def svm_for(inst: ac.AttentionInstance, cache: dict, alpha: tuple[int, ...] | None = None) -> SVMSolution:
    """The certified Att-SVM for ``alpha`` (default opt), cached per instance (and across caches, see
    :func:`_memo_solve`). Raises on infeasibility."""
    a = tuple(int(v) for v in (ac.optimal_tokens(inst) if alpha is None else alpha))
    return cached_solve(cache, ("svm", a), lambda: _memo_solve(np.asarray(inst.X), np.asarray(inst.z), a))


def score_gap_slack(inst: ac.AttentionInstance, delta: float) -> float:
    """min_i (g_{i,opt} - max_{t != opt} g_{i,t}) - delta: >= 0 iff the score gap holds at threshold delta."""
    return float(ac.score_gaps(inst).min() - delta)


def _gap_result(inst: ac.AttentionInstance, threshold: float) -> AssumptionResult:
    gaps = ac.score_gaps(inst)
    i = int(np.argmin(gaps))
    slack = score_gap_slack(inst, threshold)
    verdict = HOLDS if (slack > 0 if threshold == 0 else slack >= 0) else FAILS
    return AssumptionResult(verdict, slack, f"smallest score gap {gaps[i]:.6g} (sequence {i}), threshold {threshold}")


def _unique_opt(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    return _gap_result(inst, 0.0)


def _score_gap(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    return _gap_result(inst, PARAMS["Delta"])


def near_orthogonality_ratio(inst: ac.AttentionInstance) -> float:
    """max over distinct token pairs of |<x_a, x_b>| / min_c ||x_c||^2."""
    flat = inst.X.reshape(-1, inst.d)
    G = flat @ flat.T
    sq = np.diag(G).copy()
    np.fill_diagonal(G, 0.0)
    return float(np.max(np.abs(G)) / np.min(sq)) if np.min(sq) > 0 else float("inf")


def near_orthogonal_slack(inst: ac.AttentionInstance, eps: float) -> float:
    """eps - max |<x_a, x_b>| / min ||x||^2: >= 0 iff the tokens are near-orthogonal at threshold eps."""
    return eps - near_orthogonality_ratio(inst)


def _near_orthogonal(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    ratio = near_orthogonality_ratio(inst)
    slack = near_orthogonal_slack(inst, PARAMS["eps"])
    return AssumptionResult(HOLDS if slack >= 0 else FAILS, slack,
                            f"max |<x_a,x_b>| / min ||x||^2 = {ratio:.4g}, eps = {PARAMS['eps']}")


def _feasible_svm(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    try:
        sol = svm_for(inst, cache)
    except InfeasibleProblemError as exc:
        return AssumptionResult(FAILS, -1.0, str(exc))
    except SolverError as exc:
        return AssumptionResult(UNDECIDED, 0.0, str(exc))
    if not sol.certified:
        return AssumptionResult(UNDECIDED, sol.margin, f"solver status {sol.status}: certificate failed")
    return AssumptionResult(HOLDS, sol.margin, f"certified; margin 1/||W_mm|| = {sol.margin:.6g}")


def _nonopt_support(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    try:
        sol = svm_for(inst, cache)
    except (InfeasibleProblemError, SolverError) as exc:
        return AssumptionResult(UNDECIDED, 0.0, f"no certified W_mm: {exc}")
    opt = ac.optimal_tokens(inst)
    nonopt = [(i, t) for i in range(inst.n) for t in range(inst.T) if t != opt[i]]
    support = set(sol.support)
    missing = [k for k in nonopt if k not in support]
    if not missing:
        slack = min(sol.multipliers.get(k, 0.0) for k in nonopt)
        return AssumptionResult(HOLDS, slack, "every non-optimal token is a support token; slack = min multiplier")
    margins = _margins(inst, sol.W, opt)
    excess = max(margins[k] - 1.0 for k in missing)
    return AssumptionResult(FAILS, -excess, f"{len(missing)} non-optimal token(s) not support, e.g. {missing[:3]}; "
                            "slack = -(largest margin excess)")


def _margins(inst: ac.AttentionInstance, W: np.ndarray, alpha: np.ndarray) -> dict[tuple[int, int], float]:
    a = np.einsum("ntd,de,ne->nt", inst.X, W, inst.z)
    return {(i, t): float(a[i, alpha[i]] - a[i, t]) for i in range(inst.n) for t in range(inst.T) if t != alpha[i]}


unique_opt = Assumption(
    "unique_opt", "Unique optimal token", "Each sequence has exactly one token of largest score g_{i,t}.",
    prov("prior"), _unique_opt, implied_by=("score_gap",),
)
score_gap = Assumption(
    "score_gap", "Token score gap", "g_{i,opt_i} - max_{t != opt_i} g_{i,t} >= Delta for every i.",
    prov("seed", "recon", note="Delta is a parameter"), _score_gap,
)
near_orthogonal = Assumption(
    "near_orthogonal", "Near-orthogonal tokens",
    "|<x_{i,t}, x_{j,tau}>| <= eps * min ||x||^2 for all distinct token pairs.",
    prov("seed", "recon", note="eps is a parameter"), _near_orthogonal,
)
feasible_svm = Assumption(
    "feasible_svm", "Feasible Att-SVM", "The Att-SVM for opt has a solution W_mm (certified in high precision).",
    prov("prior"), _feasible_svm, implied_by=("near_orthogonal",),
)
nonopt_support = Assumption(
    "nonopt_support", "Non-optimal tokens are support tokens",
    "Every non-optimal token is a support token of W_mm; then <-grad L(W), W_mm> > 0 for every W.",
    prov("derived"), _nonopt_support,
)


def score_spreads(inst: ac.AttentionInstance) -> list[float]:
    """Per sequence, max_{t != opt} g_{i,t} - min_{t != opt} g_{i,t} (Assumption B asks for 0)."""
    g = ac.token_scores(inst)
    opt = ac.optimal_tokens(inst)
    return [float(np.ptp(np.delete(g[i], opt[i]))) for i in range(inst.n)]


def uniform_scores_slack(inst: ac.AttentionInstance, tol: float) -> float:
    """tol - the largest spread of non-optimal scores: >= 0 iff Assumption B holds to tolerance tol."""
    return tol - max(score_spreads(inst))


def _uniform_scores(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    spreads = score_spreads(inst)
    i = int(np.argmax(spreads))
    slack = uniform_scores_slack(inst, PARAMS["uniform_tol"])
    return AssumptionResult(HOLDS if slack >= 0 else FAILS, slack,
                            f"largest spread of non-optimal scores {spreads[i]:.3g} (sequence {i}), "
                            f"tolerance {PARAMS['uniform_tol']}")


def instance_alpha(inst: ac.AttentionInstance) -> tuple[int, ...] | None:
    """The token choice alpha an instance names in ``meta["alpha"]`` (None when absent or malformed)."""
    a = inst.meta.get("alpha") if isinstance(inst.meta, dict) else None
    if not isinstance(a, list) or len(a) != inst.n or not all(isinstance(v, int) and 0 <= v < inst.T for v in a):
        return None
    return tuple(a)


def _alpha_locally_optimal(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    alpha = instance_alpha(inst)
    if alpha is None:
        return AssumptionResult(UNDECIDED, 0.0, "the instance names no token choice meta['alpha']")
    try:
        sol = svm_for(inst, cache, alpha)
    except InfeasibleProblemError as exc:
        return AssumptionResult(FAILS, -1.0, f"W_mm(alpha) does not exist: {exc}")
    except SolverError as exc:
        return AssumptionResult(UNDECIDED, 0.0, str(exc))
    if not sol.certified:
        return AssumptionResult(UNDECIDED, 0.0, "W_mm(alpha) not certified")
    g = ac.token_scores(inst)
    gaps = [float(g[i, alpha[i]] - g[i, t]) for i, t in sol.support]
    slack = min(gaps)
    return AssumptionResult(HOLDS if slack > 0 else FAILS, slack,
                            f"min over the {len(gaps)} support tokens of g_alpha - g_t = {slack:.4g}; alpha = "
                            f"{'opt' if alpha == tuple(int(a) for a in ac.optimal_tokens(inst)) else 'not opt'}")


def _init_cone(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    alpha = instance_alpha(inst)
    if alpha is None:
        alpha = tuple(int(a) for a in ac.optimal_tokens(inst))
    try:
        sol = svm_for(inst, cache, alpha)
    except (InfeasibleProblemError, SolverError) as exc:
        return AssumptionResult(UNDECIDED, 0.0, f"no W_mm(alpha): {exc}")
    nW0 = float(np.linalg.norm(inst.W0))
    if nW0 == 0:
        return AssumptionResult(FAILS, -PARAMS["cone_R"], "W0 = 0 is outside every cone")
    corr = float(np.sum(inst.W0 * sol.W) / (nW0 * np.linalg.norm(sol.W)))
    s_corr = corr - (1 - PARAMS["cone_mu"])
    s_norm = nW0 / float(np.linalg.norm(sol.W)) - PARAMS["cone_R"]
    slack = min(s_corr, s_norm)
    return AssumptionResult(HOLDS if slack >= 0 else FAILS, slack,
                            f"corr(W0, W_mm(alpha)) = {corr:.4g} (needs >= {1 - PARAMS['cone_mu']:.4g}), "
                            f"||W0||/||W_mm(alpha)|| = {nW0 / float(np.linalg.norm(sol.W)):.4g} "
                            f"(needs >= {PARAMS['cone_R']})")


def dm_dimension_slack(inst: ac.AttentionInstance, kappa: float) -> float:
    """d/(nT) - kappa: >= 0 iff "d large relative to n and T" holds at d >= kappa n T."""
    return inst.d / (inst.n * inst.T) - kappa


def _data_model(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    from theorems.attention.joint import dm_structure_residual

    resid = dm_structure_residual(inst)
    if not resid <= PARAMS["dm_tol"]:
        return AssumptionResult(FAILS, -resid, f"x_(i,0) is not y_i mu for a common mu (relative residual "
                                f"{resid:.3g} > {PARAMS['dm_tol']})")
    ratio = inst.d / (inst.n * inst.T)
    slack = dm_dimension_slack(inst, PARAMS["dm_kappa"])
    return AssumptionResult(HOLDS if slack >= 0 else FAILS, slack,
                            f"signal token x_(i,0) = y_i mu; d/(nT) = {ratio:.3g} (needs >= {PARAMS['dm_kappa']})")


uniform_scores = Assumption(
    "uniform_scores", "Uniform non-optimal scores",
    "All non-optimal tokens of a sequence share one score: max_{t != opt} g_{i,t} - min_{t != opt} g_{i,t} <= tol.",
    prov("prior", note="PRIOR, Assumption B; tol is a parameter"), _uniform_scores,
)
alpha_locally_optimal = Assumption(
    "alpha_locally_optimal", "alpha is locally optimal",
    "W_mm(alpha) exists and g_{i,alpha_i} > g_{i,t} for every support token (i, t) of W_mm(alpha); alpha is "
    "given in the instance's meta['alpha'].",
    prov("prior"), _alpha_locally_optimal,
)
init_cone = Assumption(
    "init_cone", "Initialization in the cone of W_mm(alpha)",
    "corr(W0, W_mm(alpha)) >= 1 - mu and ||W0||_F >= R ||W_mm(alpha)||_F (alpha = meta['alpha'], else opt).",
    prov("prior", "recon", note="mu and R are parameters"), _init_cone,
)
data_model = Assumption(
    "data_model", "Data model DM",
    "One signal token per sequence tied to the label, x_{i,0} = y_i mu, the other tokens noise, and d >= kappa n T.",
    prov("seed", "recon", note="kappa is a parameter; the noise law is the generator's"), _data_model,
)
