"""Certified counterexamples (verify/certify.py, theorems/attention/certify.py): "certified" means proven.

- a planted false bound (NGD's direction error <= 0.5/sqrt(t) from t >= 10) is certified violated: the arb run's
  ball of the metric lies above the curve's ball, also through ``verify check`` into the report and its pages;
- the exact bound ||W_t|| <= eta t + ||W_0|| (equality at t = 1 from W_0 = 0) is never certified violated, while
  the same bound with 9/10 eta is;
- the vdt24.global audit witness e(t) >= ||What_mm(alpha) - What_mm|| - e_alpha(t) > 0 is certified on the two
  committed audit reports over their whole horizon (t = 12 to 3000), and their records agree with a fresh run;
- a spent time budget gives "not certified: time budget exceeded (N s)";
- order claims are never certified (asymptotic), and the record says so.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import sympy

from theorems.attention import MODEL as ATTENTION
from theorems.attention.certify import certify_witness
from theorems.attention.claims import evaluate_direction_order
from verify import arb, profiles, registry
from verify.certify import arb_eval, certification_line, certify_finding
from verify.theory import Settings

pytestmark = pytest.mark.skipif(arb.available() is not None, reason=str(arb.available()))

from test_planted import CLAIMS, ETA, INSTANCES, MODULE, W0, T, _claim  # noqa: E402

REPORTS = sorted((Path(__file__).resolve().parents[1] / "docs" / "findings" / "reports").glob(
    "vdt24.global--audit-near_orthogonal--*.json"))


def _from_t10(claim, inst, settings, cache):  # the direction error, judged from t >= 10
    obs = evaluate_direction_order(claim, inst, settings, cache)
    obs.series = {k: dataclasses.replace(s, t0=10) for k, s in obs.series.items()}
    return obs


DIR_BOUND = _claim("planted.ngd-dir-bound", "bound", _from_t10, rate=T ** sympy.Rational(-1, 2),
                   constant=sympy.Rational(1, 2), params={"eta": 0.1})


def test_the_sympy_curve_is_evaluated_exactly_in_arb() -> None:
    ball = arb.flint_module().arb
    with arb.working_precision(256):
        b = arb_eval(sympy.Rational(9, 10) * ETA * T + W0, {"eta": 0.1, "t": 3, "norm_W0": 0.0})
        # 9/10 enters exactly (not as the float 0.9), eta as the exact ball of fl(0.1)
        assert b.contains(ball(27) * ball(0.1) / 10) and b.rad() < 1e-70
        assert not b.contains(ball(0.9) * ball(0.1) * 3)
        s = arb_eval(sympy.sqrt(T) * sympy.log(T) + sympy.exp(-T), {"t": 4})
        assert s.contains(ball(2) * ball(4).log() + ball(-4).exp()) and s.rad() < 1e-70


def test_the_planted_false_direction_bound_is_certified_violated() -> None:
    certified = []
    for inst in INSTANCES:
        ev = DIR_BOUND.run(inst, Settings(steps=300, backend="numpy", dps=30))
        rec = certify_finding(ATTENTION, DIR_BOUND, inst, ev)
        if ev.verdict != "violated":
            assert not rec["certified"], rec["reason"]
            continue
        assert rec["certified"], rec["reason"]
        assert rec["reason"].startswith("certified (rigorous)")
        assert all(r["t"] >= 10 for r in rec["enclosures"])
        best = next(r for r in rec["enclosures"] if r["t"] == rec["t"])
        assert best["metric"][0] - best["curve"][1] == pytest.approx(rec["margin_lower"], abs=1e-12)
        assert rec["margin_lower"] > 0.2
        certified.append(rec["margin_lower"])
    assert len(certified) >= 2


@pytest.mark.parametrize("k", range(len(INSTANCES)))
def test_the_exact_norm_bound_is_never_certified_violated(k: int) -> None:
    claim, inst = CLAIMS["planted.norm-bound"], INSTANCES[k]
    ev = claim.run(inst, Settings(steps=300, backend="numpy", dps=30))
    rec = certify_finding(ATTENTION, claim, inst, ev)
    assert rec["certified"] is False and rec["reason"].startswith("not certified"), rec
    assert rec["enclosures"] and not any(r["violated"] for r in rec["enclosures"])
    if not inst.W0.any():  # equality at t = 1: the balls of ||W_1|| and of eta overlap, nothing is "proven"
        r1 = next(r for r in rec["enclosures"] if r["t"] == 1)
        assert r1["metric"][0] <= r1["curve"][1] and abs(r1["margin_lower"]) < 1e-15


def test_eta_as_the_float_alone_would_falsely_certify_the_exact_bound() -> None:
    """The failure mode the eta ball prevents: NGD's step is exp(fl(log 0.1)) = fl(0.1) + 1.7e-17, so with eta the
    exact ball of fl(0.1) the true bound is "violated" at t = 1 by 1.7e-17; with the ball of both it is not."""
    from theorems.attention.certify import enclose_metric
    from verify.certify import certify_bound

    claim = CLAIMS["planted.norm-bound"]
    inst = next(i for i in INSTANCES if not i.W0.any())
    ev = claim.run(inst, Settings(steps=10, backend="numpy"))
    enc = enclose_metric(claim, inst, ev)
    assert not isinstance(enc, str)
    assert not certify_bound(claim, enc, {})["certified"]
    enc.consts["eta"] = 0.1
    wrong = certify_bound(claim, enc, {})
    assert wrong["certified"] and wrong["t"] == 1 and 1e-17 < wrong["margin_lower"] < 2e-17


def test_a_false_norm_bound_is_certified_violated_at_t_1() -> None:
    claim = dataclasses.replace(CLAIMS["planted.norm-bound"], constant=sympy.Rational(9, 10) * ETA * T + W0)
    inst = next(i for i in INSTANCES if not i.W0.any())
    ev = claim.run(inst, Settings(steps=60, backend="numpy", dps=30))
    rec = certify_finding(ATTENTION, claim, inst, ev)
    assert rec["certified"], rec["reason"]
    r1 = next(r for r in rec["enclosures"] if r["t"] == 1)  # ||W_1|| = eta_run, the curve 0.9 eta_run
    assert r1["violated"] and r1["margin_lower"] == pytest.approx(0.01, rel=1e-12)
    assert rec["margin_lower"] >= r1["margin_lower"]


def test_an_order_claim_is_not_certified_and_says_why() -> None:
    claim = CLAIMS["planted.ngd-t2"]
    ev = claim.run(INSTANCES[0], Settings(steps=100, backend="numpy"))
    rec = certify_finding(ATTENTION, claim, INSTANCES[0], ev)
    assert rec["certified"] is False and "asymptotic" in rec["reason"] and "not proven" in rec["reason"]
    fin = rec["finite"]  # the finite facts: e(t) t^2 (e ~ 1/t) certainly grows over the enclosed checkpoints
    assert fin["increasing"] and fin["growth_lower"] > 10 and fin["t"] == [1, 100], fin["statement"]
    assert "certified (rigorous)" not in (certification_line({"certified": False, "certificate": rec}) or "")


def test_a_method_outside_the_arb_backend_is_not_certified() -> None:
    claim = dataclasses.replace(CLAIMS["planted.norm-bound"], method="adam")
    ev = CLAIMS["planted.norm-bound"].run(INSTANCES[0], Settings(steps=30, backend="numpy"))
    rec = certify_finding(ATTENTION, claim, INSTANCES[0], ev)
    assert rec == {"certified": False, "reason": "not certified: the arb backend does not cover the method adam "
                                                 "(it covers gd, ngd, polyak)"}


def _contains_the_float_witness(rep: dict, rows: list[dict]) -> None:
    """The balls contain the float64 run's witness (to its rounding), and e(t) >= lb(t)."""
    float_lb = dict(zip(rep["evidence"]["t"], rep["evidence"]["extra"]["lower_bound"], strict=True))
    for r in rows:
        if r["t"] in float_lb:
            assert r["lb_ball"][0] - 1e-9 <= float_lb[r["t"]] <= r["lb_ball"][1] + 1e-9
        assert r["e"][1] >= r["lb_ball"][0] and r["lb_ball"][0] <= r["lb_ball"][1]


