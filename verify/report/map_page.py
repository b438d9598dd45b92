"""``verify show DIR [--html [OUTDIR]]`` on a map folder (``DIR/map.json``, schema ``verify-map/1``, written by
:mod:`verify.map`): the map as a text table, or as one self-contained HTML page (``OUTDIR/index.html``, default
``DIR/index.html``) with the figure (``DIR/map.png``, embedded as a data URI; drawn again from map.json when
absent), the 1/2 crossings with the band of the cells' intervals, the cells table (verdict counts, the fraction
holding and, when the claim exposes an event, the event fraction, each with its Clopper-Pearson 95% interval,
the median metric, fitted exponent and quantity, the median assumption slacks), the fixed parameters and the
command that regenerates the map."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from verify.errors import VerifyInputError
from verify.instance import atomic_write_text

MAP_FILE = "map.json"


def is_map_folder(path: str | os.PathLike) -> bool:
    """A folder holding a ``map.json`` of schema ``verify-map/1``."""
    p = Path(path) / MAP_FILE
    if not p.is_file():
        return False
    try:
        return json.loads(p.read_text(encoding="utf-8")).get("schema") == _schema()
    except (OSError, ValueError, AttributeError):
        return False


def _schema() -> str:
    from verify.map import MAP_SCHEMA

    return MAP_SCHEMA


def load_map(path: str | os.PathLike) -> dict:
    """map.json of a map folder; a one-line VerifyInputError when it is not one."""
    p = Path(path) / MAP_FILE
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VerifyInputError(f"{p}: not a readable map ({exc})") from None
    if not isinstance(m, dict) or m.get("schema") != _schema() or not isinstance(m.get("cells"), list):
        raise VerifyInputError(f"{p}: not a map (schema {_schema()} with cells)")
    return m


def map_text(path: str | os.PathLike) -> str:
    """Text for ``verify show DIR`` on a map folder: the cells table, the crossings and the command."""
    from verify.map import map_lines

    m = load_map(path)
    lines = map_lines(m)
    if m.get("command"):
        lines.append(f"command: {m['command']}")
    return "\n".join(lines)


def _png(folder: Path, m: dict) -> bytes:
    """map.png of the folder, or the figure drawn again from map.json (into a temporary folder)."""
    f = folder / "map.png"
    if f.is_file():
        return f.read_bytes()
    import tempfile

    from verify.map import Axis, MapResult, plot_map

    axes = [Axis(a["name"], tuple(a["values"]), bool(a.get("log"))) for a in m.get("vary", [])]
    res = MapResult(str(m.get("claim")), axes, m["cells"], str(folder), m.get("crossings", []),
                    fixed=m.get("fixed", {}), instances=int(m.get("instances", 0)), seed=int(m.get("seed", 0)),
                    profile=str(m.get("profile", "")), plotted=str(m.get("plotted", "verdict")))
    with tempfile.TemporaryDirectory() as tmp:
        plot_map(res, Path(tmp) / "map.png")
        return (Path(tmp) / "map.png").read_bytes()


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _frac(f: Any, iv: Any) -> str:
    return "—" if f is None or not iv else f"{f:.2f} [{iv[0]:.2f}, {iv[1]:.2f}]"


def render_map_page(m: dict, png: bytes, src: str = "map.json") -> str:
    """The map's page (HTML text); every cell is a row with ``data-cell`` = its id."""
    from verify.report.html import esc, html_page, html_table

    cells = m["cells"]
    claim = str(m.get("claim"))
    event = next((c["event"] for c in cells if c.get("event")), None)
    quantity = next((c["quantity"]["name"] for c in cells if c.get("quantity")), None)
    exponent = any(c.get("median_exponent") is not None for c in cells)
    parts = [f"<h1>Map of {esc(claim)}</h1>"]
    vary = ", ".join(f"{a['name']} over {', '.join(_fmt(v) for v in a['values'])}" + (" (log grid)" if a.get("log")
                     else "") for a in m.get("vary", []))
    fixed = ", ".join(f"{k} = {_fmt(v)}" for k, v in (m.get("fixed") or {}).items()) or "none"
    parts.append(f"<p id=\"grid\">Varied: {esc(vary)}. Fixed parameters: <span id=\"fixed\">{esc(fixed)}</span>. "
                 f"{esc(m.get('instances'))} seeded instances per cell (seed {esc(m.get('seed'))}), profile "
                 f"{esc(m.get('profile'))}. The claim's assumptions: {esc(', '.join(m.get('assumptions', [])))}; "
                 "every instance is evaluated whether or not it meets them, and an instance outside them is an "
                 "evaluation outside the theorem, never a counterexample.</p>")
    if m.get("command"):
        parts.append(f"<p>Regenerate (or resume) with:</p><pre id=\"command\">{esc(m['command'])}</pre>")
    if event is not None:
        parts.append(f"<p id=\"event\">Plotted: the fraction of trials where <em>{esc(event['name'])}</em> (the event "
                     "the claim's evaluation exposes; pooled over every trial of a cell's instances), with the "
                     "fraction where the claim's verdict is <em>holds</em> in grey.</p>")
    else:
        parts.append("<p id=\"event\">Plotted: the fraction of instances where the claim's verdict is "
                     "<em>holds</em>.</p>")
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    parts.append(f'<p><img src="{uri}" alt="map of {esc(claim)}" style="max-width:100%"></p>')
    parts.append("<h2>50% crossings</h2>")
    rows = []
    for label, xs in (("event fraction" if m.get("plotted") == "event" else "fraction holding",
                       m.get("crossings", [])), ("fraction holding", m.get("verdict_crossings", []))):
        for x in xs:
            iv, op = x.get("interval") or [None, None], x.get("open") or [False, False]
            band = (f"{'≤ ' if op[0] else ''}{_fmt(iv[0])} … {'≥ ' if op[1] else ''}{_fmt(iv[1])}"
                    if iv[0] is not None else "—")
            at = ", ".join(f"{k} = {_fmt(v)}" for k, v in x.get("at", {}).items()) or "—"
            rows.append([esc(label), esc(x["along"]), esc(at), esc(_fmt(x["value"])), esc(band)])
    if rows:
        parts.append(html_table(["of", "along", "at", "estimate", "band of the cells' 95% intervals"], rows,
                            attrs=' id="crossings"'))
        parts.append("<p>The estimate interpolates linearly between the two cells around 1/2 (in log x on a log "
                     "grid); the band is where the cells' pointwise intervals contain 1/2 (an end marked ≤ or ≥ "
                     "is the grid's end), not a confidence interval of the crossing itself.</p>")
    else:
        parts.append("<p id=\"crossings\">The fraction does not cross 1/2 on this grid.</p>")
    parts.append("<h2>Cells</h2>")
    slack_names = sorted({a for c in cells for a in c.get("slacks", {})})
    header = ["cell", "meet every assumption", "verdicts", "holds [95% CP]"]
    if event is not None:
        header.append("event [95% CP]")
    header.append("median metric")
    if exponent:
        header.append("median exponent")
    if quantity:
        header.append(f"median {esc(quantity)}")
    header += [f"slack {esc(a)}" for a in slack_names]
    body = []
    for c in cells:
        counts = ", ".join(f"{n} {v}" for v, n in c.get("counts", {}).items()) or "none"
        row = [f'<span data-cell="{esc(c["id"])}">{esc(c["id"])}</span>',
               esc(f"{c.get('applicable')}/{c.get('instances')}"), esc(counts),
               esc(_frac(c["fraction"], c["interval"]))]
        if event is not None:
            e = c.get("event")
            row.append("—" if not e else esc(f"{e['occurred']}/{e['trials']} = {_frac(e['fraction'], e['interval'])}"))
        row.append(esc(_fmt(c.get("median_metric"))))
        if exponent:
            row.append(esc(_fmt(c.get("median_exponent"))))
        if quantity:
            row.append(esc(_fmt((c.get("quantity") or {}).get("median"))))
        row += [esc(_fmt(c.get("slacks", {}).get(a))) for a in slack_names]
        body.append(row)
    parts.append(html_table(header, body, row_class="row", attrs=' id="cells"'))
    notes = [f"{c['id']}: {n}" for c in cells for n in c.get("notes", [])]
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    return html_page(f"Map of {claim}", "\n".join(parts), src)


def write_map_html(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the map folder's page to ``out/index.html`` (default: the folder) and return its path."""
    folder = Path(path)
    m = load_map(folder)
    out_dir = Path(out) if out else folder
    out_dir.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out_dir / "index.html", render_map_page(m, _png(folder, m), str(folder / MAP_FILE)))
