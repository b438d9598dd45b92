"""Kind dispatch (verify/kinds.py): evaluators return observations, the checker of the claim's kind judges them,
and several parts of one claim are combined by ALL_OF. Synthetic observations of known truth, plus the attention
evaluators' observations."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import sympy

from theorems import vdt24
from theorems.attention.strategies import generate
from verify.engine import assess
from verify.kinds import ALL_OF, KINDS, judge
from verify.observation import (
    ComparisonObservation,
    Guard,
    IdentityObservation,
    Part,
    ProbabilityObservation,
    Series,
    SeriesObservation,
)
from verify.theory import CLAIM_KINDS, Evidence, Settings

T = sympy.Symbol("t", positive=True)
BASE = vdt24.CLAIMS["vdt24.ngd-rate"]  # an order claim in t^-1/2; its fields are replaced below
TS = [int(x) for x in np.unique(np.round(np.logspace(0, 4, 81)))]
TA = np.asarray(TS, dtype=float)


def _claim(kind: str, **changes: object):  # type: ignore[no-untyped-def]
    return dataclasses.replace(BASE, kind=kind, **changes)


def test_the_table_is_the_list_of_kinds() -> None:
    assert tuple(KINDS) == CLAIM_KINDS == ("bound", "order", "limit", "comparison", "probability", "identity")


def test_kind_tells_the_truth_an_order_claim_with_a_constant_is_refused() -> None:
    with pytest.raises(ValueError, match="declare kind='bound'"):
        _claim("order", constant=2 * T)
    with pytest.raises(ValueError, match="bound claim needs a constant"):
        _claim("bound", constant=None)
    assert _claim("bound", constant=sympy.Integer(3)).kind == "bound"


def test_an_evaluator_returning_anything_but_its_kinds_observation_is_an_error() -> None:
    inst = generate(2, 2, 4, seed=0)
    old_style = Evidence(verdict="holds", reason="built by the model", metric="m", t=[1, 2], observed=[1.0, 1.0])
    for returned in (old_style, ComparisonObservation(steps={"a": [1.0], "b": [2.0]}, pairs=[("a", "b")])):
        claim = dataclasses.replace(BASE, evaluate=lambda c, i, s, k, r=returned: r)
        a = assess(vdt24.MODULE, claim, inst, Settings(steps=10), require_assumptions=False)
        assert a.verdict == "error" and "TypeError" in a.status and "SeriesObservation" in a.status, a.status


def _series(values: np.ndarray, **kw: object) -> SeriesObservation:
    return SeriesObservation(series={"m": Series(TS, values, **kw)})  # type: ignore[arg-type]


def test_order_uses_the_claims_rate_and_shows_rate_times_worst_ratio() -> None:
    metric = 3.0 / TA
    ev = judge(_claim("order", rate=T ** sympy.Rational(-1, 2)), _series(metric))
    assert (ev.verdict, ev.code) == ("holds", "") and ev.extra["rule"]["rule"]["name"] == "growth"
    assert ev.claimed == pytest.approx((TA**-0.5 * ev.worst_ratio).tolist())
    bad = judge(_claim("order", rate=T**-2), _series(metric))
    assert bad.verdict == "violated", bad.reason
    # the observation's metric name, when given, wins over the claim's
    named = judge(_claim("order", rate=T**-1), SeriesObservation(series={"m": Series(TS, metric)}, metric="gap"))
    assert named.metric == "gap" and named.verdict == "holds"


def test_a_log_series_is_judged_against_the_symbolic_log_of_the_rate() -> None:
    """ln metric = -0.7 t reaches -7000 (e^-7000 underflows float64); the rate e^{-ct} takes c from the
    observation's constants, and ln rate is taken symbolically, so nothing underflows."""
    c = sympy.Symbol("c", positive=True)
    claim = _claim("order", rate=sympy.exp(-c * T))
    obs = SeriesObservation(series={"m": Series(TS, -0.7 * TA, log=True)}, consts={"c": 0.5})
    ev = judge(claim, obs)
    assert ev.verdict == "holds", ev.reason
    assert ev.observed[-1] == pytest.approx(-0.7 * 1e4 / math.log(10))  # shown in log10
    too_fast = dataclasses.replace(obs, consts={"c": 1.4})
    assert judge(claim, too_fast).verdict == "violated"
    with pytest.raises(ValueError, match="needs the constant"):
        judge(claim, dataclasses.replace(obs, consts={}))


