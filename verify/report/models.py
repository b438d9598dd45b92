"""Typed models (pydantic v2) of the JSON documents the toolkit writes: a ``verify-report/1`` report (a
counterexample or an audit finding) and a ``verify-run/1`` run summary. The JSON Schema the docs publish is
generated from them (:func:`verify.report.schema.json_schemas`).

Only :mod:`verify.report.schema` imports this module, when it validates or exports: pydantic costs start-up time
that ``verify list`` and ``verify --help`` do not pay. The models check; they never convert (validation hands back
the dict it was given), and every object accepts keys beyond the ones named here. A key with no default is
required; the optional ones say what their absence means.

Every leaf type checks its value before pydantic does, and raises the error type ``verify_type`` with the words of
the one-line messages ("must be a number or null, got a string"); a rule between fields raises ``verify_rule``
with a whole sentence. A number is a JSON number or a string naming a non-finite float: :func:`verify.instance.dumps`
writes ``"inf"``, ``"-inf"`` and ``"nan"``; ``"+inf"``, ``"infinity"`` and ``"-infinity"`` are read too, in any
case and with blanks around them (:data:`NONFINITE_PATTERN`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from verify.provenance import TAGS
from verify.report.schema import kind_of
from verify.verdicts import CLAIM_VERDICTS, REASON_CODES

NONFINITE_PATTERN = r"^\s*(?:[+-]?[Ii][Nn][Ff]|-?[Ii][Nn][Ff][Ii][Nn][Ii][Tt][Yy]|[Nn][Aa][Nn])\s*$"
_NONFINITE = re.compile(NONFINITE_PATTERN)
UNION_TAGS = frozenset({"reference-text", "reference-object"})
"""Branch names of the tagged unions below; pydantic puts them into an error's location, the messages leave them
out."""

_CODES = ", ".join(REASON_CODES)
_VERDICTS = ", ".join(CLAIM_VERDICTS)


def is_number(v: Any) -> bool:
    """A JSON number (not a boolean), or a string naming a non-finite float."""
    if isinstance(v, bool):
        return False
    return isinstance(v, (int, float)) or (isinstance(v, str) and _NONFINITE.match(v) is not None)


def _expect(want: str, ok: Callable[[Any], bool]) -> BeforeValidator:
    def check(v: Any) -> Any:
        if not ok(v):
            raise PydanticCustomError("verify_type", "must be {want}, got {got}", {"want": want, "got": kind_of(v)})
        return v

    return BeforeValidator(check)


def _non_empty(v: Any) -> Any:
    if not isinstance(v, str):
        raise PydanticCustomError("verify_type", "must be a string, got {got}", {"got": kind_of(v)})
    if not v:
        raise PydanticCustomError("verify_type", "must not be empty")
    return v


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


T = TypeVar("T")
NonFinite = Annotated[str, StringConstraints(pattern=NONFINITE_PATTERN)]
Text = Annotated[str, _expect("a string", lambda v: isinstance(v, str))]
TextOrNull = Annotated[str | None, _expect("a string or null", lambda v: v is None or isinstance(v, str))]
NonEmptyText = Annotated[str, StringConstraints(min_length=1), BeforeValidator(_non_empty)]
Flag = Annotated[bool, _expect("a boolean", lambda v: isinstance(v, bool))]
Count = Annotated[int, _expect("an integer", _is_int)]
CountOrNull = Annotated[int | None, _expect("an integer or null", lambda v: v is None or _is_int(v))]
Number = Annotated[float | NonFinite, _expect("a number", is_number)]
NumberOrNull = Annotated[float | NonFinite | None,
                         _expect("a number or null", lambda v: v is None or is_number(v))]
Object = Annotated[dict[Any, Any], _expect("an object", lambda v: isinstance(v, dict))]
ObjectOrNull = Annotated[dict[Any, Any] | None,
                         _expect("an object or null", lambda v: v is None or isinstance(v, dict))]
ListOf = Annotated[list[T], _expect("a list", lambda v: isinstance(v, list))]
MapOf = Annotated[dict[str, T], _expect("an object", lambda v: isinstance(v, dict))]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(description: str) -> Any:
    """An optional key: absent is allowed (its absence has a meaning, given in ``description``); when present it
    must have the field's type. The JSON Schema leaves it out of ``required`` and shows no default."""
    return Field(default=None, description=description, json_schema_extra=_no_default)


class Record(BaseModel):
    """Base of every model: extra keys allowed, Python's ``re`` for patterns (as :func:`is_number` uses)."""

    model_config = ConfigDict(extra="allow", regex_engine="python-re")


