"""A report's plot (``<name>.png``): one figure per claim kind, its axes named after the evidence's variable
(t, n, κ, seed, ...; ``evidence.figure``), one line per series and per group (docs/gallery.md).

- ``order``: the metric against the claimed rate, the rate scaled by the worst ratio (the legend says so: an
  order claim has no constant); below it the ratio metric / rate, the quantity the rule judges, with its worst
  point. Checkpoints before the judged range are shaded.
- ``bound``: the metric against the bound, its constant stated; below it metric / bound against 1.
- ``limit``: the metric against the variable.
- ``comparison``: steps to the target per method against the variable (a point above the horizon line: not
  reached), one line per method and group; below it each pair's wins against the wins it needs.
- ``probability``: each draw's value against the threshold (thresholded samples); the estimated probability
  with its Clopper-Pearson interval against the claimed one.
- ``identity``: lhs and rhs, and the residual |lhs − rhs| against the tolerance, per element of the variable.
- an audit adds the broken assumption's slack against the outcome (the worst ratio), for this report and for
  any ``siblings`` (audit reports of the same claim and assumption) the caller passes.

Non-finite values and magnitudes beyond [PLOT_MIN, PLOT_MAX] are left out and counted in a note (the JSON keeps
every value). A panel that cannot be drawn says why in its place: plotting never raises. Draws on an Agg canvas
of its own (no pyplot state); selects the Agg backend only while pyplot is not yet imported.
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Callable
from typing import Any

from verify.report.fmt import (
    CATEGORICAL,
    as_float,
    as_plot_float,
    bound_text,
    checkpoint_ratios,
    claim_kind,
    comparison_of,
    expr_text,
    figure_of,
    fmt_num,
    fmt_t,
    ratio_name,
    variable,
    variable_label,
    variable_symbol,
    worst_index,
)
from verify.verdicts import KIND_AUDIT

PLOT_MIN, PLOT_MAX = 1e-250, 1e250
"""Magnitudes a plotted value may have: beyond them matplotlib's log-axis ticks overflow, so such points are left
out of the plot and counted in its note (the JSON keeps every value)."""

BLUE, ORANGE, RED, GREEN, GREY = "tab:blue", "tab:orange", "tab:red", "tab:green", "0.45"
COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan",
          "tab:gray", "tab:red"]
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*"]


def drawable(v: float | None) -> bool:
    """Finite, and inside the range an axis can draw (a diverging run reaches 1e300)."""
    return v is not None and math.isfinite(v) and (v == 0 or PLOT_MIN <= abs(v) <= PLOT_MAX)


class Panel:
    """One axes' worth of drawing: ``draw(ax) -> note`` and its relative height."""

    def __init__(self, draw: Callable[[Any], str], height: float = 1.0) -> None:
        self.draw, self.height = draw, height


def segments(xs: list[float], groups: list[str] | None) -> list[tuple[str, list[int]]]:
    """Index runs to draw as separate lines: one per group label (in order of appearance) or, without labels,
    a new run wherever the variable falls back (t = 1, 10, 100, 1, 10, 100 is two runs, never one zig-zag)."""
    if groups and len(groups) == len(xs):
        out: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            out.setdefault(str(g), []).append(i)
        return list(out.items())
    runs: list[list[int]] = [[]]
    for i, x in enumerate(xs):
        if runs[-1] and not (x > xs[runs[-1][-1]]):
            runs.append([])
        runs[-1].append(i)
    if len(runs) == 1:
        return [("", runs[0])]
    return [(f"run {k + 1}", r) for k, r in enumerate(runs)]


def _scale(ax: Any, axis: str, values: list[float], categorical: bool = False) -> None:
    """A log axis when every value is positive and they span more than a factor of 20, else linear."""
    pos = [v for v in values if drawable(v)]
    log = (not categorical and bool(pos) and all(v > 0 for v in pos) and max(pos) / min(pos) > 20)
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log" if log else "linear")


def _empty(ax: Any, text: str) -> str:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11, color=GREY, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    return ""


