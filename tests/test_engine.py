"""The engine loop (assess -> finalize -> report -> replay) and the claim checkers of verify/checks.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from theorems import vdt24
from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from theorems.attention.svm import solve_att_svm
from verify import engine
from verify.checks import HOLDS, INCONCLUSIVE, VIOLATED, check_bound, check_limit, check_order
from verify.cli import main
from verify.profiles import PROFILES, claim_settings
from verify.theory import NOT_APPLICABLE
from verify.trajectory import log_checkpoints

CLAIM = vdt24.CLAIMS["vdt24.global"]

# The quick profile, with the confirmation runs shortened so the test stays at ~10 s: with the profile as is,
# finalize spends ~100 s in the 500-step mpmath run on this nT = 64 instance. Neither change touches what a
# replay re-runs (the evidence run: settings.steps = 2000 NGD steps, float64, gram).
QUICK = dataclasses.replace(PROFILES["quick"], confirm_mp_steps=50)
SETTINGS = claim_settings(QUICK, seed=0).but(confirm_factor=2)


@pytest.fixture(scope="module")
def low_d() -> ac.AttentionInstance:
    return generate(8, 8, 16, seed=4, tokens="gaussian-low-d")


@pytest.fixture(scope="module")
def assessment(low_d: ac.AttentionInstance) -> engine.Assessment:
    """An audit: low-dimensional Gaussian tokens break near-orthogonality on purpose."""
    return engine.assess(vdt24.MODULE, CLAIM, low_d, SETTINGS, require_assumptions=False, broken="near_orthogonal")


def test_low_d_instance_converges_to_a_locally_optimal_alpha(low_d: ac.AttentionInstance,
                                                            assessment: engine.Assessment) -> None:
    ev = assessment.evidence
    assert ev is not None and assessment.verdict == VIOLATED
    alpha = tuple(ev.extra["selected_final"])
    opt = tuple(int(a) for a in ac.optimal_tokens(low_d))
    assert alpha != opt and ev.extra["alpha_class"] == "locally-optimal" and ev.extra["alpha_svm_certified"]
    # Independently: NGD's direction approaches W_mm(alpha), which is far from W_mm.
    W_mm = solve_att_svm(low_d.X, low_d.z, opt).W
    W_alpha = solve_att_svm(low_d.X, low_d.z, alpha).W
    dist, _ = ac.direction_error(W_alpha[None], W_mm[None])
    assert dist[0] > 0.5  # measured 0.654
    err_alpha = np.asarray(ev.extra["dir_err_alpha"])
    assert err_alpha[-1] < 0.01 and np.all(np.diff(err_alpha[-5:]) < 0)  # measured 0.0028, still falling
    assert ev.observed[-1] == pytest.approx(dist[0], abs=0.01)  # e(t) -> ||W_mm(alpha)/. - W_mm/.|| != 0


@pytest.fixture(scope="module")
def report_path(low_d: ac.AttentionInstance, assessment: engine.Assessment,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    a = dataclasses.replace(assessment, confirmation=[])
    reports = tmp_path_factory.mktemp("reports")
    path = engine.finalize(vdt24.MODULE, CLAIM, a, SETTINGS, QUICK, reports, seed=0)
    assert path is not None and Path(path).is_file()
    assert a.status.startswith("audit finding (confirmed by"), a.confirmation
    assert sum(c["applies"] and c["agrees"] for c in a.confirmation) >= 2
    return Path(path)


def test_an_audit_report_says_it_is_an_audit(report_path: Path) -> None:
    rep = json.loads(report_path.read_text())
    assert rep["kind"] == "audit" and rep["broken_assumption"] == "near_orthogonal"
    assert "--audit-near_orthogonal--" in report_path.name and "violated" not in report_path.name
    md = report_path.with_suffix(".md").read_text()
    assert md.splitlines()[0].startswith(f"# {CLAIM.id}: audit: with near_orthogonal broken on purpose")
    assert "counterexample" not in md.splitlines()[0] and "refutes nothing" in md.splitlines()[0]


def test_replay_reproduces_the_report_exactly(report_path: Path, capsys: pytest.CaptureFixture) -> None:
    rep = json.loads(report_path.read_text())
    assert rep["verdict"] == VIOLATED and rep["claim"]["id"] == CLAIM.id
    assert rep["replay"].endswith(report_path.name)
    assert main(["replay", str(report_path)]) == 0
    out, err = capsys.readouterr()
    assert "reproduced exactly" in out and "NOT" not in out, out + err


@pytest.mark.parametrize(("edit", "field"), [
    (lambda r: r["evidence"].__setitem__("worst_ratio", 1.5), "evidence.worst_ratio"),
    (lambda r: r.__setitem__("verdict", "holds"), "verdict"),
    (lambda r: r["evidence"].__setitem__("t_worst", 7), "evidence.t_worst"),
    (lambda r: r["evidence"].__setitem__("exponent", -0.5), "evidence.exponent"),
    (lambda r: r["evidence"]["observed"].__setitem__(-1, 0.5), "evidence.observed"),
    (lambda r: r["settings"].__setitem__("steps", 1000), "evidence.t"),
    (lambda r: r["claim"]["params"].__setitem__("eta", 0.2), "evidence.run"),
])
def test_replay_of_an_edited_report_names_the_field(report_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                    edit, field: str) -> None:  # type: ignore[no-untyped-def]
    rep = json.loads(report_path.read_text())
    edit(rep)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(rep))
    assert main(["replay", str(edited)]) == 1
    out, _ = capsys.readouterr()
    assert "NOT reproduced" in out and f"differs: {field}" in out, out


def test_replay_uses_the_recorded_claim_and_says_the_installed_one_differs(report_path: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    rep = json.loads(report_path.read_text())
    rep["claim"]["params"]["decades"] = 1  # a claim definition the installed code does not have
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(rep))
    main(["replay", str(edited)])
    out, _ = capsys.readouterr()
    assert "differs from the recorded one in params" in out


@pytest.mark.parametrize("how", ["new token", "one ulp"])
def test_replay_of_a_tampered_instance_is_not_exact(report_path: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture, how: str) -> None:
    rep = json.loads(report_path.read_text())
    X = rep["instance"]["X"]
    if how == "new token":  # replace one token of sequence 2
        X[2][3] = list(np.random.default_rng(0).normal(size=len(X[2][3])))
    else:  # the smallest possible change of one coordinate
        X[2][3][0] = float(np.nextafter(X[2][3][0], np.inf))
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(rep))
    rc = main(["replay", str(tampered)])
    out, err = capsys.readouterr()
    assert "reproduced exactly" not in out, out + err
    if how == "new token":
        assert rc == 1, out + err
        assert "NOT reproduced" in out and "evidence.observed" in out
    else:  # a one-ulp change moves the series by ~1e-16: within the replay tolerance, and said to be not bitwise
        assert rc == 0, out + err
        assert "not bitwise" in out and "NOT reproduced" not in out


def test_assess_refuses_an_instance_breaking_an_assumption(low_d: ac.AttentionInstance) -> None:
    a = engine.assess(vdt24.MODULE, CLAIM, low_d, SETTINGS, require_assumptions=True)
    assert a.verdict == NOT_APPLICABLE and a.evidence is None
    assert "near_orthogonal" in a.status
    failing = {r["id"] for r in a.assumptions if r["role"] == "claim" and r["verdict"] != HOLDS}
    assert failing == {"near_orthogonal"}

    eye = np.eye(6)  # orthonormal tokens with a tied optimal token in sequence 0: unique_opt/score_gap fail
    tied = ac.make_instance(np.stack([eye[[0, 1, 2]], eye[[3, 4, 5]]]), [1.0, 1.0], [1, 1, 0, 1, 0.5, 0])
    b = engine.assess(vdt24.MODULE, CLAIM, tied, SETTINGS, require_assumptions=True)
    assert b.verdict == NOT_APPLICABLE and b.evidence is None and "score_gap" in b.status


def test_assess_holds_on_a_near_orthogonal_instance() -> None:
    inst = generate(2, 3, 6, seed=1, tokens="orthonormal")
    a = engine.assess(vdt24.MODULE, CLAIM, inst, SETTINGS, require_assumptions=True)
    assert a.applicable and a.verdict == HOLDS, a.status


# ------------------------------------------------------------------------------------------------ checkers
T = np.asarray(log_checkpoints(10**6, per_decade=10, start=10), dtype=float)
OK = np.ones(T.shape, dtype=bool)


def test_check_order_judges_a_log_factor_in_the_rate_scale() -> None:
    # e(t) = t^-1/2 log t against the claimed t^-1/2. In the rate's coordinate x = -ln rate = ln(t)/2 the ratio's
    # slope is 2/ln t: positive but falling segment by segment, so a power-law rule cannot exclude a bounded
    # ratio (the log factor lives on the finer ln ln t scale): inconclusive, never violated.
    r = check_order(T, T**-0.5 * np.log(T), T**-0.5, OK)
    assert (r.verdict, r.code) == (INCONCLUSIVE, "growth-decelerating"), r.reason
    assert len(r.decade_slopes) == 3 and all(np.diff(r.decade_slopes) < 0)
    mids = [np.sqrt(s["t"][0] * s["t"][1]) for s in r.params["segments"]]
    assert r.decade_slopes == pytest.approx([2 / np.log(m) for m in mids], rel=0.05)
    # a power-law excess (t^-0.4 against t^-0.5) grows steadily in that coordinate: violated, slope 0.2
    r = check_order(T, T**-0.4, T**-0.5, OK)
    assert (r.verdict, r.code) == (VIOLATED, ""), r.reason
    assert all(s == pytest.approx(0.2, abs=1e-9) for s in r.decade_slopes)


@pytest.mark.parametrize("values,rate", [
    (T**-1.0, T**-0.5),  # faster than claimed
    (7 * T**-1.0, T**-1.0),  # exactly the claimed order, any constant
    # the claimed order with checkpoint-to-checkpoint noise (+-20%, alternating): the per-decade least-squares
    # slope of the ratio is ~0, well under SLOPE_TOL
    (T**-0.5 * (1 + 0.2 * (-1.0) ** np.arange(T.size)), T**-0.5),
])
def test_check_order_passes_true_orders(values: np.ndarray, rate: np.ndarray) -> None:
    r = check_order(T, values, rate, OK)
    assert r.verdict == HOLDS, r.reason


def test_check_order_fitted_exponent() -> None:
    r = check_order(T, 3 * T**-1.0, T**-1.0, OK)
    assert r.exponent == pytest.approx(-1.0, abs=1e-9) and r.constant == pytest.approx(3.0, rel=1e-9)


def test_check_order_is_inconclusive_without_precision() -> None:
    bad = OK.copy()
    bad[-1] = False
    r = check_order(T, T**-0.5 * np.log(T), T**-0.5, bad)
    assert r.verdict == INCONCLUSIVE and "precision" in r.reason and r.code == "precision-lost"
    r = check_order(T, T**-1.0, T**-0.5, np.zeros_like(OK))
    assert (r.verdict, r.code) == (INCONCLUSIVE, "precision-lost")


def test_check_limit() -> None:
    # a witness: the metric stays above a certified positive, flat lower bound
    lb = np.full(T.shape, 0.4)
    r = check_limit(T, 0.6 + T**-0.5, OK, lower_bound=lb)
    assert r.verdict == VIOLATED and "lower bound (witness)" in r.reason, r.reason
    # a decaying metric holds (with or without a witness that itself decays)
    assert check_limit(T, T**-0.5, OK).verdict == HOLDS
    assert check_limit(T, 2 * T**-0.5, OK, lower_bound=T**-0.5).verdict == HOLDS
    # no witness, no decay: a flat positive metric is its own floor, significantly positive in every family
    r = check_limit(T, 0.6 + 0 * T, OK)
    assert r.verdict == VIOLATED and "floor" in r.reason, r.reason
    # a witness that is not positive over the end of the tail is no witness; the decaying metric then holds
    lb2 = 0.5 * T**-0.5
    lb2[-1] = -0.1
    r = check_limit(T, T**-0.5, OK, lower_bound=lb2)
    assert r.verdict == HOLDS and "witness" not in r.params, r.reason
    # lost precision: never a verdict
    r = check_limit(T, 0.6 + 0 * T, np.zeros_like(OK), lower_bound=lb)
    assert (r.verdict, r.code) == (INCONCLUSIVE, "precision-lost")


def test_check_bound() -> None:
    bound = 2 * T**-0.5
    assert check_bound(T, T**-0.5, bound, OK).verdict == HOLDS
    above = T**-0.5 * np.where(T > 1e5, 2.5, 1.0)
    r = check_bound(T, above, bound, OK)
    assert r.verdict == VIOLATED and r.worst_ratio == pytest.approx(1.25)
    assert r.t_worst is not None and r.t_worst > 1e5
    bad = OK & (T <= 1e5)  # precision lost exactly where the bound is exceeded
    assert check_bound(T, above, bound, bad).verdict == INCONCLUSIVE
    # only checkpoints from t0 on count
    early = T**-0.5 * np.where(T < 100, 3.0, 1.0)
    assert check_bound(T, early, bound, OK).verdict == VIOLATED
    assert check_bound(T, early, bound, OK, t0=100).verdict == HOLDS


def test_every_registered_claim_takes_the_engine_evaluate_signature() -> None:
    """evaluate(claim, instance, settings, cache): a module written against another signature would only fail
    when the main job runs it (this is how a GSB26 mismatch slipped past its own direct-call tests)."""
    import inspect

    from verify.registry import all_claims
    from verify.theory import Settings

    for cid, (_, claim) in all_claims().items():
        sig = inspect.signature(claim.evaluate)
        sig.bind(claim, object(), Settings(), {})  # raises TypeError on a mismatch
        assert cid == claim.id


def test_a_claim_that_raises_is_an_error_with_the_error_named() -> None:
    import dataclasses

    from theorems.attention.strategies import generate
    from theorems.vdt24 import CLAIMS, MODULE
    from verify.engine import assess
    from verify.theory import Settings

    def broken(claim, instance, settings, cache):  # type: ignore[no-untyped-def]
        raise KeyError("missing parameter")

    claim = dataclasses.replace(CLAIMS["vdt24.ngd-rate"], evaluate=broken)
    a = assess(MODULE, claim, generate(2, 2, 4, seed=0), Settings(steps=10), require_assumptions=False)
    assert a.verdict == "error" and a.evidence is None
    assert "evaluation error in claim vdt24.ngd-rate: KeyError" in a.status
    assert "KeyError" in a.traceback and "Traceback" in a.traceback


def _planted_bound(base, evaluate, **changes):  # type: ignore[no-untyped-def]
    """``base`` as the planted bound claim m(t) <= 1 (kind ``bound``: rate 1, constant 1) with ``evaluate``."""
    import sympy

    return dataclasses.replace(base, kind="bound", rate=sympy.Integer(1), constant=sympy.Integer(1),
                               evaluate=evaluate, **changes)


def _observed(values: list[float], run: dict | None = None):  # type: ignore[no-untyped-def]
    """A planted observation of m at t = 1, 2: above the planted bound 1 at t = 2 (violated) or below it (holds)."""
    from verify.observation import Series, SeriesObservation

    return SeriesObservation(series={"m": Series([1, 2], values)}, run=run or {})


def test_confirmation_runs_only_the_kinds_a_claim_declares() -> None:
    """A claim declaring ("repeat",) gets only an identical re-run, which cannot disagree and so does not apply:
    the violation is not confirmed. No mpmath / longer-horizon / other-representation run is attempted."""

    from theorems.attention.strategies import generate
    from theorems.vdt24 import CLAIMS
    from verify.engine import confirm
    from verify.profiles import PROFILES
    from verify.theory import Settings

    calls: list[Settings] = []

    def always_violated(claim, instance, settings, cache):  # type: ignore[no-untyped-def]
        calls.append(settings)
        return _observed([1.0, 2.0])

    claim = _planted_bound(CLAIMS["vdt24.ngd-rate"], always_violated, confirm_with=("repeat",))
    settings = Settings(steps=10)
    ev = claim.run(generate(2, 2, 4, seed=0), settings)
    assert ev.verdict == VIOLATED, ev.reason
    runs = confirm(claim, generate(2, 2, 4, seed=0), settings, ev, PROFILES["quick"])
    assert [r["kind"] for r in runs] == ["repeat"] and runs[0]["applies"] is False and not runs[0]["agrees"]
    assert all(s == settings for s in calls)  # never another backend, horizon or representation
    ok, why = engine.confirmed(runs)
    assert not ok and "only 0 confirmation run(s) apply" in why


def test_a_rerun_that_cannot_differ_is_not_applicable() -> None:
    """A model with one representation records the same one on the cross-representation re-run, and a claim
    that ignores the horizon records the same checkpoints: neither counts as agreement."""
    from theorems.attention.strategies import generate
    from theorems.vdt24 import CLAIMS
    from verify.profiles import PROFILES
    from verify.theory import Settings

    def fixed(claim, instance, settings, cache):  # type: ignore[no-untyped-def]
        return _observed([1.0, 2.0], {"backend": "numpy", "steps": 10, "representation": "dense"})

    claim = _planted_bound(CLAIMS["vdt24.ngd-rate"], fixed,
                           confirm_with=("longer-horizon", "cross-backend", "higher-precision"))
    inst = generate(2, 2, 4, seed=0)
    ev = claim.run(inst, Settings(steps=10))
    assert ev.verdict == VIOLATED, ev.reason
    runs = engine.confirm(claim, inst, Settings(steps=10), ev, PROFILES["quick"])
    assert [r["applies"] for r in runs] == [False, False, False], runs
    assert all(r["reason"].startswith("not applicable") and not r["agrees"] for r in runs)
    assert not engine.confirmed(runs)[0]


def test_two_applying_confirmations_are_needed() -> None:
    runs = [{"kind": "a", "applies": True, "agrees": True}, {"kind": "b", "applies": False, "agrees": False}]
    assert not engine.confirmed(runs)[0]
    runs[1] = {"kind": "b", "applies": True, "agrees": True}
    assert engine.confirmed(runs)[0]
    runs.append({"kind": "c", "applies": True, "agrees": False})
    ok, why = engine.confirmed(runs)
    assert not ok and "not reproduced by c" in why


def test_unconfirmed_audit_candidates_never_make_an_assumption_load_bearing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Candidates beyond the confirmation budget, and candidates whose confirmation fails, are inconclusive."""
    calls = {"n": 0}

    def fake_violation(claim, instance, settings, cache):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return _observed([1.0, 2.0], {"backend": settings.backend, "steps": 10, "representation": "dense"})

    claim = _planted_bound(CLAIM, fake_violation, confirm_with=("repeat",))
    rows = engine.audit(vdt24.MODULE, claim, QUICK, max_examples=3, max_confirm=1)
    row = next(r for r in rows if r.assumption == "near_orthogonal")
    assert row.verdict == "none-found" and not row.counts.get("violated"), row
    assert row.counts.get("inconclusive") == row.tried


