"""One checker per claim kind. Pure functions of checkpoint series; each returns a :class:`CheckResult`.

Conventions: ``t`` are the checkpoints (increasing, positive), ``values`` the observed metric, ``ok`` the
per-checkpoint precision flags. A checker never calls a point "violated" if the trajectory lost precision
there: that is "inconclusive (precision-lost)". Every inconclusive result carries a reason code
(:mod:`verify.verdicts`), and every result carries the rule it was judged by (``params["rule"]``).

Tail: asymptotic claims are judged on the last ``decades`` decades of t, i.e. t in [t_end / 10^decades, t_end],
split into consecutive *segments* of equal checkpoint counts (docs/engine.md, "Verdicts").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from verify.verdicts import (  # noqa: F401  (HOLDS/INCONCLUSIVE/VIOLATED are re-exported)
    GROWTH_DECELERATING,
    HOLDS,
    HORIZON_TOO_SHORT,
    INCONCLUSIVE,
    NO_LIMIT_EVIDENCE,
    NON_FINITE,
    PRECISION_LOST,
    VIOLATED,
)


@dataclass(frozen=True)
class GrowthRule:
    """The order-claim rule (``metric = O(rate)``, unknown constant), all its parameters in one place.

    y = ln(metric / rate) is fitted against the rate's natural coordinate x = -ln rate(t) (a ln t for t^-a,
    ln ln t for 1/ln t, c t for e^{-ct}, t^a for e^{-t^a}; ln t when the rate is flat). In x the claimed rate is
    e^{-x} for every form, so a slope s of y means "the metric decays (1 - s) times as fast as claimed". The
    tail is cut into ``segments`` consecutive parts of equal checkpoint counts (at least ``min_points`` each);
    each part gets an ordinary-least-squares slope s_i with its standard error se_i.

    - holds: the last slope s_L <= ``tol`` (the ratio is flat or falling at the end of the run);
    - violated: s_L - k se_L > tol (significant growth) AND the growth is not slowing, s_{L-1} - s_L <= k se_d
      with se_d = sqrt(se_{L-1}^2 + se_L^2);
    - inconclusive (growth-decelerating): growth that is not significant, or that slows.
    """

    tol: float = 0.05
    k: float = 3.0
    segments: int = 3
    min_points: int = 3

    def to_json(self) -> dict:
        return {"name": "growth", **asdict(self)}


GROWTH_RULE = GrowthRule()
SLOPE_TOL = GROWTH_RULE.tol  # kept for callers that pass a tolerance by name


@dataclass(frozen=True)
class LimitRule:
    """The limit-claim rule (``metric -> 0``; a distance to a stated target is the metric).

    On the tail: floor models metric ~ F + C s^{-a} (a > 0; s = t and s = ln t) fitted by least squares, F with
    its standard error se_F; and the tail's last segment (as in :class:`GrowthRule`).

    - violated (witness): a lower bound (witness) lb(t) <= metric(t) is > 0 at every checkpoint of the last
      segment and its slope of ln lb against ln t there is >= -``tol`` (it does not decay);
    - violated (floor): in every decay family (:data:`FLOOR_FAMILIES`: F + C t^-a and F + C (ln t)^-a),
      F - k se_F > ``negligible`` * m_end and F >= ``floor_share`` * m_end (the floor is significantly positive
      whatever the shape of the decay, and the metric has covered most of its way down to it), and a floor
      approached from above (C > 0) is not significantly above the metric's last value (F - k se_F <= m_end):
      a metric that has already fallen below its fitted floor refutes the fit, not the claim;
    - holds: the metric decays over the last segment (slope of ln metric against ln t, plus k se, < -tol) AND
      in some decay family the floor is consistent with 0: F - k se_F <= negligible * m_end;
    - inconclusive (no-limit-evidence): anything else (e.g. a slow decay whose floor fit is ambiguous).
    """

    tol: float = 0.05
    k: float = 3.0
    floor_share: float = 0.5
    negligible: float = 0.01
    segments: int = 3
    min_points: int = 3

    def to_json(self) -> dict:
        return {"name": "limit", **asdict(self)}


LIMIT_RULE = LimitRule()


@dataclass(frozen=True)
class CheckResult:
    verdict: str
    reason: str
    worst_ratio: float | None = None
    t_worst: int | None = None
    exponent: float | None = None
    constant: float | None = None
    decade_slopes: tuple[float, ...] = ()  # the per-segment slopes the verdict rests on (oldest first)
    code: str = ""  # the reason code of an inconclusive verdict (verify.verdicts.REASON_CODES)
    params: dict = field(default_factory=dict)  # the rule (params["rule"]) and the figures it was applied to


def _tail_mask(t: np.ndarray, decades: float, t0: int) -> np.ndarray:
    lo = max(float(t0), float(t[-1]) / 10.0**decades)
    return (t >= lo) & (t > 0)


def ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of y on x and its standard error sqrt(RSS / (n - 2) / Sxx) (inf for n <= 2).

    On a deterministic checkpoint series the SE is not a sampling error: it measures how far the series departs
    from a straight line inside the fitted range (curvature, checkpoint-to-checkpoint oscillation)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    if len(x) < 2 or sxx <= 0:
        return math.nan, math.inf
    s = float(np.sum((x - xm) * (y - ym)) / sxx)
    if len(x) <= 2:
        return s, math.inf
    rss = float(np.sum((y - ym - s * (x - xm)) ** 2))
    return s, math.sqrt(rss / (len(x) - 2) / sxx)


def fit_power(t: np.ndarray, values: np.ndarray, scale: str = "power") -> tuple[float, float]:
    """Least-squares fit values ~ C * x^p with x = t (``power``) or x = log t (``log``); returns (p, C)."""
    x = np.log(t) if scale == "power" else np.log(np.log(t))
    good = np.isfinite(values) & (values > 0) & np.isfinite(x)
    if good.sum() < 2:
        return math.nan, math.nan
    p, logc = np.polyfit(x[good], np.log(values[good]), 1)
    return float(p), float(math.exp(logc))


def bootstrap_exponent_se(t: Any, replicates: Any, resamples: int = 200, seed: int = 0,
                          scale: str = "power") -> float:
    """Standard error of the exponent p that :func:`fit_power` fits to the replicate means, by the bootstrap.

    ``replicates[i]`` are independent draws of the metric at ``t[i]`` (a 2-d array, one row per t). Each of the
    ``resamples`` resamples redraws every row's replicates with replacement and refits p on the row means; the
    SE is the standard deviation of the refitted exponents. Deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    tt, R = np.asarray(t, float), np.asarray(replicates, float)
    out = []
    for _ in range(resamples):
        idx = rng.integers(0, R.shape[1], size=R.shape)
        out.append(fit_power(tt, np.take_along_axis(R, idx, axis=1).mean(axis=1), scale)[0])
    return float(np.std(out))


