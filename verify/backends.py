"""Array backends: one kernel, several precisions.

A :class:`Backend` bundles the handful of elementwise functions a kernel needs. Kernels are written once against
numpy's array API (indexing, ``sum``, ``max``, ``argmax``, ``matmul``, ``einsum``, ``where``) and call the special
functions through the backend, so the *same* code runs

- ``numpy``: float64 arrays, the batched reference fast path;
- ``mpmath``: numpy object arrays of ``mpmath.mpf`` at a user-chosen number of digits, the oracle. numpy's
  C loops call mpf's arithmetic directly, so there is no per-element Python bytecode in matmuls and sums.

Each backend knows its unit roundoff ``eps``; kernels use it to bound their own rounding error and report
lost precision instead of returning silent garbage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

from verify.errors import VerifyInputError

Array = Any  # a float64 ndarray or an object ndarray of mpf


@dataclass(frozen=True)
class Backend:
    """Elementwise special functions plus precision metadata for one number system.

    Attributes:
        name: ``"numpy"`` or ``"mpmath"``.
        eps: unit roundoff u (2^-53 for float64, 10^-dps for mpmath).
        dps: decimal digits carried (15 for float64).
    """

    name: str
    eps: float
    dps: int
    exp: Callable[[Array], Array]
    log: Callable[[Array], Array]
    log1p: Callable[[Array], Array]
    expm1: Callable[[Array], Array]
    sqrt: Callable[[Array], Array]
    _asarray: Callable[[Any], Array] = field(repr=False)
    _log_expm1_exp: Callable[[Array], Array] = field(repr=False)
    _log_log1p_exp: Callable[[Array], Array] = field(repr=False)

    def asarray(self, x: Any) -> Array:
        """Convert nested lists / float arrays to this backend's array type (exactly, for mpmath)."""
        return self._asarray(x)

    def softplus(self, x: Array) -> Array:
        """log(1 + e^x) without overflow: max(x, 0) + log1p(e^{-|x|})."""
        return np.maximum(x, 0) + self.log1p(self.exp(-abs(x)))

    def log_expm1_exp(self, lx: Array) -> Array:
        """log(expm1(e^lx)): log(e^x - 1) given lx = log x, with no underflow for x below float range."""
        return self._log_expm1_exp(lx)

    def log_log1p_exp(self, ly: Array) -> Array:
        """log(log1p(e^ly)): log(log(1 + y)) given ly = log y, with no underflow for tiny y."""
        return self._log_log1p_exp(ly)

    def logsumexp(self, x: Array, axis: int | tuple[int, ...]) -> Array:
        """log sum exp(x) along ``axis``; -inf entries contribute nothing; all -inf gives -inf."""
        m = np.max(x, axis=axis, keepdims=True)
        finite = _isfinite(m)
        m0 = np.where(finite, m, 0)
        s = np.sum(self.exp(x - m0), axis=axis, keepdims=True)
        out = np.where(finite, m0 + self.log(np.where(finite, s, 1)), m)
        return np.squeeze(out, axis=axis)

    def to_float(self, x: Array) -> np.ndarray:
        """Round to float64 (mpf values outside float range become 0 or inf, as float64 would)."""
        return np.asarray(np.vectorize(float, otypes=[np.float64])(x)) if self.name != "numpy" else np.asarray(x)

    @contextmanager
    def context(self) -> Iterator[None]:
        """Set the working precision (a no-op for float64)."""
        if self.name == "mpmath":
            with mpmath.workdps(self.dps):
                yield
        else:
            yield


def _isfinite(x: Array) -> Array:
    if isinstance(x, np.ndarray) and x.dtype == object:
        return np.vectorize(lambda v: bool(mpmath.isfinite(v)), otypes=[bool])(x)
    return np.isfinite(x)


def isfinite(x: Array) -> Array:
    """Elementwise finiteness for float64 and mpf arrays."""
    return _isfinite(x)


