"""Batch runner of the attention classifier for ``verify sweep`` (see :mod:`verify.sweep`).

One vectorized trajectory for B instances of one shape (the kernels are batched over the leading axis), then
sliced into B single-instance trajectories left in each instance's claim cache, where
``theorems.attention.claims.simulate`` finds them. Only what ``simulate`` would run is precomputed: the claim's
step rule when every update is along the gradient (``MethodSpec.along_gradient``: gd, ngd, polyak; the Gram
representation is exact for them) with the parameters ``method_params`` gives it, under the settings' backend,
precision, horizon and representation. Anything else (Adam, sign descent, mirror descent) returns empty caches,
and the claim then runs per instance as usual.
"""

from __future__ import annotations

from theorems.attention import classifier as ac
from verify.backends import get_backend
from verify.errors import VerifyInputError
from verify.methods import make_rule, method_spec
from verify.model import trajectory_cache_key
from verify.theory import Claim, Settings
from verify.trajectory import Trajectory, run


def _along_gradient(method: str) -> bool:
    """Every update is a multiple of the gradient, so the iterates stay in W0 + span{x z^T}: Gram is exact."""
    try:
        return method_spec(method).along_gradient
    except VerifyInputError:
        return False


def slice_trajectory(tr: Trajectory, b: int) -> Trajectory:
    """Instance ``b`` of a batched trajectory, as a batch of one (notes are the batch's: they name no instance)."""
    return tr.take(b)  # lazy records stay lazy: a Gram run's W is rebuilt only when the claim reads it


def prefill(claim: Claim, instances: list[ac.AttentionInstance], settings: Settings) -> list[dict]:
    """Per instance, ``{trajectory_cache_key(...): Trajectory}`` from one batched run (or ``{}`` when the claim's
    method is not a GD-type step rule)."""
    from theorems.attention.claims import method_params

    if not _along_gradient(claim.method):
        return [{} for _ in instances]
    params = method_params(claim.method, claim.params)
    rule = make_rule(claim.method, **params)
    bk = get_backend(settings.backend, settings.dps)
    tr = run(ac.build_problem(bk, ac.stack(instances), settings.representation), rule, settings.steps)
    key = trajectory_cache_key(claim.method, params, settings)
    return [{key: slice_trajectory(tr, b)} for b in range(len(instances))]
