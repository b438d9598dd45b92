"""Run summaries: one ``DIR/runs/<created>--<8 hex>.json`` (schema ``verify-run/1``) per ``verify check`` run, from
which the HTML index shows a row per claim of each run."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from verify.instance import atomic_write_text, dumps
from verify.report.naming import safe_name
from verify.report.schema import RUN_SCHEMA, load_run, validate_run

RUNS_DIR = "runs"  # a subfolder, so that `verify show DIR` (which reads DIR/*.json as reports) never sees them


def write_run_summary(directory: str | os.PathLike, summaries: list[dict], meta: dict) -> Path:
    """Write ``DIR/runs/<created>--<8 hex>.json`` atomically; return its path.

    ``summaries`` are :meth:`verify.engine.ClaimSummary.to_json` dicts, each with the claim's ``title``, ``kind``,
    ``provenance`` label and ``module`` added; ``meta`` holds ``created``, ``command``, ``profile``, ``seed``,
    ``instance`` and ``interrupted``. The text is validated first (a one-line VerifyInputError if malformed).
    """
    text = dumps({"schema": RUN_SCHEMA, **meta, "claims": summaries}) + "\n"
    validate_run(json.loads(text))  # what lands on disk is what load_runs reads back
    # the time and the process id: two runs in one second with the same content still get two files
    digest = hashlib.sha256(f"{text}{time.time_ns()}{os.getpid()}".encode()).hexdigest()[:8]
    stamp = safe_name(str(meta.get("created", "")).replace(":", ""), "run")
    return atomic_write_text(Path(directory) / RUNS_DIR / f"{stamp}--{digest}.json", text)


def load_runs(directory: str | os.PathLike) -> list[tuple[dict, Path]]:
    """Every run summary under ``DIR/runs`` (newest first); a malformed one is a one-line VerifyInputError."""
    out = [(load_run(f), f) for f in sorted((Path(directory) / RUNS_DIR).glob("*.json"))]
    out.sort(key=lambda e: (str(e[0].get("created", "")), e[1].name), reverse=True)
    return out
