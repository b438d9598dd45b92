"""A second model needs no edit in verify/: the linear-regression plugin (examples/verify-linreg-plugin) brings
its own Model and TheoremModule through entry points, and the toolkit's CLI core lists, checks and audits it.

The plugin is made visible through its package metadata (pip-installed in CI, or a throw-away dist-info on
PYTHONPATH, tests/plugin_env.py), and every command runs in a subprocess, as a user would run it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_env import ROOT, plugin_env, run_verify

SRC = ROOT / "examples" / "verify-linreg-plugin" / "src"
LINREG = {"verify-linreg-plugin": {"verify.models": {"linreg": "verify_linreg:MODEL"},
                                   "verify.theorems": {"linreg": "verify_linreg:MODULE"}}}


@pytest.fixture
def env(tmp_path: Path) -> dict:
    return plugin_env(tmp_path / "site", [SRC], LINREG)


def test_the_engine_names_no_model_of_the_plugin() -> None:
    """Nothing in verify/ mentions the plugin's model: it is found through the contract alone."""
    for f in (ROOT / "verify").rglob("*.py"):
        text = f.read_text()
        assert "linreg" not in text and "linear-regression" not in text, f


def test_list_shows_the_second_model_and_its_claims(env: dict, tmp_path: Path) -> None:
    proc = run_verify(["list", "--json"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert rows["linreg.gd-gap"]["kind"] == "order" and rows["linreg.gd-bound"]["kind"] == "bound"
    assert rows["linreg.gd-gap"]["module"] == "linreg"
    assert "warning" not in proc.stderr


def test_check_runs_the_second_model_through_the_engine(env: dict, tmp_path: Path) -> None:
    """Both claims are true (the classical O(1/t) rate of GD on a smooth convex function): `verify check` exits
    0, and every instance it drew is judged "holds" by the kind's checker (no inconclusive, no error)."""
    proc = run_verify(["check", "linreg.gd-gap", "linreg.gd-bound", "--reports", str(tmp_path / "r"), "--quiet",
                       "--json"], env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summaries = {s["claim_id"]: s for s in json.loads(proc.stdout)}
    for cid in ("linreg.gd-gap", "linreg.gd-bound"):
        s = summaries[cid]
        assert s["verdict"] == "holds", s
        assert set(s["counts"]) == {"holds"} and s["counts"]["holds"] >= 2, s


def test_audit_finds_the_step_size_load_bearing(env: dict, tmp_path: Path) -> None:
    """With eta S in [2.05, 2.5] GD diverges, so breaking step_size breaks the bound: the audit says so, with a
    confirmed audit report (an audit, never a counterexample)."""
    reports = tmp_path / "r"
    proc = run_verify(["audit", "linreg.gd-bound", "--reports", str(reports), "--quiet", "--json",
                       "--examples", "3"], env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["assumption"]: r for r in json.loads(proc.stdout)}
    assert rows["step_size"]["verdict"] == "load-bearing", rows
    files = sorted(reports.glob("linreg.gd-bound--audit-step_size--*.json"))
    assert files, proc.stdout
    rep = json.loads(files[0].read_text())
    assert rep["kind"] == "audit" and rep["broken_assumption"] == "step_size"
