"""A report as Markdown (``<name>.md``): headline, claim, assumptions, run, evidence with a checkpoint table,
confirmation runs, reconstructed constants, versions, the replay command and a link to the plot."""

from __future__ import annotations

import json
import re
from typing import Any

from verify.instance import dumps
from verify.report.fmt import (
    agreement,
    checkpoint_rows,
    fmt_num,
    fmt_t,
    headline,
    provenance_label,
    ratios,
    reference_text,
    refutes_if,
    worst_index,
)
from verify.report.naming import report_basename
from verify.report.schema import validate_report
from verify.verdicts import KIND_AUDIT


def _cell(v: Any) -> str:
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip()


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _kv(d: Any) -> str:
    if not isinstance(d, dict) or not d:
        return "—"
    return ", ".join(f"{k}={json.dumps(json.loads(dumps(v)), sort_keys=True)}" for k, v in d.items())


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(report: dict) -> str:
    """A human-readable Markdown report (links ``<report_basename>.png`` by relative file name)."""
    validate_report(report)
    claim, ev = report["claim"], report["evidence"]
    broken = report["broken_assumption"]
    out: list[str] = [
        f"# {claim['id']}: {headline(report)}",
        "",
        f"*Kind: {report['kind']}.* {refutes_if(report)}",
        "",
        f"**{claim['title']}** — {claim['kind']} claim {provenance_label(claim['provenance'])}",
        "",
    ]
    out += ["> " + line if line else ">" for line in str(claim["statement"]).splitlines() or [""]]
    out += [
        "",
        f"- Paper: {claim['paper']}",
        f"- Reference: {reference_text(report['theorem']['reference']) or '—'}",
        f"- Theorem module: `{report['theorem']['module']}`",
        f"- Claim provenance: {provenance_label(claim['provenance'])}",
        f"- Report created: {report['created']}",
        "",
        "## Assumptions",
        "",
    ]
    if broken is None:
        out += ["All assumptions were checked; none is marked broken.", ""]
    else:
        out += [f"Broken on purpose: **{broken}**.", ""]
    if report["assumptions"]:
        rows = []
        for a in report["assumptions"]:
            aid = f"**{a['id']}** (broken)" if a["id"] == broken else a["id"]
            rows.append([aid, a["verdict"], fmt_num(a["slack"], 4), provenance_label(a["provenance"]),
                         a["detail"] or a["title"]])
        out += _table(["id", "verdict", "slack", "provenance", "detail"], rows)
    else:
        out.append("No assumptions recorded.")
    scalars = {k: v for k, v in report["instance"].items() if not isinstance(v, (list, dict))}
    out += [
        "",
        "## Run",
        "",
        f"- Method: {_kv(report['method'])}",
        f"- Backend: {report['backend']}",
        f"- Precision: {_kv(report['precision'])}",
        f"- Seed: {'—' if report['seed'] is None else report['seed']}",
        f"- Instance: {_kv(scalars)}",
        "",
        "## Evidence",
        "",
        f"- Verdict: {ev['verdict']}" + (f" ({ev['code']})" if ev.get("code") else ""),
        f"- Reason: {ev['reason']}",
        f"- Metric: {ev['metric']}",
        f"- Worst ratio observed/claimed: {fmt_num(ev['worst_ratio'])} at t = {fmt_t(ev['t_worst'])}",
        f"- Fitted exponent: {fmt_num(ev['exponent'])}; constant: {fmt_num(ev['constant'])}",
        f"- Precision adequate: {'yes' if ev['precision_ok'] else 'no'}",
        "",
    ]
    n = len(ev["t"])
    if n:
        worst = worst_index(ev)
        idx = checkpoint_rows(n, worst)
        rs = ratios(ev)
        claimed = ev["claimed"]
        rows = []
        for i in idx:
            mark = " ← worst" if i == worst else ""
            rows.append([fmt_t(ev["t"][i]) + mark, fmt_num(ev["observed"][i]),
                         fmt_num(claimed[i]) if i < len(claimed) else "—", fmt_num(rs[i])])
        shown = f"{len(idx)} of {n} checkpoints" if len(idx) < n else f"{n} checkpoints"
        out += [f"Checkpoints ({shown}):", ""]
        out += _table(["t", "observed", "claimed", "ratio"], rows)
    else:
        out.append("No checkpoints recorded.")
    out += ["", "## Confirmation runs", ""]
    if report["confirmation"]:
        rows = []
        for c in report["confirmation"]:
            cev = c.get("evidence") or {}
            rows.append([c["kind"], agreement(c), c["reason"], fmt_num(cev.get("worst_ratio")),
                         fmt_t(cev.get("t_worst"))])
        out += _table(["kind", "confirms?", "reason", "worst ratio", "t worst"], rows)
    else:
        out.append("No confirmation runs.")
    out += ["", "## Reconstructed constants", ""]
    if report.get("robustness"):
        out += _table(["parameter", "reading", "value", "verdict", "reason"],
                      [[r["name"], r["role"], r["value"], r["verdict"] + (f" ({r['code']})" if r.get("code") else ""),
                        r["reason"]] for r in report["robustness"]])
    elif report["kind"] == KIND_AUDIT:
        out.append("Not re-checked: an audit breaks an assumption on purpose.")
    else:
        out.append("The claim declares no reconstructed constants.")
    out += ["", "## Versions", ""]
    if report["versions"]:
        out += _table(["package", "version"], [[k, v] for k, v in sorted(report["versions"].items())])
    else:
        out.append("No versions recorded.")
    fence = _fence(report["replay"])
    out += ["", "## Replay", "", f"{fence}sh", report["replay"], fence, "", "## Plot", "",
            f"![{claim['id']}: observed vs claimed]({report_basename(report)}.png)", ""]
    return "\n".join(out)
