"""``verify show DIR --html``: a self-contained static HTML site over a folder of reports (docs/gallery.md).

- ``index.html``: one section per ``verify check`` run (``DIR/runs/*.json``) with a row per claim (verdict,
  instances per verdict, the largest worst ratio over the run's instances, links to its counterexamples with
  each one's own worst ratio), a chart per candidate whose verdict depends on the reading of a reconstructed
  constant, then the counterexamples and the audit findings in the folder.
- ``<report name>.html``: one page per report, laid out by claim kind: the figure (:mod:`verify.report.plot`),
  the key numbers, the data behind the verdict (checkpoints with the ratio the rule judges; steps per method and
  the wins per pair; the trials and the interval; lhs, rhs and the residual), the assumptions (the claim's, then
  the diagnostics, explained), the run, the confirmation runs, the readings of the reconstructed constants (a
  table and a chart), the shrunk counterexample (the original and the shrunk instance's sizes, whether the shrunk
  one is confirmed and certified, the evaluations spent, the accepted moves), the versions and the replay command.

Every number taken from a JSON file is written in an element with ``data-src`` (the file, relative to the page)
and ``data-field`` (its path in that file, such as ``evidence.figure.steps.gd[3]``), so a test can check the
page against the JSON (tests/test_pages.py). Pages need nothing from the network: styles are inline and images
are data URIs. A few lines of inline JavaScript filter the index tables, and record any script error, failed
console.error call, undecodable image or element beyond the right edge of the window on ``<html>`` as
``data-js-errors`` / ``data-images-broken`` / ``data-offscreen`` (read back by the headless-browser tests).
Every file is written atomically. Text from reports is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from pathlib import Path
from typing import Any

from verify.errors import VerifyInputError
from verify.instance import atomic_write_text
from verify.report.fmt import (
    as_float,
    checkpoint_ratios,
    checkpoint_rows,
    claim_kind,
    claimed_note,
    comparison_of,
    decided_mask,
    expr_text,
    figure_of,
    fmt_num,
    fmt_t,
    headline,
    judged,
    provenance_label,
    ratio_name,
    reference_text,
    refutes_if,
    steps_ratio,
    variable_label,
    variable_symbol,
    worst_index,
    worst_note,
)
from verify.report.naming import report_basename
from verify.report.plot import plot_report
from verify.report.runs import load_runs
from verify.report.schema import load_report
from verify.verdicts import KIND_AUDIT, KIND_COUNTEREXAMPLE

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;
color:#1b1f24;line-height:1.45}
h1{font-size:1.45rem;overflow-wrap:anywhere}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
h3{font-size:1rem;margin-bottom:.3rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.88rem}
th,td{border:1px solid #d0d7de;padding:.3rem .45rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
td a,td code{overflow-wrap:anywhere}
th{background:#f6f8fa}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.84rem}
code{overflow-wrap:anywhere}pre{background:#f6f8fa;padding:.6rem;white-space:pre-wrap;overflow-wrap:anywhere;
border-radius:4px}
.verdict{font-weight:600;padding:0 .4rem;border-radius:3px;white-space:nowrap}
.v-holds{background:#dafbe1;color:#116329}.v-violated{background:#ffebe9;color:#a40e26}
.v-inconclusive,.v-undecided{background:#fff8c5;color:#7d4e00}.v-fails{background:#ffebe9;color:#a40e26}
.v-not-applicable{background:#eaeef2;color:#57606a}.v-diagnostic{background:#eaeef2;color:#424a53;font-weight:400}
.chip{display:inline-block;margin:0 .25rem .2rem 0;padding:0 .35rem;border-radius:3px;background:#eaeef2;
font-size:.8rem;white-space:nowrap}
.num{font-variant-numeric:tabular-nums;white-space:nowrap}
blockquote{margin:0;padding:.3rem 1rem;border-left:4px solid #d0d7de;color:#424a53}
img.plot{max-width:100%;height:auto;border:1px solid #d0d7de}.muted{color:#57606a}.small{font-size:.8rem}
input{padding:.3rem;width:20rem;max-width:100%}
.note{background:#f6f8fa;border-left:4px solid #8c959f;padding:.4rem .8rem;margin:.5rem 0}
.broken{background:#fff1e5;border-left:4px solid #bc4c00;padding:.4rem .8rem;margin:.5rem 0}
tr.worst td{background:#fff8c5}tr.unjudged td{color:#8c959f}
svg.chart{max-width:100%;height:auto}
"""

# Records script errors, console.error calls, undecodable images and elements beyond the window's right edge on
# <html> (see the module docstring).
GUARD_JS = """
(function(){var root=document.documentElement,errs=[];
function rec(m){errs.push(String(m));root.setAttribute('data-js-errors',JSON.stringify(errs));}
root.setAttribute('data-js-errors','[]');
window.addEventListener('error',function(e){
rec('error: '+(e.message||(e.target&&(e.target.src||e.target.href))||'resource'));},true);
window.addEventListener('unhandledrejection',function(e){rec('unhandled rejection: '+e.reason);});
var ce=console.error;console.error=function(){rec('console.error: '+Array.prototype.join.call(arguments,' '));
return ce.apply(console,arguments);};
window.addEventListener('load',function(){var bad=[],off=[],vw=root.clientWidth;
document.querySelectorAll('img').forEach(function(i){if(!i.complete||i.naturalWidth===0){bad.push(i.alt);}});
document.querySelectorAll('body *').forEach(function(e){var r=e.getBoundingClientRect();
if(r.width>0&&r.right>vw+1&&off.length<20){off.push(e.tagName.toLowerCase()+': '+
String(e.textContent||e.getAttribute('alt')||'').trim().slice(0,60));}});
root.setAttribute('data-images-broken',JSON.stringify(bad));root.setAttribute('data-offscreen',JSON.stringify(off));
root.setAttribute('data-viewport',String(vw));root.setAttribute('data-loaded','ok');});})();
"""

