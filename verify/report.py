"""Counterexample reports: validation, stable file names, Markdown, a PNG plot and ``verify show`` summaries.

A report is a plain JSON object tagged ``"schema": "verify-report/1"``. :func:`write_report` stores it as
three sibling files named by :func:`report_basename`: ``<name>.json`` (exact floats, via
:func:`verify.instance.dumps`), ``<name>.md`` (:func:`render_markdown`) and ``<name>.png``
(:func:`plot_report`). Non-finite floats travel as the strings ``"inf"``, ``"-inf"`` and ``"nan"``; every
reader here treats those strings as the floats they name.

Problems with a report become one-line :class:`~verify.errors.VerifyInputError` messages (exit status 2).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from verify.errors import VerifyInputError
from verify.instance import atomic_write_bytes, atomic_write_text, dumps, read_json
from verify.verdicts import KIND_AUDIT, REPORT_KINDS

REPORT_SCHEMA = "verify-report/1"

MAX_CHECKPOINT_ROWS = 25

_NONFINITE = {"inf": math.inf, "+inf": math.inf, "infinity": math.inf, "-inf": -math.inf,
              "-infinity": -math.inf, "nan": math.nan}


# ----------------------------------------------------------------------------------------------------------
# validation

_STR, _LIST, _DICT, _BOOL = "a string", "a list", "an object", "a boolean"
_INT_OR_NULL = "an integer or null"
_STR_OR_NULL = "a string or null"
_NUM_OR_NULL = "a number or null"
_NUM = "a number"

_TOP_KEYS: tuple[tuple[str, str], ...] = (
    ("schema", _STR), ("kind", _STR), ("created", _STR), ("theorem", _DICT), ("claim", _DICT), ("verdict", _STR),
    ("status", _STR), ("assumptions", _LIST), ("broken_assumption", _STR_OR_NULL), ("instance", _DICT),
    ("method", _DICT), ("backend", _STR), ("precision", _DICT), ("seed", _INT_OR_NULL), ("evidence", _DICT),
    ("confirmation", _LIST), ("versions", _DICT), ("replay", _STR),
)
_THEOREM_KEYS: tuple[tuple[str, str], ...] = (("module", _STR), ("reference", "a string or an object"))
_CLAIM_KEYS: tuple[tuple[str, str], ...] = (
    ("id", _STR), ("title", _STR), ("kind", _STR), ("paper", _STR), ("provenance", _DICT),
    ("assumptions", _LIST), ("statement", _STR),
)
_PROVENANCE_KEYS: tuple[tuple[str, str], ...] = (("tags", _LIST), ("note", _STR))
_ASSUMPTION_KEYS: tuple[tuple[str, str], ...] = (
    ("id", _STR), ("title", _STR), ("provenance", _DICT), ("verdict", _STR), ("slack", _NUM_OR_NULL),
    ("detail", _STR),
)
_EVIDENCE_KEYS: tuple[tuple[str, str], ...] = (
    ("verdict", _STR), ("reason", _STR), ("metric", _STR), ("t", _LIST), ("observed", _LIST),
    ("claimed", _LIST), ("worst_ratio", _NUM_OR_NULL), ("t_worst", _NUM_OR_NULL), ("exponent", _NUM_OR_NULL),
    ("constant", _NUM_OR_NULL), ("precision_ok", _BOOL), ("run", _DICT), ("extra", _DICT),
)
_CONFIRMATION_KEYS: tuple[tuple[str, str], ...] = (("kind", _STR), ("verdict", _STR), ("reason", _STR))


def _is_number(v: Any) -> bool:
    """A JSON number, or one of the strings :func:`verify.instance.dumps` writes for non-finite floats."""
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return isinstance(v, str) and v.strip().lower() in _NONFINITE


def _type_ok(v: Any, want: str) -> bool:
    if want == _STR:
        return isinstance(v, str)
    if want == _LIST:
        return isinstance(v, list)
    if want == _DICT:
        return isinstance(v, dict)
    if want == _BOOL:
        return isinstance(v, bool)
    if want == _INT_OR_NULL:
        return v is None or (isinstance(v, int) and not isinstance(v, bool))
    if want == _STR_OR_NULL:
        return v is None or isinstance(v, str)
    if want == _NUM_OR_NULL:
        return v is None or _is_number(v)
    if want == _NUM:
        return _is_number(v)
    if want == "a string or an object":
        return isinstance(v, (str, dict))
    raise AssertionError(want)  # pragma: no cover


def _kind_of(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(v), type(v).__name__)


def _check_keys(obj: Any, where: str, keys: tuple[tuple[str, str], ...]) -> None:
    if not isinstance(obj, dict):
        raise VerifyInputError(f"{where} must be an object, got {_kind_of(obj)}")
    for key, want in keys:
        if key not in obj:
            raise VerifyInputError(f"{where} is missing key {key!r}")
        if not _type_ok(obj[key], want):
            raise VerifyInputError(f"{where}.{key} must be {want}, got {_kind_of(obj[key])}")


def _check_series(ev: dict) -> None:
    for key in ("t", "observed", "claimed"):
        for i, v in enumerate(ev[key]):
            if not (v is None or _is_number(v)):
                raise VerifyInputError(
                    f"report.evidence.{key}[{i}] must be a number or null, got {_kind_of(v)}")
    n = len(ev["t"])
    if len(ev["observed"]) != n:
        raise VerifyInputError(
            f"report.evidence.observed has {len(ev['observed'])} values but report.evidence.t has {n}")
    if ev["claimed"] and len(ev["claimed"]) != n:
        raise VerifyInputError(
            f"report.evidence.claimed has {len(ev['claimed'])} values but report.evidence.t has {n}"
            " (it must be empty or match)")


def validate_report(obj: dict) -> dict:
    """Check ``obj`` is a ``verify-report/1`` report (schema tag, required keys and their types); return it.

    Problems raise :class:`VerifyInputError` with a one-line message that names the offending key but no file
    (:func:`load_report` adds the file name).
    """
    if not isinstance(obj, dict):
        raise VerifyInputError(f"a report must be a JSON object, got {_kind_of(obj)}")
    if "schema" not in obj:
        raise VerifyInputError("report is missing key 'schema'")
    if obj["schema"] != REPORT_SCHEMA:
        raise VerifyInputError(f"unsupported report schema {obj['schema']!r} (expected {REPORT_SCHEMA})")
    _check_keys(obj, "report", _TOP_KEYS)
    _check_keys(obj["theorem"], "report.theorem", _THEOREM_KEYS)
    _check_keys(obj["claim"], "report.claim", _CLAIM_KEYS)
    _check_keys(obj["claim"]["provenance"], "report.claim.provenance", _PROVENANCE_KEYS)
    if not obj["claim"]["id"]:
        raise VerifyInputError("report.claim.id must not be empty")
    for i, a in enumerate(obj["assumptions"]):
        _check_keys(a, f"report.assumptions[{i}]", _ASSUMPTION_KEYS)
        _check_keys(a["provenance"], f"report.assumptions[{i}].provenance", _PROVENANCE_KEYS)
    broken = obj["broken_assumption"]
    if broken is not None and broken not in {a["id"] for a in obj["assumptions"]}:
        raise VerifyInputError(f"report.broken_assumption {broken!r} is not one of report.assumptions")
    if obj["kind"] not in REPORT_KINDS:
        raise VerifyInputError(f"report.kind must be one of {', '.join(REPORT_KINDS)}, got {obj['kind']!r}")
    if (obj["kind"] == KIND_AUDIT) != (broken is not None):
        raise VerifyInputError("report.kind 'audit' goes with a broken_assumption, 'counterexample' without one")
    ev = obj["evidence"]
    _check_keys(ev, "report.evidence", _EVIDENCE_KEYS)
    _check_series(ev)
    for i, c in enumerate(obj["confirmation"]):
        _check_keys(c, f"report.confirmation[{i}]", _CONFIRMATION_KEYS)
        if "evidence" in c and c["evidence"] is not None and not isinstance(c["evidence"], dict):
            raise VerifyInputError(
                f"report.confirmation[{i}].evidence must be an object or null, got {_kind_of(c['evidence'])}")
    return obj


def load_report(path: str | os.PathLike) -> dict:
    """Read and validate a report file; any problem is a one-line VerifyInputError naming the file."""
    obj = read_json(path)  # names the file itself
    try:
        return validate_report(obj)
    except VerifyInputError as exc:
        raise VerifyInputError(f"{path}: {exc}") from None


# ----------------------------------------------------------------------------------------------------------
# naming and writing


def _safe(text: str, fallback: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    return s[:80] or fallback


def report_basename(report: dict) -> str:
    """A stable, filesystem-safe name: ``<claim id>--<verdict>--<8 hex digits>`` for a counterexample, and
    ``<claim id>--audit-<broken assumption>--<8 hex digits>`` for an audit finding.

    The digits are the start of the SHA-256 of the canonical JSON (sorted keys, no whitespace, non-finite
    floats as strings) of the instance, the method and the claim id, so re-running the same check on the same
    instance names the same files, and a different instance or method gets a different name.
    """
    validate_report(report)
    payload = {"claim": report["claim"]["id"], "instance": report["instance"], "method": report["method"]}
    canonical = json.dumps(json.loads(dumps(payload)), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=True, allow_nan=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]
    middle = (f"audit-{_safe(str(report['broken_assumption']), 'assumption')}" if report["kind"] == KIND_AUDIT
              else _safe(report["verdict"], "unknown"))
    return f"{_safe(report['claim']['id'], 'claim')}--{middle}--{digest}"


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


def write_report(report: dict, directory: str | os.PathLike) -> dict[str, Path]:
    """Validate ``report`` and write ``<name>.png``, ``<name>.md`` and then ``<name>.json`` atomically.

    ``directory`` is created if missing. The JSON goes last, so a report that :func:`summarize` can see always
    has its Markdown and plot beside it. Returns ``{"json": path, "md": path, "png": path}``.
    """
    validate_report(report)
    base = report_basename(report)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    png = atomic_write_bytes(d / f"{base}.png", plot_report(report))
    md = atomic_write_text(d / f"{base}.md", render_markdown(report))
    js = atomic_write_text(d / f"{base}.json", dumps(report) + "\n")
    return {"json": js, "md": md, "png": png}


# ----------------------------------------------------------------------------------------------------------
# numbers and labels


def _num(v: Any) -> float | None:
    """A float from a JSON value (``"inf"``/``"nan"`` strings included); None for null or anything else."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        key = v.strip().lower()
        if key in _NONFINITE:
            return _NONFINITE[key]
        try:
            return float(key)
        except ValueError:
            return None
    return None


