"""A report as Markdown (``<name>.md``): headline, claim, assumptions (the claim's, then the diagnostics), run,
evidence with the data behind the verdict (checkpoints and the ratio the rule judges; steps per method and the wins
per pair; trials and interval), confirmation runs, reconstructed constants, versions, the replay command and a link
to the plot. The numbers are those of the HTML page (:mod:`verify.report.fmt`)."""

from __future__ import annotations

import json
import re
from typing import Any

from verify.instance import dumps
from verify.report.fmt import (
    agreement,
    checkpoint_ratios,
    checkpoint_rows,
    claim_kind,
    claimed_note,
    comparison_of,
    figure_of,
    fmt_num,
    fmt_t,
    headline,
    judged,
    provenance_label,
    reference_text,
    refutes_if,
    steps_ratio,
    variable_label,
    variable_symbol,
    worst_index,
    worst_note,
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


def _ratio_label(report: dict) -> str:
    return {"order": "metric/rate", "comparison": "steps A/B"}.get(claim_kind(report), "observed/claimed")


def _checkpoints(report: dict) -> list[str]:
    ev, fig = report["evidence"], figure_of(report)
    n = len(ev["t"])
    if not n:
        return ["No checkpoints recorded."]
    worst = worst_index(ev)
    idx = checkpoint_rows(n, worst)
    rs = checkpoint_ratios(report)
    jd = judged(report)
    claimed = ev["claimed"]
    rows = []
    for i in idx:
        mark = (" ← worst" if i == worst else "") + ("" if jd[i] else " (not judged)")
        rows.append([fmt_t(ev["t"][i]) + mark, fmt_num(ev["observed"][i]),
                     fmt_num(claimed[i]) if i < len(claimed) else "—", fmt_num(rs[i])])
    shown = f"{len(idx)} of {n} checkpoints" if len(idx) < n else f"{n} checkpoints"
    what = {"order": "metric / rate", "identity": "|lhs − rhs| / tolerance"}.get(claim_kind(report), "")
    out = [f"Checkpoints ({shown}" + (f"; ratio: {what}" if what else "") + "):", ""]
    out += _table([variable_symbol(report), "observed", "claimed", "ratio"], rows)
    if fig.get("log10"):
        out += ["", "Observed and claimed are base-10 logarithms."]
    return out


def _comparison(report: dict, comp: dict) -> list[str]:
    groups = figure_of(report).get("groups")
    methods = list(comp["steps"])
    k = len(next(iter(comp["steps"].values()))) if methods else 0
    rows = []
    for i in range(k):
        at = comp["at"][i] if i < len(comp.get("at") or []) else i + 1
        row = [fmt_t(at), *([groups[i]] if isinstance(groups, list) else [])]
        for m in methods:
            v = comp["steps"][m][i]
            row.append("not reached" if v is not None and v == float("inf") else fmt_t(v))
        row += [fmt_num(steps_ratio(comp["steps"][p["a"]][i], comp["steps"][p["b"]][i]), 4) for p in comp["pairs"]]
        rows.append(row)
    out = [f"Steps to {comp.get('target', 'the target')} per method (not reached: not within the horizon "
           f"{fmt_t(comp.get('horizon'))}):", ""]
    out += _table([variable_symbol(report), *(["group"] if isinstance(groups, list) else []), *methods,
                   *[f"{p['a']} / {p['b']}" for p in comp["pairs"]]], rows)
    out += ["", "Per pair (the first must reach the target " + ("no later than" if not comp.get("strict", True)
                                                                 else "before") + " the second):", ""]
    out += _table(["pair", "first on", "decided", "needed", "verdict"],
                  [[f"{p['a']} vs {p['b']}", p.get("wins"), p.get("decided"), p.get("needed"), p.get("verdict")]
                   for p in comp["pairs"]])
    return out


def _shape(v: Any) -> str:
    dims = []
    while isinstance(v, list):
        dims.append(len(v))
        v = v[0] if v else None
    return "×".join(str(k) for k in dims)


def shrunk_summary(report: dict) -> dict | None:
    """What the pages show of a report's ``shrunk`` record (None when there is none), model-free:

    - ``sizes``: rows ``(label, original, shrunk, original's field, shrunk's field)``: each scalar entry of the
      shrunk instance's ``meta`` (a model records its sizes there: n, T, d), the shape of each array of the
      instance, and how many numbers the instance holds (the fields are JSON paths, or None for a shape);
    - ``shrunk``: whether any move was accepted; ``status``, ``verdict``, ``confirmed`` (the status says
      "confirmed"), ``certification`` (the certification line of the shrunk instance, or None when the record has
      none), ``evaluations``, ``budget``, ``rejected``, ``exhausted`` and the accepted ``moves``."""
    from verify.certify import certification_line

    sh = report.get("shrunk")
    if not isinstance(sh, dict):
        return None
    orig, small = report.get("instance") or {}, sh.get("instance") or {}
    om, sm = orig.get("meta") or {}, small.get("meta") or {}
    sizes: list[tuple[str, Any, Any, str | None, str | None]] = []
    for k, v in sm.items():
        if isinstance(v, (int, float, str)) and not isinstance(v, bool):
            sizes.append((str(k), om.get(k), v, f"instance.meta.{k}" if k in om else None, f"shrunk.instance.meta.{k}"))
    for k, v in orig.items():
        if isinstance(v, list):
            sizes.append((f"{k} shape", _shape(v), _shape(small.get(k)), None, None))
    sizes.append(("numbers in the instance", sh.get("original_size"), sh.get("size"), "shrunk.original_size",
                  "shrunk.size"))
    status = str(sh.get("status", ""))
    ev = sh.get("evidence") or {}
    return {"sizes": sizes, "shrunk": bool(sh.get("moves")), "status": status, "verdict": ev.get("verdict"),
            "worst_ratio": ev.get("worst_ratio"), "confirmed": status.startswith("confirmed"),
            "certification": certification_line(sh), "evaluations": sh.get("evaluations"),
            "budget": sh.get("budget"), "rejected": sh.get("rejected"), "exhausted": bool(sh.get("exhausted")),
            "moves": list(sh.get("moves") or [])}


def _shrunk_lines(report: dict) -> list[str]:
    s = shrunk_summary(report)
    if s is None:
        return []
    out = ["", "## Shrunk counterexample", ""]
    if not s["shrunk"]:
        out.append(f"Not shrunk: none of the {s['evaluations']} smaller candidates assessed (budget {s['budget']}) "
                   "met the assumptions with a confirmed violation; the original above is the smallest found.")
        return out
    out += ["The original instance stays the report's; the smaller one below meets every assumption of the claim "
            "and is violated, and its violation was confirmed again by the same re-runs.", ""]
    out += _table(["", "original", "shrunk"], [[k, "—" if a is None else a, "—" if b is None else b]
                                               for k, a, b, _, _ in s["sizes"]])
    conf = "yes" if s["confirmed"] else "no"
    out += ["", f"- Violated: {s['verdict']} (worst ratio {fmt_num(s['worst_ratio'])})",
            f"- Confirmed: {conf} ({s['status']})",
            f"- Certified: {s['certification'] or 'not recorded (no certification of the shrunk instance)'}",
            f"- Evaluations: {s['evaluations']} of a budget of {s['budget']} ({s['rejected']} rejected"
            + ("; budget exhausted" if s["exhausted"] else "") + ")", "", "Accepted moves:", ""]
    out += _table(["move", "what it did", "numbers after"], [[m.get("move"), m.get("detail"), m.get("size")]
                                                              for m in s["moves"]])
    small = (report.get("shrunk") or {}).get("instance")
    if isinstance(small, dict):
        text = json.dumps(json.loads(dumps(small)), sort_keys=True)
        fence = _fence(text)
        out += ["", "The shrunk instance:", "", f"{fence}json", text, fence]
    return out


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
        out += ["Every assumption was evaluated on the instance; none is broken on purpose.", ""]
    else:
        out += [f"Broken on purpose: **{broken}** (an audit shows the assumption is needed; it refutes nothing).", ""]
    mine = [a for a in report["assumptions"] if a.get("role", "claim") != "diagnostic"]
    diag = [a for a in report["assumptions"] if a.get("role") == "diagnostic"]

    def rows_of(items: list[dict]) -> list[list[Any]]:
        return [[f"**{a['id']}** (broken)" if a["id"] == broken else a["id"], a["verdict"], fmt_num(a["slack"], 4),
                 provenance_label(a["provenance"]), a["detail"] or a["title"]] for a in items]

    if mine:
        out += _table(["id", "verdict", "slack", "provenance", "detail"], rows_of(mine))
    else:
        out.append("No assumptions recorded.")
    if diag:
        out += ["", "Diagnostics: the module's other assumptions, which this claim does not make. They are evaluated "
                "for context only; a diagnostic that fails does not affect the finding.", ""]
        out += _table(["id", "verdict", "slack", "provenance", "detail"], rows_of(diag))
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
        f"- Metric: {ev['metric']}, against {variable_label(report)}",
        f"- Worst ratio {_ratio_label(report)}: {fmt_num(ev['worst_ratio'])}"
        + (f" at {variable_symbol(report)} = {fmt_t(ev['t_worst'])}" if ev["t_worst"] is not None else "")
        + f" ({worst_note(report)})",
        *([f"- Claimed: {claimed_note(report)}"] if claim_kind(report) != "comparison" else []),
        f"- Fitted exponent: {fmt_num(ev['exponent'])}; constant: {fmt_num(ev['constant'])}",
        f"- Precision adequate: {'yes' if ev['precision_ok'] else 'no'}",
        "",
    ]
    comp = comparison_of(report)
    if comp is not None:
        out += _comparison(report, comp)
    else:
        out += _checkpoints(report)
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
    from verify.certify import certification_line

    line = certification_line(report)
    if line is not None:
        out += ["", "## Certification", "", line]
    out += _shrunk_lines(report)
    out += ["", "## Versions", ""]
    if report["versions"]:
        out += _table(["package", "version"], [[k, v] for k, v in sorted(report["versions"].items())])
    else:
        out.append("No versions recorded.")
    fence = _fence(report["replay"])
    out += ["", "## Replay", "", f"{fence}sh", report["replay"], fence, "", "## Plot", "",
            f"![{claim['id']}: observed vs claimed]({report_basename(report)}.png)", ""]
    return "\n".join(out)