# ------------------------------------------------------------------------------------------------ report parts
class ProvenanceRecord(Record):
    """Where a piece of a theorem comes from (docs/catalogue.md, "Provenance tags")."""

    tags: ListOf[Text] = Field(description=f"Provenance tags, some of: {', '.join(TAGS)}.")
    note: Text = Field(description="A free-text note (which seed document, which constant is reconstructed); "
                                   "may be empty.")


class Reference(Record):
    """The paper a theorem module encodes. Every key is optional."""

    key: Text = optional("Short citation key (authors' initials and year).")
    authors: Text = optional("The authors.")
    title: Text = optional("The paper's title.")
    arxiv: Text = optional("arXiv identifier; empty when there is none.")
    venue: Text = optional("Where it appeared; empty when unknown.")
    theorem: Text = optional("The theorem (number) the module encodes; empty when unknown.")


def _reference_branch(v: Any) -> str:
    return "reference-text" if isinstance(v, str) else "reference-object"


ReferenceField = Annotated[
    Annotated[str, Tag("reference-text")] | Annotated[Reference, Tag("reference-object")],
    Discriminator(_reference_branch),
    _expect("a string or an object", lambda v: isinstance(v, (str, dict))),
]


class TheoremRecord(Record):
    """The theorem module the claim belongs to."""

    module: Text = Field(description="The module's key, as `verify list` shows it.")
    reference: ReferenceField = Field(description="The paper: a citation string, or an object with key, authors, "
                                                  "title, arxiv, venue and theorem.")


class ReconstructionRecord(Record):
    """A reconstructed constant of the claim and the readings of it that a faithful reading of the paper allows."""

    name: Text = Field(description="The constant's name.")
    statement: Text = Field(description="What is reconstructed and why these values.")
    default: Any = Field(description="The reading used by default.")
    favourable: Any = Field(description="The reading most favourable to the claim.")
    values: ListOf[Any] = Field(description="Further readings that are re-checked.")


class ClaimRecord(Record):
    """The claim as it was checked (replay re-runs this definition, not the installed one)."""

    id: NonEmptyText = Field(description="The claim's id, `<module>.<name>`; never empty.")
    title: Text = Field(description="One-line title.")
    kind: Text = Field(description="The claim's kind: bound, order, limit, comparison, probability or identity.")
    paper: Text = Field(description="Where the claim is stated (paper and theorem).")
    provenance: ProvenanceRecord
    assumptions: ListOf[Text] = Field(description="Ids of the assumptions the claim is made under.")
    statement: Text = Field(description="The claim in words and symbols.")
    method: Text = optional("The optimization method the claim is about (gd, ngd, ...).")
    metric: Text = optional("The metric the claim bounds, as recorded in the evidence.")
    rate: TextOrNull = optional("The claimed rate as a sympy expression in t; null when there is none.")
    constant: TextOrNull = optional("The claimed constant as a sympy expression; null for an order claim.")
    params: Object = optional("The claim's parameters.")
    reconstructions: ListOf[ReconstructionRecord] = optional(
        "The claim's reconstructed constants; absent or empty when there are none.")


class AssumptionRow(Record):
    """One assumption evaluated on the report's instance."""

    id: Text = Field(description="The assumption's id.")
    title: Text = Field(description="One-line title.")
    provenance: ProvenanceRecord
    verdict: Text = Field(description="holds, fails or undecided.")
    slack: NumberOrNull = Field(description="Positive when the assumption holds, negative when it fails, in the "
                                            "predicate's own units.")
    detail: Text = Field(description="What was measured, in words.")
    role: Text = optional("`claim` (an assumption of the claim) or `diagnostic` (another assumption of the module, "
                          "shown for context).")


