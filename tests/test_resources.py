"""verify/resources.py: memory and time estimates, the one-line refusal, --max-memory / --max-time, and the
shape sniffer that refuses a hopeless instance before it is parsed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from theorems.attention import resources as ars
from verify import resources as rs
from verify.cli import main
from verify.errors import VerifyInputError


def test_svm_estimate_is_monotone() -> None:
    base = ars.svm_estimate(50, 10, 20)
    for bigger in (ars.svm_estimate(100, 10, 20), ars.svm_estimate(50, 20, 20), ars.svm_estimate(50, 10, 40),
                   ars.svm_estimate(50, 10, 20, dps=100)):
        assert bigger.bytes >= base.bytes and bigger.seconds >= base.seconds
    sizes = [ars.svm_estimate(n, 20, 50).bytes for n in (10, 50, 100, 200, 400, 1000)]
    assert sizes == sorted(sizes)


def test_trajectory_estimate_is_monotone() -> None:
    kw = {"steps": 1000, "checkpoints": 31}
    base = ars.trajectory_estimate(4, 5, 10, **kw)
    for bigger in (ars.trajectory_estimate(8, 5, 10, **kw), ars.trajectory_estimate(4, 10, 10, **kw),
                   ars.trajectory_estimate(4, 5, 10, steps=10_000, checkpoints=31),
                   ars.trajectory_estimate(4, 5, 10, steps=1000, checkpoints=300),
                   ars.trajectory_estimate(4, 5, 10, batch=64, **kw),
                   ars.trajectory_estimate(4, 5, 10, backend="mpmath", **kw),
                   ars.trajectory_estimate(4, 5, 10, backend="mpmath", dps=100, **kw)):
        assert bigger.bytes >= base.bytes and bigger.seconds >= base.seconds
    assert ars.trajectory_estimate(4, 5, 40, representation="dense", **kw).bytes > \
        ars.trajectory_estimate(4, 5, 20, representation="dense", **kw).bytes


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc for the peak RSS")
def test_estimate_is_close_to_measured_memory_on_a_small_instance() -> None:
    """Peak RSS of a fresh process that certifies a small Att-SVM, against the estimate (within 2x)."""
    # VmHWM (peak RSS of this process image), not ru_maxrss, which Linux carries over from the forking parent
    code = ("import re; import numpy as np; from theorems.attention.svm import solve_att_svm; "
            "rng = np.random.default_rng(0); X = rng.normal(size=(30, 6, 10)) / 3; "
            "s = solve_att_svm(X, X[:, 0], [0] * 30); "
            "hwm = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()); "
            "print(s.certified, int(hwm.group(1)) * 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    certified, peak = out.stdout.split()
    est = ars.svm_estimate(30, 6, 10).bytes
    assert certified == "True"
    assert 0.5 <= est / int(peak) <= 2.0, (est, peak)


@pytest.mark.parametrize(("text", "value"), [("8G", 8 * 10**9), ("512M", 512 * 10**6), ("2GiB", 2 * 2**30),
                                             ("1.5 gb", 1_500_000_000), ("1e9", 10**9), ("none", None), ("0", None)])
def test_parse_size(text: str, value: int | None) -> None:
    assert rs.parse_size(text) == value


@pytest.mark.parametrize("text", ["lots", "8Q", "-1G", "0.1"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(VerifyInputError, match="--max-memory"):
        rs.parse_size(text)


def test_default_limit_is_half_of_mem_available(tmp_path: Path) -> None:
    f = tmp_path / "meminfo"
    f.write_text("MemTotal:       24683652 kB\nMemFree:        1000 kB\nMemAvailable:   18246892 kB\n")
    assert rs.mem_available(f) == 18246892 * 1024
    assert rs.mem_available(tmp_path / "missing") is None
    assert rs.default_max_memory() > 0


def test_enforce_gives_one_line_with_estimate_and_limit() -> None:
    est = ars.svm_estimate(2000, 50, 200)
    with pytest.raises(VerifyInputError) as info:
        rs.enforce(est, "8G")
    msg = str(info.value)
    assert "\n" not in msg and "GB" in msg and "--max-memory 7.45 GB" in msg and "n=2000, T=50, d=200" in msg
    rs.enforce(est, None)  # no limit
    with pytest.raises(VerifyInputError, match="--max-time 60 s"):
        rs.enforce(est, None, max_seconds=60)


def _attention_file(path: Path, n: int, T: int, d: int) -> Path:
    """A valid instance file of shape (n, T, d) written fast (X in small integers, text built by repetition)."""
    rng = np.random.default_rng(0)
    rows = ["[" + ",".join(str(v) for v in rng.integers(-3, 4, size=d)) + "]" for _ in range(T)]
    seq = "[" + ",".join(rows) + "]"
    X = "[" + ",".join([seq] * n) + "]"
    u = json.dumps(rng.normal(size=d).tolist())
    y = json.dumps([1.0] * n)
    path.write_text(f'{{"schema": "attention-classification/1", "y": {y}, "u": {u}, "X": {X}}}')
    return path


def test_sniff_shape(tmp_path: Path) -> None:
    f = _attention_file(tmp_path / "i.json", 7, 4, 3)
    assert ars.sniff_attention_shape(f, min_bytes=0) == (7, 4, 3)
    assert ars.sniff_attention_shape(f) is None  # small files are simply parsed
    ragged = tmp_path / "r.json"
    ragged.write_text('{"X": [[[1, 2], [3]], [[1, 2], [3, 4]]]}')
    assert ars.sniff_attention_shape(ragged, min_bytes=0) is None


def test_huge_instance_refused_before_parsing_with_the_estimate(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """n = 2000, T = 50, d = 200 (the size the OOM killer used to end): refused from the file's bytes, before the
    JSON is parsed, with one line giving the estimate and the limit. (How long the refusal takes is measured by
    ``benchmarks/timings.py --only refusal``.)"""
    import verify.instance

    def parsed(path: object) -> None:
        raise AssertionError(f"{path} was parsed before the refusal")

    f = _attention_file(tmp_path / "huge.json", 2000, 50, 200)
    monkeypatch.setattr(verify.instance, "read_json", parsed)
    assert main(["svm", "--instance", str(f), "--max-memory", "8G"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: refused: the certified Att-SVM needs about")
    assert "n=2000, T=50, d=200" in err and "--max-memory 7.45 GB" in err and "Traceback" not in err


def test_trace_and_svm_refuse_under_a_tiny_limit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = _attention_file(tmp_path / "small.json", 3, 3, 4)
    for argv in (["svm", "--instance", str(f), "--max-memory", "1M"],
                 ["trace", "--instance", str(f), "--steps", "10", "--max-memory", "1M"],
                 ["svm", "--instance", str(f), "--max-time", "1e-9"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: refused:") and "\n" not in err, err
    assert main(["svm", "--instance", str(f), "--max-memory", "lots"]) == 2
    assert "--max-memory must be a size" in capsys.readouterr().err