def _finish(ax: Any, xlabel: str, ylabel: str, legend: bool = True) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8, framealpha=0.9)


def _dropped(n: int) -> str:
    return f"{n} point(s) not shown (non-finite or beyond {PLOT_MAX:.0e})" if n else ""


# ---------------------------------------------------------------------------------------------- series kinds
def _series_panels(report: dict) -> list[Panel]:
    ev, fig, kind = report["evidence"], figure_of(report), claim_kind(report)
    ts = [as_plot_float(v) for v in ev.get("t") or []]
    obs = [as_plot_float(v) for v in ev.get("observed") or []]
    cl = [as_plot_float(v) for v in ev.get("claimed") or []]
    cl = cl if len(cl) == len(ts) else []
    log10 = bool(fig.get("log10"))
    var, sym = variable_label(report), variable_symbol(report)
    metric = str(ev.get("metric") or "metric")
    ylabel = f"log10 {metric}" if log10 else metric
    groups = fig.get("groups") if isinstance(fig.get("groups"), list) else None
    wi = worst_index(ev)
    start = as_float(fig.get("judged_from"))
    rs = checkpoint_ratios(report)

    def main(ax: Any) -> str:
        pts = [i for i in range(len(ts)) if drawable(ts[i]) and drawable(obs[i] if i < len(obs) else None)]
        dropped = len(ts) - len(pts)
        if not pts and not cl:
            return _empty(ax, "no finite data points to plot")
        xs_all = [ts[i] for i in pts] + [ts[i] for i in range(len(cl)) if drawable(ts[i]) and drawable(cl[i])]
        x_log = bool(xs_all) and all(x > 0 for x in xs_all) and max(xs_all) / max(min(xs_all), 1e-300) > 20
        ys = [obs[i] for i in pts] + [c for c in cl if drawable(c)]
        y_log = not log10 and bool(ys) and all(y > 0 for y in [obs[i] for i in pts]) and any(y > 0 for y in ys)
        for k, (label, idx) in enumerate(segments(ts, groups)):
            idx = [i for i in idx if i in set(pts) and (not x_log or ts[i] > 0)]
            if idx:
                ax.plot([ts[i] for i in idx], [obs[i] for i in idx], "o-", ms=3, lw=1.3,
                        color=COLORS[k % len(COLORS)], label=f"observed {metric}" + (f" ({label})" if label else ""))
        if cl:
            note = _claimed_label(report)
            for k, (_, idx) in enumerate(segments(ts, groups)):
                idx = [i for i in idx if drawable(ts[i]) and drawable(cl[i]) and (not x_log or ts[i] > 0)
                       and (not y_log or cl[i] > 0)]
                if idx:
                    ax.plot([ts[i] for i in idx], [cl[i] for i in idx], "--", lw=1.3, color=ORANGE,
                            label=note if k == 0 else None)
        if wi is not None and wi < len(obs) and wi in set(pts) and (not y_log or obs[wi] > 0):
            ax.plot([ts[wi]], [obs[wi]], marker="*", ms=14, color=RED, ls="none",
                    label=f"worst ratio {fmt_num(ev.get('worst_ratio'), 4)} at {sym} = {fmt_t(ev['t'][wi])}")
        ax.set_xscale("log" if x_log else "linear")
        if y_log:
            good = [y for y in ys if y > 0]
            ax.set_yscale("log")
            ax.set_ylim(min(good) / 3, max(good) * 3)  # no autoscale margin past the drawable range
        elif ys and not log10:
            nonzero = [abs(y) for y in ys if y != 0]
            ax.set_yscale("symlog", linthresh=min(nonzero) if nonzero else 1.0)
        _shade(ax, start, ts, sym)
        _finish(ax, var, ylabel)
        return _dropped(dropped)

    panels = [Panel(main, 1.25)]
    if kind in ("order", "bound") and cl and any(drawable(r) for r in rs):
        panels.append(Panel(lambda ax: _ratio_panel(ax, report, ts, rs, wi, start), 0.85))
    return panels


