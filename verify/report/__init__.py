"""Reports: the ``verify-report/1`` schema, file names, Markdown, the plot, the HTML site and ``verify show``.

A report is a plain JSON object tagged ``"schema": "verify-report/1"``, of kind ``counterexample`` or ``audit``
(docs/report-schema.md describes every key). :func:`write_report` stores it as three sibling files named by
:func:`report_basename`: ``<name>.json`` (exact floats, via :func:`verify.instance.dumps`), ``<name>.md``
(:func:`render_markdown`) and ``<name>.png`` (:func:`plot_report`). Non-finite floats travel as the strings
``"inf"``, ``"-inf"`` and ``"nan"``; every reader here treats those strings as the floats they name. Problems with a
report become one-line :class:`~verify.errors.VerifyInputError` messages (exit status 2).

Modules, each importable on its own:

- :mod:`verify.report.schema`: the schema tags, validation and loading, the JSON Schema export;
- :mod:`verify.report.models`: the typed models (pydantic, imported only when something is validated);
- :mod:`verify.report.naming`: file names; :mod:`verify.report.writing`: :func:`write_report`;
- :mod:`verify.report.fmt`: numbers, labels and sentences shared by the renderings;
- :mod:`verify.report.markdown`, :mod:`verify.report.plot`, :mod:`verify.report.html`: the renderings;
- :mod:`verify.report.show`: ``verify show`` text; :mod:`verify.report.runs`: run summaries (``DIR/runs``).

``python -m verify.report [DIR]`` regenerates the published JSON Schema files (default ``docs/schema``).
"""

from __future__ import annotations

from verify.report.fmt import MAX_CHECKPOINT_ROWS, headline, refutes_if
from verify.report.html import write_html
from verify.report.markdown import render_markdown
from verify.report.naming import report_basename
from verify.report.plot import plot_report
from verify.report.runs import RUNS_DIR, load_runs, write_run_summary
from verify.report.schema import (
    REPORT_SCHEMA,
    RUN_SCHEMA,
    json_schemas,
    load_report,
    load_run,
    validate_report,
    validate_run,
    write_json_schemas,
)
from verify.report.show import summarize
from verify.report.writing import write_report

__all__ = [
    "MAX_CHECKPOINT_ROWS", "REPORT_SCHEMA", "RUNS_DIR", "RUN_SCHEMA", "headline", "json_schemas", "load_report",
    "load_run", "load_runs", "plot_report", "refutes_if", "render_markdown", "report_basename", "summarize",
    "validate_report", "validate_run", "write_html", "write_json_schemas", "write_report", "write_run_summary",
]
