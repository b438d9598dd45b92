"""The softmax self-attention regressor (GSB26's setting) as a model: instances, loss and gradient.

The model code is :mod:`theorems.regression.regressor` (data, the training loss L_n(A, B) and its closed-form
gradient, the population limit L_inf). This package registers it with the engine as :data:`MODEL`: instances of
schema ``attention-regression/1``, one representation (the factored parameters (A, B) themselves), and the
gradient spec the conformance suite checks against finite differences at theta = (vec A, vec B).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theorems.regression import regressor as ar
from verify.model import Model
from verify.theory import GradientSpec


def _split(inst: ar.RegressionInstance, theta: Any) -> tuple[np.ndarray, np.ndarray]:
    """theta = (vec A, vec B) -> (A: d_y x d, B: d x d)."""
    th = np.asarray(theta, dtype=float)
    k = inst.d_y * inst.d
    return th[:k].reshape(inst.d_y, inst.d), th[k:].reshape(inst.d, inst.d)


def _grad_point(inst: ar.RegressionInstance, rng: Any) -> np.ndarray:
    """theta = (vec A, vec B) at a random point of moderate logit scale."""
    return 0.5 * np.asarray(rng.standard_normal(inst.d_y * inst.d + inst.d * inst.d))


def _grad_loss(inst: ar.RegressionInstance, theta: Any) -> float:
    data = ar.realize(inst)
    return ar.train_loss(*_split(inst, theta), data.X, data.Y)


def _grad_grad(inst: ar.RegressionInstance, theta: Any) -> np.ndarray:
    data = ar.realize(inst)
    _, gA, gB = ar.train_loss_grad(*_split(inst, theta), data.X, data.Y)
    return np.concatenate([gA.ravel(), gB.ravel()])


MODEL = Model(
    key="attention-regression",
    title="softmax self-attention regressor f(x; X) = sum_j softmax_j(x_j^T B^T x) A x_j",
    schema=ar.SCHEMA,
    load_instance=ar.instance_from_json,
    representations=("factored",),
    gradient=GradientSpec(_grad_point, _grad_loss, _grad_grad, name="L_n(A, B)"),
)
