"""``verify map``: the grid, bad input (exit 2, one line), map.json and map.png, and resumption after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verify.cli import main
from verify.errors import VerifyInputError
from verify.map import crossing, parse_vary

KNOWN = {"n": 4, "d": 16, "scale": 1.0}


def test_parse_vary_linear_log_and_integer() -> None:
    assert parse_vary("d=4:40:4", KNOWN).values == (4, 16, 28, 40)
    assert parse_vary("scale=0.1:10:3", KNOWN, log=True).values == pytest.approx((0.1, 1.0, 10.0))
    assert parse_vary("scale=0:1:3", KNOWN).values == (0.0, 0.5, 1.0)
    assert parse_vary("n=3:3:1", KNOWN).values == (3,)
    with pytest.raises(VerifyInputError, match="distinct integers"):
        parse_vary("n=2:3:5", KNOWN)


def test_crossing_interpolates_and_ignores_touching() -> None:
    assert crossing([4, 16], [0.25, 0.75]) == pytest.approx(10.0)
    assert crossing([1, 100], [1.0, 0.0], log=True) == pytest.approx(10.0)
    assert crossing([4, 16, 28], [0.5, 1.0, 1.0]) is None
    assert crossing([4, 16], [None, 1.0]) is None


@pytest.mark.parametrize(("argv", "fragment"), [
    (["vdt24.global", "--vary", "d=4:40"], "expected NAME=LO:HI:N"),
    (["vdt24.global", "--vary", "d=a:40:4"], "must be numbers"),
    (["vdt24.global", "--vary", "zeta=1:2:2"], "unknown parameter"),
    (["vdt24.global", "--vary", "d=4:40:0"], "N must be >= 1"),
    (["vdt24.global", "--vary", "d=4:40:2", "--log", "n"], "not a varied parameter"),
    (["vdt24.global", "--vary", "scale=0:1:2", "--log", "scale"], "must be > 0"),
    (["vdt24.global", "--vary", "d=4:8:2", "--vary", "d=4:8:2"], "given twice"),
    (["vdt24.global", "--vary", "d=4:8:2", "--vary", "n=2:3:2", "--vary", "T=2:3:2"], "at most twice"),
    (["vdt24.global"], "--vary"),
    (["vdt24.joint-dir", "--vary", "d=4:8:2"], "has no grid"),
    (["prior.gd-local", "--vary", "d=4:8:2"], "has no grid"),
    (["vdt24.global", "--vary", "d=4:8:2", "--instances", "0"], "--instances must be >= 1"),
])
def test_bad_input_exits_2_with_one_line(argv: list[str], fragment: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    if "--instances" not in argv:
        argv = [*argv, "--instances", "2"]
    assert main(["map", *argv, "--results", str(tmp_path / "m"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], err
    assert not (tmp_path / "m" / "map.json").exists()


def _result_files(out: Path) -> dict[str, int]:
    return {str(f): f.stat().st_mtime_ns for f in (out / "cells").glob("*/instances/*.json")}


def test_map_writes_cells_and_resumes_after_sigkill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two cells of two instances; the first run is killed (SIGKILL) once a result file exists; the re-run keeps
    every finished result file untouched (same mtime) and computes only the rest."""
    out = tmp_path / "map"
    argv = ["map", "vdt24.global", "--vary", "d=16:28:2", "--instances", "2", "--profile", "quick",
            "--results", str(out), "--quiet"]
    env = {**os.environ, "VERIFY_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "verify", *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while not _result_files(out) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = _result_files(out)
    assert before, "the first run wrote no result file"
    assert main(argv) == 0
    text = capsys.readouterr().out
    after = _result_files(out)
    assert len(after) == 4
    assert all(after[f] == t for f, t in before.items()), "a finished instance was recomputed"
    m = json.loads((out / "map.json").read_text())
    assert m["schema"] == "verify-map/1" and m["claim"] == "vdt24.global"
    assert m["vary"] == [{"name": "d", "values": [16, 28], "log": False}]
    assert m["fixed"] == {"n": 4, "T": 4, "scale": 1.0, "init_scale": 0.0, "d_over_nT": 0.0}
    assert len(m["cells"]) == 2
    ran = 0
    for c in m["cells"]:
        assert set(c) >= {"params", "counts", "fraction", "interval", "median_metric", "slacks", "applicable"}
        assert sum(c["counts"].values()) == 2
        assert c["fraction"] == c["counts"].get("holds", 0) / 2
        lo, hi = c["interval"]
        assert 0 <= lo <= c["fraction"] <= hi <= 1
        assert set(m["assumptions"]) <= set(c["slacks"])
        ran += c["ran"]
        assert (out / "cells" / c["id"] / "manifest.json").exists()
    assert ran == 4 - len(before)
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "\nd=16 " in text and "\nd=28 " in text and "map in" in text
    # a third run recomputes nothing
    assert main(argv) == 0
    assert _result_files(out) == after
    assert all(c["ran"] == 0 for c in json.loads((out / "map.json").read_text())["cells"])


def test_heatmap_with_crossings_is_drawn(tmp_path: Path) -> None:
    """Two varied parameters: a heatmap, the 1/2 crossings along the first one (no evaluation: synthetic cells)."""
    from verify.map import Axis, MapResult, crossings_of, plot_map

    axes = [Axis("d", (4, 16, 28)), Axis("scale", (0.5, 2.0), log=True)]
    frac = {(4, 0.5): 0.0, (16, 0.5): 0.75, (28, 0.5): 1.0, (4, 2.0): 0.25, (16, 2.0): 0.25, (28, 2.0): 0.5}
    cells = [{"params": {"d": d, "scale": s}, "fraction": f, "interval": [0.0, 1.0]} for (d, s), f in frac.items()]
    crossings = crossings_of(axes, cells)
    assert [{k: x[k] for k in ("along", "at", "value")} for x in crossings] == [
        {"along": "d", "at": {"scale": 0.5}, "value": pytest.approx(12.0)},
        {"along": "d", "at": {"scale": 2.0}, "value": pytest.approx(28.0)}]
    res = MapResult("x.claim", axes, cells, str(tmp_path), crossings, fixed={"n": 4}, instances=4)
    plot_map(res, tmp_path / "map.png")
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "map.png"]  # no temporary file left behind
