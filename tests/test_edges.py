"""Edges of the command line: each bad input or interruption gives one line, its documented exit code and no
traceback; output folders are checked before any computing; files follow the umask."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from theorems.attention.strategies import generate
from verify.cli import main
from verify.instance import atomic_write_text, dumps

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def instance_file(tmp_path: Path) -> Path:
    return atomic_write_text(tmp_path / "inst.json", dumps(generate(2, 3, 6, seed=0).to_json()))


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in out + err, out + err
    return lines[0]


def test_reports_pointing_at_a_file_is_refused_before_computing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import verify.engine

    def computed(*args: object, **kwargs: object) -> None:
        raise AssertionError("the search started before the --reports folder was refused")

    for name in ("check", "audit", "assess"):  # refused up front: nothing is searched or evaluated
        monkeypatch.setattr(verify.engine, name, computed)
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["check", "vdt24.ngd-rate", "--reports", str(f), "--quiet"]) == 2
    assert "exists and is not a folder" in _one_error_line(capsys)
    assert main(["audit", "vdt24.global", "--reports", str(f), "--quiet"]) == 2
    assert "exists and is not a folder" in _one_error_line(capsys)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("verify ")


def test_reports_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        p = atomic_write_text(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o644


def _cli(args: list[str], **kw) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ, "VERIFY_DISABLE_PLUGINS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "verify", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_a_closed_pipe_is_not_a_traceback() -> None:
    env = {**os.environ, "VERIFY_DISABLE_PLUGINS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(f"{sys.executable} -m verify list | head -1", shell=True, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.count("\n") == 1 and "Traceback" not in proc.stderr and "Error" not in proc.stderr


def test_ctrl_c_during_check_all_keeps_the_finished_claims(tmp_path: Path) -> None:
    """SIGINT once the first claims have finished: a valid run summary of those, printed and written; exit 130."""
    reports = tmp_path / "reports"
    proc = _cli(["check", "--all", "--profile", "quick", "--reports", str(reports), "--quiet"])
    deadline = time.monotonic() + 120  # the reports folder is made just before the first claim starts
    while not reports.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(12)  # some claims finish, the one in flight is interrupted
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    seen = out + err
    assert proc.returncode == 130, seen
    assert "Traceback" not in seen and "interrupted:" in err
    runs = sorted((reports / "runs").glob("*.json"))
    assert len(runs) == 1, seen
    summary = json.loads(runs[0].read_text())
    finished = int(err.split("interrupted: ")[1].split(" of ")[0])
    assert len(summary["claims"]) == finished and summary["interrupted"] is True


# ---------------------------------------------------------------------------------------------- help and README
def _options() -> list[tuple[str, object]]:
    import argparse

    from verify.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [(name, a) for name, sp in sub.choices.items() for a in sp._actions
            if a.option_strings and not isinstance(a, argparse._HelpAction)]


def test_every_option_states_its_default_and_allowed_values() -> None:
    """Also the options of the model's verbs (svm, trace) and of any plugin's: verify.cli.complete_help fills in
    what a help text leaves out."""
    opts = _options()
    assert {name for name, _ in opts} >= {"list", "check", "audit", "sweep", "show", "svm", "trace"}
    for name, a in opts:
        text = a.help or ""  # type: ignore[attr-defined]
        assert "default" in text or "required" in text, (name, a.option_strings, text)  # type: ignore[attr-defined]
        for c in a.choices or ():  # type: ignore[attr-defined]
            assert str(c) in text, (name, a.option_strings, c, text)  # type: ignore[attr-defined]


def test_the_readme_documents_every_option() -> None:
    """README.md's options section has a line for every option of every command (model verbs included)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.split(r"\n#{2,3} ", readme.split("\n### Options\n", 1)[1], maxsplit=1)[0]
    parts = {p.split("\n", 1)[0].strip().strip("`").split()[-1]: p for p in section.split("\n#### ")[1:]}
    for name, a in _options():
        if name not in parts:
            raise AssertionError(f"README.md's options section has no '#### `verify {name}`' part")
        opt = a.option_strings[-1]  # type: ignore[attr-defined]
        assert f"`{opt}" in parts[name], (name, opt)


# ---------------------------------------------------------------------------------------------- the check table
def _summaries() -> tuple[list, list]:
    """One summary per kind, with the evidence the table reads its figure from."""
    from types import SimpleNamespace

    from verify.engine import ClaimSummary
    from verify.theory import Evidence

    def ev(**kw: object) -> Evidence:
        return Evidence(verdict="holds", reason="", metric="m", **kw)  # type: ignore[arg-type]

    rows = [
        ("o.rate", "order", ClaimSummary("o.rate", "holds", 3, {"holds": 3}, [], [-1.06, -0.878, -0.95], 0.5)),
        ("b.bound", "bound", ClaimSummary("b.bound", "holds", 2, {"holds": 2}, [], [], 0.136)),
        ("l.limit", "limit", ClaimSummary("l.limit", "inconclusive", 2, {"holds": 1, "inconclusive": 1}, [], [],
                                          None, codes={"no-limit-evidence": 1},
                                          evidence=[ev(observed=[1.0, 0.0292]), ev(observed=[1.0, 5.84e-4])])),
        ("c.cmp", "comparison", ClaimSummary("c.cmp", "holds", 2, {"holds": 2}, [], [], 0.4, evidence=[
            ev(figure={"pairs": [{"wins": 3, "decided": 3}]}), ev(figure={"pairs": [{"wins": 1, "decided": 2}]})])),
        ("p.prob", "probability", ClaimSummary("p.prob", "holds", 1, {"holds": 1}, [], [], None, evidence=[
            ev(figure={"successes": 16, "trials": 16, "interval": [0.794, 1.0], "confidence": 0.95})])),
        ("i.id", "identity", ClaimSummary("i.id", "violated", 1, {"violated": 1}, ["R/i.id--violated.json"], [],
                                          4.0, evidence=[ev(figure={"residual": [1e-16, 3.2e-9]})])),
    ]
    pairs = [(None, SimpleNamespace(id=cid, kind=kind)) for cid, kind, _ in rows]
    return pairs, [s for _, _, s in rows]


