"""TEMPLATE theorem module: copy this file into your package, rename it, and replace every TODO.

A theorem module is data (docs/design.md): a reference, assumptions (predicates that report their slack), claims
(kind, provenance, assumptions, rate as a sympy expression, an evaluator), hypothesis strategies that meet
every assumption of a claim or break exactly one, and an instance loader. The conformance suite
(:mod:`verify.conformance`) checks all of it; docs/extending.md walks through it.

Docstring schema of a claim (PEPit-style), to fill in for each claim:

- problem:    the model and the loss (here: the fixed-decoder attention classifier, docs/catalogue.md Part A);
- assumptions: the ids of the predicates the claim needs, and which of them are [recon];
- method:     the step rule (gd / ngd / polyak) and its parameters;
- guarantee:  the claimed behaviour and its kind (bound / order / limit / ...);
- reference:  paper, arXiv id, theorem number when known.

The template's one claim (``template.ngd-direction``, a *limit* claim) is the directional convergence of NGD to
W_mm on near-orthogonal tokens. It also declares the model's gradient (``ATTENTION_GRADIENT``): the
conformance suite compares the attention classifier's stable closed-form gradient with finite differences of
its loss.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from theorems.attention import classifier as ac
from theorems.attention.assumptions import feasible_svm, near_orthogonal, score_gap, unique_opt
from theorems.attention.claims import evaluate_direction_limit
from theorems.attention.gradient import ATTENTION_GRADIENT
from theorems.attention.recon import DELTA, EPS
from theorems.attention.strategies import instance_strategy
from verify.provenance import prov
from verify.theory import Claim, Reference, TheoremModule

# TODO: your paper.
REFERENCE = Reference(
    key="TEMPLATE",
    authors="TODO: the authors",
    title="TODO: the paper's title",
    arxiv="",
    theorem="TODO: the theorem number, when known",
)

# TODO: your assumptions. Reuse the shared predicates, or write Assumption(id, title, statement, provenance,
# predicate) where predicate(instance, cache) -> AssumptionResult(verdict, slack, detail).
ASSUMPTIONS = {a.id: a for a in (unique_opt, score_gap, near_orthogonal, feasible_svm)}
CORE = ("unique_opt", "score_gap", "near_orthogonal", "feasible_svm")

CLAIMS = {
    "template.ngd-direction": Claim(
        id="template.ngd-direction",
        title="NGD converges in direction to W_mm",
        statement="Under near-orthogonal tokens and a token-score gap, W_t/||W_t|| -> W_mm/||W_mm|| for NGD with a "
        "fixed decoder.",
        kind="limit",
        paper="TEMPLATE",
        provenance=prov("recon", note="TODO: where the statement comes from ([seed], [abs], [prior], ...)"),
        assumptions=CORE,
        method="ngd",
        metric="dir_err",
        evaluate=evaluate_direction_limit,
        params={"eta": 0.1},
        # TODO: every [recon] constant the claim, its assumptions or its method depend on, with the readings a
        # faithful interpretation allows (verify.theory.Reconstruction); eps and Delta are the shared predicates'.
        reconstructions=(EPS, DELTA),
    ),
}


# ---------------------------------------------------------------------------------------------- strategies
@st.composite
def near_orthogonal_instances(draw: st.DrawFn) -> ac.AttentionInstance:
    """Meets every core assumption: an orthonormal frame (d >= nT) plus small noise, any initialization."""
    inst = draw(instance_strategy(tokens="orthonormal"))
    cache: dict = {}
    for aid in CORE:
        assume(ASSUMPTIONS[aid].check(inst, cache).verdict == "holds")
    return inst


@st.composite
def low_dimensional_instances(draw: st.DrawFn) -> ac.AttentionInstance:
    """Breaks near-orthogonality only (unit Gaussian tokens, d about nT/4), keeping the other core assumptions."""
    inst = draw(instance_strategy(tokens="gaussian-low-d", init="zero"))
    cache: dict = {}
    assume(near_orthogonal.check(inst, cache).verdict == "fails")
    for aid in ("unique_opt", "score_gap", "feasible_svm"):
        assume(ASSUMPTIONS[aid].check(inst, cache).verdict == "holds")
    return inst


@st.composite
def small_gap_instances(draw: st.DrawFn) -> ac.AttentionInstance:
    """Breaks the score gap only: one sequence's runner-up score is within (0, Delta) of its optimal score."""
    inst = draw(instance_strategy(tokens="orthonormal", gap="small"))
    cache: dict = {}
    assume(score_gap.check(inst, cache).verdict == "fails")
    for aid in ("unique_opt", "near_orthogonal", "feasible_svm"):
        assume(ASSUMPTIONS[aid].check(inst, cache).verdict == "holds")
    return inst


BREAKERS = {"near_orthogonal": low_dimensional_instances, "score_gap": small_gap_instances}


def meets(claim_id: str) -> st.SearchStrategy:
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    return near_orthogonal_instances()


def breaks(claim_id: str, assumption_id: str) -> st.SearchStrategy | None:
    """None where an assumption cannot be broken alone; it must then declare ``implied_by``."""
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    make = BREAKERS.get(assumption_id)
    return None if make is None else make()


MODULE = TheoremModule(
    key="template",
    reference=REFERENCE,
    summary="TODO: one paragraph on what the paper proves. (Template: fixed-decoder NGD converges in direction "
    "to the Att-SVM solution on near-orthogonal tokens.)",
    assumptions=ASSUMPTIONS,
    claims=CLAIMS,
    meets=meets,
    breaks=breaks,
    load_instance=ac.instance_from_json,
    instance_schema=ac.SCHEMA,
    extra_docs="TODO: anything a reader of the generated page should know (parameters, conventions).",
    gradient=ATTENTION_GRADIENT,
)
