"""What an evaluator observed on one instance: the data that the checker of the claim's kind judges.

An evaluator (``Claim.evaluate``) runs the claim's method and returns an :class:`Observation`; it never judges.
The engine (:func:`verify.kinds.judge`) applies the checker that belongs to ``claim.kind``, with the claim's
sympy rate and constant (``Claim.curve``), and builds the :class:`~verify.theory.Evidence` itself
(docs/engine.md, "Kinds").

- :class:`Series`: one metric's checkpoint series: checkpoints, values, per-checkpoint precision flags, the
  values' per-checkpoint absolute rounding-error bound (where the model has one), an optional lower
  bound (the witness of a limit claim), where the judged range starts, and whether the values are logs.
- :class:`SeriesObservation` (kinds ``bound``, ``order``, ``limit``): one or more named series and the
  instance constants the claim's rate and constant may use.
- :class:`ComparisonObservation` (``comparison``): per method, the steps to the target on each paired sample,
  and the pairs (A, B) in which A must reach it first.
- :class:`ProbabilityObservation` (``probability``): the trials: samples against a threshold, series whose event
  is "the claim's rate holds on this draw", or plain counts.
- :class:`IdentityObservation` (``identity``): lhs and rhs with their tolerances, and identities decided
  symbolically.

Every observation carries ``run`` (method, backend, precision, steps, representation, ...), ``extra`` (what the
model wants in the report: selected tokens, per-run tables, ...), an optional ``metric`` name for the evidence,
the ``variable`` its checkpoints or samples are values of (with ``at`` and ``groups``, for the report's axes),
``parts`` (side conditions of another kind that the claim's statement includes, each judged by its kind's
checker) and ``guards`` (conditions the evidence must meet before the claim can be said to hold). Several named
series, several pairs, parts and guards are combined by one rule, :data:`verify.kinds.ALL_OF`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Series:
    """One metric's checkpoint series.

    ``values`` are floats, or (a bound checked at high precision, ``dps`` set) mpmath ``mpf`` at ``dps`` digits.
    ``ok`` are the per-checkpoint precision flags (all True when None). ``error`` is an absolute rounding-error
    bound of each value (bound claims: the excess over the bound must exceed it to violate; 0 when None).
    ``log``: the values are natural logs of the metric (a loss or a softmax weight far below float64's range);
    the claim's rate is then compared as ``ln rate``. ``witness``: a lower bound lb(t) on
    ``witness_of`` (the metric itself when None), a distance that tends to 0 if the limit claim holds; a
    witness that stays positive refutes the limit. ``t0``: the first checkpoint the claim is judged from (the
    end of an initial transient: an order claim then needs a decade of checkpoints after it).
    ``slope_tol``: the order rule's tolerance for a metric with sampling noise (e.g. 3 bootstrap standard
    errors of its fitted slope); None: the rule's default or ``claim.params["slope_tol"]``.
    """

    t: list[int]
    values: Any
    ok: Any = None
    error: Any = None
    log: bool = False
    witness: Any = None
    witness_of: Any = None
    t0: int = 1
    slope_tol: float | None = None
    dps: int | None = None

    def __post_init__(self) -> None:
        n = len(self.t)
        for name in ("values", "ok", "error", "witness", "witness_of"):
            v = getattr(self, name)
            if v is not None and len(v) != n:
                raise ValueError(f"series: {name} has {len(v)} entries for {n} checkpoints")
        if self.witness_of is not None and self.witness is None:
            raise ValueError("series: witness_of without a witness")

    @property
    def flags(self) -> np.ndarray:
        """The precision flags as a bool array (all True when none were given)."""
        return np.ones(len(self.t), dtype=bool) if self.ok is None else np.asarray(self.ok, dtype=bool)


@dataclass(frozen=True)
class Part:
    """A side condition of another kind that the claim's statement includes (e.g. "and it contracts: rho <
    rho_max"): judged by ``kind``'s checker with its own ``rate`` and ``constant`` (a bound part needs one) and
    the claim's params updated by ``params``."""

    kind: str
    observation: Observation
    statement: str
    rate: Any = None
    constant: Any = None
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Guard:
    """A condition the evidence must meet before the claim can be said to hold at this horizon: ``margins`` are
    lower bounds of quantities that must be positive (e.g. the distance to a competing limit). It
    passes when there is at least one margin and every one is > 0; otherwise "holds" becomes inconclusive
    (undetermined). A guard never makes a violation."""

    statement: str
    margins: dict[str, float]


