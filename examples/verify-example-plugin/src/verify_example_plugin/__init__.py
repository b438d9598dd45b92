r"""EXAMPLE: a theorem plugin for attention-verify, installed as its own package.

It registers ``MODULE`` under the ``verify.theorems`` entry-point group (see its pyproject.toml), so
``verify list`` and ``verify check`` find it with no edit to the toolkit. It was built from the toolkit's
``theorems/template.py`` and its docstring follows the same schema (Problem, Assumptions, Method, Guarantee,
References), which the toolkit's tests check on every registered module.

Problem
-------
The fixed-decoder attention classifier of attention-verify's catalogue (Part A): logits
$a_{i,t} = x_{i,t}^\top W z_i$, attention $s_i = \mathrm{softmax}(a_i)$, logistic risk $L(W)$, instances of
schema ``attention-classification/1``; the limit direction is the Att-SVM solution $W_{mm}$, and the metric is
the direction error $e(t) = \big\|W_t/\|W_t\| - W_{mm}/\|W_{mm}\|\big\|_F$.

Assumptions
-----------
The template's predicates: ``unique_opt`` [prior], ``score_gap`` [seed, recon], ``near_orthogonal``
[seed, recon] and ``feasible_svm`` [prior]; both claims assume all four.

Method
------
NGD with $\eta = 0.1$ for the honest claim; plain GD, $W_{t+1} = W_t - \eta\nabla L(W_t)$ with $\eta = 1$, for
the false one.

Guarantee
---------
- ``example.ngd-direction`` (limit): NGD converges in direction to $W_{mm}$ on near-orthogonal tokens
  [seed, abs: the VDT24 statement, restated as an example].
- ``example.gd-fast`` (order), DELIBERATELY FALSE: "GD's direction error decays like $t^{-1}$" [recon]. Plain
  GD's iterate norm grows only like $\log t$ and its direction error decays about like $1/\log t$ (VDT24
  [seed, abs]), so $e(t)\cdot t$ keeps growing. It is here so that CI shows the toolkit refuting a false claim
  with a confirmed, replayable counterexample report (tests/test_plugins.py in the toolkit).

References
----------
- [VDT24] B. Vasudeva, P. Deora, C. Thrampoulidis. *Implicit Bias and Fast Convergence Rates for
  Self-attention.* TMLR 2025, arXiv 2402.05738 (the behaviour of NGD and GD the two claims are about).
"""

from __future__ import annotations

import sympy

from theorems.attention import MODEL as ATTENTION
from theorems.attention.claims import evaluate_direction_limit, evaluate_direction_order
from theorems.attention.recon import DELTA, EPS
from theorems.template import ASSUMPTIONS, BREAKERS, CORE, near_orthogonal_instances
from verify.provenance import prov
from verify.theory import Claim, Reference, TheoremModule

T = sympy.Symbol("t", positive=True)

REFERENCE = Reference(
    key="EXAMPLE",
    authors="attention-verify authors",
    title="An example plugin: one honest claim and one deliberately false one",
    theorem="none (a demonstration)",
)

CLAIMS = {
    "example.ngd-direction": Claim(
        id="example.ngd-direction",
        title="NGD converges in direction to W_mm",
        statement="Under near-orthogonal tokens and a token-score gap, W_t/||W_t|| -> W_mm/||W_mm|| for NGD "
        "with a fixed decoder.",
        kind="limit",
        paper="EXAMPLE",
        provenance=prov("seed", "abs", note="the VDT24 statement, restated as a plugin example"),
        assumptions=CORE,
        method="ngd",
        metric="dir_err",
        evaluate=evaluate_direction_limit,
        params={"eta": 0.1},
        reconstructions=(EPS, DELTA),  # the readings of the shared predicates' [recon] thresholds
    ),
    "example.gd-fast": Claim(
        id="example.gd-fast",
        title="DELIBERATELY FALSE: GD's direction error decays like t^(-1)",
        statement="DELIBERATELY FALSE (a demonstration that the toolkit refutes false claims): "
        "e(t) = || W_t/||W_t|| - W_mm/||W_mm|| ||_F = O(t^{-1}) for plain GD with a fixed decoder. "
        "The truth is about 1/log t.",
        kind="order",
        paper="EXAMPLE",
        provenance=prov("recon", note="deliberately false; VDT24 [seed, abs] says GD decays only like 1/log t"),
        assumptions=CORE,
        method="gd",
        metric="dir_err",
        evaluate=evaluate_direction_order,
        rate=T ** -1,
        # eta = 1 (VDT24's GD step): the claim is false for every eta, but at eta = 0.1 the quick horizon (2000
        # steps) is still in GD's fast transient, where the ratio's growth slows and the order rule rightly
        # answers "inconclusive (growth-decelerating)"; at eta = 1 it grows steadily like t^0.77 by then
        params={"eta": 1.0, "decades": 2},
        reconstructions=(EPS, DELTA),
    ),
}


def meets(claim_id: str):  # type: ignore[no-untyped-def]
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    return near_orthogonal_instances()


def breaks(claim_id: str, assumption_id: str):  # type: ignore[no-untyped-def]
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    make = BREAKERS.get(assumption_id)
    return None if make is None else make()


MODULE = TheoremModule(
    key="example",
    reference=REFERENCE,
    summary="A demonstration plugin on the fixed-decoder attention classifier. example.gd-fast is "
    "DELIBERATELY FALSE and must be refuted by `verify check example.gd-fast`.",
    assumptions=dict(ASSUMPTIONS),
    claims=CLAIMS,
    meets=meets,
    breaks=breaks,
    model=ATTENTION,
    extra_docs="Built from theorems/template.py, following docs/extending.md.",
)