def _planted(x_holds: float):  # type: ignore[no-untyped-def]
    """A claim violated unless params["x"] == x_holds, with two confirmations that apply, and a reconstruction
    of x (default 0, favourable end 1)."""
    from verify.theory import Reconstruction

    def evaluate(claim, instance, settings, cache):  # type: ignore[no-untyped-def]
        ok = claim.params.get("x", 0.0) == x_holds
        return _observed([0.5, 0.5] if ok else [1.0, 2.0], {"backend": settings.backend, "steps": settings.steps,
                                                             "representation": settings.representation})

    rec = Reconstruction("x", "planted: any x in [0, 1]", 0.0, 1.0,
                         lambda c, i, v: (dataclasses.replace(c, params={**c.params, "x": v}), i))
    return _planted_bound(vdt24.CLAIMS["vdt24.ngd-rate"], evaluate, params={"x": 0.0},
                          confirm_with=("longer-horizon", "cross-backend"), reconstructions=(rec,))


def test_a_candidate_that_a_favourable_reading_removes_is_reconstruction_dependent() -> None:
    s = engine.check(vdt24.MODULE, _planted(x_holds=1.0), QUICK, max_confirm=1)
    assert s.verdict == "inconclusive" and s.codes.get("reconstruction-dependent") == 1, s
    (cand,) = s.candidates
    assert [(r["name"], r["value"], r["verdict"]) for r in cand["robustness"]] == [
        ("x", 0.0, "violated"), ("x", 1.0, "holds")]
    assert all(c["applies"] and c["agrees"] for c in cand["confirmation"])


