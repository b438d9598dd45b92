r"""TEMPLATE: copy this file into your package, rename it, and replace every TODO.

A theorem module is data: a reference, assumptions (predicates that report their slack), claims (kind,
provenance, assumptions, rate as a sympy expression, an evaluator), hypothesis strategies that meet every
assumption of a claim or break exactly one, and the model the claims are about. The conformance suite
(``verify.conformance``) checks all of it; the docs page "Add a theorem module" walks through it.

This docstring is part of the data: the module's guide in the docs (``docs/gen_pages.py``) is rendered from it,
with tables of the assumptions and claims added from the code. It follows one schema, as PEPit's examples do: a
first line ``KEY: title``, an introduction, then these sections, each a heading underlined with dashes, in this
order:

- **Problem**: the model, the loss and the instances (here: the fixed-decoder attention classifier of the
  catalogue's Part A);
- **Assumptions**: every assumption id of the module, its statement and provenance, and which claims use it;
- **Method**: the step rule(s) and their parameters;
- **Guarantee**: one list item per claim, naming its id in double backquotes, its kind (bound, order, limit,
  comparison, probability, identity), what it asserts, and its provenance tags (``[seed]``, ``[abs]``,
  ``[prior]``, ``[derived]``, ``[recon]``, or several with a note, as in ``[seed, abs: where]``);
- **References**: the paper, its arXiv id, the theorem number when known.

More sections (for instance *Strategies* or *Command line*) may stand before References. Math is TeX between
``$...$`` (inline) or ``$$...$$`` (display); make the docstring a raw string (prefix ``r``) so that
backslashes stay.
``docs/gen_pages.py: docstring_problems`` reports what a docstring lacks (tests/test_docs.py runs it on every
registered module).

Problem
-------
TODO: the model and the loss. Template: binary classification with one softmax-attention layer and a fixed
linear decoder $u$; logits $a_{i,t} = x_{i,t}^\top W z_i$, attention $s_i = \mathrm{softmax}(a_i)$, risk
$L(W) = \frac{1}{n}\sum_i \log\big(1 + e^{-y_i u^\top X_i^\top s_i}\big)$; instances of schema
``attention-classification/1``. The limit direction is the Att-SVM solution
$W_{mm} = \argmin \|W\|_F$ s.t. $(x_{i,\mathrm{opt}_i} - x_{i,t})^\top W z_i \ge 1$ for all $t \ne
\mathrm{opt}_i$.

Assumptions
-----------
TODO: your assumptions. The template reuses the shared predicates of ``theorems.attention.assumptions``:

- ``unique_opt``: each sequence has one optimal token [prior];
- ``score_gap``: the optimal score exceeds every other by at least $\Delta$ [seed, recon];
- ``near_orthogonal``: $\lvert\langle x_a, x_b\rangle\rvert \le \varepsilon \min \|x\|^2$ for distinct tokens
  [seed, recon];
- ``feasible_svm``: the Att-SVM of the optimal tokens has a certified solution [prior].

Method
------
TODO: your method. Template: normalized gradient descent with a fixed decoder,
$W_{t+1} = W_t - \eta\, \nabla L(W_t)/\|\nabla L(W_t)\|$, $\eta = 0.1$ (``verify.methods``). The model the
claims are about carries its gradient: the conformance suite compares the attention classifier's stable
closed-form gradient with finite differences of its loss.

Guarantee
---------
- ``template.ngd-direction`` (limit): under near-orthogonal tokens and a score gap,
  $W_t/\|W_t\| \to W_{mm}/\|W_{mm}\|$ for NGD [recon] (TODO: where the statement comes from).

References
----------
- TODO: authors, *title*, venue, arXiv id, theorem number.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from theorems.attention import MODEL as ATTENTION
from theorems.attention import classifier as ac
from theorems.attention.assumptions import feasible_svm, near_orthogonal, score_gap, unique_opt
from theorems.attention.claims import evaluate_direction_limit
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
    model=ATTENTION,
    extra_docs="TODO: anything a reader of the generated page should know (parameters, conventions).",
)