class EvidenceRecord(Record):
    """What evaluating the claim on the instance produced."""

    verdict: Text = Field(description=f"The evaluation's verdict: {_VERDICTS}.")
    code: Text = optional(f"Reason code of an inconclusive verdict ({_CODES}); empty otherwise.")
    reason: Text = Field(description="Why, in words.")
    metric: Text = Field(description="The metric's name.")
    t: ListOf[NumberOrNull] = Field(description="The checkpoints (iteration counts).")
    observed: ListOf[NumberOrNull] = Field(description="The metric at each checkpoint; as long as t.")
    claimed: ListOf[NumberOrNull] = Field(description="The claimed curve at each checkpoint; as long as t, or empty.")
    worst_ratio: NumberOrNull = Field(description="The largest observed/claimed ratio past t0; null if none.")
    t_worst: NumberOrNull = Field(description="The checkpoint of worst_ratio; null if none.")
    exponent: NumberOrNull = Field(description="The fitted exponent of the metric in t; null if not fitted.")
    constant: NumberOrNull = Field(description="The fitted constant; null if not fitted.")
    precision_ok: Flag = Field(description="Whether the run kept the precision the verdict needs.")
    run: Object = Field(description="The run descriptor: method, parameters, backend, digits, steps, "
                                    "representation.")
    extra: Object = Field(description="Whatever else the evaluator recorded (diagnostics).")
    figure: Object = optional("What the report's plot and pages draw: the variable the checkpoints are values of "
                              "(t, n, kappa, seed, ...), how the claimed curve was scaled, the steps per method, "
                              "the interval, the residuals (verify.kinds.figure_of). Absent in older reports.")

    @model_validator(mode="after")
    def _series_lengths(self) -> EvidenceRecord:
        n = len(self.t)
        if len(self.observed) != n:
            raise PydanticCustomError("verify_rule", "report.evidence.observed has {m} values but report.evidence.t "
                                      "has {n}", {"m": len(self.observed), "n": n})
        if self.claimed and len(self.claimed) != n:
            raise PydanticCustomError("verify_rule", "report.evidence.claimed has {m} values but report.evidence.t "
                                      "has {n} (it must be empty or match)", {"m": len(self.claimed), "n": n})
        return self


class ConfirmationRun(Record):
    """One re-run of the candidate violation (higher precision, longer horizon, other representation, fresh seed,
    repeat)."""

    kind: Text = Field(description="Which re-run: higher-precision, longer-horizon, cross-backend, fresh-seed or "
                                   "repeat.")
    verdict: Text = Field(description="The re-run's verdict.")
    reason: Text = Field(description="What the re-run did and found, in words.")
    code: Text = optional("The re-run's reason code; empty when none.")
    applies: Flag = optional("false when the re-run cannot differ from the original run (absent: it applies).")
    agrees: Flag = optional("Whether the re-run confirms the violation (absent: it does not say).")
    evidence: ObjectOrNull = optional("The re-run's evidence (the keys of the report's evidence), or null.")


class RobustnessRow(Record):
    """The candidate violation re-checked under one reading of a reconstructed constant."""

    name: Text = Field(description="The reconstructed constant.")
    role: Text = Field(description="default, favourable or other.")
    value: Any = Field(description="The value read.")
    verdict: Text = Field(description="The verdict under that reading.")
    code: Text = optional("Reason code of an inconclusive verdict; empty otherwise.")
    reason: Text = Field(description="Why, in words.")


def _broken(audit: bool) -> BeforeValidator:
    def check(v: Any) -> Any:
        if not (v is None or isinstance(v, str)):
            raise PydanticCustomError("verify_type", "must be a string or null, got {got}", {"got": kind_of(v)})
        if (v is not None) != audit:
            raise PydanticCustomError("verify_rule", "report.kind 'audit' goes with a broken_assumption, "
                                      "'counterexample' without one")
        return v

    return BeforeValidator(check)


