"""Exact arithmetic for certificates (names no model): dyadic integers, integer matrices, root enclosures.

Every float64 and every mpmath number is a dyadic rational ``m 2^e``, so data and solver output can be checked
with integers and no rounding at all:

- :func:`dyadic_ints` turns an array of floats / mpf into Python integers with one common exponent, exactly;
- :func:`int_matmul` multiplies integer matrices (python-flint's ``fmpz_mat`` when the optional extra ``flint`` is
  installed, else Python integers in numpy object arrays; the result is the same integer matrix either way);
- :func:`iroot`, :func:`root_bounds`, :func:`pow_bounds` enclose ``x^(1/n)`` and ``x^p`` (rational ``x >= 0``,
  rational ``p > 0``) between two rationals: integer roots for a small denominator of ``p``, Arb balls
  (python-flint) otherwise;
- :func:`decimal_down`, :func:`decimal_up` round a rational outward to a decimal string.

Nothing here is approximate: every function either returns exact rationals (bounds that provably enclose the
true value) or raises :class:`ExactUnavailable`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import numpy as np

#: Integer products with at least this many multiply-adds go to python-flint's fmpz_mat when it is installed.
_FLINT_MIN_OPS = 4096
#: Integer roots are used for x^(a/b) when b is at most this (x^a has a times the bits of x).
MAX_ROOT_DEGREE = 64
MAX_ROOT_NUMERATOR = 256


class ExactUnavailable(Exception):
    """An exact enclosure needs something that is not available (python-flint for a general exponent)."""


def has_flint() -> bool:
    try:
        import flint  # noqa: F401
    except ImportError:
        return False
    return True


def to_fraction(v: Any) -> Fraction:
    """The exact rational value of an int, float, Fraction or mpmath mpf (no rounding; inf/NaN raise)."""
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    if hasattr(v, "_mpf_"):  # mpmath.mpf
        man, exp = _man_exp(v)
        return Fraction(man) * Fraction(2) ** exp
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"not a finite number: {v!r}")
    return Fraction(f)


def _man_exp(v: Any) -> tuple[int, int]:
    if hasattr(v, "_mpf_"):  # mpmath.mpf: (sign, unsigned mantissa, exponent, bit count); man_exp drops the sign
        sign, man, exp, _bc = v._mpf_
        if not man and v != 0:
            raise ValueError(f"not a finite number: {v!r}")
        return (-int(man) if sign else int(man)), int(exp)
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"not a finite number: {v!r}")
    n, d = f.as_integer_ratio()
    return n, -(d.bit_length() - 1)  # d is a power of two


def dyadic_ints(values: Any) -> tuple[np.ndarray, int]:
    """``(M, e)`` with ``values == M * 2^e`` exactly: ``M`` an object array of Python ints of ``values``' shape.

    ``values``: an array (or nested list) of float64 numbers or mpmath mpf. ``e`` is the smallest exponent among
    the nonzero entries (0 when all are zero)."""
    arr = np.asarray(values, dtype=object)
    pairs = [_man_exp(v) for v in arr.ravel()]
    exps = [e for m, e in pairs if m]
    e0 = min(exps) if exps else 0
    out = np.empty(arr.shape, dtype=object)
    out.ravel()[:] = [m << (e - e0) if m else 0 for m, e in pairs]  # ravel of a fresh array is a view
    return out, e0


def int_array(values: Iterable[int], shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    out.ravel()[:] = [int(v) for v in values]
    return out


def int_matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` for 2-d object arrays of Python ints, exactly (fmpz_mat for large products when available)."""
    r, k = A.shape
    k2, c = B.shape
    if k != k2:
        raise ValueError(f"shapes {A.shape} and {B.shape} do not align")
    if r == 0 or c == 0 or k == 0:
        return int_array([0] * (r * c), (r, c))
    if r * k * c >= _FLINT_MIN_OPS and has_flint():
        import flint

        P = flint.fmpz_mat(r, k, [int(v) for v in A.ravel()]) * flint.fmpz_mat(k, c, [int(v) for v in B.ravel()])
        return int_array((int(v) for v in P.entries()), (r, c))
    out = A.dot(B)
    return np.asarray(out, dtype=object).reshape(r, c)


