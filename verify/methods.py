"""Methods: generic, pure, attention-agnostic transforms in the style of optax.

A *method* has ``init(params) -> method_state`` and
``update(params, method_state, first_order, t) -> (new_params, new_method_state)``; parameters may be an array
or a tuple of arrays (joint training), and ``first_order`` is whatever the problem's ``first_order`` returns
(at least ``unit_grad``, ``log_grad_norm`` and ``log_loss_gap``). Stateful or elementwise methods (Adam, mirror
descent) implement the protocol directly; the GD family below is a :class:`StepRule`.

Every GD-type method moves against the gradient; it differs only in the step *length*
||W_{t+1} - W_t||_F. A step rule maps (log ||grad L||, log(L - L*), t) to log of that length, so the whole
computation stays in log space and never underflows:

- GD:     length = eta ||grad L||                       (W <- W - eta grad L)
- NGD:    length = eta                                  (W <- W - eta grad L / ||grad L||)
- Polyak: length = (L - L*) / (c ||grad L||)            (W <- W - (L - L*)/(c ||grad L||^2) grad L)

For joint (u, W) training the parameters are a tuple and the problem's first order also carries per-block
unit gradients and norms (``block_unit_grad``, ``block_log_grad_norm``): a :class:`StepRule` normalizes over the
concatenated gradient, a :class:`BlockStepRule` applies the same rule to each block with that block's own norm
(PRIOR's code normalizes per block). :class:`Adam` is the usual Adam, carried in log-scaled form so that its
moments survive gradients far below float64's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

from verify.backends import elementwise_exp, elementwise_sqrt, isfinite
from verify.errors import VerifyInputError


@dataclass(frozen=True)
class StepRule:
    """A named step-length rule with its parameters (e.g. ``StepRule("ngd", {"eta": 0.1})``)."""

    name: str
    params: dict

    def log_length(self, log_grad_norm: Any, log_loss_gap: Any, t: int) -> Any:
        """log ||W_{t+1} - W_t||_F, elementwise over a batch (numpy or mpmath arrays)."""
        eta = float(self.params.get("eta", 0.0))
        if self.name == "gd":
            return math.log(eta) + log_grad_norm
        if self.name == "ngd":
            return log_grad_norm * 0 + math.log(eta)
        if self.name == "polyak":
            return log_loss_gap - math.log(self.params["c"]) - log_grad_norm
        raise VerifyInputError(f"unknown step rule {self.name!r}")

    @property
    def needs_loss_gap(self) -> bool:
        """Whether a step reads log(L - L*) (Polyak's length does; GD's and NGD's do not). The trajectory runner
        lets a problem skip that metric on steps that are not checkpoints when it is not needed."""
        return self.name == "polyak"

    def init(self, params: Any) -> None:
        return None

    def update(self, params: Any, state: None, fo: Any, t: int) -> tuple[Any, None]:
        """params - exp(log_length) * unit_grad (blockwise for tuple parameters)."""
        return tree_axpy(params, fo.unit_grad, self.log_length(fo.log_grad_norm, fo.log_loss_gap, t)), None

    def to_json(self) -> dict:
        return {"name": self.name, **self.params}


class Method(Protocol):
    """The optax-style protocol the trajectory runner drives."""

    @property
    def name(self) -> str: ...

    def init(self, params: Any) -> Any: ...

    def update(self, params: Any, state: Any, fo: Any, t: int) -> tuple[Any, Any]: ...

    def to_json(self) -> dict: ...

    # Optional: ``needs_loss_gap`` (bool, default True when absent): whether ``update`` reads
    # ``fo.log_loss_gap``; when False the runner may skip that metric on steps that are not checkpoints.


def tree_axpy(params: Any, direction: Any, log_length: Any) -> Any:
    """params - exp(log_length) * direction, batched over the leading axis; tuples are handled per block."""
    if isinstance(params, tuple):
        return tuple(tree_axpy(p, d, log_length) for p, d in zip(params, direction, strict=True))
    length = elementwise_exp(log_length)
    shape = (-1,) + (1,) * (np.ndim(params) - 1)
    is_torch = type(length).__module__.partition(".")[0] == "torch"
    scaled = length.reshape(shape) if is_torch else np.reshape(length, shape)
    return params - scaled * direction


@dataclass(frozen=True)
class BlockStepRule:
    """A :class:`StepRule` applied to each block of tuple parameters with that block's own gradient norm.

    Block b moves by exp(rule.log_length(log ||grad_b L||, log(L - L*), t)) along -grad_b L / ||grad_b L||. A block
    whose gradient is exactly zero (log norm -inf, e.g. the W block at u = 0) does not move (length 0, never
    0 * inf). For GD this equals the joint rule (GD's step does not depend on the normalization).
    """

    rule: StepRule

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def needs_loss_gap(self) -> bool:
        return self.rule.needs_loss_gap

    def init(self, params: Any) -> None:
        return None

    def update(self, params: Any, state: None, fo: Any, t: int) -> tuple[Any, None]:
        out = []
        for p, d, lg in zip(params, fo.block_unit_grad, fo.block_log_grad_norm, strict=True):
            with np.errstate(invalid="ignore"):  # -inf * 0 for a zero block; replaced just below
                ll = self.rule.log_length(lg, fo.log_loss_gap, t)
            dead = ~np.asarray(isfinite(np.asarray(lg)), dtype=bool)
            ll = np.where(dead, _NEG_INF, ll) if np.ndim(ll) else (_NEG_INF if bool(np.all(dead)) else ll)
            out.append(tree_axpy(p, d, ll))
        return tuple(out), None

    def to_json(self) -> dict:
        return {**self.rule.to_json(), "normalize": "block"}


_NEG_INF = -math.inf


class AdamState(NamedTuple):
    """Adam's moments in log-scaled form: m = e^{sm} m_hat, v = e^{sv} v_hat (per block, per batch entry)."""

    sm: Any
    m: Any
    sv: Any
    v: Any


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba), a comparator only (docs/catalogue.md, "Methods"):

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
        W <- W - lr * mh / (sqrt(vh) + eps),   mh = m / (1 - b1^{t+1}),  vh = v / (1 - b2^{t+1}),

    elementwise (so it needs the dense representation). The gradient arrives as e^{lg} * unit; the moments are
    carried as e^{s} * (scaled array) with the scales updated in log space, so they never underflow. The update
    mh / (sqrt(vh) + eps) is evaluated as e^{sm - sv/2} m_hat / (sqrt(v_hat) + eps e^{-sv/2}), which is exact
    algebra; once eps e^{-sv/2} overflows, the update is 0 to working precision (Adam's eps then dominates,
    exactly as in float arithmetic with unbounded range).
    """

    lr: float
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    @property
    def name(self) -> str:
        return "adam"

    needs_loss_gap = False  # Adam reads the gradient only

    def init(self, params: Any) -> Any:
        if isinstance(params, tuple):
            return tuple(self.init(p) for p in params)
        B = np.shape(params)[0]
        zero = params * 0
        ninf = np.full(B, _NEG_INF)
        return AdamState(ninf, zero, ninf.copy(), zero.copy())

    def update(self, params: Any, state: Any, fo: Any, t: int) -> tuple[Any, Any]:
        if isinstance(params, tuple):
            units = fo.unit_grad
            pairs = [self._update(p, s, u, fo.log_grad_norm, t) for p, s, u in zip(params, state, units, strict=True)]
            return tuple(p for p, _ in pairs), tuple(s for _, s in pairs)
        return self._update(params, state, fo.unit_grad, fo.log_grad_norm, t)

    def _update(self, p: Any, s: AdamState, unit: Any, lg: Any, t: int) -> tuple[Any, AdamState]:
        lg = np.asarray(lg)
        shape = (-1,) + (1,) * (np.ndim(p) - 1)
        sm = np.maximum(s.sm + math.log(self.b1), lg + math.log(1 - self.b1))
        sm = np.where(isfinite(np.asarray(sm)), sm, 0)
        m = (elementwise_exp(s.sm + math.log(self.b1) - sm).reshape(shape) * s.m
             + elementwise_exp(lg + math.log(1 - self.b1) - sm).reshape(shape) * unit)
        sv = np.maximum(s.sv + math.log(self.b2), 2 * lg + math.log(1 - self.b2))
        sv = np.where(isfinite(np.asarray(sv)), sv, 0)
        v = (elementwise_exp(s.sv + math.log(self.b2) - sv).reshape(shape) * s.v
             + elementwise_exp(2 * lg + math.log(1 - self.b2) - sv).reshape(shape) * unit * unit)
        c1, c2 = 1 - self.b1 ** (t + 1), 1 - self.b2 ** (t + 1)
        # mh / (sqrt(vh) + eps) = e^{sm - sv/2} (m/c1) / (sqrt(v/c2) + eps e^{-sv/2})
        with np.errstate(over="ignore"):
            eps_s = self.eps * elementwise_exp(-sv / 2) if self.eps > 0 else sv * 0
        den = elementwise_sqrt(v / c2) + eps_s.reshape(shape)
        step = elementwise_exp(sm - sv / 2).reshape(shape) * (m / c1) / den
        return p - self.lr * step, AdamState(sm, m, sv, v)

    def to_json(self) -> dict:
        return {"name": "adam", "lr": self.lr, "b1": self.b1, "b2": self.b2, "eps": self.eps}


METHODS = ("gd", "ngd", "polyak", "adam")


def _positive(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise VerifyInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise VerifyInputError(f"{name} must be a positive finite number, got {value!r}")
    return v


def make_rule(name: str, eta: float = 0.1, c: float = 1.0) -> StepRule:
    """Validated constructor: ``eta`` > 0 for GD/NGD, ``c`` > 0 for Polyak."""
    if name in ("gd", "ngd"):
        return StepRule(name, {"eta": _positive("eta", eta)})
    if name == "polyak":
        return StepRule(name, {"c": _positive("polyak c", c)})
    raise VerifyInputError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")


def make_method(name: str, eta: float = 0.1, c: float = 1.0, normalize: str = "joint") -> Any:
    """Any method by name: the GD family (``normalize`` = ``joint`` | ``block`` for tuple parameters) or
    ``adam`` (``eta`` is its learning rate). Invalid names and values raise VerifyInputError."""
    if normalize not in ("joint", "block"):
        raise VerifyInputError(f"unknown normalization {normalize!r}; expected 'joint' or 'block'")
    if name == "adam":
        return Adam(_positive("eta (Adam's learning rate)", eta))
    rule = make_rule(name, eta, c)
    return BlockStepRule(rule) if normalize == "block" else rule
