"""Checkers for the claim kinds ``probability``, ``comparison`` and ``identity`` (docs/catalogue.md, "Claim kinds").

Pure functions of counts and numbers; no paper knowledge. Each returns a :class:`StatResult`, which carries
the fields of :class:`verify.checks.CheckResult` (verdict, reason, worst_ratio, ...) plus the interval or the
per-instance data the verdict rests on.

- probability: an event holds with probability >= 1 - delta. With a two-sided Clopper-Pearson interval
  [lo, hi] at the given confidence: holds if lo >= 1 - delta, violated if hi < 1 - delta,
  inconclusive otherwise. The intervals (Clopper-Pearson, and Wilson's alongside it) are scipy's
  ``binomtest(k, n).proportion_ci`` (methods ``"exact"`` and ``"wilson"``).
- comparison: method A reaches a target level in fewer steps than B on each instance; the claim may ask only
  for a fraction of the instances. A run that never reaches the target counts as +inf steps.
- identity: lhs == rhs elementwise within |lhs - rhs| <= atol + rtol |rhs|.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from verify.checks import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult
from verify.verdicts import INSUFFICIENT_DATA, NON_FINITE


def finite_floats(xs: Iterable[object]) -> list[float]:
    """The entries of ``xs`` that are finite numbers, as floats (None, strings, NaN and inf left out)."""
    out = []
    for x in xs:
        try:
            v = float(x)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            out.append(v)
    return out

@dataclass(frozen=True)
class StatResult(CheckResult):
    """A :class:`CheckResult` plus the interval, estimate and per-instance data the verdict rests on."""

    interval: tuple[float, float] | None = None
    estimate: float | None = None
    detail: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- probability
def _proportion_ci(successes: int, trials: int, confidence: float, method: str) -> tuple[float, float]:
    """``scipy.stats.binomtest(k, n).proportion_ci`` (scipy comes with cvxpy; imported here, when first needed)."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1; got {successes}/{trials}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method=method)
    return float(ci.low), float(ci.high)


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial interval for the success probability (Clopper-Pearson: scipy's ``"exact"``)."""
    return _proportion_ci(successes, trials, confidence, "exact")


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval without continuity correction (approximate; reported alongside Clopper-Pearson)."""
    return _proportion_ci(successes, trials, confidence, "wilson")


def check_probability(
    successes: int,
    trials: int,
    *,
    claimed_p: float | None = None,
    delta: float | None = None,
    confidence: float = 0.95,
) -> StatResult:
    """P(event) >= claimed_p (or >= 1 - delta), judged with a Clopper-Pearson interval."""
    if (claimed_p is None) == (delta is None):
        raise ValueError("give exactly one of claimed_p and delta")
    p0 = float(claimed_p) if claimed_p is not None else 1.0 - float(delta)  # type: ignore[arg-type]
    if not 0 <= p0 <= 1:
        raise ValueError(f"claimed probability must be in [0, 1]; got {p0}")
    lo, hi = clopper_pearson(successes, trials, confidence)
    est = successes / trials
    ratio = (1 - est) / (1 - p0) if p0 < 1 else (math.inf if est < 1 else 0.0)
    detail = {
        "successes": successes,
        "trials": trials,
        "claimed_p": p0,
        "confidence": confidence,
        "wilson": wilson(successes, trials, confidence),
    }
    tag = f"{successes}/{trials} = {est:.3g}, {confidence:.0%} Clopper-Pearson [{lo:.3g}, {hi:.3g}]"
    if lo >= p0:
        return StatResult(
            HOLDS, f"P(event) >= {p0:.3g}: {tag}", ratio, None, interval=(lo, hi), estimate=est, detail=detail
        )
    if hi < p0:
        return StatResult(
            VIOLATED,
            f"P(event) < {p0:.3g}: {tag}",
            ratio,
            None,
            interval=(lo, hi),
            estimate=est,
            detail=detail,
        )
    return StatResult(
        INCONCLUSIVE,
        f"interval straddles {p0:.3g}: {tag}; more trials needed",
        ratio,
        None,
        code=INSUFFICIENT_DATA,
        interval=(lo, hi),
        estimate=est,
        detail=detail,
    )


# ---------------------------------------------------------------------------------------------- comparison
def steps_to_reach(t: Sequence[float], values: Sequence[float], target: float) -> float:
    """First checkpoint t with value <= target (inf when never reached)."""
    for ti, v in zip(t, values, strict=True):
        if math.isfinite(v) and v <= target:
            return float(ti)
    return math.inf


def check_comparison(
    steps_a: Sequence[float],
    steps_b: Sequence[float],
    *,
    fraction: float = 1.0,
    strict: bool = True,
    labels: tuple[str, str] = ("A", "B"),
) -> StatResult:
    """Method A reaches the target in fewer steps than B on at least ``fraction`` of the paired instances.

    ``steps_*[k]`` is the step count of each method on instance k (inf: never reached). A pair where neither
    reaches the target is a tie and counts against A. ``worst_ratio`` is max_k steps_a/steps_b.
    """
    a, b = np.asarray(steps_a, dtype=float), np.asarray(steps_b, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError("steps_a and steps_b must be non-empty and paired")
    wins = (a < b) if strict else (a <= b)
    wins &= np.isfinite(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(
            np.isfinite(a) & np.isfinite(b), a / np.maximum(b, 1.0), np.where(np.isfinite(a), 0.0, np.inf)
        )
    k = int(np.argmax(ratios))
    won = int(wins.sum())
    need = math.ceil(fraction * a.size - 1e-12)
    la, lb = labels
    detail = {
        "steps_a": a.tolist(),
        "steps_b": b.tolist(),
        "wins": won,
        "pairs": int(a.size),
        "fraction": fraction,
    }
    msg = f"{la} beat {lb} on {won}/{a.size} instances (needed {need}); worst steps ratio {ratios[k]:.3g}"
    verdict = HOLDS if won >= need else VIOLATED
    return StatResult(verdict, msg, float(ratios[k]), k, estimate=won / a.size, detail=detail)


# ---------------------------------------------------------------------------------------------- identity
def check_identity(lhs: object, rhs: object, *, rtol: float = 0.0, atol: float = 0.0) -> StatResult:
    """Elementwise |lhs - rhs| <= atol + rtol |rhs|; worst_ratio is the largest error over its tolerance."""
    a, b = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    if a.shape != b.shape:
        return StatResult(VIOLATED, f"shapes differ: {a.shape} vs {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return StatResult(INCONCLUSIVE, "non-finite values: numerically unreliable", code=NON_FINITE)
    err = np.abs(a - b)
    tol = atol + rtol * np.abs(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tol > 0, err / np.where(tol > 0, tol, 1.0), np.where(err > 0, np.inf, 0.0))
    k = int(np.argmax(ratio)) if ratio.size else 0
    worst = float(ratio.flat[k]) if ratio.size else 0.0
    detail = {"max_abs_error": float(err.max()) if err.size else 0.0}
    if worst <= 1:
        return StatResult(
            HOLDS,
            f"identity holds within tolerance (worst error/tolerance {worst:.3g})",
            worst,
            k,
            detail=detail,
        )
    return StatResult(
        VIOLATED,
        f"identity fails: error {float(err.flat[k]):.3g} exceeds tolerance "
        f"{float(tol.flat[k]):.3g} (ratio {worst:.3g})",
        worst,
        k,
        detail=detail,
    )
