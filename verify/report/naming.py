"""Report file names: ``CLAIM--VERDICT--HASH`` for a counterexample, ``CLAIM--audit-ASSUMPTION--HASH`` for an audit.

The hash is the start of the SHA-256 of the canonical JSON of the claim id, the instance and the method, so the
same check on the same instance names the same files and another instance or method another name.
"""

from __future__ import annotations

import hashlib
import json
import re

from verify.instance import dumps
from verify.report.schema import validate_report
from verify.verdicts import KIND_AUDIT


def safe_name(text: str, fallback: str) -> str:
    """``text`` as a file-name part: runs of characters other than letters, digits, ``.``, ``_`` and ``-`` become
    ``_``, leading and trailing ``._-`` go, at most 80 characters; ``fallback`` if nothing is left."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    return s[:80] or fallback


def report_basename(report: dict) -> str:
    """A stable, filesystem-safe name: ``<claim id>--<verdict>--<8 hex digits>`` for a counterexample, and
    ``<claim id>--audit-<broken assumption>--<8 hex digits>`` for an audit finding.

    The digits are the start of the SHA-256 of the canonical JSON (sorted keys, no whitespace, non-finite
    floats as strings) of the instance, the method and the claim id.
    """
    validate_report(report)
    payload = {"claim": report["claim"]["id"], "instance": report["instance"], "method": report["method"]}
    canonical = json.dumps(json.loads(dumps(payload)), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=True, allow_nan=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]
    middle = (f"audit-{safe_name(str(report['broken_assumption']), 'assumption')}" if report["kind"] == KIND_AUDIT
              else safe_name(report["verdict"], "unknown"))
    return f"{safe_name(report['claim']['id'], 'claim')}--{middle}--{digest}"