def test_a_transient_end_needs_a_decade_after_it() -> None:
    ev = judge(_claim("order", rate=T**-1), _series(1.0 / TA, t0=2000))
    assert (ev.verdict, ev.code) == ("inconclusive", "horizon-too-short") and "transient" in ev.reason


def test_bound_claims_use_the_constant_and_the_series_rounding_bound() -> None:
    claim = _claim("bound", rate=sympy.Integer(1), constant=sympy.Symbol("B", positive=True))
    values = np.full(len(TS), 1.0)
    values[-1] = 1.0 + 1e-12
    obs = SeriesObservation(series={"m": Series(TS, values, error=np.full(len(TS), 1e-11))}, consts={"B": 1.0})
    ev = judge(claim, obs)
    assert ev.verdict == "holds" and ev.extra["rule"]["within_rounding"], ev.reason
    assert ev.extra["excess"][-1] == pytest.approx(1e-12) and ev.claimed == [1.0] * len(TS)
    tight = dataclasses.replace(obs, series={"m": Series(TS, values)})
    assert judge(claim, tight).verdict == "violated"
    nan = np.full(len(TS), 0.5)
    nan[3] = np.nan  # below the bound everywhere else: a NaN is not "within the bound"
    assert judge(claim, dataclasses.replace(obs, series={"m": Series(TS, nan)})).code == "non-finite"


def test_a_bound_at_high_precision_is_compared_at_that_precision() -> None:
    """0.1 + 2^-60 against the curve 1/10 at 40 digits: the excess (~8.7e-19) is seen, no float64 round trip."""
    import mpmath

    claim = _claim("bound", rate=sympy.Integer(1), constant=sympy.Rational(1, 10))
    with mpmath.workdps(40):
        vals = np.empty(3, dtype=object)
        vals[:] = [mpmath.mpf(1) / 10 + mpmath.mpf(2) ** -60] * 3
    ev = judge(claim, SeriesObservation(series={"m": Series([1, 2, 3], vals, dps=40)}))
    assert ev.verdict == "violated" and ev.extra["excess"][0] == pytest.approx(2.0**-60, rel=1e-6), ev.reason
    assert judge(claim, SeriesObservation(series={"m": Series([1, 2, 3], [0.1] * 3)})).verdict == "holds"


def _limit_parts(u_values: np.ndarray) -> SeriesObservation:
    return SeriesObservation(series={"W": Series(TS, 1.0 / TA), "u": Series(TS, u_values, witness=u_values)})


def test_several_series_of_one_claim_are_combined_all_of() -> None:
    limit = _claim("limit", rate=None)
    both = judge(limit, _limit_parts(1.0 / TA))
    assert both.verdict == "holds" and both.extra["rule"]["rule"] == ALL_OF, both.reason
    assert set(both.extra["parts"]) == {"W", "u"} and both.reason.startswith("W: ")
    stuck = judge(limit, _limit_parts(0.3 + 0.0 * TA))  # u plateaus: its own witness refutes its limit
    assert stuck.verdict == "violated" and stuck.extra["parts"]["u"]["verdict"] == "violated"
    assert stuck.observed == pytest.approx((1.0 / TA).tolist())  # the evidence shows the first series (W)


