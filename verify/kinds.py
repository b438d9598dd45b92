"""Kind dispatch: the checker that belongs to each claim kind, and the one place where Evidence is built.

An evaluator returns what it observed (:mod:`verify.observation`). :func:`judge` looks up ``claim.kind`` in
:data:`KINDS`, checks that the observation is of that kind's type, applies the kind's checker with the claim's
sympy rate and constant (``Claim.curve``; ``Claim.log_curve`` for a series of logs), judges the observation's
side conditions (``parts``, each by its own kind's checker) and ``guards``, combines everything by
:data:`ALL_OF` and builds the :class:`~verify.theory.Evidence`.

A checker is ``check(claim, observation) -> Judgement``: one :class:`Component` per judged part (per named
series, per compared pair, ...) and the figures it adds to ``Evidence.extra``. Adding a claim kind is one
checker plus one entry in :data:`KINDS` (and an observation type, if none of the existing ones fits).

What the evidence shows: the first component's checkpoints, observed and claimed series; the worst ratio of the
claim's own components (the largest finite one when there are several); the exponent and constant of the
deciding component (the first violated one, else the first). Side parts and guards decide the verdict with the
rest but never supply figures. ``Evidence.figure`` (:func:`figure_of`) is what the report's plot and pages draw:
the variable of the checkpoints, how the claimed curve was scaled, the steps per method, the interval, the
residuals. ``extra["rule"]`` is the component's rule and figures when there is one
component, else ``{"rule": ALL_OF, "parts": {name: rule and figures}}``, and ``extra["parts"]`` then gives each
part's verdict, code and reason.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from verify.checks import (
    GROWTH_RULE,
    HOLDS,
    INCONCLUSIVE,
    VIOLATED,
    CheckResult,
    check_bound,
    check_limit,
    check_order,
    check_order_log,
)
from verify.observation import (
    ComparisonObservation,
    Guard,
    IdentityObservation,
    Observation,
    ProbabilityObservation,
    Series,
    SeriesObservation,
)
from verify.stat_checks import check_comparison, check_identity, check_probability
from verify.verdicts import HORIZON_TOO_SHORT, INSUFFICIENT_DATA, PRECISION_LOST, UNDETERMINED

if TYPE_CHECKING:  # pragma: no cover
    from verify.theory import Claim, Evidence

LN10 = math.log(10.0)
FLOAT64_U = 2.0**-53

ALL_OF = {"name": "all-of", "violated": "some part is violated", "holds": "every part holds",
          "otherwise": "inconclusive, with the reason code of the first inconclusive part"}
"""How several parts of one claim (named series, compared pairs, side conditions, guards) make one verdict."""


@dataclass
class Component:
    """One judged part: its name, the checker's result and what the evidence shows of it."""

    name: str
    result: CheckResult
    t: list = field(default_factory=list)
    observed: list = field(default_factory=list)
    claimed: list = field(default_factory=list)
    precision_ok: bool = True
    rate: list = field(default_factory=list)  # the claimed curve unscaled, in the observed series' units
    figures: dict = field(default_factory=dict)  # per-checkpoint figures a checker adds to the evidence's extra
    plot: dict = field(default_factory=dict)  # how the claimed curve was drawn (Evidence.figure, figure_of)


@dataclass
class Judgement:
    components: list[Component]
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    """A claim kind: the observation type its evaluators return and the checker that judges it."""

    observation: type
    check: Callable[[Claim, Any], Judgement]
    statement: str


# ---------------------------------------------------------------------------------------------- series kinds
def _floats(values: Any) -> np.ndarray:
    return np.asarray([float(v) for v in np.ravel(np.asarray(values, dtype=object))], dtype=float) \
        if np.asarray(values).dtype == object else np.asarray(values, dtype=float)


def _scale(worst: float | None) -> float:
    return float(worst) if worst and np.isfinite(worst) else 1.0


def _judged_from(t: np.ndarray, decades: int, t0: int) -> float | None:
    """The first checkpoint the order rule judges (``verify.checks``' tail: the last ``decades`` decades from t0)."""
    if not len(t):
        return None
    lo = max(float(t0), float(t[-1]) / 10.0**decades)
    tail = t[(t >= lo) & (t > 0)]
    return float(tail[0]) if len(tail) else None


