"""verify.stat_checks' intervals are scipy's ``binomtest(k, n).proportion_ci``; they agree with the hand-written
formulas they replaced (kept here as the reference) to 1e-12 on a grid of (k, n) and confidence levels."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from verify.stat_checks import check_probability, clopper_pearson, wilson

GRID = [(k, n) for n in [*range(1, 41), 57, 100, 250, 1000] for k in sorted({0, 1, 2, n // 3, n // 2, n - 1, n})
        if 0 <= k <= n]
LEVELS = (0.8, 0.9, 0.95, 0.99, 0.999)


def _old_clopper_pearson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """The replaced implementation: Beta quantiles."""
    from scipy.stats import beta

    a = 1.0 - confidence
    lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def _old_wilson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """The replaced implementation: the score interval by its formula."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


@pytest.mark.parametrize(("new", "old"), [(clopper_pearson, _old_clopper_pearson), (wilson, _old_wilson)],
                         ids=["clopper-pearson", "wilson"])
def test_scipy_intervals_agree_with_the_old_formulas(new, old) -> None:  # type: ignore[no-untyped-def]
    worst = max(abs(a - b) for k, n in GRID for c in LEVELS for a, b in zip(new(k, n, c), old(k, n, c), strict=True))
    assert worst <= 1e-12, worst


def test_interval_edges_and_bad_arguments() -> None:
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0
    lo, hi = clopper_pearson(5, 10)
    assert lo < 0.5 < hi
    for args in ((11, 10), (-1, 10), (0, 0)):
        with pytest.raises(ValueError, match="successes <= trials"):
            clopper_pearson(*args)
    with pytest.raises(ValueError, match="confidence"):
        wilson(1, 2, 1.0)


def test_check_probability_reports_both_intervals() -> None:
    r = check_probability(95, 100, delta=0.2)
    assert r.verdict == "holds" and r.interval == clopper_pearson(95, 100)
    assert r.detail["wilson"] == wilson(95, 100)