def test_a_witness_of_another_distance_is_checked_on_that_distance() -> None:
    limit = _claim("limit", rate=None)
    other = 0.5 + 1.0 / TA  # the distance the witness bounds: it stays above 0.4, although the metric decays
    obs = SeriesObservation(series={"m": Series(TS, 1.0 / TA, witness=other - 0.1, witness_of=other)})
    ev = judge(limit, obs)
    assert ev.verdict == "violated" and "lower bound (witness)" in ev.reason
    assert judge(limit, SeriesObservation(series={"m": Series(TS, 1.0 / TA)})).verdict == "holds"


def test_a_guard_only_turns_holds_into_inconclusive() -> None:
    order = _claim("order", rate=T**-1)
    good = dataclasses.replace(_series(1.0 / TA), guards={"away": Guard("away from q", {"q": 0.1})})
    assert judge(order, good).verdict == "holds"
    not_yet = dataclasses.replace(_series(1.0 / TA), guards={"away": Guard("away from q", {"q": -0.1})})
    ev = judge(order, not_yet)
    assert (ev.verdict, ev.code) == ("inconclusive", "undetermined") and "not established" in ev.reason
    none = dataclasses.replace(_series(1.0 / TA), guards={"away": Guard("away from q", {})})
    assert judge(order, none).verdict == "inconclusive"
    violated = dataclasses.replace(_series(1.0 / TA**0.2), guards={"away": Guard("away from q", {"q": -1.0})})
    assert judge(order, violated).verdict == "violated"


def test_a_side_condition_of_another_kind_decides_but_gives_no_figures() -> None:
    order = _claim("order", rate=T**-1)
    fine = IdentityObservation(lhs=[1.0, 2.0], rhs=[1.0, 2.0 + 1e-9], atol=1e-6)
    broken = IdentityObservation(lhs=[1.0, 2.0], rhs=[1.0, 2.5], atol=1e-6)
    base = _series(2.0 / TA)
    ok = judge(order, dataclasses.replace(base, parts={"identity": Part("identity", fine, "lhs = rhs")}))
    assert ok.verdict == "holds" and ok.worst_ratio == pytest.approx(2.0)
    bad = judge(order, dataclasses.replace(base, parts={"identity": Part("identity", broken, "lhs = rhs")}))
    assert bad.verdict == "violated" and bad.worst_ratio == pytest.approx(2.0)  # the order part's ratio, not 5e5
    assert bad.extra["parts"]["identity"]["verdict"] == "violated"
    proved = IdentityObservation(proved={"1d": True, "2d": False})
    sym = judge(order, dataclasses.replace(base, parts={"sym": Part("identity", proved, "proved")}))
    assert sym.verdict == "violated" and "not proved: ['2d']" in sym.reason
    bound = Part("bound", SeriesObservation(series={"rho": Series([1, 2], [0.5, 0.995])}, consts={"r": 0.99}),
                 "rho <= r", rate=sympy.Integer(1), constant=sympy.Symbol("r", positive=True))
    assert judge(order, dataclasses.replace(base, parts={"contraction": bound})).verdict == "violated"


def _cmp(a: list[float], b: list[float], **kw: object) -> ComparisonObservation:
    return ComparisonObservation(steps={"A": a, "B": b}, pairs=[("A", "B")], target="e <= 0.1", horizon=100,
                                 **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("a", "b", "kw", "params", "want"), [
    ([10.0], [20.0], {}, {}, ("holds", "")),
    ([20.0], [10.0], {}, {}, ("violated", "")),
    ([math.inf], [math.inf], {}, {}, ("inconclusive", "horizon-too-short")),
    ([10.0], [10.0], {}, {}, ("inconclusive", "undetermined")),  # one checkpoint: a tie it cannot resolve
    ([10.0], [10.0], {"exact": True}, {}, ("violated", "")),  # every step a checkpoint: not fewer steps
    ([10.0], [10.0], {}, {"strict": False}, ("holds", "")),  # "no later"
    ([20.0], [10.0], {"precise": {"A": False}}, {}, ("inconclusive", "precision-lost")),
    ([10.0, math.inf, 30.0], [20.0, math.inf, 40.0], {}, {}, ("holds", "")),  # the undecided sample is left out
    ([10.0, 50.0, 30.0], [20.0, 40.0, 40.0], {}, {"fraction": 0.6}, ("holds", "")),
    ([10.0, 50.0, 30.0], [20.0, 40.0, 40.0], {}, {}, ("violated", "")),
])
def test_comparison_rule(a: list[float], b: list[float], kw: dict, params: dict, want: tuple) -> None:
    claim = _claim("comparison", rate=None, params=params)
    ev = judge(claim, _cmp(a, b, **kw))
    assert (ev.verdict, ev.code) == want, ev.reason