def _claimed_label(report: dict) -> str:
    ev, fig, kind = report["evidence"], figure_of(report), claim_kind(report)
    rate = report["claim"].get("rate") or "1"
    if kind == "order":
        if fig.get("scaled_by", "worst ratio") == "none":
            return f"claimed rate {expr_text(rate)} (unscaled)"
        scale = fmt_num(fig.get("scale", ev.get("worst_ratio")), 4)
        return (f"claimed rate {expr_text(rate)} × {scale}\n(scaled by the "
                f"worst ratio to meet the observed curve at {variable_symbol(report)} = {fmt_t(ev.get('t_worst'))};"
                " an order claim has no constant)")
    if kind == "bound":
        return "claimed bound " + bound_text(report)
    return "claimed"


def _shade(ax: Any, start: float | None, ts: list[float], sym: str) -> None:
    xs = [t for t in ts if drawable(t)]
    if start is None or not xs or min(xs) >= start:
        return
    lo = min(xs)
    if ax.get_xscale() == "log" and lo <= 0:
        return
    ax.axvspan(lo, start, color="0.85", alpha=0.5, lw=0, label=f"not judged ({sym} < {fmt_t(start)})")


def _ratio_panel(ax: Any, report: dict, ts: list[float], rs: list[float | None], wi: int | None,
                 start: float | None) -> str:
    ev, kind, sym = report["evidence"], claim_kind(report), variable_symbol(report)
    groups = figure_of(report).get("groups")
    pts = [i for i in range(len(ts)) if drawable(ts[i]) and drawable(rs[i]) and (rs[i] or 0) > 0]
    if not pts:
        return _empty(ax, f"no finite positive {ratio_name(report)} to plot")
    x_log = all(ts[i] > 0 for i in pts) and max(ts[i] for i in pts) / max(min(ts[i] for i in pts), 1e-300) > 20
    ok = set(pts)
    for k, (label, idx) in enumerate(segments(ts, groups if isinstance(groups, list) else None)):
        idx = [i for i in idx if i in ok]
        if idx:
            ax.plot([ts[i] for i in idx], [rs[i] for i in idx], "o-", ms=3, lw=1.3, color=COLORS[k % len(COLORS)],
                    label=ratio_name(report) + (f" ({label})" if label else ""))
    if kind == "bound":
        ax.axhline(1.0, color=ORANGE, ls="--", lw=1.2, label="the bound (ratio 1)")
    wr = as_float(ev.get("worst_ratio"))
    if wi is not None and wi in ok:
        ax.plot([ts[wi]], [rs[wi]], marker="*", ms=14, color=RED, ls="none",
                label=f"worst ratio {fmt_num(wr, 4)} at {sym} = {fmt_t(ev['t'][wi])}")
    ax.set_xscale("log" if x_log else "linear")
    vals = [float(r) for r in (rs[i] for i in pts) if r is not None] + ([1.0] if kind == "bound" else [])
    ax.set_yscale("log" if max(vals) / min(vals) > 20 else "linear")
    _shade(ax, start, ts, sym)
    if kind == "order":
        ax.set_title("the order rule judges this ratio: violated when it keeps growing", fontsize=9, color=GREY)
    _finish(ax, variable_label(report), ratio_name(report))
    return ""