def _order_plot(res: CheckResult, t: np.ndarray, decades: int, t0: int, log: bool) -> dict:
    scale = _scale(res.worst_ratio)
    w = res.worst_ratio
    scaled = w is not None and w != 0 and bool(np.isfinite(w))  # as _scale decides
    return {"scale": scale, "scaled_by": "worst ratio" if scaled else "none",
            "log10": log, "judged_from": _judged_from(t, decades, t0)}


def judge_order_series(claim: Claim, name: str, s: Series, consts: dict) -> Component:
    """metric = O(rate) on one series (:func:`verify.checks.check_order`, or ``check_order_log`` for logs).
    ``claim.params``: ``decades`` (2), ``fit_scale`` ("power"), ``slope_tol`` (the rule's; a series' own
    ``slope_tol`` wins). The claimed curve shown is rate x worst ratio."""
    t = np.asarray(s.t, dtype=float)
    ok = s.flags
    decades = int(claim.params.get("decades", 2))
    tol = s.slope_tol if s.slope_tol is not None else claim.params.get("slope_tol")
    values = _floats(s.values)
    if s.log:
        lr = claim.log_curve(t, consts)
        res = check_order_log(t, values, lr, ok, t0=s.t0, decades=decades, slope_tol=tol)
        claimed = (math.log(_scale(res.worst_ratio)) + lr) / LN10
        return Component(name, res, list(s.t), (values / LN10).tolist(), claimed.tolist(), bool(ok.all()),
                         (lr / LN10).tolist(), plot=_order_plot(res, t, decades, s.t0, True))
    with np.errstate(divide="ignore", invalid="ignore"):  # e.g. 1/log t is infinite at t = 1, outside every tail
        rate = np.asarray(claim.curve(t, consts), dtype=float)
    if s.t0 > 1 and t[-1] < 10 * s.t0:
        k = int(np.searchsorted(t, s.t0))
        at = f" (metric {values[min(k, len(values) - 1)]:.3g} there)" if len(values) else ""
        res = CheckResult(INCONCLUSIVE, f"the metric is still in its initial transient: it is judged from t0 = "
                          f"{s.t0}{at}, less than a decade before the horizon t = {int(t[-1])}",
                          code=HORIZON_TOO_SHORT, params={"rule": GROWTH_RULE.to_json(), "t0": s.t0})
    else:
        res = check_order(t, values, rate, ok, t0=s.t0, decades=decades, slope_tol=tol,
                          fit_scale=str(claim.params.get("fit_scale", "power")))
    return Component(name, res, list(s.t), values.tolist(), (rate * _scale(res.worst_ratio)).tolist(),
                     bool(ok.all()), rate.tolist(), plot=_order_plot(res, t, decades, s.t0, False))


def judge_bound_series(claim: Claim, name: str, s: Series, consts: dict) -> Component:
    """metric <= constant * rate at every checkpoint from ``t0`` (:func:`verify.checks.check_bound`), against the
    series' rounding-error bound and the curve's own (4 u |bound|). With ``s.dps`` the curve is evaluated at that
    precision (``Claim.curve(..., dps=)``) and the excess inside that precision context."""
    t = np.asarray(s.t, dtype=float)
    ok = s.flags
    ctx: Any
    if s.dps:
        import mpmath

        ctx, u = mpmath.workdps(s.dps), 10.0 ** (-s.dps)
    else:
        import contextlib

        ctx, u = contextlib.nullcontext(), FLOAT64_U
    with ctx, np.errstate(divide="ignore", invalid="ignore"):
        values = s.values if s.dps else np.asarray(s.values, dtype=float)
        bound = claim.curve(t, consts, dps=s.dps) if s.dps else np.asarray(claim.curve(t, consts), dtype=float)
        bf = np.asarray([float(b) for b in np.ravel(bound)], dtype=float)
        berr = np.abs(bf) * 4 * u
        err = np.zeros(len(t)) if s.error is None else np.asarray(s.error, dtype=float)
        res = check_bound(t, values, bound, ok, t0=s.t0, error=err, bound_error=berr)
        excess = [float(v - b) for v, b in zip(np.ravel(values), np.ravel(bound), strict=True)]
    return Component(name, res, list(s.t), [float(v) for v in np.ravel(values)], bf.tolist(), bool(ok.all()),
                     bf.tolist(), {"excess": excess, "error_bound": (err + berr).tolist()},
                     plot={"constant": None if claim.constant is None else str(claim.constant),
                           "constant_value": _constant_value(claim, consts), "judged_from": float(s.t0)})


