"""Arb balls (python-flint) as a backend: rigorous enclosures of every iterate and metric.

Each number is an Arb ball ``[m +/- r]`` (``flint.arb``), held in numpy object arrays exactly as the mpmath
backend holds ``mpf``; numpy's C loops call the balls' ``+``, ``-``, ``*``, ``/``, so ``einsum``, ``matmul``
and ``sum`` need no Python code. Every operation returns a ball that contains the exact result of the same
operation applied to any points of its input balls, so a run of a method from exact data (float64 input data
are exact as balls) encloses the trajectory of exact real arithmetic: **the balls are proofs**, not estimates.
The working precision is ``prec`` bits (``--dps`` digits give ``mpmath.libmp.dps_to_prec(dps)`` bits, the
precision mpmath would use); it sets how fast the balls grow, never whether they are correct.

Decisions on balls (``BallNamespace``, the array namespace kernels get as ``bk.xp``):

- ``max`` and ``maximum`` are the balls' own maxima (``arb.max``): a ball that contains max(x, y) for every
  x, y in the input balls, so a maximum is rigorous even when the balls overlap;
- ``argmax`` picks by midpoints (the first of equal midpoints, as numpy does). A kernel may use it only for a
  choice that does not change the exact value (a reference element or a shift of a log-sum-exp, where every
  choice is an identity) or report whether the choice is decided (:func:`certainly_greatest`);
- comparisons ``<``, ``<=``, ``>``, ``>=`` are Arb's: True only when *every* point of the balls satisfies them,
  so ``where(x > 0, ...)`` takes the branch only when it is certain; ``isfinite`` is True for a ball with a
  finite midpoint and radius.

The precision watch (:func:`rel_width`) is the ball radius relative to the midpoint: max_k rad_k / max_k |mid_k|
over each batch entry. :func:`run_rigorous` restarts a run with more bits when a ball grows wider than a
tolerance (the bits the horizon needs, extrapolated from how fast the balls grew, and at least twice as many), up
to a cap, and says in the trajectory's notes at which precision it ran or that it gave up. Within a run the
working precision follows the balls' accuracy (:data:`GUARD_BITS` beyond the widest ball's relative width): bits
that the radii have already made meaningless are not carried, which never costs rigor (every ball still contains
the exact value at any precision), only, negligibly, width. A time budget (:func:`time_budget`) stops a run
between two steps with :class:`TimeBudgetExceeded`.
"""

from __future__ import annotations

import contextvars
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import mpmath
import numpy as np

from verify.errors import VerifyInputError

ARB_MISSING = "backend 'arb' needs the optional dependency python-flint: pip install -e '.[flint]'"


def flint_module() -> Any:
    """The ``flint`` module, or a one-line VerifyInputError when python-flint is not installed."""
    try:
        import flint
    except ImportError:
        raise VerifyInputError(ARB_MISSING) from None
    return flint


def available() -> str | None:
    """None when python-flint can be imported, else the reason (for tests that skip)."""
    try:
        import flint  # noqa: F401
    except ImportError:
        return ARB_MISSING
    return None


def dps_to_bits(dps: int) -> int:
    """The binary precision of ``dps`` decimal digits, as mpmath computes it (so "the same dps" is the same
    number of bits on both backends)."""
    return int(mpmath.libmp.dps_to_prec(int(dps)))


def _arb_type() -> Any:
    return flint_module().arb


_BALL_TYPE: list[type] = []  # flint.arb once seen (so that checking a type never imports python-flint)


def is_ball(v: Any) -> bool:
    """Whether ``v`` is an Arb ball."""
    t = type(v)
    if _BALL_TYPE and t is _BALL_TYPE[0]:
        return True
    if t.__name__ == "arb" and t.__module__.partition(".")[0] == "flint":
        _BALL_TYPE[:] = [t]
        return True
    return False


def is_ball_array(x: Any) -> bool:
    """Whether the object array ``x`` holds Arb balls: the first entry that is a ball or an mpf decides (entries
    that are Python ints, e.g. from ``where(c, balls, 0)``, are skipped)."""
    if not (isinstance(x, np.ndarray) and x.dtype == object):
        return is_ball(x)
    for v in x.flat:
        if is_ball(v):
            return True
        if isinstance(v, mpmath.mpf):
            return False
    return False


