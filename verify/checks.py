"""One checker per claim kind. Pure functions of checkpoint series; each returns a :class:`CheckResult`.

Conventions: ``t`` are the checkpoints (increasing, positive), ``values`` the observed metric, ``ok`` the
per-checkpoint precision flags. A checker never calls a point "violated" if the trajectory lost precision
there: that is "inconclusive (numerically unreliable)".

Tail and decades: asymptotic claims are judged on the last ``decades`` decades of t, i.e. t in
[t_end / 10^decades, t_end]. The growth of a ratio over a decade is the least-squares slope of
log10(ratio) against log10(t) inside that decade (robust to oscillation between checkpoints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from verify.verdicts import HOLDS, INCONCLUSIVE, VIOLATED  # noqa: F401

SLOPE_TOL = 0.05
"""A ratio whose log10 grows by less than 0.05 per decade of t (12% per factor 10) is treated as flat. The value
is a parameter of every checker and is written into each report; it separates a persistent power-law or log
growth (a log t factor grows by >= 0.09 per decade up to t = 10^6) from checkpoint-to-checkpoint noise."""


@dataclass(frozen=True)
class CheckResult:
    verdict: str
    reason: str
    worst_ratio: float | None = None
    t_worst: int | None = None
    exponent: float | None = None
    constant: float | None = None
    decade_slopes: tuple[float, ...] = ()
    code: str = ""  # the reason code of an inconclusive verdict (verify.verdicts.REASON_CODES)


def _tail_mask(t: np.ndarray, decades: float, t0: int) -> np.ndarray:
    lo = max(float(t0), float(t[-1]) / 10.0**decades)
    return (t >= lo) & (t > 0)


def fit_power(t: np.ndarray, values: np.ndarray, scale: str = "power") -> tuple[float, float]:
    """Least-squares fit values ~ C * x^p with x = t (``power``) or x = log t (``log``); returns (p, C)."""
    x = np.log(t) if scale == "power" else np.log(np.log(t))
    good = np.isfinite(values) & (values > 0) & np.isfinite(x)
    if good.sum() < 2:
        return math.nan, math.nan
    p, logc = np.polyfit(x[good], np.log(values[good]), 1)
    return float(p), float(math.exp(logc))


def decade_slopes(t: np.ndarray, log10_ratio: np.ndarray, decades: int) -> list[float]:
    """Slope of log10(ratio) vs log10(t) within each of the last ``decades`` decades (oldest first)."""
    end = math.log10(t[-1])
    out = []
    for k in range(decades, 0, -1):
        lo, hi = end - k, end - k + 1
        sel = (np.log10(t) >= lo - 1e-12) & (np.log10(t) <= hi + 1e-12) & np.isfinite(log10_ratio)
        if sel.sum() >= 2:
            out.append(float(np.polyfit(np.log10(t[sel]), log10_ratio[sel], 1)[0]))
    return out


def check_bound(t: np.ndarray, values: np.ndarray, bound: np.ndarray, ok: np.ndarray, t0: int = 1) -> CheckResult:
    """metric(t) <= bound(t) at every checkpoint t >= t0."""
    sel = t >= t0
    if not sel.any():
        return CheckResult(INCONCLUSIVE, f"no checkpoint at or after t0={t0}")
    ratio = values[sel] / bound[sel]
    i = int(np.nanargmax(ratio))
    worst, tw = float(ratio[i]), int(t[sel][i])
    bad = ratio > 1
    if bad.any():
        if not ok[sel][bad].all():
            return CheckResult(INCONCLUSIVE, "bound exceeded only where precision was lost", worst, tw)
        return CheckResult(VIOLATED, f"metric exceeds the bound at t={tw} by a factor {worst:.4g}", worst, tw)
    if not ok[sel].all():
        return CheckResult(HOLDS, "bound holds; some checkpoints lost precision", worst, tw)
    return CheckResult(HOLDS, f"bound holds at all {int(sel.sum())} checkpoints (worst ratio {worst:.4g})", worst, tw)


def check_order(t: np.ndarray, values: np.ndarray, rate: np.ndarray, ok: np.ndarray, *, t0: int = 1,
                decades: int = 2, slope_tol: float = SLOPE_TOL, fit_scale: str = "power") -> CheckResult:
    """metric(t) = O(rate(t)) with an unknown constant.

    - violated: the ratio metric/rate grows by more than ``slope_tol`` per decade in each of the last
      ``decades`` decades, and the growth is not decelerating (last slope >= half the previous one);
    - holds: the ratio does not grow by more than ``slope_tol`` in the last decade;
    - inconclusive: anything else (growth that is slowing down, too short a horizon, lost precision).
    The fitted exponent p and constant C of metric ~ C x^p over the tail are always reported.
    """
    tail = _tail_mask(t, decades, t0)
    if tail.sum() < 3:
        return CheckResult(INCONCLUSIVE, f"horizon too short: fewer than 3 checkpoints in the last {decades} decades")
    tt, vv, rr = t[tail], values[tail], rate[tail]
    ratio = vv / rr
    p, C = fit_power(tt, vv, fit_scale)
    i = int(np.nanargmax(ratio))
    worst, tw = float(ratio[i]), int(tt[i])
    if not ok[tail].all():
        return CheckResult(INCONCLUSIVE, "precision lost in the tail: numerically unreliable", worst, tw, p, C)
    if np.any(~np.isfinite(ratio)) or np.any(vv <= 0):
        return CheckResult(INCONCLUSIVE, "metric is zero or non-finite in the tail", worst, tw, p, C)
    return _growth_verdict(tt, np.log10(ratio), decades, slope_tol, worst, tw, p, C, "fitted exponent")


def _growth_verdict(tt: np.ndarray, log10_ratio: np.ndarray, decades: int, slope_tol: float, worst: float,
                    tw: int, p: float, C: float, fit_label: str) -> CheckResult:
    """The order-claim rule on the per-decade slopes of log10(metric / rate) (see :func:`check_order`)."""
    slopes = decade_slopes(tt, log10_ratio, decades)
    if not slopes:
        return CheckResult(INCONCLUSIVE, "too few checkpoints per decade to measure growth", worst, tw, p, C)
    s = tuple(round(x, 6) for x in slopes)
    if slopes[-1] <= slope_tol:
        return CheckResult(HOLDS, f"ratio to the claimed rate is flat or falling in the last decade (slope "
                           f"{slopes[-1]:.3g} <= {slope_tol}); {fit_label} {p:.3g}", worst, tw, p, C, s)
    growing = len(slopes) == decades and all(x > slope_tol for x in slopes)
    steady = len(slopes) < 2 or slopes[-1] >= 0.5 * slopes[-2]
    if growing and steady:
        return CheckResult(VIOLATED, f"ratio to the claimed rate keeps growing: slopes {s} per decade "
                           f"(tolerance {slope_tol}); {fit_label} {p:.3g}", worst, tw, p, C, s)
    return CheckResult(INCONCLUSIVE, f"ratio grows but the growth is slowing (slopes {s}); a longer horizon "
                       "is needed", worst, tw, p, C, s)


def check_limit(t: np.ndarray, values: np.ndarray, ok: np.ndarray, *, lower_bound: np.ndarray | None = None,
                t0: int = 1, decades: int = 2, slope_tol: float = SLOPE_TOL) -> CheckResult:
    """metric(t) -> 0.

    A numerical run cannot prove a limit; it can only fail to refute it, or exhibit a *witness*: a certified
    lower bound ``lower_bound(t) <= metric(t)`` (e.g. from the triangle inequality against another limit point)
    that stays positive and does not decay over the last ``decades`` decades.

    - violated: the witness is positive at every tail checkpoint and its log-slope per decade is >= -slope_tol;
    - holds: the metric falls by more than ``slope_tol`` (in log10) in each of the last ``decades`` decades;
    - inconclusive: otherwise.
    """
    tail = _tail_mask(t, decades, t0)
    if tail.sum() < 3:
        return CheckResult(INCONCLUSIVE, "horizon too short for a limit check")
    tt, vv = t[tail], values[tail]
    p, C = fit_power(tt, vv)
    worst, tw = None, None  # a limit claim has no claimed curve, hence no observed-to-claimed ratio
    if not ok[tail].all():
        return CheckResult(INCONCLUSIVE, "precision lost in the tail: numerically unreliable", worst, tw, p, C)
    if lower_bound is not None:
        lb = lower_bound[tail]
        if np.all(lb > 0):
            slopes = decade_slopes(tt, np.log10(lb), decades)
            if slopes and all(x >= -slope_tol for x in slopes):
                return CheckResult(VIOLATED, f"the metric stays above a certified positive lower bound "
                                   f"(min {float(lb.min()):.4g} over the last {decades} decades, not decaying)",
                                   worst, tw, p, C, tuple(slopes))
    slopes = decade_slopes(tt, np.log10(np.maximum(vv, np.finfo(float).tiny)), decades)
    if len(slopes) == decades and all(x < -slope_tol for x in slopes):
        return CheckResult(HOLDS, f"metric decreasing in each of the last {decades} decades (slopes "
                           f"{tuple(round(x, 4) for x in slopes)}), now {float(vv[-1]):.3g}", worst, tw, p, C,
                           tuple(slopes))
    return CheckResult(INCONCLUSIVE, f"metric {float(vv[-1]):.3g} is not clearly decreasing and no witness of "
                       "another limit was found", worst, tw, p, C, tuple(slopes))


def check_order_log(t: np.ndarray, log_values: np.ndarray, log_rate: np.ndarray, ok: np.ndarray, *, t0: int = 1,
                    decades: int = 2, slope_tol: float = SLOPE_TOL) -> CheckResult:
    """:func:`check_order` for a metric and a rate given as natural logs, so neither ever underflows (a loss of
    e^{-3000} or an attention of e^{-1400} is ordinary data here). Same verdict rules on the log10 ratio.

    The fitted (exponent, constant) are those of an *exponential* fit over the tail, metric ~ C e^{p t}
    (least squares of log metric against t), the natural shape for the claims this serves.
    """
    tail = _tail_mask(t, decades, t0)
    if tail.sum() < 3:
        return CheckResult(INCONCLUSIVE, f"horizon too short: fewer than 3 checkpoints in the last {decades} decades")
    tt, lv, lr = t[tail], log_values[tail], log_rate[tail]
    log10_ratio = (lv - lr) / math.log(10)
    good = np.isfinite(lv)
    p, C = (math.nan, math.nan)
    if good.sum() >= 2:
        slope, icpt = np.polyfit(tt[good], lv[good], 1)
        p, C = float(slope), float(math.exp(min(icpt, 700.0)))
    i = int(np.nanargmax(log10_ratio)) if np.isfinite(log10_ratio).any() else 0
    worst = float(10.0 ** min(float(log10_ratio[i]), 300.0)) if np.isfinite(log10_ratio[i]) else math.inf
    tw = int(tt[i])
    if not ok[tail].all():
        return CheckResult(INCONCLUSIVE, "precision lost in the tail: numerically unreliable", worst, tw, p, C)
    if not np.all(np.isfinite(log10_ratio)):
        return CheckResult(INCONCLUSIVE, "metric is zero or non-finite in the tail", worst, tw, p, C)
    return _growth_verdict(tt, log10_ratio, decades, slope_tol, worst, tw, p, C, "fitted exponential rate")