def _constant_value(claim: Claim, consts: dict) -> float | None:
    """The claim's constant on this instance, when it does not depend on t (else None)."""
    import sympy

    if claim.constant is None:
        return None
    expr = sympy.sympify(claim.constant)
    subs = {sympy.Symbol(k, positive=True): v for k, v in consts.items() if isinstance(v, (int, float))}
    val = expr.subs(subs)
    try:
        return float(val) if not val.free_symbols else None
    except (TypeError, ValueError):
        return None


def judge_limit_series(claim: Claim, name: str, s: Series, consts: dict) -> Component:
    """metric -> 0 (:func:`verify.checks.check_limit`). A witness of the metric itself goes into the one check; a
    witness of another distance (``witness_of``) is checked first on that distance, and the metric's own check
    decides unless the witness refutes."""
    t = np.asarray(s.t, dtype=float)
    ok = s.flags
    decades = int(claim.params.get("decades", 2))
    values = _floats(s.values)
    lower = None if s.witness is None else _floats(s.witness)
    if lower is not None and s.witness_of is not None:
        wit = check_limit(t, _floats(s.witness_of), ok, lower_bound=lower, decades=decades)
        res = wit if wit.verdict == VIOLATED else check_limit(t, values, ok, decades=decades)
    else:
        res = check_limit(t, values, ok, lower_bound=lower, decades=decades)
    return Component(name, res, list(s.t), values.tolist(), [], bool(ok.all()))


SERIES_RULES: dict[str, Callable[[Claim, str, Series, dict], Component]] = {
    "order": judge_order_series, "bound": judge_bound_series, "limit": judge_limit_series}


def _series_checker(kind: str) -> Callable[[Claim, Any], Judgement]:
    rule = SERIES_RULES[kind]

    def check(claim: Claim, obs: SeriesObservation) -> Judgement:
        comps = [rule(claim, name, s, obs.consts) for name, s in obs.series.items()]
        extra: dict[str, Any] = {}
        if kind == "order":
            extra["decade_slopes"] = list(_deciding(comps).result.decade_slopes)
        extra.update(comps[0].figures)
        return Judgement(comps, extra)

    return check


# ---------------------------------------------------------------------------------------------- comparison
def _judge_pair(a: str, b: str, obs: ComparisonObservation, strict: bool, fraction: float) -> CheckResult:
    sa, sb = np.asarray(obs.steps[a], dtype=float), np.asarray(obs.steps[b], dtype=float)
    ok = obs.precise.get(a, True) and obs.precise.get(b, True)
    neither = ~np.isfinite(sa) & ~np.isfinite(sb)
    unresolved = (sa == sb) & np.isfinite(sa) & (strict and not obs.exact)
    undecided = neither | unresolved
    rule = {"name": "comparison", "strict": strict, "fraction": fraction, "exact": obs.exact,
            "undecided": "a sample on which neither method reaches the target, or (strict, checkpoints coarser "
                         "than single steps) both reach it at the same checkpoint, is left out"}
    params: dict[str, Any] = {"rule": rule, "steps_a": sa.tolist(), "steps_b": sb.tolist()}
    horizon = f" within {obs.horizon} steps" if obs.horizon is not None else ""
    if undecided.all():
        if len(sa) == 1 and neither[0]:
            why, code = f"neither {a} nor {b} reached {obs.target}{horizon}", HORIZON_TOO_SHORT
        elif len(sa) == 1:
            why, code = f"{a} and {b} reached the target at the same checkpoint t={sa[0]:.0f}", UNDETERMINED
        else:
            why = (f"no decided sample: on {int(neither.sum())} neither {a} nor {b} reached {obs.target}{horizon}, "
                   f"on {int(unresolved.sum())} both reached it at the same checkpoint")
            code = HORIZON_TOO_SHORT if neither.any() else UNDETERMINED
        return CheckResult(INCONCLUSIVE, why, code=code, params=params)
    dec = ~undecided
    r = check_comparison(sa[dec], sb[dec], fraction=fraction, strict=strict, labels=(a, b))
    verdict = r.verdict if (ok or r.verdict == HOLDS) else INCONCLUSIVE
    if len(sa) == 1:
        why = f"{a}: {sa[0]:.0f} steps, {b}: {sb[0]:.0f} steps to {obs.target}"
    else:
        why = r.reason + (f"; {int(undecided.sum())} undecided sample(s) left out" if undecided.any() else "")
    why += "" if ok else " (precision lost)"
    worst = r.worst_ratio if r.worst_ratio is not None and np.isfinite(r.worst_ratio) else None
    params.update({"wins": r.detail["wins"], "decided": int(dec.sum())})
    return CheckResult(verdict, why, worst, None, code=PRECISION_LOST if verdict == INCONCLUSIVE else "",
                       params=params)


