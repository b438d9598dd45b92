"""``verify show PATH``: one report's summary as text, or a table of every report in a folder."""

from __future__ import annotations

import os
from pathlib import Path

from verify.errors import VerifyInputError
from verify.report.fmt import agreement, fmt_num, fmt_t, headline, provenance_label
from verify.report.schema import load_report


def _summary_lines(report: dict, path: Path) -> list[str]:
    claim, ev = report["claim"], report["evidence"]
    broken = report["broken_assumption"]
    lines = [
        f"report:     {path}",
        f"kind:       {headline(report)}",
        f"claim:      {claim['id']} ({claim['kind']}) {provenance_label(claim['provenance'])} — {claim['title']}",
        f"verdict:    {report['verdict']} (status: {report['status']})",
        f"broken:     {broken if broken is not None else 'none'}",
        "assumptions:",
    ]
    if report["assumptions"]:
        width = max(len(str(a["id"])) for a in report["assumptions"])
        for a in report["assumptions"]:
            mark = "  <- broken" if a["id"] == broken else ""
            lines.append(f"  {str(a['id']):<{width}}  {a['verdict']:<9}  slack {fmt_num(a['slack'], 4)}{mark}")
    else:
        lines.append("  (none recorded)")
    lines += [
        f"worst:      ratio {fmt_num(ev['worst_ratio'])} at t = {fmt_t(ev['t_worst'])}",
        f"exponent:   {fmt_num(ev['exponent'])} (constant {fmt_num(ev['constant'])})",
        "confirmed:  " + ("; ".join(f"{c['kind']}: {agreement(c)}" for c in report["confirmation"])
                          or "no confirmation runs"),
        f"replay:     {report['replay']}",
    ]
    from verify.certify import certification_line

    cert = certification_line(report)  # "certified (rigorous): ..." only when the report's certified is true
    if cert is not None:
        lines.insert(-1, f"proof:      {cert}")
    return lines


def summarize(path: str | os.PathLike) -> str:
    """Text for ``verify show PATH``: one report's summary, or a table of every ``*.json`` report in a folder.

    Every ``*.json`` file in a folder must be a valid report; a malformed one raises a
    :class:`VerifyInputError` naming it.
    """
    p = Path(path)
    from verify.report.map_page import is_map_folder, map_text  # a map folder (verify map): its cells table

    if is_map_folder(p):
        return map_text(p)
    if p.is_dir():
        files = sorted(f for f in p.glob("*.json") if f.is_file() and not f.name.startswith("."))
        if not files:
            return f"no reports in {p}"
        entries = [(load_report(f), f) for f in files]
        entries.sort(key=lambda e: (str(e[0]["claim"]["id"]), e[1].name))
        rows = [[str(r["claim"]["id"]), str(r["kind"]), str(r["verdict"]), str(r["status"]),
                 fmt_num(r["evidence"]["worst_ratio"], 4), f.name] for r, f in entries]
        header = ["claim", "kind", "verdict", "status", "worst ratio", "file"]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        lines.append(f"{len(rows)} report{'s' if len(rows) != 1 else ''} in {p}")
        return "\n".join(lines)
    if not p.exists():
        raise VerifyInputError(f"{p}: no such file or directory")
    return "\n".join(_summary_lines(load_report(p), p))
