"""Claim evaluators for the attention classifier: run a method, measure against the certified W_mm.

Each evaluator runs the claim's method and returns what it observed (:mod:`verify.observation`): the metric's
checkpoint series with precision flags, its rounding-error bound where there is one, a witness for a limit (a lower
bound from the certified SVMs and the float run: not itself a proof; verify.certify encloses it in balls), the
instance constants, the run and the extras. It never judges: the engine applies the checker of the
claim's kind (:mod:`verify.kinds`). Evaluators never re-check assumptions (the engine does that before calling
them).
"""

from __future__ import annotations

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.assumptions import svm_for
from theorems.attention.svm import classify_alpha
from verify.backends import get_backend
from verify.checks import rounding_bound
from verify.errors import InfeasibleProblemError, SolverError
from verify.methods import make_method, method_spec
from verify.methods import method_params as _method_params
from verify.model import trajectory_cache_key
from verify.observation import ComparisonObservation, ProbabilityObservation, Series, SeriesObservation
from verify.theory import Claim, Settings
from verify.trajectory import Trajectory, run


def simulate(inst: ac.AttentionInstance, method: str, settings: Settings, checkpoints: list[int] | None = None,
             cache: dict | None = None, **params: float) -> Trajectory:
    """Run ``method`` (a name of ``verify.methods.METHOD_TABLE``) on one instance with the settings' backend,
    precision and horizon (a method whose updates are not along the gradient, such as Adam, is elementwise, so it
    always runs on the dense representation). A trajectory of a batched run (``theorems.attention.batch``) that the
    cache holds for these settings is taken instead."""
    key = trajectory_cache_key(method, params, settings)
    hit = None if cache is None or checkpoints is not None else cache.get(key)
    if callable(hit):  # a slice of a batched run, computed on first use (None when that run failed)
        hit = hit()
    if hit is not None:
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


def evaluate_direction_order(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                             cache: dict) -> SeriesObservation:
    """The direction error e(t) = ||W_t/||W_t|| - W_mm/||W_mm||||_F, for e(t) = O(rate(t)) (kind ``order``) or
    e(t) <= constant * rate(t) (kind ``bound``), with its rounding-error bound and the instance constants."""
    mp = method_params(claim.method, claim.params)
    W_mm = svm_for(inst, cache).W
    tr = simulate(inst, claim.method, settings, cache=cache, **mp)
    t = np.asarray(tr.t, dtype=float)
    err, _ = ac.direction_error(tr.series("W"), W_mm)
    # the direction error is accurate to about 2 rho(t) (trajectory.DEFAULT_TOL)
    e_err = 2 * rounding_bound(np.ones_like(err), tr.max_rel_error[:, 0], get_backend(settings.backend,
                               settings.dps).eps, t, eval_ops=2 * inst.d**2)
    return SeriesObservation(
        series={claim.metric: Series(tr.t, err, ok=tr.precision_ok[:, 0], error=e_err)},
        consts=_instance_constants(inst, W_mm, claim.params), run=_run_info(tr, settings, claim.method, mp),
        extra={"max_rel_error": float(tr.max_rel_error.max()), "selected_final": tr.series("selected")[-1].tolist()})


def evaluate_direction_limit(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                             cache: dict) -> SeriesObservation:
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
    Ws = tr.series("W")
    err, _ = ac.direction_error(Ws, W_mm)
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
    return SeriesObservation(series={claim.metric: Series(tr.t, err, ok=tr.precision_ok[:, 0], witness=lower)},
                             run=_run_info(tr, settings, claim.method, mp), extra=extra)


# ---------------------------------------------------------------------------------------- comparisons
COMPARISON_CHECKPOINTS_PER_DECADE = 40
"""Checkpoint density of comparison runs: steps-to-target are resolved to a factor 10^(1/40) = 1.06, and two
runs reaching the target at the same checkpoint are a tie that this resolution cannot break (inconclusive)."""


def _fingerprint(inst: ac.AttentionInstance) -> str:
    import hashlib

    from verify.instance import dumps

    return hashlib.sha256(dumps(inst.to_json()).encode()).hexdigest()[:16]