def check_comparison_kind(claim: Claim, obs: ComparisonObservation) -> Judgement:
    """Per pair (A, B): A reaches the target in fewer steps than B (``claim.params["strict"]``, default True;
    False: no later) on at least ``claim.params["fraction"]`` (default 1) of the decided samples; a violation
    needs both methods' precision kept. Undecided samples (see the rule) are left out; a pair with none decided
    is inconclusive."""
    strict = bool(claim.params.get("strict", True))
    fraction = float(claim.params.get("fraction", 1.0))
    comps = [Component(f"{a} vs {b}", _judge_pair(a, b, obs, strict, fraction),
                       precision_ok=obs.precise.get(a, True) and obs.precise.get(b, True)) for a, b in obs.pairs]
    a0, b0 = obs.pairs[0]
    if a0 in obs.series:
        comps[0].t = list(obs.series[a0].t)
        comps[0].observed = _floats(obs.series[a0].values).tolist()
    if b0 in obs.series:
        comps[0].claimed = _floats(obs.series[b0].values).tolist()
    extra = {"pair_verdicts": [c.result.verdict for c in comps], "pair_codes": [c.result.code for c in comps]}
    return Judgement(comps, extra)


# ---------------------------------------------------------------------------------------------- probability
def check_probability_kind(claim: Claim, obs: ProbabilityObservation) -> Judgement:
    """P(event) >= 1 - ``claim.params["delta"]`` (or >= ``claimed_p``), Clopper-Pearson at
    ``claim.params["confidence"]`` (0.95). The worst ratio is the largest sample over the threshold for
    thresholded samples, else the failure rate over the allowed one."""
    conf = float(claim.params.get("confidence", 0.95))
    kw = ({"claimed_p": float(claim.params["claimed_p"])} if "claimed_p" in claim.params
          else {"delta": float(claim.params["delta"])})
    rule: dict[str, Any] = {"name": "probability", "test": "Clopper-Pearson", "confidence": conf, **kw}
    extra: dict[str, Any] = {}
    if obs.samples is not None:
        x = np.asarray(obs.samples, dtype=float)
        thr = float(obs.threshold)  # type: ignore[arg-type]
        pr = check_probability(int(np.sum(x <= thr)), len(x), confidence=conf, **kw)
        rule["event"] = f"sample <= {thr:g}"
        thresholded = dataclasses.replace(pr, worst_ratio=float(max(obs.samples)) / thr, t_worst=int(np.argmax(x)),
                                          params={"rule": rule})
        extra.update({"interval": pr.interval, "estimate": pr.estimate, **pr.detail})
        return Judgement([Component("", thresholded, list(range(len(x))), [float(v) for v in obs.samples],
                                    [thr] * len(x))], extra)
    if obs.successes is not None:
        pr = check_probability(int(obs.successes), int(obs.trials), confidence=conf, **kw)  # type: ignore[arg-type]
        extra.update({"interval": pr.interval, "estimate": pr.estimate, **pr.detail})
        return Judgement([Component("", dataclasses.replace(pr, params={"rule": rule}))], extra)
    event_rule = SERIES_RULES[obs.event]
    per = [event_rule(claim, f"draw {k}", s, obs.consts) for k, s in enumerate(obs.draws or [])]
    wins = sum(c.result.verdict == HOLDS for c in per)
    losses = sum(c.result.verdict == VIOLATED for c in per)
    undecided = len(per) - wins - losses
    rule.update({"event": per[0].result.params.get("rule"), "undecided": "draws whose event check is "
                 "inconclusive are counted and left out"})
    extra.update({"holds": wins, "violated": losses, "inconclusive": undecided,
                  "per_draw": [c.result.reason for c in per], "fitted_rates": [c.result.exponent for c in per],
                  "per_draw_codes": [c.result.code for c in per]})
    exps = [c.result.exponent for c in per if c.result.exponent is not None]
    exponent = float(np.nanmedian(exps or [np.nan]))
    if wins + losses == 0:
        res: CheckResult = CheckResult(INCONCLUSIVE, f"no draw gave a decided {obs.event} check", exponent=exponent,
                          code=INSUFFICIENT_DATA, params={"rule": rule})
    else:
        pr = check_probability(wins, wins + losses, confidence=conf, **kw)
        reason = pr.reason + (f"; {undecided} draw(s) inconclusive and left out" if undecided else "")
        res = dataclasses.replace(pr, reason=reason, exponent=exponent, params={"rule": rule})
        extra.update({"interval": pr.interval, "estimate": pr.estimate, **pr.detail})
    first = per[0]
    return Judgement([Component("", res, first.t, first.observed, first.rate,
                                all(c.precision_ok for c in per))], extra)


