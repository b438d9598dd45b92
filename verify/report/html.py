"""``verify show DIR --html``: a self-contained static HTML site over a folder of reports.

- ``index.html``: one section per ``verify check`` run (``DIR/runs/*.json``) with a row per claim (verdict,
  instances tried, verdict counts, worst ratio, fitted exponents, provenance, links to its counterexamples),
  then a table of every counterexample report in the folder.
- ``<report name>.html``: one page per counterexample, with the evidence plot (the metric against the claimed
  curve on log axes, embedded as a PNG data URI), the assumption table with slacks and provenance, the claim's
  statement and provenance, the run, the checkpoints, the confirmation runs, the versions and the replay
  command.

Pages need nothing from the network: styles are inline and images are data URIs. A few lines of inline
JavaScript filter the index table, and record any script error, failed console.error call or undecodable
image on ``<html>`` as ``data-js-errors`` / ``data-images-broken`` (read back by the headless-browser test).
Every file is written atomically. Text from reports is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

from verify.errors import VerifyInputError
from verify.instance import atomic_write_text
from verify.report.fmt import (
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
from verify.report.plot import plot_report
from verify.report.runs import load_runs
from verify.report.schema import load_report
from verify.verdicts import KIND_AUDIT, KIND_COUNTEREXAMPLE

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;
color:#1b1f24;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;border-radius:4px}
.verdict{font-weight:600;padding:0 .4rem;border-radius:3px}
.v-holds{background:#dafbe1;color:#116329}.v-violated{background:#ffebe9;color:#a40e26}
.v-inconclusive,.v-undecided{background:#fff8c5;color:#7d4e00}.v-fails{background:#ffebe9;color:#a40e26}
.v-not-applicable{background:#eaeef2;color:#57606a}
blockquote{margin:0;padding:.3rem 1rem;border-left:4px solid #d0d7de;color:#424a53}
img.plot{max-width:100%;border:1px solid #d0d7de}.muted{color:#57606a}input{padding:.3rem;width:20rem}
"""

# Records script errors, console.error calls and undecodable images on <html> (see the module docstring).
GUARD_JS = """
(function(){var root=document.documentElement,errs=[];
function rec(m){errs.push(String(m));root.setAttribute('data-js-errors',JSON.stringify(errs));}
root.setAttribute('data-js-errors','[]');
window.addEventListener('error',function(e){
rec('error: '+(e.message||(e.target&&(e.target.src||e.target.href))||'resource'));},true);
window.addEventListener('unhandledrejection',function(e){rec('unhandled rejection: '+e.reason);});
var ce=console.error;console.error=function(){rec('console.error: '+Array.prototype.join.call(arguments,' '));
return ce.apply(console,arguments);};
window.addEventListener('load',function(){var bad=[];
document.querySelectorAll('img').forEach(function(i){if(!i.complete||i.naturalWidth===0){bad.push(i.alt);}});
root.setAttribute('data-images-broken',JSON.stringify(bad));root.setAttribute('data-loaded','ok');});})();
"""

