"""The report schema: typed models, the committed JSON Schema files, the docs page that explains them, run
summaries, the non-finite spellings, and pydantic staying out of start-up."""

from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from verify.errors import VerifyInputError
from verify.report import REPORT_SCHEMA, RUN_SCHEMA, load_runs, validate_report, validate_run, write_run_summary
from verify.report.fmt import NONFINITE, as_float
from verify.report.schema import SCHEMA_FILES, json_schemas, render_json_schema
from verify.verdicts import KIND_AUDIT, KIND_COUNTEREXAMPLE, REPORT_KINDS

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "docs" / "schema"
DOCS_PAGE = ROOT / "docs" / "report-schema.md"
PACKAGE = ROOT / "verify" / "report"
COMMITTED = sorted((ROOT / "docs" / "findings" / "reports").glob("*.json"))


def committed_report() -> dict:
    return json.loads(COMMITTED[0].read_text(encoding="utf-8"))


def a_run(**changes: object) -> dict:
    row = {"claim_id": "vdt24.global", "verdict": "holds", "tried": 3, "counts": {"holds": 3}, "reports": [],
           "exponents": [-0.5, "nan"], "worst_ratio": None}
    run = {"schema": RUN_SCHEMA, "created": "2026-01-02T03:04:05+00:00", "command": "verify check --all",
           "profile": "quick", "seed": 0, "claims": [row]}
    run.update(changes)
    return run


@pytest.mark.parametrize("key", sorted(SCHEMA_FILES))
def test_committed_schema_file_is_what_the_models_generate(key: str) -> None:
    path = SCHEMA_DIR / SCHEMA_FILES[key]
    assert path.is_file(), f"{path} is missing: run `python -m verify.report` from the repository root"
    assert path.read_text(encoding="utf-8") == render_json_schema(json_schemas()[key]), (
        f"{path} differs from the models: run `python -m verify.report` from the repository root")


def test_report_schema_is_one_of_the_two_kinds() -> None:
    from verify.report.models import AuditReport, CounterexampleReport

    assert get_args(CounterexampleReport.model_fields["kind"].annotation) == (KIND_COUNTEREXAMPLE,)
    assert get_args(AuditReport.model_fields["kind"].annotation) == (KIND_AUDIT,)
    schema = json_schemas()["report"]
    assert schema["title"] == REPORT_SCHEMA and schema["$schema"].endswith("2020-12/schema")
    assert set(schema["discriminator"]["mapping"]) == set(REPORT_KINDS)
    defs = schema["$defs"]
    for name, broken in (("CounterexampleReport", "null"), ("AuditReport", "string")):
        props = defs[name]["properties"]
        assert props["schema"]["const"] == REPORT_SCHEMA
        assert props["broken_assumption"]["type"] == broken
        assert "broken_assumption" in defs[name]["required"]
    assert json_schemas()["run"]["properties"]["schema"]["const"] == RUN_SCHEMA


def test_optional_keys_are_not_required_and_show_no_default() -> None:
    defs = json_schemas()["report"]["$defs"]
    report = defs["CounterexampleReport"]
    for key in ("code", "settings", "robustness"):
        assert key in report["properties"] and key not in report["required"]
        assert "default" not in report["properties"][key]
    assert "agrees" not in defs["ConfirmationRun"]["required"]
    assert set(defs["EvidenceRecord"]["required"]) >= {"t", "observed", "claimed", "worst_ratio", "precision_ok"}


def _properties(schema: dict) -> set[str]:
    names = set(schema.get("properties", {}))
    for sub in schema.get("$defs", {}).values():
        names |= set(sub.get("properties", {}))
    return names


def test_docs_page_explains_every_key_and_links_the_files() -> None:
    text = DOCS_PAGE.read_text(encoding="utf-8")
    for key, schema in json_schemas().items():
        missing = sorted(n for n in _properties(schema) if f"`{n}`" not in text)
        assert not missing, f"docs/report-schema.md does not explain {key} keys {missing}"
        assert f"](schema/{SCHEMA_FILES[key]})" in text
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s*- [^:]+: report-schema\.md$", nav, re.MULTILINE)


def test_docs_and_models_use_the_toolkit_vocabulary() -> None:
    from verify.backends import BACKENDS
    from verify.engine import CONFIRMATIONS
    from verify.profiles import PROFILES
    from verify.provenance import TAGS
    from verify.theory import CLAIM_KINDS

    text = DOCS_PAGE.read_text(encoding="utf-8")
    schema = json.dumps(json_schemas())
    for words in (BACKENDS, CONFIRMATIONS, PROFILES, TAGS, CLAIM_KINDS, REPORT_KINDS):
        for w in words:
            assert f"`{w}`" in text, w
            assert w in schema, w


