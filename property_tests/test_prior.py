"""Property suite for PRIOR (plain GD): both claims on instances meeting their assumptions, and the meet /
break strategies of every assumption. GD runs are cheap, but the strategies solve one or two certified SVMs
per draw and the local claim's strategy filters about 4 of 5 draws, so the budgets are below the profile's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from property_tests.claim_suite import assert_breaks_exactly, assert_claim_holds, assert_meets, withdrawn_case
from theorems.prior import CLAIMS, MODULE

CLAIM_IDS = sorted(CLAIMS)
BUDGET = 3


def _limited() -> settings:
    return settings(max_examples=min(settings().max_examples, BUDGET))


HOLDS_IDS = CLAIM_IDS  # no claim has a confirmed, robust counterexample: every one is searched


def test_the_withdrawn_gd_local_finding_depends_on_the_cone_radius() -> None:
    """prior.gd-local was published as violated at our reconstructed cone radius R = 1.05 ||W_mm(alpha)||. PRIOR's
    theorem holds "for R large enough": scaling the same start direction to R = 3 or 10, the claim is no longer
    violated, so the candidate is reconstruction-dependent and refutes nothing."""
    from theorems.attention.classifier import instance_from_json
    from verify.engine import robustness

    case, settings = withdrawn_case("prior.gd-local")
    claim, inst = CLAIMS["prior.gd-local"], instance_from_json(case["instance"])
    ev = claim.run(inst, settings, {})
    assert ev.verdict == "violated", ev.reason  # at the default reading the base horizon still looks violated
    rows = {(r["name"], r["value"]): r for r in robustness(MODULE, claim, inst, settings, ev)}
    assert rows[("R", 1.0)]["verdict"] == "violated"
    assert rows[("R", 3.0)]["verdict"] != "violated" and rows[("R", 10.0)]["verdict"] != "violated", rows


@pytest.mark.parametrize("claim_id", HOLDS_IDS)
def test_claim_holds_on_instances_meeting_its_assumptions(claim_id: str) -> None:
    claim = CLAIMS[claim_id]

    @_limited()
    @given(MODULE.meets(claim_id))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_claim_holds(MODULE, claim, instance)

    prop()


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_meets_strategy_meets_every_assumption(claim_id: str) -> None:
    @_limited()
    @given(MODULE.meets(claim_id))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_meets(MODULE, CLAIMS[claim_id], instance)

    prop()


BREAKABLE = [(c, a) for c in CLAIM_IDS for a in CLAIMS[c].assumptions if MODULE.breaks(c, a) is not None]


@pytest.mark.parametrize(("claim_id", "assumption_id"), BREAKABLE)
def test_break_strategy_breaks_exactly_one(claim_id: str, assumption_id: str) -> None:
    @_limited()
    @given(MODULE.breaks(claim_id, assumption_id))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_breaks_exactly(MODULE, CLAIMS[claim_id], assumption_id, instance)

    prop()


def test_unbreakable_assumptions_declare_why() -> None:
    for c in CLAIM_IDS:
        for a in CLAIMS[c].assumptions:
            if MODULE.breaks(c, a) is None:
                assert MODULE.assumptions[a].implied_by, f"{a} has no break strategy and no implied_by reason"


def test_uniform_generator_equalizes_scores_exactly_enough() -> None:
    """The projection leaves a spread of a few ulps, far inside the predicate's 1e-9 tolerance, and a
    generic draw is far outside it (so the predicate separates the two)."""
    import numpy as np

    from theorems.attention import classifier as ac
    from theorems.attention.strategies import generate, make_uniform

    base = generate(5, 4, 5, seed=7, tokens="gaussian")
    for inst, lo, hi in ((make_uniform(base), 0.0, 1e-14), (base, 1e-3, np.inf)):
        g, opt = ac.token_scores(inst), ac.optimal_tokens(inst)
        spread = max(float(np.ptp(np.delete(g[i], opt[i]))) for i in range(inst.n))
        assert lo <= spread <= hi