# ---------------------------------------------------------------------------------------------- comparison
def _comparison_panels(report: dict) -> list[Panel]:
    comp = comparison_of(report)
    if comp is None:
        return _series_panels(report)
    fig = figure_of(report)
    groups = fig.get("groups") if isinstance(fig.get("groups"), list) else None
    var, v = variable_label(report), variable(report)
    at = [as_plot_float(x) for x in comp.get("at") or []]
    horizon = as_float(comp.get("horizon"))
    a_side = {p["a"] for p in comp["pairs"]}
    b_side = {p["b"] for p in comp["pairs"]} - a_side
    methods = [*sorted(a_side), *sorted(b_side)]
    methods += [m for m in comp["steps"] if m not in methods]

    def steps(ax: Any) -> str:
        finite = [s for m in methods for s in comp["steps"][m] if s is not None and math.isfinite(s)]
        unreached = any(s is not None and not math.isfinite(s) for m in methods for s in comp["steps"][m])
        top = max([*finite, (horizon or 0.0) if unreached else 0.0, 1.0])
        never = (horizon if horizon is not None and unreached else top) * 1.12
        categorical = v in CATEGORICAL or len(at) <= 1
        segs = segments(at, groups)
        width = 0.7 / max(len(methods), 1)
        for mi, m in enumerate(methods):
            color = COLORS[mi % len(COLORS)]
            role = "must reach the target first" if m in a_side else "compared against"
            for gi, (glabel, idx) in enumerate(segs):
                xs = [at[i] + ((mi - (len(methods) - 1) / 2) * width if categorical else 0.0) for i in idx]
                ys = [comp["steps"][m][i] for i in idx]
                shown = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None and math.isfinite(y)]
                label = f"{m} ({role})" + (f", {glabel}" if glabel else "")
                style = "none" if categorical else ("-" if gi == 0 else "--")
                mk = MARKERS[gi % len(MARKERS)]
                if shown:
                    ax.plot([p[0] for p in shown], [p[1] for p in shown], marker=mk, ls=style, ms=6, lw=1.4,
                            color=color, label=label)
                lost = [x for x, y in zip(xs, ys, strict=True) if y is not None and not math.isfinite(y)]
                if lost:
                    ax.plot(lost, [never] * len(lost), marker=mk, ls="none", ms=8, mfc="none", mew=1.6,
                            color=color, label=None if shown else label)
        if horizon is not None and unreached:
            ax.axhline(horizon, color=GREY, ls=":", lw=1.2)
            ax.text(0.01, never, f"not reached within the horizon ({fmt_t(horizon)} steps): hollow markers",
                    transform=ax.get_yaxis_transform(), fontsize=8, color=GREY, va="bottom")
        elif horizon is not None:
            ax.text(0.01, 0.97, f"every method reached the target within the horizon ({fmt_t(horizon)} steps)",
                    transform=ax.transAxes, fontsize=8, color=GREY, va="top")
        ax.set_ylim(-0.03 * never, never * 1.1)
        if categorical:
            ax.set_xticks(sorted({x for x in at if math.isfinite(x)}))
            ax.set_xticklabels([fmt_t(x) for x in sorted({x for x in at if math.isfinite(x)})])
        else:
            _scale(ax, "x", at)
        ax.set_title(f"steps to {comp.get('target', 'the target')} per method", fontsize=9, color=GREY)
        _finish(ax, var, "steps to the target")
        return ""

    def pairs(ax: Any) -> str:
        names = [f"{p['a']} vs {p['b']}" for p in comp["pairs"]]
        ys = list(range(len(names)))[::-1]
        for y, p in zip(ys, comp["pairs"], strict=True):
            wins, dec, need = p.get("wins") or 0, p.get("decided") or 0, p.get("needed") or 0
            color = RED if p.get("verdict") == "violated" else (GREEN if p.get("verdict") == "holds" else GREY)
            ax.barh(y, dec, color="0.9", edgecolor="0.6", height=0.6)
            ax.barh(y, wins, color=color, height=0.6)
            ax.plot([need, need], [y - 0.38, y + 0.38], color="k", lw=2)
            ax.text(max(dec, need) + 0.1, y, f"{p['a']} first on {wins} of {dec} decided; needs {need}: "
                    f"{p.get('verdict', '?')}", va="center", fontsize=8)
        ax.set_yticks(ys)
        ax.set_yticklabels(names, fontsize=8)
        most = max([p.get("decided") or 0 for p in comp["pairs"]] + [1])
        ax.set_xlim(0, most * 2.2)
        rule = "no later than" if not comp.get("strict", True) else "before"
        ax.set_title(f"wins per pair (A reaches the target {rule} B; black mark: wins needed, fraction "
                     f"{fmt_num(comp.get('fraction'), 3)})", fontsize=9, color=GREY)
        ax.set_xlabel("paired samples")
        ax.grid(True, axis="x", alpha=0.3)
        return ""

    return [Panel(steps, 1.3), Panel(pairs, 0.35 + 0.22 * len(comp["pairs"]))]


