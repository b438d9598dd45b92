"""The attention classifier's loss and closed-form gradient, declared for the conformance suite.

``ATTENTION_GRADIENT`` lets :mod:`verify.conformance` compare grad_W L (the stable kernel) with a
Richardson-extrapolated central difference of L, for any theorem module whose instances use this model.
"""

from __future__ import annotations

import math

import numpy as np

from theorems.attention import classifier as ac
from verify.backends import get_backend
from verify.theory import GradientSpec


def _first_order(inst: ac.AttentionInstance, W: np.ndarray) -> ac.FirstOrder:
    problem = ac.build_problem(get_backend("numpy"), ac.stack([inst]), "dense")
    return problem.first_order(np.asarray(W, dtype=float)[None])


def attention_loss(inst: ac.AttentionInstance, W: np.ndarray) -> float:
    """L(W) = (1/n) sum_i log(1 + exp(-y_i f_i(W))), from the stable kernel (relative to the top token)."""
    return float(_first_order(inst, W).kernel.loss[0])


def attention_grad(inst: ac.AttentionInstance, W: np.ndarray) -> np.ndarray:
    """grad_W L in the stable form (docs/catalogue.md, "Gradients"): unit direction times e^{log ||grad L||}."""
    fo = _first_order(inst, W)
    return np.asarray(fo.unit_grad[0]) * math.exp(float(fo.log_grad_norm[0]))


def attention_point(inst: ac.AttentionInstance, rng: np.random.Generator) -> np.ndarray:
    """W0 plus a random matrix scaled so that logits move by O(1): the softmax is not saturated there, so the
    loss is not flat to rounding and finite differences are informative."""
    scale = float(np.max(ac.rank_one_norms(inst)))
    return inst.W0 + rng.normal(size=inst.W0.shape) / (scale * inst.d)


ATTENTION_GRADIENT = GradientSpec(point=attention_point, loss=attention_loss, grad=attention_grad,
                                  name="attention classifier (fixed decoder)")
