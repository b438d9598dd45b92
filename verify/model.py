"""The model contract: what the engine needs to know about a model, and nothing more.

A *model* is the mathematical object that theorems talk about (a classifier, a regressor, a network with a
given architecture). The engine, the CLI core (``list``, ``check``, ``audit``, ``sweep``, ``replay``, ``show``)
and the confirmations use a model only through a :class:`Model`:

- ``schema`` and ``load_instance``: the JSON schema name of its instances (``"NAME/VERSION"``) and the loader
  ``obj -> instance`` (raising :class:`~verify.errors.VerifyInputError` with one line on bad input). An instance
  has ``to_json()``, and ``load_instance(json.loads(dumps(inst.to_json())))`` gives it back exactly;
- ``representations``: the names of the ways the model can run a method (the first is the default). A model
  with two or more gets a ``cross-backend`` confirmation (the same run in another representation); a model with
  one cannot disagree with itself, so that confirmation is "not applicable";
- ``simulate_batch``: optional, the batch runner of ``verify check``, ``audit`` and ``sweep``: ``(claim,
  instances, settings) -> [cache entries per instance]``, vectorized runs for the instances (grouped as the model
  needs, e.g. by shape), left in each instance's claim cache under :func:`trajectory_cache_key` (a speed-up,
  never a change of result). An entry may be a call that gives the trajectory when the claim first reads it, so a
  claim that never does costs nothing;
- ``gradient``: optional :class:`~verify.theory.GradientSpec` (loss and closed-form gradient), checked by the
  conformance suite against finite differences;
- ``add_commands``: optional, ``(subparsers) -> None``, adds the model's own CLI verbs (each parser sets
  ``fn=`` to a function ``args -> exit code``);
- ``shrink``: optional, ``instance -> iterable of`` :class:`verify.shrink.Move` (candidate smaller instances,
  largest reduction first: drop a sequence, a token, a dimension, round the numbers); the engine shrinks each
  confirmed counterexample with them (:func:`verify.shrink.shrink`), accepting a move only when the smaller
  instance meets the claim's assumptions and its violation is confirmed again.

A theorem module names its model (:attr:`verify.theory.TheoremModule.model`). Models are registered under the
``verify.models`` entry-point group (``key = "pkg.module:MODEL"``); a model that a registered theorem module
names is registered with it. See docs/extending.md for a complete second model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from verify.theory import GradientSpec, Settings

BatchRunner = Callable[[Any, list, "Settings"], list[dict]]


@dataclass(frozen=True)
class Model:
    """A model as the engine sees it (see the module docstring for each field's contract)."""

    key: str
    title: str
    schema: str
    load_instance: Callable[[dict], Any]
    representations: tuple[str, ...] = ("default",)
    simulate_batch: BatchRunner | None = None
    gradient: GradientSpec | None = None
    add_commands: Callable[[Any], None] | None = None
    shrink: Callable[[Any], Iterable[Any]] | None = None

    def __post_init__(self) -> None:
        if not self.key or "/" not in self.schema:
            raise ValueError(f"model {self.key!r}: a key and a schema 'NAME/VERSION' are required, "
                             f"got schema {self.schema!r}")
        if not self.representations:
            raise ValueError(f"model {self.key!r}: at least one representation is required")

    @property
    def default_representation(self) -> str:
        return self.representations[0]

    def other_representation(self, current: str) -> str | None:
        """A representation other than ``current`` (for the cross-backend confirmation), or None."""
        return next((r for r in self.representations if r != current), None)

    def check_representation(self, name: str) -> str:
        """``name``, or the default when empty; a one-line error for a name the model does not have."""
        from verify.errors import VerifyInputError

        if not name:
            return self.default_representation
        if name not in self.representations:
            raise VerifyInputError(f"model {self.key!r} has no representation {name!r}; expected one of "
                                   f"{', '.join(self.representations)}")
        return name

    def to_json(self) -> dict:
        return {"key": self.key, "title": self.title, "schema": self.schema,
                "representations": list(self.representations), "batched": self.simulate_batch is not None,
                "gradient": self.gradient is not None}


def trajectory_cache_key(method: str, params: dict, settings: Settings) -> tuple:
    """The per-instance cache key under which a batch runner leaves a precomputed trajectory of ``method`` with
    ``params`` under ``settings`` (only the fields that change a trajectory)."""
    return ("trajectory", method, tuple(sorted(params.items())), settings.backend, settings.dps, settings.steps,
            settings.representation)
