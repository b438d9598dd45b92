"""The reports committed under docs/findings/reports are what the docs cite: each is valid, says what kind of
finding it is, and replays exactly with the installed code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.replay import replay

REPORTS = sorted((Path(__file__).resolve().parents[1] / "docs" / "findings" / "reports").glob("*.json"))


def test_there_are_committed_reports() -> None:
    assert REPORTS


@pytest.mark.parametrize("path", REPORTS, ids=[p.stem for p in REPORTS])
def test_committed_report_replays_exactly(path: Path) -> None:
    rep = json.loads(path.read_text())
    assert rep["kind"] in ("counterexample", "audit")
    if rep["kind"] == "audit":  # an audit names the assumption it broke, and its file name says audit
        assert rep["broken_assumption"] and f"--audit-{rep['broken_assumption']}--" in path.name
    result = replay(str(path))
    assert result.reproduced, result.lines