FILTER_JS = """
document.addEventListener('DOMContentLoaded',function(){var box=document.getElementById('filter');if(!box){return;}
box.addEventListener('input',function(){var q=box.value.toLowerCase();
document.querySelectorAll('tr.row').forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':'';});});});
"""

VERDICT_FILL = {"violated": "#cf222e", "holds": "#1a7f37", "inconclusive": "#bf8700", "not-applicable": "#8c959f",
                "error": "#6e7781"}

DIAGNOSTICS_NOTE = ("Diagnostics are the module's other assumptions: this claim does not make them. They are "
                    "evaluated on the instance for context only; a diagnostic that fails does not affect the "
                    "finding.")


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _verdict(v: Any, diagnostic: bool = False) -> str:
    s = str(v)
    if diagnostic:
        return (f'<span class="verdict v-diagnostic" title="a diagnostic: not an assumption of this claim">{esc(s)}'
                "</span>")
    return f'<span class="verdict v-{esc(s.replace(" ", "-"))}">{esc(s)}</span>'


def num(value: Any, src: str, field: str, digits: int = 6, text: str | None = None) -> str:
    """A number from a JSON file, with where it comes from (``data-src``, ``data-field``)."""
    shown = text if text is not None else (fmt_t(value) if field.endswith((".t_worst", "]")) and
                                           _is_whole(value) else fmt_num(value, digits))
    return f'<span class="num" data-src="{esc(src)}" data-field="{esc(field)}">{esc(shown)}</span>'


def _is_whole(v: Any) -> bool:
    f = as_float(v)
    return f is not None and math.isfinite(f) and f == int(f) and abs(f) < 1e15


def _steps_text(v: Any) -> str:
    f = as_float(v)
    if f is None:
        return "—"
    return "not reached" if math.isinf(f) and f > 0 else fmt_t(f)


def html_page(title: str, body: str, src: str = "") -> str:
    """A self-contained page: the shared style, the console guard and the table filter, and ``body`` (HTML)."""
    attr = f' data-src="{esc(src)}"' if src else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n<script>{GUARD_JS}</script>\n<script>{FILTER_JS}</script>\n"
            f"<style>{CSS}</style>\n</head>\n<body{attr}>\n{body}\n</body>\n</html>\n")


