"""Shrink a confirmed violation to a smaller one that still violates the claim (docs/engine.md, "Shrinking").

The search reports whatever instance it hit first; a counterexample a referee can check by hand is worth more.
:func:`shrink` is a greedy loop over the moves of the claim's model (:attr:`verify.model.Model.shrink`, a
function ``instance -> [Move]`` listing smaller candidates, largest reduction first, tried in that order; a
candidate with more numbers than the instance, or the same numbers, is skipped):

- each candidate is assessed like any instance (:func:`verify.engine.assess`): every assumption of the claim must
  hold and the claim must be violated;
- the violation is then confirmed again by the same re-runs and rule as the original
  (:func:`verify.engine.confirm`, :func:`verify.engine.confirmed`);
- the first candidate that passes replaces the instance and the moves are listed again; the loop stops when no
  move is accepted or when ``budget`` candidates have been assessed (``Profile.shrink_evaluations``);
- when the original was checked under the readings of the claim's reconstructed constants, the shrunk instance
  must be violated under every one of them too (:func:`verify.engine.robustness`); if the last accepted instance
  is not, the shrinker steps back along the accepted moves to the last instance that is (at worst the original,
  which is then reported as not shrunk).

Nothing here names a model: what "smaller" means is the model's moves. A model without ``shrink`` is never shrunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from verify.errors import VerifyInputError
from verify.verdicts import VIOLATED

if TYPE_CHECKING:  # pragma: no cover
    from verify.engine import Assessment
    from verify.profiles import Profile
    from verify.theory import Claim, Settings, TheoremModule


@dataclass(frozen=True)
class Move:
    """One candidate smaller instance: the move's name (``drop-sequence``), what it did in words, the result."""

    name: str
    detail: str
    instance: Any


Moves = Callable[[Any], Iterable[Move]]


def size(instance: Any) -> int:
    """How many numbers the instance's JSON holds (a model-free measure of its size)."""

    def count(v: Any) -> int:
        if isinstance(v, (list, tuple)):
            return sum(count(x) for x in v)
        return 1 if isinstance(v, (int, float)) and not isinstance(v, bool) else 0

    obj = instance.to_json()
    return sum(count(v) for k, v in obj.items() if k != "meta")


@dataclass
class ShrinkResult:
    """The outcome of :func:`shrink`: the last accepted assessment (the original when no move was accepted),
    the accepted moves, the candidates assessed and rejected (name and why), and the budget."""

    assessment: Assessment
    accepted: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    evaluations: int = 0
    budget: int = 0
    original_size: int = 0

    @property
    def shrunk(self) -> bool:
        return bool(self.accepted)

    @property
    def exhausted(self) -> bool:
        """The budget ran out before the moves did."""
        return self.evaluations >= self.budget

    def to_json(self) -> dict:
        """The report's ``shrunk`` object: the shrunk instance, its evidence, assumptions, confirmation and
        readings, the accepted moves, and what the search spent."""
        a = self.assessment
        assert a.evidence is not None
        return {"instance": a.instance.to_json(), "size": size(a.instance), "original_size": self.original_size,
                "assumptions": [dict(r) for r in a.assumptions], "evidence": a.evidence.to_json(),
                "confirmation": a.confirmation, "robustness": a.robustness, "status": a.status,
                "moves": self.accepted, "rejected": len(self.rejected), "evaluations": self.evaluations,
                "budget": self.budget, "exhausted": self.exhausted}


def shrink(module: TheoremModule, claim: Claim, a: Assessment, settings: Settings, profile: Profile, *,
           budget: int | None = None, moves: Moves | None = None, robust: bool | None = None) -> ShrinkResult:
    """Greedily shrink the confirmed violation ``a`` (see the module docstring). ``moves`` defaults to the
    model's ``shrink``; ``budget`` to ``profile.shrink_evaluations``; ``robust`` (also demand a violation under
    every reading of the reconstructions) to whether ``a`` was checked under them."""
    from verify.engine import Assessment

    moves = module.model.shrink if moves is None else moves
    budget = profile.shrink_evaluations if budget is None else budget
    robust = bool(a.robustness) if robust is None else robust
    result = ShrinkResult(a, budget=budget, original_size=size(a.instance))
    if moves is None or a.broken is not None:  # an audit breaks an assumption on purpose: nothing to shrink
        return result
    current: Assessment = a
    chain = [a]  # the original, then each accepted assessment
    progress = True
    while progress and result.evaluations < budget:
        progress = False
        here, data = size(current.instance), _data(current.instance)
        for mv in _candidates(moves, current.instance):  # the model's order: largest reduction first
            if result.evaluations >= budget:
                break
            if size(mv.instance) > here or _data(mv.instance) == data:
                continue  # not smaller, or no change: not a move
            result.evaluations += 1
            why, b = _accept(module, claim, mv.instance, settings, profile)
            if b is None:
                result.rejected.append({"move": mv.name, "detail": mv.detail, "reason": why})
                continue
            result.accepted.append({"move": mv.name, "detail": mv.detail, "size": size(mv.instance),
                                    "status": why})
            chain.append(b)
            current = b
            progress = True
            break
    if robust and claim.reconstructions:
        while len(chain) > 1 and not _robust(module, claim, chain[-1], settings):
            chain.pop()
            last = result.accepted.pop()
            result.rejected.append({"move": last["move"], "detail": last["detail"],
                                    "reason": "not violated under every reading of the reconstructions"})
        current = chain[-1]
    result.assessment = current
    assert isinstance(current, Assessment) and current.evidence is not None
    return result


def _data(instance: Any) -> dict:
    """The instance's JSON without its free-form ``meta``."""
    return {k: v for k, v in instance.to_json().items() if k != "meta"}


def _candidates(moves: Moves, instance: Any) -> Iterable[Move]:
    """The model's moves, skipping any that cannot build a valid instance."""
    it = iter(moves(instance))
    while True:
        try:
            mv = next(it)
        except StopIteration:
            return
        except VerifyInputError:
            continue
        yield mv


def _robust(module: TheoremModule, claim: Claim, b: Assessment, settings: Settings) -> bool:
    """Re-check an accepted candidate under every reading of the reconstructions (the original's were)."""
    from verify.engine import robustness

    if b.robustness:
        return all(r["verdict"] == VIOLATED for r in b.robustness)
    assert b.evidence is not None
    b.robustness = robustness(module, claim, b.instance, settings, b.evidence)
    ok = all(r["verdict"] == VIOLATED for r in b.robustness)
    if ok:
        b.status = b.status[:-1] + ", robust across every declared reconstruction)"
    return ok


def _accept(module: TheoremModule, claim: Claim, instance: Any, settings: Settings,
            profile: Profile) -> tuple[str, Assessment | None]:
    """(why, the candidate's assessment when it is accepted, else None): the claim's assumptions hold, it is
    violated, and the violation is confirmed by the same re-runs and rule as the original's."""
    from verify.engine import assess, confirm, confirmed

    b = assess(module, claim, instance, settings)
    if b.verdict != VIOLATED or b.evidence is None:
        return f"{b.verdict}: {b.status or (b.evidence.reason if b.evidence else '')}", None
    b.confirmation = confirm(claim, instance, settings, b.evidence, profile, model=module.model)
    ok, why = confirmed(b.confirmation)
    if not ok:
        return f"candidate violation {why}", None
    b.status = f"confirmed counterexample ({why})"
    return b.status, b