class GeometricFit(NamedTuple):
    """values(t) ~ constant * rate^t + floor on a transient (see :func:`fit_geometric`)."""

    rate: float
    constant: float
    floor: float
    points: int
    rate_se: float


def fit_geometric(t: Any, values: Any, floor_frac: float = 0.25) -> GeometricFit:
    """Fit a geometric transient onto a plateau, values(t) ~ C rho^t + floor.

    The floor is the smallest value over the last ``floor_frac`` of the horizon (t >= (1 - floor_frac) t_end).
    rho and C come from the least-squares line (:func:`ols`) ln(values - floor) = ln C + t ln rho over the
    transient: the checkpoints from the largest value (an initial overshoot is skipped) up to, not including, the
    first one within 2 x floor, where values > floor. With fewer than 3 such points rho and C are nan.
    ``rate_se`` is rho times the slope's standard error (delta method; on a deterministic series it measures
    the departure from a straight line, see :func:`ols`). ``points`` counts the fitted checkpoints."""
    t, e = np.asarray(t, float), np.asarray(values, float)
    tail = t >= t[-1] * (1 - floor_frac)
    floor = float(np.min(e[tail]))
    ex = e - floor
    reached = np.nonzero(e <= 2 * floor)[0]
    stop = int(reached[0]) if reached.size else len(e)
    start = int(np.argmax(e[:stop])) if stop > 0 else 0
    idx = np.arange(len(e))
    sel = (idx >= start) & (idx < stop) & (ex > 0)
    k = int(sel.sum())
    if k < 3:
        return GeometricFit(math.nan, math.nan, floor, k, math.nan)
    x, y = t[sel], np.log(ex[sel])
    slope, se = ols(x, y)
    rho = math.exp(slope)
    return GeometricFit(rho, math.exp(float(y.mean() - slope * x.mean())), floor, k, rho * se)


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