def html_table(header: list[str], rows: list[list[str]], row_class: str = "", classes: list[str] | None = None,
           attrs: str = "") -> str:
    """A table whose cells are already HTML (callers escape text with :func:`esc`)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for k, r in enumerate(rows):
        cls = " ".join(c for c in (row_class, (classes or [""] * len(rows))[k]) if c)
        body.append(f"<tr{' class=' + chr(34) + cls + chr(34) if cls else ''}>" + "".join(f"<td>{c}</td>" for c in r)
                    + "</tr>")
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _png_data_uri(report: dict, siblings: list[dict] | None = None) -> str:
    """The report's figure drawn now (never the PNG beside the JSON, which an older version may have drawn), as a
    data URI (self-contained page)."""
    return "data:image/png;base64," + base64.b64encode(plot_report(report, siblings)).decode("ascii")


def _rel(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


# ---------------------------------------------------------------------------------------------- charts
def readings_chart(rows: list[dict], label: str = "") -> str:
    """The readings of the reconstructed constants as a small inline SVG chart: a line per constant, a dot per
    reading (its value written under it), coloured by the verdict under that reading."""
    names: dict[str, list[dict]] = {}
    for r in rows:
        names.setdefault(str(r.get("name")), []).append(r)
    if not names:
        return ""
    width, row_h, left = 640, 46, 120
    most = max(len(v) for v in names.values())
    step = (width - left - 30) / max(most, 1)
    height = row_h * len(names) + 34
    parts = [f'<svg class="chart" role="img" aria-label="{esc(label or "readings of the reconstructed constants")}"'
             f' viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             'xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="12">']
    for k, (name, rs) in enumerate(names.items()):
        y = 20 + k * row_h
        parts.append(f'<text x="4" y="{y + 4}" font-weight="600">{esc(name)}</text>')
        parts.append(f'<line x1="{left}" y1="{y}" x2="{left + step * (len(rs) - 1) + 1}" y2="{y}" stroke="#d0d7de" '
                     'stroke-width="2"/>')
        for j, r in enumerate(rs):
            x = left + step * j
            verdict = str(r.get("verdict", "?"))
            fill = VERDICT_FILL.get(verdict, "#6e7781")
            value = json.dumps(r.get("value"), default=str)
            parts.append(f'<circle class="reading" data-verdict="{esc(verdict)}" cx="{x:.1f}" cy="{y}" r="8" '
                         f'fill="{fill}"><title>{esc(name)} = {esc(value)} ({esc(r.get("role", ""))}): '
                         f'{esc(verdict)}</title></circle>')
            parts.append(f'<text x="{x:.1f}" y="{y + 24}" text-anchor="middle">{esc(value)} '
                         f'<tspan fill="#57606a">({esc(r.get("role", ""))})</tspan></text>')
    ly = height - 6
    for j, (verdict, fill) in enumerate(list(VERDICT_FILL.items())[:4]):
        parts.append(f'<circle cx="{left + j * 120}" cy="{ly - 4}" r="5" fill="{fill}"/>'
                     f'<text x="{left + 9 + j * 120}" y="{ly}">{esc(verdict)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------- report pages
def _key_figures(report: dict, src: str) -> str:
    ev, fig, kind = report["evidence"], figure_of(report), claim_kind(report)
    sym = variable_symbol(report)
    code = f" ({esc(ev['code'])})" if ev.get("code") else ""
    rows = [["verdict", _verdict(ev["verdict"]) + code, esc(ev["reason"])],
            ["metric", esc(ev["metric"]), f"against {esc(variable_label(report))}"]]
    worst = num(ev["worst_ratio"], src, "evidence.worst_ratio")
    at = num(ev["t_worst"], src, "evidence.t_worst") if ev.get("t_worst") is not None else "—"
    if kind in ("order", "bound", "identity", "probability", "limit", "comparison"):
        rows.append([f"worst ratio ({esc(ratio_name(report)) if kind != 'comparison' else 'steps A / B'})",
                     f"{worst} at {esc(sym)} = {at}" if ev.get("t_worst") is not None else worst,
                     esc(worst_note(report))])
    if kind == "order":
        rows.append(["claimed curve", f"rate <code>{esc(expr_text(report['claim'].get('rate')))}</code> × "
                     + num(fig.get("scale", ev.get("worst_ratio")), src,
                           "evidence.figure.scale" if "scale" in fig else "evidence.worst_ratio", 4),
                     esc(claimed_note(report))])
        if fig.get("judged_from") is not None:
            rows.append(["judged from", f"{esc(sym)} = " + num(fig["judged_from"], src, "evidence.figure.judged_from",
                                                               text=fmt_t(fig["judged_from"])),
                         "the rule judges the checkpoints from here on; earlier ones are shown, not judged"])
    if kind == "bound":
        value = fig.get("constant_value")
        rows.append(["the bound", f"<code>{esc(expr_text(fig.get('constant') or report['claim'].get('constant')))}"
                     f"</code> × <code>{esc(expr_text(report['claim'].get('rate')))}</code>"
                     + ("; constant on this instance " + num(value, src, "evidence.figure.constant_value", 4)
                        if value is not None else ""), esc(claimed_note(report))])
        rule = ev.get("extra", {}).get("rule", {})
        if isinstance(rule, dict) and "excess" in rule:
            rows.append(["excess at the worst checkpoint", num(rule["excess"], src, "evidence.extra.rule.excess", 4)
                         + " (the run's error bound " + num(rule.get("error_bound"), src,
                                                           "evidence.extra.rule.error_bound", 3) + ")",
                         "a checkpoint violates the bound only where the excess is beyond the error bound"])
    if kind == "identity" and fig.get("residual") is not None:
        rows.append(["tolerance", "atol " + num(fig.get("atol"), src, "evidence.figure.atol", 3) + ", rtol "
                     + num(fig.get("rtol"), src, "evidence.figure.rtol", 3), "|lhs − rhs| <= atol + rtol |rhs|"])
    if kind in ("order", "limit", "bound"):
        rows.append(["fitted exponent, constant", num(ev["exponent"], src, "evidence.exponent") + ", "
                     + num(ev["constant"], src, "evidence.constant"), "metric ~ constant × t^exponent over the tail"])
    rows.append(["precision kept", "yes" if ev["precision_ok"] else "<strong>no</strong>",
                 "whether the run kept the precision the verdict needs"])
    return html_table(["figure", "value", "what it is"], rows, attrs=' id="key-figures"')


def _checkpoints(report: dict, src: str) -> list[str]:
    ev, fig, kind = report["evidence"], figure_of(report), claim_kind(report)
    n = len(ev["t"])
    if not n:
        return ["<p>No checkpoints recorded.</p>"]
    worst = worst_index(ev)
    rs = checkpoint_ratios(report)
    jd = judged(report)
    sym = variable_symbol(report)
    claimed_head = {"order": "claimed rate × scale", "bound": "bound", "identity": "rhs",
                    "probability": "threshold"}.get(kind, "claimed")
    observed_head = {"identity": "lhs"}.get(kind, "observed " + esc(ev["metric"]))
    head = [esc(sym), observed_head, claimed_head, esc(ratio_name(report))]
    has_rate = kind == "order" and isinstance(fig.get("rate"), list)
    if has_rate:
        head.insert(3, "rate (unscaled)")
    if kind == "identity" and fig.get("residual") is not None:
        head[3:3] = ["|lhs − rhs|", "tolerance"]
    rows, classes = [], []
    idx = checkpoint_rows(n, worst)
    for i in idx:
        claimed = num(ev["claimed"][i], src, f"evidence.claimed[{i}]") if i < len(ev["claimed"]) else "—"
        row = [num(ev["t"][i], src, f"evidence.t[{i}]", text=fmt_t(ev["t"][i]))
               + (" <strong>&larr; worst</strong>" if i == worst else "")
               + ("" if jd[i] else ' <span class="muted small">(not judged)</span>'),
               num(ev["observed"][i], src, f"evidence.observed[{i}]"), claimed]
        if has_rate:
            row.append(num(fig["rate"][i], src, f"evidence.figure.rate[{i}]"))
        if kind == "identity" and fig.get("residual") is not None:
            row += [num(fig["residual"][i], src, f"evidence.figure.residual[{i}]"),
                    num(fig["tolerance"][i], src, f"evidence.figure.tolerance[{i}]")]
        row.append(f'<span class="num" data-ratio="{i}">{esc(fmt_num(rs[i]))}</span>')
        rows.append(row)
        classes.append("worst" if i == worst else ("" if jd[i] else "unjudged"))
    shown = f"{len(idx)} of {n} checkpoints" if len(idx) < n else f"all {n} checkpoints"
    return [f"<h2>{'Elements' if kind == 'identity' else 'Checkpoints'}</h2>",
            f"<p class=\"muted\">{shown}; claimed: {esc(claimed_note(report))}.</p>",
            html_table(head, rows, classes=classes, attrs=' id="checkpoints"')]


def _comparison_tables(report: dict, src: str) -> list[str]:
    comp = comparison_of(report)
    if comp is None:
        return _checkpoints(report, src)
    fig = figure_of(report)
    from_fig = isinstance(fig.get("steps"), dict)
    groups = fig.get("groups") if isinstance(fig.get("groups"), list) else None
    methods = list(comp["steps"])
    k = len(next(iter(comp["steps"].values()))) if methods else 0
    sym = variable_symbol(report)
    masks = {(p["a"], p["b"]): decided_mask(comp, p["a"], p["b"]) for p in comp["pairs"]}
    rows = []
    for i in range(k):
        at = comp["at"][i] if i < len(comp.get("at") or []) else i + 1
        row = [num(at, src, f"evidence.figure.at[{i}]", text=fmt_t(at)) if from_fig else esc(fmt_t(at))]
        if groups:
            row.append(esc(groups[i]))
        for m in methods:
            v = comp["steps"][m][i]
            row.append(num(v, src, f"evidence.figure.steps.{m}[{i}]", text=_steps_text(v)) if from_fig
                       else esc(_steps_text(v)))
        for p in comp["pairs"]:
            a, b = comp["steps"][p["a"]][i], comp["steps"][p["b"]][i]
            if not masks[(p["a"], p["b"])][i]:
                row.append('<span class="muted">undecided</span>')
                continue
            won = a is not None and b is not None and math.isfinite(a) and (a <= b if not comp.get("strict", True)
                                                                            else a < b)
            row.append(("yes" if won else "<strong>no</strong>") + f' <span class="muted small">(ratio '
                       f"{esc(fmt_num(steps_ratio(a, b), 4))})</span>")
        rows.append(row)
    head = [esc(sym), *(["group"] if groups else []), *[f"steps: {esc(m)}" for m in methods],
            *[f"{esc(p['a'])} first vs {esc(p['b'])}?" for p in comp["pairs"]]]
    prow = []
    for j, p in enumerate(comp["pairs"]):
        f = f"evidence.figure.pairs[{j}]"
        prow.append([f"<code>{esc(p['a'])}</code> vs <code>{esc(p['b'])}</code>",
                     num(p.get("wins"), src, f + ".wins") if from_fig else esc(p.get("wins")),
                     num(p.get("decided"), src, f + ".decided") if from_fig else esc(p.get("decided")),
                     num(p.get("needed"), src, f + ".needed") if from_fig else esc(p.get("needed")),
                     _verdict(p.get("verdict", "?"))])
    rule = "no later than" if not comp.get("strict", True) else "before"
    horizon = comp.get("horizon")
    return ["<h2>Steps to the target</h2>",
            f"<p>Target <code>{esc(comp.get('target'))}</code>"
            + (f", horizon {num(horizon, src, 'evidence.figure.horizon', text=fmt_t(horizon))} steps"
               if horizon is not None and from_fig else "")
            + f". In each pair the first method must reach the target {rule} the second on at least a fraction "
            f"{esc(fmt_num(comp.get('fraction'), 3))} of the decided samples; a sample on which neither reaches it"
            + (" (or, strict with checkpoints coarser than one step, both at the same checkpoint)"
               if comp.get("strict", True) and not comp.get("exact") else "")
            + " is undecided. <em>not reached</em>: not within the horizon.</p>",
            html_table(head, rows, attrs=' id="steps"'),
            "<h3>Per pair</h3>",
            html_table(["pair", "first on", "decided samples", "needed", "verdict"], prow, attrs=' id="pairs"')]


def _probability_tables(report: dict, src: str) -> list[str]:
    fig = figure_of(report)
    parts: list[str] = ["<h2>Trials</h2>"]
    keys = [("successes", "successes", 6), ("trials", "trials", 6), ("claimed_p", "claimed probability", 4),
            ("confidence", "confidence", 3)]
    rows = [[esc(label), num(fig[k], src, f"evidence.figure.{k}", d)] for k, label, d in keys if k in fig]
    if isinstance(fig.get("interval"), list) and len(fig["interval"]) == 2:
        rows.append(["Clopper-Pearson interval", "[" + num(fig["interval"][0], src, "evidence.figure.interval[0]", 4)
                     + ", " + num(fig["interval"][1], src, "evidence.figure.interval[1]", 4) + "]"])
    if "threshold" in fig:
        rows.append(["threshold (a draw succeeds when at most this)", num(fig["threshold"], src,
                                                                          "evidence.figure.threshold", 4)])
    if isinstance(fig.get("draws"), dict):
        rows += [[f"draws whose check {esc(k)}", num(v, src, f"evidence.figure.draws.{k}")]
                 for k, v in fig["draws"].items()]
    if rows:
        parts.append(html_table(["figure", "value"], rows, attrs=' id="trials"'))
        parts.append("<p class=\"muted\">Violated when the whole interval lies below the claimed probability; "
                     "holds when it lies above; inconclusive when it straddles it.</p>")
    else:
        parts.append("<p>No trials recorded.</p>")
    if "threshold" in fig:
        parts += _checkpoints(report, src)[1:]
    return parts


def _assumptions(report: dict, src: str) -> list[str]:
    broken = report["broken_assumption"]
    rows = report["assumptions"]
    mine = [(k, a) for k, a in enumerate(rows) if a.get("role", "claim") != "diagnostic"]
    diag = [(k, a) for k, a in enumerate(rows) if a.get("role") == "diagnostic"]
    out = ["<h2>Assumptions</h2>"]
    holding = sum(1 for _, a in mine if a["verdict"] == "holds")
    if broken:
        k, a = next(((k, a) for k, a in enumerate(rows) if a["id"] == broken), (None, None))
        slack = num(a["slack"], src, f"assumptions[{k}].slack", 4) if a is not None else "—"
        out.append(f'<div class="broken" id="broken">Broken on purpose: <strong>{esc(broken)}</strong>, slack {slack}'
                   f" ({esc(a['detail'] if a else '')}). The claim was evaluated anyway: an audit shows that the "
                   f"assumption is needed; it refutes nothing. {holding} of the claim's {len(mine)} assumptions "
                   "hold.</div>")
    else:
        out.append(f"<p>{holding} of the claim's {len(mine)} assumptions hold on this instance"
                   + (", as a counterexample requires; none is broken on purpose." if holding == len(mine) else ".")
                   + "</p>")
    out.append("<p class=\"muted\">Slack is positive when an assumption holds and negative when it fails, in the "
               "assumption's own units.</p>")

    def table(items: list[tuple[int, dict]], diagnostic: bool) -> str:
        return html_table(["id", "verdict", "slack", "provenance", "detail"], [
            [esc(a["id"]) + (" <strong>(broken on purpose)</strong>" if a["id"] == broken else ""),
             _verdict(a["verdict"], diagnostic), num(a["slack"], src, f"assumptions[{k}].slack"),
             f"<code>{esc(provenance_label(a['provenance']))}</code>", esc(a["detail"] or a["title"])]
            for k, a in items], attrs=f' id="{"diagnostics" if diagnostic else "claim-assumptions"}"')

    out += ["<h3>Assumptions of the claim</h3>", table(mine, False) if mine else "<p>None.</p>"]
    if diag:
        out += ["<h3>Diagnostics</h3>", f'<p class="note">{esc(DIAGNOSTICS_NOTE)}</p>', table(diag, True)]
    return out


def _parts(report: dict) -> list[str]:
    parts = report["evidence"].get("extra", {}).get("parts")
    if not isinstance(parts, dict) or not parts:
        return []
    return ["<h3>Parts of the claim</h3>",
            "<p class=\"muted\">The claim is judged part by part: violated if any part is, holds if every part "
            "does.</p>",
            html_table(["part", "verdict", "reason"], [[esc(k), _verdict(v.get("verdict", "?"))
                                                   + (f" ({esc(v['code'])})" if v.get("code") else ""),
                                                   esc(v.get("reason", ""))] for k, v in parts.items()
                                                  if isinstance(v, dict)], attrs=' id="parts"')]


def render_report_page(report: dict, json_path: Path, out_dir: Path, siblings: list[dict] | None = None) -> str:
    """One report's page (``siblings``: other audit reports of the same claim and assumption, for the figure)."""
    claim = report["claim"]
    src = _rel(json_path, out_dir)
    kind = claim_kind(report)
    audit = report["kind"] == KIND_AUDIT
    parts = ['<p><a href="index.html">&larr; all reports</a></p>',
             f"<h1>{esc(claim['id'])}: {_verdict(report['verdict'])} "
             f"<span class=\"chip\" id=\"kind\">{esc(report['kind'])}</span> "
             f"<span class=\"chip\" id=\"claim-kind\">{esc(kind)} claim</span></h1>",
             f"<p id=\"headline\"><strong>{esc(headline(report))}</strong></p>",
             f"<p>{esc(refutes_if(report))}</p>",
             f"<p><strong>{esc(claim['title'])}</strong> &mdash; {esc(kind)} claim, status "
             f"<em>{esc(report['status'])}</em></p>",
             *_certification(report),
             f"<blockquote>{esc(claim['statement'])}</blockquote>",
             f"<p class=\"muted small\">Provenance <code>{esc(provenance_label(claim['provenance']))}</code>. Paper: "
             f"{esc(claim['paper'])}. Reference: {esc(reference_text(report['theorem']['reference']) or '—')}. "
             f"Theorem module <code>{esc(report['theorem']['module'])}</code>. Created {esc(report['created'])}.</p>",
             "<h2>Evidence</h2>",
             f'<img class="plot" alt="evidence plot: {esc(claim["id"])}" width="1000" '
             f'src="{_png_data_uri(report, siblings)}">',
             _key_figures(report, src), *_parts(report)]
    if kind == "comparison":
        parts += _comparison_tables(report, src)
    elif kind == "probability":
        parts += _probability_tables(report, src)
    else:
        parts += _checkpoints(report, src)
    parts += _assumptions(report, src)
    parts += ["<h2>Run</h2>",
              html_table(["method", "backend", "precision", "seed"],
                     [[f"<code>{esc(json.dumps(report['method'], sort_keys=True, default=str))}</code>",
                       esc(report["backend"]), f"<code>{esc(json.dumps(report['precision'], default=str))}</code>",
                       esc(report["seed"])]]),
              "<h2>Confirmation runs</h2>"]
    if report["confirmation"]:
        parts.append(html_table(["kind", "confirms?", "verdict", "reason"], [
            [esc(c["kind"]), "not applicable" if c.get("applies") is False else
             (("yes" if c.get("agrees") else "<strong>NO</strong>") if "agrees" in c else "—"),
             _verdict(c["verdict"]), esc(c["reason"])] for c in report["confirmation"]]))
    else:
        parts.append("<p>No confirmation runs.</p>")
    if report.get("robustness"):
        parts += ["<h2>Reconstructed constants</h2>",
                  "<p>The candidate re-checked under every reading of each reconstructed constant: it is reported "
                  "only when every reading is violated.</p>",
                  readings_chart(report["robustness"], f"readings of {claim['id']}"),
                  html_table(["parameter", "reading", "value", "verdict", "reason"], [
                      [esc(r["name"]), esc(r["role"]), esc(r["value"]), _verdict(r["verdict"]), esc(r["reason"])]
                      for r in report["robustness"]], attrs=' id="readings"')]
    elif audit:
        parts += ["<h2>Reconstructed constants</h2>", "<p>Not re-checked: an audit breaks an assumption on purpose."
                  "</p>"]
    parts += _shrunk(report, src)
    parts += ["<h2>Replay</h2>", f'<pre id="replay">{esc(report["replay"])}</pre>',
              f'<p>Report data: <a href="{esc(src)}">{esc(json_path.name)}</a></p>',
              "<h2>Versions</h2>",
              html_table(["package", "version"], [[esc(k), esc(v)] for k, v in sorted(report["versions"].items())])]
    return html_page(f"{claim['id']}: {report['verdict']}", "\n".join(parts), src)