def test_the_check_table_has_a_figure_per_kind_and_a_closing_line() -> None:
    import io

    from verify.cli import _print_summaries, check_rows

    pairs, summaries = _summaries()
    figures = [r[4] for r in check_rows(pairs, summaries)]
    assert figures == ["exponent -1.06 .. -0.878", "worst metric/bound 0.136", "final metric 0.000584 .. 0.0292",
                       "pairs won 4/5 (80%)", "16/16, 95% interval [0.794, 1]", "worst residual 3.2e-09"]
    plain = io.StringIO()  # not a terminal: plain text, no colour codes, nothing wrapped
    _print_summaries(pairs, summaries, "R", plain)
    lines = plain.getvalue().splitlines()
    assert "\x1b" not in plain.getvalue()
    assert lines[0].split() == ["claim", "kind", "verdict", "instances", "figure"]
    assert lines[4].split()[:5] == ["l.limit", "limit", "inconclusive", "(no-limit-evidence:", "1)"]
    assert "i.id: counterexample report: R/i.id--violated.json" in lines
    assert lines[-1] == "6 claims: 4 hold, 1 inconclusive, 1 violated; reports in R"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Terminal()
    _print_summaries(pairs, summaries, "R", tty)
    text = tty.getvalue()
    assert "┃ claim" in text or "│ claim" in text or "claim" in text.splitlines()[1]
    assert all(cid in text for cid in ("o.rate", "b.bound", "l.limit", "c.cmp", "p.prob", "i.id"))
    assert text.splitlines()[-1] == lines[-1]


def test_check_prints_the_table_in_a_pipe_and_json_unchanged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A planted, fast variant of vdt24.ngd-rate (200 steps) through ``verify check``: the text is the plain table
    and the closing line; ``--json`` prints the summaries' JSON only (no evidence objects, no table)."""
    import dataclasses

    from theorems import vdt24
    from verify import registry

    base = vdt24.CLAIMS["vdt24.ngd-rate"]

    def evaluate(claim, instance, settings, cache):  # type: ignore[no-untyped-def]
        return base.evaluate(claim, instance, settings.but(steps=200), cache)

    claim = dataclasses.replace(base, evaluate=evaluate)
    module = dataclasses.replace(vdt24.MODULE, key="planted", claims={claim.id: claim})
    monkeypatch.setattr(registry, "modules", lambda: {"planted": module})
    rc = main(["check", claim.id, "--reports", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert rc in (0, 1) and "\x1b" not in out
    assert lines[0].split() == ["claim", "kind", "verdict", "instances", "figure"]
    assert lines[2].startswith("vdt24.ngd-rate  order") and "exponent" in lines[2]
    assert lines[-1].startswith("1 claim: 1 ") and lines[-1].endswith(f"; reports in {tmp_path}")
    main(["check", claim.id, "--reports", str(tmp_path), "--quiet", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [r["claim_id"] for r in rows] == [claim.id] and "evidence" not in rows[0]


# ---------------------------------------------------------------------------------------------- sweep folders
def test_a_sweep_folder_resumes_and_show_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The manifest names the sweep; the same sweep into the same folder resumes; ``verify show DIR`` summarizes
    it (another claim, seed, profile or backend into it: tests/test_bad_input.py, results-other-*)."""
    out = tmp_path / "sweep"
    argv = ["sweep", "vdt24.ngd-rate", "--instances", "1", "--results", str(out), "--quiet", "--json"]
    assert main(argv) in (0, 1)
    first = json.loads(capsys.readouterr().out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema"] == "verify-sweep-manifest/1" and manifest["claim"] == "vdt24.ngd-rate"
    assert (manifest["seed"], manifest["profile"], manifest["backend"]) == (0, "quick", "numpy")
    assert all(f.stem.endswith("-" + manifest["settings_hash"]) for f in (out / "instances").glob("*.json"))
    assert main(argv) in (0, 1)
    again = json.loads(capsys.readouterr().out)
    assert (again["ran"], again["skipped"], again["counts"]) == (0, 1, first["counts"])
    assert main(["show", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"sweep of vdt24.ngd-rate: seed 0, profile quick, backend numpy, settings " \
                       f"{manifest['settings_hash']}"
    assert lines[1] == "1 instance result of 1 asked for"
    assert lines[2] == "verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(first["counts"].items()))
    assert lines[-1] == f"results in {out}"
