"""Writing a report: ``<name>.png``, ``<name>.md`` and then ``<name>.json``, each atomically (temp file, fsync,
rename), with the name from :func:`verify.report.naming.report_basename`."""

from __future__ import annotations

import os
from pathlib import Path

from verify.instance import atomic_write_bytes, atomic_write_text, dumps
from verify.report.markdown import render_markdown
from verify.report.naming import report_basename
from verify.report.plot import plot_report
from verify.report.schema import validate_report


def write_report(report: dict, directory: str | os.PathLike) -> dict[str, Path]:
    """Validate ``report`` and write ``<name>.png``, ``<name>.md`` and then ``<name>.json`` atomically.

    ``directory`` is created if missing. The JSON (exact floats, via :func:`verify.instance.dumps`) goes last, so
    a report that ``verify show`` can see always has its Markdown and plot beside it. Returns
    ``{"json": path, "md": path, "png": path}``.
    """
    validate_report(report)
    base = report_basename(report)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    png = atomic_write_bytes(d / f"{base}.png", plot_report(report))
    md = atomic_write_text(d / f"{base}.md", render_markdown(report))
    js = atomic_write_text(d / f"{base}.json", dumps(report) + "\n")
    return {"json": js, "md": md, "png": png}
