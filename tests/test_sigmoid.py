"""Backend.sigmoid, the one transcendental behind the kernel's l'(gbar) = -sigmoid(-gbar).

sigmoid(x) = 1 / (1 + e^{-x}) is evaluated from z = e^{-|x|} as 1 / (1 + z) (x >= 0) or z / (1 + z) (x < 0), so it
neither overflows nor loses relative accuracy in the tail where the result is e^{x}. The reference is mpmath at 40
digits. Each float backend must be within 4 units of roundoff u = 2^-53 of it wherever the result is a normal
float64 (z: within 1 ulp, 2u, from a libm exp, and its error passes to z / (1 + z) with a factor 1 / (1 + z) <= 1;
1 + z and the quotient: u each; measured: at most 2.7u with numpy), and within the smallest subnormal of it below
(jax on CPU: or 0 there, since XLA flushes subnormals).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from verify import arb
from verify.backends import arb_backend, get_backend

EPS = 2.0**-53
TINY = 2.0**-1074
POINTS = np.array([0.0, -0.0, 1e-300, -1e-300, 1e-8, -1e-8, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 17.0, -17.0, 36.7,
                   -36.7, 40.0, -40.0, 700.0, -700.0, 708.5, -708.5, 740.0, -740.0, 800.0, -800.0, 1e308, -1e308,
                   math.inf, -math.inf])


def reference(x: float, dps: int = 40) -> mpmath.mpf:
    with mpmath.workdps(dps):
        return 1 / (1 + mpmath.exp(-mpmath.mpf(x)))


def errors(got: np.ndarray, xs: np.ndarray) -> list[tuple[float, float, mpmath.mpf, mpmath.mpf]]:
    """(x, value, reference, absolute error) per point."""
    out = []
    for x, v in zip(xs, got, strict=True):
        ref = reference(float(x))
        out.append((float(x), float(v), ref, abs(mpmath.mpf(float(v)) - ref)))
    return out


def assert_accurate(got: np.ndarray, xs: np.ndarray, flushes_subnormals: bool = False) -> None:
    for x, v, ref, err in errors(got, xs):
        if ref >= 2.0**-1022:
            assert err <= 4 * EPS * ref, (x, v, float(err / ref) / EPS)
        else:  # XLA on CPU flushes subnormal results to zero
            assert err <= TINY or (flushes_subnormals and v == 0), (x, v)


@pytest.mark.parametrize("name", ["numpy", "torch", "jax"])
def test_float_sigmoid_is_within_four_units_of_roundoff_everywhere(name: str) -> None:
    if name != "numpy":
        pytest.importorskip(name)
    bk = get_backend(name)
    assert_accurate(bk.to_float(bk.sigmoid(bk.asarray(POINTS))), POINTS, flushes_subnormals=name == "jax")


def test_float_sigmoid_is_more_accurate_than_the_softplus_form_it_replaced() -> None:
    """The form before, e^{-softplus(-x)}, rounds three transcendentals, and the exponential turns the rounding of
    softplus(-x), an absolute error of about |x| u for -37 < x < 0, into a relative one (below -37, softplus(-x) =
    -x exactly), so there it is tens of u off. The check can fail: it asserts the old form is measurably worse
    there, then that the new one is not."""
    bk = get_backend("numpy")
    xs = np.linspace(-36.0, -2.0, 341)
    old = np.exp(-bk.softplus(-xs))
    new = bk.sigmoid(xs)
    worst_old = max(err / ref for _, _, ref, err in errors(old, xs))
    assert worst_old > 20 * EPS  # measured: 31u
    assert_accurate(new, xs)


def test_mpmath_sigmoid_carries_the_working_precision() -> None:
    bk = get_backend("mpmath", 50)
    with bk.context():
        got = bk.sigmoid(bk.asarray(np.array([-1000.0, -3.0, 0.0, 3.0, 1000.0])))
        for v, x in zip(got, (-1000, -3, 0, 3, 1000), strict=True):
            ref = reference(x, 70)
            with mpmath.workdps(70):
                assert abs(v - ref) <= mpmath.mpf(10) ** -48 * ref, x


@pytest.mark.skipif(arb.available() is not None, reason=str(arb.available()))
def test_arb_sigmoid_encloses_the_value_and_decides_no_sign() -> None:
    import flint

    bk = arb_backend(60)
    with bk.context():
        for x in (-1000.0, -30.0, -1e-8, 0.0, 2.5, 1000.0):
            ball = bk.sigmoid(bk.asarray(x))
            # the reference, 78 digits as a decimal (its error far below the ball's radius)
            ref = flint.arb(mpmath.nstr(reference(x, 80), 78))
            assert ball.contains(ref), x
            assert float(arb.rel_width(np.array([[ball]], dtype=object))[0]) < 1e-55, x  # e^-1000 to 55 digits
        straddling = bk.sigmoid(np.array([flint.arb(0, 0.1)], dtype=object))[0]  # [-0.1, 0.1]: no sign to branch on
        for end in (-0.1, 0.1):
            assert straddling.contains(1 / (1 + flint.arb(-end).exp())), end
