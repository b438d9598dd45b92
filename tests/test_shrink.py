"""verify.shrink: a confirmed counterexample shrunk by its model's moves, each accepted step meeting the claim's
assumptions and confirmed again; moves whose result no longer violates (or breaks an assumption) are rejected.

The end-to-end test runs ``verify check example.gd-fast`` (the example plugin's deliberately false claim) on the
instance tests/test_plugins.py pins (n=3, T=5, d=15) in-process, under the quick profile."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "verify-example-plugin" / "src"))

from theorems.attention import classifier as ac  # noqa: E402
from theorems.attention.shrink import moves  # noqa: E402
from theorems.attention.strategies import generate  # noqa: E402
from verify import engine  # noqa: E402
from verify.profiles import PROFILES, claim_settings, get_profile  # noqa: E402
from verify.shrink import Move, shrink, size  # noqa: E402
from verify.verdicts import HOLDS, VIOLATED  # noqa: E402


@pytest.fixture(scope="module")
def example():  # type: ignore[no-untyped-def]
    from verify_example_plugin import MODULE

    return MODULE, MODULE.claims["example.gd-fast"]


def test_profiles_budget_shrinking() -> None:
    q, c, t = (PROFILES[n].shrink_evaluations for n in ("quick", "ci", "thorough"))
    assert 0 < q <= c < t


def test_attention_moves_are_smaller_and_valid() -> None:
    inst = generate(3, 5, 15, 2458, "orthonormal", 0.0)
    ms = list(moves(inst))
    names = [m.name for m in ms]
    assert names[0] == "keep-sequence" and "drop-token" in names and "round" in names
    for m in ms:
        assert size(m.instance) <= size(inst)
        assert ac.instance_from_json(json.loads(json.dumps(m.instance.to_json()))) == m.instance
        assert m.instance.meta["shrunk_from"] == inst.meta
    one = next(m.instance for m in ms if m.name == "keep-sequence")
    assert (one.n, one.T, one.d) == (1, 5, 5)  # the sequence alone, rewritten in its 5-dimensional span
    # the change of basis keeps every score and Gram entry
    np.testing.assert_allclose(ac.token_scores(one), ac.token_scores(inst)[[0]], atol=1e-12)
    G = np.einsum("td,sd->ts", one.X[0], one.X[0])
    np.testing.assert_allclose(G, np.einsum("td,sd->ts", inst.X[0], inst.X[0]), atol=1e-12)


def test_a_move_that_no_longer_violates_is_rejected(example) -> None:  # type: ignore[no-untyped-def]
    module, claim = example
    prof = get_profile("quick")
    st = engine.settings_for(module, claim_settings(prof, 0))
    inst = generate(3, 5, 15, 2458, "orthonormal", 0.0)
    a = engine.assess(module, claim, inst, st)
    assert a.verdict == VIOLATED
    two = ac.make_instance([[[1.0, 0.0], [0.0, 1.0]]], [1.0], [0.3, 0.6])  # T = 2: not violated (the metric vanishes)
    flat = ac.make_instance(np.ones((1, 3, 3)), [1.0], [0.3, 0.6, 0.1])  # equal tokens: assumptions fail
    offered = [Move("fake", "a smaller instance the claim is not violated on", two),
               Move("fake", "a smaller instance that breaks the assumptions", flat)]
    r = shrink(module, claim, a, st, prof, moves=lambda _: offered, robust=False)
    assert not r.shrunk and r.assessment is a and r.evaluations == 2
    assert len(r.rejected) == 2 and not r.rejected[0]["reason"].startswith(VIOLATED)
    assert "assumptions not met" in r.rejected[1]["reason"]
    assert shrink(module, claim, a, st, prof, moves=lambda _: offered, budget=1, robust=False).evaluations == 1


def test_check_reports_a_shrunk_confirmed_counterexample(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``verify check example.gd-fast`` on the pinned instance: the report keeps the original and adds the shrunk
    one, no larger in n, T and d, meeting every assumption, violated, confirmed and robust."""
    module, claim = example
    inst = generate(3, 5, 15, 2458, "orthonormal", 0.0)
    summary = engine.check(module, claim, get_profile("quick"), instance=inst, reports=tmp_path)
    assert summary.verdict == VIOLATED and len(summary.reports) == 1
    rep = json.loads(Path(summary.reports[0]).read_text())
    assert ac.instance_from_json(rep["instance"]) == inst  # the original stays
    sh = rep["shrunk"]
    small = ac.instance_from_json(sh["instance"])
    assert small.n <= inst.n and small.T <= inst.T and small.d <= inst.d
    assert small.n * small.T * small.d < inst.n * inst.T * inst.d and sh["moves"]
    assert 0 < sh["evaluations"] <= sh["budget"] == get_profile("quick").shrink_evaluations
    assert sh["evidence"]["verdict"] == VIOLATED
    assert all(r["verdict"] == HOLDS for r in sh["assumptions"] if r["role"] == "claim")
    assert engine.confirmed(sh["confirmation"])[0]
    assert sh["robustness"] and all(r["verdict"] == VIOLATED for r in sh["robustness"])
    assert sh["status"].startswith("confirmed counterexample (confirmed by")
    # the shrunk instance's own certification record: an order claim is asymptotic, so not certified, and says so
    assert sh["certified"] is False and sh["certificate"]["reason"].startswith("not certified: an order claim")
    assert small.meta["n"] == small.n and small.meta["T"] == small.T and small.meta["d"] == small.d
