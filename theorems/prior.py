"""PRIOR: the two papers VDT24 and JTA24 build on (docs/catalogue.md, Part A, "PRIOR").

- Tarzanagh, Li, Zhang, Oymak, "Max-Margin Token Selection in Attention Mechanism", NeurIPS 2023.
- Tarzanagh, Li, Thrampoulidis, Oymak, "Transformers as Support Vector Machines", 2023.

Both claims are about plain GD with a fixed decoder:

- ``prior.gd-local``: GD with a small step, started in the cone {corr(W, W_mm(alpha)) >= 1 - mu, ||W|| >= R} of a
  locally-optimal token choice alpha, converges in direction to W_mm(alpha) (limit claim; the instance names
  alpha in ``meta["alpha"]``; mu and R are [recon] parameters, R in units of ||W_mm(alpha)||).
- ``prior.gd-global-uniform``: when all non-optimal scores of each sequence are equal (Assumption B), GD from any
  initialization converges in direction to W_mm (limit claim). Near-orthogonality is NOT assumed: the
  strategies use low-dimensional tokens (d about nT/4).

A limit claim is violated only with a certified witness: the run ends selecting tokens beta != target, and
||W_mm(beta)/|.| - W_mm(target)/|.||| - e_beta(t) > 0 does not decay (triangle inequality).
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from theorems.attention import classifier as ac
from theorems.attention.assumptions import (
    PARAMS,
    alpha_locally_optimal,
    feasible_svm,
    init_cone,
    score_gap,
    uniform_scores,
    unique_opt,
)
from theorems.attention.claims import evaluate_direction_limit
from theorems.attention.gradient import ATTENTION_GRADIENT
from theorems.attention.recon import DELTA, TOL, claim_param, cone_radius, cone_width, refutation_docs
from theorems.attention.strategies import local_alpha_strategy, uniform_strategy
from verify.provenance import prov
from verify.theory import Claim, Reference, TheoremModule

REFERENCE = Reference(
    key="PRIOR",
    authors="Davoud Ataee Tarzanagh, Yingcong Li, Xuechen Zhang, Samet Oymak; and with Christos Thrampoulidis",
    title="Max-Margin Token Selection in Attention Mechanism (NeurIPS 2023); Transformers as Support Vector "
    "Machines (2023)",
    arxiv="2306.13596; 2308.16898",
    venue="NeurIPS 2023; preprint 2023",
    theorem="local GD convergence (cone around a locally-optimal W_mm(alpha)); global GD convergence under "
    "Assumption B (uniform non-optimal scores); numbers not recorded here",
)

ASSUMPTIONS = {a.id: a for a in (unique_opt, score_gap, feasible_svm, uniform_scores, alpha_locally_optimal,
                                 init_cone)}
LOCAL = ("alpha_locally_optimal", "init_cone")
UNIFORM = ("unique_opt", "score_gap", "feasible_svm", "uniform_scores")
GD_LOCAL = {"eta": 0.5}  # "small eta": half of the unit-token smoothness scale [recon]
GD_GLOBAL = {"eta": 1.0}
LOCAL_RECON = (
    cone_radius("PRIOR proves the local claim for every start in the cone with R 'large enough' (R0 depends on mu "
                "and the data), so any R >= 1 (in units of ||W_mm(alpha)||) is a reading; W0 is rescaled along its "
                "own direction to R ||W_mm(alpha)|| when shorter; a larger R favours the claim (at R = 10 the "
                "attention off alpha starts below e^-10)", PARAMS["cone_R"], 10.0, (3.0,)),
    cone_width("PRIOR asks mu 'small enough' (the cone corr(W, W_mm(alpha)) >= 1 - mu); any mu in (0, 0.05] is a "
               "reading; W0 is turned towards W_mm(alpha), same norm, to corr = 1 - mu when outside; a smaller mu "
               "favours the claim", PARAMS["cone_mu"], 0.005),
    claim_param("eta", "PRIOR's GD uses a 'small enough' step; any eta in (0, 0.5] is a reading (0.5 is half the "
                "unit-token smoothness scale); a smaller step favours the claim (and needs a longer run)", ("eta",),
                GD_LOCAL["eta"], 0.1),
)
GLOBAL_RECON = (
    DELTA, TOL,
    claim_param("eta", "GD's constant step is ours: any eta in (0, 2/L) with L ~ 1 is a stable reading; a smaller "
                "step favours the claim (and needs a longer run)", ("eta",), GD_GLOBAL["eta"], 0.25),
)

CLAIMS = {
    "prior.gd-local": Claim(
        id="prior.gd-local",
        title="GD from the cone of a locally-optimal W_mm(alpha) converges to it in direction",
        statement="GD with small eta, started in {W : corr(W, W_mm(alpha)) >= 1 - mu, ||W|| >= R} around a "
        "locally-optimal W_mm(alpha), converges in direction to W_mm(alpha).",
        kind="limit",
        paper="PRIOR",
        provenance=prov("prior", note="mu, R and eta are [recon] parameters"),
        assumptions=LOCAL,
        method="gd",
        metric="dir_err_alpha",
        evaluate=evaluate_direction_limit,
        params={**GD_LOCAL, "target": "alpha"},
        reconstructions=LOCAL_RECON,
    ),
    "prior.gd-global-uniform": Claim(
        id="prior.gd-global-uniform",
        title="GD converges to W_mm from any initialization when non-optimal scores are uniform",
        statement="If all non-optimal token scores of each sequence are equal, GD converges in direction to W_mm "
        "from any initialization.",
        kind="limit",
        paper="PRIOR",
        provenance=prov("prior", note="Assumption B; eta is a [recon] parameter"),
        assumptions=UNIFORM,
        method="gd",
        metric="dir_err",
        evaluate=evaluate_direction_limit,
        params=dict(GD_GLOBAL),
        reconstructions=GLOBAL_RECON,
    ),
}


@st.composite
def _filtered(draw: st.DrawFn, base: st.SearchStrategy, claim_id: str, broken: str | None) -> ac.AttentionInstance:
    inst = draw(base)
    cache: dict = {}
    for aid in CLAIMS[claim_id].assumptions:
        want = "fails" if aid == broken else "holds"
        assume(ASSUMPTIONS[aid].check(inst, cache).verdict == want)
    return inst


def meets(claim_id: str) -> st.SearchStrategy:
    if claim_id == "prior.gd-local":
        return _filtered(local_alpha_strategy(), claim_id, None)
    if claim_id == "prior.gd-global-uniform":
        return _filtered(uniform_strategy(), claim_id, None)
    raise KeyError(claim_id)


def breaks(claim_id: str, assumption_id: str) -> st.SearchStrategy | None:
    """Instances breaking exactly ``assumption_id``; None where that is impossible (see ``implied_by``)."""
    if claim_id == "prior.gd-local":
        base = {"alpha_locally_optimal": local_alpha_strategy(locally_optimal=False),
                "init_cone": local_alpha_strategy(cone=False)}.get(assumption_id)
    elif claim_id == "prior.gd-global-uniform":
        base = {"uniform_scores": uniform_strategy(uniform=False),
                "score_gap": uniform_strategy(small_gap=True)}.get(assumption_id)
    else:
        raise KeyError(claim_id)
    return None if base is None else _filtered(base, claim_id, assumption_id)


MODULE = TheoremModule(
    key="prior",
    reference=REFERENCE,
    summary="Plain GD on one-layer softmax attention with a fixed decoder: local directional convergence to a "
    "locally-optimal W_mm(alpha) from its cone, and global convergence to W_mm under uniform non-optimal scores.",
    assumptions=ASSUMPTIONS,
    claims=CLAIMS,
    meets=meets,
    breaks=breaks,
    load_instance=ac.instance_from_json,
    instance_schema=ac.SCHEMA,
    gradient=ATTENTION_GRADIENT,
    extra_docs=f"Assumption parameters (all [recon]): {PARAMS}. The local claim's instances name alpha in "
    "meta['alpha'].\n\n" + refutation_docs({
        "prior.gd-local": "the theorem's R0(mu) is at most the radius at which the failure persists (tried up to "
        "10 ||W_mm(alpha)||), its mu at least 0.005 and its step at least 0.1; a witness of leaving W_mm(alpha) "
        "there contradicts it",
        "prior.gd-global-uniform": "Assumption B admits the instance with tol 1e-12 and gap 0.1, and GD's step 0.25 "
        "is 'small enough'; a witness of convergence to W_mm(alpha), alpha != opt, then contradicts it"}),
)

__all__ = ["MODULE", "CLAIMS", "ASSUMPTIONS"]