class ReportBase(Record):
    """The keys common to both kinds of report."""

    schema_: Literal["verify-report/1"] = Field(alias="schema", description="The format and its version.")
    kind: str
    created: Text = Field(description="When the report was written (ISO 8601, UTC).")
    theorem: TheoremRecord
    claim: ClaimRecord
    verdict: Text = Field(description=f"The claim's verdict on the instance ({_VERDICTS}); a written report is a "
                                      "confirmed finding, so violated.")
    code: Text = optional("Reason code of an inconclusive verdict; empty otherwise.")
    status: Text = Field(description="The finding in words: confirmed by which re-runs, robust across which "
                                     "readings.")
    assumptions: ListOf[AssumptionRow] = Field(description="Every assumption of the module on this instance.")
    broken_assumption: Any
    instance: Object = Field(description="The instance, in its model's own schema (NAME/VERSION).")
    method: Object = Field(description="The run descriptor of the evidence.")
    backend: Text = Field(description="The arithmetic backend (numpy, mpmath, torch).")
    precision: Object = Field(description="Digits used and the run's own relative-error bound.")
    seed: CountOrNull = Field(description="The seed of the search (verify check --seed); null if none.")
    settings: Object = optional("The settings replay re-runs with (profile, steps, backend, digits, ...).")
    evidence: EvidenceRecord
    confirmation: ListOf[ConfirmationRun] = Field(description="The re-runs that confirmed the candidate.")
    robustness: ListOf[RobustnessRow] = optional("The re-checks under each reading of each reconstructed constant; "
                                                 "absent or empty when there was none.")
    certified: Flag = optional(
        "Whether the violation is proven (Arb enclosures: the metric's ball above the claimed curve's ball, "
        "verify.certify); false with the reason in certificate otherwise; absent in reports written before it.")
    certificate: Object = optional("The certification record: certified, reason, the enclosures per checkpoint "
                                   "(metric and curve as [lo, hi], the margin's lower end) or the finite facts "
                                   "of an asymptotic claim; 'not certified: time budget exceeded (N s)' when "
                                   "the profile's certification budget ran out; absent in older reports.")
    versions: MapOf[TextOrNull] = Field(description="Python, the platform and the packages used; null when a "
                                                    "package is not installed.")
    replay: Text = Field(description="The command that reproduces this report.")
    shrunk: Object = optional("The counterexample shrunk by the model's moves (verify.shrink): the smaller instance, "
                              "its assumptions, evidence, confirmation and readings, the accepted moves, the "
                              "evaluations spent and (when shrunk) its own certified and certificate; each "
                              "accepted instance met the claim's assumptions and its "
                              "violation was confirmed again. Absent when the model has no moves, or in older "
                              "reports.")


class CounterexampleReport(ReportBase):
    """A counterexample: the claim fails, confirmed and robust, on data meeting every assumption."""

    kind: Literal["counterexample"] = Field(description="counterexample.")
    broken_assumption: Annotated[None, _broken(False)] = Field(description="null: no assumption is broken.")


class AuditReport(ReportBase):
    """An audit finding: with one assumption broken on purpose the claim fails, so that assumption is
    load-bearing. It refutes nothing."""

    kind: Literal["audit"] = Field(description="audit.")
    broken_assumption: Annotated[str, _broken(True)] = Field(description="The id of the assumption broken on "
                                                                         "purpose; one of the assumptions' ids.")

    @model_validator(mode="after")
    def _broken_is_listed(self) -> AuditReport:
        if self.broken_assumption not in {a.id for a in self.assumptions}:
            raise PydanticCustomError("verify_rule", "report.broken_assumption {b} is not one of report.assumptions",
                                      {"b": repr(self.broken_assumption)})
        return self


Report = Annotated[CounterexampleReport | AuditReport, Field(discriminator="kind")]
"""A report of either kind, told apart by ``"kind"``."""


# ------------------------------------------------------------------------------------------------ run summaries
class ClaimRun(Record):
    """One claim of a run: its verdict over the instances tried."""

    claim_id: Text = Field(description="The claim's id.")
    verdict: Text = Field(description="The claim's verdict over the run.")
    tried: Count = Field(description="Instances tried.")
    counts: MapOf[Count] = Field(description="Instances per verdict.")
    reports: ListOf[Text] = Field(description="Paths of the reports written (counterexamples).")
    exponents: ListOf[NumberOrNull] = Field(description="The fitted exponent on each instance.")
    worst_ratio: NumberOrNull = Field(description="The largest observed/claimed ratio; null if none.")
    notes: ListOf[Text] = optional("Notes on the run.")
    codes: MapOf[Count] = optional("Inconclusive instances per reason code.")
    errors: ListOf[Object] = optional("Evaluation errors (claim and status; the traceback goes to errors.log).")
    candidates: ListOf[Object] = optional("Every candidate violation that went through confirmation.")
    title: Text = optional("The claim's title.")
    kind: Text = optional("The claim's kind.")
    provenance: Text = optional("The claim's provenance label, such as [seed, abs].")
    module: Text = optional("The theorem module's key.")


class RunSummary(Record):
    """The summary of one verify check run (DIR/runs/*.json): a row per claim checked."""

    schema_: Literal["verify-run/1"] = Field(alias="schema", description="The format and its version.")
    created: Text = Field(description="When the run ended (ISO 8601, UTC).")
    command: Text = Field(description="The command line that reproduces the run.")
    profile: Text = Field(description="The hypothesis profile (quick, ci, thorough).")
    seed: CountOrNull = Field(description="The seed of the search.")
    instance: TextOrNull = optional("The instance file given with --instance; null when instances were searched.")
    interrupted: Flag = optional("true when the run was interrupted (absent: it was not).")
    claims: ListOf[ClaimRun] = Field(description="A row per claim checked.")
