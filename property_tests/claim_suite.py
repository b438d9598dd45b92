"""Reusable property checks for any theorem module (used by the per-module suites in this folder).

- ``assert_claim_holds``: assess a claim on an instance meeting its assumptions; a candidate violation goes
  through the engine's own judgement (:func:`verify.engine.finalize`: the confirmations that apply, then every
  declared reading of the reconstructed constants), and one that survives fails the test with its evidence,
  because a paper's claim failing on data that meets its assumptions is a finding, not noise.
- ``assert_meets`` / ``assert_breaks_exactly``: the strategies really meet / break what they say.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import target

from verify.engine import assess, assumption_table, finalize
from verify.profiles import get_profile
from verify.theory import ERROR, FAILS, HOLDS, VIOLATED, Claim, TheoremModule


def profile_name() -> str:
    return os.environ.get("HYPOTHESIS_PROFILE", "quick")


def claim_settings_for_tests() -> Any:
    from verify.profiles import claim_settings

    return claim_settings(get_profile(profile_name()))


def assert_claim_holds(module: TheoremModule, claim: Claim, instance: Any) -> None:
    settings = claim_settings_for_tests()
    a = assess(module, claim, instance, settings)
    failing = [r["id"] for r in a.assumptions if r["role"] == "claim" and r["verdict"] != HOLDS]
    assert not failing, f"strategy produced an instance that does not meet {failing}"
    ev = a.evidence
    assert ev is not None, a.status
    score = ev.worst_ratio if ev.worst_ratio is not None else (ev.observed[-1] if ev.observed else None)
    if score is not None and np.isfinite(score):
        target(float(score), label="worst ratio or final metric")
    assert a.verdict != ERROR, a.status
    if a.verdict == VIOLATED:
        finalize(module, claim, a, settings, get_profile(profile_name()), None, settings.seed)
        assert a.verdict != VIOLATED, (
            f"FINDING: {claim.id} is violated on an instance meeting its assumptions: {ev.reason}; {a.status}; "
            f"confirmation: {[(r['kind'], r['reason']) for r in a.confirmation]}; instance meta {instance.meta}")


def assert_meets(module: TheoremModule, claim: Claim, instance: Any) -> None:
    rows = assumption_table(module, claim, instance, {})
    bad = [(r["id"], r["verdict"], r["slack"]) for r in rows if r["role"] == "claim" and r["verdict"] != HOLDS]
    assert not bad, f"meets-strategy instance fails {bad}"
    assert all(r["slack"] >= 0 for r in rows if r["role"] == "claim")


def assert_breaks_exactly(module: TheoremModule, claim: Claim, assumption_id: str, instance: Any) -> None:
    rows = {r["id"]: r for r in assumption_table(module, claim, instance, {}) if r["role"] == "claim"}
    assert rows[assumption_id]["verdict"] == FAILS and rows[assumption_id]["slack"] < 0, rows[assumption_id]
    others = [(k, r["verdict"]) for k, r in rows.items() if k != assumption_id and r["verdict"] != HOLDS]
    assert not others, f"breaking {assumption_id} also broke {others}"


WITHDRAWN = Path(__file__).resolve().parents[1] / "tests" / "data" / "withdrawn"
"""Instances and settings of findings published earlier and withdrawn after re-derivation (one JSON per claim)."""


def withdrawn_case(claim_id: str) -> tuple[dict, Any]:
    """(the recorded case, its Settings) for a withdrawn finding of ``claim_id``."""
    import json

    from verify.theory import Settings

    case = json.loads((WITHDRAWN / f"{claim_id}.json").read_text())
    fields = {k: v for k, v in case["settings"].items() if k in Settings.__dataclass_fields__}
    return case, Settings(**fields)