# ---------------------------------------------------------------------------------------------- identity
def check_identity_kind(claim: Claim, obs: IdentityObservation) -> Judgement:
    """|lhs - rhs| <= atol + rtol |rhs| elementwise (:func:`verify.stat_checks.check_identity`); identities decided
    symbolically hold only if every one was proved."""
    comps = []
    if obs.lhs is not None:
        r = check_identity(obs.lhs, obs.rhs, rtol=obs.rtol, atol=obs.atol)
        rule = {"name": "identity", "holds": "|lhs - rhs| <= atol + rtol |rhs|", "rtol": obs.rtol, "atol": obs.atol}
        at = list(obs.at) if obs.at is not None else list(range(np.size(obs.lhs)))
        if len(at) != np.size(obs.lhs):
            raise ValueError(f"identity: 'at' has {len(at)} values for {np.size(obs.lhs)} elements")
        if obs.at is not None and r.t_worst is not None:  # the worst element, as a value of the variable
            r = dataclasses.replace(r, t_worst=at[int(r.t_worst)])
        comps.append(Component("numeric", dataclasses.replace(r, params={"rule": rule, **r.detail}),
                               at, _floats(np.ravel(obs.lhs)).tolist(),
                               _floats(np.ravel(obs.rhs)).tolist()))
    if obs.proved:
        failed = [k for k, v in obs.proved.items() if not v]
        rule = {"name": "identity", "holds": "computer algebra reduces every lhs - rhs to 0"}
        comps.append(Component("symbolic", CheckResult(
            VIOLATED if failed else HOLDS,
            f"symbolic identities not proved: {failed}" if failed else f"symbolic identities proved: "
            f"{sorted(obs.proved)}", params={"rule": rule, "proved": dict(obs.proved)})))
    return Judgement(comps)


# ---------------------------------------------------------------------------------------------- the table
KINDS: dict[str, Kind] = {
    "bound": Kind(SeriesObservation, _series_checker("bound"),
                  "metric(t) <= constant * rate(t) at every checkpoint, beyond the run's own rounding error"),
    "order": Kind(SeriesObservation, _series_checker("order"),
                  "metric(t) = O(rate(t)) with an unknown constant (the growth rule)"),
    "limit": Kind(SeriesObservation, _series_checker("limit"),
                  "metric(t) -> 0 (the limit rule: a witness, a floor, or decay to a floor consistent with 0)"),
    "comparison": Kind(ComparisonObservation, check_comparison_kind,
                       "method A reaches the target before method B, per pair"),
    "probability": Kind(ProbabilityObservation, check_probability_kind,
                        "P(event) >= 1 - delta (Clopper-Pearson)"),
    "identity": Kind(IdentityObservation, check_identity_kind, "lhs == rhs within tolerance, or proved"),
}
"""kind -> (observation type, checker). Adding a kind: one checker and one entry here."""


