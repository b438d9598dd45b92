"""The verdict vocabulary, defined once. Every checker, the engine, the reports and the CLI use these words.

A claim on one instance gets exactly one verdict:

- ``holds``: the evidence agrees with the claim over the horizon that was run;
- ``violated``: the claim fails on data meeting every assumption, with precision kept, and the failure
  survived every confirmation that applies and every declared reading of the reconstructed constants;
- ``inconclusive``: the toolkit cannot decide; it always says why, with one of :data:`REASON_CODES`;
- ``not-applicable``: the instance does not meet the claim's assumptions, so the claim says nothing about it;
- ``error``: the claim's own code raised; the run is incomplete, and ``verify check`` exits 3.

An audit breaks one assumption on purpose. Its result per assumption is one of :data:`AUDIT_VERDICTS`:
``load-bearing`` (the claim failed, confirmed, on instances breaking exactly that assumption: the assumption is
necessary), ``none-found`` (no such failure in the instances tried), or ``cannot-break-alone`` (the assumption is
implied by others, or no break strategy exists). An audit's evidence is never a counterexample: a report carries
``"kind": "audit"`` and names the broken assumption.
"""

from __future__ import annotations

HOLDS = "holds"
VIOLATED = "violated"
INCONCLUSIVE = "inconclusive"
NOT_APPLICABLE = "not-applicable"
ERROR = "error"
CLAIM_VERDICTS = (HOLDS, VIOLATED, INCONCLUSIVE, NOT_APPLICABLE, ERROR)

LOAD_BEARING = "load-bearing"
NONE_FOUND = "none-found"
CANNOT_BREAK_ALONE = "cannot-break-alone"
AUDIT_VERDICTS = (LOAD_BEARING, NONE_FOUND, CANNOT_BREAK_ALONE)

KIND_COUNTEREXAMPLE = "counterexample"
KIND_AUDIT = "audit"
REPORT_KINDS = (KIND_COUNTEREXAMPLE, KIND_AUDIT)

# reason codes of an inconclusive verdict
HORIZON_TOO_SHORT = "horizon-too-short"
GROWTH_DECELERATING = "growth-decelerating"
PRECISION_LOST = "precision-lost"
WITHIN_ROUNDING = "within-rounding"
NON_FINITE = "non-finite"
NO_LIMIT_EVIDENCE = "no-limit-evidence"
UNDETERMINED = "undetermined"
INSUFFICIENT_DATA = "insufficient-data"
NOT_CONFIRMED = "not-confirmed"
CONFIRMATION_BUDGET = "confirmation-budget"
RECONSTRUCTION_DEPENDENT = "reconstruction-dependent"
INPUT_PROBLEM = "input-problem"

REASON_CODES: dict[str, str] = {
    HORIZON_TOO_SHORT: "too few checkpoints in the tail to judge an asymptotic claim",
    GROWTH_DECELERATING: "the ratio to the claimed rate grows, but the growth slows (or is not significant); "
                         "a bounded ratio is not excluded",
    PRECISION_LOST: "the trajectory lost precision where the decision would be made",
    WITHIN_ROUNDING: "the claimed bound is exceeded only by less than the run's own rounding-error bound",
    NON_FINITE: "the metric is zero, infinite or NaN where it is judged",
    NO_LIMIT_EVIDENCE: "neither a decay to the limit nor a positive floor or witness could be established",
    UNDETERMINED: "the evidence fits neither the claim nor its negation (e.g. a tie, an undetermined rate class)",
    INSUFFICIENT_DATA: "too few decided draws or runs for a statistical decision",
    NOT_CONFIRMED: "a candidate violation was not reproduced by the confirmation runs that apply, or fewer "
                   "than two confirmations apply",
    CONFIRMATION_BUDGET: "a candidate violation beyond the profile's confirmation budget (not confirmed)",
    RECONSTRUCTION_DEPENDENT: "the candidate violation disappears under another faithful reading of a "
                              "reconstructed constant",
    INPUT_PROBLEM: "the claim could not be evaluated on this instance (its evaluator rejected the input)",
}

MIN_CONFIRMATIONS = 2
"""A violation needs at least this many independent confirmation runs that apply, all agreeing."""


def describe(verdict: str, code: str = "") -> str:
    """``"inconclusive (growth-decelerating)"`` style: the verdict word with its reason code, if any."""
    return f"{verdict} ({code})" if code else verdict