# ---------------------------------------------------------------------------------------- elementwise
def _ball(v: Any) -> Any:
    return v if is_ball(v) else _arb_type()(v)


# The elementwise functions call the ball's method directly and convert only what is not a ball (a Python int
# from ``where(c, balls, 0)``, a float): the fast path costs no type check.
def _exp(v: Any) -> Any:
    try:
        return v.exp()
    except AttributeError:
        return _ball(v).exp()


def _log(v: Any) -> Any:
    """log v; an exact 0 gives -inf (as the mpmath backend's log does); a ball that contains 0 or negative
    numbers gives Arb's indeterminate ball (nan), which the precision watch sees as non-finite."""
    b = _ball(v)
    if b.is_zero():
        return _arb_type().neg_inf()
    return b.log()


def _log1p(v: Any) -> Any:
    try:
        return v.log1p()
    except AttributeError:
        return _ball(v).log1p()


def _expm1(v: Any) -> Any:
    try:
        return v.expm1()
    except AttributeError:
        return _ball(v).expm1()


def _sqrt(v: Any) -> Any:
    try:
        return v.sqrt()
    except AttributeError:
        return _ball(v).sqrt()


def _max2(a: Any, b: Any) -> Any:
    try:
        return a.max(b)
    except AttributeError:
        return _ball(a).max(_ball(b))


def _mid(v: Any) -> Any:
    try:
        return v.mid()
    except AttributeError:
        return _ball(v).mid()


def _finite(v: Any) -> bool:
    return bool(_ball(v).is_finite())


