"""VDT24: Vasudeva, Deora, Thrampoulidis, "Implicit Bias and Fast Convergence Rates for Self-attention"
(arXiv 2402.05738, TMLR 2025). Fixed-decoder normalized GD (THEOREMS.md, Part A).

The exact assumption inequalities and constants of the paper are not available to us; every assumption here is
a [recon] predicate whose constants are parameters (``PARAMS``), and every claim whose constant is unknown is an
*order* or *limit* claim. A user with the PDF sets ``constant`` on a claim to turn it into an explicit bound.

Which near-orthogonality each claim uses: both claims use the eps-form ``near_orthogonal`` (our reading of the
paper's assumption). The derived sufficient condition ``nonopt_support`` (every non-optimal token is a support
token of W_mm, which makes W_mm a descent direction everywhere) is evaluated on every instance and shown in
every report as a diagnostic, so a counterexample says whether the derived condition held on it.
"""

from __future__ import annotations

import numpy as np
import sympy
from hypothesis import assume
from hypothesis import strategies as st

from theorems import attention_classifier as ac
from theorems.attention_assumptions import (
    PARAMS,
    feasible_svm,
    near_orthogonal,
    nonopt_support,
    score_gap,
    unique_opt,
)
from theorems.attention_claims import evaluate_direction_limit, evaluate_direction_order
from theorems.attention_strategies import instance_strategy
from verify.provenance import prov
from verify.theory import Claim, Reference, TheoremModule

T_SYM = sympy.Symbol("t", positive=True)

REFERENCE = Reference(
    key="VDT24",
    authors="Bhavya Vasudeva, Puneesh Deora, Christos Thrampoulidis",
    title="Implicit Bias and Fast Convergence Rates for Self-attention",
    arxiv="2402.05738",
    venue="TMLR 2025",
    theorem="Thm. 1 (NGD, fixed decoder); numbers of the other statements unknown",
)

ASSUMPTIONS = {a.id: a for a in (unique_opt, score_gap, near_orthogonal, feasible_svm, nonopt_support)}
CORE = ("unique_opt", "score_gap", "near_orthogonal", "feasible_svm")
DIAGNOSTIC = ("nonopt_support",)

CLAIMS = {
    "vdt24.global": Claim(
        id="vdt24.global",
        title="NGD converges in direction to W_mm from any initialization",
        statement="Under near-orthogonal tokens and the token-score-gap condition, NGD from ANY initialization "
        "converges in direction to W_mm, not to a locally-optimal W_mm(alpha).",
        kind="limit",
        paper="VDT24",
        provenance=prov("seed", "abs", note="seed 000-002; the assumptions are [recon]"),
        assumptions=CORE,
        method="ngd",
        metric="dir_err",
        evaluate=evaluate_direction_limit,
        params={"eta": 0.1},
    ),
    "vdt24.ngd-rate": Claim(
        id="vdt24.ngd-rate",
        title="NGD direction error decays like t^(-1/2)",
        statement="e(t) = || W_t/||W_t|| - W_mm/||W_mm|| ||_F = O(t^{-1/2}) for NGD with a fixed decoder.",
        kind="order",
        paper="VDT24",
        provenance=prov("seed", note="seed 001: 'NGD achieves O(t^{-1/2})'"),
        assumptions=CORE,
        method="ngd",
        metric="dir_err",
        evaluate=evaluate_direction_order,
        rate=T_SYM ** sympy.Rational(-1, 2),
        params={"eta": 0.1, "decades": 2},
    ),
}


# ---------------------------------------------------------------------------------------------- strategies
@st.composite
def near_orthogonal_instances(draw: st.DrawFn) -> ac.AttentionInstance:
    """Rows of a random orthonormal frame (d >= nT) plus a small Gaussian perturbation; random unit decoder;
    W0 = 0 or a random matrix of drawn scale ("from any initialization")."""
    inst = draw(instance_strategy(tokens="orthonormal"))
    cache: dict = {}
    for aid in CORE:
        assume(ASSUMPTIONS[aid].check(inst, cache).verdict == "holds")
    return inst


@st.composite
def low_dimensional_instances(draw: st.DrawFn) -> ac.AttentionInstance:
    """Breaks near-orthogonality only: unit Gaussian tokens with d about nT/4 and z_i = x_{i,1}, W0 = 0 (the
    known failure of THEOREMS.md), keeping a unique optimal token, the score gap and a feasible SVM."""
    inst = draw(instance_strategy(tokens="gaussian-low-d", init="zero"))
    cache: dict = {}
    assume(near_orthogonal.check(inst, cache).verdict == "fails")
    for aid in ("unique_opt", "score_gap", "feasible_svm"):
        assume(ASSUMPTIONS[aid].check(inst, cache).verdict == "holds")
    return inst


@st.composite
def small_gap_instances(draw: st.DrawFn) -> ac.AttentionInstance:
    """Breaks the score gap only: near-orthogonal tokens whose decoder makes the runner-up token's score
    within (0, Delta) of the optimal one."""
    inst = draw(instance_strategy(tokens="orthonormal", gap="small"))
    cache: dict = {}
    assume(score_gap.check(inst, cache).verdict == "fails")
    for aid in ("unique_opt", "near_orthogonal", "feasible_svm"):
        assume(ASSUMPTIONS[aid].check(inst, cache).verdict == "holds")
    return inst


def meets(claim_id: str) -> st.SearchStrategy:
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    return near_orthogonal_instances()


def breaks(claim_id: str, assumption_id: str) -> st.SearchStrategy | None:
    """Instances breaking exactly ``assumption_id``; None where that is impossible (see ``implied_by``)."""
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    return {"near_orthogonal": low_dimensional_instances(), "score_gap": small_gap_instances()}.get(assumption_id)


MODULE = TheoremModule(
    key="vdt24",
    reference=REFERENCE,
    summary="Fixed-decoder NGD on one-layer softmax attention: global directional convergence to the Att-SVM "
    "solution W_mm under near-orthogonal tokens, at rate O(t^{-1/2}).",
    assumptions=ASSUMPTIONS,
    claims=CLAIMS,
    meets=meets,
    breaks=breaks,
    load_instance=ac.instance_from_json,
    instance_schema=ac.SCHEMA,
    extra_docs=f"Assumption parameters (all [recon]): {PARAMS}. Diagnostic assumptions: {DIAGNOSTIC}.",
)

__all__ = ["MODULE", "CLAIMS", "ASSUMPTIONS", "np"]