# ---------------------------------------------------------------------------------------------- probability
def _probability_panels(report: dict) -> list[Panel]:
    ev, fig = report["evidence"], figure_of(report)
    thr = as_float(fig.get("threshold"))
    panels: list[Panel] = []
    if thr is not None:
        ts = [as_plot_float(v) for v in ev.get("t") or []]
        obs = [as_plot_float(v) for v in ev.get("observed") or []]

        def samples(ax: Any) -> str:
            pts = [i for i in range(min(len(ts), len(obs))) if drawable(ts[i]) and drawable(obs[i])]
            if not pts:
                return _empty(ax, "no finite samples to plot")
            ok = [i for i in pts if obs[i] <= thr]
            bad = [i for i in pts if obs[i] > thr]
            ax.plot([ts[i] for i in ok], [obs[i] for i in ok], "o", ms=5, color=GREEN,
                    label=f"success: at most the threshold ({len(ok)})")
            ax.plot([ts[i] for i in bad], [obs[i] for i in bad], "x", ms=6, mew=1.6, color=RED,
                    label=f"failure: above the threshold ({len(bad)})")
            ax.axhline(thr, color=ORANGE, ls="--", lw=1.3, label=f"threshold {fmt_num(thr, 4)}")
            _scale(ax, "y", [obs[i] for i in pts] + [thr])
            _finish(ax, variable_label(report), str(ev.get("metric") or "sample"))
            return _dropped(len(ts) - len(pts))

        panels.append(Panel(samples, 1.15))

    def interval(ax: Any) -> str:
        k, n = fig.get("successes", ev.get("extra", {}).get("successes")), fig.get("trials",
                                                                                 ev.get("extra", {}).get("trials"))
        iv = fig.get("interval", ev.get("extra", {}).get("interval"))
        p0 = as_float(fig.get("claimed_p", ev.get("extra", {}).get("claimed_p")))
        conf = as_float(fig.get("confidence", ev.get("extra", {}).get("confidence")))
        if not isinstance(k, int) or not isinstance(n, int) or n <= 0 or not isinstance(iv, list) or len(iv) != 2:
            return _empty(ax, "no successes and interval recorded")
        lo, hi, est = as_float(iv[0]) or 0.0, as_float(iv[1]) or 0.0, k / n
        ax.errorbar([est], [0], xerr=[[est - lo], [hi - est]], fmt="o", color=BLUE, capsize=6, ms=7, lw=2,
                    label=f"{k} of {n} successes = {fmt_num(est, 4)}, {fmt_num((conf or 0) * 100, 3)}% "
                          f"Clopper-Pearson [{fmt_num(lo, 4)}, {fmt_num(hi, 4)}]")
        if p0 is not None:
            ax.axvline(p0, color=ORANGE, ls="--", lw=1.5, label=f"claimed: P >= {fmt_num(p0, 4)}")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-1, 1.4)
        ax.set_yticks([])
        ax.set_title("violated when the whole interval lies below the claimed probability", fontsize=9, color=GREY)
        ax.set_xlabel("probability of the event")
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
        return ""

    if fig.get("draws") is not None:
        panels.extend(_series_panels(report)[:1])
    panels.append(Panel(interval, 0.55))
    return panels