def _fnum(v: Any) -> float:
    """Like :func:`_num`, with NaN for a missing value (for plotting)."""
    f = _num(v)
    return math.nan if f is None else f


def _fmt(v: Any, digits: int = 6) -> str:
    f = _num(v)
    if f is None:
        return "—"
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return f"{f:.{digits}g}"


def _fmt_t(v: Any) -> str:
    f = _num(v)
    if f is not None and math.isfinite(f) and f == int(f):
        return str(int(f))
    return _fmt(v)


def _label(prov: Any) -> str:
    """``[seed, abs: note]`` like :meth:`verify.provenance.Provenance.label` (without re-validating tags)."""
    if not isinstance(prov, dict):
        return "[?]"
    inner = ", ".join(str(t) for t in prov.get("tags") or [])
    note = prov.get("note") or ""
    return f"[{inner}: {note}]" if note else f"[{inner}]"


def _reference(ref: Any) -> str:
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


def _ratios(ev: dict) -> list[float | None]:
    """observed/claimed at each checkpoint (None where either is missing or claimed is zero)."""
    obs, cl = ev.get("observed") or [], ev.get("claimed") or []
    out: list[float | None] = []
    for i in range(len(obs)):
        o = _num(obs[i])
        c = _num(cl[i]) if i < len(cl) else None
        if o is None or c is None or c == 0 or math.isnan(c) or math.isnan(o) or (
                math.isinf(o) and math.isinf(c)):
            out.append(None)
        else:
            out.append(o / c)
    return out