# ---------------------------------------------------------------------------------------------- the index
def _counts(c: dict) -> str:
    chips = [f'<span class="chip">{esc(n)} {esc(v)}</span>' for v, n in sorted((c.get("counts") or {}).items())]
    codes = [f'<span class="chip small muted">{esc(k)}: {esc(n)}</span>' for k, n in (c.get("codes") or {}).items()]
    return "".join(chips) + ("<br>" + "".join(codes) if codes else "")


def render_index(entries: list[tuple[dict, Path, str]], runs: list[tuple[dict, Path]], source: Path,
                 out_dir: Path | None = None) -> str:
    """The index: a section per run (a row per claim), the reconstruction-dependent candidates, then the
    counterexamples and the audit findings."""
    out_dir = out_dir or source
    by_path = {str(Path(f).resolve()): (rep, f, page) for rep, f, page in entries}
    n_cx = sum(1 for r, _, _ in entries if r["kind"] == KIND_COUNTEREXAMPLE)
    n_au = sum(1 for r, _, _ in entries if r["kind"] == KIND_AUDIT)
    parts = ["<h1>Verification reports</h1>",
             f"<p class=\"muted\">{len(runs)} run(s) and {len(entries)} report(s) ({n_cx} counterexample(s), "
             f"{n_au} audit finding(s)) in <code>{esc(source)}</code>.</p>",
             '<p><input id="filter" type="search" placeholder="filter rows (claim, verdict, status...)"></p>']
    for run, run_path in runs:
        rsrc = _rel(run_path, out_dir)
        rows, charts = [], []
        for ci, c in enumerate(run["claims"]):
            links, ratios = [], []
            for p in c.get("reports") or []:
                hit = by_path.get(str(Path(p).resolve())) or by_path.get(str((source / Path(p).name).resolve()))
                if hit:
                    rep, f, page = hit
                    fsrc = _rel(f, out_dir)
                    ratios.append(as_float(rep["evidence"]["worst_ratio"]))
                    links.append(f'<a href="{esc(page)}">{esc(rep["kind"])} {esc(Path(f).stem.rsplit("--", 1)[-1])}'
                                 f'</a> <span class="small">(worst ratio '
                                 f'{num(rep["evidence"]["worst_ratio"], fsrc, "evidence.worst_ratio", 4)})</span>')
                else:
                    links.append(esc(Path(p).name) + ' <span class="muted small">(not in this folder)</span>')
            wr = as_float(c.get("worst_ratio"))
            note = ""
            if wr is not None and ratios and all(r is None or not math.isclose(r, wr, rel_tol=1e-12) for r in ratios):
                note = '<br><span class="muted small">on an instance without a report</span>'
            exps = c.get("exponents") or []
            exp_text = (f'<br><span class="muted small">fitted exponents: '
                        f'{esc(", ".join(fmt_num(x, 3) for x in exps[:6]) + (" ..." if len(exps) > 6 else ""))}'
                        "</span>") if exps else ""
            rows.append([f"<code>{esc(c.get('claim_id'))}</code><br>{esc(c.get('title', ''))}"
                         f"<br><span class=\"muted small\"><code>{esc(c.get('provenance', ''))}</code></span>",
                         esc(c.get("kind", "")), _verdict(c.get("verdict")),
                         num(c.get("tried"), rsrc, f"claims[{ci}].tried") + " tried<br>" + _counts(c) + exp_text,
                         num(c.get("worst_ratio"), rsrc, f"claims[{ci}].worst_ratio", 4) + note,
                         "<br>".join(links) or "—"])
            for cand in c.get("candidates") or []:
                rob = cand.get("robustness") or []
                if rob and any(r.get("verdict") != "violated" for r in rob):
                    charts += [f"<h3><code>{esc(c.get('claim_id'))}</code>, candidate {esc(cand.get('instance'))}: "
                               f"{_verdict(cand.get('verdict'))} "
                               f"{esc('(' + cand['code'] + ')' if cand.get('code') else '')}"
                               "</h3>", f"<p class=\"small\">{esc(cand.get('status', ''))}</p>",
                               readings_chart(rob, f"readings of {c.get('claim_id')}")]
        parts += [f"<h2>Run {esc(run.get('created', ''))}</h2>",
                  f"<p>profile <code>{esc(run.get('profile'))}</code>, seed {esc(run.get('seed'))}"
                  f"{', instance ' + esc(run['instance']) if run.get('instance') else ''}; command "
                  f"<code>{esc(run.get('command', ''))}</code></p>",
                  html_table(["claim", "kind", "verdict", "instances", "worst ratio over the run",
                          "reports"], rows, "row", attrs=' class="run"'),
                  "<p class=\"muted small\">The worst ratio of a row is the largest over every instance of the run, "
                  "reported or not; each report shows its own. Its meaning follows the kind: metric / rate (order), "
                  "metric / bound (bound), steps A / B (comparison), error / tolerance (identity).</p>"]
        if charts:
            parts += ["<h3>Reconstruction dependence</h3>",
                      "<p>Candidates whose violation depends on how a reconstructed constant is read: one dot per "
                      "reading, coloured by the verdict under it. A finding is reported only when every reading "
                      "is violated.</p>", *charts]
    cx = [(r, f, page) for r, f, page in entries if r["kind"] != KIND_AUDIT]
    au = [(r, f, page) for r, f, page in entries if r["kind"] == KIND_AUDIT]
    parts.append("<h2>Counterexamples</h2>")
    if cx:
        rows = [[f'<a href="{esc(page)}"><code>{esc(r["claim"]["id"])}</code></a><br>'
                 f'<span class="small">{esc(r["claim"]["kind"])} claim</span>', _verdict(r["verdict"]),
                 esc(r["status"]), num(r["evidence"]["worst_ratio"], _rel(f, out_dir), "evidence.worst_ratio", 4),
                 f"<code>{esc(r['replay'])}</code>"] for r, f, page in cx]
        parts.append(html_table(["claim", "verdict", "status", "worst ratio", "replay"], rows, "row",
                            attrs=' id="counterexamples"'))
    else:
        parts.append("<p>No counterexamples.</p>")
    if au:
        parts += ["<h2>Audit findings</h2>",
                  "<p class=\"muted\">Each breaks one assumption on purpose: it shows that the assumption is needed "
                  "and refutes nothing. These instances are not the runs' instances.</p>"]
        rows = []
        for r, f, page in au:
            k = next((k for k, a in enumerate(r["assumptions"]) if a["id"] == r["broken_assumption"]), None)
            slack = num(r["assumptions"][k]["slack"], _rel(f, out_dir), f"assumptions[{k}].slack", 4) \
                if k is not None else "—"
            rows.append([f'<a href="{esc(page)}"><code>{esc(r["claim"]["id"])}</code></a><br>'
                         f'<span class="small">{esc(r["claim"]["kind"])} claim</span>',
                         f"{esc(r['broken_assumption'])}<br><span class=\"small\">slack {slack}</span>",
                         _verdict(r["verdict"]), num(r["evidence"]["worst_ratio"], _rel(f, out_dir),
                                                     "evidence.worst_ratio", 4),
                         f"<code>{esc(r['replay'])}</code>"])
        parts.append(html_table(["claim", "broken assumption", "verdict", "worst ratio", "replay"], rows, "row",
                            attrs=' id="audits"'))
    if not entries:
        parts.append("<p>No reports.</p>")
    return html_page("Verification reports", "\n".join(parts))


