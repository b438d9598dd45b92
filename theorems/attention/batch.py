"""Batch runner of the attention classifier for ``verify check``, ``audit`` and ``sweep`` (``Model.simulate_batch``).

One vectorized trajectory per group of B instances (the kernels are batched over the leading axis): small
instances of any shapes padded together for float64 Gram runs (:mod:`theorems.attention.padding`), instances of
one shape otherwise. It runs when the first of them needs it and is sliced into B single-instance trajectories:
each instance's claim cache holds the call that gives its slice, which ``theorems.attention.claims.simulate``
makes. Only what ``simulate`` would run is batched: the claim's step rule when every update is along the gradient
(``MethodSpec.along_gradient``: gd, ngd, polyak; the Gram representation is exact for them) with the parameters
``method_params`` gives it, under the settings' backend, precision, horizon and representation. Anything else
(Adam, sign descent, mirror descent) returns empty caches, and the claim then runs per instance as usual.
"""

from __future__ import annotations

from theorems.attention import classifier as ac
from theorems.attention.padding import buckets, build_padded_problem, instance_slice
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


class LazyBatch:
    """The batched run of a group of instances (one shape, or padded), started when the first of them asks for its
    trajectory, so an instance whose evaluator never reads the cache (a joint-training claim, a comparison of two
    methods) costs nothing. A batched run that fails (precision lost or an input problem in any instance) gives no
    trajectory, and each instance then runs alone, as it would without a batch."""

    def __init__(self, instances: list[ac.AttentionInstance], rule: object, settings: Settings,
                 padded: bool = False) -> None:
        self._instances, self._rule, self._settings, self._padded = instances, rule, settings, padded
        self._tr: Trajectory | None = None
        self._failed = False

    def trajectory(self, b: int) -> Trajectory | None:
        if self._tr is None and not self._failed:
            bk = get_backend(self._settings.backend, self._settings.dps)
            try:
                problem = (build_padded_problem(bk, self._instances) if self._padded else
                           ac.build_problem(bk, ac.stack(self._instances), self._settings.representation))
                self._tr = run(problem, self._rule, self._settings.steps)  # type: ignore[arg-type]
            except (FloatingPointError, VerifyInputError):  # each instance runs alone (and reports its own problem)
                self._failed = True
        if self._tr is None:
            return None
        return instance_slice(self._tr, b, self._instances[b]) if self._padded else slice_trajectory(self._tr, b)


def groups(instances: list[ac.AttentionInstance], settings: Settings) -> list[tuple[list[int], bool]]:
    """(indices, padded) per batch: float64 numpy Gram runs pad instances of different shapes together
    (:func:`theorems.attention.padding.buckets`); any other run groups instances of one shape (n, T, d)."""
    if settings.backend == "numpy" and ac.representation_of(settings.representation) == "gram":
        return [(g, len({(instances[k].n, instances[k].T, instances[k].d) for k in g}) > 1)
                for g in buckets([(i.n, i.T) for i in instances])]
    shapes: dict[tuple[int, int, int], list[int]] = {}
    for k, inst in enumerate(instances):
        shapes.setdefault((inst.n, inst.T, inst.d), []).append(k)
    return [(g, False) for g in shapes.values()]


def prefill(claim: Claim, instances: list[ac.AttentionInstance], settings: Settings) -> list[dict]:
    """Per instance, ``{trajectory_cache_key(...): trajectory}``, where the trajectory is a call that gives the
    instance's slice of its shape's batched run (:class:`LazyBatch`, run on first call) or None; ``{}`` for every
    instance when the claim's method is not a GD-type step rule."""
    from functools import partial

    from theorems.attention.claims import method_params

    out: list[dict] = [{} for _ in instances]
    if not _along_gradient(claim.method):
        return out
    params = method_params(claim.method, claim.params)
    rule = make_rule(claim.method, **params)
    key = trajectory_cache_key(claim.method, params, settings)
    for group, padded in groups(instances, settings):
        batch = LazyBatch([instances[k] for k in group], rule, settings, padded)
        for b, k in enumerate(group):
            out[k] = {key: partial(batch.trajectory, b)}
    return out
