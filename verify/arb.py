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
over each batch entry. :func:`run_rigorous` restarts a run at twice the bits when a ball grows wider than a
tolerance, up to a cap, and says in the trajectory's notes at which precision it ran or that it gave up.
"""

from __future__ import annotations

import math
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
"""The cap of :func:`run_rigorous`'s doubling, in bits (about 4932 digits)."""

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


class _TooWide(Exception):
    def __init__(self, t: int, where: str, width: float) -> None:
        super().__init__(f"t={t}: {where} {width:.3g}")
        self.t, self.where, self.width = t, where, width


class _Watched:
    """A problem that raises :class:`_TooWide` as soon as a step's balls (the problem's ``rel_error``) or a
    checkpoint's records are wider than ``tol``, so that a run at too few bits stops early. Everything else is
    the wrapped problem's (the trajectory runner reads its optional attributes through ``__getattr__``)."""

    def __init__(self, problem: Any, tol: float) -> None:
        self._p, self._tol, self._t = problem, tol, -1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._p, name)

    def first_order(self, state: Any, *args: Any, **kwargs: Any) -> Any:
        self._t += 1
        fo = self._p.first_order(state, *args, **kwargs)
        rel = np.asarray(fo.rel_error, dtype=np.float64)
        if not np.all(rel <= self._tol):
            raise _TooWide(self._t, "relative ball width of a step", float(np.max(rel)))
        return fo

    def observe(self, state: Any, fo: Any) -> dict[str, np.ndarray]:
        obs = self._p.observe(state, fo)
        w = record_widths(obs)
        if w.size and not np.all(w <= self._tol):
            raise _TooWide(self._t, "relative ball width of a checkpoint record", float(np.max(w)))
        return obs


def run_rigorous(build: Callable[[Any], Any], rule: Any, steps: int, checkpoints: list[int] | None = None, *,
                 dps: int = 50, prec: int | None = None, tol: float | None = None,
                 max_prec: int = DEFAULT_MAX_PREC) -> Any:
    """Run ``rule`` on ``build(bk)`` with Arb balls, raising the precision until every ball is narrow.

    Starts at ``prec`` bits (default: ``dps`` digits' bits). A ball wider than ``tol`` relative to its midpoint
    (the step's ``rel_error``, or a checkpoint record with a ``<name>_log10_rad``: :func:`record_widths`) stops
    the run, which restarts from the beginning at twice the bits, up to ``max_prec``. The run at the cap goes to
    the end whatever the widths: its enclosures stay rigorous (every ball contains the exact value), the steps
    and checkpoints with wider balls get ``precision_ok = False``, and the notes say that it gave up. The notes
    always say at how many bits the returned trajectory ran (also ``trajectory.dps``) and why it restarted.
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
        bk = arb_backend(dps, prec=bits)
        problem = build(bk)
        at_cap = 2 * bits > max_prec
        if not at_cap:
            try:
                tr = run(_Watched(problem, tol), rule, steps, checkpoints, tol)
            except _TooWide as e:
                notes.append(f"arb: {e.where} reached {e.width:.3g} > {tol:g} at t={e.t} with {bits} bits; "
                             f"restarted at {2 * bits} bits")
                bits *= 2
                continue
        else:
            tr = run(problem, rule, steps, checkpoints, tol)
        wide = _checkpoint_widths(tr)
        width = np.maximum(tr.max_rel_error, wide) if wide.size else tr.max_rel_error
        narrow = width <= tol  # (len(t), B); NaN counts as too wide
        tr.precision_ok &= narrow
        too_wide = ~narrow.all(axis=1)
        if not too_wide.any():
            notes.append(f"arb: every ball within {tol:g} relative width at {bits} bits")
        else:
            first = tr.t[int(np.argmax(too_wide))]
            notes.append(f"arb: gave up: balls wider than {tol:g} relative from t={first} on, at {bits} bits, the "
                         f"cap; the enclosures stay rigorous but too wide there (precision_ok False)")
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