def write_html(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the site for a report folder (or one report file) into ``out`` (default: the folder) and return
    the path of ``index.html``. Every ``*.json`` in the folder must be a valid report (else a one-line
    VerifyInputError naming it)."""
    p = Path(path)
    if not p.exists():
        raise VerifyInputError(f"{p}: no such file or directory")
    from verify.report.map_page import is_map_folder, write_map_html  # a map folder (verify map) has its own page

    if is_map_folder(p):
        return write_map_html(p, out)
    src_dir = p if p.is_dir() else p.parent
    files = sorted(f for f in src_dir.glob("*.json") if f.is_file() and not f.name.startswith(".")) \
        if p.is_dir() else [p]
    out_dir = Path(out) if out else src_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    reports = [(load_report(f), f) for f in files]
    reports.sort(key=lambda e: (str(e[0]["claim"]["id"]), e[1].name))
    runs = load_runs(src_dir) if p.is_dir() else []
    entries = []
    for rep, f in reports:
        page = f"{report_basename(rep)}.html"
        siblings = [r for r, g in reports if g != f and rep["kind"] == KIND_AUDIT and r["kind"] == KIND_AUDIT
                    and r["claim"]["id"] == rep["claim"]["id"] and r["broken_assumption"] == rep["broken_assumption"]]
        atomic_write_text(out_dir / page, render_report_page(rep, f, out_dir, siblings))
        entries.append((rep, f, page))
    return atomic_write_text(out_dir / "index.html", render_index(entries, runs, src_dir, out_dir))


def _shrunk(report: dict, src: str) -> list[str]:
    """The shrunk counterexample (:func:`verify.report.markdown.shrunk_summary`): the original and the shrunk
    instance side by side (the model's sizes, the arrays' shapes, how many numbers), whether the shrunk one is
    violated, confirmed and certified, the evaluations spent and the accepted moves."""
    from verify.report.markdown import shrunk_summary

    s = shrunk_summary(report)
    if s is None:
        return []
    out = ["<h2>Shrunk counterexample</h2>"]
    if not s["shrunk"]:
        return out + [f'<p id="shrunk">Not shrunk: none of the {num(s["evaluations"], src, "shrunk.evaluations")} '
                      f'smaller candidates assessed (budget {num(s["budget"], src, "shrunk.budget")}) met the '
                      "assumptions with a confirmed violation; the original is the smallest found.</p>"]

    def cell(v: Any, field: str | None) -> str:
        if v is None:
            return "—"
        return num(v, src, field, text=str(v)) if field and isinstance(v, (int, float)) else esc(v)

    rows = [[esc(k), cell(a, fa), cell(b, fb)] for k, a, b, fa, fb in s["sizes"]]
    cert = s["certification"]
    facts = [["violated", _verdict(s["verdict"]) + " (worst ratio "
              + num(s["worst_ratio"], src, "shrunk.evidence.worst_ratio") + ")"],
             ["confirmed", ("yes" if s["confirmed"] else "<strong>no</strong>") + f" ({esc(s['status'])})"],
             ["certified", esc(cert) if cert else '<span class="muted">not recorded</span>'],
             ["evaluations", num(s["evaluations"], src, "shrunk.evaluations", text=str(s["evaluations"]))
              + " of a budget of " + num(s["budget"], src, "shrunk.budget", text=str(s["budget"])) + " ("
              + num(s["rejected"], src, "shrunk.rejected", text=str(s["rejected"])) + " rejected"
              + ("; budget exhausted" if s["exhausted"] else "") + ")"]]
    moves = [[f"<code>{esc(m.get('move'))}</code>", esc(m.get("detail")),
              num(m.get("size"), src, f"shrunk.moves[{k}].size", text=str(m.get("size")))]
             for k, m in enumerate(s["moves"])]
    small = (report.get("shrunk") or {}).get("instance")
    inst = (f"<details><summary>The shrunk instance (JSON)</summary><pre>{esc(json.dumps(small, sort_keys=True))}"
            "</pre></details>") if isinstance(small, dict) else ""
    return [*out, "<p>The original instance stays the report's; the smaller one meets every assumption of the claim "
            "and is violated, and its violation was confirmed again by the same re-runs.</p>",
            html_table(["", "original", "shrunk"], rows, attrs=' id="shrunk"'),
            html_table(["", "the shrunk instance"], facts, attrs=' id="shrunk-status"'),
            "<h3>Accepted moves</h3>", html_table(["move", "what it did", "numbers after"], moves,
                                              attrs=' id="shrunk-moves"'), inst]


def _certification(report: dict) -> list[str]:
    """The certification paragraph: "certified (rigorous)" only when the report's ``certified`` is true."""
    from verify.certify import certification_line

    line = certification_line(report)
    return [] if line is None else [f"<p id=\"certification\"><strong>Certification</strong>: {esc(line)}</p>"]

