"""The report schema: its tags, validation through the typed models, and the exported JSON Schema.

- :func:`validate_report` / :func:`load_report`: a ``verify-report/1`` report (a counterexample or an audit
  finding), checked against :class:`verify.report.models.CounterexampleReport` or
  :class:`~verify.report.models.AuditReport` according to its ``"kind"``.
- :func:`validate_run` / :func:`load_run`: a ``verify-run/1`` run summary (:class:`~verify.report.models.RunSummary`).
- :func:`json_schemas` / :func:`write_json_schemas`: the models as JSON Schema documents, the files the docs
  publish (``docs/schema/``); ``python -m verify.report [DIR]`` regenerates them.

A problem becomes one :class:`~verify.errors.VerifyInputError` line that names the offending key, such as
``report.evidence.t[3] must be a number or null, got a string``; the loaders prefix the file name. Validation
never changes the dict it checks. pydantic is imported only when something is validated (start-up time).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from verify.errors import VerifyInputError
from verify.instance import atomic_write_text, read_json
from verify.verdicts import KIND_AUDIT, REPORT_KINDS

REPORT_SCHEMA = "verify-report/1"
RUN_SCHEMA = "verify-run/1"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILES = {"report": "report.schema.json", "run": "run.schema.json"}


def kind_of(v: Any) -> str:
    """The JSON type of ``v`` in words, for messages: ``"a string"``, ``"an object"``, ``"null"``..."""
    if v is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(v), type(v).__name__)


def _tag(obj: Any, root: str, what: str, expected: str) -> None:
    """The object and its ``schema`` tag, checked before the model (so that the message names the version)."""
    if not isinstance(obj, dict):
        raise VerifyInputError(f"a {what} must be a JSON object, got {kind_of(obj)}")
    if "schema" not in obj:
        raise VerifyInputError(f"{root} is missing key 'schema'")
    if obj["schema"] != expected:
        raise VerifyInputError(f"unsupported {what} schema {obj['schema']!r} (expected {expected})")


def _path(root: str, loc: tuple[Any, ...]) -> str:
    from verify.report.models import UNION_TAGS

    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in UNION_TAGS:  # a tagged union's branch name is not a key of the JSON
            out += f".{part}"
    return out


def one_line(errors: list[Any], root: str) -> str:
    """The first of pydantic's errors (the one nearest the top of the document) as one line."""
    e = min(errors, key=lambda e: len(e["loc"]))  # min keeps the first of equally deep errors
    loc = tuple(e["loc"])
    kind = e["type"]
    if kind == "verify_rule":  # a rule between fields: the message is a whole sentence
        return str(e["msg"])
    if kind == "missing":
        return f"{_path(root, loc[:-1])} is missing key {loc[-1]!r}"
    if kind in ("model_type", "dict_type"):
        return f"{_path(root, loc)} must be an object, got {kind_of(e.get('input'))}"
    if kind == "verify_type":
        return f"{_path(root, loc)} {e['msg']}"
    return f"{_path(root, loc)}: {e['msg']}"  # pragma: no cover  (every leaf type raises verify_type)


def _validate(model: Any, obj: dict, root: str) -> None:
    from pydantic import ValidationError

    try:
        model.model_validate(obj)
    except ValidationError as exc:
        raise VerifyInputError(one_line(exc.errors(include_url=False), root)) from None


def validate_report(obj: dict) -> dict:
    """Check that ``obj`` is a ``verify-report/1`` report (its tag, kind, keys, types and the rules between them);
    return it unchanged.

    Problems raise :class:`VerifyInputError` with a one-line message that names the offending key but no file
    (:func:`load_report` adds the file name).
    """
    _tag(obj, "report", "report", REPORT_SCHEMA)
    if "kind" not in obj:
        raise VerifyInputError("report is missing key 'kind'")
    if not isinstance(obj["kind"], str):
        raise VerifyInputError(f"report.kind must be a string, got {kind_of(obj['kind'])}")
    if obj["kind"] not in REPORT_KINDS:
        raise VerifyInputError(f"report.kind must be one of {', '.join(REPORT_KINDS)}, got {obj['kind']!r}")
    from verify.report.models import AuditReport, CounterexampleReport

    _validate(AuditReport if obj["kind"] == KIND_AUDIT else CounterexampleReport, obj, "report")
    return obj


def load_report(path: str | os.PathLike) -> dict:
    """Read and validate a report file; any problem is a one-line VerifyInputError naming the file."""
    obj = read_json(path)  # names the file itself
    try:
        return validate_report(obj)
    except VerifyInputError as exc:
        raise VerifyInputError(f"{path}: {exc}") from None


def validate_run(obj: dict) -> dict:
    """Check that ``obj`` is a ``verify-run/1`` run summary; return it unchanged (one-line VerifyInputError)."""
    _tag(obj, "run", "run summary", RUN_SCHEMA)
    from verify.report.models import RunSummary

    _validate(RunSummary, obj, "run")
    return obj


def load_run(path: str | os.PathLike) -> dict:
    """Read and validate a run summary file; any problem is a one-line VerifyInputError naming the file."""
    obj = read_json(path)
    try:
        return validate_run(obj)
    except VerifyInputError as exc:
        raise VerifyInputError(f"{path}: {exc}") from None


def json_schemas() -> dict[str, dict]:
    """``{"report": ..., "run": ...}``: the JSON Schema (draft 2020-12) of a report and of a run summary, generated
    from the models (:data:`SCHEMA_FILES` names their files)."""
    from pydantic import TypeAdapter

    from verify.report.models import Report, RunSummary

    report = TypeAdapter(Report).json_schema()
    run = RunSummary.model_json_schema()
    out = {}
    for key, tag, doc, body in (
            ("report", REPORT_SCHEMA, "A counterexample or audit report written by verify check, sweep or audit.",
             report),
            ("run", RUN_SCHEMA, "The summary of one verify check run: a row per claim checked.", run)):
        out[key] = {"$schema": JSON_SCHEMA_DIALECT, "title": tag, "description": doc,
                    **{k: v for k, v in body.items() if k not in ("title", "description")}}
    return out


def render_json_schema(schema: dict) -> str:
    """The text of a schema file: indented JSON with a final newline (keys in the models' order)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_json_schemas(directory: str | os.PathLike) -> list[Path]:
    """Write every schema of :func:`json_schemas` into ``directory`` (atomically); return the paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    return [atomic_write_text(d / SCHEMA_FILES[k], render_json_schema(s)) for k, s in json_schemas().items()]