# Series cut-offs. log(expm1(x)) = log x + x/2 + x^2/24 + ..., so below x = 1e-8 the two-term series has
# relative error < x^2/24 < 1e-17 (under float64's u = 1.1e-16). Above x = 40, e^x - 1 == e^x in float64.
# log(log1p(y)) = log y - y/2 + 5y^2/24 - ..., so below log y = -30 the error is < 1e-26.
_LOG_SMALL_X = math.log(1e-8)
_LOG_SMALL_Y = -30.0


def _np_log_expm1_exp(lx: Any) -> np.ndarray:
    lx = np.asarray(lx, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        x = np.exp(lx)
        return np.where(
            lx < _LOG_SMALL_X, lx + 0.5 * x, np.where(x > 40.0, x, np.log(np.expm1(np.minimum(x, 40.0))))
        )


def _np_log_log1p_exp(ly: Any) -> np.ndarray:
    ly = np.asarray(ly, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        sp = np.maximum(ly, 0) + np.log1p(np.exp(-np.abs(ly)))
        return np.where(ly < _LOG_SMALL_Y, ly - 0.5 * np.exp(ly), np.log(sp))


def _np_asarray(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def numpy_backend() -> Backend:
    """float64 numpy backend (u = 2^-53)."""
    return Backend(
        name="numpy",
        eps=2.0**-53,
        dps=15,
        exp=np.exp,
        log=np.log,
        log1p=np.log1p,
        expm1=np.expm1,
        sqrt=np.sqrt,
        _asarray=_np_asarray,
        _log_expm1_exp=_np_log_expm1_exp,
        _log_log1p_exp=_np_log_log1p_exp,
    )


def _mp_ufunc(f: Callable[[Any], Any]) -> Callable[[Array], Array]:
    u = np.frompyfunc(f, 1, 1)

    def apply(x: Array) -> Array:
        out = u(x)
        return out if isinstance(out, np.ndarray) else mpmath.mpf(out)

    return apply


def _mp_log(x: Any) -> Any:
    # mpmath.log of a negative number is complex; a kernel never asks for one, so fail loudly if it does.
    if x < 0:
        raise FloatingPointError(f"log of negative number {mpmath.nstr(x, 5)}")
    return mpmath.log(x) if x != 0 else mpmath.ninf


def _mp_log_expm1_exp(lx: Any) -> Any:
    return _mp_log(mpmath.expm1(mpmath.exp(lx)))


def _mp_log_log1p_exp(ly: Any) -> Any:
    return _mp_log(mpmath.log1p(mpmath.exp(ly)))


def _mp_asarray(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == object:
        return np.vectorize(mpmath.mpf, otypes=[object])(arr)
    # mpf(float) is exact: the oracle sees exactly the float64 instance.
    return np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])(arr.astype(np.float64))


def mpmath_backend(dps: int = 50) -> Backend:
    """mpmath backend at ``dps`` decimal digits (u = 10^-dps). Use inside ``backend.context()``."""
    if not isinstance(dps, int) or dps < 16:
        raise VerifyInputError(f"--dps must be an integer >= 16 (more than float64 carries), got {dps!r}")
    return Backend(
        name="mpmath",
        eps=10.0 ** (-dps),
        dps=dps,
        exp=_mp_ufunc(mpmath.exp),
        log=_mp_ufunc(_mp_log),
        log1p=_mp_ufunc(mpmath.log1p),
        expm1=_mp_ufunc(mpmath.expm1),
        sqrt=_mp_ufunc(mpmath.sqrt),
        _asarray=_mp_asarray,
        _log_expm1_exp=_mp_ufunc(_mp_log_expm1_exp),
        _log_log1p_exp=_mp_ufunc(_mp_log_log1p_exp),
    )


BACKENDS = ("numpy", "mpmath")


def get_backend(name: str, dps: int = 50) -> Backend:
    """Backend by name; ``dps`` only matters for mpmath."""
    if name == "numpy":
        return numpy_backend()
    if name == "mpmath":
        return mpmath_backend(dps)
    if name == "torch":
        raise VerifyInputError("backend 'torch' is not available yet in this version; use numpy or mpmath")
    raise VerifyInputError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")


def float_log(x: float) -> float:
    """math.log that maps 0 to -inf (for log-scaled metrics)."""
    return math.log(x) if x > 0 else -math.inf