def evaluate_comparison(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                        cache: dict) -> ComparisonObservation:
    """Paired runs on ONE instance with ONE settings object: for each method of the pairs (A, B) in
    ``params["pairs"]`` (A must reach ``dir_err <= params["target"]`` in fewer steps than B; docs/catalogue.md,
    "Claim kinds"), the steps to the target and whether precision was kept. ``params["methods"]`` gives each
    method's step parameters. The GD baseline's direction error is also fitted against 1/log t
    (``extra["gd_log_exponent"]``; the seed says GD decays about like 1/log t, exponent -1).
    """
    from verify.stat_checks import steps_to_reach
    from verify.trajectory import log_checkpoints

    target = float(claim.params["target"])
    W_mm = svm_for(inst, cache).W
    cps = log_checkpoints(settings.steps, COMPARISON_CHECKPOINTS_PER_DECADE)
    names = sorted({m for pair in claim.params["pairs"] for m in pair})
    runs: dict[str, dict] = {}
    series: dict[str, Series] = {}
    trs: dict[str, Trajectory] = {}
    for name in names:
        mp = dict(claim.params["methods"][name])
        tr = simulate(inst, name, settings, cps, **mp)
        err, _ = ac.direction_error(tr.series("W"), W_mm)
        series[name] = Series(tr.t, err, ok=tr.precision_ok[:, 0])
        trs[name] = tr
        runs[name] = {"params": mp, "instance": _fingerprint(inst), "settings": settings.to_json(),
                      "steps_to_target": steps_to_reach(tr.t, err.tolist(), target),
                      "final": float(err[-1]), "precision_ok": bool(tr.precision_ok[:, 0].all())}
    first = trs[claim.params["pairs"][0][0]]
    extra: dict = {"runs": runs, "pairs": [list(p) for p in claim.params["pairs"]], "target": target,
                   "max_rel_error": max(float(tr.max_rel_error.max()) for tr in trs.values())}
    if "gd" in series:
        from verify.checks import fit_power

        t = np.asarray(series["gd"].t, dtype=float)
        p, _ = fit_power(t[t >= 10], np.asarray(series["gd"].values)[t >= 10], "log")
        extra["gd_log_exponent"] = p
    return ComparisonObservation(
        steps={m: [r["steps_to_target"]] for m, r in runs.items()}, pairs=[tuple(p) for p in claim.params["pairs"]],
        precise={m: r["precision_ok"] for m, r in runs.items()}, target=f"dir_err <= {target}",
        horizon=settings.steps, series=series, metric="dir_err",
        run={"method": claim.method, "params": claim.params["methods"], "backend": first.backend,
             "dps": first.dps, "steps": settings.steps, "representation": settings.representation,
             "notes": [n for tr in trs.values() for n in tr.notes]},
        extra=extra)


# ---------------------------------------------------------------------------------------- sparsity / loss gap
def evaluate_sparsity(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                      cache: dict) -> SeriesObservation:
    """log max_i (1 - s_{i,opt_i}(W_t)) (the kernel's log max non-optimal attention, which never underflows), for
    max_i (1 - s_{i,opt_i}) = O(exp(-c t)) with c = params["slope_fraction"] * eta / ||W_mm||_F (the constant
    ``c`` of the claim's rate).

    The derived shape: NGD moves ||W_t|| ~ eta t along W_mm/||W_mm||, whose smallest logit gap is
    ||W_t||/||W_mm||, so the slope of log(metric) tends to -eta/||W_mm||; the slope over the last decade and its
    ratio to the derived one are reported (``extra["last_decade_slope"]``, ``extra["slope_ratio"]``).
    """
    mp = method_params(claim.method, claim.params)
    W_mm = svm_for(inst, cache).W
    nW = float(np.linalg.norm(W_mm))
    tr = simulate(inst, claim.method, settings, cache=cache, **mp)
    t = np.asarray(tr.t, dtype=float)
    lm = tr.series("log_max_nonopt")
    c_derived = mp["eta"] / nW
    c = float(claim.params.get("slope_fraction", 1.0)) * c_derived
    tail = t >= t[-1] / 10
    local = float(np.polyfit(t[tail], lm[tail], 1)[0]) if tail.sum() >= 2 else float("nan")
    return SeriesObservation(
        series={claim.metric: Series(tr.t, lm, ok=tr.precision_ok[:, 0], log=True)}, consts={"c": c},
        run=_run_info(tr, settings, claim.method, mp),
        extra={"c_checked": c, "c_derived": c_derived, "last_decade_slope": local, "slope_ratio": -local / c_derived,
               "max_rel_error": float(tr.max_rel_error.max())})


def _loss_decay_exponent(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                         cache: dict) -> tuple[Trajectory, np.ndarray, dict]:
    mp = method_params(claim.method, claim.params)
    tr = simulate(inst, claim.method, settings, cache=cache, **mp)
    lam = -np.asarray(tr.series("log_loss_gap"), dtype=float)  # -ln(L - L*), from the kernel's exact log
    return tr, lam, mp


def evaluate_loss_exponent(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                           cache: dict) -> SeriesObservation:
    """The loss gap's decay exponent lambda(t) = -ln(L(W_t) - L*) under ``claim.method`` (fixed decoder; the
    kernel's log of the loss gap, exact to rounding far below float64's range). ``lambda = O(log t)`` says the
    gap decays only polynomially: L - L* >= t^{-C} for some C."""
    tr, lam, mp = _loss_decay_exponent(claim, inst, settings, cache)
    return SeriesObservation(series={claim.metric: Series(tr.t, lam, ok=tr.precision_ok[:, 0])},
                             run=_run_info(tr, settings, claim.method, mp),
                             extra={"max_rel_error": float(tr.max_rel_error.max()),
                                    "final_log10_gap": float(-lam[-1] / np.log(10))})