def _ufunc(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    u = np.frompyfunc(f, 1, 1)

    def apply(x: Any) -> Any:
        out = u(x)
        return out if isinstance(out, np.ndarray) else _ball(out)

    return apply


exp = _ufunc(_exp)
log = _ufunc(_log)
log1p = _ufunc(_log1p)
expm1 = _ufunc(_expm1)
sqrt = _ufunc(_sqrt)
_MAX = np.frompyfunc(_max2, 2, 1)
_MIDS = np.frompyfunc(_mid, 1, 1)
_FINITE = np.frompyfunc(_finite, 1, 1)


def isfinite(x: Any) -> Any:
    """Elementwise: the ball's midpoint and radius are finite (a bool array, or a bool for a scalar)."""
    out = _FINITE(x)
    return np.asarray(out, dtype=bool) if isinstance(out, np.ndarray) else bool(out)


def log_expm1_exp(lx: Any) -> Any:
    """log(e^x - 1) for x = e^lx: Arb has no exponent range to leave, so the plain formula is rigorous."""
    return _ufunc(lambda v: _log(_ball(v).exp().expm1()))(lx)


def log_log1p_exp(ly: Any) -> Any:
    """log(log(1 + y)) for y = e^ly."""
    return _ufunc(lambda v: _log(_ball(v).exp().log1p()))(ly)


def _softplus(v: Any) -> Any:
    b = _ball(v)
    if b.mid() <= 0:
        return b.exp().log1p()
    return b + (-b).exp().log1p()


softplus = _ufunc(_softplus)
softplus.__doc__ = """log(1 + e^x), by one of two identities chosen by the midpoint: log1p(e^x) when mid x <= 0, else
x + log1p(e^{-x}). Both hold for every x, so the choice never costs rigor; neither takes max(x, 0) and |x| of the
same ball (whose radii would add)."""


sigmoid = _ufunc(lambda v: 1 / (1 + (-_ball(v)).exp()))
sigmoid.__doc__ = """1 / (1 + e^{-x}) as written: Arb has no exponent range to leave, so e^{-x} neither overflows nor
underflows, and the ball enters once (no branch on its sign, which a ball straddling 0 could not decide)."""


def _signed_power(v: Any, r: Any) -> Any:
    """sign(v)|v|^r for a ball v and r > 0: the function is increasing, so a ball that contains 0 (whose sign is
    undecided) maps into the union of the images of its two ends, [-|lo|^r, hi^r]; a ball of one sign is mapped
    directly (exp(r log|v|), its own rigorous width); an exact 0 gives an exact 0."""
    b = _ball(v)
    if b.is_zero():
        return b * 0
    if not b.is_finite():
        return _arb_type().nan()
    rr = _ball(r)
    if b > 0:
        return (rr * b.log()).exp()
    if b < 0:
        return -((rr * (-b).log()).exp())
    lo, hi = b.lower(), b.upper()  # exact ends (lo <= 0 <= hi)

    def end(e: Any) -> Any:
        if e.is_zero():
            return e * 0
        m = (rr * abs(e).log()).exp()
        return m if e > 0 else -m

    return end(lo).union(end(hi))


def signed_power(x: Any, r: Any) -> Any:
    """Elementwise sign(x)|x|^r on balls, r > 0 a float (taken exactly) or a ball of positive numbers; rigorous also
    for balls that contain 0 (an lp mirror map and its inverse: the sign of such a ball is undecided, and a map that
    took sign 0 for it would be wrong)."""
    rr = _ball(r)
    if not bool(rr > 0):
        raise ValueError(f"signed_power needs r > 0, got {r!r}")
    return _ufunc(lambda v: _signed_power(v, rr))(x)


def mirror_power(x: Any, p: float, inverse: bool = False) -> Any:
    """The lp mirror map sign(x)|x|^(p-1) of psi = (1/p)||x||_p^p, or its inverse sign(x)|x|^(1/(p-1)), with the
    exponent exact (p - 1 and its reciprocal as balls: 1/(p-1) in float64 is rounded)."""
    r = _ball(float(p)) - 1
    return signed_power(x, 1 / r if inverse else r)


def lp_norm(x: Any, r: float, axes: tuple[int, ...]) -> Any:
    """(sum |x|^r)^(1/r) over ``axes`` in balls, the root's exponent 1/r exact (a ball; no rescaling is needed,
    Arb has no exponent range to leave); a ball of |x| that contains 0 enters through its ends
    (:func:`signed_power`)."""
    a = _ufunc(lambda v: abs(_ball(v)))(x)
    s = np.sum(signed_power(a, r), axis=axes)
    return signed_power(s, 1 / _ball(float(r)))


def midpoints(x: Any) -> Any:
    """The exact midpoints (balls of radius 0) of the balls ``x``: a shift that is exact."""
    out = _MIDS(x)
    return out if isinstance(out, np.ndarray) else _ball(out)


def asarray(x: Any) -> np.ndarray:
    """Balls of the values ``x`` (nested lists, floats, ints, an array): float64 values become exact balls."""
    arb = _arb_type()
    if isinstance(x, (int, float)):
        return np.array(arb(x), dtype=object)
    arr = np.asarray(x)
    if arr.dtype == object:
        return np.vectorize(_ball, otypes=[object])(arr)
    if arr.dtype.kind in "iub":
        return np.vectorize(lambda v: arb(int(v)), otypes=[object])(arr)
    return np.vectorize(lambda v: arb(float(v)), otypes=[object])(arr.astype(np.float64))


# ---------------------------------------------------------------------------------------- the namespace
class BallNamespace:
    """The numpy functions kernels call, on object arrays of Arb balls (see the module docstring for the
    decisions on balls). Only what the kernels call is provided; a missing name is an AttributeError."""

    inf = math.inf

    @staticmethod
    def asarray(x: Any) -> np.ndarray:
        return asarray(x)

    @staticmethod
    def asindex(x: Any) -> np.ndarray:
        return np.asarray(x)

    @staticmethod
    def to_numpy(x: Any) -> np.ndarray:
        return np.asarray(x)

    @staticmethod
    def arange(n: int) -> np.ndarray:
        return np.arange(n)

    @staticmethod
    def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        """The balls' maximum along ``axis`` (int, tuple or None): contains the max of any choice of points."""
        x = np.asarray(x, dtype=object)
        axes = tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(sorted((a % x.ndim for a in axes), reverse=True))
        out = x
        for a in axes:
            out = _MAX.reduce(out, axis=a, keepdims=True)
        if not keepdims:
            out = np.squeeze(out, axis=axes) if axes else out
        return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out

    @staticmethod
    def maximum(x: Any, y: Any) -> Any:
        return _MAX(x, y)

    @staticmethod
    def argmax(x: Any, axis: int = -1) -> np.ndarray:
        """The index of the greatest midpoint (the first of equal ones). Midpoints are exact, so the comparison
        is exact; whether the greatest *ball* is decided is :func:`certainly_greatest`'s question."""
        return np.argmax(_MIDS(np.asarray(x, dtype=object)), axis=axis)

    @staticmethod
    def take_along_axis(x: Any, idx: Any, axis: int) -> Any:
        return np.take_along_axis(x, idx, axis=axis)

    @staticmethod
    def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def mean(x: Any, axis: Any = None) -> Any:
        return np.mean(x, axis=axis)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return np.where(cond, a, b)

    @staticmethod
    def all(x: Any) -> Any:
        return np.all(x)

    @staticmethod
    def any(x: Any) -> Any:
        return np.any(x)

    @staticmethod
    def isfinite(x: Any) -> Any:
        return isfinite(x)

    @staticmethod
    def squeeze(x: Any, axis: Any) -> Any:
        return np.squeeze(x, axis=axis)

    @staticmethod
    def einsum(spec: str, *ops: Any) -> Any:
        return np.einsum(spec, *ops)

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        return np.matmul(a, b)

    @staticmethod
    def copy(x: Any) -> Any:
        return np.copy(x)

    @staticmethod
    def ndim(x: Any) -> int:
        return int(np.ndim(x))


BALLS = BallNamespace()


@contextmanager
def working_precision(bits: int) -> Iterator[None]:
    """Arb's working precision for the block (python-flint's global context)."""
    with flint_module().ctx.workprec(int(bits)):
        yield


# ---------------------------------------------------------------------------------------- widths
def _upper_float(r: Any) -> float:
    """An exact nonnegative ball-free number (a radius, a ratio's upper end) as a float64 upper bound: rounded up
    by one ulp, and the smallest subnormal (not 0) for a positive value below float64's range."""
    if r.is_zero():
        return 0.0
    x = float(r)
    if x == 0.0:
        return math.ulp(0.0)
    return math.nextafter(x, math.inf) if math.isfinite(x) else math.inf


def _rad_float(v: Any) -> float:
    b = _ball(v)
    if not b.is_finite():
        return math.inf
    return _upper_float(b.rad())


def _log10_rad(v: Any) -> float:
    """log10 of an upper bound on the radius of ``v``: exact from the radius's mantissa and exponent, then
    raised by 1e-12 (above float64's rounding of the sum); -inf for an exact ball, inf for a non-finite one."""
    b = _ball(v)
    if not b.is_finite():
        return math.inf
    r = b.rad()
    if r.is_zero():
        return -math.inf
    man, e = r.man_exp()
    x = math.log10(int(man)) + int(e) * math.log10(2.0)
    return x + 1e-12 * max(1.0, abs(x))


_RAD = np.frompyfunc(_rad_float, 1, 1)
_LOG10_RAD = np.frompyfunc(_log10_rad, 1, 1)


def log10_radius(x: Any) -> np.ndarray:
    """log10 of upper bounds on the radii of the balls ``x`` (float64; widths far below float64's range stay
    finite): -inf for exact balls, inf for non-finite ones."""
    return np.asarray(_LOG10_RAD(np.asarray(x, dtype=object)), dtype=np.float64)


def radius(x: Any) -> np.ndarray:
    """Upper bounds (float64, rounded up) on the radii of the balls ``x``; inf for a non-finite ball."""
    return np.asarray(_RAD(np.asarray(x, dtype=object)), dtype=np.float64)


def midpoint(x: Any) -> np.ndarray:
    """The midpoints of the balls ``x`` rounded to float64 (beyond float64's range: 0 or +-inf)."""
    return np.asarray(np.vectorize(lambda v: float(_ball(v).mid()), otypes=[np.float64])(np.asarray(x, dtype=object)))


def _rad_mid(v: Any) -> tuple[float, float]:
    b = v if is_ball(v) else _ball(v)
    return float(b.rad()), abs(float(b.mid()))


_RAD_MID = np.frompyfunc(_rad_mid, 1, 2)
_SAFE = 1.0 + 2.0**-50  # float64 ratio of float64-rounded radius and midpoint, raised above their rounding


def _rel_width_row(row: Any) -> float:
    """max rad / max |mid| of a sequence of balls, as a float64 upper bound: in float64 when the radii and
    midpoints are normal numbers (the ratio raised by 2^-50, more than the three roundings), otherwise formed in
    Arb, so radii far below float64's range still give a positive bound."""
    rad, mid = _RAD_MID(row)
    rad, mid = np.asarray(rad, dtype=np.float64), np.asarray(mid, dtype=np.float64)
    r, m = float(np.max(rad)), float(np.max(mid))
    if 1e-290 < r < 1e290 and 1e-290 < m < 1e290 and np.all(np.isfinite(mid)):
        return r / m * _SAFE
    return _rel_width_exact(row)


def _rel_width_exact(row: Any) -> float:
    arb = _arb_type()
    rmax, mmax = arb(0), arb(0)
    for v in row:
        b = _ball(v)
        if not b.is_finite():
            return math.inf
        rmax = rmax.max(b.rad())
        mmax = mmax.max(abs(b.mid()))
    if rmax.is_zero():
        return 0.0
    if mmax.is_zero():
        return math.inf
    return _upper_float((rmax / mmax).upper())


def rel_width(x: Any) -> np.ndarray:
    """max rad / max |mid| over all axes but the leading batch axis, per batch entry: the relative width of a
    vector of balls (a float64 upper bound). 0 for exact balls (also exact zeros); inf for a non-finite ball or
    a ball of positive radius around an exact zero midpoint vector."""
    x = np.asarray(x, dtype=object)
    flat = x.reshape(x.shape[0], -1)
    return np.array([_rel_width_row(row) for row in flat], dtype=np.float64)


def _log2_abs(v: Any) -> float:
    """log2 |v| of an exact (ball-free) nonzero number, to within one unit: exponent plus mantissa bits."""
    man, e = v.man_exp()
    return float(int(e) + abs(int(man)).bit_length())


def log2_rel_width(x: Any) -> float:
    """About log2 of max rad / max |mid| over the balls ``x`` (all entries together), to within two units, also
    far below float64's range: -inf when every ball is exact, inf for a non-finite ball or a ball of positive
    radius around an exact zero midpoint vector. An estimate (it sets a working precision), not a bound."""
    rmax = mmax = -math.inf
    for v in np.ravel(np.asarray(x, dtype=object)):
        b = _ball(v)
        if not b.is_finite():
            return math.inf
        r, m = b.rad(), b.mid()
        if not r.is_zero():
            rmax = max(rmax, _log2_abs(r))
        if not m.is_zero():
            mmax = max(mmax, _log2_abs(m))
    if rmax == -math.inf:
        return -math.inf
    return math.inf if mmax == -math.inf else rmax - mmax


def certainly_greatest(x: Any, idx: Any) -> np.ndarray:
    """Whether the ball ``x[..., idx]`` is certainly greater than every other ball along the last axis: the
    argmax is then decided by the balls (True), not only by the midpoints (False)."""
    x = np.asarray(x, dtype=object)
    idx = np.asarray(idx)
    flat = x.reshape(-1, x.shape[-1])
    out = np.empty(flat.shape[0], dtype=bool)
    for k, (row, j) in enumerate(zip(flat, idx.reshape(-1), strict=True)):
        top = row[j]
        out[k] = all(bool(top > v) for i, v in enumerate(row) if i != j)
    return out.reshape(idx.shape)


def matvec(K: Any, v: np.ndarray) -> np.ndarray:
    """K v for a cached ``flint.arb_mat`` K (m x m) and a vector of m balls: one Arb mat-vec (C loops with
    one rounding per dot product; the ball contains the exact product)."""
    flint = flint_module()
    entries = v.tolist()
    try:
        col = flint.arb_mat(len(entries), 1, entries)
    except TypeError:
        col = flint.arb_mat(len(entries), 1, [_ball(e) for e in entries])
    out = np.empty(len(entries), dtype=object)
    out[:] = (K * col).entries()
    return out


def arb_matrix(K: np.ndarray) -> Any:
    """A ``flint.arb_mat`` of a 2-d object array of balls."""
    flint = flint_module()
    return flint.arb_mat(K.shape[0], K.shape[1], [_ball(e) for e in K.ravel()])


# ---------------------------------------------------------------------------------- precision that rises
DEFAULT_MAX_PREC = 16384
"""The cap of :func:`run_rigorous`'s restarts, in bits (about 4932 digits)."""

RAD_SUFFIX = "_log10_rad"
"""A record ``<name>_log10_rad`` holds log10 of upper bounds on the radii of the balls of record ``<name>``."""


def record_widths(obs: dict[str, np.ndarray]) -> np.ndarray:
    """The widest ball among a checkpoint's records, per batch entry: for every record ``<name>`` with a
    ``<name>_log10_rad``, the largest radius relative to the record's largest |midpoint| (per batch entry), and
    the radius itself for a record whose name starts with ``log`` (an absolute width of a logarithm is the
    relative width of the value). 0 when every ball is exact."""
    widest: np.ndarray | None = None
    for key, lr in obs.items():
        if not key.endswith(RAD_SUFFIX):
            continue
        name = key[: -len(RAD_SUFFIX)]
        mid = obs.get(name)
        if mid is None:
            continue
        lr = np.asarray(lr, dtype=np.float64)
        B = lr.shape[0]
        top = np.max(lr.reshape(B, -1), axis=1)
        if not name.startswith("log"):
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.log10(np.max(np.abs(np.asarray(mid, dtype=np.float64)).reshape(B, -1), axis=1))
                top = np.where(top == -math.inf, -math.inf, top - scale)
        with np.errstate(over="ignore"):
            w = np.where(np.isnan(top), math.inf, 10.0 ** np.minimum(top, 400.0))
        widest = w if widest is None else np.maximum(widest, w)
    return widest if widest is not None else np.zeros(0)


GUARD_BITS = 64
"""Bits carried beyond the accuracy of the widest ball when the working precision follows the balls: a step's
roundings then add about 2^-64 of the radius already there."""

MIN_BITS = 64
"""The lowest working precision a run that follows its balls goes down to."""


class TimeBudgetExceeded(Exception):
    """A rigorous run stopped because the time budget of :func:`time_budget` was spent."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"time budget exceeded ({seconds:g} s)")
        self.seconds = seconds


_DEADLINE: contextvars.ContextVar[tuple[float, float, Callable[[], float]] | None] = contextvars.ContextVar(
    "verify_arb_deadline", default=None)


@contextmanager
def time_budget(seconds: float | None, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Rigorous runs inside the block (:func:`run_rigorous`) stop with :class:`TimeBudgetExceeded` at the first
    step (or restart) once ``clock()`` is ``seconds`` or more past its value on entering; None: no budget. An inner
    budget replaces an outer one for its block. ``clock`` is injectable (tests give a budget without timing)."""
    if seconds is None:
        yield
        return
    if not (float(seconds) >= 0):
        raise VerifyInputError(f"a time budget must be a number of seconds >= 0, got {seconds!r}")
    token = _DEADLINE.set((clock() + float(seconds), float(seconds), clock))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_budget() -> None:
    """Raise :class:`TimeBudgetExceeded` when the block's time budget (:func:`time_budget`) is spent."""
    d = _DEADLINE.get()
    if d is not None and d[2]() >= d[0]:
        raise TimeBudgetExceeded(d[1])


class _TooWide(Exception):
    def __init__(self, t: int, where: str, width: float, history: list[float] | None = None) -> None:
        super().__init__(f"t={t}: {where} {width:.3g}")
        self.t, self.where, self.width, self.history = t, where, width, list(history or [])


def _state_width(state: Any, rel: np.ndarray) -> float:
    """About log2 of the widest relative width of the state's balls (:func:`log2_rel_width` per batch entry, the
    widest entry); a state that is not an array of balls is read from the step's ``rel_error``, or -inf when that
    is below float64's range (unknown)."""
    if isinstance(state, np.ndarray) and state.dtype == object and state.ndim >= 1 and is_ball_array(state):
        return max(log2_rel_width(row) for row in state.reshape(state.shape[0], -1))
    top = float(np.max(rel)) if rel.size else 0.0
    return math.log2(top) if top > 1e-300 else -math.inf


class _Watched:
    """A problem that (``watch``) raises :class:`_TooWide` as soon as a step's balls (the problem's ``rel_error``)
    or a checkpoint's records are wider than ``tol``, so that a run at too few bits stops early; that (``adapt``)
    sets the working precision after each step to :data:`GUARD_BITS` beyond the accuracy of the step's widest ball
    (at most ``bits``, at least :data:`MIN_BITS`); and that checks the time budget at every step. Everything else is
    the wrapped problem's (the trajectory runner reads its optional attributes through ``__getattr__``)."""

    def __init__(self, problem: Any, tol: float, *, watch: bool = True, bits: int = 0, adapt: bool = False) -> None:
        self._p, self._tol, self._t = problem, tol, -1
        self._watch, self._bits, self._adapt = watch, int(bits), adapt and bits > MIN_BITS
        self.lowest = int(bits)
        self.history: list[float] = []  # log2 of the state's widest relative width, step by step

    def __getattr__(self, name: str) -> Any:
        return getattr(self._p, name)

    def first_order(self, state: Any, *args: Any, **kwargs: Any) -> Any:
        check_budget()
        self._t += 1
        fo = self._p.first_order(state, *args, **kwargs)
        rel = np.asarray(fo.rel_error, dtype=np.float64)
        lw = _state_width(state, rel)
        self.history.append(lw)
        if self._watch and not np.all(rel <= self._tol):
            raise _TooWide(self._t, "relative ball width of a step", float(np.max(rel)), self.history)
        if self._adapt:
            self._follow(lw)
        return fo

    def _follow(self, lw: float) -> None:
        """The precision of the next step: the accuracy the widest ball of the state still carries (``lw``:
        :func:`_state_width`), plus the guard bits. Exact balls, balls too wide to carry a bit, or a non-finite
        width leave the precision as it is."""
        if not (-math.inf < lw < 0.0):
            return
        bits = min(self._bits, max(MIN_BITS, math.ceil(-lw) + GUARD_BITS))
        flint_module().ctx.prec = bits
        self.lowest = min(self.lowest, bits)

    def observe(self, state: Any, fo: Any) -> dict[str, np.ndarray]:
        obs = self._p.observe(state, fo)
        if self._watch:
            w = record_widths(obs)
            if w.size and not np.all(w <= self._tol):
                raise _TooWide(self._t, "relative ball width of a checkpoint record", float(np.max(w)), self.history)
        return obs


def next_bits(bits: int, e: Any, steps: int, tol: float, max_prec: int) -> tuple[int, float | None]:
    """The precision of the restart after a run at ``bits`` stopped (:class:`_TooWide` ``e``) with a ball ``e.width``
    wide (relative) at step ``e.t``: the bits lost so far (``log2 width + bits``) plus the rate at which the state's
    balls grew over the second half of the run (the rate since t = 0 when that half says nothing) times the steps
    still to go, up to at most 16 times the steps reached (an early rate is extrapolated only so far: the next
    restart measures it again), to end within ``tol`` with :data:`GUARD_BITS` to spare, raised by 5% and to a
    multiple of 64; at least twice ``bits``, at most ``max_prec``. Also the rate (None when the width is not
    finite). The estimate only saves restarts: a restart that is still too narrow restarts again."""
    want = 2 * bits
    if not (0 < e.width < math.inf):
        return min(max_prec, want), None
    t = max(int(e.t), 1)
    lost = math.log2(e.width) + bits
    rate = max(0.0, lost / t)
    h = e.history
    if len(h) > t:
        a, b = h[t // 2], h[t]
        if -math.inf < a < math.inf and -math.inf < b < math.inf and t - t // 2 > 0:
            rate = max(0.0, (b - a) / (t - t // 2))
    horizon = min(int(steps), 16 * t)
    need = max(lost, 0.0) + rate * max(horizon - t, 0) + math.log2(1 / tol) + GUARD_BITS
    want = max(want, 64 * math.ceil(1.05 * need / 64))
    return min(max_prec, want), rate


def run_rigorous(build: Callable[[Any], Any], rule: Any, steps: int, checkpoints: list[int] | None = None, *,
                 dps: int = 50, prec: int | None = None, tol: float | None = None,
                 max_prec: int = DEFAULT_MAX_PREC, adapt: bool = True) -> Any:
    """Run ``rule`` on ``build(bk)`` with Arb balls, raising the precision until every ball is narrow.

    Starts at ``prec`` bits (default: ``dps`` digits' bits). A ball wider than ``tol`` relative to its midpoint
    (the step's ``rel_error``, or a checkpoint record with a ``<name>_log10_rad``: :func:`record_widths`) stops
    the run, which restarts from the beginning with the bits :func:`next_bits` extrapolates (at least twice as
    many), when twice the bits are within ``max_prec``; otherwise the run goes to the end whatever the widths: its
    enclosures stay rigorous (every ball contains the exact value), the steps and checkpoints with wider balls get
    ``precision_ok = False``, and the notes say that it gave up. With ``adapt`` (default) the working precision
    follows the balls' accuracy within the run (:class:`_Watched`; rigor is unaffected). The notes always say at
    how many bits the returned trajectory started (also ``trajectory.dps``), how low it went, and why it
    restarted. Inside :func:`time_budget` a spent budget raises :class:`TimeBudgetExceeded`.
    """
    from verify.backends import arb_backend
    from verify.trajectory import DEFAULT_TOL, run

    tol = DEFAULT_TOL if tol is None else float(tol)
    if not (tol > 0):
        raise VerifyInputError(f"the ball-width tolerance must be positive, got {tol!r}")
    bits = arb_backend(dps).prec if prec is None else int(prec)
    if max_prec < bits:
        raise VerifyInputError(f"the precision cap ({max_prec} bits) is below the starting precision ({bits} bits)")
    notes: list[str] = []
    while True:
        check_budget()
        bk = arb_backend(dps, prec=bits)
        problem = build(bk)
        at_cap = 2 * bits > max_prec
        watched = _Watched(problem, tol, watch=not at_cap, bits=bits, adapt=adapt)
        try:
            tr = run(watched, rule, steps, checkpoints, tol)
        except _TooWide as e:
            nb, rate = next_bits(bits, e, steps, tol, max_prec)
            grew = f" (the balls grew by {rate:.3g} bits a step)" if rate is not None else ""
            notes.append(f"arb: {e.where} reached {e.width:.3g} > {tol:g} at t={e.t} with {bits} bits; "
                         f"restarted at {nb} bits{grew}")
            bits = nb
            continue
        wide = _checkpoint_widths(tr)
        width = np.maximum(tr.max_rel_error, wide) if wide.size else tr.max_rel_error
        narrow = width <= tol  # (len(t), B); NaN counts as too wide
        tr.precision_ok &= narrow
        too_wide = ~narrow.all(axis=1)
        followed = (f"; the working precision followed the balls down to {watched.lowest} bits"
                    if watched.lowest < bits else "")
        if not too_wide.any():
            notes.append(f"arb: every ball within {tol:g} relative width at {bits} bits{followed}")
        else:
            first = tr.t[int(np.argmax(too_wide))]
            notes.append(f"arb: gave up: balls wider than {tol:g} relative from t={first} on, at {bits} bits, the "
                         f"cap{followed}; the enclosures stay rigorous but too wide there (precision_ok False)")
        tr.notes[:0] = notes
        return tr


def _checkpoint_widths(tr: Any) -> np.ndarray:
    """(len(t), B) widest relative ball of each checkpoint's records (empty when no record has radii)."""
    keys = [k for k in tr.records if k.endswith(RAD_SUFFIX)]
    if not keys:
        return np.zeros(0)
    rows = []
    for i in range(len(tr.t)):
        obs = {}
        for k in keys:
            name = k[: -len(RAD_SUFFIX)]
            if name in tr.records:
                obs[k], obs[name] = tr.records[k][i], tr.records[name][i]
        rows.append(record_widths(obs))
    return np.stack(rows)
