"""The batched search of ``verify check`` and ``audit`` (verify.engine.search): when no outcome can steer
hypothesis, the instances are drawn first and evaluated together, and that gives what the one-by-one search gives."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy
from hypothesis import strategies as st

from theorems import vdt24
from theorems.attention.batch import prefill
from theorems.attention.strategies import generate
from verify import engine
from verify.observation import Series, SeriesObservation
from verify.profiles import PROFILES, claim_settings
from verify.registry import find_claim
from verify.sweep import instance_hash

QUICK = dataclasses.replace(PROFILES["quick"], confirm_mp_steps=50)


def _scored(claim, instance, settings, cache):  # type: ignore[no-untyped-def]
    """A planted bound observation whose worst ratio varies from instance to instance (explore's target())."""
    r = int(instance_hash(instance)[:6], 16) / 16**6
    return SeriesObservation(series={"m": Series([1, 2], [0.1, 0.9 * r])}, run={"backend": settings.backend})


@pytest.mark.parametrize("claim_id", ["vdt24.ngd-rate", "vdt24.loss-gd", "bias.adam-linf"])
@pytest.mark.parametrize("profile", ["quick", "ci"])
def test_an_outcome_blind_search_draws_what_explore_draws(claim_id: str, profile: str) -> None:
    """Drawn first (nothing evaluated) or inside explore with a target() score per instance: the same instances
    in the same order, as long as the search is outcome-blind (no shrinking, fewer examples than hypothesis's
    first targeting pass)."""
    module, claim = find_claim(claim_id)
    prof = PROFILES[profile]
    assert engine.outcome_blind(prof)
    planted = dataclasses.replace(claim, kind="bound", rate=sympy.Integer(1), constant=sympy.Integer(1),
                                  evaluate=_scored)
    settings = claim_settings(prof, 0)
    seen: list[str] = []

    def one(inst):  # type: ignore[no-untyped-def]
        seen.append(instance_hash(inst))
        return engine.assess(module, planted, inst, settings)

    explored = engine.explore(module.meets(claim.id), one, prof, seed=0)
    assert any(a.evidence is not None and a.evidence.worst_ratio for a in explored)  # target() was called
    drawn = [instance_hash(i) for i in engine.search_instances(module.meets(claim.id), prof, seed=0)]
    assert drawn == seen and len(drawn) == prof.max_examples


def test_the_thorough_profile_and_long_searches_stay_one_by_one() -> None:
    assert not engine.outcome_blind(PROFILES["thorough"])  # shrinking reads the outcome
    assert not engine.outcome_blind(PROFILES["ci"], engine.TARGET_PASS_AFTER)  # a targeting pass may run
    assert engine.outcome_blind(PROFILES["ci"], engine.TARGET_PASS_AFTER - 1)


def _two_shapes():  # type: ignore[no-untyped-def]
    """Near-orthogonal instances of two shapes, which the batch runner pads into one batch."""
    return st.tuples(st.sampled_from([(2, 3, 8), (3, 2, 8)]), st.integers(0, 10**6)).map(
        lambda p: generate(*p[0], seed=p[1], tokens="orthonormal"))


def _search_json(claim_id: str, blind: bool, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    module, claim = find_claim(claim_id)
    settings = engine.settings_for(module, claim_settings(QUICK, 0).but(steps=400))
    batched: list[int] = []
    prefill_caches = engine.prefill_caches

    def spy(*args):  # type: ignore[no-untyped-def]
        out = prefill_caches(*args)
        batched.append(out[0])
        return out

    with monkeypatch.context() as m:
        m.setattr(engine, "outcome_blind", lambda profile, max_examples=None: blind)
        m.setattr(engine, "prefill_caches", spy)
        results = engine.search(module, claim, _two_shapes(), settings, QUICK, max_examples=6)
    assert batched == ([6] if blind else [])  # every instance applicable here, and batched only when blind
    return [{"instance": instance_hash(a.instance), "verdict": a.verdict, "code": a.code, "status": a.status,
             "evidence": None if a.evidence is None else a.evidence.to_json()} for a in results]


@pytest.mark.parametrize("claim_id", ["vdt24.ngd-rate", "vdt24.loss-ngd"])
def test_a_batched_search_gives_the_one_by_one_verdicts_and_evidence(claim_id: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Six instances of two shapes: one padded batched trajectory against six single runs. Same instances,
    verdicts, codes and statuses; the evidence's figures agree to rounding (a padded batch may sum in another
    order than a single run)."""
    batched = _search_json(claim_id, True, monkeypatch)
    single = _search_json(claim_id, False, monkeypatch)
    assert [(b["instance"], b["verdict"], b["code"], b["status"]) for b in batched] == [
        (s["instance"], s["verdict"], s["code"], s["status"]) for s in single]
    for b, s in zip(batched, single, strict=True):
        assert (b["evidence"] is None) == (s["evidence"] is None)
        if b["evidence"] is not None:
            np.testing.assert_allclose(b["evidence"]["observed"], s["evidence"]["observed"], rtol=1e-12)


@pytest.mark.parametrize("representation,batches", [("gram", 1), ("dense", 2)])
def test_the_batch_runner_groups_instances_and_runs_on_first_use(representation: str, batches: int,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Mixed shapes: one padded float64 Gram run, or one dense run per shape, started when the first instance
    reads its trajectory; each instance's slice keeps its own shape."""
    from theorems.attention import batch

    claim = vdt24.CLAIMS["vdt24.ngd-rate"]
    insts = [generate(2, 3, 8, seed=0, tokens="orthonormal"), generate(3, 2, 6, seed=1, tokens="orthonormal"),
             generate(2, 3, 8, seed=2, tokens="orthonormal")]
    settings = claim_settings(QUICK, 0).but(steps=50, representation=representation)
    runs: list[int] = []
    real_run = batch.run

    def counting_run(problem, *args):  # type: ignore[no-untyped-def]
        runs.append(1)
        return real_run(problem, *args)

    monkeypatch.setattr(batch, "run", counting_run)
    pre = prefill(claim, insts, settings)
    assert all(len(p) == 1 for p in pre) and runs == []  # nothing runs before a claim asks
    trs = [next(iter(entries.values()))() for entries in pre]
    assert len(runs) == batches  # whichever instance asked first
    for inst, tr in zip(insts, trs, strict=True):
        assert tr.records["W"].shape[-2:] == (inst.d, inst.d) and tr.precision_ok.shape[1] == 1


def _planted_ngd_bound(seen: list[tuple[str, bool]]):  # type: ignore[no-untyped-def]
    """vdt24.ngd-rate with a planted bound observation: violated on the n = 2 instances only; ``seen`` records,
    per evaluation, the instance and whether its cache held a batched trajectory."""
    from theorems.attention.claims import simulate
    from verify.model import trajectory_cache_key

    module, claim = find_claim("vdt24.ngd-rate")

    def planted(claim, inst, settings, cache):  # type: ignore[no-untyped-def]
        seen.append((instance_hash(inst), trajectory_cache_key("ngd", {"eta": claim.params.get("eta", 0.1)},
                                                               settings) in cache))
        tr = simulate(inst, "ngd", settings, cache=cache, eta=claim.params.get("eta", 0.1))
        top = 2.0 if inst.n == 2 else 0.5  # violated (above the planted bound 1) on the n = 2 instances only
        return SeriesObservation(series={"m": Series([1, 2], [0.1, top])}, run={"steps": tr.t[-1]})

    bound = dataclasses.replace(claim, kind="bound", rate=sympy.Integer(1), constant=sympy.Integer(1),
                                evaluate=planted)
    return module, bound


def test_a_candidate_from_a_batch_is_assessed_again_on_its_own_run() -> None:
    """A violation seen on a batch's trajectory is re-assessed without the batch entry (the single run a replay
    repeats); an instance that holds keeps its batched evaluation."""
    seen: list[tuple[str, bool]] = []
    module, bound = _planted_ngd_bound(seen)
    insts = [generate(2, 3, 8, seed=s, tokens="orthonormal") for s in range(2)] + [
        generate(3, 2, 8, seed=5, tokens="orthonormal")]
    settings = engine.settings_for(module, claim_settings(QUICK, 0).but(steps=50))
    results = engine.assess_all(module, bound, insts, settings)
    assert [a.verdict for a in results] == ["violated", "violated", "holds"]
    h = [instance_hash(i) for i in insts]
    assert seen == [(h[0], True), (h[0], False), (h[1], True), (h[1], False), (h[2], True)]


@pytest.mark.parametrize("runner", ["sweep", "map"])
def test_sweep_and_map_units_assess_a_batched_candidate_on_its_own_run(runner: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """verify sweep and verify map batch a work unit (one shape) and, like check, judge a candidate violation on
    the instance's own run: the evidence a report carries is the run that ``verify replay`` repeats."""
    from verify import map as vmap
    from verify import registry, sweep

    seen: list[tuple[str, bool]] = []
    module, bound = _planted_ngd_bound(seen)
    monkeypatch.setattr(registry, "find_claim", lambda cid: (module, bound))
    monkeypatch.setattr(engine, "finalize", lambda *a, **k: None)  # confirmation is not what this tests
    insts = [generate(2, 3, 8, seed=s, tokens="orthonormal") for s in range(3)]
    settings = engine.settings_for(module, claim_settings(QUICK, 0).but(steps=50))
    unit = sweep.WorkUnit(bound.id, ("a", "b", "c"), (0, 1, 2), tuple(i.to_json() for i in insts), settings,
                          "quick")
    rows = (sweep.run_unit if runner == "sweep" else vmap.run_map_unit)(unit)
    assert [r["verdict"] for r in rows] == ["violated"] * 3
    assert all(r["batch"]["batched"] == 3 and r["batch"]["note"] == "" for r in rows)
    h = [instance_hash(module.load_instance(i.to_json())) for i in insts]
    assert seen == [(x, batched) for x in h for batched in (True, False)]


def test_a_slice_of_a_batched_run_keeps_only_its_own_notes() -> None:
    from verify.methods import make_rule
    from verify.trajectory import Trajectory

    tr = Trajectory(t=[0], records={}, precision_ok=np.ones((1, 3), bool), max_rel_error=np.zeros((1, 3)),
                    backend="numpy", dps=15, rule=make_rule("ngd", eta=0.1), notes=["batch-wide", "stuck"],
                    note_for=[None, np.array([False, True, False])])
    assert tr.take(0).notes == ["batch-wide"] and tr.take(1).notes == ["batch-wide", "stuck"]
