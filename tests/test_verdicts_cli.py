"""``verify check`` and ``audit`` as a user sees them: exit codes, the error log, reason codes and seeds.

The claims here are small planted variants of vdt24.ngd-rate (few steps, tiny instances) registered by patching
the registry, so each ``verify check`` takes seconds.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from theorems import vdt24
from verify import registry
from verify.cli import main
from verify.theory import Evidence


def _with_claims(monkeypatch: pytest.MonkeyPatch, *claims) -> None:  # type: ignore[no-untyped-def]
    module = dataclasses.replace(vdt24.MODULE, key="planted", claims={c.id: c for c in claims})
    monkeypatch.setattr(registry, "modules", lambda: {"planted": module})


def _raises(claim, instance, settings, cache) -> Evidence:  # type: ignore[no-untyped-def]
    raise KeyError("a parameter the evaluator expected")


def _records_instances(seen: list):  # type: ignore[no-untyped-def]
    base = vdt24.CLAIMS["vdt24.ngd-rate"]

    def evaluate(claim, instance, settings, cache):  # type: ignore[no-untyped-def]
        seen.append(json.dumps(instance.to_json(), sort_keys=True))
        return base.evaluate(claim, instance, settings.but(steps=200), cache)

    return evaluate


def test_an_evaluator_that_raises_makes_check_exit_3_with_a_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    claim = dataclasses.replace(vdt24.CLAIMS["vdt24.ngd-rate"], evaluate=_raises)
    _with_claims(monkeypatch, claim)
    rc = main(["check", "vdt24.ngd-rate", "--reports", str(tmp_path), "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 3, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "vdt24.ngd-rate" in lines[0] and "errors.log" in lines[0]
    assert "Traceback" not in out + err
    log = (tmp_path / "errors.log").read_text()
    assert "Traceback" in log and "KeyError" in log
    assert "vdt24.ngd-rate" in out and " error " in out


def test_an_evaluator_that_raises_makes_audit_exit_3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    claim = dataclasses.replace(vdt24.CLAIMS["vdt24.ngd-rate"], evaluate=_raises)
    _with_claims(monkeypatch, claim)
    rc = main(["audit", "vdt24.ngd-rate", "--reports", str(tmp_path), "--quiet", "--examples", "1"])
    out, err = capsys.readouterr()
    assert rc == 3 and "Traceback" not in out + err and (tmp_path / "errors.log").exists()


def test_seeds_change_the_instances_searched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    draws: dict[int, list[str]] = {}
    for seed in (1, 2):
        seen: list[str] = []
        claim = dataclasses.replace(vdt24.CLAIMS["vdt24.ngd-rate"],
                                    evaluate=_records_instances(seen))
        _with_claims(monkeypatch, claim)
        assert main(["check", "vdt24.ngd-rate", "--seed", str(seed), "--reports", str(tmp_path / str(seed)),
                     "--quiet"]) in (0, 1)
        draws[seed] = seen
    assert draws[1] and draws[2] and set(draws[1]) != set(draws[2])


def test_the_same_seed_gives_identical_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    outs = []
    for k in range(2):
        seen: list[str] = []
        claim = dataclasses.replace(vdt24.CLAIMS["vdt24.ngd-rate"],
                                    evaluate=_records_instances(seen))
        _with_claims(monkeypatch, claim)
        main(["check", "vdt24.ngd-rate", "--seed", "1", "--reports", str(tmp_path / str(k)), "--quiet", "--json"])
        outs.append((seen, json.loads(capsys.readouterr().out)))
    assert outs[0] == outs[1]


def test_exit_codes_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "3 evaluation error" in out and "replay        0 reproduced, 1 not reproduced" in out
