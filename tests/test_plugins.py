"""Theorem plugins: discovery through the ``verify.theorems`` entry-point group, bad plugins reported and skipped,
``VERIFY_DISABLE_PLUGINS``, and the example plugin's deliberately false claim refuted with a confirmed report.

Discovery is tested in subprocesses with a throw-away ``*.dist-info`` folder on PYTHONPATH (tests/plugin_env.py),
so these tests do not depend on what is pip-installed. CI also ``pip install``s examples/verify-example-plugin;
then it is found through its real metadata.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_env import ROOT, fake_dist, installed, plugin_env, run_verify

EXAMPLE_SRC = ROOT / "examples" / "verify-example-plugin" / "src"


EXAMPLE = {"verify-example-plugin": {"verify.theorems": {"example": "verify_example_plugin:MODULE"}}}


def _example_installed() -> bool:
    return installed("verify-example-plugin")


def _env(tmp_path: Path, entries: dict[str, str] | None = None, *, with_example: bool = True, **extra: str) -> dict:
    """An environment whose PYTHONPATH holds fake distributions with ``entries`` (and the example plugin)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    if entries:
        fake_dist(site, "fake_plugins", {"verify.theorems": entries})
    return plugin_env(site, [EXAMPLE_SRC] if with_example else [], EXAMPLE if with_example else {}, **extra)


def _verify(args: list[str], env: dict, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return run_verify(args, env, cwd, timeout)


def _ids(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [r["id"] for r in json.loads(proc.stdout)]


@pytest.fixture(scope="module")
def listing(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    """``verify list --json`` with the example plugin and every kind of bad plugin installed (one subprocess,
    shared by the tests below)."""
    tmp = tmp_path_factory.mktemp("plugins")
    return _verify(["list", "--json"], _env(tmp, _bad_plugins(tmp)), tmp)


def test_list_discovers_the_example_plugin(listing: subprocess.CompletedProcess) -> None:
    proc = listing
    ids = _ids(proc)
    assert {"example.ngd-direction", "example.gd-fast"} <= set(ids)
    assert "vdt24.global" in ids  # in-tree modules come first and stay
    assert ids.index("vdt24.global") < ids.index("example.gd-fast")
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert rows["example.gd-fast"]["module"] == "example"
    assert "DELIBERATELY FALSE" in rows["example.gd-fast"]["title"]


def _bad_plugins(tmp_path: Path) -> dict[str, str]:
    """Plugins broken in every way the registry must survive; their module files live in tmp_path/site."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "boom_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    (site / "exit_plugin.py").write_text("import sys\nsys.exit(3)\n")
    (site / "noprov_plugin.py").write_text(
        "import dataclasses\n"
        "from theorems.template import MODULE as T, CLAIMS\n"
        "c = dataclasses.replace(CLAIMS['template.ngd-direction'], id='noprov.claim', provenance=None)\n"
        "MODULE = dataclasses.replace(T, key='noprov', claims={'noprov.claim': c})\n")
    (site / "clash_plugin.py").write_text(
        "import dataclasses\n"
        "from theorems.vdt24 import MODULE as V\n"
        "MODULE = dataclasses.replace(V, key='clash')\n")
    return {
        "missing": "no_such_module_for_verify:MODULE",
        "boom": "boom_plugin:MODULE",
        "exits": "exit_plugin:MODULE",
        "notamodule": "json:dumps",
        "noattr": "json:NO_SUCH_ATTRIBUTE",
        "noprov": "noprov_plugin:MODULE",
        "clash": "clash_plugin:MODULE",
        "good": "theorems.template:MODULE",
    }


def test_bad_plugins_are_reported_and_skipped(listing: subprocess.CompletedProcess) -> None:
    proc = listing
    ids = _ids(proc)
    assert "template.ngd-direction" in ids  # the good plugin next to the bad ones still loads
    assert "example.gd-fast" in ids
    assert "noprov.claim" not in ids
    assert "Traceback" not in proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: skipping theorem plugin")]
    reasons = {name: next((w for w in warnings if f"plugin {name!r}" in w), "") for name in
               ("missing", "boom", "exits", "notamodule", "noattr", "noprov", "clash")}
    assert all(reasons.values()), (reasons, proc.stderr)
    assert "ModuleNotFoundError" in reasons["missing"]
    assert "boom at import" in reasons["boom"]
    assert "SystemExit: 3" in reasons["exits"]  # a plugin calling sys.exit() on import is contained too
    assert "not a TheoremModule" in reasons["notamodule"]
    assert "provenance" in reasons["noprov"]
    assert "already registered" in reasons["clash"]


def test_check_survives_bad_plugins(tmp_path: Path) -> None:
    proc = _verify(["check", "no.such.claim"], _env(tmp_path, _bad_plugins(tmp_path)), tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: unknown claim id")
    assert "Traceback" not in proc.stderr


def test_disable_plugins(tmp_path: Path) -> None:
    env = _env(tmp_path, _bad_plugins(tmp_path), VERIFY_DISABLE_PLUGINS="1")
    proc = _verify(["list", "--json"], env, tmp_path)
    ids = _ids(proc)
    assert "vdt24.global" in ids
    assert not [i for i in ids if i.startswith(("example.", "template."))]
    assert "warning" not in proc.stderr  # plugins are not even imported


@pytest.mark.skipif(not _example_installed(), reason="verify-example-plugin is not pip-installed (CI installs it)")
def test_installed_example_plugin_is_listed_by_the_console_script(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("verify")
    env = {k: v for k, v in os.environ.items() if k not in ("VERIFY_DISABLE_PLUGINS", "PYTHONPATH")}
    proc = subprocess.run([str(exe), "list", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert {"example.ngd-direction", "example.gd-fast"} <= set(_ids(proc))


def test_toolkit_refutes_the_deliberately_false_claim(tmp_path: Path) -> None:
    """``verify check example.gd-fast`` exits 1 and writes a confirmed counterexample report.

    The instance is pinned (exactly orthonormal tokens, n=3, T=5, d=15, generator seed 2458, smallest score gap
    0.21), so the test runs one assessment, its three confirmation runs and the re-checks under the readings of
    eps and Delta: it meets the strictest of them (eps = 0.01, Delta = 0.1), so the violation is robust.
    """
    sys.path.insert(0, str(ROOT))
    from theorems.attention.strategies import generate
    from verify.instance import atomic_write_text, dumps

    inst = generate(3, 5, 15, 2458, "orthonormal", 0.0)
    f = atomic_write_text(tmp_path / "inst.json", dumps(inst.to_json()))
    reports = tmp_path / "reports"
    proc = _verify(["check", "example.gd-fast", "--instance", str(f), "--reports", str(reports), "--quiet"],
                   _env(tmp_path), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    files = sorted(reports.glob("example.gd-fast--violated--*.json"))
    assert len(files) == 1, proc.stdout
    rep = json.loads(files[0].read_text())
    assert rep["verdict"] == "violated" and rep["kind"] == "counterexample"
    assert rep["status"].startswith("confirmed counterexample (confirmed by")
    assert all(c["agrees"] for c in rep["confirmation"] if c["applies"]) and len(rep["confirmation"]) == 3
    assert sum(c["applies"] for c in rep["confirmation"]) >= 2
    assert all(a["verdict"] == "holds" for a in rep["assumptions"] if a["role"] == "claim")
    assert rep["claim"]["provenance"]["tags"] == ["recon"]
    # GD's direction error decays far slower than t^-1: the fitted exponent is nowhere near -1
    assert rep["evidence"]["exponent"] > -0.5
    assert str(files[0]) in proc.stdout
