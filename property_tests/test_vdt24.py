"""Property suite for VDT24 (fixed-decoder NGD): every claim on instances meeting its assumptions, and the
meet / break strategies of every assumption."""

from __future__ import annotations

import pytest
from hypothesis import given

from property_tests.claim_suite import assert_breaks_exactly, assert_claim_holds, assert_meets
from theorems.vdt24 import CLAIMS, MODULE

CLAIM_IDS = sorted(CLAIMS)


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_claim_holds_on_instances_meeting_its_assumptions(claim_id: str) -> None:
    claim = CLAIMS[claim_id]

    @given(MODULE.meets(claim_id))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_claim_holds(MODULE, claim, instance)

    prop()


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_meets_strategy_meets_every_assumption(claim_id: str) -> None:
    @given(MODULE.meets(claim_id))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_meets(MODULE, CLAIMS[claim_id], instance)

    prop()


BREAKABLE = [(c, a) for c in CLAIM_IDS for a in CLAIMS[c].assumptions if MODULE.breaks(c, a) is not None]


@pytest.mark.parametrize(("claim_id", "assumption_id"), BREAKABLE)
def test_break_strategy_breaks_exactly_one(claim_id: str, assumption_id: str) -> None:
    @given(MODULE.breaks(claim_id, assumption_id))
    def prop(instance):  # type: ignore[no-untyped-def]
        assert_breaks_exactly(MODULE, CLAIMS[claim_id], assumption_id, instance)

    prop()


def test_unbreakable_assumptions_declare_why() -> None:
    for c in CLAIM_IDS:
        for a in CLAIMS[c].assumptions:
            if MODULE.breaks(c, a) is None:
                assert MODULE.assumptions[a].implied_by, f"{a} has no break strategy and no implied_by reason"