@dataclass(kw_only=True)
class Observation:
    """The fields every observation has (see the module docstring)."""

    run: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    metric: str = ""
    parts: dict[str, Part] = field(default_factory=dict)
    guards: dict[str, Guard] = field(default_factory=dict)
    variable: str = ""
    """What the evidence's checkpoints are values of, for the report's axis: ``t`` (iterations, the default of the
    series kinds), ``n``, ``kappa``, ``seed``, ... (:data:`verify.kinds.DEFAULT_VARIABLE` per kind)."""
    at: list | None = None
    """Comparison and identity: the variable's value at each paired sample or element (default: 1, 2, ... for a
    comparison, 0, 1, ... for an identity); the series kinds take it from ``Series.t``."""
    groups: list[str] | None = None
    """A label per checkpoint (series kinds: of the first series) or per sample, when they hold several runs of the
    variable one after another (kappa over the Sigma spectra, then over the M spectra): the report draws one line
    per group."""


@dataclass(kw_only=True)
class SeriesObservation(Observation):
    """Kinds ``bound``, ``order``, ``limit``: named series (the first is the one the evidence shows) and the
    instance constants (``n``, ``d``, ``eta``, ``norm_Wmm``, ...) the claim's rate and constant may use."""

    series: dict[str, Series]
    consts: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.series:
            raise ValueError("a series observation needs at least one series")


@dataclass(kw_only=True)
class ComparisonObservation(Observation):
    """Kind ``comparison``: ``steps[m][k]`` is the step count at which method m first reached the target on
    paired sample k (inf: never within ``horizon``). In each pair (A, B), A must reach it first (or no later,
    with ``claim.params["strict"] = False``) on at least ``claim.params["fraction"]`` of the samples.
    ``exact``: the steps are exact (every step a checkpoint); otherwise a tie at one checkpoint is beyond the
    checkpoints' resolution. ``precise[m]``: method m's runs kept precision (True when absent). ``target``
    names the target in reasons ("dir_err <= 0.05"). ``series``: per method, what the evidence shows (the first
    pair's A as observed, its B as claimed, where present)."""

    steps: dict[str, list[float]]
    pairs: list[tuple[str, str]]
    precise: dict[str, bool] = field(default_factory=dict)
    exact: bool = False
    target: str = "the target"
    horizon: int | None = None
    series: dict[str, Series] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.pairs:
            raise ValueError("a comparison observation needs at least one pair")
        for a, b in self.pairs:
            for m in (a, b):
                if m not in self.steps:
                    raise ValueError(f"comparison: no steps for method {m!r}")
            if len(self.steps[a]) != len(self.steps[b]) or not self.steps[a]:
                raise ValueError(f"comparison: the samples of {a!r} and {b!r} must be non-empty and paired")


@dataclass(kw_only=True)
class ProbabilityObservation(Observation):
    """Kind ``probability``: P(event) >= 1 - ``claim.params["delta"]`` (Clopper-Pearson at
    ``claim.params["confidence"]``, default 0.95). The trials are one of:

    - ``samples`` with ``threshold``: trial k succeeds iff samples[k] <= threshold;
    - ``draws``: one series per draw; the event is "the claim's rate holds on it" by the rule of kind ``event``
      (``order``); draws whose check is inconclusive are counted and left out;
    - ``successes`` out of ``trials``.
    """

    samples: list[float] | None = None
    threshold: float | None = None
    draws: list[Series] | None = None
    event: str = "order"
    successes: int | None = None
    trials: int | None = None
    consts: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        given = [self.samples is not None, self.draws is not None, self.successes is not None]
        if sum(given) != 1:
            raise ValueError("a probability observation needs exactly one of samples, draws, successes")
        if self.samples is not None and (self.threshold is None or not self.samples):
            raise ValueError("probability: samples need a threshold and at least one sample")
        if self.draws is not None and not self.draws:
            raise ValueError("probability: at least one draw is needed")
        if self.successes is not None and self.trials is None:
            raise ValueError("probability: successes need trials")


@dataclass(kw_only=True)
class IdentityObservation(Observation):
    """Kind ``identity``: ``lhs == rhs`` elementwise within |lhs - rhs| <= atol + rtol |rhs|, and/or identities
    decided symbolically (``proved[name]``: True when the computer algebra reduced lhs - rhs to 0)."""

    lhs: Any = None
    rhs: Any = None
    rtol: float = 0.0
    atol: float = 0.0
    proved: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.lhs is None) != (self.rhs is None):
            raise ValueError("identity: lhs and rhs go together")
        if self.lhs is None and not self.proved:
            raise ValueError("identity: nothing to check (neither lhs/rhs nor proved identities)")


OBSERVATION_TYPES = (SeriesObservation, ComparisonObservation, ProbabilityObservation, IdentityObservation)