def evaluate_loss_exponent_inverse(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                                   cache: dict) -> SeriesObservation:
    """1/lambda(t) = 1/(-ln(L(W_t) - L*)) under ``claim.method``: ``1/lambda = O(1/t)`` says the gap decays
    exponentially: L - L* <= e^{-ct} for some c > 0 (the unknown constant is 1/c)."""
    tr, lam, mp = _loss_decay_exponent(claim, inst, settings, cache)
    with np.errstate(divide="ignore"):
        inv = 1.0 / lam
    return SeriesObservation(series={claim.metric: Series(tr.t, inv, ok=tr.precision_ok[:, 0])},
                             run=_run_info(tr, settings, claim.method, mp),
                             extra={"max_rel_error": float(tr.max_rel_error.max()),
                                    "final_log10_gap": float(-lam[-1] / np.log(10))})


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


def evaluate_joint_direction(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                             cache: dict) -> SeriesObservation:
    """Joint training: dir_err(W_t, W_mm), for dir_err = O(rate) (order claim; fitted against log t with
    ``params["fit_scale"] == "log"``). W_mm is the Att-SVM of the reference opt tokens (docs/catalogue.md, "The
    data model DM"), or with ``params["svm"] == "relaxed"`` PRIOR's relaxed Att-SVM (margin >= 1 only for the
    support sequences of the decoder SVM u_mm, >= 0 for the others). Under DM every sequence is a support vector
    of u_mm = mu/||mu||^2, so the two coincide there."""
    mp, norm = _joint_params(claim)
    if claim.params.get("svm", "hard") == "relaxed":
        from theorems.attention.svm import solve_decoder_svm, solve_relaxed_att_svm

        opt = [int(a) for a in ac.optimal_tokens(inst)]
        W_mm = solve_relaxed_att_svm(inst.X, inst.z, opt, solve_decoder_svm(inst.X, inst.y, opt).support).W
    else:
        W_mm = svm_for(inst, cache).W
    tr = _drop_zero(simulate_joint([inst], claim.method, settings, norm, **mp), "Wmat")
    err, _ = ac.direction_error(tr.series("Wmat"), W_mm)
    return SeriesObservation(
        series={claim.metric: Series(tr.t, err, ok=tr.precision_ok[:, 0])},
        run={**_run_info(tr, settings, claim.method, mp), "normalize": norm, "representation": "dense"},
        extra={"fit_scale": str(claim.params.get("fit_scale", "power")),
               "max_rel_error": float(tr.max_rel_error.max()), "selected_final": tr.series("selected")[-1].tolist()})


def evaluate_joint_decoder(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                           cache: dict) -> SeriesObservation:
    """Joint training: u_t/||u_t|| -> u_mm/||u_mm|| (limit claim), u_mm the certified decoder SVM of the opt
    tokens. Witness: if the run ends selecting tokens beta != opt, u_mm(beta) is certified and
    lb(t) = ||u_mm(beta)/|.| - u_mm/|.||| - ||u_t/|.| - u_mm(beta)/|.||| <= u_dir_err(t)."""
    from theorems.attention.joint import u_direction_error
    from theorems.attention.svm import solve_decoder_svm

    mp, norm = _joint_params(claim)
    opt = tuple(int(a) for a in ac.optimal_tokens(inst))
    dec = solve_decoder_svm(inst.X, inst.y, opt)
    tr = _drop_zero(simulate_joint([inst], claim.method, settings, norm, **mp), "u")
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
    return SeriesObservation(
        series={claim.metric: Series(tr.t, err, ok=ok, witness=lower)},
        run={**_run_info(tr, settings, claim.method, mp), "normalize": norm, "representation": "dense"},
        extra=extra)


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
                                    cache: dict) -> ProbabilityObservation:
    """Draws for P_DM[ L(u_t, W_t) = O(rate) ] >= 1 - delta (kind ``probability``): per draw, log L along joint
    training; the event on a draw is the order rule of the claim's rate on it. Draws: the instance and
    ``params["draws"] - 1`` more DM draws with its parameters, run as one batch.
    """
    mp, norm = _joint_params(claim)
    fam, rejected = dm_family(inst, int(claim.params.get("draws", 10)))
    tr = simulate_joint(fam, claim.method, settings, norm, **mp)
    draws = [Series(tr.t, tr.records["log_loss"][:, b], ok=tr.precision_ok[:, b], log=True) for b in range(len(fam))]
    return ProbabilityObservation(
        draws=draws, event="order",
        run={**_run_info(tr, settings, claim.method, mp), "normalize": norm, "representation": "dense"},
        extra={"draws": len(fam), "rejected_draws": rejected, "max_rel_error": float(tr.max_rel_error.max())})
