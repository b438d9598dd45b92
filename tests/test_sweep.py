"""``verify sweep``: deterministic seeded instances, batched evaluation equal to the per-instance one, result
files written atomically, resumption, the executor interface, and the CLI contract."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.batch import prefill
from theorems.attention.strategies import generate
from theorems.vdt24 import CLAIMS, MODULE
from verify.cli import main
from verify.sweep import WorkUnit, draw_instances, instance_hash, run_unit, serial_executor, sweep
from verify.theory import Settings

CLAIM = "vdt24.ngd-rate"


def test_draw_instances_is_deterministic_and_meets_assumptions() -> None:
    a = draw_instances(MODULE.meets(CLAIM), 4, seed=3)
    b = draw_instances(MODULE.meets(CLAIM), 4, seed=3)
    c = draw_instances(MODULE.meets(CLAIM), 4, seed=4)
    assert [instance_hash(i) for i in a] == [instance_hash(i) for i in b]
    assert len({instance_hash(i) for i in a}) == 4  # distinct
    assert [instance_hash(i) for i in a] != [instance_hash(i) for i in c]


def test_batched_prefill_gives_the_per_instance_evidence() -> None:
    """Three instances of one shape through one batched trajectory: every instance's evidence equals the
    evidence of its own single-instance run (same verdict, same metric series to rounding)."""
    insts = [generate(2, 3, 8, seed=s, tokens="orthonormal") for s in range(3)]
    claim = CLAIMS[CLAIM]
    settings = Settings(steps=600)
    pre = prefill(claim, insts, settings)
    assert len(pre) == 3 and all(len(p) == 1 for p in pre)
    for inst, entries in zip(insts, pre, strict=True):
        single = claim.run(inst, settings, {})
        cache = dict(entries)
        batched = claim.run(inst, settings, cache)
        assert batched.verdict == single.verdict
        # float64 summation order can differ between a batch of 3 and a batch of 1 (BLAS blocking): the runs'
        # own per-step error estimate is ~1e-13 here, 600 steps -> <1e-10 relative; 1e-9 is generous.
        np.testing.assert_allclose(batched.observed, single.observed, rtol=1e-9, atol=1e-12)
        # the evaluator really reads the cache: a tampered cached trajectory changes the evidence
        key, slice_of_batch = next(iter(entries.items()))
        tr = slice_of_batch()  # the batch runs when the first instance reads its slice
        bad = dataclasses.replace(tr, records={**tr.records, "W": -tr.records["W"]})
        assert claim.run(inst, settings, {key: bad}).observed != batched.observed
        # and a different horizon is a different key (no stale hit)
        assert claim.run(inst, settings.but(steps=100), {key: bad}).t[-1] == 100


def test_work_units_pickle_for_a_distributed_executor() -> None:
    inst = generate(2, 2, 4, seed=0, tokens="orthonormal")
    u = WorkUnit(CLAIM, ("k",), (0,), (inst.to_json(),), Settings(steps=50), "quick")
    assert pickle.loads(pickle.dumps(u)) == u


def test_sweep_writes_results_resumes_and_uses_the_executor(tmp_path) -> None:
    calls: list[int] = []

    def recording_executor(fn, units):  # type: ignore[no-untyped-def]
        for u in units:
            calls.append(len(u.keys))
        return serial_executor(fn, units)

    s = sweep(CLAIM, 3, seed=1, results=tmp_path, quiet=True, executor=recording_executor)
    assert s.instances == 3 and s.ran == 3 and s.skipped == 0 and sum(calls) == 3
    files = sorted((tmp_path / "instances").glob("*.json"))
    assert len(files) == 3
    rows = [json.loads(f.read_text()) for f in files]
    assert {r["schema"] for r in rows} == {"verify-sweep-result/1"}
    assert sum(s.counts.values()) == 3
    assert all(r["verdict"] in ("holds", "violated", "inconclusive") for r in rows)
    assert all(r["assumptions"]["near_orthogonal"]["verdict"] == "holds" for r in rows)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["counts"] == s.counts and summary["schema"] == "verify-sweep-summary/1"
    # no temp files left behind (atomic writes)
    assert not list(tmp_path.rglob("*.tmp"))

    # another backend is another run: its results do not count as done
    assert all("-" in f.stem for f in files)
    # resumption: nothing re-run
    calls.clear()
    again = sweep(CLAIM, 3, seed=1, results=tmp_path, quiet=True, executor=recording_executor)
    assert again.ran == 0 and again.skipped == 3 and calls == [] and again.counts == s.counts
    # a damaged result file is redone
    files[0].write_text("{not json")
    fixed = sweep(CLAIM, 3, seed=1, results=tmp_path, quiet=True, executor=recording_executor)
    assert fixed.ran == 1 and fixed.skipped == 2


def test_run_unit_groups_one_shape(tmp_path) -> None:
    insts = [generate(2, 3, 8, seed=s, tokens="orthonormal") for s in range(2)]
    unit = WorkUnit(CLAIM, ("a", "b"), (0, 1), tuple(i.to_json() for i in insts), Settings(steps=300), "quick",
                    str(tmp_path / "reports"))
    out = run_unit(unit)
    assert [r["key"] for r in out] == ["a", "b"]
    assert all(r["batch"]["size"] == 2 for r in out)
    applicable = [r for r in out if r["verdict"] != "not-applicable"]
    assert all(r["batch"]["batched"] == len(applicable) for r in applicable)


def test_cli_sweep(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["sweep", CLAIM, "--instances", "2", "--results", str(tmp_path), "--quiet", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc in (0, 1) and out["instances"] == 2 and out["claim_id"] == CLAIM
    assert rc == (1 if out["confirmed"] else 0)


@pytest.mark.parametrize("argv", [
    ["sweep", CLAIM, "--instances", "0"],
    ["sweep", "no.such-claim", "--instances", "1"],
    ["sweep", CLAIM],
    ["sweep", CLAIM, "--instances", "1", "--backend", "jax"],
    ["sweep", CLAIM, "--instances", "1", "--batch-size", "0"],
])
def test_cli_sweep_bad_input_exits_2(argv: list[str], tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([*argv, "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_batch_is_ac_shaped() -> None:
    """A sweep unit stacks instances of one shape only (the kernels batch over a leading axis)."""
    with pytest.raises(Exception, match="one shape"):
        ac.stack([generate(2, 2, 4, seed=0, tokens="orthonormal"), generate(2, 3, 6, seed=0, tokens="orthonormal")])
