"""Edges of the command line: each bad input or interruption gives one line, its documented exit code and no
traceback; output folders are checked before any computing; files follow the umask."""

from __future__ import annotations

import json
import os
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


@pytest.mark.parametrize(("argv", "needle"), [
    (["trace", "--instance", "INST", "--checkpoints", "50,60", "--steps", "20"], "must lie in 0..--steps (20)"),
    (["trace", "--instance", "INST", "--checkpoints", "-1,5", "--steps", "20"], "got [-1]"),
    (["trace", "--instance", "INST", "--steps", "20", "--dps", "40"], "--dps sets the mpmath precision"),
    (["check", "--all", "vdt24.ngd-rate"], "either --all or claim ids"),
])
def test_bad_options_are_one_line(argv: list[str], needle: str, instance_file: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(instance_file) if a == "INST" else a for a in argv]
    assert main(argv) == 2
    assert needle in _one_error_line(capsys)


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


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_reports_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    assert main(["check", "vdt24.ngd-rate", "--reports", str(ro), "--quiet"]) == 2
    assert "not writable" in _one_error_line(capsys)


def test_show_html_into_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["show", str(tmp_path), "--html", str(f)]) == 2
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
