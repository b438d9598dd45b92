r"""PRIOR: plain gradient descent on attention, local and uniform-score global convergence.

The two papers VDT24 and JTA24 build on: Tarzanagh, Li, Zhang, Oymak, *Max-Margin Token Selection in Attention
Mechanism* (NeurIPS 2023) and Tarzanagh, Li, Thrampoulidis, Oymak, *Transformers as Support Vector Machines*
(2023). Only the statements recorded in the catalogue are used; every constant is a parameter.

Problem
-------
The fixed-decoder attention classifier of the catalogue's Part A: logits $a_{i,t} = x_{i,t}^\top W z_i$,
attention $s_i = \mathrm{softmax}(a_i)$, risk $L(W) = \frac{1}{n}\sum_i \ell(y_i u^\top X_i^\top s_i)$ with the
logistic loss $\ell$. A *token choice* $\alpha = (\alpha_1, \dots, \alpha_n)$ picks one token per sequence, and
its Att-SVM is

$$W_{mm}(\alpha) = \argmin_W \|W\|_F \quad\text{s.t.}\quad (x_{i,\alpha_i} - x_{i,t})^\top W z_i \ge 1
\quad \forall i,\ t \ne \alpha_i ;$$

$W_{mm} = W_{mm}(\mathrm{opt})$ for the optimal tokens $\mathrm{opt}_i = \argmax_t g_{i,t}$,
$g_{i,t} = y_i u^\top x_{i,t}$. The local claim's instances name $\alpha$ in ``meta["alpha"]`` (its JSON round
trip is exact).

Assumptions
-----------
- ``alpha_locally_optimal``: $W_{mm}(\alpha)$ exists (certified) and $g_{i,\alpha_i} > g_{i,t}$ on every support
  token $(i, t)$ of $W_{mm}(\alpha)$; the slack is the smallest such score difference [prior].
- ``init_cone``: the start lies in the cone of $W_{mm}(\alpha)$:
  $\mathrm{corr}(W_0, W_{mm}(\alpha)) \ge 1 - \mu$ and $\|W_0\| \ge R\,\|W_{mm}(\alpha)\|$
  ($\mu = 0.05$, $R = 1$) [prior, recon].
- ``uniform_scores``: all non-optimal scores of a sequence are equal (PRIOR's Assumption B), up to a spread of
  $10^{-9}$ [prior].
- ``unique_opt``, ``score_gap``, ``feasible_svm``: as in VDT24 (a unique optimal token, a score gap of at least
  $\Delta$, a certified Att-SVM of the optimal tokens) [prior]; the gap $\Delta$ is [recon].

"$\mu$ small enough and $R$ large enough" is existential: PRIOR proves the local claim for every $R$ above some
$R_0(\mu, \text{data})$ it does not give, so a failure at one radius refutes nothing. The check moves the start
to the favourable end of the readings ($R$ up to 10, $\mu$ down to 0.005, the step down to 0.1) before anything
counts. The uniform-score claim does not assume near-orthogonality.

Method
------
Plain GD with a fixed decoder, $W_{t+1} = W_t - \eta \nabla L(W_t)$, from the stable, log-scaled gradient: the
local claim uses $\eta = 0.5$ ("small": half the smoothness scale of unit tokens; reading down to 0.1), the
uniform-score claim $\eta = 1$ (reading down to 0.25).

Guarantee
---------
- ``prior.gd-local`` (limit): GD with a small step, started in the cone around a locally-optimal
  $W_{mm}(\alpha)$, converges in direction to $W_{mm}(\alpha)$; metric ``dir_err_alpha``, the direction error
  against $W_{mm}(\alpha)$ [prior]; $\mu$, $R$ and $\eta$ are [recon].
- ``prior.gd-global-uniform`` (limit): when all non-optimal scores of each sequence are equal, GD converges in
  direction to $W_{mm}$ from any initialization [prior: Assumption B]; $\eta$ is [recon].

A limit claim is violated only with a witness (a lower bound from the certified SVMs and the run): the run ends
selecting tokens $\beta$ other than the target, and
$\big\|\hat W_{mm}(\beta) - \hat W_{mm}(\text{target})\big\| - e_\beta(t) > 0$ does not decay over the last two
decades (the triangle inequality keeps the run away from the target).

Strategies
----------
- ``prior.gd-local``, meets: $N(0, I/d)$ tokens, $n, T \in [4, 6]$, $d \approx nT/4$; $\alpha = \mathrm{opt}$
  except in one sequence, where $\alpha_j$ is the runner-up token; kept only when $W_{mm}(\alpha)$ is certified
  and $\alpha$ is locally optimal (about one draw in five); $W_0 = 1.05\,\|W_{mm}(\alpha)\| \cdot
  \mathrm{unit}(\hat W_{mm}(\alpha) + \xi)$ with $\|\xi\| = \sqrt{\mu}/2$ (so $\mathrm{corr} \approx 0.995$).
- Breaks ``alpha_locally_optimal``: $\alpha_j$ is the lowest-score token, $W_0$ in its cone. Breaks
  ``init_cone``: $W_0 = 0$.
- ``prior.gd-global-uniform``, meets: $N(0, I/d)$ tokens, $n, T \in [3, 6]$, $d \approx nT/4$, the non-optimal
  tokens projected along $u$ to their mean score; $W_0 = 0$ or random of norm 1 or 5. Breaks ``uniform_scores``:
  no projection. Breaks ``score_gap``: sequence 0's optimal score put $\Delta/2$ above the others.

References
----------
- [PRIOR] D. A. Tarzanagh, Y. Li, X. Zhang, S. Oymak. *Max-Margin Token Selection in Attention Mechanism.*
  NeurIPS 2023, arXiv 2306.13596.
- D. A. Tarzanagh, Y. Li, C. Thrampoulidis, S. Oymak. *Transformers as Support Vector Machines.* 2023,
  arXiv 2308.16898 (Assumption B: uniform non-optimal scores).
- The theorem catalogue of this site (``docs/catalogue.md``, Part A, "PRIOR").
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from theorems.attention import MODEL as ATTENTION
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
    model=ATTENTION,
    extra_docs=f"Assumption parameters (all [recon]): {PARAMS}. The local claim's instances name alpha in "
    "meta['alpha'].\n\n" + refutation_docs({
        "prior.gd-local": "the theorem's R0(mu) is at most the radius at which the failure persists (tried up to "
        "10 ||W_mm(alpha)||), its mu at least 0.005 and its step at least 0.1; a witness of leaving W_mm(alpha) "
        "there contradicts it",
        "prior.gd-global-uniform": "Assumption B admits the instance with tol 1e-12 and gap 0.1, and GD's step 0.25 "
        "is 'small enough'; a witness of convergence to W_mm(alpha), alpha != opt, then contradicts it"}),
)

__all__ = ["MODULE", "CLAIMS", "ASSUMPTIONS"]