FILTER_JS = """
document.addEventListener('DOMContentLoaded',function(){var box=document.getElementById('filter');if(!box){return;}
box.addEventListener('input',function(){var q=box.value.toLowerCase();
document.querySelectorAll('tr.row').forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':'';});});});
"""


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _verdict(v: Any) -> str:
    s = str(v)
    return f'<span class="verdict v-{esc(s.replace(" ", "-"))}">{esc(s)}</span>'


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n<script>{GUARD_JS}</script>\n<script>{FILTER_JS}</script>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _table(header: list[str], rows: list[list[str]], row_class: str = "") -> str:
    """A table whose cells are already HTML (callers escape text with :func:`esc`)."""
    cls = f' class="{row_class}"' if row_class else ""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _png_data_uri(report: dict, json_path: Path) -> str:
    """The report's PNG beside its JSON if present, else drawn now; as a data URI (self-contained page)."""
    png = json_path.with_suffix(".png")
    data = png.read_bytes() if png.is_file() else plot_report(report)
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _rel(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


# ---------------------------------------------------------------------------------------------- pages
def render_report_page(report: dict, json_path: Path, out_dir: Path) -> str:
    """One counterexample's page."""
    claim, ev = report["claim"], report["evidence"]
    broken = report["broken_assumption"]
    parts = ['<p><a href="index.html">&larr; all reports</a></p>',
             f"<h1>{esc(claim['id'])}: {_verdict(report['verdict'])} "
             f"<span class=\"kind\" id=\"kind\">{esc(report['kind'])}</span></h1>",
             f"<p id=\"headline\"><strong>{esc(headline(report))}</strong></p>",
             f"<p>{esc(refutes_if(report))}</p>",
             f"<p><strong>{esc(claim['title'])}</strong> &mdash; {esc(claim['kind'])} claim, status "
             f"<em>{esc(report['status'])}</em></p>",
             f"<blockquote>{esc(claim['statement'])}</blockquote>",
             "<h2>Provenance</h2>",
             _table(["piece", "provenance"], [
                 ["claim", f"<code>{esc(provenance_label(claim['provenance']))}</code>"],
                 *[[f"assumption {esc(a['id'])}", f"<code>{esc(provenance_label(a['provenance']))}</code>"]
                   for a in report["assumptions"]]]),
             f"<p>Paper: {esc(claim['paper'])}. "
             f"Reference: {esc(reference_text(report['theorem']['reference']) or '—')}. "
             f"Theorem module <code>{esc(report['theorem']['module'])}</code>. Created {esc(report['created'])}.</p>",
             "<h2>Evidence</h2>",
             f'<img class="plot" alt="evidence plot: {esc(claim["id"])}" src="{_png_data_uri(report, json_path)}">',
             _table(["verdict", "reason", "metric", "worst ratio", "at t", "fitted exponent", "constant",
                     "precision kept"],
                    [[_verdict(ev["verdict"]), esc(ev["reason"]), esc(ev["metric"]), esc(fmt_num(ev["worst_ratio"])),
                      esc(fmt_t(ev["t_worst"])), esc(fmt_num(ev["exponent"])), esc(fmt_num(ev["constant"])),
                      "yes" if ev["precision_ok"] else "<strong>no</strong>"]]),
             "<h2>Assumptions</h2>",
             f"<p>{'Broken on purpose: <strong>' + esc(broken) + '</strong>.' if broken else 'None broken on purpose.'}"
             " Slack is positive when an assumption holds and negative when it fails.</p>",
             _table(["id", "role", "verdict", "slack", "provenance", "detail"],
                    [[esc(a["id"]) + (" <strong>(broken)</strong>" if a["id"] == broken else ""),
                      esc(a.get("role", "")), _verdict(a["verdict"]), esc(fmt_num(a["slack"], 6)),
                      f"<code>{esc(provenance_label(a['provenance']))}</code>", esc(a["detail"] or a["title"])]
                     for a in report["assumptions"]]),
             "<h2>Run</h2>",
             _table(["method", "backend", "precision", "seed"],
                    [[f"<code>{esc(json.dumps(report['method'], sort_keys=True, default=str))}</code>",
                      esc(report["backend"]), f"<code>{esc(json.dumps(report['precision'], default=str))}</code>",
                      esc(report["seed"])]])]
    n = len(ev["t"])
    if n:
        worst = worst_index(ev)
        rs = ratios(ev)
        rows = []
        for i in checkpoint_rows(n, worst):
            claimed = ev["claimed"][i] if i < len(ev["claimed"]) else None
            rows.append([esc(fmt_t(ev["t"][i])) + (" <strong>&larr; worst</strong>" if i == worst else ""),
                         esc(fmt_num(ev["observed"][i])), esc(fmt_num(claimed)), esc(fmt_num(rs[i]))])
        parts += ["<h2>Checkpoints</h2>", _table(["t", "observed", "claimed", "ratio"], rows)]
    parts.append("<h2>Confirmation runs</h2>")
    if report["confirmation"]:
        parts.append(_table(["kind", "confirms?", "verdict", "reason"], [
            [esc(c["kind"]), "not applicable" if c.get("applies") is False else
             (("yes" if c.get("agrees") else "<strong>NO</strong>") if "agrees" in c else "—"),
             _verdict(c["verdict"]), esc(c["reason"])] for c in report["confirmation"]]))
    else:
        parts.append("<p>No confirmation runs.</p>")
    if report.get("robustness"):
        parts += ["<h2>Reconstructed constants</h2>", _table(["parameter", "reading", "value", "verdict", "reason"], [
            [esc(r["name"]), esc(r["role"]), esc(r["value"]), _verdict(r["verdict"]), esc(r["reason"])]
            for r in report["robustness"]])]
    parts += ["<h2>Replay</h2>", f'<pre id="replay">{esc(report["replay"])}</pre>',
              f'<p>Report data: <a href="{esc(_rel(json_path, out_dir))}">{esc(json_path.name)}</a></p>',
              "<h2>Versions</h2>",
              _table(["package", "version"], [[esc(k), esc(v)] for k, v in sorted(report["versions"].items())])]
    return _page(f"{claim['id']}: {report['verdict']}", "\n".join(parts))


def render_index(entries: list[tuple[dict, Path, str]], runs: list[tuple[dict, Path]], source: Path) -> str:
    """The index: a section per run (a row per claim) and a table of every counterexample report."""
    by_path = {str(Path(p)): page for _, p, page in entries}
    parts = ["<h1>Verification reports</h1>",
             f"<p class=\"muted\">{len(runs)} run(s) and {len(entries)} report(s) "
             f"({sum(1 for r, _, _ in entries if r['kind'] == KIND_COUNTEREXAMPLE)} counterexample(s), "
             f"{sum(1 for r, _, _ in entries if r['kind'] == KIND_AUDIT)} audit finding(s)) in "
             f"<code>{esc(source)}</code>.</p>",
             '<p><input id="filter" type="search" placeholder="filter rows (claim, verdict, status...)"></p>']
    for run, _ in runs:
        rows = []
        for c in run["claims"]:
            links = []
            for p in c.get("reports") or []:
                page = by_path.get(str(Path(p)))
                links.append(f'<a href="{esc(page)}">{esc(Path(p).stem)}</a>' if page else esc(Path(p).name))
            exps = c.get("exponents") or []
            rows.append([f"<code>{esc(c.get('claim_id'))}</code>", esc(c.get("title", "")), esc(c.get("kind", "")),
                         f"<code>{esc(c.get('provenance', ''))}</code>", _verdict(c.get("verdict")),
                         esc(c.get("tried")), esc(json.dumps(c.get("counts", {}), sort_keys=True)),
                         esc(fmt_num(c.get("worst_ratio"), 4)),
                         esc(", ".join(fmt_num(x, 3) for x in exps[:6]) + (" ..." if len(exps) > 6 else "")),
                         "<br>".join(links) or "—"])
        parts += [f"<h2>Run {esc(run.get('created', ''))}</h2>",
                  f"<p>profile <code>{esc(run.get('profile'))}</code>, seed {esc(run.get('seed'))}"
                  f"{', instance ' + esc(run['instance']) if run.get('instance') else ''}; command "
                  f"<code>{esc(run.get('command', ''))}</code></p>",
                  _table(["claim", "title", "kind", "provenance", "verdict", "instances", "verdicts", "worst ratio",
                          "fitted exponents", "counterexamples"], rows, "row")]
    parts.append("<h2>Reports</h2>")
    if entries:
        rows = [[f'<a href="{esc(page)}"><code>{esc(r["claim"]["id"])}</code></a>', esc(r["kind"]),
                 _verdict(r["verdict"]), esc(r["status"]), esc(r["broken_assumption"] or "—"),
                 esc(fmt_num(r["evidence"]["worst_ratio"], 4)),
                 f"<code>{esc(provenance_label(r['claim']['provenance']))}</code>", f"<code>{esc(r['replay'])}</code>"]
                for r, _, page in entries]
        parts.append(_table(["claim", "kind", "verdict", "status", "broken assumption", "worst ratio", "provenance",
                             "replay"], rows, "row"))
    else:
        parts.append("<p>No reports.</p>")
    return _page("Verification reports", "\n".join(parts))


def write_html(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the site for a report folder (or one report file) into ``out`` (default: the folder) and return
    the path of ``index.html``. Every ``*.json`` in the folder must be a valid report (else a one-line
    VerifyInputError naming it)."""
    p = Path(path)
    if not p.exists():
        raise VerifyInputError(f"{p}: no such file or directory")
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
        atomic_write_text(out_dir / page, render_report_page(rep, f, out_dir))
        entries.append((rep, f, page))
    return atomic_write_text(out_dir / "index.html", render_index(entries, runs, src_dir))
