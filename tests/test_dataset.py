"""Real-data instances from scikit-learn's bundled digits (theorems/attention/dataset.py, ``verify dataset digits``).

The builder's tokens are checked against the raw images patch by patch (an independent slicing, not the
builder's reshape), the decoder against class means computed in a loop, the instance against the model's loader
(exact JSON round trip) and against a rebuild from its own ``meta``; the CLI verb writes a file that ``verify svm``
and ``verify trace`` accept; bad input gets one ``error:`` line and exit 2. Skipped without scikit-learn.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn (the 'data' extra) is not installed: no digits data set")

from theorems.attention import classifier as ac  # noqa: E402
from theorems.attention.dataset import SOURCE, digits_instance, load_digits_arrays, rebuild  # noqa: E402
from verify.cli import main  # noqa: E402
from verify.instance import dumps, load_instance  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, str]:
    return load_digits_arrays()


def test_instance_shapes_labels_and_exact_round_trip(data: tuple, tmp_path: Path) -> None:
    inst = digits_instance((0, 1), 4, 40, data=data)
    assert (inst.n, inst.T, inst.d) == (40, 4, 16)
    assert inst.y.tolist() == [1.0] * 20 + [-1.0] * 20
    assert abs(np.linalg.norm(inst.u) - 1) < 1e-15
    assert np.array_equal(inst.W0, np.zeros((16, 16)))
    assert np.allclose(inst.z, inst.X.mean(axis=1), rtol=0, atol=1e-15)  # the query is the mean token
    images, targets, _ = data
    assert [int(targets[i]) for i in inst.meta["indices"]] == [0] * 20 + [1] * 20
    assert inst.meta["indices"][:20] == np.flatnonzero(targets == 0)[:20].tolist()  # first n per class
    obj = json.loads(dumps(inst.to_json()))
    assert obj["schema"] == ac.SCHEMA
    assert ac.instance_from_json(obj) == inst  # the model's loader: bit-for-bit
    f = tmp_path / "d.json"
    f.write_text(dumps(inst.to_json()))
    assert load_instance(f) == inst  # schema dispatch through the registry
    for key in ("source", "classes", "patch", "n", "seed", "indices", "scaling", "query", "decoder"):
        assert key in inst.meta
    assert inst.meta["source"] == SOURCE and inst.meta["classes"] == [0, 1] and inst.meta["patch"] == 4


@pytest.mark.parametrize("patch", [4, 2, 1])
def test_tokens_are_the_image_patches_and_u_the_class_mean_difference(data: tuple, patch: int) -> None:
    """x_{i,t} = patch (r, c) of the image, flattened row by row, /16, minus the midpoint of the class means;
    u = unit(m_A - m_B): recomputed here by slicing the raw images and by explicit loops."""
    images, _, _ = data
    inst = digits_instance((3, 8), patch, 9, data=data)
    k = 8 // patch
    assert (inst.n, inst.T, inst.d) == (9, k * k, patch * patch)
    raw = np.zeros(inst.X.shape)
    for i, idx in enumerate(inst.meta["indices"]):
        for r in range(k):
            for c in range(k):
                raw[i, r * k + c] = images[idx][r * patch:(r + 1) * patch, c * patch:(c + 1) * patch].ravel() / 16
    sums = {1.0: np.zeros(inst.d), -1.0: np.zeros(inst.d)}
    counts = {1.0: 0, -1.0: 0}
    for i in range(inst.n):
        for t in range(inst.T):
            sums[inst.y[i]] += raw[i, t]
            counts[inst.y[i]] += 1
    m_a, m_b = sums[1.0] / counts[1.0], sums[-1.0] / counts[-1.0]
    assert counts[1.0] == 5 * inst.T and counts[-1.0] == 4 * inst.T  # ceil(9/2) threes, floor(9/2) eights
    assert np.allclose(inst.u, (m_a - m_b) / np.linalg.norm(m_a - m_b), rtol=0, atol=1e-14)
    assert np.allclose(inst.X, raw - (m_a + m_b) / 2, rtol=0, atol=1e-14)
    unit = digits_instance((3, 8), patch, 9, scaling="unit", data=data)
    assert np.allclose(unit.X, raw, rtol=0, atol=1e-15) and unit.X.min() >= 0 and unit.X.max() <= 1


def test_centering_shifts_each_sequence_scores_by_a_constant(data: tuple) -> None:
    """The docstring's claim: the optimal tokens and score gaps do not depend on the scaling."""
    c = digits_instance((0, 1), 4, 40, data=data)
    u = digits_instance((0, 1), 4, 40, scaling="unit", data=data)
    assert np.array_equal(ac.optimal_tokens(c), ac.optimal_tokens(u))
    assert np.allclose(ac.score_gaps(c), ac.score_gaps(u), rtol=0, atol=1e-12)
    shift = ac.token_scores(u) - ac.token_scores(c)
    assert np.allclose(shift, shift[:, :1], rtol=0, atol=1e-12)
    assert np.ptp(shift[:, 0]) > 0.1  # the shift itself is not zero: +-u^T(m_A + m_B)/2 with the label


