"""Claim evaluators for the attention classifier: run a method, measure against the certified W_mm.

These are the glue between a claim's data (rate, constant, params) and the engine's checkers. They never
re-check assumptions (the engine does that before calling them).
"""

from __future__ import annotations

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.assumptions import svm_for
from theorems.attention.svm import classify_alpha
from verify.backends import get_backend
from verify.checks import check_bound, check_limit, check_order, rounding_bound
from verify.errors import InfeasibleProblemError, SolverError
from verify.methods import make_method, method_spec
from verify.methods import method_params as _method_params
from verify.model import trajectory_cache_key
from verify.theory import HOLDS, INCONCLUSIVE, VIOLATED, Claim, Evidence, Settings
from verify.trajectory import Trajectory, run
from verify.verdicts import HORIZON_TOO_SHORT, INSUFFICIENT_DATA, PRECISION_LOST, UNDETERMINED


def simulate(inst: ac.AttentionInstance, method: str, settings: Settings, checkpoints: list[int] | None = None,
             cache: dict | None = None, **params: float) -> Trajectory:
    """Run ``method`` (a name of ``verify.methods.METHOD_TABLE``) on one instance with the settings' backend,
    precision and horizon (a method whose updates are not along the gradient, such as Adam, is elementwise, so it
    always runs on the dense representation). A trajectory precomputed by ``verify sweep``'s batched run
    (``theorems.attention.batch``) is taken from ``cache`` instead."""
    hit = None if cache is None else cache.get(trajectory_cache_key(method, params, settings))
    if hit is not None and checkpoints is None:
        return hit
    bk = get_backend(settings.backend, settings.dps)
    rule = make_method(method, **_method_params(method, params))
    rep = ac.representation_of(settings.representation) if method_spec(method).along_gradient else "dense"
    problem = ac.build_problem(bk, ac.stack([inst]), rep)
    return run(problem, rule, settings.steps, checkpoints)


def method_params(method: str, params: dict) -> dict:
    """The step parameters a method takes from a claim's params, with their defaults, as the methods table
    declares them (``verify.methods.METHOD_TABLE``: eta for GD, NGD and Adam, c for Polyak)."""
    return _method_params(method, params)


def _run_info(tr: Trajectory, settings: Settings, method: str, params: dict) -> dict:
    return {"method": method, "params": params, "backend": tr.backend, "dps": tr.dps,
            "steps": settings.steps, "representation": ac.representation_of(settings.representation), "notes": tr.notes}


def _instance_constants(inst: ac.AttentionInstance, W_mm: np.ndarray, params: dict) -> dict:
    """Constants a bound may use: n, T, d, eta, norm_Wmm (||W_mm||_F), norm_W0 (||W_0||_F), Delta (smallest score
    gap)."""
    return {"n": inst.n, "T": inst.T, "d": inst.d, "norm_Wmm": float(np.linalg.norm(W_mm)),
            "norm_W0": float(np.linalg.norm(inst.W0)),
            "Delta": float(ac.score_gaps(inst).min()), **{k: v for k, v in params.items() if k != "decades"}}


