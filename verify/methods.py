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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

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


def _exp(x: Any) -> Any:
    """exp for float64 arrays and for (object arrays of) mpmath numbers."""
    arr = np.asarray(x)
    if arr.dtype == object:
        import mpmath

        out = np.frompyfunc(mpmath.exp, 1, 1)(arr)
        return out
    return np.exp(arr)


def tree_axpy(params: Any, direction: Any, log_length: Any) -> Any:
    """params - exp(log_length) * direction, batched over the leading axis; tuples are handled per block."""
    if isinstance(params, tuple):
        return tuple(tree_axpy(p, d, log_length) for p, d in zip(params, direction, strict=True))
    length = _exp(log_length)
    shape = (-1,) + (1,) * (np.ndim(params) - 1)
    return params - np.reshape(length, shape) * direction


METHODS = ("gd", "ngd", "polyak")


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