def test_committed_reports_validate_unchanged() -> None:
    assert COMMITTED
    for path in COMMITTED:
        rep = json.loads(path.read_text(encoding="utf-8"))
        before = copy.deepcopy(rep)
        assert validate_report(rep) is rep
        assert rep == before
        assert json.dumps(rep) == json.dumps(before)  # same keys in the same order: nothing converted


def test_extra_keys_are_allowed_everywhere() -> None:
    rep = committed_report()
    rep["note"] = "added by hand"
    rep["claim"]["x"] = [1]
    rep["evidence"]["y"] = {"z": None}
    rep["assumptions"][0]["w"] = 1
    assert validate_report(rep) is rep


def test_the_shallowest_problem_is_reported() -> None:
    rep = committed_report()
    rep["evidence"]["t"][0] = "ten"
    del rep["replay"]
    with pytest.raises(VerifyInputError, match=r"^report is missing key 'replay'$"):
        validate_report(rep)


@pytest.mark.parametrize("spelling", [*NONFINITE, *(k.upper() for k in NONFINITE), " inf ", "\tNaN\n", "-Infinity"])
def test_nonfinite_spellings_that_readers_take_validate(spelling: str) -> None:
    rep = committed_report()
    rep["evidence"]["exponent"] = spelling
    validate_report(rep)
    f = as_float(spelling)
    assert f is not None and not (f == f and abs(f) < float("inf"))  # the readers see a non-finite float


@pytest.mark.parametrize("spelling", ["+infinity", "-nan", "infinite", "in f", "1.5", "", "Infinity!"])
def test_other_strings_are_not_numbers(spelling: str) -> None:
    rep = committed_report()
    rep["evidence"]["exponent"] = spelling
    with pytest.raises(VerifyInputError, match=r"^report.evidence.exponent must be a number or null, got a string$"):
        validate_report(rep)


def test_run_summary_round_trip(tmp_path: Path) -> None:
    path = write_run_summary(tmp_path, a_run()["claims"], {k: v for k, v in a_run().items()
                                                           if k not in ("schema", "claims")})
    assert path.parent == tmp_path / "runs"
    [(run, where)] = load_runs(tmp_path)
    assert where == path and run == a_run()


@pytest.mark.parametrize(("run", "message"), [
    ([1], r"^a run summary must be a JSON object, got a list$"),
    (a_run(schema="verify-run/0"), r"^unsupported run summary schema 'verify-run/0' \(expected verify-run/1\)$"),
    (a_run(claims={}), r"^run.claims must be a list, got an object$"),
    (a_run(seed="0"), r"^run.seed must be an integer or null, got a string$"),
    (a_run(interrupted=1), r"^run.interrupted must be a boolean, got an integer$"),
    (a_run(claims=[{"claim_id": "x"}]), r"^run.claims\[0\] is missing key 'verdict'$"),
    (a_run(claims=[{**a_run()["claims"][0], "counts": {"holds": "3"}}]),
     r"^run.claims\[0\].counts.holds must be an integer, got a string$"),
])
def test_malformed_run_summaries_are_one_line(run: object, message: str) -> None:
    with pytest.raises(VerifyInputError, match=message):
        validate_run(run)  # type: ignore[arg-type]


def test_a_malformed_run_summary_is_not_written_and_not_read(tmp_path: Path) -> None:
    bad = a_run()["claims"]
    bad[0]["tried"] = "3"
    with pytest.raises(VerifyInputError, match=r"run.claims\[0\].tried must be an integer"):
        write_run_summary(tmp_path, bad, {"created": "x", "command": "c", "profile": "quick", "seed": 0})
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    (tmp_path / "runs").mkdir(exist_ok=True)
    (tmp_path / "runs" / "old.json").write_text(json.dumps(a_run(profile=None)), encoding="utf-8")
    with pytest.raises(VerifyInputError, match=r"old.json: run.profile must be a string, got null$"):
        load_runs(tmp_path)


def test_pydantic_and_matplotlib_load_only_when_needed() -> None:
    code = ("import sys, json, pathlib\n"
            "import verify.report, verify.report.html, verify.report.markdown, verify.report.show\n"
            "before = sorted(m for m in ('pydantic', 'matplotlib') if m in sys.modules)\n"
            f"verify.report.validate_report(json.loads(pathlib.Path({str(COMMITTED[0])!r}).read_text()))\n"
            "print(json.dumps([before, 'pydantic' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == [[], True]


def test_modules_are_documented_and_import_no_private_names() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{path.name} has no module docstring"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("verify."):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private {private} from {node.module}"
    sources = [p.read_text(encoding="utf-8") for p in (ROOT / "verify").rglob("*.py")]
    assert sum(len(re.findall(r"^REPORT_SCHEMA\s*=", s, re.MULTILINE)) for s in sources) == 1
