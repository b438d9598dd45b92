"""The data a theorem module is made of: assumptions, claims and the module itself.

- An :class:`Assumption` is a predicate on an instance. It returns a three-valued :class:`AssumptionResult`
  (holds / fails / undecided) with its *slack*: positive when it holds, negative when it fails, in the
  predicate's own units.
- A :class:`Claim` names its kind (``bound``, ``order``, ``limit``, ...), its assumptions, its provenance, its
  rate as a sympy expression, and an ``evaluate`` function that runs the method and returns what it observed
  (:mod:`verify.observation`); the checker of the claim's kind (:mod:`verify.kinds`) turns that into
  :class:`Evidence`.
- A :class:`TheoremModule` bundles them with the paper's reference and hypothesis strategies that meet every
  assumption of a claim, or break exactly one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy

from verify.kinds import KINDS
from verify.model import Model
from verify.observation import Observation
from verify.provenance import Provenance
from verify.verdicts import ERROR, HOLDS, INCONCLUSIVE, NOT_APPLICABLE, VIOLATED  # noqa: F401  (claim verdicts)

FAILS, UNDECIDED = "fails", "undecided"  # assumption verdicts (with HOLDS)
CLAIM_KINDS = tuple(KINDS)  # bound, order, limit, comparison, probability, identity (verify.kinds.KINDS)


@dataclass(frozen=True)
class AssumptionResult:
    """Verdict and slack of one assumption on one instance (slack > 0 iff it holds, in stated units)."""

    verdict: str
    slack: float
    detail: str = ""

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "slack": self.slack, "detail": self.detail}


@dataclass(frozen=True)
class Assumption:
    """A checkable hypothesis of a theorem.

    ``predicate(instance, cache)`` evaluates it; ``cache`` is a per-instance dict for shared expensive objects
    (such as the max-margin solution). ``implied_by`` lists assumptions that, when they hold, force
    this one to hold too, so it cannot be broken alone (the audit reports that instead of pretending).
    """

    id: str
    title: str
    statement: str
    provenance: Provenance
    predicate: Callable[[Any, dict], AssumptionResult]
    implied_by: tuple[str, ...] = ()

    def check(self, instance: Any, cache: dict | None = None) -> AssumptionResult:
        return self.predicate(instance, {} if cache is None else cache)

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "statement": self.statement,
                "provenance": self.provenance.to_json(), "implied_by": list(self.implied_by)}


@dataclass
class Evidence:
    """What evaluating a claim on one instance produced.

    ``observed`` and ``claimed`` are the metric and the claimed curve at the checkpoints ``t`` (the claimed
    curve is ``constant * rate(t)``, with the fitted constant for an order claim). ``worst_ratio`` is the
    largest observed/claimed ratio past ``t0`` and ``t_worst`` where it occurred.
    """

    verdict: str
    reason: str
    metric: str
    t: list[int] = field(default_factory=list)
    observed: list[float] = field(default_factory=list)
    claimed: list[float] = field(default_factory=list)
    worst_ratio: float | None = None
    t_worst: int | None = None
    exponent: float | None = None
    constant: float | None = None
    precision_ok: bool = True
    run: dict = field(default_factory=dict)  # method, backend, precision, steps, representation
    extra: dict = field(default_factory=dict)
    code: str = ""  # reason code of an inconclusive verdict (verify.verdicts.REASON_CODES)
    figure: dict = field(default_factory=dict)  # what the report's plot and pages draw (verify.kinds.figure_of)

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in (
            "verdict", "code", "reason", "metric", "t", "observed", "claimed", "worst_ratio", "t_worst",
            "exponent", "constant", "precision_ok", "run", "extra", "figure")}


@dataclass(frozen=True)
class Settings:
    """How hard to look: horizons and example counts come from the hypothesis profile (quick / ci / thorough)."""

    profile: str = "quick"
    steps: int = 2000
    max_examples: int = 5
    confirm_factor: int = 10  # the longer horizon of a confirmation run, as a multiple of ``steps``
    confirm_dps: int = 30
    seed: int = 0
    backend: str = "numpy"
    dps: int = 50  # digits when backend == "mpmath"
    representation: str = ""  # empty: the model's default (verify.model.Model.representations[0])

    def but(self, **changes: Any) -> Settings:
        """A copy with some fields changed (confirmation runs vary backend, precision and horizon)."""
        from dataclasses import replace

        return replace(self, **changes)

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Reconstruction:
    """A reconstructed ([recon]) constant, option or threshold that a claim, its assumptions or its method depend
    on, with the values a faithful reading of the paper allows.

    An unknown constant is existential: "for R large enough" is refuted only if the claim fails for every value
    a faithful reading allows. So a candidate violation is re-run at ``default`` and at ``favourable`` (the end
    that favours the claim), and at each of ``values``; it stays "violated" only if it survives all of them
    (:func:`verify.engine.robustness`).

    ``apply(claim, instance, value)`` returns the ``(claim, instance)`` pair under that reading (for example a
    claim with ``params["c"] = value``, or the instance with its W0 rescaled), or ``None`` when the instance does
    not meet the claim's assumptions under that reading (a stricter threshold): the claim then says nothing about
    this instance, and the candidate is not a counterexample under that reading.
    """

    name: str
    statement: str
    default: Any
    favourable: Any
    apply: Callable[[Any, Any, Any], tuple[Any, Any] | None]
    values: tuple[Any, ...] = ()

    def readings(self) -> list[tuple[str, Any]]:
        """(role, value) pairs to try: the default, the favourable end, then the other values (no repeats)."""
        out: list[tuple[str, Any]] = [("default", self.default)]
        for role, v in [("favourable", self.favourable), *(("other", x) for x in self.values)]:
            if all(v != w for _, w in out):
                out.append((role, v))
        return out

    def to_json(self) -> dict:
        return {"name": self.name, "statement": self.statement, "default": self.default,
                "favourable": self.favourable, "values": list(self.values)}


@dataclass(frozen=True)
class Claim:
    """One claim of a theorem, as data.

    ``rate`` is a sympy expression in the symbol ``t``; ``constant`` is a sympy expression (in ``t`` and instance
    constants) for an explicit bound and None otherwise: an order claim has an unknown constant, and a claim with
    a constant is a ``bound`` claim, declared as such (both are checked here). ``evaluate(claim, instance,
    settings, cache)`` runs the claim's method on an instance and returns what it observed, an
    :class:`~verify.observation.Observation` of the type its kind takes (:data:`verify.kinds.KINDS`); it never
    judges and must not re-check assumptions. :meth:`run` judges the observation by the claim's kind.
    """

    id: str
    title: str
    statement: str
    kind: str
    paper: str
    provenance: Provenance
    assumptions: tuple[str, ...]
    method: str
    metric: str
    evaluate: Callable[[Claim, Any, Settings, dict], Observation]
    rate: sympy.Expr | None = None
    constant: sympy.Expr | None = None
    params: dict = field(default_factory=dict)
    confirm_with: tuple[str, ...] = ("higher-precision", "longer-horizon", "cross-backend")
    """Which re-runs can confirm a violation of this claim (``verify.engine.CONFIRMATIONS``). A model without an
    mpmath path or a horizon declares fewer, e.g. ``("repeat",)``; reports state which ones ran."""
    reconstructions: tuple[Reconstruction, ...] = ()
    """The [recon] parameters this claim depends on, with the readings a faithful interpretation allows."""

    def __post_init__(self) -> None:
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"claim {self.id}: unknown kind {self.kind!r}; known: {', '.join(CLAIM_KINDS)}")
        if self.kind == "order" and self.constant is not None:
            raise ValueError(f"claim {self.id}: an order claim has an unknown constant; a claim with the constant "
                             f"{self.constant} is a bound claim: declare kind='bound'")
        if self.kind == "bound" and self.constant is None:
            raise ValueError(f"claim {self.id}: a bound claim needs a constant (a claim with an unknown constant is "
                             "an order claim)")

    def observe(self, instance: Any, settings: Settings, cache: dict | None = None) -> Observation:
        """What the claim's method shows on ``instance``: its evaluator's observation, not yet judged."""
        return self.evaluate(self, instance, settings, {} if cache is None else cache)

    def run(self, instance: Any, settings: Settings, cache: dict | None = None) -> Evidence:
        """Observe, then judge by the claim's kind (:func:`verify.kinds.judge`)."""
        from verify.kinds import judge

        return judge(self, self.observe(instance, settings, cache))

    def curve(self, t: Any, consts: dict | None = None, dps: int | None = None) -> Any:
        """constant(consts) * rate(t) (constant 1 for an order claim), for plots and bounds: float64 by default;
        with ``dps``, an object array of mpmath ``mpf`` evaluated at ``dps`` digits, the constants and t entering
        exactly (an mpf of a float is that float's exact binary value), so nothing passes through float64."""
        import numpy as np

        expr = (self.constant if self.constant is not None else sympy.Integer(1)) * (self.rate or sympy.Integer(1))
        tsym = sympy.Symbol("t", positive=True)
        if dps is None:
            subs = {sympy.Symbol(k, positive=True): v for k, v in (consts or {}).items()}
            f = sympy.lambdify(tsym, expr.subs(subs), "numpy")
            return np.broadcast_to(np.asarray(f(np.asarray(t, dtype=float)), dtype=float), np.shape(t))
        import mpmath

        names = sorted(consts or {})
        g = sympy.lambdify([tsym, *(sympy.Symbol(k, positive=True) for k in names)], expr, "mpmath")
        with mpmath.workdps(dps):
            args = [_mpf((consts or {})[k]) for k in names]
            vals = [mpmath.mpf(g(mpmath.mpf(float(x)), *args)) for x in np.ravel(np.asarray(t, dtype=float))]
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out.reshape(np.shape(t))

    def log_curve(self, t: Any, consts: dict | None = None) -> Any:
        """ln(constant(consts) * rate(t)) as float64, the logarithm taken symbolically first (ln e^{-ct} = -ct), so
        a curve far below float64's range (a loss of e^{-3000}) never underflows. The constants enter as
        arguments, not through a printed expression."""
        import numpy as np

        expr = (self.constant if self.constant is not None else sympy.Integer(1)) * (self.rate or sympy.Integer(1))
        lexpr = sympy.expand_log(sympy.log(expr), force=True)
        syms = sorted((s for s in lexpr.free_symbols if s.name != "t"), key=lambda s: s.name)
        missing = [s.name for s in syms if s.name not in (consts or {})]
        if missing:
            raise ValueError(f"claim {self.id}: the curve {expr} needs the constant(s) {missing}, which the "
                             "observation does not give")
        tsym = next((s for s in lexpr.free_symbols if s.name == "t"), sympy.Symbol("t", positive=True))
        f = sympy.lambdify([tsym, *syms], lexpr, "numpy")
        args = [float((consts or {})[s.name]) for s in syms]
        return np.broadcast_to(np.asarray(f(np.asarray(t, dtype=float), *args), dtype=float), np.shape(t))

    def to_json(self) -> dict:
        return {
            "id": self.id, "title": self.title, "statement": self.statement, "kind": self.kind,
            "paper": self.paper, "provenance": self.provenance.to_json(), "assumptions": list(self.assumptions),
            "method": self.method, "metric": self.metric,
            "rate": None if self.rate is None else str(self.rate),
            "constant": None if self.constant is None else str(self.constant),
            "params": self.params,
            "reconstructions": [r.to_json() for r in self.reconstructions],
        }