def evaluate_direction_order(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Evidence:
    """e(t) = O(rate(t)) (order claim) or e(t) <= constant * rate(t) (bound claim), e the direction error."""
    mp = method_params(claim.method, claim.params)
    W_mm = svm_for(inst, cache).W
    tr = simulate(inst, claim.method, settings, cache=cache, **mp)
    t = np.asarray(tr.t, dtype=float)
    err, _ = ac.direction_error(tr.series("W"), W_mm)
    ok = tr.precision_ok[:, 0]
    consts = _instance_constants(inst, W_mm, claim.params)
    with np.errstate(divide="ignore"):  # a 1/log t rate is infinite at t = 1, outside every tail
        rate = claim.curve(t, consts) if claim.constant is not None else (
            claim.curve(t) if claim.rate is not None else np.ones_like(t))
    if claim.constant is not None:  # the direction error is accurate to about 2 rho(t) (trajectory.DEFAULT_TOL)
        e_err = 2 * rounding_bound(np.ones_like(err), tr.max_rel_error[:, 0], get_backend(settings.backend,
                                   settings.dps).eps, t, eval_ops=2 * inst.d**2)
        res = check_bound(t, err, rate, ok, error=e_err, bound_error=np.abs(rate) * 4 * 2.0**-53)
        claimed = rate
    else:
        res = check_order(t, err, rate, ok, decades=int(claim.params.get("decades", 2)))
        claimed = rate * (res.worst_ratio if res.worst_ratio and np.isfinite(res.worst_ratio) else 1.0)
    return Evidence(
        verdict=res.verdict, reason=res.reason, metric=claim.metric, t=tr.t, observed=err.tolist(),
        claimed=np.asarray(claimed).tolist(), worst_ratio=res.worst_ratio, t_worst=res.t_worst,
        exponent=res.exponent, constant=res.constant, precision_ok=bool(ok.all()),
        run=_run_info(tr, settings, claim.method, mp),
        extra={"decade_slopes": list(res.decade_slopes), "max_rel_error": float(tr.max_rel_error.max()),
               "selected_final": tr.series("selected")[-1].tolist(), "rule": res.params},
        code=res.code,
    )


def evaluate_direction_limit(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Evidence:
    """e(t) -> 0. If the run ends selecting tokens alpha != opt, W_mm(alpha) is solved and certified and
    lb(t) = ||W_mm(alpha)/|.| - W_mm/|.||| - e_alpha(t) <= e(t) (triangle inequality) is the witness.

    With ``params["target"] == "alpha"`` the limit is W_mm(meta["alpha"]) instead of W_mm(opt) (PRIOR's local
    convergence); "opt" below then means that alpha."""
    from theorems.attention.assumptions import instance_alpha

    mp = method_params(claim.method, claim.params)
    target = instance_alpha(inst) if claim.params.get("target") == "alpha" else None
    if claim.params.get("target") == "alpha" and target is None:
        from verify.errors import VerifyInputError

        raise VerifyInputError("this claim needs a token choice meta['alpha'] in the instance")
    W_mm = svm_for(inst, cache, target).W
    tr = simulate(inst, claim.method, settings, cache=cache, **mp)
    t = np.asarray(tr.t, dtype=float)
    Ws = tr.series("W")
    err, _ = ac.direction_error(Ws, W_mm)
    ok = tr.precision_ok[:, 0]
    alpha = tuple(int(a) for a in tr.series("selected")[-1])
    opt = target if target is not None else tuple(int(a) for a in ac.optimal_tokens(inst))
    extra: dict = {"selected_final": list(alpha), "opt": list(opt), "max_rel_error": float(tr.max_rel_error.max())}
    lower = None
    if alpha != opt:
        try:
            sol = svm_for(inst, cache, alpha)
        except (InfeasibleProblemError, SolverError) as exc:
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
        run=_run_info(tr, settings, claim.method, mp), extra={**extra, "rule": res.params}, code=res.code,
    )


# ---------------------------------------------------------------------------------------- comparisons
COMPARISON_CHECKPOINTS_PER_DECADE = 40
"""Checkpoint density of comparison runs: steps-to-target are resolved to a factor 10^(1/40) = 1.06, and two
runs reaching the target at the same checkpoint are a tie that this resolution cannot break (inconclusive)."""


def _fingerprint(inst: ac.AttentionInstance) -> str:
    import hashlib

    from verify.instance import dumps

    return hashlib.sha256(dumps(inst.to_json()).encode()).hexdigest()[:16]


def evaluate_comparison(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Evidence:
    """Paired runs on ONE instance with ONE settings object: for each pair (A, B) in ``params["pairs"]``, A must
    reach ``dir_err <= params["target"]`` in fewer steps than B (docs/catalogue.md, "Claim kinds").

    Per pair: holds if A reaches it first; violated if B does (or A never does while B does) with precision
    kept; inconclusive if neither reaches it within the horizon or both reach it at the same checkpoint.
    ``params["methods"]`` gives each method's step parameters. The GD baseline's direction error is also fitted
    against 1/log t (``extra["gd_log_exponent"]``; the seed says GD decays about like 1/log t, exponent -1).
    """
    from verify.stat_checks import check_comparison, steps_to_reach
    from verify.trajectory import log_checkpoints

    target = float(claim.params["target"])
    W_mm = svm_for(inst, cache).W
    cps = log_checkpoints(settings.steps, COMPARISON_CHECKPOINTS_PER_DECADE)
    names = sorted({m for pair in claim.params["pairs"] for m in pair})
    runs: dict[str, dict] = {}
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    trs: dict[str, Trajectory] = {}
    for name in names:
        mp = dict(claim.params["methods"][name])
        tr = simulate(inst, name, settings, cps, **mp)
        err, _ = ac.direction_error(tr.series("W"), W_mm)
        series[name] = (err, tr.precision_ok[:, 0])
        trs[name] = tr
        runs[name] = {"params": mp, "instance": _fingerprint(inst), "settings": settings.to_json(),
                      "steps_to_target": steps_to_reach(tr.t, err.tolist(), target),
                      "final": float(err[-1]), "precision_ok": bool(tr.precision_ok[:, 0].all())}
    verdicts, reasons, ratios, codes = [], [], [], []
    for a, b in claim.params["pairs"]:
        sa, sb = runs[a]["steps_to_target"], runs[b]["steps_to_target"]
        ok = runs[a]["precision_ok"] and runs[b]["precision_ok"]
        code = ""
        if not (np.isfinite(sa) or np.isfinite(sb)):
            v, why = INCONCLUSIVE, f"neither {a} nor {b} reached dir_err <= {target} within {settings.steps} steps"
            code = HORIZON_TOO_SHORT
        elif sa == sb:
            v, why = INCONCLUSIVE, f"{a} and {b} reached the target at the same checkpoint t={sa:.0f}"
            code = UNDETERMINED
        else:
            r = check_comparison([sa], [sb], labels=(a, b))
            v = r.verdict if (ok or r.verdict == HOLDS) else INCONCLUSIVE
            code = PRECISION_LOST if v == INCONCLUSIVE else ""
            why = f"{a}: {sa:.0f} steps, {b}: {sb:.0f} steps to dir_err <= {target}" + ("" if ok else
                                                                                         " (precision lost)")
            ratios.append(r.worst_ratio)
        verdicts.append(v)
        reasons.append(why)
        codes.append(code)
    verdict = VIOLATED if VIOLATED in verdicts else (HOLDS if all(v == HOLDS for v in verdicts) else INCONCLUSIVE)
    first_a, first_b = claim.params["pairs"][0]
    t = np.asarray(trs[first_a].t, dtype=float)
    code = next((c for v, c in zip(verdicts, codes, strict=True) if v == INCONCLUSIVE), "") \
        if verdict == INCONCLUSIVE else ""
    extra: dict = {"runs": runs, "pairs": [list(p) for p in claim.params["pairs"]], "pair_verdicts": verdicts,
                   "pair_codes": codes,
                   "target": target, "max_rel_error": max(float(tr.max_rel_error.max()) for tr in trs.values())}
    if "gd" in series:
        from verify.checks import fit_power

        p, _ = fit_power(t[t >= 10], series["gd"][0][t >= 10], "log")
        extra["gd_log_exponent"] = p
    finite = [x for x in ratios if x is not None and np.isfinite(x)]
    return Evidence(
        verdict=verdict, reason="; ".join(reasons), metric="dir_err", t=trs[first_a].t,
        observed=series[first_a][0].tolist(), claimed=series[first_b][0].tolist(),
        worst_ratio=max(finite) if finite else None, precision_ok=all(r["precision_ok"] for r in runs.values()),
        run={"method": claim.method, "params": claim.params["methods"], "backend": trs[first_a].backend,
             "dps": trs[first_a].dps, "steps": settings.steps,
             "representation": ac.representation_of(settings.representation),
             "notes": [n for tr in trs.values() for n in tr.notes]},
        extra=extra, code=code,
    )


# ---------------------------------------------------------------------------------------- sparsity / loss
def evaluate_sparsity(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Evidence:
    """max_i (1 - s_{i,opt_i}(W_t)) = O(exp(-c t)) with c = params["slope_fraction"] * eta / ||W_mm||_F.

    Checked on the log metric (the kernel's log max non-optimal attention, which never underflows) by
    :func:`verify.checks.check_order_log`. The derived shape: NGD moves ||W_t|| ~ eta t along W_mm/||W_mm||,
    whose smallest logit gap is ||W_t||/||W_mm||, so the slope of log(metric) tends to -eta/||W_mm||; the
    fitted slope and its ratio to the derived one are reported (``exponent``, ``extra["slope_ratio"]``).
    """
    from verify.checks import check_order_log

    mp = method_params(claim.method, claim.params)
    W_mm = svm_for(inst, cache).W
    nW = float(np.linalg.norm(W_mm))
    tr = simulate(inst, claim.method, settings, cache=cache, **mp)
    t = np.asarray(tr.t, dtype=float)
    lm = tr.series("log_max_nonopt")
    ok = tr.precision_ok[:, 0]
    c_derived = mp["eta"] / nW
    c = float(claim.params.get("slope_fraction", 1.0)) * c_derived
    res = check_order_log(t, lm, -c * t, ok, decades=int(claim.params.get("decades", 2)))
    ln10 = np.log(10)
    tail = t >= t[-1] / 10
    local = float(np.polyfit(t[tail], lm[tail], 1)[0]) if tail.sum() >= 2 else float("nan")
    return Evidence(
        verdict=res.verdict, reason=res.reason, metric="log10_max_nonopt", t=tr.t, observed=(lm / ln10).tolist(),
        claimed=((np.log(res.worst_ratio or 1.0) - c * t) / ln10).tolist(), worst_ratio=res.worst_ratio,
        t_worst=res.t_worst, exponent=res.exponent, constant=res.constant, precision_ok=bool(ok.all()),
        run=_run_info(tr, settings, claim.method, mp),
        extra={"decade_slopes": list(res.decade_slopes), "c_checked": c, "c_derived": c_derived,
               "last_decade_slope": local, "slope_ratio": -local / c_derived,
               "max_rel_error": float(tr.max_rel_error.max()), "rule": res.params},
        code=res.code,
    )


EXP_RATIO, POLY_RATIO, EXP_MIN_POWER = 3.0, 1.5, 10.0
"""Rate classes from the local power exponent p_k = d log(gap)/d log t fitted in each of the last two decades.
For gap ~ e^{-ct}, p = -ct grows tenfold per decade; for gap ~ t^{-a} log^b t, p_last/p_prev = 1 + O(1/log t).
A ratio >= 3 together with p_last <= -10 is called exponential (the second condition rejects the transient
of a polynomial rate: GD's derived rate is about t^{-1}, and a decay steeper than t^{-10} that is still
steepening is exponential for every purpose here); a ratio <= 1.5 is polynomial; anything else undetermined."""


def rate_class(t: np.ndarray, log_gap: np.ndarray) -> tuple[str, list[float]]:
    """('exponential' | 'polynomial' | 'undetermined', the per-decade local exponents)."""
    from verify.checks import decade_slopes

    p = decade_slopes(t, log_gap / np.log(10), 2)
    if len(p) < 2 or not all(np.isfinite(p)) or p[-1] >= 0:
        return "undetermined", p
    ratio = p[-1] / p[-2] if p[-2] < 0 else np.inf
    if ratio >= EXP_RATIO and p[-1] <= -EXP_MIN_POWER:
        return "exponential", p
    if 0 < ratio <= POLY_RATIO:
        return "polynomial", p
    return "undetermined", p


def evaluate_loss_rates(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Evidence:
    """L(W_t) - L* decays exponentially under each method in ``params["fast"]`` and only polynomially under
    each in ``params["slow"]`` (log(L - L*) from the kernel, exact to rounding far below float64's range).
    Violated when a method is clearly in the other class with precision kept; inconclusive when a class is
    undetermined."""
    ln10 = np.log(10)
    classes, exps, runs = {}, {}, {}
    obs_t: list[int] = []
    observed: list[float] = []
    all_ok = True
    for name in [*claim.params["fast"], *claim.params["slow"]]:
        mp = dict(claim.params["methods"][name])
        tr = simulate(inst, name, settings, **mp)
        t = np.asarray(tr.t, dtype=float)
        lg = tr.series("log_loss_gap")
        classes[name], exps[name] = rate_class(t, lg)
        ok = bool(tr.precision_ok[:, 0][t >= t[-1] / 100].all())
        all_ok &= ok
        runs[name] = {"params": mp, "class": classes[name], "local_exponents": exps[name], "precision_ok": ok,
                      "final_log10_gap": float(lg[-1] / ln10)}
        if not observed:
            obs_t, observed = tr.t, (lg / ln10).tolist()
    wrong = [m for m in claim.params["fast"] if classes[m] == "polynomial"] + \
            [m for m in claim.params["slow"] if classes[m] == "exponential"]
    undetermined = [m for m, c in classes.items() if c == "undetermined"]
    desc = ", ".join(f"{m}: {c} (local exponents {[round(x, 3) for x in exps[m]]})" for m, c in classes.items())
    code = ""
    if wrong and all_ok:
        verdict, reason = VIOLATED, f"wrong rate class for {wrong}: {desc}"
    elif wrong or undetermined or not all_ok:
        verdict, reason = INCONCLUSIVE, f"undetermined or imprecise: {desc}"
        code = PRECISION_LOST if not all_ok else UNDETERMINED
    else:
        verdict, reason = HOLDS, desc
    first = claim.params["fast"][0]
    return Evidence(
        verdict=verdict, reason=reason, metric="log10_loss_gap", t=obs_t, observed=observed, claimed=[],
        exponent=exps[first][-1] if exps[first] else None, precision_ok=all_ok,
        run={"method": claim.method, "params": claim.params["methods"], "backend": settings.backend,
             "dps": settings.dps if settings.backend == "mpmath" else 15, "steps": settings.steps,
             "representation": ac.representation_of(settings.representation), "notes": []},
        extra={"runs": runs, "exp_ratio": EXP_RATIO, "poly_ratio": POLY_RATIO}, code=code,
    )


# ---------------------------------------------------------------------------------------- joint training
def simulate_joint(instances: list[ac.AttentionInstance], method: str, settings: Settings,
                   normalize: str = "joint", **params: float) -> Trajectory:
    """Joint (u, W) training from u0 = 0 and each instance's W0, batched over the instances."""
    from theorems.attention.joint import build_joint_problem

    bk = get_backend(settings.backend, settings.dps)
    rule = make_method(method, eta=params.get("eta", 0.1), c=params.get("c", 1.0), normalize=normalize)
    return run(build_joint_problem(bk, instances), rule, settings.steps)


def _drop_zero(tr: Trajectory, block: str) -> Trajectory:
    """The trajectory without the checkpoints where ``block`` (of batch entry 0) is exactly zero: its direction
    is undefined there (joint training starts at u = 0, and W does not move before u does)."""
    from dataclasses import replace

    x = tr.records[block][:, 0]
    keep = np.any(x.reshape(len(tr.t), -1) != 0, axis=1)
    return replace(tr, t=[t for t, k in zip(tr.t, keep, strict=True) if k],
                   records={k: v[keep] for k, v in tr.records.items()}, precision_ok=tr.precision_ok[keep],
                   max_rel_error=tr.max_rel_error[keep])


def _joint_params(claim: Claim) -> tuple[dict, str]:
    return method_params(claim.method, claim.params), str(claim.params.get("normalize", "joint"))


def evaluate_joint_direction(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Evidence:
    """Joint training: dir_err(W_t, W_mm) = O(rate) (order claim; fitted against log t when the rate is
    1/log t). W_mm is the Att-SVM of the reference opt tokens (docs/catalogue.md, "The data model DM"), or with
    ``params["svm"] == "relaxed"`` PRIOR's relaxed Att-SVM (margin >= 1 only for the support sequences of the
    decoder SVM u_mm, >= 0 for the others). Under DM every sequence is a support vector of u_mm = mu/||mu||^2,
    so the two coincide there."""
    mp, norm = _joint_params(claim)
    if claim.params.get("svm", "hard") == "relaxed":
        from theorems.attention.svm import solve_decoder_svm, solve_relaxed_att_svm

        opt = [int(a) for a in ac.optimal_tokens(inst)]
        W_mm = solve_relaxed_att_svm(inst.X, inst.z, opt, solve_decoder_svm(inst.X, inst.y, opt).support).W
    else:
        W_mm = svm_for(inst, cache).W
    tr = _drop_zero(simulate_joint([inst], claim.method, settings, norm, **mp), "Wmat")
    t = np.asarray(tr.t, dtype=float)
    err, _ = ac.direction_error(tr.series("Wmat"), W_mm)
    ok = tr.precision_ok[:, 0]
    with np.errstate(divide="ignore"):  # 1/log t is infinite at t = 1, outside every tail
        rate = claim.curve(t)
    scale = str(claim.params.get("fit_scale", "power"))
    res = check_order(t, err, rate, ok, decades=int(claim.params.get("decades", 2)), fit_scale=scale)
    return Evidence(
        verdict=res.verdict, reason=res.reason, metric="dir_err", t=tr.t, observed=err.tolist(),
        claimed=(rate * (res.worst_ratio if res.worst_ratio and np.isfinite(res.worst_ratio) else 1.0)).tolist(),
        worst_ratio=res.worst_ratio, t_worst=res.t_worst, exponent=res.exponent, constant=res.constant,
        precision_ok=bool(ok.all()), run={**_run_info(tr, settings, claim.method, mp), "normalize": norm,
                                          "representation": "dense"},
        extra={"decade_slopes": list(res.decade_slopes), "fit_scale": scale, "rule": res.params,
               "max_rel_error": float(tr.max_rel_error.max()), "selected_final": tr.series("selected")[-1].tolist()},
        code=res.code,
    )


def evaluate_joint_decoder(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Evidence:
    """Joint training: u_t/||u_t|| -> u_mm/||u_mm|| (limit claim), u_mm the certified decoder SVM of the opt
    tokens. Witness: if the run ends selecting tokens beta != opt, u_mm(beta) is certified and
    lb(t) = ||u_mm(beta)/|.| - u_mm/|.||| - ||u_t/|.| - u_mm(beta)/|.||| <= u_dir_err(t)."""
    from theorems.attention.joint import u_direction_error
    from theorems.attention.svm import solve_decoder_svm

    mp, norm = _joint_params(claim)
    opt = tuple(int(a) for a in ac.optimal_tokens(inst))
    dec = solve_decoder_svm(inst.X, inst.y, opt)
    tr = _drop_zero(simulate_joint([inst], claim.method, settings, norm, **mp), "u")
    t = np.asarray(tr.t, dtype=float)
    us = tr.series("u")
    err = u_direction_error(us, dec.u)
    ok = tr.precision_ok[:, 0] & np.isfinite(err)
    beta = tuple(int(a) for a in tr.series("selected")[-1])
    extra: dict = {"selected_final": list(beta), "opt": list(opt), "u_mm_certified": dec.certified,
                   "u_mm_norm": dec.norm, "max_rel_error": float(tr.max_rel_error.max())}
    lower = None
    if beta != opt:
        try:
            other = solve_decoder_svm(inst.X, inst.y, beta)
        except (InfeasibleProblemError, SolverError) as exc:
            extra["beta_svm"] = f"not available: {exc}"
        else:
            dist = float(u_direction_error(other.u[None], dec.u)[0])
            lower = dist - u_direction_error(us, other.u)
            extra.update({"dist_umm_beta": dist, "lower_bound": lower.tolist()})
            if not other.certified:
                lower = None
    res = check_limit(t, np.nan_to_num(err, nan=np.inf), ok, lower_bound=lower)
    return Evidence(
        verdict=res.verdict, reason=res.reason, metric="u_dir_err", t=tr.t, observed=err.tolist(), claimed=[],
        exponent=res.exponent, constant=res.constant, precision_ok=bool(ok.all()),
        run={**_run_info(tr, settings, claim.method, mp), "normalize": norm, "representation": "dense"},
        extra={**extra, "rule": res.params}, code=res.code,
    )


def dm_family(inst: ac.AttentionInstance, draws: int) -> tuple[list[ac.AttentionInstance], int]:
    """The instance plus draws - 1 more DM draws with its parameters (seeds seed*draws + k), each kept only if
    the DM predicates (data_model, score_gap) give it the same verdicts as the instance: all hold for an
    instance meeting DM, and the same one fails for an instance an audit broke on purpose (the generator
    checks its own predicates on each draw). Returns (family, rejected). A non-DM instance is a family of one."""
    from theorems.attention.assumptions import data_model, score_gap
    from theorems.attention.joint import generate_dm

    meta = inst.meta if isinstance(inst.meta, dict) else {}
    if meta.get("generator") != "theorems.attention.joint.generate_dm":
        return [inst], 0
    fam, rejected = [inst], 0
    profile = (data_model.check(inst).verdict, score_gap.check(inst).verdict)
    for k in range(1, draws):
        seed = (int(meta["seed"]) * draws + k) % 2**32
        cand = generate_dm(int(meta["n"]), int(meta["T"]), int(meta["d"]), seed, float(meta["sigma"]),
                           float(meta["mu_norm"]), float(meta.get("init_scale", 0.0)))
        if (data_model.check(cand).verdict, score_gap.check(cand).verdict) == profile:
            fam.append(cand)
        else:
            rejected += 1
    return fam, rejected


def evaluate_joint_loss_probability(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                                    cache: dict) -> Evidence:
    """P_DM[ L(u_t, W_t) = O(rate) ] >= 1 - delta (kind ``probability``).

    The event on one draw: :func:`verify.checks.check_order_log` of log L against log rate holds. Draws: the
    instance and ``params["draws"] - 1`` more DM draws with its parameters, run as one batch. The verdict is
    the Clopper-Pearson test of :func:`verify.stat_checks.check_probability` over the decided draws (holds or
    violated); draws whose order check is inconclusive are counted and reported, not guessed.
    """
    import sympy

    from verify.checks import check_order_log
    from verify.stat_checks import check_probability

    mp, norm = _joint_params(claim)
    fam, rejected = dm_family(inst, int(claim.params.get("draws", 10)))
    tr = simulate_joint(fam, claim.method, settings, norm, **mp)
    t = np.asarray(tr.t, dtype=float)
    f = sympy.lambdify(sympy.Symbol("t", positive=True), sympy.log(claim.rate), "numpy")
    log_rate = np.broadcast_to(np.asarray(f(t), dtype=float), t.shape)
    per = [check_order_log(t, tr.records["log_loss"][:, b], log_rate, tr.precision_ok[:, b],
                           decades=int(claim.params.get("decades", 2))) for b in range(len(fam))]
    wins = sum(r.verdict == HOLDS for r in per)
    losses = sum(r.verdict == VIOLATED for r in per)
    undecided = len(per) - wins - losses
    delta = float(claim.params.get("delta", 0.25))
    extra = {"draws": len(fam), "rejected_draws": rejected, "holds": wins, "violated": losses,
             "inconclusive": undecided, "per_draw": [r.reason for r in per],
             "fitted_rates": [r.exponent for r in per], "max_rel_error": float(tr.max_rel_error.max())}
    code = ""
    extra["per_draw_codes"] = [r.code for r in per]
    extra["rule"] = per[0].params.get("rule") if per else None
    if wins + losses == 0:
        verdict, reason, ratio = INCONCLUSIVE, "no draw gave a decided order check", None
        code = INSUFFICIENT_DATA
    else:
        pr = check_probability(wins, wins + losses, delta=delta, confidence=float(claim.params.get("confidence",
                                                                                                   0.95)))
        verdict, reason, ratio, code = pr.verdict, pr.reason, pr.worst_ratio, pr.code
        extra.update({"interval": pr.interval, "estimate": pr.estimate, **pr.detail})
        if undecided:
            reason += f"; {undecided} draw(s) inconclusive and left out"
    lv = tr.records["log_loss"][:, 0] / np.log(10)
    return Evidence(
        verdict=verdict, reason=reason, metric="log10_loss", t=tr.t, observed=lv.tolist(),
        claimed=(log_rate / np.log(10)).tolist(), worst_ratio=ratio,
        exponent=float(np.nanmedian([r.exponent for r in per if r.exponent is not None] or [np.nan])),
        precision_ok=bool(tr.precision_ok.all()),
        run={**_run_info(tr, settings, claim.method, mp), "normalize": norm, "representation": "dense"},
        extra=extra, code=code,
    )