# ---------------------------------------------------------------------------------------------- identity
def _identity_panels(report: dict) -> list[Panel]:
    ev, fig = report["evidence"], figure_of(report)
    ts = [as_plot_float(v) for v in ev.get("t") or []]
    lhs = [as_plot_float(v) for v in ev.get("observed") or []]
    rhs = [as_plot_float(v) for v in ev.get("claimed") or []]
    res = [as_plot_float(v) for v in fig.get("residual") or []]
    tol = [as_plot_float(v) for v in fig.get("tolerance") or []]
    sym = variable_symbol(report)
    if not ts:
        proved = ev.get("extra", {}).get("rule", {}).get("proved")
        text = ("symbolic identities: " + ", ".join(f"{k}: {'proved' if v else 'NOT proved'}"
                                                    for k, v in proved.items())) if isinstance(proved, dict) \
            else "no elements to plot"
        return [Panel(lambda ax: _empty(ax, text), 0.6)]
    categorical = variable(report) in CATEGORICAL

    def sides(ax: Any) -> str:
        pts = [i for i in range(min(len(ts), len(lhs), len(rhs))) if drawable(ts[i]) and drawable(lhs[i])
               and drawable(rhs[i])]
        if not pts:
            return _empty(ax, "no finite elements to plot")
        style = "none" if categorical else "-"
        ax.plot([ts[i] for i in pts], [lhs[i] for i in pts], marker="o", ls=style, ms=4, color=BLUE, label="lhs")
        ax.plot([ts[i] for i in pts], [rhs[i] for i in pts], marker="s", ls="--" if not categorical else "none",
                ms=4, mfc="none", color=ORANGE, label="rhs")
        _scale(ax, "x", [ts[i] for i in pts], categorical)
        _scale(ax, "y", [lhs[i] for i in pts] + [rhs[i] for i in pts])
        _finish(ax, variable_label(report), str(ev.get("metric") or "value"))
        return _dropped(len(ts) - len(pts))

    def residual(ax: Any) -> str:
        pts = [i for i in range(min(len(ts), len(res), len(tol))) if drawable(ts[i]) and drawable(res[i])
               and drawable(tol[i])]
        if not pts:
            return _empty(ax, "no residuals recorded")
        over = [i for i in pts if res[i] > tol[i]]
        fine = [i for i in pts if res[i] <= tol[i]]
        ax.plot([ts[i] for i in pts], [tol[i] for i in pts], ls="--" if not categorical else "none", marker="_",
                ms=10, color=ORANGE, label=f"tolerance atol + rtol |rhs| (atol {fmt_num(fig.get('atol'), 3)}, "
                                           f"rtol {fmt_num(fig.get('rtol'), 3)})")
        ax.plot([ts[i] for i in fine], [res[i] for i in fine], "o", ms=5, color=GREEN, label="within tolerance")
        ax.plot([ts[i] for i in over], [res[i] for i in over], "x", ms=7, mew=1.6, color=RED,
                label="beyond tolerance")
        wi = worst_index(ev)
        if wi is not None and wi in set(pts):
            ax.plot([ts[wi]], [res[wi]], marker="*", ms=14, color=RED, ls="none",
                    label=f"worst ratio {fmt_num(ev.get('worst_ratio'), 4)} at {sym} = {fmt_t(ev['t'][wi])}")
        _scale(ax, "x", [ts[i] for i in pts], categorical)
        vals = [v for i in pts for v in (res[i], tol[i]) if v > 0]
        if vals and max(vals) / min(vals) > 20:
            ax.set_yscale("log")
        _finish(ax, variable_label(report), "|lhs − rhs|")
        return ""

    return [Panel(sides, 1.0), Panel(residual, 1.0)]