def test_seeded_selection_and_exact_reproduction_from_meta(data: tuple) -> None:
    _, targets, _ = data
    first = digits_instance((3, 8), 4, 12, data=data)
    drawn = digits_instance((3, 8), 4, 12, seed=7, data=data)
    assert drawn.meta["seed"] == 7 and drawn.meta["indices"] != first.meta["indices"]
    assert [int(targets[i]) for i in drawn.meta["indices"]] == [3] * 6 + [8] * 6
    assert len(set(drawn.meta["indices"])) == 12
    assert digits_instance((3, 8), 4, 12, seed=7, data=data) == drawn  # deterministic in the seed
    for inst in (first, drawn):
        back = rebuild(json.loads(dumps(inst.to_json()))["meta"], data=data)
        assert back == inst
    forged = {**drawn.meta, "indices": first.meta["indices"]}
    with pytest.raises(Exception, match="indices differ"):
        rebuild(forged, data=data)


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_cli_writes_an_instance_that_svm_and_trace_accept(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          data: tuple) -> None:
    f = tmp_path / "sub" / "digits.json"
    assert main(["dataset", "digits", "--classes", "3,8", "--patch", "4", "--n", "12", "--out", str(f)]) == 0
    out = capsys.readouterr().out
    assert "12 images" in out and "T = 4 tokens of d = 16" in out
    assert load_instance(f) == digits_instance((3, 8), 4, 12, data=data)
    assert not [p for p in f.parent.iterdir() if p.name != f.name]  # no temp file left behind (atomic write)
    assert main(["svm", "--instance", str(f), "--json"]) == 0
    svm = json.loads(capsys.readouterr().out)
    assert svm["certified"] is True and svm["status"] == "optimal" and svm["norm"] > 0
    for method in ("ngd", "polyak", "gd"):
        assert main(["trace", "--instance", str(f), "--method", method, "--steps", "400", "--json"]) == 0, method
        rows = json.loads(capsys.readouterr().out)
        assert rows[-1]["t"] == 400 and all(r["precision_ok"] for r in rows)
        assert rows[-1]["loss_gap"] < rows[0]["loss_gap"], method  # a descent method: L - L* falls
        if method != "gd":  # the normalized methods already turn towards W_mm (GD's first steps need not)
            assert rows[-1]["dir_err"] < rows[0]["dir_err"] - 0.05, method
    assert main(["trace", "--instance", str(f), "--joint", "--steps", "40", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["loss"] < rows[0]["loss"] and "u_dir_err" in rows[-1]


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--classes", "0,0", "--patch", "4"], "two different digits"),
    (["--classes", "0,10", "--patch", "4"], "digits 0..9"),
    (["--classes", "-1,3", "--patch", "4"], "digits 0..9"),
    (["--classes", "a,b", "--patch", "4"], "comma-separated integers"),
    (["--classes", "1,2,3", "--patch", "4"], "two digits A,B"),
    (["--classes", "0,1", "--patch", "3"], "--patch must divide 8"),
    (["--classes", "0,1", "--patch", "8"], "at least 2 patches"),
    (["--classes", "0,1", "--patch", "4", "--n", "1"], "--n must be an integer >= 2"),
    (["--classes", "0,1", "--patch", "4", "--n", "400"], "--n can be at most 356"),
    (["--classes", "0,1"], "required: --patch"),
])
def test_bad_input_is_one_error_line(argv: list[str], fragment: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.json"
    assert main(["dataset", "digits", *argv, "--out", str(out)]) == 2
    assert fragment in _one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_unwritable_out_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    for target, fragment in ((blocker / "x.json", "not writable"), (tmp_path, "is a folder")):
        assert main(["dataset", "digits", "--classes", "0,1", "--patch", "4", "--out", str(target)]) == 2
        assert fragment in _one_error_line(capsys.readouterr().err)


def test_missing_scikit_learn_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    out = tmp_path / "x.json"
    assert main(["dataset", "digits", "--classes", "0,1", "--patch", "4", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "scikit-learn" in line and "attention-verify[data]" in line
    assert not out.exists()


@pytest.mark.parametrize("args", [["list"], ["--help"], ["dataset", "digits", "--help"]])
def test_start_up_does_not_import_scikit_learn(args: list[str]) -> None:
    code = (f"import sys\nfrom verify.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('sklearn', 'theorems.attention.dataset') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-500:]
