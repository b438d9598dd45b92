"""Claim evaluators for the attention classifier: run a method, measure against the certified W_mm.

These are the glue between a claim's data (rate, constant, params) and the engine's checkers. They never
re-check assumptions (the engine does that before calling them).
"""

from __future__ import annotations

import numpy as np

from theorems import attention_classifier as ac
from theorems.attention_assumptions import svm_for
from verify.backends import get_backend
from verify.checks import check_bound, check_limit, check_order
from verify.errors import InfeasibleSVMError, SolverError
from verify.methods import make_rule
from verify.svm import classify_alpha
from verify.theory import Claim, Evidence, Settings
from verify.trajectory import Trajectory, run


def simulate(inst: ac.AttentionInstance, method: str, settings: Settings, **params: float) -> Trajectory:
    """Run ``method`` (gd / ngd / polyak) on one instance with the settings' backend, precision and horizon."""
    bk = get_backend(settings.backend, settings.dps)
    rule = make_rule(method, **params)
    problem = ac.build_problem(bk, ac.stack([inst]), settings.representation)
    return run(problem, rule, settings.steps)


def _run_info(tr: Trajectory, settings: Settings, method: str, params: dict) -> dict:
    return {"method": method, "params": params, "backend": tr.backend, "dps": tr.dps,
            "steps": settings.steps, "representation": settings.representation, "notes": tr.notes}


def _instance_constants(inst: ac.AttentionInstance, W_mm: np.ndarray, params: dict) -> dict:
    """Constants a bound may use: n, T, d, eta, norm_Wmm (||W_mm||_F), Delta (smallest score gap)."""
    return {"n": inst.n, "T": inst.T, "d": inst.d, "norm_Wmm": float(np.linalg.norm(W_mm)),
            "Delta": float(ac.score_gaps(inst).min()), **{k: v for k, v in params.items() if k != "decades"}}


def evaluate_direction_order(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Evidence:
    """e(t) = O(rate(t)) (order claim) or e(t) <= constant * rate(t) (bound claim), e the direction error."""
    eta = claim.params.get("eta", 0.1)
    W_mm = svm_for(inst, cache).W
    tr = simulate(inst, claim.method, settings, eta=eta)
    t = np.asarray(tr.t, dtype=float)
    err, _ = ac.direction_error(tr.series("W"), W_mm)
    ok = tr.precision_ok[:, 0]
    consts = _instance_constants(inst, W_mm, claim.params)
    rate = claim.curve(t, consts) if claim.constant is not None else (
        claim.curve(t) if claim.rate is not None else np.ones_like(t))
    if claim.constant is not None:
        res = check_bound(t, err, rate, ok)
        claimed = rate
    else:
        res = check_order(t, err, rate, ok, decades=int(claim.params.get("decades", 2)))
        claimed = rate * (res.worst_ratio if res.worst_ratio and np.isfinite(res.worst_ratio) else 1.0)
    return Evidence(
        verdict=res.verdict, reason=res.reason, metric=claim.metric, t=tr.t, observed=err.tolist(),
        claimed=np.asarray(claimed).tolist(), worst_ratio=res.worst_ratio, t_worst=res.t_worst,
        exponent=res.exponent, constant=res.constant, precision_ok=bool(ok.all()),
        run=_run_info(tr, settings, claim.method, {"eta": eta}),
        extra={"decade_slopes": list(res.decade_slopes), "max_rel_error": float(tr.max_rel_error.max()),
               "selected_final": tr.series("selected")[-1].tolist()},
    )


def evaluate_direction_limit(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Evidence:
    """e(t) -> 0. If the run ends selecting tokens alpha != opt, W_mm(alpha) is solved and certified and
    lb(t) = ||W_mm(alpha)/|.| - W_mm/|.||| - e_alpha(t) <= e(t) (triangle inequality) is the witness."""
    eta = claim.params.get("eta", 0.1)
    W_mm = svm_for(inst, cache).W
    tr = simulate(inst, claim.method, settings, eta=eta)
    t = np.asarray(tr.t, dtype=float)
    Ws = tr.series("W")
    err, _ = ac.direction_error(Ws, W_mm)
    ok = tr.precision_ok[:, 0]
    alpha = tuple(int(a) for a in tr.series("selected")[-1])
    opt = tuple(int(a) for a in ac.optimal_tokens(inst))
    extra: dict = {"selected_final": list(alpha), "opt": list(opt), "max_rel_error": float(tr.max_rel_error.max())}
    lower = None
    if alpha != opt:
        try:
            sol = svm_for(inst, cache, alpha)
        except (InfeasibleSVMError, SolverError) as exc:
            extra["alpha_svm"] = f"not available: {exc}"
        else:
            err_alpha, _ = ac.direction_error(Ws, sol.W)
            dist, _ = ac.direction_error(sol.W[None], W_mm[None])
            lower = float(dist[0]) - err_alpha
            extra.update({
                "alpha_svm_certified": sol.certified,
                "alpha_class": classify_alpha(ac.token_scores(inst), alpha, sol.support),
                "dist_Wmm_alpha": float(dist[0]),
                "dir_err_alpha": err_alpha.tolist(),
                "lower_bound": lower.tolist(),
            })
            if not sol.certified:
                lower = None
    res = check_limit(t, err, ok, lower_bound=lower)
    return Evidence(
        verdict=res.verdict, reason=res.reason, metric=claim.metric, t=tr.t, observed=err.tolist(),
        claimed=[], worst_ratio=res.worst_ratio, t_worst=res.t_worst, exponent=res.exponent,
        constant=res.constant, precision_ok=bool(ok.all()),
        run=_run_info(tr, settings, claim.method, {"eta": eta}), extra=extra,
    )