@pytest.mark.parametrize("path", REPORTS, ids=[p.stem[-8:] for p in REPORTS])
def test_the_committed_reports_carry_the_witness_certified_over_the_full_horizon(path: Path) -> None:
    rep = json.loads(path.read_text())
    assert rep["certified"] is False  # a limit claim: no finite run proves it false
    cert = rep["certificate"]
    assert cert["reason"].startswith("not certified: a limit claim is asymptotic")
    w = cert["finite"]
    assert w["certified"] and w["t"] == rep["evidence"]["t"][-1] == 3000, w["statement"]
    assert w["lower_bound"] > 0.5 and w["statement"].startswith("e(t) >= ")
    assert {10, 100, 1000, 3000} <= {r["t"] for r in w["rows"]}
    _contains_the_float_witness(rep, w["rows"])
    assert all(r["positive"] for r in w["rows"] if r["t"] >= 12)
    assert not w["rows"][0]["positive"]  # at t = 1 the witness is negative: the balls do not make it positive
    line = certification_line(rep)
    assert line is not None and "finite-t facts certified: e(t) >= " in line
    assert "certified (rigorous)" not in line and "certified (rigorous)" not in path.with_suffix(".md").read_text()


@pytest.mark.parametrize("path", REPORTS, ids=[p.stem[-8:] for p in REPORTS])
def test_the_committed_witness_agrees_with_a_fresh_enclosure_to_t_1000(path: Path) -> None:
    """A fresh arb run to t = 956 (other bits than the committed 3000-step run) gives the same balls' ends to 1e-12."""
    rep = json.loads(path.read_text())
    w = certify_witness(rep, horizon=1000)
    assert isinstance(w, dict), w
    assert w["certified"] and w["t"] == 956 and w["lower_bound"] > 0.49
    _contains_the_float_witness(rep, w["rows"])
    committed = {r["t"]: r for r in rep["certificate"]["finite"]["rows"]}
    for r in w["rows"]:
        assert r["lb_ball"] == pytest.approx(committed[r["t"]]["lb_ball"], abs=1e-12)
        assert r["e"] == pytest.approx(committed[r["t"]]["e"], abs=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("path", REPORTS, ids=[p.stem[-8:] for p in REPORTS])
def test_the_witness_is_certified_over_the_full_horizon(path: Path) -> None:
    """The whole 3000 steps in arb (about 25-30 s of one core each): positive from t = 12 to 3000."""
    rep = json.loads(path.read_text())
    w = certify_witness(rep, horizon=3000)
    assert isinstance(w, dict), w
    assert w["certified"] and w["t"] == 3000 and w["lower_bound"] > 0.5, w["statement"]
    _contains_the_float_witness(rep, w["rows"])
    assert all(r["positive"] for r in w["rows"] if r["t"] >= 12)
    committed = {r["t"]: r for r in rep["certificate"]["finite"]["rows"]}
    assert [r["t"] for r in w["rows"]] == sorted(committed)
    for r in w["rows"]:
        assert r["lb_ball"] == pytest.approx(committed[r["t"]]["lb_ball"], abs=1e-12)


def test_a_spent_certification_budget_says_so() -> None:
    """Budget 0, or a clock that passes the budget after a few readings: "not certified: time budget exceeded (N s)",
    never a proof; the same finding without a budget is certified."""
    inst = next(i for i in INSTANCES)
    ev = DIR_BOUND.run(inst, Settings(steps=300, backend="numpy", dps=30))
    assert ev.verdict == "violated"
    rec = certify_finding(ATTENTION, DIR_BOUND, inst, ev, budget=0)
    assert rec["certified"] is False and rec["reason"] == "not certified: time budget exceeded (0 s)"
    assert certification_line({"certified": False, "certificate": rec}) == rec["reason"]
    ticks = iter(range(10**6))
    rec = certify_finding(ATTENTION, DIR_BOUND, inst, ev, budget=3, clock=lambda: float(next(ticks)))
    assert rec["reason"] == "not certified: time budget exceeded (3 s)" and next(ticks) == 4
    assert certify_finding(ATTENTION, DIR_BOUND, inst, ev, budget=None)["certified"]


def test_the_profile_budget_reaches_the_written_report(tmp_path: Path) -> None:
    """``Profile.certify_seconds`` = 0: the report of a confirmed (and certifiable) finding says the budget was
    exceeded."""
    from verify.engine import assess, finalize

    settings = Settings(steps=300, backend="numpy", dps=30, confirm_factor=2)
    module = dataclasses.replace(MODULE, claims={DIR_BOUND.id: DIR_BOUND})
    prof = dataclasses.replace(profiles.PROFILES["quick"], confirm_mp_steps=40, certify_seconds=0.0,
                               shrink_evaluations=0)
    a = next(a for a in (assess(module, DIR_BOUND, i, settings) for i in INSTANCES) if a.verdict == "violated")
    path = finalize(module, DIR_BOUND, a, settings, prof, tmp_path, 0)
    assert path is not None, a.status
    rep = json.loads(Path(path).read_text())
    assert rep["certified"] is False
    assert rep["certificate"]["reason"] == "not certified: time budget exceeded (0 s)"


def test_check_writes_a_certified_report(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    from verify.cli import main
    from verify.report.html import render_report_page
    from verify.report.markdown import render_markdown
    from verify.report.schema import validate_report

    found = dict(registry.modules())
    found["planted"] = dataclasses.replace(MODULE, claims={DIR_BOUND.id: DIR_BOUND})
    monkeypatch.setattr(registry, "modules", lambda: found)
    quick = dataclasses.replace(profiles.PROFILES["quick"], confirm_mp_steps=60, steps=1000)
    monkeypatch.setitem(profiles.PROFILES, "quick", quick)
    main(["check", DIR_BOUND.id, "--profile", "quick", "--quiet", "--json", "--reports", str(tmp_path)])
    (row,) = json.loads(capsys.readouterr().out)
    from types import SimpleNamespace

    from verify.cli import detail_lines

    lines = detail_lines([SimpleNamespace(claim_id=DIR_BOUND.id, notes=[], candidates=[], reports=row["reports"])])
    assert lines[1].startswith(f"{DIR_BOUND.id}: certified (rigorous): at t=")
    main(["show", row["reports"][0]])
    shown = capsys.readouterr().out
    assert "proof:      certified (rigorous): at t=" in shown
    assert row["verdict"] == "violated" and row["reports"], row
    assert row["candidates"][0]["certified"] is True
    rep = json.loads(Path(row["reports"][0]).read_text())
    validate_report(rep)
    assert rep["certified"] is True and rep["certificate"]["margin_lower"] > 0
    line = certification_line(rep)
    assert line is not None and line.startswith("certified (rigorous)")
    page = render_report_page(rep, Path(row["reports"][0]), tmp_path)
    assert "certified (rigorous)" in render_markdown(rep) and 'id="certification"' in page
    assert "certified (rigorous)" in page
    sh = rep.get("shrunk")
    if sh and sh["moves"]:  # the shrunk violation is certified on its own (or says why not), within the budget
        assert isinstance(sh["certified"], bool) and sh["certificate"]["reason"]
        shown = "certified (rigorous)" if sh["certified"] else "not certified"
        assert f"- Certified: {shown}" in render_markdown(rep)
    old = {k: v for k, v in rep.items() if k not in ("certified", "certificate", "shrunk")}
    validate_report(old)  # reports written before certification still validate, and show no certification
    assert certification_line(old) is None and "certified (rigorous)" not in render_markdown(old)


def test_the_check_lines_print_the_certification(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from verify.cli import detail_lines

    path = REPORTS[0]
    s = SimpleNamespace(claim_id="vdt24.global", notes=[], candidates=[], reports=[str(path)])
    lines = detail_lines([s])
    assert lines[0] == f"vdt24.global: counterexample report: {path}" and len(lines) == 2
    assert lines[1].startswith("vdt24.global: not certified: a limit claim is asymptotic")
    assert "finite-t facts certified: e(t) >= " in lines[1] and "certified (rigorous)" not in lines[1]
    old = {k: v for k, v in json.loads(path.read_text()).items() if k not in ("certified", "certificate")}
    older = tmp_path / path.name
    older.write_text(json.dumps(old))
    s.reports = [str(older)]
    assert detail_lines([s]) == [f"vdt24.global: counterexample report: {older}"]  # an older report: no line



def test_recertify_rewrites_only_the_certification(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``python -m verify.certify REPORT.json --budget 0`` on a copy of a committed report (its certification
    removed): the record comes back (here: the budget was spent), written into the JSON and the Markdown through
    write_report; every other field is the report's own."""
    import shutil

    from verify.certify import main

    src = REPORTS[0]
    rep = json.loads(src.read_text())
    old = {k: v for k, v in rep.items() if k not in ("certified", "certificate")}
    dst = tmp_path / src.name
    dst.write_text(json.dumps(old))
    shutil.copy(src.with_suffix(".png"), tmp_path / src.with_suffix(".png").name)
    assert main([str(dst), "--budget", "0"]) == 0
    assert "not certified: time budget exceeded (0 s)" in capsys.readouterr().out
    new = json.loads(dst.read_text())
    assert new["certified"] is False and new["certificate"]["reason"] == "not certified: time budget exceeded (0 s)"
    assert {k: v for k, v in new.items() if k not in ("certified", "certificate")} == old
    assert "not certified: time budget exceeded (0 s)" in dst.with_suffix(".md").read_text()
