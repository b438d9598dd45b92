"""Enclosures of the attention classifier's metrics, for certified findings (:mod:`verify.certify`).

A candidate is re-run on the arb backend (:func:`verify.arb.run_rigorous`: gd, ngd and polyak, Gram or dense),
from the recorded instance's float64 data (exact as balls). The iterate's balls ``W_ball`` contain the exact
iterate of the method as the toolkit defines it (a step of length exp(fl(log eta))); from them:

- ``norm``: ||W_t||_F, the run's own ball;
- ``dir_err``: ||W_t/||W_t|| - W*/||W*|| ||_F for the exact Att-SVM solution W*: the distance to the reported float
  W_f, in balls, widened by the SVM certificate's ``direction_bound`` (a rigorous bound on the distance between
  the directions of W_f and W*); without a rigorous certificate it is not enclosed.

Constants of a bound: eta is a ball holding the step length as the kernel applies it (exp(fl(log eta)) on a
log-scaled update, fl(eta) as a factor), norm_W0 the ball of ||W_0||_F, norm_Wmm the certificate's
``norm_interval``; n, T, d, Delta are exact as their float values.

:func:`certify_witness` certifies the ``vdt24.global`` audit witness e(t) >= ||What_mm(alpha) - What_mm|| -
e_alpha(t) > 0 from a report: both Att-SVMs by their certificates, the iterate by an arb run of the recorded
method from the recorded instance.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction
from typing import Any

import numpy as np

from theorems.attention import classifier as ac
from verify.arb import working_precision
from verify.certify import BITS, MetricEnclosure, ball_json, lower_float

COVERED = ("gd", "ngd", "polyak")
MAX_STEPS = 3000
"""The longest arb re-run a finding gets (the ci profile's horizon); checkpoints past it are not enclosed. On the
committed vdt24.global audit instances NGD's balls grow by about 3 bits a step: the wrapping effect of interval
arithmetic (a perturbation of c_0 by 2^-1500 grows about 17-fold by t = 10 and then stays flat to t = 300, while the
balls grow by 900 bits), so 3000 steps start at about 8000-9700 bits; the working precision then follows the balls
down (verify.arb.run_rigorous). The profile's ``certify_seconds`` bounds the time."""


def _arb() -> Any:
    import flint

    return flint.arb


def frac_ball(q: Fraction) -> Any:
    import flint

    return _arb()(flint.fmpq(q.numerator, q.denominator))


def rigorous_run(inst: ac.AttentionInstance, method: str, params: dict, checkpoints: list[int],
                 representation: str = "gram", dps: int = 30) -> Any:
    """An arb run of ``method`` on ``inst`` to the last of ``checkpoints`` (a str: the reason it cannot run)."""
    from theorems.attention.claims import method_params
    from verify.arb import run_rigorous
    from verify.methods import make_method

    if method not in COVERED:
        return f"the arb backend does not cover the method {method} (it covers {', '.join(COVERED)})"
    cps = sorted({int(t) for t in checkpoints if 0 < int(t) <= MAX_STEPS})
    if not cps:
        return f"no checkpoint within the arb horizon of {MAX_STEPS} steps"
    rule = make_method(method, **method_params(method, params))
    rep = ac.representation_of(representation or "gram")
    batch = ac.stack([inst])
    return run_rigorous(lambda b: ac.build_problem(b, batch, rep), rule, cps[-1], cps, dps=dps)


def iterate_balls(tr: Any) -> dict[int, Any]:
    """checkpoint -> the (d, d) object array of balls of W_t."""
    W = tr.records["W_ball"]
    return {int(t): W[k, 0] for k, t in enumerate(tr.t)}


def _frob(A: Any) -> Any:
    return sum((v * v for v in np.ravel(A)), _arb()(0)).sqrt()


def direction_distance(Wb: Any, V: np.ndarray) -> Any:
    """|| W/||W|| - V/||V|| ||_F in balls, for balls W and an exact float matrix V."""
    arb = _arb()
    Vb = np.vectorize(lambda x: arb(float(x)), otypes=[object])(V)
    return _frob(Wb / _frob(Wb) - Vb / _frob(Vb))


def _svm(inst: ac.AttentionInstance, alpha: tuple[int, ...] | None = None) -> Any:
    from theorems.attention.svm import solve_att_svm

    a = tuple(int(v) for v in (ac.optimal_tokens(inst) if alpha is None else alpha))
    return solve_att_svm(inst.X, inst.z, a)


def _direction_radius(sol: Any) -> Any:
    """A ball [0 +/- delta] with delta the certificate's rigorous bound on the direction distance of W_f and W*."""
    d = sol.proof.direction
    if not sol.proof.rigorous or d is None:
        return None
    b = frac_ball(Fraction(d))
    return b.union(-b)  # a ball that contains [-delta, delta] (Arb's union is rigorous)


def _consts(inst: ac.AttentionInstance, params: dict, sol: Any) -> dict:
    arb = _arb()
    out: dict[str, Any] = {"n": inst.n, "T": inst.T, "d": inst.d, "Delta": float(ac.score_gaps(inst).min())}
    for k in ("eta", "c"):
        if k in params:
            # the step length as the kernel applies it: exp(fl(log eta)) on a log-scaled update, fl(eta) as a
            # factor; the ball holds both, so the curve's ball holds the claim's curve for the run's step
            v = float(params[k])
            out[k] = arb(math.log(v)).exp().union(arb(v))
    out["norm_W0"] = _frob(np.vectorize(lambda x: arb(float(x)), otypes=[object])(inst.W0))
    if sol is not None and sol.proof.norm_bounds is not None:
        lo, hi = sol.proof.norm_bounds
        out["norm_Wmm"] = frac_ball(Fraction(lo)).union(frac_ball(Fraction(hi)))
    for k, v in params.items():
        if k not in out and isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = v
    return out


def enclose_metric(claim: Any, inst: ac.AttentionInstance, evidence: Any) -> MetricEnclosure | str:
    """Balls of the claim's metric at the evidence's checkpoints (up to :data:`MAX_STEPS`), or the reason not."""
    if claim.metric not in ("norm", "dir_err"):
        return f"no enclosure of the metric {claim.metric} (enclosed: norm, dir_err)"
    run = evidence.run or {}
    sol = None
    try:
        sol = _svm(inst)
    except Exception as exc:  # noqa: BLE001 - an SVM that cannot be solved encloses nothing
        if claim.metric == "dir_err":
            return f"the Att-SVM could not be solved: {exc}"
    delta = None
    if claim.metric == "dir_err":
        delta = _direction_radius(sol) if sol is not None else None
        if delta is None:
            return "the Att-SVM solution has no rigorous certificate, so W_mm's direction is not enclosed"
    tr = rigorous_run(inst, claim.method, claim.params, list(evidence.t), run.get("representation", "gram"))
    if isinstance(tr, str):
        return tr
    Ws = iterate_balls(tr)
    ts = [t for t in tr.t if t in Ws and t > 0]
    with working_precision(BITS):
        if claim.metric == "norm":
            metric = [_frob(Ws[t]) for t in ts]
        else:
            assert sol is not None
            metric = [direction_distance(Ws[t], sol.W) + delta for t in ts]
        consts = _consts(inst, claim.params, sol)
    notes = [n for n in tr.notes if n.startswith("arb:")][-1:]
    if not bool(tr.precision_ok.all()):
        notes.append("some balls are wider than 1e-8 (still rigorous)")
    return MetricEnclosure(ts, metric, consts, notes)


def certify_finite(claim: Any, inst: ac.AttentionInstance, evidence: Any) -> dict | str:
    """The finite facts of a limit verdict: a witness e(t) >= lb(t) > 0, enclosed (see :func:`witness`)."""
    if claim.kind != "limit" or claim.metric != "dir_err":
        return f"no finite facts are enclosed for a {claim.kind} claim on {claim.metric}"
    ex = evidence.extra or {}
    if "opt" not in ex or "selected_final" not in ex or list(ex["opt"]) == list(ex["selected_final"]):
        return "the run ends at opt: there is no witness to enclose"
    return witness(inst, claim.method, claim.params, tuple(ex["selected_final"]), list(evidence.t),
                   (evidence.run or {}).get("representation", "gram"))


def witness(inst: ac.AttentionInstance, method: str, params: dict, alpha: tuple[int, ...], checkpoints: list[int],
            representation: str = "gram") -> dict | str:
    """Certify lb(t) = ||What_mm(alpha) - What_mm|| - e_alpha(t) <= e(t) in balls at the checkpoints and at the
    powers of 10 among them (to :data:`MAX_STEPS`): the SVM directions differ from the float answers by at most
    their certificates' ``direction_bound``s, the iterate is the arb run's ball. Also the direct bound
    e(t) >= ||What_t - What_f|| - delta_opt. ``certified`` when lb(t) > 0 at the last enclosed checkpoint;
    ``seconds``: how long the run and the enclosures took."""
    sol, sol_a = _svm(inst), _svm(inst, alpha)
    d_opt, d_a = _direction_radius(sol), _direction_radius(sol_a)
    if d_opt is None or d_a is None:
        return "an Att-SVM (opt or alpha) has no rigorous certificate"
    top = max((int(t) for t in checkpoints), default=0)
    cps = sorted({int(t) for t in checkpoints} | {10**k for k in range(1, 7) if 10**k <= top})  # and the decades
    t0 = time.perf_counter()
    tr = rigorous_run(inst, method, params, cps, representation)
    if isinstance(tr, str):
        return tr
    with working_precision(BITS):
        out = _witness_rows(iterate_balls(tr), sol, sol_a, d_opt, d_a, alpha, method, tr)
    if isinstance(out, dict):
        out["seconds"] = round(time.perf_counter() - t0, 1)  # the arb run and the enclosures (not a result)
    return out


def _witness_rows(Ws: dict[int, Any], sol: Any, sol_a: Any, d_opt: Any, d_a: Any, alpha: tuple[int, ...],
                  method: str, tr: Any) -> dict | str:
    arb = _arb()
    # ||What*_alpha - What*_opt|| >= ||What_f,alpha - What_f,opt|| - delta_alpha - delta_opt
    Wa = np.vectorize(lambda x: arb(float(x)), otypes=[object])(sol_a.W)
    gap = direction_distance(Wa, sol.W) + d_opt + d_a
    rows: list[dict[str, Any]] = []
    for t in sorted(Ws):
        if t <= 0:
            continue
        e_alpha = direction_distance(Ws[t], sol_a.W) + d_a  # contains e_alpha(t) against the exact W_mm(alpha)
        lb = gap - e_alpha
        direct = direction_distance(Ws[t], sol.W) + d_opt  # contains e(t) itself
        rows.append({"t": int(t), "lower_bound": lower_float(lb), "lb_ball": ball_json(lb),
                     "e": ball_json(direct), "e_alpha": ball_json(e_alpha), "positive": bool(lb > 0)})
    if not rows:
        return "no checkpoint after t = 0 was enclosed"
    last = rows[-1]
    out = {"certified": last["positive"], "t": last["t"], "lower_bound": last["lower_bound"],
           "alpha": list(alpha), "dist_Wmm_alpha": ball_json(gap),
           "direction_bounds": {"opt": str(sol.proof.direction_bound), "alpha": str(sol_a.proof.direction_bound)},
           "bits": tr.notes[-1] if tr.notes else "", "rows": rows,
           "statement": (f"e(t) >= ||What_mm(alpha) - What_mm|| - e_alpha(t) >= {last['lower_bound']:.6g} > 0 at "
                         f"t = {last['t']} (arb run of {method}; both Att-SVMs certified)" if last["positive"] else
                         f"the witness's ball is not positive at t = {last['t']}")}
    return out


def certify_witness(report: dict, horizon: int = MAX_STEPS) -> dict | str:
    """The vdt24.global audit witness from a report (JSON dict): recorded instance, method and alpha."""
    inst = ac.instance_from_json(report["instance"])
    ev = report["evidence"]
    alpha = tuple(int(a) for a in ev["extra"]["selected_final"])
    run = report["method"]
    cps = [t for t in ev["t"] if t <= horizon]
    return witness(inst, run["method"], run.get("params", {}), alpha, cps, run.get("representation", "gram"))
