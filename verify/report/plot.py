"""A report's plot (``<name>.png``): the observed metric against t, the claimed curve, the worst point marked."""

from __future__ import annotations

import io
import math
import sys

from verify.report.fmt import as_plot_float, fmt_num, fmt_t, worst_index
from verify.verdicts import KIND_AUDIT

PLOT_MIN, PLOT_MAX = 1e-250, 1e250
"""Magnitudes a plotted value may have: beyond them matplotlib's log-axis ticks overflow, so such points are left
out of the plot and counted in its note (the JSON keeps every value)."""


def plot_report(report: dict) -> bytes:
    """PNG bytes: the observed metric against t, with the claimed curve and the worst point marked.

    Log-log axes when every plotted value is positive; otherwise a symlog y axis (and a linear x axis when
    some t is not positive). Non-finite values and magnitudes beyond [PLOT_MIN, PLOT_MAX] are left out (and
    counted in a note); an empty series gives an annotated empty plot. Draws on an Agg canvas of its own (no
    pyplot figure state); selects the Agg
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
    ts, obs, cl = ([as_plot_float(v) for v in ev.get(k) or []] for k in ("t", "observed", "claimed"))

    def finite(v: float) -> bool:  # finite, and inside the range an axis can draw (a diverging run reaches 1e300)
        return math.isfinite(v) and (v == 0 or PLOT_MIN <= abs(v) <= PLOT_MAX)

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
    wi = worst_index(ev)
    if wi is not None and wi < len(ts) and wi < len(obs) and finite(ts[wi]) and finite(obs[wi]):
        tw, ow = ts[wi], obs[wi]
        if (not x_log or tw > 0) and (not y_log or ow > 0):
            ax.plot([tw], [ow], marker="*", ms=14, color="tab:red", ls="none",
                    label=f"worst ratio {fmt_num(ev.get('worst_ratio'), 4)} at t={fmt_t(ts[wi])}")
    all_y = [p[1] for p in obs_pts + cl_pts]
    if obs_pts or cl_pts:
        ax.set_xscale("log" if x_log else "linear")
        if y_log:
            ax.set_yscale("log")
            ax.set_ylim(min(all_y) / 10, max(all_y) * 10)  # no autoscale margin past the drawable range
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
    note = (f"{dropped} point(s) not shown (non-finite or beyond {PLOT_MAX:.0e})" if dropped and (obs_pts or cl_pts)
            else "")
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
