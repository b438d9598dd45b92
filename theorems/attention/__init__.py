"""The one-layer softmax attention classifier as a model (shared by VDT24, PRIOR and JTA24).

The math is in :mod:`theorems.attention.classifier` (instances, scores, the stable softmax-logistic kernels, the
``gram`` and ``dense`` representations); the max-margin problems in :mod:`theorems.attention.svm` (Att-SVM,
decoder SVM, relaxed SVM) and :mod:`theorems.attention.svm_lp` (lp-Att-SVM); the claims' evaluators in
:mod:`theorems.attention.claims`; its CLI verbs (``verify svm``, ``verify trace``) in
:mod:`theorems.attention.cli`. This package registers it with the engine as :data:`MODEL`:

- instances of schema ``attention-classification/1``;
- two representations, ``gram`` (W = W0 + sum_{i,t} c_{i,t} x_{i,t} z_i^T, exact for GD-type methods; a step
  costs O((nT)^2) whatever d) and ``dense`` (W itself), so a violation found on one is confirmed on the other;
- a batch runner for ``verify sweep`` (one vectorized trajectory per shape group);
- the gradient spec of L(W) = (1/n) sum_i log(1 + exp(-y_i u^T X_i^T softmax(X_i W z_i))).
"""

from __future__ import annotations

from typing import Any

from theorems.attention import classifier as ac
from theorems.attention.gradient import ATTENTION_GRADIENT
from theorems.attention.shrink import moves as shrink_moves
from verify.model import Model
from verify.theory import Claim, Settings


def _prefill(claim: Claim, instances: list, settings: Settings) -> list[dict]:
    from theorems.attention.batch import prefill

    return prefill(claim, instances, settings)


def _add_commands(sub: Any) -> None:
    from theorems.attention.cli import add_commands

    add_commands(sub)


MODEL = Model(
    key="attention-classification",
    title="one-layer softmax attention classifier f(X) = u^T X^T softmax(X W z)",
    schema=ac.SCHEMA,
    load_instance=ac.instance_from_json,
    representations=(ac.DEFAULT_REPRESENTATION, *(r for r in ac.REPRESENTATIONS if r != ac.DEFAULT_REPRESENTATION)),
    simulate_batch=_prefill,
    gradient=ATTENTION_GRADIENT,
    add_commands=_add_commands,
    shrink=shrink_moves,
)