def test_a_candidate_robust_across_readings_is_violated(tmp_path: Path) -> None:
    s = engine.check(vdt24.MODULE, _planted(x_holds=2.0), QUICK, max_confirm=1, reports=tmp_path)
    assert s.verdict == "violated" and len(s.reports) == 1
    rep = json.loads(Path(s.reports[0]).read_text())
    assert rep["kind"] == "counterexample" and [r["verdict"] for r in rep["robustness"]] == ["violated"] * 2


_DRAW_SCRIPT = """
import sys
if sys.argv[1] == "more-imports":
    import verify.cli, verify.report.html  # noqa: F401  (local modules full of numeric literals)
from verify import engine
from verify.profiles import get_profile
from verify.registry import find_claim
from verify.sweep import instance_hash
module, claim = find_claim("vdt24.loss-ngd")
seen = []
engine.explore(module.meets(claim.id), lambda inst: (seen.append(instance_hash(inst)),
                  engine.Assessment(inst, [], None, "holds"))[1], get_profile("quick"), seed=0)
print(" ".join(seen))
"""


def test_the_search_is_a_function_of_the_seed_alone() -> None:
    """hypothesis also draws constants it collects from every local module loaded so far; without
    verify.profiles.seed_only_search, importing verify.cli changed the second instance of this very search. The
    same seed must draw the same instances whatever else is imported."""
    import subprocess
    import sys

    runs = [subprocess.run([sys.executable, "-c", _DRAW_SCRIPT, which], capture_output=True, text=True,
                           timeout=300, check=True).stdout.split() for which in ("bare", "more-imports")]
    assert len(runs[0]) == 3 and runs[0] == runs[1], runs
