"""Step rules: generic, pure, and attention-agnostic.

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
from typing import Any

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

    def to_json(self) -> dict:
        return {"name": self.name, **self.params}


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
