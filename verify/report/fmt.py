"""Numbers, labels and sentences shared by every rendering of a report (Markdown, HTML, the plot, ``verify show``).

Every helper reads a validated report dict and tolerates the strings ``"inf"``, ``"-inf"`` and ``"nan"`` that
stand for non-finite floats in the JSON, treating them as the floats they name.
"""

from __future__ import annotations

import math
from typing import Any

from verify.verdicts import KIND_AUDIT

MAX_CHECKPOINT_ROWS = 25

NONFINITE = {"inf": math.inf, "+inf": math.inf, "infinity": math.inf, "-inf": -math.inf,
             "-infinity": -math.inf, "nan": math.nan}


def as_float(v: Any) -> float | None:
    """A float from a JSON value (``"inf"``/``"nan"`` strings included); None for null or anything else."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        key = v.strip().lower()
        if key in NONFINITE:
            return NONFINITE[key]
        try:
            return float(key)
        except ValueError:
            return None
    return None


def as_plot_float(v: Any) -> float:
    """Like :func:`as_float`, with NaN for a missing value (for plotting)."""
    f = as_float(v)
    return math.nan if f is None else f


def fmt_num(v: Any, digits: int = 6) -> str:
    """A number for a table: ``—`` when missing, ``inf``/``-inf``/``nan``, an integer as is, else ``digits``
    significant digits."""
    f = as_float(v)
    if f is None:
        return "—"
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return f"{f:.{digits}g}"


def fmt_t(v: Any) -> str:
    """A checkpoint: a whole number without a decimal point."""
    f = as_float(v)
    if f is not None and math.isfinite(f) and f == int(f):
        return str(int(f))
    return fmt_num(v)


def provenance_label(prov: Any) -> str:
    """``[seed, abs: note]`` like :meth:`verify.provenance.Provenance.label` (without re-validating tags)."""
    if not isinstance(prov, dict):
        return "[?]"
    inner = ", ".join(str(t) for t in prov.get("tags") or [])
    note = prov.get("note") or ""
    return f"[{inner}: {note}]" if note else f"[{inner}]"


def reference_text(ref: Any) -> str:
    """The paper in one line: ``[KEY] Authors. Title. Venue (arXiv:...), Theorem N``."""
    if isinstance(ref, str):
        return ref
    if not isinstance(ref, dict):
        return ""
    parts = [str(ref[k]) for k in ("authors", "title", "venue") if ref.get(k)]
    text = ". ".join(parts)
    if ref.get("arxiv"):
        text += f" (arXiv:{ref['arxiv']})"
    if ref.get("theorem"):
        text += f", Theorem {ref['theorem']}"
    if ref.get("key"):
        text = f"[{ref['key']}] {text}" if text else str(ref["key"])
    return text


def ratios(ev: dict) -> list[float | None]:
    """observed/claimed at each checkpoint (None where either is missing or claimed is zero)."""
    obs, cl = ev.get("observed") or [], ev.get("claimed") or []
    out: list[float | None] = []
    for i in range(len(obs)):
        o = as_float(obs[i])
        c = as_float(cl[i]) if i < len(cl) else None
        if o is None or c is None or c == 0 or math.isnan(c) or math.isnan(o) or (
                math.isinf(o) and math.isinf(c)):
            out.append(None)
        else:
            out.append(o / c)
    return out


def worst_index(ev: dict) -> int | None:
    """Index of ``t_worst`` in ``t`` if it is there; else of the largest ratio; else None."""
    ts = [as_float(v) for v in ev.get("t") or []]
    tw = as_float(ev.get("t_worst"))
    if tw is not None and tw in ts:
        return ts.index(tw)
    rs = ratios(ev)
    best: int | None = None
    for i, r in enumerate(rs):
        if r is not None and (best is None or r > (rs[best] or -math.inf)):
            best = i
    return best


def checkpoint_rows(n: int, worst: int | None, limit: int = MAX_CHECKPOINT_ROWS) -> list[int]:
    """At most ``limit`` evenly spread indices into ``range(n)``, always with the first, worst and last."""
    if n <= limit:
        return list(range(n))
    must = {0, n - 1} | ({worst} if worst is not None and 0 <= worst < n else set())
    m = limit - len(must) + 2  # an even grid over [0, n - 1] (endpoints included) plus the worst index
    grid = {round(k * (n - 1) / (m - 1)) for k in range(m)}
    return sorted(grid | must)


def headline(report: dict) -> str:
    """What the report is, in one line, the same in Markdown, HTML, the plot and ``verify show``."""
    if report["kind"] == KIND_AUDIT:
        return (f"audit: with {report['broken_assumption']} broken on purpose, the claim is {report['verdict']}; "
                f"{report['broken_assumption']} is load-bearing (an audit refutes nothing)")
    return f"counterexample: {report['verdict']} on data meeting every assumption ({report['status']})"


def refutes_if(report: dict) -> str:
    """What would have to be true of the paper for this finding to refute it."""
    claim = report["claim"]
    if report["kind"] == KIND_AUDIT:
        return (f"Nothing in the paper is refuted: this shows that {report['broken_assumption']} is necessary. It "
                "would matter only if the paper claimed the result without that assumption.")
    recon = [r["name"] for r in claim.get("reconstructions", [])]
    parts = ["the paper's claim is the one encoded here (statement, rate, constant and metric)",
             "its assumptions are the ones checked here, with the thresholds used"]
    if recon:
        parts.append("the paper's reading of each reconstructed constant is among those tried ("
                     + ", ".join(recon) + ")")
    tags = claim.get("provenance", {}).get("tags", [])
    if "recon" in tags:
        parts.append("the claim itself, marked [recon], matches what the paper states")
    return "This refutes the paper only if " + "; ".join(parts) + "."


def agreement(c: dict) -> str:
    """A confirmation run: 'agrees' / 'DISAGREES' / 'not applicable' when it says whether it confirms, else its
    verdict."""
    if c.get("applies") is False:
        return f"not applicable (verdict {c['verdict']})"
    if "agrees" in c:
        return f"{'agrees' if c['agrees'] else 'DISAGREES'} (verdict {c['verdict']})"
    return str(c["verdict"])