def test_several_pairs_are_combined_and_the_worst_ratio_is_the_largest() -> None:
    claim = _claim("comparison", rate=None, params={})
    obs = ComparisonObservation(steps={"A": [10.0], "B": [20.0], "C": [40.0]}, pairs=[("A", "C"), ("B", "C")],
                                series={"A": Series([1, 2], [1.0, 0.5]), "C": Series([1, 2], [2.0, 1.0])})
    ev = judge(claim, obs)
    assert ev.verdict == "holds" and ev.worst_ratio == pytest.approx(0.5) and ev.extra["pair_verdicts"] == [
        "holds", "holds"]
    assert ev.observed == [1.0, 0.5] and ev.claimed == [2.0, 1.0]
    obs.steps["B"] = [math.inf]
    assert judge(claim, obs).verdict == "violated"


def test_probability_from_samples_and_from_draws() -> None:
    claim = _claim("probability", rate=T**-1, params={"delta": 0.25, "confidence": 0.95})
    ev = judge(claim, ProbabilityObservation(samples=[0.1] * 40 + [0.6], threshold=0.5))
    assert ev.verdict == "holds" and ev.worst_ratio == pytest.approx(1.2) and ev.t_worst == 40, ev.reason
    few = judge(claim, ProbabilityObservation(samples=[0.1, 0.6], threshold=0.5))
    assert (few.verdict, few.code) == ("inconclusive", "insufficient-data")
    good = [Series(TS, np.log(2.0 / TA), log=True)] * 16  # 16/16: Clopper-Pearson lower end 0.79 >= 0.75
    drawn = judge(claim, ProbabilityObservation(draws=good))
    assert drawn.verdict == "holds" and drawn.extra["holds"] == 16 and drawn.extra["violated"] == 0
    assert drawn.claimed == pytest.approx((-np.log(TA) / math.log(10)).tolist())  # the rate itself, in log10
    bad = [Series(TS, np.log(2.0 / TA**0.3), log=True)] * 16
    assert judge(claim, ProbabilityObservation(draws=bad)).verdict == "violated"


def test_the_vdt24_loss_claims_observe_the_decay_exponent_of_the_loss_gap() -> None:
    """vdt24.loss-ngd / -gd observe 1/lambda and lambda, lambda = -ln(L - L*) from the kernel's exact log gap."""
    from theorems.attention.claims import simulate

    inst = generate(2, 2, 5, seed=3, tokens="orthonormal")
    settings = Settings(steps=300)
    for cid, inverse in (("vdt24.loss-ngd", True), ("vdt24.loss-gd", False)):
        claim = vdt24.CLAIMS[cid]
        obs = claim.observe(inst, settings)
        assert isinstance(obs, SeriesObservation) and claim.rate is not None and claim.kind == "order"
        tr = simulate(inst, claim.method, settings, **{"eta": claim.params["eta"]})
        lam = -np.asarray(tr.series("log_loss_gap"), dtype=float)
        got = np.asarray(obs.series[claim.metric].values, dtype=float)
        assert got == pytest.approx(1.0 / lam if inverse else lam)