def iroot(n: int, k: int) -> int:
    """``floor(n^(1/k))`` for an integer ``n >= 0`` and ``k >= 1`` (integer Newton iteration, exact)."""
    if n < 0 or k < 1:
        raise ValueError("iroot needs n >= 0 and k >= 1")
    if n < 2 or k == 1:
        return n
    if k == 2:
        return math.isqrt(n)
    x = 1 << -(-n.bit_length() // k)  # >= n^(1/k)
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            break
        x = y
    while x**k > n:  # defensive: Newton from above lands on the floor, these loops do not run
        x -= 1
    while (x + 1) ** k <= n:
        x += 1
    return x


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def root_bounds(x: Fraction, n: int, bits: int = 200) -> tuple[Fraction, Fraction]:
    """``lo <= x^(1/n) <= hi`` for rational ``x >= 0``, with ``hi - lo <= 2^(1-bits) x^(1/n)`` (relative)."""
    x = Fraction(x)
    if x < 0:
        raise ValueError("root_bounds needs x >= 0")
    if x == 0:
        return Fraction(0), Fraction(0)
    log2 = x.numerator.bit_length() - x.denominator.bit_length()  # within 1 of log2(x)
    K = bits - log2 // n + 2  # 2^K x^(1/n) >= 2^bits
    scaled = x * Fraction(2) ** (n * K)
    lo_int = iroot(_floor(scaled), n)
    c = _ceil(scaled)
    hi_int = iroot(c, n)
    if hi_int**n < c:
        hi_int += 1
    s = Fraction(2) ** K
    return Fraction(lo_int) / s, Fraction(hi_int) / s


def sqrt_bounds(x: Fraction, bits: int = 200) -> tuple[Fraction, Fraction]:
    return root_bounds(x, 2, bits)


def pow_bounds(x: Fraction, p: Fraction, bits: int = 200) -> tuple[Fraction, Fraction]:
    """``lo <= x^p <= hi`` for rational ``x >= 0`` and rational ``p > 0``, relative width about ``2^-bits``.

    ``p = a/b`` with ``b <= MAX_ROOT_DEGREE`` and ``a <= MAX_ROOT_NUMERATOR``: ``(x^a)^(1/b)`` by integer roots
    (no dependency). Any other ``p`` (a float such as 1.1 is a/2^52): Arb balls (python-flint), else
    :class:`ExactUnavailable`."""
    x, p = Fraction(x), Fraction(p)
    if x < 0 or p <= 0:
        raise ValueError("pow_bounds needs x >= 0 and p > 0")
    if x == 0:
        return Fraction(0), Fraction(0)
    if integer_roots(p):
        return root_bounds(x**p.numerator, p.denominator, bits)
    return arb_pow_bounds(x, p, bits)


def integer_roots(p: Fraction) -> bool:
    """Whether :func:`pow_bounds` encloses ``x^p`` by integer roots (small numerator and denominator)."""
    p = Fraction(p)
    return p.denominator <= MAX_ROOT_DEGREE and abs(p.numerator) <= MAX_ROOT_NUMERATOR


def arb_pow_bounds(x: Fraction, p: Fraction, bits: int = 200) -> tuple[Fraction, Fraction]:
    """``x^p`` enclosed by an Arb ball at ``bits + 32`` bits (python-flint), its endpoints as exact rationals."""
    if not has_flint():
        raise ExactUnavailable(f"x^p for p = {p} (denominator {Fraction(p).denominator}) needs Arb balls: install "
                               "the optional extra 'flint' (python-flint)")
    import flint

    old = flint.ctx.prec
    try:
        flint.ctx.prec = bits + 32
        ball = flint.arb(flint.fmpq(x.numerator, x.denominator)) ** flint.arb(flint.fmpq(p.numerator, p.denominator))
        if not ball.is_finite():
            raise ExactUnavailable(f"Arb could not enclose x^p for p = {p}")
        lo, hi = ball.lower(), ball.upper()
        out = []
        for v in (lo, hi):
            man, exp = v.man_exp()
            out.append(Fraction(int(man)) * Fraction(2) ** int(exp))
    finally:
        flint.ctx.prec = old
    return max(out[0], Fraction(0)), out[1]


def _digits(x: Fraction, sig: int, up: bool) -> tuple[int, int]:
    """``(N, e)`` with ``N`` an integer of ``sig`` digits (or ``sig + 1`` after a carry) and ``N 10^e`` the
    rounding of ``x > 0`` down (``up`` False) or up."""
    e10 = len(str(_floor(x))) - 1 if x >= 1 else -len(str(_floor(1 / x)))  # within 1 of floor(log10 x)
    while Fraction(10) ** e10 > x:
        e10 -= 1
    while Fraction(10) ** (e10 + 1) <= x:
        e10 += 1
    shift = sig - 1 - e10
    scaled = x * Fraction(10) ** shift
    return (_ceil(scaled) if up else _floor(scaled)), -shift


def _fmt(N: int, e: int) -> str:
    s = str(N)
    point = len(s) + e  # digits before the decimal point
    if -6 <= point - 1 <= 20:
        if point <= 0:
            body = "0." + "0" * (-point) + s
        elif point >= len(s):
            body = s + "0" * (point - len(s))
        else:
            body = s[:point] + "." + s[point:]
        if "." in body:
            body = body.rstrip("0").rstrip(".")
        return body
    mant = s[0] + ("." + s[1:].rstrip("0") if s[1:].rstrip("0") else "")
    return f"{mant}e{point - 1:+d}"


def decimal_round(x: Fraction, sig: int, up: bool) -> str:
    """``x`` rounded to ``sig`` significant decimal digits towards +inf (``up``) or -inf, as a string."""
    x = Fraction(x)
    if sig < 1:
        raise ValueError("sig must be >= 1")
    if x == 0:
        return "0"
    if x < 0:
        N, e = _digits(-x, sig, not up)
        return "-" + _fmt(N, e)
    N, e = _digits(x, sig, up)
    return _fmt(N, e)


def decimal_down(x: Fraction, sig: int = 30) -> str:
    """The largest ``sig``-digit decimal ``<= x``."""
    return decimal_round(x, sig, up=False)


def decimal_up(x: Fraction, sig: int = 30) -> str:
    """The smallest ``sig``-digit decimal ``>= x``."""
    return decimal_round(x, sig, up=True)


def _rref(M: list[list[Fraction]]) -> tuple[list[list[Fraction]], list[int]]:
    """Reduced row echelon form (Fractions, exact) and the pivot columns."""
    A = [row[:] for row in M]
    rows, cols = len(A), len(A[0]) if A else 0
    pivots: list[int] = []
    r = 0
    for c in range(cols):
        piv = next((i for i in range(r, rows) if A[i][c] != 0), None)
        if piv is None:
            continue
        A[r], A[piv] = A[piv], A[r]
        inv = 1 / A[r][c]
        A[r] = [v * inv for v in A[r]]
        for i in range(rows):
            if i != r and A[i][c] != 0:
                f = A[i][c]
                A[i] = [a - f * b for a, b in zip(A[i], A[r], strict=True)]
        pivots.append(c)
        r += 1
        if r == rows:
            break
    return A, pivots


def solve_rational(G: np.ndarray, b: list[Any]) -> list[Fraction] | None:
    """The exact solution ``x`` of ``G x = b`` (``G`` a square object array of ints, ``b`` ints or Fractions), or
    None when ``G`` is singular. python-flint's fmpq_mat when installed, else Gauss-Jordan on Fractions."""
    s = G.shape[0]
    if s == 0:
        return []
    bf = [Fraction(v) for v in b]
    if has_flint():
        import flint

        Gq = flint.fmpq_mat(s, s, [flint.fmpq(int(v)) for v in G.ravel()])
        bq = flint.fmpq_mat(s, 1, [flint.fmpq(v.numerator, v.denominator) for v in bf])
        try:
            x = Gq.solve(bq)
        except ZeroDivisionError:
            return None
        return [Fraction(int(v.p), int(v.q)) for v in x.entries()]
    A, piv = _rref([[Fraction(int(G[i, j])) for j in range(s)] + [bf[i]] for i in range(s)])
    if piv != list(range(s)):
        return None
    return [A[i][s] for i in range(s)]


def nullspace_ints(G: np.ndarray) -> list[list[int]]:
    """A basis of the rational null space of an integer matrix, each vector scaled to integers (exact)."""
    r, c = G.shape
    if c == 0:
        return []
    if has_flint():
        import flint

        N, k = flint.fmpz_mat(r, c, [int(v) for v in G.ravel()]).nullspace()
        return [[int(N[i, j]) for i in range(c)] for j in range(k)]
    A, piv = _rref([[Fraction(int(G[i, j])) for j in range(c)] for i in range(r)])
    basis = []
    for f in (j for j in range(c) if j not in piv):
        v = [Fraction(0)] * c
        v[f] = Fraction(1)
        for row, p in zip(A, piv, strict=False):
            v[p] = -row[f]
        den = math.lcm(*(x.denominator for x in v))
        basis.append([int(x * den) for x in v])
    return basis


def common_denominator(values: list[Fraction]) -> tuple[list[int], int]:
    """``(N, D)`` with ``values[k] == N[k] / D`` and ``D`` the lcm of the denominators."""
    D = math.lcm(*(v.denominator for v in values)) if values else 1
    return [int(v * D) for v in values], D
