"""Planted claims of known truth about NGD on the attention classifier, run through ``verify check`` in process.

A small TheoremModule is built here from the attention model's existing pieces (VDT24's assumptions and
evaluators) and patched into the registry:

- ``planted.ngd-t2`` (false): NGD's direction error is O(t^-2); it is about t^-1, so the ratio grows like t;
- ``planted.ngd-log`` (true): the same error is O(1/log t);
- ``planted.norm-bound`` (true, exact): ||W_t||_F <= eta t + ||W_0||_F under NGD (each step has length eta),
  with equality at t = 1 up to rounding; never violated, at float64 or at 30 digits.

The assertions read the verdicts in ``--json`` output, not the exit code (its meaning is the engine's).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import sympy
from hypothesis import strategies as st

from theorems import vdt24
from theorems.attention import MODEL as ATTENTION
from theorems.attention import classifier as ac
from theorems.attention.bounds import evaluate_norm_bound
from theorems.attention.claims import evaluate_direction_order
from theorems.attention.strategies import generate
from verify import profiles, registry
from verify.cli import main
from verify.provenance import prov
from verify.theory import Claim, Settings, TheoremModule

T = sympy.Symbol("t", positive=True)
ETA = sympy.Symbol("eta", positive=True)
W0 = sympy.Symbol("norm_W0", positive=True)


def _small_instances() -> list[ac.AttentionInstance]:
    out = []
    for seed in range(12):
        inst = generate(2, 2, 5, seed=seed, tokens="orthonormal", init_scale=(0.0, 1.0)[seed % 2])
        cache: dict = {}
        if all(vdt24.ASSUMPTIONS[a].check(inst, cache).verdict == "holds" for a in vdt24.CORE):
            out.append(inst)
    return out[:4]


INSTANCES = _small_instances()


def _claim(cid: str, kind: str, evaluate, **kw) -> Claim:
    return Claim(id=cid, title=cid, statement=f"planted: {cid}", kind=kind, paper="PLANTED",
                 provenance=prov("derived", note="planted in tests/test_planted.py"), assumptions=vdt24.CORE,
                 method="ngd", metric=kw.pop("metric", "dir_err"), evaluate=evaluate, **kw)


CLAIMS = {c.id: c for c in (
    _claim("planted.ngd-t2", "order", evaluate_direction_order, rate=T**-2, params={"eta": 0.1, "decades": 2}),
    _claim("planted.ngd-log", "order", evaluate_direction_order, rate=1 / sympy.log(T),
           params={"eta": 0.1, "decades": 2}),
    _claim("planted.norm-bound", "bound", evaluate_norm_bound, metric="norm", rate=sympy.Integer(1),
           constant=ETA * T + W0, params={"eta": 0.1}),
)}

MODULE = TheoremModule(
    key="planted", reference=dataclasses.replace(vdt24.REFERENCE, key="PLANTED"), summary="planted claims",
    assumptions=vdt24.ASSUMPTIONS, claims=CLAIMS, meets=lambda cid: st.sampled_from(INSTANCES),
    breaks=lambda cid, aid: None, model=ATTENTION)


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    found = dict(registry.modules())
    found["planted"] = MODULE
    monkeypatch.setattr(registry, "modules", lambda: found)
    # the quick profile with a short mpmath confirmation, so each test stays at a few seconds
    quick = dataclasses.replace(profiles.PROFILES["quick"], confirm_mp_steps=60, steps=1000)
    monkeypatch.setitem(profiles.PROFILES, "quick", quick)


def _check(cid: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> dict:
    main(["check", cid, "--profile", "quick", "--quiet", "--json", "--reports", str(tmp_path)])
    out = capsys.readouterr().out
    rows = json.loads(out)
    (row,) = [r for r in rows if r["claim_id"] == cid]
    return row


def test_the_planted_instances_meet_the_assumptions() -> None:
    assert len(INSTANCES) >= 3


def test_a_false_t_minus_2_rate_is_violated(planted: None, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    row = _check("planted.ngd-t2", tmp_path, capsys)
    assert row["verdict"] == "violated", row
    assert row["reports"], row
    rep = json.loads(Path(row["reports"][0]).read_text())
    assert rep["evidence"]["extra"]["rule"]["rule"]["name"] == "growth"
    assert rep["evidence"]["exponent"] == pytest.approx(-1.0, abs=0.15)  # e ~ t^-1: the ratio to t^-2 grows like t


def test_a_true_1_over_log_t_rate_is_not_violated(planted: None, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    row = _check("planted.ngd-log", tmp_path, capsys)
    assert row["verdict"] == "holds" and row["counts"] == {"holds": row["tried"]}, row


def test_the_exact_norm_bound_is_never_violated(planted: None, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    row = _check("planted.norm-bound", tmp_path, capsys)
    assert row["verdict"] == "holds" and "violated" not in row["counts"], row


@pytest.mark.parametrize("backend", ["numpy", "mpmath"])
def test_the_exact_norm_bound_holds_to_rounding_at_t_1(backend: str) -> None:
    """Equality at t = 1 (||W_1|| = eta up to rounding): the excess, if any, is within the run's error bound,
    in float64 and in the 30-digit confirmation run, which compares in its own precision."""
    claim = CLAIMS["planted.norm-bound"]
    settings = Settings(steps=60, backend=backend, dps=30)
    for inst in INSTANCES[:2]:
        ev = claim.run(inst, settings)
        assert (ev.verdict, ev.code) == ("holds", ""), ev.reason
        k = ev.t.index(1)
        assert ev.extra["excess"][k] <= ev.extra["error_bound"][k]
        if not inst.W0.any():  # from W0 = 0 the bound is an equality at t = 1: |excess| is rounding only
            assert abs(ev.extra["excess"][k]) <= ev.extra["error_bound"][k]
        assert ev.extra["compared_at_dps"] == (30 if backend == "mpmath" else 15)
        if backend == "mpmath":  # the float64 round trip would not see these digits; the 30-digit comparison does
            assert ev.extra["error_bound"][k] < 1e-15


def test_a_false_norm_bound_is_violated() -> None:
    claim = dataclasses.replace(CLAIMS["planted.norm-bound"], constant=sympy.Rational(9, 10) * ETA * T + W0)
    inst = next(i for i in INSTANCES if not i.W0.any())  # ||W_1|| = eta > 0.9 eta
    for backend in ("numpy", "mpmath"):
        ev = claim.run(inst, Settings(steps=60, backend=backend, dps=30))
        assert ev.verdict == "violated", ev.reason
        assert ev.extra["rule"]["excess"] > ev.extra["rule"]["error_bound"]