# ---------------------------------------------------------------------------------------------- audit
def _audit_panel(report: dict, siblings: list[dict]) -> Panel:
    broken = report.get("broken_assumption")

    def slack_of(r: dict) -> float | None:
        row = next((a for a in r.get("assumptions", []) if a.get("id") == broken), None)
        return None if row is None else as_float(row.get("slack"))

    def draw(ax: Any) -> str:
        shown: list[tuple[float, float, bool, str]] = []
        for r in [report, *siblings]:
            s, w = slack_of(r), as_float(r.get("evidence", {}).get("worst_ratio"))
            if s is not None and w is not None and drawable(s) and drawable(w) and w > 0:
                shown.append((s, w, r is report, str(r.get("verdict", "?"))))
        if not shown:
            return _empty(ax, f"no finite slack of {broken} and worst ratio to plot")
        for s, w, me, verdict in shown:
            ax.plot([s], [w], marker="*" if me else "o", ms=15 if me else 7, ls="none",
                    color=RED if verdict == "violated" else GREY,
                    label=(f"this report: slack {fmt_num(s, 4)}, worst ratio {fmt_num(w, 4)} ({verdict})" if me
                           else None))
        if len(shown) > 1:
            ax.plot([], [], "o", color=RED, label=f"other audit reports of {broken} ({len(shown) - 1})")
        xs = [p[0] for p in shown]
        lo, hi = min([*xs, 0.0]), max([*xs, 0.0])
        pad = (hi - lo) * 0.15 or max(abs(lo), 1.0) * 0.5
        ax.set_xlim(lo - pad, hi + pad)
        ax.axvline(0.0, color="k", lw=1)
        ax.axvspan(lo - pad, 0.0, color=RED, alpha=0.06, lw=0)
        ax.text(0.0, 1.01, f"  {broken} holds →", transform=ax.get_xaxis_transform(), fontsize=8, ha="left")
        ax.text(0.0, 1.01, f"← {broken} broken  ", transform=ax.get_xaxis_transform(), fontsize=8, ha="right")
        ws = [p[1] for p in shown]
        if claim_kind(report) == "bound":
            ax.axhline(1.0, color=ORANGE, ls="--", lw=1.2, label="the claim's limit (ratio 1)")
            ws.append(1.0)
        if max(ws) / min(ws) > 20:
            ax.set_yscale("log")
        _finish(ax, f"slack of {broken} (negative: broken on purpose)", "outcome: worst ratio")
        return ""

    return Panel(draw, 0.9)


# ---------------------------------------------------------------------------------------------- the figure
def plot_report(report: dict, siblings: list[dict] | None = None) -> bytes:
    """PNG bytes of the report's figure (see the module docstring); ``siblings`` are other audit reports of the
    same claim and broken assumption, shown in the audit panel."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # headless; never switch the backend of a pyplot someone is already using
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    claim = report.get("claim") if isinstance(report.get("claim"), dict) else {}
    claim_id = str(claim.get("id", "?")) if isinstance(claim, dict) else "?"
    ev = report.get("evidence") if isinstance(report.get("evidence"), dict) else {}
    report = {**report, "claim": claim or {}, "evidence": ev or {}}
    verdict = str(report.get("verdict", report["evidence"].get("verdict", "?")))
    kind = claim_kind(report)
    builders = {"comparison": _comparison_panels, "probability": _probability_panels, "identity": _identity_panels}
    try:
        panels = builders.get(kind, _series_panels)(report)
    except Exception as exc:  # a malformed report still gets a figure, which says why it is empty
        msg = f"cannot draw: {exc.__class__.__name__}: {exc}"
        panels = [Panel(lambda ax: _empty(ax, msg))]
    audit = report.get("kind") == KIND_AUDIT
    if audit:
        panels.append(_audit_panel(report, list(siblings or [])))
    heights = [p.height for p in panels]
    fig = Figure(figsize=(10.0, 1.0 + 3.2 * sum(heights)), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    notes = []
    for ax, panel in zip(axes, panels, strict=True):
        try:
            note = panel.draw(ax)
        except Exception as exc:  # one panel's failure leaves the others
            ax.clear()
            note = _empty(ax, f"cannot draw: {exc.__class__.__name__}: {exc}")
        if note:
            notes.append(note)
    what = (f"audit: {report.get('broken_assumption')} broken on purpose (an audit refutes nothing)" if audit
            else "counterexample")
    fig.suptitle(f"{claim_id}: {verdict} ({what}); {kind or '?'} claim", fontsize=11)
    fig.tight_layout(rect=(0, 0.02 if notes else 0, 1, 1))
    if notes:  # in the figure's corner, clear of the data and the legend
        fig.text(0.005, 0.005, "; ".join(notes), fontsize=8, color="0.4", ha="left", va="bottom")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
