"""Property suite for VDT24: every claim on instances meeting its assumptions, and the meet / break strategies
of every assumption; plus the comparison claims' pairing property.

Example budgets: a claim's evaluation costs one to three full runs (comparisons and the loss claim three
methods, the probability claim a batch of ``draws`` DM draws), so the costly ones run fewer examples than the
profile's default (``BUDGET``; never more than the profile allows). The thorough profile and
``verify check --profile thorough`` are where many instances are explored.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings

from property_tests.claim_suite import (
    assert_breaks_exactly,
    assert_claim_holds,
    assert_meets,
    claim_settings_for_tests,
    withdrawn_case,
)
from theorems.vdt24 import CLAIMS, MODULE

CLAIM_IDS = sorted(CLAIMS)

BUDGET = {"vdt24.ps-rate": 3, "vdt24.ps-faster": 3, "vdt24.beats-gd": 2, "vdt24.sparsity": 3, "vdt24.loss": 2,
          "vdt24.joint-dir": 2, "vdt24.joint-u": 2, "vdt24.joint-loss": 1}
STRATEGY_BUDGET = 5  # meets/breaks checks of the claims added with the joint and comparison kinds


def _limited(claim_id: str, budget: dict[str, int]) -> settings:
    """The profile's settings with max_examples capped at the claim's budget (if it has one)."""
    cap = settings().max_examples
    return settings(max_examples=min(cap, budget[claim_id]) if claim_id in budget else cap)


def test_the_withdrawn_joint_dir_finding_is_growth_decelerating_on_its_committed_report() -> None:
    """vdt24.joint-dir's withdrawn "counterexample" (joint normalization; tests/data/withdrawn) re-runs to the
    same numbers, but the ratio to 1/log t grows with a slope in ln ln t that falls segment by segment: a bounded
    ratio is not excluded, so the honest verdict is inconclusive (growth-decelerating), never violated."""
    from theorems.attention.classifier import instance_from_json

    case, settings = withdrawn_case("vdt24.joint-dir")
    ev = CLAIMS["vdt24.joint-dir"].run(instance_from_json(case["instance"]), settings, {})
    # the same numbers (to 1e-12: the kernel's summation order has changed since the report was written, by
    # ~1e-15 relative; bit-for-bit reproduction is replay's test), judged by the new rule
    assert ev.observed == pytest.approx(case["observed"], rel=1e-12)
    assert (ev.verdict, ev.code) == ("inconclusive", "growth-decelerating"), ev.reason
    segs = ev.extra["rule"]["segments"]
    assert segs[-2]["slope"] > segs[-1]["slope"] > 0.05 and ev.extra["rule"]["deceleration"] > 0


def test_joint_dir_holds_with_per_block_normalization() -> None:
    """The same claim with PRIOR's per-block normalization: no violation on DM draws."""
    claim = dataclasses.replace(CLAIMS["vdt24.joint-dir"],
                                params={**CLAIMS["vdt24.joint-dir"].params, "normalize": "block"})

    @_limited("vdt24.joint-dir", BUDGET)
    @given(MODULE.meets("vdt24.joint-dir"))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_claim_holds(MODULE, claim, instance)

    prop()


HOLDS_IDS = CLAIM_IDS  # no claim has a confirmed, robust counterexample: every one is searched


@pytest.mark.parametrize("claim_id", HOLDS_IDS)
def test_claim_holds_on_instances_meeting_its_assumptions(claim_id: str) -> None:
    claim = CLAIMS[claim_id]

    @_limited(claim_id, BUDGET)
    @given(MODULE.meets(claim_id))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_claim_holds(MODULE, claim, instance)

    prop()


NEW = {c for c in CLAIM_IDS if c not in ("vdt24.global", "vdt24.ngd-rate")}


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_meets_strategy_meets_every_assumption(claim_id: str) -> None:
    @_limited(claim_id, {c: STRATEGY_BUDGET for c in NEW})
    @given(MODULE.meets(claim_id))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_meets(MODULE, CLAIMS[claim_id], instance)

    prop()


# Fixed-decoder claims share one assumption set and strategies: their break strategies are tested once, on
# vdt24.global; the joint claims share JOINT and are tested once, on vdt24.joint-dir.
REPRESENTATIVES = ("vdt24.global", "vdt24.joint-dir")
BREAKABLE = [(c, a) for c in REPRESENTATIVES for a in CLAIMS[c].assumptions if MODULE.breaks(c, a) is not None]


@pytest.mark.parametrize(("claim_id", "assumption_id"), BREAKABLE)
def test_break_strategy_breaks_exactly_one(claim_id: str, assumption_id: str) -> None:
    @_limited(claim_id, {c: STRATEGY_BUDGET for c in NEW})
    @given(MODULE.breaks(claim_id, assumption_id))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_breaks_exactly(MODULE, CLAIMS[claim_id], assumption_id, instance)

    prop()


def test_claims_sharing_assumptions_share_strategies() -> None:
    """The representatives above stand for every claim with the same assumption tuple (same strategies)."""
    for c in CLAIM_IDS:
        rep = next(r for r in REPRESENTATIVES if CLAIMS[r].assumptions == CLAIMS[c].assumptions)
        for a in CLAIMS[c].assumptions:
            assert (MODULE.breaks(c, a) is None) == (MODULE.breaks(rep, a) is None)


def test_unbreakable_assumptions_declare_why() -> None:
    for c in CLAIM_IDS:
        for a in CLAIMS[c].assumptions:
            if MODULE.breaks(c, a) is None:
                assert MODULE.assumptions[a].implied_by, f"{a} has no break strategy and no implied_by reason"


@pytest.mark.parametrize("claim_id", ["vdt24.ps-faster", "vdt24.beats-gd"])
def test_comparison_runs_both_methods_on_identical_instances_and_settings(claim_id: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A comparison claim must pair its runs: every method sees the same instance object and the same settings
    (hence the same horizon, backend, precision and seed), and the evidence records that."""
    import theorems.attention.claims as acl
    from theorems.vdt24 import near_orthogonal_instances

    seen: list[tuple] = []
    real = acl.simulate

    def spy(inst, method, s, checkpoints=None, **params):  # type: ignore[no-untyped-def]
        seen.append((id(inst), inst.to_json(), s, tuple(checkpoints or ()), method))
        return real(inst, method, s, checkpoints, **params)

    monkeypatch.setattr(acl, "simulate", spy)
    claim = CLAIMS[claim_id]

    @settings(max_examples=1)
    @given(near_orthogonal_instances())
    def prop(instance):  # type: ignore[no-untyped-def]
        seen.clear()
        ev = claim.run(instance, claim_settings_for_tests().but(steps=300), {})
        methods = {m for pair in claim.params["pairs"] for m in pair}
        assert {x[4] for x in seen} == methods and len(seen) == len(methods)
        assert len({x[0] for x in seen}) == 1 and all(x[1] == seen[0][1] for x in seen)
        assert all(x[2] == seen[0][2] and x[3] == seen[0][3] for x in seen)
        runs = ev.extra["runs"]
        assert len({r["instance"] for r in runs.values()}) == 1
        assert all(r["settings"] == runs[next(iter(runs))]["settings"] for r in runs.values())
        assert ev.extra["pair_verdicts"] and ev.verdict in ("holds", "violated", "inconclusive")

    prop()
