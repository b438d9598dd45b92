"""Methods: small composable transforms in the style of optax, and one table of named methods.

A *method* has ``init(params) -> state`` and ``update(params, state, first_order, t) -> (new_params, new_state)``
(:class:`Method`). Parameters are an array batched over its leading axis, or a tuple of such arrays (blocks, e.g.
a model trained on two parameter arrays at once). ``first_order`` is whatever the problem's ``first_order``
returns: at least ``unit_grad`` (grad L / ||grad L||_F; for tuple parameters the blocks of the unit vector of the
concatenated gradient), ``log_grad_norm`` (log ||grad L||_F) and ``log_loss_gap`` (log(L - L*)); for tuple
parameters also ``block_unit_grad`` and ``block_log_grad_norm`` (each block normalized by its own norm; a zero
block has log norm -inf). The problem supplies the gradient; nothing here knows what is being trained.

**Updates in log form.** A transform maps an :class:`Update` to an :class:`Update`. An update is the vector

    u = factor * e^{log_scale} * direction / divisor         (per batch entry; an absent part is 1),

so a step length is carried as a logarithm until the single ``exp`` that forms the step. Nothing underflows
however small the gradient or the loss gap: this is what reaches 10^6-step horizons in float64, and mpmath runs
the same code at any precision. A method is a :func:`chain` of transforms, each acting on the previous one's
update, followed by the *geometry* that applies the final update to the parameters:

- direction sources and transforms:
  :func:`gradient`   u = grad L, as direction grad L/||grad L|| with log_scale = log ||grad L||
                     (``per_block``: each block with its own norm);
  :func:`sign`       u = sign(u), elementwise;
  :func:`scale_by_adam`  u = m_hat / (sqrt(v_hat) + eps), Adam's moments of the incoming u;
  :func:`scale_by_rms`   u = u / (sqrt(v) + eps), RMSprop's second moment v of the incoming u;
  :func:`normalize_lq`   u = u / ||u||_q (the dual norm of a mirror map; per block or over the concatenation);
  :func:`precondition`   u = P_x(u), a linear map the problem supplies for the iterate (a preconditioner);
  :func:`sum_of`     u = u_1 + ... + u_k, pipelines on the terms of L = sum_k L_k (``gradient(term=...)``);
- step-length schedules:
  :func:`normalize`  u = u / ||u||_F              (log_scale <- 0);
  :func:`scale`      u = eta u                    (log_scale <- log_scale + log eta, or factor <- eta factor);
  :func:`scale_by_schedule`  u = eta/(t+1)^power u  (a polynomially decaying step, in the same two forms);
  :func:`scale_by_polyak`  u = (L - L*)/(c ||u||^2) u  (log_scale <- log(L - L*) - log c - log_scale);
- geometries: :data:`EUCLIDEAN` (W <- W - u), :func:`mirror_lp` (Theta <- Theta - u, W = grad psi*(Theta)
  for psi = (1/p)||W||_p^p, elementwise on the parameter array) and :func:`projected` (a base geometry, then a
  parameter map the problem supplies: a projection, or a rescaling along a symmetry of the objective).

**One table.** :data:`METHOD_TABLE` names every method once: its constructor, the parameters it takes from a
claim's params (with defaults and a one-line description), its update rule and whether every update is a
multiple of the gradient (:attr:`MethodSpec.along_gradient`). :func:`make_method`, :func:`method_params` and
:func:`names` (the command line's ``--method`` choices) all read it; adding a method is one row there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import mpmath
import numpy as np

from verify.backends import (
    Array,
    elementwise_exp,
    elementwise_log,
    elementwise_sqrt,
    is_float_array,
    is_torch,
    isfinite,
)
from verify.errors import VerifyInputError

_NEG_INF = -math.inf


# ----------------------------------------------------------------------------------------------- protocols
class Method(Protocol):
    """The optax-style protocol the trajectory runner (:func:`verify.trajectory.run`) drives."""

    @property
    def name(self) -> str: ...

    def init(self, params: Any) -> Any: ...

    def update(self, params: Any, state: Any, fo: Any, t: int) -> tuple[Any, Any]: ...

    def to_json(self) -> dict: ...

    # Optional, read with getattr by the runner:
    # - ``needs_loss_gap`` (bool, default True when absent): whether ``update`` reads ``fo.log_loss_gap``; when
    #   False the runner may skip that metric on steps that are not checkpoints;
    # - ``step_error(state)``: an estimate (B,) of the relative error of the parameters the last update produced,
    #   or None; the runner folds it into its precision watch.


class Update(NamedTuple):
    """u = factor * e^{log_scale} * direction / divisor, per batch entry; a part that is None is 1.

    Each part is one value for an array of parameters, or a tuple with one value per block for tuple parameters
    (``direction`` is then always a tuple; a scalar part that is not a tuple is shared by all blocks).
    ``log_scale`` and ``factor`` are (B,) arrays (``factor`` may be a Python float); ``divisor`` is (B,).
    ``unit``: e^{log_scale} is the update's Frobenius norm (the direction has norm 1: over the concatenation for
    a shared log_scale, per block for per-block ones). ``dead``: per block, the batch entries whose block
    gradient is exactly zero (log norm -inf); those blocks do not move (length 0, never 0 * inf).
    """

    direction: Any
    log_scale: Any = None
    factor: Any = None
    divisor: Any = None
    unit: bool = False
    dead: Any = None


class Transform(Protocol):
    """One link of a :func:`chain`: ``update(u, state, fo, t) -> (u', state')``; a source ignores ``u``."""

    @property
    def needs_loss_gap(self) -> bool: ...

    def init(self, params: Any) -> Any: ...

    def update(self, u: Update | None, state: Any, fo: Any, t: int) -> tuple[Update, Any]: ...

    # Optional: ``log_shift(ls, fo, t) -> ls'``, for a stateless link that only changes the log scale of an
    # update in log form (normalize, scale, a schedule, Polyak's length). A chain of gradient() and such links
    # on the Euclidean geometry then steps without building the intermediate updates (Chain's fused path).


class Geometry(Protocol):
    """Where the final update is applied: ``apply(params, state, u) -> (new_params, state')``."""

    def init(self, params: Any) -> Any: ...

    def apply(self, params: Any, state: Any, u: Update) -> tuple[Any, Any]: ...

    def step_error(self, state: Any) -> np.ndarray | None: ...


# ------------------------------------------------------------------------------------------------- helpers
def _part(x: Any, k: int | None) -> Any:
    """Block ``k`` of an update part (a shared part is every block's)."""
    return x[k] if k is not None and isinstance(x, tuple) else x


def _blocks(u: Update) -> list[int | None]:
    return list(range(len(u.direction))) if isinstance(u.direction, tuple) else [None]


def _collect(u: Update, values: list[Any]) -> Any:
    return tuple(values) if isinstance(u.direction, tuple) else values[0]


def _per_entry(x: Any, ndim: int) -> Any:
    """A (B,) array shaped (B, 1, ..., 1) to scale a (B, ...) array of ``ndim`` axes."""
    shape = (-1,) + (1,) * (ndim - 1)
    return x.reshape(shape) if is_torch(x) else np.reshape(x, shape)


def _materialize(u: Update, k: int | None) -> Any:
    """Block ``k`` of the update as an array: ((factor e^{log_scale}) direction) / divisor."""
    d = _part(u.direction, k)
    ls, fac, div = _part(u.log_scale, k), _part(u.factor, k), _part(u.divisor, k)
    nd = np.ndim(d)
    if ls is not None:
        if u.dead is not None:
            dead = _part(u.dead, k)
            ls = np.where(dead, _NEG_INF, ls) if np.ndim(ls) else (_NEG_INF if bool(np.all(dead)) else ls)
        step = _exp_times(ls, d)
    elif fac is not None:
        step = (fac if np.ndim(fac) == 0 else _per_entry(fac, nd)) * d
    else:
        step = d
    if div is not None:
        step = _divide_fresh(step, _per_entry(div, nd)) if step is not d else step / _per_entry(div, nd)
    return step


def _exp_times(ls: Any, d: Any) -> Any:
    """e^{ls} d, with ls (B,) scaling each batch entry of d: a log-form update materialized (the generic path and
    Chain's fused path share it, so the two give the same values bit for bit)."""
    return _per_entry(elementwise_exp(ls), np.ndim(d)) * d


def _elementwise_fns(*arrays: Any) -> tuple[Callable, Callable, Callable]:
    """(exp, isfinite, sqrt) for a moment update on ``arrays``: numpy's own ufuncs when every one is a float numpy
    array (the same values as the dispatching functions, without a dispatch per call), else the dispatching
    ones (torch, jax, mpf, Arb balls). The caller silences overflow and underflow, as elementwise_exp does."""
    if all(is_float_array(a) for a in arrays):
        return np.exp, np.isfinite, np.sqrt
    return elementwise_exp, isfinite, elementwise_sqrt


def _divide_fresh(step: Any, div: Any) -> Any:
    """step / div, in step's own memory when step is a float numpy array this module just made (the same values:
    an in-place ufunc rounds as the out-of-place one; it saves allocating, and page-faulting, a (B, d, d) array)."""
    if is_float_array(step) and np.result_type(step, div) == step.dtype:
        return np.divide(step, div, out=step)
    return step / div


def _subtract_from(params: Any, step: Any, fresh: bool) -> Any:
    """params - step; written into step's memory when it is a float numpy array made for this update alone."""
    if fresh and is_float_array(step) and is_float_array(params) and params.shape == step.shape \
            and params.dtype == step.dtype:
        return np.subtract(params, step, out=step)
    return params - step


def _quiet(u: Update) -> Any:
    """Silence 0 * inf in the log scales of dead blocks (they are replaced by a zero step when applied)."""
    return np.errstate(invalid="ignore") if u.dead is not None else nullcontext()


def _needs(u: Update | None, what: str, log_form: bool = False, unit: bool = False) -> Update:
    if u is None:
        raise VerifyInputError(f"{what} needs an update before it in the chain (start with gradient())")
    if log_form and (u.log_scale is None or u.factor is not None or u.divisor is not None):
        raise VerifyInputError(f"{what} needs an update whose length is carried as a log (gradient(), scale())")
    if unit and not u.unit:
        raise VerifyInputError(f"{what} needs an update of known norm (gradient(), normalize(), scale())")
    return u


def _positive(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise VerifyInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise VerifyInputError(f"{name} must be a positive finite number, got {value!r}")
    return v


# ------------------------------------------------------------------------------------------ the gradient
@dataclass(frozen=True)
class Gradient:
    """u = grad L. Direction grad L / ||grad L||_F (``fo.unit_grad``), log_scale = log ||grad L||_F.

    ``per_block`` (tuple parameters): block b is grad_b L / ||grad_b L|| with log_scale log ||grad_b L||, and a
    block whose gradient is exactly zero is marked dead. ``log_space=False`` forms the factor e^{log_scale} in
    the working number type instead of carrying the log (for geometries that accumulate plain arrays).

    ``term``: the gradient of one named term L_k of an objective L = sum_k L_k instead of the whole gradient,
    read from ``fo.terms[term]`` (the same fields as the first order itself: ``unit_grad``, ``log_grad_norm``
    and, for tuple parameters, ``block_unit_grad``, ``block_log_grad_norm``); see :func:`sum_of`."""

    per_block: bool = False
    log_space: bool = True
    term: str | None = None
    needs_loss_gap = False

    def init(self, params: Any) -> None:
        return None

    def update(self, u: Update | None, state: None, fo: Any, t: int) -> tuple[Update, None]:
        if self.term is not None:
            terms = getattr(fo, "terms", None)
            if not isinstance(terms, Mapping) or self.term not in terms:
                raise VerifyInputError(f"gradient(term={self.term!r}): the problem reports no such term of its "
                                       f"objective (terms: {sorted(terms) if isinstance(terms, Mapping) else []})")
            fo = terms[self.term]
        if self.per_block and isinstance(fo.unit_grad, tuple):
            logs = tuple(fo.block_log_grad_norm)
            dead: Any = tuple(~np.asarray(isfinite(np.asarray(lg)), dtype=bool) for lg in logs)
            d, ls = tuple(fo.block_unit_grad), logs
        else:
            d, ls, dead = fo.unit_grad, fo.log_grad_norm, None
        if self.log_space:
            return Update(d, log_scale=ls, unit=True, dead=dead), None
        fac = tuple(elementwise_exp(v) for v in ls) if isinstance(ls, tuple) else elementwise_exp(ls)
        return Update(d, factor=fac, dead=dead), None


def gradient(per_block: bool = False, log_space: bool = True, term: str | None = None) -> Gradient:
    """The source of every chain: u = grad L, or the gradient of one named term of L (see :class:`Gradient`)."""
    return Gradient(per_block, log_space, term)


# ---------------------------------------------------------------------------------------- step lengths
@dataclass(frozen=True)
class Scale:
    """u = eta u. In log form log eta is added to the log scale (a high-precision run steps by exp(fl(log eta)),
    not eta, to float64 accuracy); otherwise eta multiplies the factor."""

    eta: float
    needs_loss_gap = False

    def init(self, params: Any) -> None:
        return None

    def update(self, u: Update | None, state: None, fo: Any, t: int) -> tuple[Update, None]:
        return _lengthened(_needs(u, "scale()"), math.log(self.eta), self.eta), None

    def log_shift(self, ls: Any, fo: Any, t: int) -> Any:
        return ls + math.log(self.eta)


def _lengthened(u: Update, log_eta: float, eta: float) -> Update:
    """u times eta > 0: in log form log eta is added to the log scale, otherwise eta multiplies the factor (or
    becomes it)."""
    if u.log_scale is not None:
        return _shifted(u, lambda v, fo, t: v + log_eta, None, 0)
    if u.factor is None:
        return u._replace(factor=eta)
    fac = tuple(eta * v for v in u.factor) if isinstance(u.factor, tuple) else eta * u.factor
    return u._replace(factor=fac)


def _shifted(u: Update, shift: Callable[[Any, Any, int], Any], fo: Any, t: int) -> Update:
    """u with ``shift`` applied to its log scale (to each block's, for per-block log scales)."""
    with _quiet(u):
        ls = (tuple(shift(v, fo, t) for v in u.log_scale) if isinstance(u.log_scale, tuple)
              else shift(u.log_scale, fo, t))
    return u._replace(log_scale=ls)


def scale(eta: float) -> Scale:
    """u = eta u (a constant step length eta when the incoming update has norm 1)."""
    return Scale(_positive("eta", eta))


@dataclass(frozen=True)
class ScaleBySchedule:
    """u = eta_t u with the polynomially decaying schedule eta_t = eta / (t + 1)^power (t = 0, 1, ...; power 0 is
    the constant step). In log form log eta_t is added to the log scale, otherwise eta_t multiplies the factor (a
    plain array, such as Adam's update, gets factor eta_t)."""

    eta: float
    power: float
    needs_loss_gap = False

    def init(self, params: Any) -> None:
        return None

    def update(self, u: Update | None, state: None, fo: Any, t: int) -> tuple[Update, None]:
        u = _needs(u, "scale_by_schedule()")
        return _lengthened(u, self._log_eta(t), self.eta * (t + 1) ** -self.power), None  # (eta itself at t = 0)

    def _log_eta(self, t: int) -> float:
        return math.log(self.eta) - self.power * math.log(t + 1)

    def log_shift(self, ls: Any, fo: Any, t: int) -> Any:
        return ls + self._log_eta(t)


def scale_by_schedule(eta: float, power: float) -> ScaleBySchedule:
    """u = eta / (t + 1)^power * u (see :class:`ScaleBySchedule`); power >= 0."""
    pw = float(power)
    if not (math.isfinite(pw) and pw >= 0):
        raise VerifyInputError(f"the schedule's power must be a finite number >= 0, got {power!r}")
    return ScaleBySchedule(_positive("eta", eta), pw)


@dataclass(frozen=True)
class Normalize:
    """u = u / ||u||_F: the log scale becomes log 1 = 0, written log_scale * 0 so that it keeps the batch's
    shape and number type (and is NaN where the norm was not finite, which the precision watch flags)."""

    needs_loss_gap = False

    def init(self, params: Any) -> None:
        return None

    def update(self, u: Update | None, state: None, fo: Any, t: int) -> tuple[Update, None]:
        u = _needs(u, "normalize()", log_form=True, unit=True)
        return _shifted(u, self.log_shift, fo, t), None

    def log_shift(self, ls: Any, fo: Any, t: int) -> Any:
        return ls * 0


def normalize() -> Normalize:
    """u = u / ||u||_F (see :class:`Normalize`)."""
    return Normalize()


@dataclass(frozen=True)
class ScaleByPolyak:
    """u = (L - L*) / (c ||u||^2) u, so ||u|| becomes (L - L*)/(c ||u||): log_scale <- log(L - L*) - log c -
    log_scale. After :func:`gradient` this is Polyak's step, W <- W - (L - L*)/(c ||grad L||^2) grad L."""

    c: float
    needs_loss_gap = True

    def init(self, params: Any) -> None:
        return None

    def update(self, u: Update | None, state: None, fo: Any, t: int) -> tuple[Update, None]:
        u = _needs(u, "scale_by_polyak()", log_form=True, unit=True)
        return _shifted(u, self.log_shift, fo, t), None

    def log_shift(self, ls: Any, fo: Any, t: int) -> Any:
        return fo.log_loss_gap - math.log(self.c) - ls


def scale_by_polyak(c: float) -> ScaleByPolyak:
    """Polyak's step length (L - L*)/(c ||u||) for the incoming update u (see :class:`ScaleByPolyak`)."""
    return ScaleByPolyak(_positive("polyak c", c))


# ---------------------------------------------------------------------------------- elementwise directions
def _sign(x: Array) -> Array:
    if is_torch(x):
        return x.sign()
    return np.where(x > 0, 1, np.where(x < 0, -1, 0))


@dataclass(frozen=True)
class Sign:
    """u = sign(u) elementwise (+1, -1 or 0 per entry). Positive scales do not change a sign, so only the
    direction is read."""

    needs_loss_gap = False

    def init(self, params: Any) -> None:
        return None

    def update(self, u: Update | None, state: None, fo: Any, t: int) -> tuple[Update, None]:
        u = _needs(u, "sign()")
        return Update(_collect(u, [_sign(_part(u.direction, k)) for k in _blocks(u)])), None


def sign() -> Sign:
    """u = sign(u), elementwise."""
    return Sign()


class AdamState(NamedTuple):
    """Adam's moments in log-scaled form: m = e^{sm} m_hat, v = e^{sv} v_hat (per block, per batch entry)."""

    sm: Any
    m: Any
    sv: Any
    v: Any


@dataclass(frozen=True)
class ScaleByAdam:
    """Adam's moments (Kingma & Ba) of the incoming update g, elementwise:

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
        u = mh / (sqrt(vh) + eps),   mh = m / (1 - b1^{t+1}),  vh = v / (1 - b2^{t+1}).

    g arrives as e^{lg} * unit; the moments are carried as e^{s} * (scaled array) with the scales updated in log
    space, so they never underflow. u is evaluated as e^{sm - sv/2} m_hat / (sqrt(v_hat) + eps e^{-sv/2}), which
    is exact algebra; once eps e^{-sv/2} overflows, u is 0 to working precision (eps then dominates, exactly as in
    float arithmetic with unbounded range). The result is a plain array (no log scale)."""

    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    needs_loss_gap = False

    def init(self, params: Any) -> Any:
        if isinstance(params, tuple):
            return tuple(self.init(p) for p in params)
        B = np.shape(params)[0]
        zero = params * 0
        ninf = np.full(B, _NEG_INF)
        return AdamState(ninf, zero, ninf.copy(), zero.copy())

    def update(self, u: Update | None, state: Any, fo: Any, t: int) -> tuple[Update, Any]:
        u = _needs(u, "scale_by_adam()", log_form=True, unit=True)
        ks = _blocks(u)
        outs = [self._block(_part(state, k), _part(u.direction, k), _part(u.log_scale, k), t) for k in ks]
        return Update(_collect(u, [o[0] for o in outs])), _collect(u, [o[1] for o in outs])

    def _block(self, s: AdamState, unit: Any, lg: Any, t: int) -> tuple[Any, AdamState]:
        lg = np.asarray(lg)
        exp, finite, sqrt = _elementwise_fns(unit, s.m, lg)
        shape = (-1,) + (1,) * (np.ndim(unit) - 1)
        with np.errstate(over="ignore", under="ignore"):
            prev_m, new_m = s.sm + math.log(self.b1), lg + math.log(1 - self.b1)
            sm = np.maximum(prev_m, new_m)
            sm = np.where(finite(np.asarray(sm)), sm, 0)
            m = exp(prev_m - sm).reshape(shape) * s.m + exp(new_m - sm).reshape(shape) * unit
            prev_v, new_v = s.sv + math.log(self.b2), 2 * lg + math.log(1 - self.b2)
            sv = np.maximum(prev_v, new_v)
            sv = np.where(finite(np.asarray(sv)), sv, 0)
            v = exp(prev_v - sv).reshape(shape) * s.v + exp(new_v - sv).reshape(shape) * unit * unit
            c1, c2 = 1 - self.b1 ** (t + 1), 1 - self.b2 ** (t + 1)
            # mh / (sqrt(vh) + eps) = e^{sm - sv/2} (m/c1) / (sqrt(v/c2) + eps e^{-sv/2})
            eps_s = self.eps * exp(-sv / 2) if self.eps > 0 else sv * 0
            den = sqrt(v / c2) + eps_s.reshape(shape)
            step = exp(sm - sv / 2).reshape(shape) * (m / c1) / den
        return step, AdamState(sm, m, sv, v)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> ScaleByAdam:
    """Adam's moment transform (see :class:`ScaleByAdam`)."""
    return ScaleByAdam(b1, b2, eps)


class RmsState(NamedTuple):
    """RMSprop's second moment in log-scaled form: v = e^{sv} v_hat (per block, per batch entry)."""

    sv: Any
    v: Any


@dataclass(frozen=True)
class ScaleByRms:
    """RMSprop's second moment of the incoming update g, elementwise (the common form, without bias correction
    and with eps outside the square root):

        v <- decay v + (1 - decay) g^2,   u = g / (sqrt(v) + eps),   v_0 = 0.

    g arrives as e^{lg} * unit; v is carried as e^{sv} * (scaled array) with sv updated in log space (as Adam's
    moments, :class:`ScaleByAdam`), so it never underflows. u is evaluated as
    e^{lg - sv/2} unit / (sqrt(v_hat) + eps e^{-sv/2}), which is exact algebra; once eps e^{-sv/2} overflows, u is
    0 to working precision (eps dominates). The result is a plain array (no log scale)."""

    decay: float = 0.99
    eps: float = 1e-8
    needs_loss_gap = False

    def init(self, params: Any) -> Any:
        if isinstance(params, tuple):
            return tuple(self.init(p) for p in params)
        B = np.shape(params)[0]
        return RmsState(np.full(B, _NEG_INF), params * 0)

    def update(self, u: Update | None, state: Any, fo: Any, t: int) -> tuple[Update, Any]:
        u = _needs(u, "scale_by_rms()", log_form=True, unit=True)
        ks = _blocks(u)
        outs = [self._block(_part(state, k), _part(u.direction, k), _part(u.log_scale, k)) for k in ks]
        return Update(_collect(u, [o[0] for o in outs])), _collect(u, [o[1] for o in outs])

    def _block(self, s: RmsState, unit: Any, lg: Any) -> tuple[Any, RmsState]:
        lg = np.asarray(lg)
        exp, finite, sqrt = _elementwise_fns(unit, s.v, lg)
        shape = (-1,) + (1,) * (np.ndim(unit) - 1)
        with np.errstate(over="ignore", under="ignore"):
            prev_v, new_v = s.sv + math.log(self.decay), 2 * lg + math.log(1 - self.decay)
            sv = np.maximum(prev_v, new_v)
            sv = np.where(finite(np.asarray(sv)), sv, 0)
            v = exp(prev_v - sv).reshape(shape) * s.v + exp(new_v - sv).reshape(shape) * unit * unit
            # g / (sqrt(v) + eps) = e^{lg - sv/2} unit / (sqrt(v_hat) + eps e^{-sv/2})
            eps_s = self.eps * exp(-sv / 2) if self.eps > 0 else sv * 0
            den = sqrt(v) + eps_s.reshape(shape)
            step = exp(lg - sv / 2).reshape(shape) * unit / den
        return step, RmsState(sv, v)


def scale_by_rms(decay: float = 0.99, eps: float = 1e-8) -> ScaleByRms:
    """RMSprop's second-moment transform (see :class:`ScaleByRms`); 0 < decay < 1, eps >= 0."""
    d = float(decay)
    if not 0 < d < 1:
        raise VerifyInputError(f"RMSprop's decay must lie in (0, 1), got {decay!r}")
    e = float(eps)
    if not (math.isfinite(e) and e >= 0):
        raise VerifyInputError(f"RMSprop's eps must be a finite number >= 0, got {eps!r}")
    return ScaleByRms(d, e)


# -------------------------------------------------------------------------------- lp norms and mirror maps
def _ball_array(x: Any) -> bool:
    """An object array of Arb balls (checked without importing python-flint)."""
    from verify.arb import is_ball_array

    return isinstance(x, np.ndarray) and x.dtype == object and is_ball_array(x)


P_MIN, P_MAX = 1.01, 100.0  # outside, the maps sign(x)|x|^{p-1} and sign(x)|x|^{1/(p-1)} lose float64 meaning


def check_exponent(p: Any) -> float:
    """Validate the exponent of an lp potential: 1 < p < inf (accepted: P_MIN <= p <= P_MAX)."""
    try:
        v = float(p)
    except (TypeError, ValueError):
        raise VerifyInputError(f"p must be a number, got {p!r}") from None
    if not (P_MIN <= v <= P_MAX):
        raise VerifyInputError(f"p must lie in [{P_MIN}, {P_MAX}] (1 < p < inf), got {p!r}")
    return v


def _unit_roundoff(x: Array) -> float:
    """u of the number type of ``x``: 2^-53 for float64, 10^-dps (the working precision) for mpmath."""
    if np.asarray(x).dtype == object:
        return float(mpmath.mpf(10) ** (-mpmath.mp.dps))
    return float(np.finfo(float).eps)


def signed_power(x: Array, r: float) -> Array:
    """sign(x) |x|^r via log-magnitudes: exp(r log|x|), 0 at 0. No intermediate overflows; a result beyond
    float64's range becomes inf and the caller reports it. Arb balls: :func:`verify.arb.signed_power` (a ball
    that contains 0 maps to the images of its ends)."""
    if _ball_array(x):
        from verify import arb

        return arb.signed_power(x, r)
    a = abs(np.asarray(x))
    la = elementwise_log(np.where(a > 0, a, 1))
    return np.where(a > 0, _sign(x) * elementwise_exp(r * la), 0 * a)


def phi(W: Array, p: float) -> Array:
    """The mirror map of psi(W) = (1/p)||W||_p^p: grad psi(W) = sign(W)|W|^{p-1}, elementwise (Arb balls: the
    exponent exact, :func:`verify.arb.mirror_power`)."""
    if _ball_array(W):
        from verify import arb

        return arb.mirror_power(W, p)
    return signed_power(W, p - 1.0)


def phi_inv(Theta: Array, p: float) -> Array:
    """Its inverse grad psi*(Theta) = sign(Theta)|Theta|^{1/(p-1)} = sign(Theta)|Theta|^{q-1}, q = p/(p-1) (Arb
    balls: the exponent 1/(p-1) exact, not its float64 rounding)."""
    if _ball_array(Theta):
        from verify import arb

        return arb.mirror_power(Theta, p, inverse=True)
    return signed_power(Theta, 1.0 / (p - 1.0))


def scaled_norm(V: Array, r: float, axes: tuple[int, ...]) -> Array:
    """||V||_r over ``axes`` computed as m (sum (|V|/m)^r)^{1/r}, m = max|V| (0 for V = 0): no |V|^r
    under/overflow for any r. Arb balls: :func:`verify.arb.lp_norm` (no range to leave, no max to decide)."""
    if _ball_array(V):
        from verify import arb

        return arb.lp_norm(V, r, axes)
    a = abs(np.asarray(V))
    m = np.max(a, axis=axes, keepdims=True)
    safe = np.where(m > 0, m, 1)
    s = np.sum((a / safe) ** r, axis=axes, keepdims=True) ** (1.0 / r)
    return np.squeeze(m * s, axis=axes)


@dataclass(frozen=True)
class NormalizeLq:
    """u = u / ||u||_q (entrywise q-norm; q = p/(p-1) is the dual exponent of an lp mirror map).

    For u = s * direction with s > 0 this is direction / ||direction||_q, so the scale is dropped and only the
    direction's q-norm is taken (after dividing by its largest entry, :func:`scaled_norm`: |u|^q never under- or
    overflows, even for q = 11). Tuple parameters: each block by its own q-norm (``per_block``), or all blocks by
    the q-norm of the concatenation, ||(e^{l_b} d_b)_b||_q, formed relative to the largest block scale l_b. A zero
    direction is left zero (divisor 1)."""

    q: float
    per_block: bool = True
    needs_loss_gap = False

    def init(self, params: Any) -> None:
        return None

    def update(self, u: Update | None, state: None, fo: Any, t: int) -> tuple[Update, None]:
        u = _needs(u, "normalize_lq()")
        if u.divisor is not None:
            raise VerifyInputError("normalize_lq() needs an update without a divisor")
        ks = _blocks(u)
        if ks == [None] or self.per_block:
            divs = []
            for k in ks:
                d = _part(u.direction, k)
                qn = scaled_norm(d, self.q, tuple(range(1, np.ndim(d))))
                # balls: the norm itself (a zero direction then gives a non-finite ball, which the watch flags)
                divs.append(qn if _ball_array(qn) else np.where(qn > 0, qn, 1))
            return Update(u.direction, divisor=_collect(u, divs)), None
        # ||G||_q / e^{l_k} for block k, with G = (e^{l_j} d_j)_j, all relative to the largest l_j.
        _needs(u, "normalize_lq(per_block=False)", log_form=True)
        logs = [_part(u.log_scale, k) for k in ks]
        units = [_part(u.direction, k) for k in ks]
        top = np.max(np.stack([np.asarray(v, dtype=float) for v in logs]), axis=0)
        parts = [scaled_norm(d, self.q, tuple(range(1, np.ndim(d)))) * elementwise_exp(lg - top)
                 for d, lg in zip(units, logs, strict=True)]
        m = np.max(np.stack(parts), axis=0)
        safe = np.where(m > 0, m, 1)
        total = safe * sum((pt / safe) ** self.q for pt in parts) ** (1.0 / self.q)
        jq = [total * elementwise_exp(top - lg) for lg in logs]
        return Update(u.direction, divisor=tuple(np.where(j > 0, j, 1) for j in jq)), None


def normalize_lq(q: float, per_block: bool = True) -> NormalizeLq:
    """u = u / ||u||_q (see :class:`NormalizeLq`)."""
    return NormalizeLq(q, per_block)


# ------------------------------------------------------------------------------ preconditioners, sums of terms
@dataclass(frozen=True)
class Precondition:
    """u = P_x(u): a linear map that the problem supplies for the current iterate x, applied to the update.

    ``fn(fo, direction) -> direction`` maps the update's direction (an array, or a tuple of blocks) and reads
    what it needs of the iterate from the first order ``fo``. It must be linear in the direction (a
    preconditioner such as a damped inverse curvature (C^T C + delta I)^{-1}, or a positive scalar), so it
    commutes with the update's scalar parts: P(s d / q) = s P(d) / q, and the log scale, factor and divisor are
    kept. Per-block scales do not commute with a map that mixes blocks, so an update with per-block scales is
    materialized first (a plain array). The norm of the result is not known (``unit`` False)."""

    fn: Callable[[Any, Any], Any]
    needs_loss_gap = False

    def init(self, params: Any) -> None:
        return None

    def update(self, u: Update | None, state: None, fo: Any, t: int) -> tuple[Update, None]:
        u = _needs(u, "precondition()")
        if any(isinstance(x, tuple) for x in (u.log_scale, u.factor, u.divisor)):
            with _quiet(u):
                plain = _collect(u, [_materialize(u, k) for k in _blocks(u)])
            return Update(self.fn(fo, plain)), None
        return u._replace(direction=self.fn(fo, u.direction), unit=False), None


def precondition(fn: Callable[[Any, Any], Any]) -> Precondition:
    """u = P_x(u) for a linear map supplied by the problem (see :class:`Precondition`)."""
    return Precondition(fn)


@dataclass(frozen=True)
class SumOf:
    """u = u_1 + ... + u_k: the updates of k pipelines, each a tuple of transforms that starts with a source
    (e.g. ``gradient(term=...)``), all formed at the same iterate and added.

    For an objective L = L_1 + L_2 whose terms are stepped differently, e.g. a preconditioned step on L_1 plus a
    plainly scaled step on a regularizer L_2: ``sum_of((gradient(term="loss"), precondition(P)),
    (gradient(term="reg"), precondition(Q)))``. It is a source (first in a chain); the result is a plain array
    (no log scale), so the summands' lengths must be representable in the working number type."""

    pipelines: tuple[tuple[Transform, ...], ...]

    @property
    def needs_loss_gap(self) -> bool:
        return any(tr.needs_loss_gap for pipe in self.pipelines for tr in pipe)

    def init(self, params: Any) -> Any:
        states = tuple(tuple(tr.init(params) for tr in pipe) for pipe in self.pipelines)
        return None if all(s is None for pipe in states for s in pipe) else states

    def update(self, u: Update | None, state: Any, fo: Any, t: int) -> tuple[Update, Any]:
        if u is not None:
            raise VerifyInputError("sum_of() is a source: put it first in the chain")
        states = state if state is not None else tuple((None,) * len(pipe) for pipe in self.pipelines)
        total: list[Any] | None = None
        new_states = []
        last: Update | None = None
        for pipe, pstates in zip(self.pipelines, states, strict=True):
            v: Update | None = None
            ss = []
            for tr, s in zip(pipe, pstates, strict=True):
                v, s = tr.update(v, s, fo, t)
                ss.append(s)
            if v is None:
                raise VerifyInputError("sum_of(): every pipeline needs at least one transform")
            with _quiet(v):
                parts = [_materialize(v, k) for k in _blocks(v)]
            total = parts if total is None else [a + b for a, b in zip(total, parts, strict=True)]
            new_states.append(tuple(ss))
            last = v
        if total is None or last is None:
            raise VerifyInputError("sum_of() needs at least one pipeline")
        out = tuple(new_states)
        return Update(_collect(last, total)), (None if all(s is None for p in out for s in p) else out)


def sum_of(*pipelines: tuple[Transform, ...]) -> SumOf:
    """u = the sum of the pipelines' updates (see :class:`SumOf`)."""
    return SumOf(tuple(tuple(p) for p in pipelines))


# ---------------------------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class Euclidean:
    """W <- W - u (per block for tuple parameters)."""

    def init(self, params: Any) -> None:
        return None

    def apply(self, params: Any, state: None, u: Update) -> tuple[Any, None]:
        out = []
        for k in _blocks(u):
            step = _materialize(u, k)
            out.append(_subtract_from(_part(params, k), step, fresh=step is not _part(u.direction, k)))
        return _collect(u, out), None

    def step_error(self, state: None) -> None:
        return None


EUCLIDEAN = Euclidean()


class MirrorState(NamedTuple):
    """The dual iterate(s) Theta = phi(W) and the last step's estimated relative error of W (B,)."""

    theta: Any  # array, or tuple of arrays for tuple parameters
    rel_error: np.ndarray


@dataclass(frozen=True)
class MirrorLp:
    """Mirror descent for the potential psi(W) = (1/p) ||W||_p^p (entrywise), 1 < p < inf:

        Theta_t = phi(W_t) = sign(W_t)|W_t|^{p-1},  Theta_{t+1} = Theta_t - u,  W_{t+1} = phi^{-1}(Theta_{t+1}),

    phi^{-1}(T) = sign(T)|T|^{1/(p-1)}, elementwise on the parameter array (per block for tuples). p = 2 is the
    Euclidean geometry (phi = identity).

    Numerics: the dual iterate Theta is the state and accumulates exactly as the definition says; W is recomputed
    from it every step, so errors of the steep inverse map do not accumulate. phi^{-1} works with log-magnitudes,
    |W| = exp(log|Theta| / (p-1)) (no overflow or underflow in an intermediate; a W beyond float64's range is
    reported, not returned as inf). Each step estimates the relative error of the new W (:meth:`step_error`):
    the rounding of Theta_{t+1} (absolute error e_ij ~ u (|Theta_ij| + |u_ij|)) pushed through phi^{-1}. For
    p > 2 the map is Hoelder-1/(p-1) at 0, so an entry of Theta at rounding level (a zero crossing) can carry an
    error e^{1/(p-1)}: the estimate takes ((|Theta|+e)^r - max(|Theta|-e, 0)^r) per entry, r = 1/(p-1). The
    trajectory runner folds it into its precision watch, so such steps are flagged instead of silently used."""

    p: float

    def init(self, params: Any) -> MirrorState:
        if isinstance(params, tuple):
            theta: Any = tuple(phi(w, self.p) for w in params)
            B = np.shape(params[0])[0]
        else:
            theta, B = phi(params, self.p), np.shape(params)[0]
        return MirrorState(theta, np.zeros(B))

    def apply(self, params: Any, state: MirrorState, u: Update) -> tuple[Any, MirrorState]:
        outs = [self._block(_part(state.theta, k), _materialize(u, k)) for k in _blocks(u)]
        if isinstance(u.direction, tuple):
            rel = np.max(np.stack([o[2] for o in outs]), axis=0)
            return tuple(o[0] for o in outs), MirrorState(tuple(o[1] for o in outs), rel)
        W, theta, rel = outs[0]
        return W, MirrorState(theta, rel)

    def _block(self, theta: Array, step: Array) -> tuple[Array, Array, np.ndarray]:
        new_theta = theta - step
        new_W = phi_inv(new_theta, self.p)
        return new_W, new_theta, self._map_error(new_theta, step, new_W, tuple(range(1, np.ndim(theta))))

    def _map_error(self, theta: Array, step: Array, W: Array, axes: tuple[int, ...]) -> np.ndarray:
        """Estimated ||dW||_F / ||W||_F from rounding Theta (see the class docstring); inf if W overflowed. Arb
        balls carry their own error (the problem's watch reads W's widths): 0."""
        if _ball_array(theta):
            return np.zeros(np.shape(theta)[0])
        u = _unit_roundoff(theta)
        th = np.abs(np.asarray(theta, dtype=float))
        e = u * (th + np.abs(np.asarray(step, dtype=float)))
        r = 1.0 / (self.p - 1.0)
        Wf = np.asarray(W, dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            lin = 2 * r * np.abs(Wf) * np.where(th > 0, e / np.where(th > 0, th, 1), 0)  # |dW| ~ r |W| |dTheta|/|Theta|
            near = (th + e) ** r - np.maximum(th - e, 0) ** r
            dW = np.where(e < 1e-8 * th, lin, near) + 4 * u * np.abs(Wf)
            rel = np.sqrt(np.sum(dW**2, axis=axes)) / np.sqrt(np.sum(Wf**2, axis=axes))
        bad = ~np.all(np.isfinite(Wf), axis=axes)
        return np.where(bad, np.inf, np.nan_to_num(rel, nan=0.0, posinf=np.inf))

    def step_error(self, state: MirrorState) -> np.ndarray:
        """Relative error of the last W produced (read by the trajectory runner's precision watch)."""
        return state.rel_error


def mirror_lp(p: float) -> MirrorLp:
    """The lp mirror geometry (see :class:`MirrorLp`)."""
    return MirrorLp(check_exponent(p))


@dataclass(frozen=True)
class Projected:
    """W <- Pi(step of ``base``): after the base geometry applies the update, the parameters are mapped by ``fn``
    (a projection onto a constraint set, or a move along a symmetry of the objective, e.g. a rescaling
    (A, B) -> (cA, B/c) that leaves a product unchanged). This is not a gradient step: the problem that supplies
    ``fn`` states what it does, and a method that uses it says so in its name or config. ``fn`` maps parameters
    to parameters (batched like them); the step error is the base geometry's."""

    fn: Callable[[Any], Any]
    base: Geometry = EUCLIDEAN

    def init(self, params: Any) -> Any:
        return self.base.init(params)

    def apply(self, params: Any, state: Any, u: Update) -> tuple[Any, Any]:
        new, st = self.base.apply(params, state, u)
        return self.fn(new), st

    def step_error(self, state: Any) -> np.ndarray | None:
        return self.base.step_error(state)


def projected(fn: Callable[[Any], Any], base: Geometry = EUCLIDEAN) -> Projected:
    """The geometry ``base`` followed by the parameter map ``fn`` (see :class:`Projected`)."""
    return Projected(fn, base)


# -------------------------------------------------------------------------------------------------- chain
class ChainState(NamedTuple):
    """The states of a chain's transforms (in order) and of its geometry."""

    transforms: tuple
    geometry: Any


@dataclass(frozen=True)
class Chain:
    """A method: transforms applied in order to an update that starts empty, then the geometry applies it.

    ``config`` is what :meth:`to_json` writes besides the name. A chain whose parts are all stateless has state
    None (so ``update(params, None, fo, t)`` works for it).

    **Fused path.** When the chain is ``gradient()`` followed by links that only shift the log scale (each has
    ``log_shift``: normalize, scale, a schedule, Polyak's length) on the Euclidean geometry, and the parameters
    are one array, a step is ``params - e^{ls} direction`` with ls = log ||grad L|| shifted by each link in
    turn: the same operations, in the same order, as the generic path (so the same values, bit for bit;
    tests/test_methods.py checks it), without building an Update per link. At small shapes that
    bookkeeping was up to about a fifth of a whole step's time (docs/performance.md)."""

    name: str
    transforms: tuple[Transform, ...]
    geometry: Geometry = EUCLIDEAN
    config: dict = field(default_factory=dict)
    _log_links: tuple | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_log_links", _log_scale_links(self.transforms, self.geometry))

    @property
    def needs_loss_gap(self) -> bool:
        """Whether a step reads log(L - L*) (Polyak's length does); the runner may skip that metric otherwise."""
        return any(tr.needs_loss_gap for tr in self.transforms)

    def init(self, params: Any) -> ChainState | None:
        states = tuple(tr.init(params) for tr in self.transforms)
        geo = self.geometry.init(params)
        return None if geo is None and all(s is None for s in states) else ChainState(states, geo)

    def update(self, params: Any, state: ChainState | None, fo: Any, t: int) -> tuple[Any, ChainState | None]:
        if self._log_links is not None and not isinstance(fo.unit_grad, tuple):
            ls = fo.log_grad_norm
            for link in self._log_links:
                ls = link.log_shift(ls, fo, t)
            return _subtract_from(params, _exp_times(ls, fo.unit_grad), fresh=True), None
        states = state.transforms if state is not None else (None,) * len(self.transforms)
        u: Update | None = None
        new_states = []
        for tr, s in zip(self.transforms, states, strict=True):
            u, s = tr.update(u, s, fo, t)
            new_states.append(s)
        if u is None:
            raise VerifyInputError(f"method {self.name!r} has no transforms")
        params, geo = self.geometry.apply(params, state.geometry if state is not None else None, u)
        if geo is None and all(s is None for s in new_states):
            return params, None
        return params, ChainState(tuple(new_states), geo)

    def step_error(self, state: ChainState | None) -> np.ndarray | None:
        """The geometry's estimate of the last update's relative error (None for the Euclidean one)."""
        return self.geometry.step_error(state.geometry if state is not None else None)

    def to_json(self) -> dict:
        return {"name": self.name, **self.config}


def _log_scale_links(transforms: tuple, geometry: Any) -> tuple | None:
    """The links after a plain ``gradient()`` when every one has ``log_shift`` and the geometry is the Euclidean
    one, for Chain's fused path; else None. Such links are stateless and keep the update in log form of norm
    e^{log_scale}, so the generic path's checks (``_needs``) always pass there."""
    if not transforms or type(geometry) is not Euclidean:
        return None
    head, rest = transforms[0], transforms[1:]
    if type(head) is not Gradient or not head.log_space or head.term is not None:
        return None
    if not all(callable(getattr(tr, "log_shift", None)) for tr in rest):
        return None
    return tuple(rest)


def chain(*transforms: Transform, geometry: Geometry = EUCLIDEAN, name: str = "chain",
          config: dict | None = None) -> Chain:
    """A method from transforms, like ``optax.chain``: ``chain(gradient(), normalize(), scale(0.1))`` is NGD."""
    return Chain(name, tuple(transforms), geometry, dict(config or {}))


# ---------------------------------------------------------------------------------------- named methods
def gd(eta: float, per_block: bool = False) -> Chain:
    """W <- W - eta grad L (log length log eta + log ||grad L||)."""
    eta = _positive("eta", eta)
    return chain(gradient(per_block), scale(eta), name="gd",
                 config={"eta": eta, **({"normalize": "block"} if per_block else {})})


def ngd(eta: float, per_block: bool = False) -> Chain:
    """W <- W - eta grad L / ||grad L|| (log length 0 + log eta)."""
    eta = _positive("eta", eta)
    return chain(gradient(per_block), normalize(), scale(eta), name="ngd",
                 config={"eta": eta, **({"normalize": "block"} if per_block else {})})


def polyak(c: float, per_block: bool = False) -> Chain:
    """W <- W - (L - L*)/(c ||grad L||^2) grad L (log length log(L - L*) - log c - log ||grad L||)."""
    c = _positive("polyak c", c)
    return chain(gradient(per_block), scale_by_polyak(c), name="polyak",
                 config={"c": c, **({"normalize": "block"} if per_block else {})})


def adam(lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, decay_power: float = 0.0) -> Chain:
    """W <- W - lr_t * mh / (sqrt(vh) + eps) (:class:`ScaleByAdam`), lr_t = lr (constant, the default) or
    lr / (t + 1)^decay_power (:class:`ScaleBySchedule`)."""
    lr = _positive("eta (Adam's learning rate)", lr)
    step: Transform = scale(lr) if decay_power == 0 else scale_by_schedule(lr, decay_power)
    return chain(gradient(), scale_by_adam(b1, b2, eps), step, name="adam",
                 config={"lr": lr, "b1": b1, "b2": b2, "eps": eps,
                         **({"decay_power": decay_power} if decay_power else {})})


def rmsprop(lr: float, decay: float = 0.99, eps: float = 1e-8, decay_power: float = 0.0) -> Chain:
    """W <- W - lr_t * g / (sqrt(v) + eps), v <- decay v + (1 - decay) g^2 (:class:`ScaleByRms`), lr_t = lr or
    lr / (t + 1)^decay_power."""
    lr = _positive("eta (RMSprop's learning rate)", lr)
    step: Transform = scale(lr) if decay_power == 0 else scale_by_schedule(lr, decay_power)
    return chain(gradient(), scale_by_rms(decay, eps), step, name="rmsprop",
                 config={"lr": lr, "decay": decay, "eps": eps,
                         **({"decay_power": decay_power} if decay_power else {})})


def sign_gd(eta: float, decay_power: float = 0.0) -> Chain:
    """W <- W - eta sign(grad L), elementwise. This is normalized steepest descent in the entrywise max norm:
    sign(g) = argmax {<g, v> : ||v||_inf <= 1} (for entries g_j = 0 any v_j in [-1, 1] attains it; 0 is taken),
    so the step is eta times the unit l-infinity steepest-descent direction; its length ||eta sign(g)||_inf is
    eta whenever g != 0."""
    eta = _positive("eta", eta)
    step: Transform = scale(eta) if decay_power == 0 else scale_by_schedule(eta, decay_power)
    return chain(gradient(), sign(), step, name="signgd",
                 config={"eta": eta, **({"decay_power": decay_power} if decay_power else {})})


def lp_mirror_descent(p: float, eta: float, normalized: bool = True, blockwise: bool = True) -> Chain:
    """lp mirror descent: Theta <- Theta - eta G, W = phi^{-1}(Theta) (:class:`MirrorLp`), with G = grad L
    (plain) or G = grad L / ||grad L||_q, q = p/(p-1) (``normalized``); for tuple parameters G is normalized per
    block (``blockwise``) or over the concatenation. The plain step forms eta e^{log ||grad L||} in the working
    number type, as the dual iterate is a plain array. At p = 2 plain is GD and normalized is NGD."""
    p = check_exponent(p)
    eta = _positive("eta", eta)
    q = p / (p - 1.0)
    direction: tuple[Transform, ...] = ((gradient(per_block=True), normalize_lq(q, blockwise)) if normalized
                                        else (gradient(per_block=True, log_space=False),))
    return chain(*direction, scale(eta), geometry=mirror_lp(p), name="lp-md",
                 config={"p": p, "eta": eta, "normalized": normalized, "blockwise": blockwise})


# ------------------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Param:
    """A parameter a method takes from a claim's params: key, default (None: required), one-line meaning, the
    name errors use, and its type (float or bool)."""

    name: str
    default: float | bool | None
    doc: str
    label: str = ""
    kind: type = float

    def read(self, params: Mapping[str, Any], method: str) -> Any:
        """This parameter's value from ``params`` (its default when absent), converted to its type."""
        v = params.get(self.name, self.default)
        if v is None:
            raise VerifyInputError(f"method {method!r} needs the parameter {self.name!r} ({self.doc})")
        if self.kind is bool:
            return bool(v)
        try:
            return float(v)
        except (TypeError, ValueError):
            raise VerifyInputError(f"{self.label or self.name} must be a number, got {v!r}") from None


@dataclass(frozen=True)
class MethodSpec:
    """One row of :data:`METHOD_TABLE`.

    ``build(params, per_block)`` makes the method from the values of ``params`` (validated there);
    ``per_block`` is the normalization of tuple parameters (``normalize`` = "block"). ``along_gradient``: every
    update is a scalar multiple of the gradient, so the iterates stay in W_0 + the span of the gradients and a
    problem may carry the parameters in coordinates of that span; False for elementwise updates (Adam, sign,
    mirror maps), which need the parameter array itself. ``per_block_default`` is its normalization when none is
    given (elementwise methods ignore the normalization)."""

    name: str
    summary: str
    update: str
    params: tuple[Param, ...]
    build: Callable[[dict, bool], Method]
    along_gradient: bool
    per_block_default: bool = False


_ETA = Param("eta", 0.1, "step size", "eta")
METHOD_TABLE: dict[str, MethodSpec] = {s.name: s for s in (
    MethodSpec("gd", "gradient descent", "W <- W - eta grad L", (_ETA,),
               lambda kw, pb: gd(kw["eta"], pb), along_gradient=True),
    MethodSpec("ngd", "normalized gradient descent", "W <- W - eta grad L / ||grad L||", (_ETA,),
               lambda kw, pb: ngd(kw["eta"], pb), along_gradient=True),
    MethodSpec("polyak", "Polyak step", "W <- W - (L - L*) / (c ||grad L||^2) grad L",
               (Param("c", 1.0, "Polyak's constant (the classic rule has c = 1)", "polyak c"),),
               lambda kw, pb: polyak(kw["c"], pb), along_gradient=True),
    MethodSpec("adam", "Adam (b1 = 0.9, b2 = 0.999, eps = 1e-8)",
               "m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g^2, W <- W - eta mh / (sqrt(vh) + eps)",
               (Param("eta", 0.1, "learning rate", "eta (Adam's learning rate)"),),
               lambda kw, pb: adam(kw["eta"]), along_gradient=False),
    MethodSpec("rmsprop", "RMSprop (decay = 0.99, eps = 1e-8, no bias correction)",
               "v <- decay v + (1-decay) g^2, W <- W - eta g / (sqrt(v) + eps)",
               (Param("eta", 0.1, "learning rate", "eta (RMSprop's learning rate)"),),
               lambda kw, pb: rmsprop(kw["eta"]), along_gradient=False),
    MethodSpec("signgd", "sign gradient descent", "W <- W - eta sign(grad L)", (_ETA,),
               lambda kw, pb: sign_gd(kw["eta"]), along_gradient=False),
    MethodSpec("lp-md", "lp mirror descent, potential (1/p)||W||_p^p",
               "Theta <- Theta - eta G, W = sign(Theta)|Theta|^{1/(p-1)}; G = grad L or grad L / ||grad L||_q",
               (Param("p", None, "exponent of the potential, 1 < p < inf", "p"), _ETA,
                Param("normalized", True, "G = grad L / ||grad L||_q (else grad L)", kind=bool)),
               lambda kw, pb: lp_mirror_descent(kw["p"], kw["eta"], kw["normalized"], pb),
               along_gradient=False, per_block_default=True),
)}

METHODS = tuple(METHOD_TABLE)
NORMALIZATIONS = ("joint", "block")


def names() -> tuple[str, ...]:
    """The registered method names, in table order (the command line's ``--method`` choices)."""
    return tuple(METHOD_TABLE)


def method_spec(name: str) -> MethodSpec:
    """The table row of ``name``; an unknown name is a VerifyInputError."""
    try:
        return METHOD_TABLE[name]
    except KeyError:
        raise VerifyInputError(f"unknown method {name!r}; expected one of {', '.join(METHOD_TABLE)}") from None


def method_params(name: str, params: Mapping[str, Any]) -> dict:
    """The parameters method ``name`` takes from a claim's ``params``, with their defaults (e.g. {"eta": 0.1}
    for gd, {"c": 1.0} for polyak); other keys are not read."""
    spec = method_spec(name)
    return {prm.name: prm.read(params, name) for prm in spec.params}


def make_method(name: str, normalize: str | None = None, **params: Any) -> Method:
    """The method ``name`` of :data:`METHOD_TABLE` with its parameters from ``params`` (defaults for the absent
    ones; keywords the method does not take, such as a Polyak ``c`` passed to gd, are not read). ``normalize``
    (tuple parameters): ``joint`` over the concatenated gradient or ``block`` per block; None is the method's
    default. Invalid names and values raise VerifyInputError."""
    if normalize is not None and normalize not in NORMALIZATIONS:
        raise VerifyInputError(f"unknown normalization {normalize!r}; expected 'joint' or 'block'")
    spec = method_spec(name)
    per_block = spec.per_block_default if normalize is None else normalize == "block"
    return spec.build(method_params(name, params), per_block)


def make_rule(name: str, eta: float = 0.1, c: float = 1.0) -> Method:
    """A method of the GD family (``along_gradient``), normalized over the concatenated gradient."""
    if not method_spec(name).along_gradient:
        raise VerifyInputError(f"{name!r} is not a step rule along the gradient")
    return make_method(name, "joint", eta=eta, c=c)
