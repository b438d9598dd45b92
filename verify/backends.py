"""Array backends: one kernel, several precisions.

A :class:`Backend` bundles the handful of elementwise functions a kernel needs. Kernels are written once against
numpy's array API (indexing, ``sum``, ``max``, ``argmax``, ``matmul``, ``einsum``, ``where``) and call the special
functions through the backend, so the *same* code runs

- ``numpy``: float64 arrays, the batched reference fast path;
- ``mpmath``: numpy object arrays of ``mpmath.mpf`` at a user-chosen number of digits, the oracle. numpy's
  C loops call mpf's arithmetic directly, so there is no per-element Python bytecode in matmuls and sums;
- ``torch``: float64 tensors, batched, on CUDA when ``torch.cuda.is_available()`` and on the CPU otherwise
  (the optional extra ``pip install -e '.[torch]'``);
- ``arb``: numpy object arrays of Arb balls (python-flint, the optional extra ``pip install -e '.[flint]'``) at a
  working precision in bits: every number is an enclosure of the exact value (:mod:`verify.arb`).

One implementation serves all three: a kernel takes its array namespace ``xp`` from the backend
(``bk.xp``) or from an array (:func:`namespace`). For numpy and mpmath ``xp`` *is* the numpy module, so their
numerics are exactly those of plain numpy code; for torch it is :class:`TorchNamespace`, a small object that
gives torch the numpy signatures the kernels use (``axis=``, ``keepdims=``, ``take_along_axis``, scalar
arguments to ``where``/``maximum``). Only what the kernels call is provided; a missing name is an
AttributeError, never a silent fallback to numpy.

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

Array = Any  # a float64 ndarray, an object ndarray of mpf, or a float64 torch tensor


_ROOTS: dict[type, str] = {}


def _root(x: Any) -> str:
    """The top-level package of ``x``'s type ("numpy", "torch", "jax", ...), looked up once per type (a dispatch
    on every small array call of a step: a dict lookup instead of a string split)."""
    t = type(x)
    root = _ROOTS.get(t)
    if root is None:
        root = _ROOTS[t] = t.__module__.partition(".")[0]
    return root


def is_torch(x: Any) -> bool:
    """A torch tensor (checked by its type's package, so torch is never imported to answer)."""
    return _root(x) == "torch"


class TorchNamespace:
    """The numpy functions the kernels call, with numpy's signatures, on float64 torch tensors.

    ``device`` is where new tensors (``arange``, ``asarray``) are created. Reductions take ``axis`` (int or tuple)
    and ``keepdims`` like numpy; ``where`` and ``maximum`` accept Python scalars; integer index arrays are int64.
    """

    def __init__(self, torch: Any, device: str) -> None:
        self.torch = torch
        self.device = device
        self.inf = math.inf

    def asarray(self, x: Any) -> Any:
        if is_torch(x):
            return x.to(device=self.device, dtype=self.torch.float64)
        return self.torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=self.torch.float64, device=self.device)

    def asindex(self, x: Any) -> Any:
        if is_torch(x):
            return x.to(device=self.device, dtype=self.torch.int64)
        return self.torch.as_tensor(np.asarray(x, dtype=np.int64), device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy() if is_torch(x) else np.asarray(x)

    def _t(self, x: Any, like: Any) -> Any:
        if is_torch(x):
            return x
        return self.torch.as_tensor(x, dtype=like.dtype if like.is_floating_point() else self.torch.float64,
                                    device=like.device)

    def arange(self, n: int) -> Any:
        return self.torch.arange(n, device=self.device)

    def argmax(self, x: Any, axis: int = -1) -> Any:
        return self.torch.argmax(x, dim=axis)

    def take_along_axis(self, x: Any, idx: Any, axis: int) -> Any:
        return self.torch.take_along_dim(x, idx, dim=axis)

    def max(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return self.torch.amax(x, dim=() if axis is None else axis, keepdim=keepdims)

    def sum(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return self.torch.sum(x, dim=axis, keepdim=keepdims) if axis is not None else self.torch.sum(x)

    def mean(self, x: Any, axis: Any = None) -> Any:
        return self.torch.mean(x, dim=axis) if axis is not None else self.torch.mean(x)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        like = a if is_torch(a) else b
        if not is_torch(like):
            return self.torch.where(cond, self.torch.tensor(a, dtype=self.torch.float64, device=cond.device), b)
        return self.torch.where(cond, self._t(a, like), self._t(b, like))

    def maximum(self, x: Any, y: Any) -> Any:
        return self.torch.clamp(x, min=y) if not is_torch(y) else self.torch.maximum(x, y)

    def all(self, x: Any) -> Any:
        return self.torch.all(x) if is_torch(x) else bool(np.all(x))

    def any(self, x: Any) -> Any:
        return self.torch.any(x) if is_torch(x) else bool(np.any(x))

    def isfinite(self, x: Any) -> Any:
        return self.torch.isfinite(x)

    def squeeze(self, x: Any, axis: Any) -> Any:
        return self.torch.squeeze(x, dim=axis)

    def einsum(self, spec: str, *ops: Any) -> Any:
        return self.torch.einsum(spec, *ops)

    def matmul(self, a: Any, b: Any) -> Any:
        return self.torch.matmul(a, b)

    def copy(self, x: Any) -> Any:
        return x.clone()

    def ndim(self, x: Any) -> int:
        return int(x.ndim)


def _is_jax(x: Any) -> bool:
    """A JAX array or tracer (checked by module name, so JAX is never imported to answer)."""
    return _root(x) in ("jax", "jaxlib")


def is_traced(x: Any) -> bool:
    """Whether ``x`` is an abstract JAX value being traced (inside ``jax.jit``): it has no concrete value, so
    code that branches on it (``bool(...)``, a float conversion) cannot run and must stay array-valued."""
    if not _is_jax(x):
        return False
    import jax

    return isinstance(x, jax.core.Tracer)


class JaxNamespace:
    """``jax.numpy`` plus the few helpers the kernels call on a namespace (float64 arrays: x64 is enabled)."""

    def __init__(self) -> None:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        self._jnp = jnp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jnp, name)

    def asarray(self, x: Any) -> Any:
        return self._jnp.asarray(np.asarray(x, dtype=np.float64) if not _is_jax(x) else x, dtype=self._jnp.float64)

    def asindex(self, x: Any) -> Any:
        return self._jnp.asarray(np.asarray(x))

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)


def namespace(*arrays: Any) -> Any:
    """The array namespace of ``arrays``: numpy for ndarrays (float64 or object/mpf) and scalars, a
    :class:`TorchNamespace` on the tensors' device for torch tensors, a :class:`JaxNamespace` for JAX arrays."""
    for a in arrays:
        if is_torch(a):
            import torch

            return TorchNamespace(torch, str(a.device))
        if _is_jax(a):
            return jax_namespace()
    return np


_JAX_NS: list[JaxNamespace] = []


def jax_namespace() -> JaxNamespace:
    """The one :class:`JaxNamespace` (built, and x64 enabled, on first use)."""
    if not _JAX_NS:
        _JAX_NS.append(JaxNamespace())
    return _JAX_NS[0]


@dataclass(frozen=True)
class Backend:
    """Elementwise special functions plus precision metadata for one number system.

    Attributes:
        name: ``"numpy"``, ``"mpmath"``, ``"torch"``, ``"jax"`` or ``"arb"``.
        eps: unit roundoff u (2^-53 for float64, 10^-dps for mpmath, 2^-prec for arb).
        dps: decimal digits carried (15 for float64).
        prec: binary working precision of the arb backend (0 for the others).
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
    xp: Any = field(default=np, repr=False, compare=False)  # the array namespace kernels use (numpy or torch)
    device: str = "cpu"
    prec: int = 0
    _softplus: Callable[[Array], Array] | None = field(default=None, repr=False)
    _sigmoid: Callable[[Array], Array] | None = field(default=None, repr=False)
    _shift: Callable[[Array], Array] | None = field(default=None, repr=False)

    def asarray(self, x: Any) -> Array:
        """Convert nested lists / float arrays to this backend's array type (exactly, for mpmath)."""
        return self._asarray(x)

    def softplus(self, x: Array) -> Array:
        """log(1 + e^x) without overflow: max(x, 0) + log1p(e^{-|x|}) (Arb balls: verify.arb.softplus)."""
        if self._softplus is not None:
            return self._softplus(x)
        return self.xp.maximum(x, 0) + self.log1p(self.exp(-abs(x)))

    def sigmoid(self, x: Array) -> Array:
        """1 / (1 + e^{-x}) without overflow and with one transcendental: z = e^{-|x|}, then 1 / (1 + z) where
        x >= 0 and z / (1 + z) below (Arb balls: verify.arb.sigmoid). Where e^{-softplus(-x)} takes three
        rounded transcendentals, this is two roundings from z's."""
        if self._sigmoid is not None:
            return self._sigmoid(x)
        z = self.exp(-abs(x))
        return self.xp.where(x >= 0, 1, z) / (1 + z)

    def shift_of(self, x: Array) -> Array:
        """A value to shift by where *any* value gives the same exact result (the reference of a log-sum-exp, a
        common log scale): ``x`` itself, except for Arb balls, whose exact midpoints are taken, so that a ball's
        radius does not enter both sides of an identity (the result is as rigorous and narrower)."""
        return x if self._shift is None else self._shift(x)

    def log_expm1_exp(self, lx: Array) -> Array:
        """log(expm1(e^lx)): log(e^x - 1) given lx = log x, with no underflow for x below float range."""
        return self._log_expm1_exp(lx)

    def log_log1p_exp(self, ly: Array) -> Array:
        """log(log1p(e^ly)): log(log(1 + y)) given ly = log y, with no underflow for tiny y."""
        return self._log_log1p_exp(ly)

    def logsumexp(self, x: Array, axis: int | tuple[int, ...]) -> Array:
        """log sum exp(x) along ``axis``; -inf entries contribute nothing; all -inf gives -inf."""
        xp = self.xp
        m = self.shift_of(xp.max(x, axis=axis, keepdims=True))
        finite = _isfinite(m)
        m0 = xp.where(finite, m, 0)
        s = xp.sum(self.exp(x - m0), axis=axis, keepdims=True)
        out = xp.where(finite, m0 + self.log(xp.where(finite, s, 1)), m)
        return xp.squeeze(out, axis=axis)

    def to_float(self, x: Array) -> np.ndarray:
        """Round to float64 (mpf values outside float range become 0 or inf, as float64 would)."""
        if self.name == "torch":
            return np.asarray(self.xp.to_numpy(x), dtype=np.float64)
        if self.name == "jax":  # inside jax.jit the value stays a traced float64 array
            return x.astype(self.xp.float64) if is_traced(x) else np.asarray(x, dtype=np.float64)
        return np.asarray(np.vectorize(float, otypes=[np.float64])(x)) if self.name != "numpy" else np.asarray(x)

    def to_numpy(self, x: Array) -> np.ndarray:
        """A host numpy array of the same values (index arrays, booleans; mpf stays mpf)."""
        return self.xp.to_numpy(x) if self.name in ("torch", "jax") else np.asarray(x)

    def asindex(self, x: Any) -> Array:
        """An integer index array (token indices) on this backend's device."""
        return self.xp.asindex(x) if self.name in ("torch", "jax") else np.asarray(x)

    @contextmanager
    def context(self) -> Iterator[None]:
        """Set the working precision (a no-op for float64)."""
        if self.name == "mpmath":
            with mpmath.workdps(self.dps):
                yield
        elif self.name == "arb":
            from verify.arb import working_precision

            with working_precision(self.prec):
                yield
        else:
            yield


def is_float_array(x: Any) -> bool:
    """A float numpy array (exactly ``np.ndarray``: a subclass such as a masked array takes the generic path,
    which keeps its semantics): the common case of every dispatch below, checked first."""
    return type(x) is np.ndarray and x.dtype.kind == "f"


def is_float64_array(x: Any) -> bool:
    """A float64 numpy array (exactly ``np.ndarray``, as :func:`is_float_array`)."""
    return type(x) is np.ndarray and x.dtype == np.float64


def _isfinite(x: Array) -> Array:
    if is_float_array(x):
        return np.isfinite(x)
    if is_torch(x):
        return x.isfinite()
    if _is_jax(x):
        return namespace(x).isfinite(x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        if _balls(x):
            from verify import arb

            return arb.isfinite(x)
        return np.vectorize(lambda v: bool(mpmath.isfinite(v)), otypes=[bool])(x)
    if _balls(x):
        from verify import arb

        return arb.isfinite(x)
    return np.isfinite(x)


def _balls(x: Any) -> bool:
    """Whether ``x`` is an Arb ball or an object array of them (python-flint is imported only if it is one)."""
    if isinstance(x, np.ndarray) and x.dtype == object:
        from verify.arb import is_ball_array

        return is_ball_array(x)
    return _root(x) == "flint"


def isfinite(x: Array) -> Array:
    """Elementwise finiteness for float64 and mpf arrays."""
    return _isfinite(x)


# Elementwise functions that dispatch on the array itself (float64 ndarray, object ndarray of mpf, or a torch
# tensor kept on its device), for code that holds arrays but no Backend (methods, mirror maps).
def elementwise_exp(x: Any) -> Any:
    """e^x; float64 overflow/underflow give inf/0 silently, as the kernels expect."""
    if not is_float_array(x):  # (the common case goes straight to the one float path below)
        if is_torch(x):
            return x.exp()
        if _is_jax(x):
            return namespace(x).exp(x)
        x = np.asarray(x)
        if x.dtype == object:
            if _balls(x):
                from verify import arb

                return arb.exp(x)
            return np.frompyfunc(mpmath.exp, 1, 1)(x)
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(x)


def elementwise_log(x: Any) -> Any:
    """log x for x > 0; -inf for x == 0 (and, for mpf entries, for x < 0 too, never a complex number)."""
    if not is_float_array(x):
        if is_torch(x):
            return x.log()
        if _is_jax(x):
            return namespace(x).log(x)
        x = np.asarray(x)
        if x.dtype == object:
            if _balls(x):
                from verify import arb

                return arb.log(x)
            return np.frompyfunc(lambda v: mpmath.log(v) if v > 0 else mpmath.mpf("-inf"), 1, 1)(x)
    with np.errstate(divide="ignore"):
        return np.log(x)


def elementwise_sqrt(x: Any) -> Any:
    """sqrt x for x >= 0."""
    if is_float_array(x):
        return np.sqrt(x)
    if is_torch(x):
        return x.sqrt()
    if _is_jax(x):
        return namespace(x).sqrt(x)
    arr = np.asarray(x)
    if arr.dtype == object:
        if _balls(arr):
            from verify import arb

            return arb.sqrt(arr)
        return np.frompyfunc(mpmath.sqrt, 1, 1)(arr)
    return np.sqrt(arr)


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


# ------------------------------------------------------------------------------------------------ torch
TORCH_MISSING = "backend 'torch' needs the optional dependency torch: pip install -e '.[torch]'"


def torch_device(torch: Any) -> str:
    """``"cuda"`` when torch sees a CUDA device, else ``"cpu"``: the torch backend picks CUDA by itself."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _cpu_threads(torch: Any) -> None:
    """Intra-op threads for the CPU path: ``VERIFY_TORCH_THREADS`` if set, else 1.

    The kernels' tensors are small (B x n x T x d), and MKL's float64 batched matmul with more than one OpenMP
    thread was measured 100-200x *slower* on them here (4 ms instead of 0.03 ms for a (3, 12, 12) x (3, 12, 4)
    bmm on 2 cores); throughput comes from batching over instances, not from threads. Set
    ``VERIFY_TORCH_THREADS`` (e.g. to the core count) for very large batches.
    """
    import os

    want = os.environ.get("VERIFY_TORCH_THREADS", "")
    n = int(want) if want.isdigit() and int(want) > 0 else 1
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def torch_backend(device: str | None = None) -> Backend:
    """float64 torch backend (u = 2^-53), on ``device`` (default: CUDA when available, else the CPU).

    The special functions are torch's float64 ones; ``log_expm1_exp`` and ``log_log1p_exp`` use the same series
    cut-offs as the numpy backend (derivation at ``_LOG_SMALL_X``).
    """
    try:
        import torch
    except ImportError:
        raise VerifyInputError(TORCH_MISSING) from None
    dev = device or torch_device(torch)
    if dev == "cpu":
        _cpu_threads(torch)
    ns = TorchNamespace(torch, dev)
    return _array_backend("torch", torch, ns, dev, lambda x, c: torch.clamp(x, max=c),
                          lambda x, c: torch.clamp(x, min=c))


def _array_backend(name: str, m: Any, ns: Any, device: str, minimum: Callable[[Any, float], Any],
                   maximum: Callable[[Any, float], Any]) -> Backend:
    """A float64 backend on an array library ``m`` (torch, jax.numpy) whose namespace for the kernels is ``ns``:
    the library's own special functions, and ``log_expm1_exp`` / ``log_log1p_exp`` with the numpy backend's
    series cut-offs (derivation at ``_LOG_SMALL_X``); ``minimum`` / ``maximum`` clip by a constant."""

    def log_expm1_exp(lx: Any) -> Any:
        lx = ns.asarray(lx)
        x = m.exp(lx)
        return m.where(lx < _LOG_SMALL_X, lx + 0.5 * x, m.where(x > 40.0, x, m.log(m.expm1(minimum(x, 40.0)))))

    def log_log1p_exp(ly: Any) -> Any:
        ly = ns.asarray(ly)
        sp = maximum(ly, 0) + m.log1p(m.exp(-m.abs(ly)))
        return m.where(ly < _LOG_SMALL_Y, ly - 0.5 * m.exp(ly), m.log(sp))

    return Backend(
        name=name,
        eps=2.0**-53,
        dps=15,
        exp=m.exp,
        log=m.log,
        log1p=m.log1p,
        expm1=m.expm1,
        sqrt=m.sqrt,
        _asarray=ns.asarray,
        _log_expm1_exp=log_expm1_exp,
        _log_log1p_exp=log_log1p_exp,
        xp=ns,
        device=device,
    )


# ------------------------------------------------------------------------------------------------ jax
JAX_MISSING = "backend 'jax' needs the optional dependency jax: pip install -e '.[jax]'"


def jax_backend() -> Backend:
    """float64 JAX backend (u = 2^-53; x64 enabled), on JAX's default device (a GPU when JAX sees one).

    The same kernel as numpy runs on ``jax.numpy``; :func:`verify.trajectory.run` compiles the steps between two
    checkpoints into one ``jax.jit``-ed ``lax.fori_loop`` (precision watch included) when the method traces
    (:mod:`verify.compiled`). The special functions use the numpy backend's series cut-offs.
    """
    try:
        ns = jax_namespace()
    except ImportError:
        raise VerifyInputError(JAX_MISSING) from None
    import jax

    jnp = ns._jnp
    return _array_backend("jax", jnp, ns, str(jax.devices()[0].platform), jnp.minimum, jnp.maximum)


# ------------------------------------------------------------------------------------------------ arb
def arb_backend(dps: int = 50, prec: int | None = None) -> Backend:
    """Arb-ball backend (python-flint) at ``prec`` bits, by default the bits of ``dps`` digits as mpmath counts
    them (u = 2^-prec). Use inside ``backend.context()``. Every value is a ball that contains the exact result;
    ``verify.arb`` documents the decisions on balls (maxima, argmax, comparisons) and the precision watch."""
    from verify import arb

    arb.flint_module()  # a one-line VerifyInputError without python-flint
    if prec is None:
        if not isinstance(dps, int) or dps < 16:
            raise VerifyInputError(f"--dps must be an integer >= 16 (more than float64 carries), got {dps!r}")
        prec = arb.dps_to_bits(dps)
    if not isinstance(prec, int) or prec < 54:
        raise VerifyInputError(f"the arb precision must be an integer >= 54 bits, got {prec!r}")
    return Backend(
        name="arb",
        eps=2.0 ** (-prec),
        dps=int(math.floor(prec * math.log10(2))),
        exp=arb.exp,
        log=arb.log,
        log1p=arb.log1p,
        expm1=arb.expm1,
        sqrt=arb.sqrt,
        _asarray=arb.asarray,
        _log_expm1_exp=arb.log_expm1_exp,
        _log_log1p_exp=arb.log_log1p_exp,
        xp=arb.BALLS,
        prec=prec,
        _softplus=arb.softplus,
        _sigmoid=arb.sigmoid,
        _shift=arb.midpoints,
    )


BACKENDS = ("numpy", "mpmath", "torch")
"""The backends a report can name (the report schema's vocabulary)."""

TRACE_BACKENDS = (*BACKENDS, "jax", "arb")
"""Every backend :func:`get_backend` builds: ``jax`` (compiled float64) and ``arb`` (rigorous balls) run
trajectories, not yet reports."""


def get_backend(name: str, dps: int = 50) -> Backend:
    """Backend by name; ``dps`` only matters for mpmath and arb."""
    if name == "numpy":
        return numpy_backend()
    if name == "mpmath":
        return mpmath_backend(dps)
    if name == "torch":
        return torch_backend()
    if name == "jax":
        return jax_backend()
    if name == "arb":
        return arb_backend(dps)
    raise VerifyInputError(f"unknown backend {name!r}; expected one of {', '.join(TRACE_BACKENDS)}")


def float_log(x: float) -> float:
    """math.log that maps 0 to -inf (for log-scaled metrics)."""
    return math.log(x) if x > 0 else -math.inf