def _kind(name: str, where: str) -> Kind:
    if name not in KINDS:
        raise ValueError(f"{where}: unknown kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]


def _typed(kind: str, obs: Any, where: str) -> None:
    want = KINDS[kind].observation
    if not isinstance(obs, want):
        raise TypeError(f"{where}: a {kind} claim's evaluator must return a {want.__name__} "
                        f"(verify.observation), got {type(obs).__name__}")


def _guard(name: str, g: Guard) -> Component:
    passes = bool(g.margins) and all(float(v) > 0 for v in g.margins.values())
    figs = ", ".join(f"{k}: {float(v):.4g}" for k, v in g.margins.items()) or "none"
    params = {"rule": {"name": "guard", "passes": "at least one margin (a lower bound), every one > 0; otherwise "
                       "'holds' becomes inconclusive"}, "margins": dict(g.margins)}
    if passes:
        return Component(name, CheckResult(HOLDS, f"{g.statement}: established (margins {figs})",
                                           params=params))
    return Component(name, CheckResult(INCONCLUSIVE, f"{g.statement}: not established (margins {figs})",
                                       code=UNDETERMINED, params=params))


DEFAULT_VARIABLE = {"order": "t", "bound": "t", "limit": "t", "comparison": "sample", "probability": "draw",
                    "identity": "element"}
"""What the checkpoints of each kind's evidence are values of when the observation does not say
(``Observation.variable``); a probability over draws shows its first draw, whose checkpoints are t."""


def _floats_or_none(values: Any) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(f)
    return out


def figure_of(claim: Claim, obs: Observation, main: list[Component], extra: dict) -> dict:
    """``Evidence.figure``: what the report's plot and pages draw beyond t, observed and claimed.

    Every kind: ``variable`` (what t counts) and, when the observation labels them, ``groups`` (one line per
    group). ``order``: ``rate`` (the claimed rate, unscaled), ``scale`` and ``scaled_by`` (the claimed curve is
    scale x rate, scaled to touch the observed curve at its worst point: an order claim has no constant),
    ``log10`` (observed and claimed are log10 values) and ``judged_from`` (the first checkpoint the rule
    judges). ``bound``: ``constant`` (the claim's, as a sympy string), ``constant_value`` (its value on the
    instance, when free of t) and ``judged_from``. ``comparison``: ``steps`` per method (inf: not reached within
    ``horizon``), ``at`` (the variable's value on each paired sample), ``target``, ``horizon``, ``strict``,
    ``fraction`` and ``pairs`` (per pair: a, b, wins, decided, needed, verdict). ``probability``: ``successes``,
    ``trials``, ``interval``, ``claimed_p``, ``confidence`` and ``threshold`` (thresholded samples) or ``draws``
    (verdicts of the draws' checks). ``identity``: ``residual`` |lhs - rhs| and ``tolerance`` atol + rtol |rhs|
    per element."""
    first = main[0]
    variable = obs.variable or ("t" if claim.kind == "probability" and isinstance(obs, ProbabilityObservation)
                                and obs.draws is not None else DEFAULT_VARIABLE.get(claim.kind, "t"))
    fig: dict[str, Any] = {"variable": variable}
    n = len(first.t)
    if obs.groups is not None:
        if len(obs.groups) != n:
            raise ValueError(f"claim {claim.id}: {len(obs.groups)} groups for {n} checkpoints or samples")
        fig["groups"] = [str(g) for g in obs.groups]
    if claim.kind == "order":
        fig.update(first.plot)
        fig["rate"] = _floats_or_none(first.rate)
    elif claim.kind == "bound":
        fig.update(first.plot)
    elif isinstance(obs, ComparisonObservation):
        fig.update({"steps": {m: _floats_or_none(v) for m, v in obs.steps.items()}, "target": obs.target,
                    "horizon": obs.horizon, "strict": bool(claim.params.get("strict", True)),
                    "fraction": float(claim.params.get("fraction", 1.0)), "exact": obs.exact, "pairs": []})
        k = len(obs.steps[obs.pairs[0][0]])
        at = list(obs.at) if obs.at is not None else list(range(1, k + 1))
        if len(at) != k:
            raise ValueError(f"claim {claim.id}: 'at' has {len(at)} values for {k} paired samples")
        fig["at"] = _floats_or_none(at)
        for (a, b), c in zip(obs.pairs, main, strict=True):
            prm = c.result.params
            decided = int(prm.get("decided", 0))
            fig["pairs"].append({"a": a, "b": b, "wins": int(prm.get("wins", 0)), "decided": decided,
                                 "needed": math.ceil(fig["fraction"] * decided - 1e-12), "verdict": c.result.verdict})
    elif isinstance(obs, ProbabilityObservation):
        fig.update({k: extra[k] for k in ("successes", "trials", "claimed_p", "confidence") if k in extra})
        if "interval" in extra:
            fig["interval"] = [float(x) for x in extra["interval"]]
        if obs.threshold is not None:
            fig["threshold"] = float(obs.threshold)
        if obs.draws is not None:
            fig["draws"] = {k: int(extra.get(k, 0)) for k in ("holds", "violated", "inconclusive")}
    elif isinstance(obs, IdentityObservation) and obs.lhs is not None:
        lhs, rhs = _floats(np.ravel(obs.lhs)), _floats(np.ravel(obs.rhs))
        fig.update({"residual": np.abs(lhs - rhs).tolist(), "tolerance": (obs.atol + obs.rtol * np.abs(rhs)).tolist(),
                    "rtol": obs.rtol, "atol": obs.atol})
    return fig


def _deciding(comps: list[Component]) -> Component:
    return next((c for c in comps if c.result.verdict == VIOLATED), comps[0])


def combine(verdicts: list[str]) -> str:
    """:data:`ALL_OF`: violated if any is, holds if all do, else inconclusive."""
    if VIOLATED in verdicts:
        return VIOLATED
    return HOLDS if verdicts and all(v == HOLDS for v in verdicts) else INCONCLUSIVE


def judge(claim: Claim, obs: Observation) -> Evidence:
    """The evidence of ``claim`` on what was observed: the checker of ``claim.kind``, then the observation's parts
    and guards, combined by :data:`ALL_OF` (see the module docstring for what the evidence shows)."""
    from verify.theory import Evidence

    where = f"claim {claim.id}"
    kind = _kind(claim.kind, where)
    _typed(claim.kind, obs, where)
    j = kind.check(claim, obs)
    main = j.components
    if not main:
        raise ValueError(f"{where}: the observation gave nothing to judge")
    side: list[Component] = []
    for pname, part in obs.parts.items():
        pkind = _kind(part.kind, f"{where}, part {pname!r}")
        _typed(part.kind, part.observation, f"{where}, part {pname!r}")
        sub = dataclasses.replace(claim, kind=part.kind, rate=part.rate, constant=part.constant,
                                  params={**claim.params, **part.params})
        pcomps = pkind.check(sub, part.observation).components
        for c in pcomps:
            c.name = pname if len(pcomps) == 1 else f"{pname}: {c.name}"
        side.extend(pcomps)
    side.extend(_guard(gname, g) for gname, g in obs.guards.items())
    comps = main + side
    verdict = combine([c.result.verdict for c in comps])
    code = next((c.result.code for c in comps if c.result.verdict == INCONCLUSIVE), "") \
        if verdict == INCONCLUSIVE else ""
    extra = {**obs.extra, **j.extra}
    if len(comps) == 1:
        reason, rule = comps[0].result.reason, comps[0].result.params
    else:
        reason = "; ".join(f"{c.name}: {c.result.reason}" if c.name else c.result.reason for c in comps)
        rule = {"rule": ALL_OF, "parts": {c.name: c.result.params for c in comps}}
        extra["parts"] = {c.name: {"verdict": c.result.verdict, "code": c.result.code, "reason": c.result.reason}
                          for c in comps}
    first, deciding = main[0], _deciding(main)
    if len(main) == 1:
        worst, t_worst = first.result.worst_ratio, first.result.t_worst
    else:
        finite = [c for c in main if c.result.worst_ratio is not None and np.isfinite(c.result.worst_ratio)]
        top = max(finite, key=lambda c: float(c.result.worst_ratio), default=None)  # type: ignore[arg-type]
        worst, t_worst = (None, None) if top is None else (top.result.worst_ratio, top.result.t_worst)
    return Evidence(
        verdict=verdict, reason=reason, metric=obs.metric or claim.metric, t=list(first.t),
        observed=list(first.observed), claimed=list(first.claimed), worst_ratio=worst, t_worst=t_worst,
        exponent=deciding.result.exponent, constant=deciding.result.constant,
        precision_ok=all(c.precision_ok for c in main), run=dict(obs.run), extra={**extra, "rule": rule}, code=code,
        figure=figure_of(claim, obs, main, j.extra))