def _mpf(v: Any) -> Any:
    """An exact mpf of an int, a float or an mpf (anything else through float)."""
    import mpmath

    return mpmath.mpf(v) if isinstance(v, (int, float, mpmath.mpf)) else mpmath.mpf(float(v))


@dataclass(frozen=True)
class Reference:
    key: str
    authors: str
    title: str
    arxiv: str = ""
    venue: str = ""
    theorem: str = ""  # theorem number when known


@dataclass(frozen=True)
class GradientSpec:
    """A model's loss and its closed-form gradient, for the conformance suite's finite-difference check.

    ``point(instance, rng)`` gives a parameter array theta at which to compare (the initialization, or a random
    point near it); ``loss(instance, theta)`` is L(theta) as a float; ``grad(instance, theta)`` is the closed-form
    gradient dL/dtheta with theta's shape. The check compares <grad, V> with a Richardson-extrapolated central
    difference of L along random directions V.
    """

    point: Callable[[Any, Any], Any]
    loss: Callable[[Any, Any], float]
    grad: Callable[[Any, Any], Any]
    name: str = "loss"


@dataclass(frozen=True)
class TheoremModule:
    """A paper's theorems as data.

    ``meets(claim_id)`` is a hypothesis strategy of instances meeting every assumption of the claim;
    ``breaks(claim_id, assumption_id)`` one of instances that break exactly that assumption and meet the rest;
    ``grid(claim_id, params)`` (optional) one of instances with given generator parameters (``verify map``).
    ``model`` is the :class:`~verify.model.Model` the claims are about: it loads the instances (its schema), names
    the representations and may carry a gradient spec and a batch runner.
    """

    key: str
    reference: Reference
    summary: str
    assumptions: dict[str, Assumption]
    claims: dict[str, Claim]
    meets: Callable[[str], Any]
    breaks: Callable[[str, str], Any]
    model: Model
    extra_docs: str = ""
    grid: Callable[[str, dict], Any] | None = None
    """``grid(claim_id, params)``: a strategy of instances drawn with the given generator parameters (a subset of
    ``grid_params``, the rest at their defaults) that meet the claim's other assumptions (those the parameters do
    not control); None for a claim without a grid. ``verify map`` draws each cell's instances from it."""
    grid_params: dict[str, Any] = field(default_factory=dict)
    """The parameters ``grid`` accepts and their defaults; an int default makes an integer parameter."""

    def assumption(self, aid: str) -> Assumption:
        return self.assumptions[aid]

    @property
    def instance_schema(self) -> str:
        """The JSON schema of the instances the module's claims take (its model's)."""
        return self.model.schema

    def load_instance(self, obj: dict) -> Any:
        """An instance from its JSON object, through the model's loader."""
        return self.model.load_instance(obj)

    @property
    def gradient(self) -> GradientSpec | None:
        """The model's gradient spec (checked by the conformance suite), if it declares one."""
        return self.model.gradient