def _worst_index(ev: dict) -> int | None:
    """Index of ``t_worst`` in ``t`` if it is there; else of the largest ratio; else None."""
    ts = [_num(v) for v in ev.get("t") or []]
    tw = _num(ev.get("t_worst"))
    if tw is not None and tw in ts:
        return ts.index(tw)
    ratios = _ratios(ev)
    best: int | None = None
    for i, r in enumerate(ratios):
        if r is not None and (best is None or r > (ratios[best] or -math.inf)):
            best = i
    return best


def _checkpoint_rows(n: int, worst: int | None, limit: int = MAX_CHECKPOINT_ROWS) -> list[int]:
    """At most ``limit`` evenly spread indices into ``range(n)``, always with the first, worst and last."""
    if n <= limit:
        return list(range(n))
    must = {0, n - 1} | ({worst} if worst is not None and 0 <= worst < n else set())
    m = limit - len(must) + 2  # an even grid over [0, n - 1] (endpoints included) plus the worst index
    grid = {round(k * (n - 1) / (m - 1)) for k in range(m)}
    return sorted(grid | must)


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


# ----------------------------------------------------------------------------------------------------------
# Markdown


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
        f"**{claim['title']}** — {claim['kind']} claim {_label(claim['provenance'])}",
        "",
    ]
    out += ["> " + line if line else ">" for line in str(claim["statement"]).splitlines() or [""]]
    out += [
        "",
        f"- Paper: {claim['paper']}",
        f"- Reference: {_reference(report['theorem']['reference']) or '—'}",
        f"- Theorem module: `{report['theorem']['module']}`",
        f"- Claim provenance: {_label(claim['provenance'])}",
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
            rows.append([aid, a["verdict"], _fmt(a["slack"], 4), _label(a["provenance"]),
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
        f"- Worst ratio observed/claimed: {_fmt(ev['worst_ratio'])} at t = {_fmt_t(ev['t_worst'])}",
        f"- Fitted exponent: {_fmt(ev['exponent'])}; constant: {_fmt(ev['constant'])}",
        f"- Precision adequate: {'yes' if ev['precision_ok'] else 'no'}",
        "",
    ]
    n = len(ev["t"])
    if n:
        worst = _worst_index(ev)
        idx = _checkpoint_rows(n, worst)
        ratios = _ratios(ev)
        claimed = ev["claimed"]
        rows = []
        for i in idx:
            mark = " ← worst" if i == worst else ""
            rows.append([_fmt_t(ev["t"][i]) + mark, _fmt(ev["observed"][i]),
                         _fmt(claimed[i]) if i < len(claimed) else "—", _fmt(ratios[i])])
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
            rows.append([c["kind"], _agreement(c), c["reason"], _fmt(cev.get("worst_ratio")),
                         _fmt_t(cev.get("t_worst"))])
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


# ----------------------------------------------------------------------------------------------------------
# plot


def plot_report(report: dict) -> bytes:
    """PNG bytes: the observed metric against t, with the claimed curve and the worst point marked.

    Log-log axes when every plotted value is positive; otherwise a symlog y axis (and a linear x axis when
    some t is not positive). Non-finite values are left out (and counted in a note); an empty series gives an
    annotated empty plot. Draws on an Agg canvas of its own (no pyplot figure state); selects the Agg
    backend only while pyplot is not yet imported, so it never switches a backend already in use.
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # headless; never switch the backend of a pyplot someone is already using
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    claim_id = str(report.get("claim", {}).get("id", "?")) if isinstance(report.get("claim"), dict) else "?"
    ev = report.get("evidence") if isinstance(report.get("evidence"), dict) else {}
    assert isinstance(ev, dict)
    verdict = str(report.get("verdict", ev.get("verdict", "?")))
    ts, obs, cl = ([_fnum(v) for v in ev.get(k) or []] for k in ("t", "observed", "claimed"))
    finite = math.isfinite
    obs_pts = [(t, o) for t, o in zip(ts, obs, strict=False) if finite(t) and finite(o)]
    cl_pts = [(t, c) for t, c in zip(ts, cl, strict=False) if finite(t) and finite(c)]
    dropped = sum(1 for t, o in zip(ts, obs, strict=False) if not (finite(t) and finite(o)))

    x_log = all(t > 0 for t, _ in obs_pts + cl_pts) and bool(obs_pts or cl_pts)
    y_log = x_log and all(o > 0 for _, o in obs_pts) and (bool(obs_pts) or any(c > 0 for _, c in cl_pts))
    if y_log:
        cl_pts = [(t, c) for t, c in cl_pts if c > 0]  # a log axis shows only the positive claimed values

    fig = Figure(figsize=(7.0, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    metric = str(ev.get("metric") or "metric")
    if obs_pts:
        ax.plot([p[0] for p in obs_pts], [p[1] for p in obs_pts], "o-", ms=3, lw=1.2, color="tab:blue",
                label=f"observed {metric}")
    if cl_pts:
        ax.plot([p[0] for p in cl_pts], [p[1] for p in cl_pts], "--", lw=1.2, color="tab:orange",
                label="claimed")
    wi = _worst_index(ev)
    if wi is not None and wi < len(ts) and wi < len(obs) and finite(ts[wi]) and finite(obs[wi]):
        tw, ow = ts[wi], obs[wi]
        if (not x_log or tw > 0) and (not y_log or ow > 0):
            ax.plot([tw], [ow], marker="*", ms=14, color="tab:red", ls="none",
                    label=f"worst ratio {_fmt(ev.get('worst_ratio'), 4)} at t={_fmt_t(ts[wi])}")
    all_y = [p[1] for p in obs_pts + cl_pts]
    if obs_pts or cl_pts:
        ax.set_xscale("log" if x_log else "linear")
        if y_log:
            ax.set_yscale("log")
        elif all_y:
            nonzero = [abs(y) for y in all_y if y != 0]
            ax.set_yscale("symlog", linthresh=min(nonzero) if nonzero else 1.0)
        ax.legend(loc="best", fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    else:
        ax.text(0.5, 0.5, "no finite data points to plot", ha="center", va="center", transform=ax.transAxes,
                fontsize=12, color="0.4")
        ax.set_xticks([])
        ax.set_yticks([])
    note = f"{dropped} non-finite point(s) not shown" if dropped and (obs_pts or cl_pts) else ""
    ax.set_xlabel("t")
    ax.set_ylabel(metric)
    kind = "audit: " + str(report.get("broken_assumption")) + " broken on purpose" \
        if report.get("kind") == KIND_AUDIT else "counterexample"
    ax.set_title(f"{claim_id}: {verdict} ({kind})", fontsize=10)
    fig.tight_layout()
    if note:  # in the figure's corner, clear of the data and the legend
        fig.text(0.005, 0.005, note, fontsize=8, color="0.4", ha="left", va="bottom")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------------------
# verify show


def _summary_lines(report: dict, path: Path) -> list[str]:
    claim, ev = report["claim"], report["evidence"]
    broken = report["broken_assumption"]
    lines = [
        f"report:     {path}",
        f"kind:       {headline(report)}",
        f"claim:      {claim['id']} ({claim['kind']}) {_label(claim['provenance'])} — {claim['title']}",
        f"verdict:    {report['verdict']} (status: {report['status']})",
        f"broken:     {broken if broken is not None else 'none'}",
        "assumptions:",
    ]
    if report["assumptions"]:
        width = max(len(str(a["id"])) for a in report["assumptions"])
        for a in report["assumptions"]:
            mark = "  <- broken" if a["id"] == broken else ""
            lines.append(f"  {str(a['id']):<{width}}  {a['verdict']:<9}  slack {_fmt(a['slack'], 4)}{mark}")
    else:
        lines.append("  (none recorded)")
    lines += [
        f"worst:      ratio {_fmt(ev['worst_ratio'])} at t = {_fmt_t(ev['t_worst'])}",
        f"exponent:   {_fmt(ev['exponent'])} (constant {_fmt(ev['constant'])})",
        "confirmed:  " + ("; ".join(f"{c['kind']}: {_agreement(c)}" for c in report["confirmation"])
                          or "no confirmation runs"),
        f"replay:     {report['replay']}",
    ]
    return lines


def _agreement(c: dict) -> str:
    """'agrees' / 'DISAGREES' / 'not applicable' when the run says whether it confirms, else its verdict."""
    if c.get("applies") is False:
        return f"not applicable (verdict {c['verdict']})"
    if "agrees" in c:
        return f"{'agrees' if c['agrees'] else 'DISAGREES'} (verdict {c['verdict']})"
    return str(c["verdict"])


def summarize(path: str | os.PathLike) -> str:
    """Text for ``verify show PATH``: one report's summary, or a table of every ``*.json`` report in a folder.

    Every ``*.json`` file in a folder must be a valid report; a malformed one raises a
    :class:`VerifyInputError` naming it.
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.glob("*.json") if f.is_file() and not f.name.startswith("."))
        if not files:
            return f"no reports in {p}"
        entries = [(load_report(f), f) for f in files]
        entries.sort(key=lambda e: (str(e[0]["claim"]["id"]), e[1].name))
        rows = [[str(r["claim"]["id"]), str(r["kind"]), str(r["verdict"]), str(r["status"]),
                 _fmt(r["evidence"]["worst_ratio"], 4), f.name] for r, f in entries]
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


# ----------------------------------------------------------------------------------------------------------
# run summaries (one per `verify check`; the HTML index shows a row per claim of each run)

RUN_SCHEMA = "verify-run/1"
RUNS_DIR = "runs"  # a subfolder, so that `verify show DIR` (which reads DIR/*.json as reports) never sees them


def write_run_summary(directory: str | os.PathLike, summaries: list[dict], meta: dict) -> Path:
    """Write ``DIR/runs/<created>--<8 hex>.json`` (schema ``verify-run/1``) atomically and return its path.

    ``summaries`` are :meth:`verify.engine.ClaimSummary.to_json` dicts, each with the claim's ``title``, ``kind``
    and ``provenance`` label added; ``meta`` holds ``created``, ``command``, ``profile``, ``seed`` and ``instance``.
    """
    run = {"schema": RUN_SCHEMA, **meta, "claims": summaries}
    text = dumps(run) + "\n"
    import time  # two runs in one second with the same content still get two files

    digest = hashlib.sha256(f"{text}{time.time_ns()}{os.getpid()}".encode()).hexdigest()[:8]
    stamp = _safe(str(meta.get("created", "")).replace(":", ""), "run")
    return atomic_write_text(Path(directory) / RUNS_DIR / f"{stamp}--{digest}.json", text)


def load_runs(directory: str | os.PathLike) -> list[tuple[dict, Path]]:
    """Every run summary under ``DIR/runs`` (newest first); a malformed one is a one-line VerifyInputError."""
    out = []
    for f in sorted((Path(directory) / RUNS_DIR).glob("*.json")):
        obj = read_json(f)
        if not isinstance(obj, dict) or obj.get("schema") != RUN_SCHEMA or not isinstance(obj.get("claims"), list):
            raise VerifyInputError(f"{f}: not a {RUN_SCHEMA} run summary")
        out.append((obj, f))
    out.sort(key=lambda e: (str(e[0].get("created", "")), e[1].name), reverse=True)
    return out
