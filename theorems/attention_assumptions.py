"""Assumption predicates on attention-classification instances, shared by VDT24, JTA24 and PRIOR.

Each returns an :class:`~verify.theory.AssumptionResult` whose slack is positive iff the assumption holds:

- ``unique_opt``      min_i (g_{i,opt} - max_{t != opt} g_{i,t}) > 0                            [prior]
- ``score_gap``       min_i (g_{i,opt} - max_{t != opt} g_{i,t}) >= Delta                       [recon]
- ``near_orthogonal`` |<x_{i,t}, x_{j,tau}>| <= eps * min ||x||^2 for all distinct token pairs  [recon]
- ``feasible_svm``    the Att-SVM for opt has a (certified) solution; slack = its margin 1/||W_mm||  [prior]
- ``nonopt_support``  every non-optimal token is a support token of W_mm                         [derived]

The constants Delta and eps are [recon] parameters (``PARAMS``); the paper's values are unknown to us.
"""

from __future__ import annotations

import numpy as np

from theorems import attention_classifier as ac
from verify.errors import InfeasibleSVMError, SolverError
from verify.provenance import prov
from verify.svm import SVMSolution, solve_att_svm
from verify.theory import FAILS, HOLDS, UNDECIDED, Assumption, AssumptionResult

PARAMS = {"Delta": 0.01, "eps": 0.5}


def svm_for(inst: ac.AttentionInstance, cache: dict, alpha: tuple[int, ...] | None = None) -> SVMSolution:
    """The certified Att-SVM for ``alpha`` (default opt), cached per instance. Raises on infeasibility."""
    a = tuple(int(v) for v in (ac.optimal_tokens(inst) if alpha is None else alpha))
    key = ("svm", a)
    if key not in cache:
        try:
            cache[key] = solve_att_svm(inst.X, inst.z, a)
        except (InfeasibleSVMError, SolverError) as exc:
            cache[key] = exc
    val = cache[key]
    if isinstance(val, Exception):
        raise val
    return val


def _gap_result(inst: ac.AttentionInstance, threshold: float) -> AssumptionResult:
    gaps = ac.score_gaps(inst)
    i = int(np.argmin(gaps))
    slack = float(gaps[i] - threshold)
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


def _near_orthogonal(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    ratio = near_orthogonality_ratio(inst)
    slack = PARAMS["eps"] - ratio
    return AssumptionResult(HOLDS if slack >= 0 else FAILS, slack,
                            f"max |<x_a,x_b>| / min ||x||^2 = {ratio:.4g}, eps = {PARAMS['eps']}")


def _feasible_svm(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    try:
        sol = svm_for(inst, cache)
    except InfeasibleSVMError as exc:
        return AssumptionResult(FAILS, -1.0, str(exc))
    except SolverError as exc:
        return AssumptionResult(UNDECIDED, 0.0, str(exc))
    if not sol.certified:
        return AssumptionResult(UNDECIDED, sol.margin, f"solver status {sol.status}: certificate failed")
    return AssumptionResult(HOLDS, sol.margin, f"certified; margin 1/||W_mm|| = {sol.margin:.6g}")


def _nonopt_support(inst: ac.AttentionInstance, cache: dict) -> AssumptionResult:
    try:
        sol = svm_for(inst, cache)
    except (InfeasibleSVMError, SolverError) as exc:
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