def natural_coordinate(t: np.ndarray, log_rate: np.ndarray) -> tuple[np.ndarray, str]:
    """x = -ln rate(t) (ln rate for a growing rate), the coordinate in which the claimed rate is e^{-x}; ln t when
    the rate is flat or not strictly monotone over ``t``. Returns (x, a label)."""
    lr = np.asarray(log_rate, float)
    if len(lr) >= 2 and np.all(np.isfinite(lr)):
        x = -lr if lr[-1] < lr[0] else lr
        if np.all(np.diff(x) > 1e-12 * np.maximum(1.0, np.abs(x[1:]))):
            return x - x[0], "-ln rate" if lr[-1] < lr[0] else "ln rate"
    return np.log(t), "ln t"


def segment_fits(t: np.ndarray, x: np.ndarray, y: np.ndarray, segments: int, min_points: int) -> list[dict]:
    """OLS slope of y on x with its SE on each of up to ``segments`` consecutive equal-count parts."""
    n = min(segments, len(x) // max(min_points, 1))
    out = []
    for idx in np.array_split(np.arange(len(x)), n) if n >= 1 else []:
        s, se = ols(x[idx], y[idx])
        out.append({"t": [int(t[idx[0]]), int(t[idx[-1]])], "slope": s, "se": se, "points": int(len(idx))})
    return out


def _fmt_segments(segs: list[dict]) -> str:
    return ", ".join(f"{s['slope']:.4g} ± {s['se']:.2g} (t {s['t'][0]}-{s['t'][1]})" for s in segs)


def growth_verdict(t: np.ndarray, x: np.ndarray, y: np.ndarray, rule: GrowthRule = GROWTH_RULE,
                   coordinate: str = "-ln rate") -> tuple[str, str, str, dict]:
    """(verdict, code, reason, params) of :class:`GrowthRule` on y = ln(metric / rate) against x."""
    segs = segment_fits(t, x, y, rule.segments, rule.min_points)
    params: dict[str, Any] = {"rule": rule.to_json(), "coordinate": coordinate, "segments": segs}
    if not segs:
        return INCONCLUSIVE, HORIZON_TOO_SHORT, (f"horizon too short: {len(x)} checkpoints in the tail, fewer than "
                                                 f"{rule.min_points} for one segment"), params
    fig = f"slopes of ln(metric/rate) vs x = {coordinate}, per segment: {_fmt_segments(segs)}"
    last = segs[-1]
    s, se = last["slope"], last["se"]
    if s <= rule.tol:
        return HOLDS, "", f"ratio to the claimed rate is flat or falling at the end (last slope {s:.4g} <= " \
                          f"{rule.tol}); {fig}", params
    if not s - rule.k * se > rule.tol:
        return INCONCLUSIVE, GROWTH_DECELERATING, f"the ratio's growth is not significant (last slope {s:.4g} " \
                                                  f"± {se:.2g}, needs > {rule.tol} + {rule.k:g} SE); {fig}", params
    if len(segs) < 2:
        return INCONCLUSIVE, HORIZON_TOO_SHORT, f"one segment only: cannot tell whether the growth slows; {fig}", \
            params
    prev = segs[-2]
    d, sd = prev["slope"] - s, math.hypot(prev["se"], se)
    params.update({"deceleration": d, "deceleration_se": sd})
    if d > rule.k * sd:
        return INCONCLUSIVE, GROWTH_DECELERATING, f"the ratio grows but the growth slows: last slopes " \
            f"{prev['slope']:.4g} -> {s:.4g}, a drop of {d:.3g} > {rule.k:g} SE ({sd:.2g}); a bounded ratio is " \
            f"not excluded; {fig}", params
    return VIOLATED, "", f"ratio to the claimed rate keeps growing: last slope {s:.4g} ± {se:.2g} > {rule.tol}, " \
                         f"not slowing (change {-d:+.3g}, {rule.k:g} SE = {rule.k * sd:.2g}); {fig}", params


def _rule_of(rule: GrowthRule, slope_tol: float | None) -> GrowthRule:
    return rule if slope_tol is None else replace(rule, tol=float(slope_tol))


def check_order(t: np.ndarray, values: np.ndarray, rate: np.ndarray, ok: np.ndarray, *, t0: int = 1,
                decades: int = 2, slope_tol: float | None = None, fit_scale: str = "power",
                rule: GrowthRule = GROWTH_RULE) -> CheckResult:
    """metric(t) = O(rate(t)) with an unknown constant, judged by :class:`GrowthRule` (``slope_tol`` overrides
    its tolerance). The fitted exponent p and constant C of metric ~ C x^p over the tail (x = t, or log t with
    ``fit_scale="log"``) are always reported."""
    rule = _rule_of(rule, slope_tol)
    t, values, rate = np.asarray(t, float), np.asarray(values, float), np.asarray(rate, float)
    tail = _tail_mask(t, decades, t0)
    base = {"rule": rule.to_json()}
    if tail.sum() < rule.min_points:
        return CheckResult(INCONCLUSIVE, f"horizon too short: fewer than {rule.min_points} checkpoints in the last "
                           f"{decades} decades", code=HORIZON_TOO_SHORT, params=base)
    tt, vv, rr = t[tail], values[tail], rate[tail]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = vv / rr
        p, C = fit_power(tt, vv, fit_scale)
    i = int(np.nanargmax(ratio)) if np.isfinite(ratio).any() else 0
    worst, tw = float(ratio[i]), int(tt[i])
    if not ok[tail].all():
        return CheckResult(INCONCLUSIVE, "precision lost in the tail: numerically unreliable", worst, tw, p, C,
                           code=PRECISION_LOST, params=base)
    if np.any(~np.isfinite(ratio)) or np.any(vv <= 0) or np.any(rr <= 0):
        return CheckResult(INCONCLUSIVE, "metric or rate is zero or non-finite in the tail", worst, tw, p, C,
                           code=NON_FINITE, params=base)
    x, label = natural_coordinate(tt, np.log(rr))
    return _result(tt, x, np.log(vv) - np.log(rr), rule, label, worst, tw, p, C, "fitted exponent")


def _result(tt: np.ndarray, x: np.ndarray, y: np.ndarray, rule: GrowthRule, label: str, worst: float, tw: int,
            p: float, C: float, fit_label: str) -> CheckResult:
    verdict, code, reason, params = growth_verdict(tt, x, y, rule, label)
    slopes = tuple(round(s["slope"], 6) for s in params["segments"])
    return CheckResult(verdict, f"{reason}; {fit_label} {p:.3g}", worst, tw, p, C, slopes, code, params)


def check_order_log(t: np.ndarray, log_values: np.ndarray, log_rate: np.ndarray, ok: np.ndarray, *, t0: int = 1,
                    decades: int = 2, slope_tol: float | None = None,
                    rule: GrowthRule = GROWTH_RULE) -> CheckResult:
    """:func:`check_order` for a metric and a rate given as natural logs, so neither ever underflows (a loss of
    e^{-3000} or a softmax weight of e^{-1400} is ordinary data here). Same rule, on ln(metric) - ln(rate).

    The fitted (exponent, constant) are those of an *exponential* fit over the tail, metric ~ C e^{p t}
    (least squares of log metric against t), the natural shape for the claims this serves.
    """
    rule = _rule_of(rule, slope_tol)
    t = np.asarray(t, float)
    tail = _tail_mask(t, decades, t0)
    base = {"rule": rule.to_json()}
    if tail.sum() < rule.min_points:
        return CheckResult(INCONCLUSIVE, f"horizon too short: fewer than {rule.min_points} checkpoints in the last "
                           f"{decades} decades", code=HORIZON_TOO_SHORT, params=base)
    tt, lv, lr = t[tail], np.asarray(log_values, float)[tail], np.asarray(log_rate, float)[tail]
    y = lv - lr
    good = np.isfinite(lv)
    p, C = (math.nan, math.nan)
    if good.sum() >= 2:
        slope, icpt = np.polyfit(tt[good], lv[good], 1)
        p, C = float(slope), float(math.exp(min(icpt, 700.0)))
    i = int(np.nanargmax(y)) if np.isfinite(y).any() else 0
    worst = float(math.exp(min(float(y[i]), 690.0))) if np.isfinite(y[i]) else math.inf
    tw = int(tt[i])
    if not ok[tail].all():
        return CheckResult(INCONCLUSIVE, "precision lost in the tail: numerically unreliable", worst, tw, p, C,
                           code=PRECISION_LOST, params=base)
    if not np.all(np.isfinite(y)):
        return CheckResult(INCONCLUSIVE, "metric is zero or non-finite in the tail", worst, tw, p, C,
                           code=NON_FINITE, params=base)
    x, label = natural_coordinate(tt, lr)
    return _result(tt, x, y, rule, label, worst, tw, p, C, "fitted exponential rate")


# ---------------------------------------------------------------------------------------------- limit
FLOOR_FAMILIES = ("power", "log")
"""Decay families of the floor fit: metric ~ F + C s^{-a} with s = t (``power``) or s = ln t (``log``)."""


def fit_floor(t: np.ndarray, values: np.ndarray) -> dict:
    """Least squares of values ~ F + C t^{-a}, a in [1e-3, 8] (pass ln t as ``t`` for the log family): for each a
    on a log grid (refined around the best) F and C are linear; F's standard error comes from the linearized
    3-parameter fit (Jacobian in F, C, a) with residual variance RSS / (n - 3). Returns {"floor", "floor_se",
    "C", "a", "rss"} (NaN when n < 4)."""
    t, v = np.asarray(t, float), np.asarray(values, float)
    n = len(t)
    if n < 4:
        return {"floor": math.nan, "floor_se": math.inf, "C": math.nan, "a": math.nan, "rss": math.nan}
    lt = np.log(t / t[0])  # t^-a = t0^-a e^{-a lt}: C is reported for the rescaled t / t0

    def fit(a: float) -> tuple[float, float, float]:
        A = np.stack([np.ones(n), np.exp(-a * lt)], axis=1)
        coef, *_ = np.linalg.lstsq(A, v, rcond=None)
        r = v - A @ coef
        return float(r @ r), float(coef[0]), float(coef[1])

    grid = np.logspace(-3, math.log10(8.0), 121)
    rss = [fit(a)[0] for a in grid]
    j = int(np.argmin(rss))
    fine = np.logspace(math.log10(grid[max(j - 1, 0)]), math.log10(grid[min(j + 1, len(grid) - 1)]), 81)
    a = float(min(fine, key=lambda a: fit(a)[0]))
    r2, F, C = fit(a)
    e = np.exp(-a * lt)
    J = np.stack([np.ones(n), e, -C * lt * e], axis=1)
    s2 = r2 / (n - 3)
    try:
        scale = np.maximum(np.sqrt(np.sum(J * J, axis=0)), 1e-300)
        cov = np.linalg.inv((J / scale).T @ (J / scale)) / np.outer(scale, scale) * s2
        se = float(math.sqrt(max(cov[0, 0], 0.0)))
    except np.linalg.LinAlgError:
        se = math.inf
    if not np.isfinite(se):
        se = math.inf
    return {"floor": F, "floor_se": se, "C": C, "a": a, "rss": r2}


def check_limit(t: np.ndarray, values: np.ndarray, ok: np.ndarray, *, lower_bound: np.ndarray | None = None,
                t0: int = 1, decades: int = 2, rule: LimitRule = LIMIT_RULE) -> CheckResult:
    """metric(t) -> 0 (the metric is the distance to the claimed limit), judged by :class:`LimitRule`.

    A numerical run cannot prove a limit. It can refute one with a lower bound (witness) ``lower_bound(t) <=
    metric(t)`` (e.g. from the triangle inequality against another limit point) that stays positive over the
    end of the tail, or with a floor that the fit shows to be significantly positive; it agrees with one only
    when the metric decays AND the fitted floor is consistent with 0. Monotone decrease alone never holds.
    """
    t, values = np.asarray(t, float), np.asarray(values, float)
    tail = _tail_mask(t, decades, t0)
    params: dict[str, Any] = {"rule": rule.to_json()}
    if tail.sum() < 2 * rule.min_points:
        return CheckResult(INCONCLUSIVE, "horizon too short for a limit check", code=HORIZON_TOO_SHORT, params=params)
    tt, vv = t[tail], values[tail]
    with np.errstate(divide="ignore", invalid="ignore"):
        p, C = fit_power(tt, vv)
    if not ok[tail].all():
        return CheckResult(INCONCLUSIVE, "precision lost in the tail: numerically unreliable", None, None, p, C,
                           code=PRECISION_LOST, params=params)
    if not np.all(np.isfinite(vv)):
        return CheckResult(INCONCLUSIVE, "metric is non-finite in the tail", None, None, p, C, code=NON_FINITE,
                           params=params)
    idx = np.array_split(np.arange(len(tt)), min(rule.segments, len(tt) // rule.min_points))[-1]
    t_end = [int(tt[idx[0]]), int(tt[-1])]
    m_end = float(vv[-1])
    if lower_bound is not None:
        lb = np.asarray(lower_bound, float)[tail][idx]
        if np.all(np.isfinite(lb)) and np.all(lb > 0):
            s_lb, se_lb = ols(np.log(tt[idx]), np.log(lb))
            params["witness"] = {"t": t_end, "min": float(lb.min()), "end": float(lb[-1]), "slope": s_lb}
            if s_lb >= -rule.tol:
                return CheckResult(VIOLATED, f"a lower bound (witness) on the metric is positive over the end of "
                                   f"the tail (t {t_end[0]}-{t_end[1]}: min {float(lb.min()):.4g}, at the end "
                                   f"{float(lb[-1]):.4g}) and does not decay (ln-ln slope {s_lb:.3g} >= -{rule.tol})",
                                   None, None, p, C, (s_lb,), params=params)
    fams = FLOOR_FAMILIES if tt[0] > 1 else ("power",)  # ln t must be positive for the log family
    fits = {fam: fit_floor(tt if fam == "power" else np.log(tt), vv) for fam in fams}
    params["floor_fit"] = fits
    pos = np.all(vv[idx] > 0)
    s_end, se_end = ols(np.log(tt[idx]), np.log(vv[idx])) if pos else (math.nan, math.inf)
    params["end_decay"] = {"t": t_end, "slope": s_end, "se": se_end}
    neg = rule.negligible * abs(m_end)
    tag = "; ".join(f"{fam} floor fit F + C {'t' if fam == 'power' else '(ln t)'}^-a: F = {f['floor']:.4g} ± "
                    f"{f['floor_se']:.2g} (a = {f['a']:.3g})" for fam, f in fits.items())
    tag += f"; metric at the end {m_end:.4g}; ln-ln slope over t {t_end[0]}-{t_end[1]}: {s_end:.3g} ± {se_end:.2g}"
    positive = [f["floor"] - rule.k * f["floor_se"] > neg and rule.floor_share * m_end <= f["floor"]
                and (f["C"] <= 0 or f["floor"] - rule.k * f["floor_se"] <= m_end) for f in fits.values()]
    if all(positive):
        return CheckResult(VIOLATED, f"the metric approaches a significantly positive floor in every decay family: "
                           f"{tag}", None, None, p, C, (s_end,), params=params)
    decays = pos and s_end + rule.k * se_end < -rule.tol
    zero_floor = any(f["floor"] - rule.k * f["floor_se"] <= neg for f in fits.values())
    if decays and zero_floor:
        return CheckResult(HOLDS, f"the metric decays and a fitted floor is consistent with 0: {tag}", None, None,
                           p, C, (s_end,), params=params)
    why = "the metric does not decay clearly" if not decays else "the fitted floor is not consistent with 0"
    return CheckResult(INCONCLUSIVE, f"{why}, and no positive floor or witness was established: {tag}", None, None,
                       p, C, (s_end,), NO_LIMIT_EVIDENCE, params)


# ---------------------------------------------------------------------------------------------- bound
def rounding_bound(values: Any, rel_error: np.ndarray, unit_roundoff: float, t: np.ndarray,
                   eval_ops: int = 1, param_rel: float = 0.0) -> np.ndarray:
    """An absolute error bound per checkpoint for a metric of the iterate, as floats:
    |m| * (rho(t) + param_rel + (t + eval_ops) * u).

    rho(t) is the running maximum of the precision watch's per-step relative error up to checkpoint t
    (``Trajectory.max_rel_error``; for a normalized method the error of the iterate is an average of the
    per-step errors), ``t * u`` bounds the rounding accumulated by t additions W <- W - step, ``eval_ops * u``
    the metric's own evaluation (e.g. d^2 terms of a Frobenius norm), and ``param_rel`` a relative error of
    the step lengths that the watch does not see (a step parameter held in float64 inside a higher-precision
    run)."""
    rho = np.maximum.accumulate(np.asarray(rel_error, float))
    mag = np.abs(np.asarray([float(v) for v in np.ravel(values)], float))
    return mag * (rho + param_rel + (np.asarray(t, float) + eval_ops) * unit_roundoff)


def check_bound(t: np.ndarray, values: Any, bound: Any, ok: np.ndarray, t0: int = 1, *,
                error: np.ndarray | None = None, bound_error: np.ndarray | None = None) -> CheckResult:
    """metric(t) <= bound(t) at every checkpoint t >= t0, against the run's own rounding error.

    ``error`` / ``bound_error`` are absolute error bounds of the metric and of the bound curve per checkpoint
    (0 when not given). The excess metric - bound is computed in the values' own arithmetic (float64 arrays,
    or object arrays of mpmath mpf: call this inside the backend's precision context), and a checkpoint
    violates the bound only where the excess exceeds error + bound_error. An excess within that allowance is
    not a violation: the bound holds to the run's precision, and the result says so (``params``)."""
    t = np.asarray(t, float)
    sel = t >= t0
    n = len(t)
    err = np.zeros(n) if error is None else np.asarray(error, float)
    berr = np.zeros(n) if bound_error is None else np.asarray(bound_error, float)
    params: dict[str, Any] = {"rule": {"name": "bound", "violation": "excess > error + bound_error"}}
    if not sel.any():
        return CheckResult(INCONCLUSIVE, f"no checkpoint at or after t0={t0}", code=HORIZON_TOO_SHORT, params=params)
    v, b = np.asarray(values), np.asarray(bound)
    excess_exact = v - b  # in the values' own precision
    allow = err + berr
    over = np.asarray([bool(e > 0) for e in np.ravel(excess_exact)]) & sel
    beyond = np.asarray([bool(e > a) for e, a in zip(np.ravel(excess_exact), allow, strict=True)]) & sel
    excess = np.asarray([float(e) for e in np.ravel(excess_exact)])
    bf = np.asarray([float(x) for x in np.ravel(b)])
    vf = np.asarray([float(x) for x in np.ravel(v)])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bf != 0, vf / bf, np.where(vf > 0, np.inf, 1.0))
    i = int(np.argmax(np.where(sel & ~np.isnan(excess), excess - allow, -np.inf)))
    with np.errstate(invalid="ignore"):
        worst, tw = float(np.max(np.where(sel & ~np.isnan(ratio), ratio, -np.inf))), int(t[i])
    params.update({"t": int(t[i]), "excess": float(excess[i]), "error_bound": float(allow[i]),
                   "max_excess": float(np.max(np.where(sel, excess, -np.inf)))})
    fig = f"excess {excess[i]:.3g} against the error bound {allow[i]:.3g} at t={tw}"
    if beyond.any():
        if not ok[beyond].all():
            return CheckResult(INCONCLUSIVE, f"bound exceeded beyond rounding only where precision was lost ({fig})",
                               worst, tw, code=PRECISION_LOST, params=params)
        j = int(np.argmax(np.where(beyond, excess - allow, -np.inf)))
        params.update({"t": int(t[j]), "excess": float(excess[j]), "error_bound": float(allow[j])})
        return CheckResult(VIOLATED, f"metric exceeds the bound at t={int(t[j])} by {excess[j]:.4g}, beyond the "
                           f"run's error bound {allow[j]:.3g} (ratio {ratio[j]:.17g})", float(ratio[j]), int(t[j]),
                           params=params)
    if np.isnan(excess[sel]).any():  # a NaN metric or bound is never "within the bound"
        k = int(np.argmax(np.isnan(excess) & sel))
        return CheckResult(INCONCLUSIVE, f"metric or bound is NaN at t={int(t[k])}: no comparison there", worst, tw,
                           code=NON_FINITE, params=params)
    params["within_rounding"] = bool(over.any())
    note = f"; exceeded only within rounding ({fig})" if over.any() else f" (worst ratio {worst:.17g})"
    if not ok[sel].all():
        return CheckResult(HOLDS, f"bound holds; some checkpoints lost precision{note}", worst, tw, params=params)
    return CheckResult(HOLDS, f"bound holds at all {int(sel.sum())} checkpoints to the run's precision{note}", worst,
                       tw, params=params)
