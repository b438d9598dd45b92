"""Batch runner of the attention classifier for ``verify check``, ``audit`` and ``sweep`` (``Model.simulate_batch``).

One vectorized trajectory for the B instances of each shape (the kernels are batched over the leading axis), run
when the first of them needs it and sliced into B single-instance trajectories: each instance's claim cache holds
the call that gives its slice, which ``theorems.attention.claims.simulate`` makes. Only what ``simulate`` would run
is batched: the claim's step rule when every update is along the gradient (``MethodSpec.along_gradient``: gd, ngd,
polyak; the Gram representation is exact for them) with the parameters ``method_params`` gives it, under the
settings' backend, precision, horizon and representation. Anything else (Adam, sign descent, mirror descent)
returns empty caches, and the claim then runs per instance as usual.
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
    """Instance ``b`` of a batched trajectory, as a batch of one (with the batch's notes and its own)."""
    return tr.take(b)  # lazy records stay lazy: a Gram run's W is rebuilt only when the claim reads it


class ShapeBatch:
    """The batched run of one shape's instances, started when the first of them asks for its trajectory, so an
    instance whose evaluator never reads the cache (a joint-training claim, a comparison of two methods) costs
    nothing. A batched run that fails (precision lost or an input problem in any instance) gives no trajectory,
    and each instance then runs alone, as it would without a batch."""

    def __init__(self, instances: list[ac.AttentionInstance], rule: object, settings: Settings) -> None:
        self._instances, self._rule, self._settings = instances, rule, settings
        self._tr: Trajectory | None = None
        self.failed: str | None = None

    def trajectory(self, b: int) -> Trajectory | None:
        if self._tr is None and self.failed is None:
            bk = get_backend(self._settings.backend, self._settings.dps)
            try:
                self._tr = run(ac.build_problem(bk, ac.stack(self._instances), self._settings.representation),
                               self._rule, self._settings.steps)  # type: ignore[arg-type]
            except (FloatingPointError, VerifyInputError) as exc:
                self.failed = f"batched run failed ({exc}); instances evaluated one by one"
        return None if self._tr is None else slice_trajectory(self._tr, b)


def prefill(claim: Claim, instances: list[ac.AttentionInstance], settings: Settings) -> list[dict]:
    """Per instance, ``{trajectory_cache_key(...): trajectory}``, where the trajectory is a call that gives the
    instance's slice of its shape's batched run (:class:`ShapeBatch`, run on first call) or None; ``{}`` for every
    instance when the claim's method is not a GD-type step rule."""
    from functools import partial

    from theorems.attention.claims import method_params

    out: list[dict] = [{} for _ in instances]
    if not _along_gradient(claim.method):
        return out
    params = method_params(claim.method, claim.params)
    rule = make_rule(claim.method, **params)
    key = trajectory_cache_key(claim.method, params, settings)
    shapes: dict[tuple[int, int, int], list[int]] = {}
    for k, inst in enumerate(instances):
        shapes.setdefault((inst.n, inst.T, inst.d), []).append(k)
    for group in shapes.values():
        batch = ShapeBatch([instances[k] for k in group], rule, settings)
        for b, k in enumerate(group):
            out[k] = {key: partial(batch.trajectory, b)}
    return out
