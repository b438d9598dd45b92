"""What every property suite in this folder runs on its theorem module, in one place.

- :func:`claim_test`: every claim assessed on instances meeting its assumptions (``claim_examples`` of the
  profile per claim). A candidate violation goes through the engine's own judgement
  (:func:`verify.engine.finalize`: the confirmations that apply, then every declared reading of the reconstructed
  constants), and one that survives fails the test with its evidence: a paper's claim failing on data that meets
  its assumptions is a finding, not noise. The first assessment of each claim also makes the replay round trip.
- :func:`strategy_test`: the strategies meet / break what they say, through :mod:`verify.conformance`
  (``check_meets_strategies``, ``check_break_strategies``) at the profile's ``property_examples`` per strategy.
- :func:`replay_round_trip`: the one replay helper: an assessment's report, written as JSON and replayed by
  :func:`verify.replay.replay`, must reproduce every recorded field. :func:`replay_recorded` runs it on the
  recorded instances of withdrawn findings (tests/data/withdrawn) after checking they re-run to the recorded series.

Every budget comes from the profile table (:data:`verify.profiles.PROFILES`, docs/profiles.md), selected by
``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, target

from verify import conformance as cf
from verify.engine import Assessment, assess, build_report, finalize
from verify.instance import dumps
from verify.profiles import active_profile, claim_settings, hypothesis_settings
from verify.replay import ReplayResult, replay
from verify.theory import ERROR, HOLDS, VIOLATED, Claim, Settings, TheoremModule

PROFILE = active_profile()

RECORDED_RTOL = 1e-12
"""How close a recorded case's metric series must come back: the kernels' summation order has changed since the
withdrawn reports were written, by ~1e-15 relative per step (measured: 9e-16 for vdt24.joint-dir, 3e-16 for
prior.gd-local, 4e-13 for md.rate after 3000 mirror steps). Bit-for-bit reproduction of a report written by the
installed code is :func:`replay_round_trip`'s test."""


def claim_budget() -> Any:
    """Hypothesis settings for a property whose example is a claim evaluation: ``claim_examples`` draws."""
    return hypothesis_settings(PROFILE, PROFILE.claim_examples)


def claim_settings_for_tests() -> Settings:
    return claim_settings(PROFILE)


def replay_round_trip(module: TheoremModule, claim: Claim, a: Assessment, settings: Settings) -> ReplayResult:
    """Write ``a``'s report (the JSON :func:`verify.engine.build_report` makes) and replay it: the replay must
    reproduce every recorded field (verdict, evidence, series, assumption verdicts) exactly."""
    assert a.evidence is not None, a.status
    report = build_report(module, claim, a, settings, settings.seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.json"
        path.write_text(dumps(report) + "\n")
        result = replay(str(path))
    assert result.reproduced, (f"{claim.id}: its report does not replay exactly ({', '.join(result.differences)}): "
                               + "; ".join(result.lines))
    return result


def assert_claim_holds(module: TheoremModule, claim: Claim, instance: Any, *, replay_it: bool = False) -> Assessment:
    """Assess ``claim`` on ``instance`` (which must meet its assumptions); fail on an error, or on a candidate
    violation that survives confirmation and every reading of the reconstructions. With ``replay_it`` the
    assessment's report makes the replay round trip first."""
    settings = claim_settings_for_tests()
    a = assess(module, claim, instance, settings)
    failing = [r["id"] for r in a.assumptions if r["role"] == "claim" and r["verdict"] != HOLDS]
    assert not failing, f"meets({claim.id!r}) produced an instance that does not meet {failing}"
    assert a.verdict != ERROR, a.status
    ev = a.evidence
    assert ev is not None, a.status
    score = ev.worst_ratio if ev.worst_ratio is not None else (ev.observed[-1] if ev.observed else None)
    if score is not None and np.isfinite(score):
        target(float(score), label="worst ratio or final metric")
    if replay_it:
        replay_round_trip(module, claim, a, settings)
    if a.verdict == VIOLATED:
        finalize(module, claim, a, settings, PROFILE, None, settings.seed)
        assert a.verdict != VIOLATED, (
            f"FINDING: {claim.id} is violated on an instance meeting its assumptions: {ev.reason}; {a.status}; "
            f"confirmation: {[(r['kind'], r['reason']) for r in a.confirmation]}; "
            f"readings: {[(r['name'], r['value'], r['verdict']) for r in a.robustness]}; instance meta "
            f"{getattr(instance, 'meta', None)}")
    return a


def search_claim(module: TheoremModule, claim: Claim, strategy: Any = None) -> list[Assessment]:
    """:func:`assert_claim_holds` on ``claim_examples`` instances drawn from ``strategy`` (default
    ``meets(claim)``); the first one also makes the replay round trip. Returns the assessments."""
    seen: list[Assessment] = []

    @claim_budget()
    @given(module.meets(claim.id) if strategy is None else strategy)
    def prop(instance: Any) -> None:
        seen.append(assert_claim_holds(module, claim, instance, replay_it=not seen))

    prop()
    assert seen, f"{claim.id}: no instance was assessed"
    return seen


def claim_test(module: TheoremModule, claims: Iterable[str] | None = None) -> Callable[[str], None]:
    """``test_claim_holds_on_instances_meeting_its_assumptions``, parametrized over the module's claims."""
    ids = sorted(module.claims if claims is None else claims)

    @pytest.mark.parametrize("claim_id", ids)
    def test_claim_holds_on_instances_meeting_its_assumptions(claim_id: str) -> None:
        search_claim(module, module.claims[claim_id])

    return test_claim_holds_on_instances_meeting_its_assumptions


def strategy_test(module: TheoremModule) -> Callable[[TheoremModule, Callable[[TheoremModule], None]], None]:
    """The conformance checks of the module's strategies, at ``property_examples`` instances per strategy."""

    @cf.parametrize_with_checks([module], checks=cf.STRATEGY_CHECKS, examples=PROFILE.property_examples)
    def test_strategies_meet_and_break_what_they_say(module: TheoremModule,
                                                     check: Callable[[TheoremModule], None]) -> None:
        check(module)

    return test_strategies_meet_and_break_what_they_say


WITHDRAWN = Path(__file__).resolve().parents[1] / "tests" / "data" / "withdrawn"
"""Instances and settings of findings published earlier and withdrawn after re-derivation (one JSON per claim)."""


def replay_recorded(claim_id: str) -> tuple[TheoremModule, Claim, Assessment, Settings]:
    """Re-assess a withdrawn finding on its recorded instance and settings: the instance still meets the claim's
    assumptions, the metric series comes back (same checkpoints, values to :data:`RECORDED_RTOL`), and the new
    assessment makes the replay round trip. Returns (module, claim, assessment, settings)."""
    from verify.registry import find_claim

    case = json.loads((WITHDRAWN / f"{claim_id}.json").read_text())
    settings = Settings(**{k: v for k, v in case["settings"].items() if k in Settings.__dataclass_fields__})
    module, claim = find_claim(claim_id)
    a = assess(module, claim, module.load_instance(case["instance"]), settings)
    ev = a.evidence
    assert ev is not None, a.status
    assert ev.t == case["t"], "the recorded checkpoints changed"
    np.testing.assert_allclose(ev.observed, case["observed"], rtol=RECORDED_RTOL, atol=0)
    replay_round_trip(module, claim, a, settings)
    return module, claim, a, settings
