"""The ``verify`` command line: bad input is one ``error:`` line with exit code 2; good input gives the
documented JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from theorems.attention.svm import solve_att_svm
from verify.cli import main
from verify.errors import InfeasibleProblemError, VerifyInputError
from verify.instance import dumps


def _write(path: Path, obj: object) -> str:
    path.write_text(obj if isinstance(obj, str) else dumps(obj), encoding="utf-8")
    return str(path)


def _tiny() -> ac.AttentionInstance:
    return generate(2, 3, 6, seed=1, tokens="orthonormal")


def _assert_input_error(capsys: pytest.CaptureFixture, argv: list[str], *fragments: str) -> str:
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


# ------------------------------------------------------------------------------------------- bad inputs
def test_malformed_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = _write(tmp_path / "bad.json", '{"schema": "attention-classification/1", "X": [[[1, 2]]')
    _assert_input_error(capsys, ["svm", "--instance", p], "malformed JSON")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _assert_input_error(capsys, ["svm", "--instance", str(tmp_path / "nope.json")], "no such file")
    _assert_input_error(capsys, ["trace", "--instance", str(tmp_path / "nope.json")], "no such file")


@pytest.mark.parametrize("field,value,fragment", [
    ("X", [[1.0, 2.0], [3.0, 4.0]], "'X'"),  # not 3-d
    ("y", [1.0, -1.0, 1.0], "'y'"),  # n = 2 sequences
    ("u", [1.0, 0.0, 0.0], "'u'"),  # d = 6
    ("y", [1.0, 0.5], "'y'"),  # labels must be +-1
    ("z", [[1.0] * 6], "'z'"),  # z needs n rows
    ("X", "tokens", "'X'"),
])
def test_wrong_shapes(tmp_path: Path, capsys: pytest.CaptureFixture, field: str, value: object,
                      fragment: str) -> None:
    obj = _tiny().to_json()
    obj[field] = value
    p = _write(tmp_path / "inst.json", obj)
    for cmd in ("svm", "trace"):
        _assert_input_error(capsys, [cmd, "--instance", p], fragment)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", '"Infinity"', '"nan"'])
def test_non_finite_values_in_X(tmp_path: Path, capsys: pytest.CaptureFixture, literal: str) -> None:
    text = dumps(_tiny().to_json())
    first = json.dumps(_tiny().X[0, 0, 0])
    assert text.count(first) >= 1
    p = _write(tmp_path / "inst.json", text.replace(first, literal, 1))
    _assert_input_error(capsys, ["svm", "--instance", p])
    _assert_input_error(capsys, ["trace", "--instance", p, "--steps", "5"])


def _infeasible_instance(seed: int = 3) -> ac.AttentionInstance:
    """Two identical sequences (same z) with opposite labels: opt_0 = argmax u^T x, opt_1 = argmin u^T x, so the
    constraints (x_a - x_b)^T W z >= 1 and (x_b - x_a)^T W z >= 1 contradict each other (y = (1/2, 1/2) on
    those two rows is an exact Farkas certificate: A^T y = 0)."""
    rng = np.random.default_rng(seed)
    seq = rng.normal(size=(4, 5))
    inst = ac.make_instance(np.stack([seq, seq]), [1.0, -1.0], rng.normal(size=5))
    opt = ac.optimal_tokens(inst)
    assert opt[0] != opt[1] and ac.score_gaps(inst).min() > 0
    return inst


def test_infeasible_svm(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    inst = _infeasible_instance()
    opt = ac.optimal_tokens(inst)
    a, b = int(opt[0]), int(opt[1])
    x, z = inst.X[0], inst.z[0]
    # Infeasibility by hand: the two constraint rows are exact negatives of each other.
    assert np.array_equal(np.outer(x[a] - x[b], z), -np.outer(x[b] - x[a], z))
    with pytest.raises(VerifyInputError):
        solve_att_svm(inst.X, inst.z, opt.tolist())
    p = _write(tmp_path / "infeasible.json", inst.to_json())
    _assert_input_error(capsys, ["svm", "--instance", p])
    _assert_input_error(capsys, ["svm", "--instance", p, "--json"])


@pytest.mark.parametrize("seed", [0, 3])
def test_infeasible_svm_is_certified_infeasible(tmp_path: Path, capsys: pytest.CaptureFixture, seed: int) -> None:
    inst = _infeasible_instance(seed)
    with pytest.raises(InfeasibleProblemError):
        solve_att_svm(inst.X, inst.z, ac.optimal_tokens(inst).tolist())
    line = _assert_input_error(capsys, ["svm", "--instance", _write(tmp_path / "i.json", inst.to_json())])
    assert "infeasible" in line and "no Farkas certificate" not in line


def _tied_instance() -> ac.AttentionInstance:
    eye = np.eye(6)
    X = np.stack([eye[[0, 1, 2]], eye[[3, 4, 5]]])
    u = np.array([1.0, 1.0, 0.0, 1.0, 0.5, 0.0])  # sequence 0: tokens 0 and 1 tie exactly
    return ac.make_instance(X, [1.0, 1.0], u)


def test_non_unique_optimal_token(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    inst = _tied_instance()
    assert ac.score_gaps(inst)[0] == 0.0
    p = _write(tmp_path / "tied.json", inst.to_json())
    _assert_input_error(capsys, ["svm", "--instance", p], "not unique")
    _assert_input_error(capsys, ["trace", "--instance", p, "--steps", "10"], "not unique")
    _assert_input_error(capsys, ["trace", "--instance", p, "--steps", "10", "--backend", "mpmath"], "not unique")


@pytest.mark.parametrize("eta", ["-0.1", "0", "nan", "inf"])
def test_bad_eta_for_trace(tmp_path: Path, capsys: pytest.CaptureFixture, eta: str) -> None:
    p = _write(tmp_path / "inst.json", _tiny().to_json())
    _assert_input_error(capsys, ["trace", "--instance", p, f"--eta={eta}", "--steps", "10"], "eta")


def test_bad_numbers_for_trace(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = _write(tmp_path / "inst.json", _tiny().to_json())
    _assert_input_error(capsys, ["trace", "--instance", p, "--steps=-1"], "--steps")
    _assert_input_error(capsys, ["trace", "--instance", p, "--backend", "mpmath", "--dps", "5"], "dps")
    _assert_input_error(capsys, ["trace", "--instance", p, "--checkpoints", "1,x"], "--checkpoints")
    _assert_input_error(capsys, ["trace", "--instance", p, "--eta", "abc"])


def test_unknown_claim_and_profile(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _assert_input_error(capsys, ["check", "vdt24.nonexistent", "--reports", str(tmp_path)], "unknown claim id")
    _assert_input_error(capsys, ["check", "vdt24.global", "--profile", "nope", "--reports", str(tmp_path)],
                        "unknown profile")
    _assert_input_error(capsys, ["audit", "no.such.claim", "--reports", str(tmp_path)], "unknown claim id")
    _assert_input_error(capsys, ["check", "--reports", str(tmp_path)])  # no claim named
    assert not any(tmp_path.iterdir())  # nothing was written


def test_unknown_command_and_option(capsys: pytest.CaptureFixture) -> None:
    _assert_input_error(capsys, ["frobnicate"])
    _assert_input_error(capsys, ["list", "--bogus"])
    _assert_input_error(capsys, [])


def test_instance_without_schema(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    obj = _tiny().to_json()
    del obj["schema"]
    _assert_input_error(capsys, ["svm", "--instance", _write(tmp_path / "s.json", obj)], "schema")
    _assert_input_error(capsys, ["svm", "--instance", _write(tmp_path / "l.json", [1, 2, 3])])


# ------------------------------------------------------------------------------------------ good inputs
def test_list_json(capsys: pytest.CaptureFixture) -> None:
    assert main(["list", "--json"]) == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)
    by_id = {r["id"]: r for r in rows}
    for cid in ("vdt24.global", "vdt24.ngd-rate"):
        assert cid in by_id
        r = by_id[cid]
        assert isinstance(r["provenance"], str) and r["provenance"].strip()
        assert r["module"] == "vdt24" and r["assumptions"]
    assert by_id["vdt24.global"]["kind"] == "limit" and by_id["vdt24.ngd-rate"]["kind"] == "order"


def test_svm_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    inst = _tiny()
    p = _write(tmp_path / "inst.json", inst.to_json())
    assert main(["svm", "--instance", p, "--json"]) == 0
    out, _ = capsys.readouterr()
    obj = json.loads(out)
    for k in ("norm", "margin", "support", "status", "max_constraint_violation", "locally_optimal"):
        assert k in obj, k
    assert obj["status"] == "optimal" and obj["locally_optimal"] == "optimal"
    # Orthonormal tokens, z = first token: the SVM solution is known to be feasible with margin = 1/norm.
    assert obj["margin"] == pytest.approx(1 / obj["norm"], rel=1e-9)
    assert obj["max_constraint_violation"] <= 1e-12
    assert all(len(s) == 2 for s in obj["support"])
    assert obj["alpha"] == [int(a) for a in ac.optimal_tokens(inst)]


def test_trace_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = _write(tmp_path / "inst.json", _tiny().to_json())
    assert main(["trace", "--instance", p, "--steps", "200", "--json"]) == 0
    out, _ = capsys.readouterr()
    rows = json.loads(out)
    assert rows and rows[-1]["t"] == 200
    for r in rows:
        for k in ("t", "dir_err", "corr", "max_nonopt_attention", "loss_gap", "norm", "precision_ok"):
            assert k in r, k
        assert r["precision_ok"] is True
    errs = [r["dir_err"] for r in rows if r["t"] >= 10]
    assert errs[-1] < errs[0]  # NGD on orthonormal tokens converges towards W_mm
    assert 0 < rows[-1]["loss_gap"] < rows[0]["loss_gap"]


def test_trace_mpmath_backend(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = _write(tmp_path / "inst.json", _tiny().to_json())
    argv = ["trace", "--instance", p, "--steps", "20", "--checkpoints", "0,5,20", "--json"]
    assert main([*argv, "--backend", "mpmath", "--dps", "30"]) == 0
    mp_rows = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    np_rows = json.loads(capsys.readouterr().out)
    assert [r["t"] for r in mp_rows] == [0, 5, 20]
    # t = 0 is W = 0 (direction undefined); afterwards float64 and 30 digits agree to far better than 1e-10.
    for a, b in zip(mp_rows[1:], np_rows[1:], strict=True):
        assert a["dir_err"] == pytest.approx(b["dir_err"], abs=1e-10)
        assert a["norm"] == pytest.approx(b["norm"], rel=1e-10)
    # and the text form works too
    assert main(["trace", "--instance", p, "--steps", "5", "--backend", "mpmath", "--dps", "30"]) == 0
    assert "dir_err" in capsys.readouterr().out
