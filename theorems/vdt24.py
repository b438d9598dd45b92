r"""VDT24: normalized GD, Polyak step and joint training of one softmax-attention layer.

Vasudeva, Deora, Thrampoulidis, *Implicit Bias and Fast Convergence Rates for Self-attention* (arXiv 2402.05738,
TMLR 2025). The exact assumption inequalities and constants of the paper are not available to the toolkit (its
sources are the abstract and public summaries, see the catalogue's *Sources*): every assumption below is a
predicate whose constants are parameters (``theorems.attention.assumptions.PARAMS``) and every claim whose constant is
unknown is an *order* or *limit* claim. A user with the paper turns a rate into an explicit bound by giving the claim
a ``constant`` and declaring it ``kind="bound"``: an order claim may not have a constant.

Problem
-------
Binary classification with one softmax-attention layer and a linear decoder (the catalogue's Part A). An instance
(schema ``attention-classification/1``) holds $n$ sequences $X_i \in \mathbb{R}^{T\times d}$ with tokens
$x_{i,t}$, labels $y_i \in \{-1, +1\}$, a decoder $u \in \mathbb{R}^d$, queries $z_i$ (self-attention:
$z_i = x_{i,1}$) and a start $W_0$. For a key-query matrix $W \in \mathbb{R}^{d\times d}$ the logits are
$a_{i,t} = x_{i,t}^\top W z_i$, the attention is $s_i = \mathrm{softmax}(a_i)$ and the risk is

$$L(W) = \frac{1}{n}\sum_{i=1}^n \ell\big(y_i\, u^\top X_i^\top s_i\big), \qquad \ell(m) = \log(1 + e^{-m}).$$

With the token scores $g_{i,t} = y_i u^\top x_{i,t}$ and the optimal tokens $\mathrm{opt}_i = \argmax_t g_{i,t}$,
the infimum $L^\star = \frac{1}{n}\sum_i \ell(g_{i,\mathrm{opt}_i})$ is never attained; the limit of the training
direction is the Att-SVM solution

$$W_{mm} = \argmin_W \|W\|_F \quad\text{s.t.}\quad (x_{i,\mathrm{opt}_i} - x_{i,t})^\top W z_i \ge 1
\quad \forall i,\ t \ne \mathrm{opt}_i .$$

Joint training moves the decoder too, from $u_0 = 0$, on the risk $L(u, W)$; its limits are $W_{mm}$ and the
decoder SVM $u_{mm} = \argmin \|u\|$ s.t. $y_i u^\top x_{i,\mathrm{opt}_i} \ge 1$.

Assumptions
-----------
Fixed-decoder claims assume ``unique_opt``, ``score_gap``, ``near_orthogonal`` and ``feasible_svm``; joint claims
assume ``data_model``, ``score_gap`` and ``feasible_svm``.

- ``unique_opt``: $\min_i \big(g_{i,\mathrm{opt}_i} - \max_{t \ne \mathrm{opt}_i} g_{i,t}\big) > 0$ [prior];
  implied by ``score_gap``, so it cannot be broken alone.
- ``score_gap``: the same gap is at least $\Delta$ ($\Delta = 0.01$) [seed, recon].
- ``near_orthogonal``: $\max_{a \ne b} \lvert\langle x_a, x_b\rangle\rvert \le \varepsilon \min_a \|x_a\|^2$
  over all tokens ($\varepsilon = 0.5$) [seed, recon].
- ``feasible_svm``: the Att-SVM of the optimal tokens has a certified solution; its slack is the normalized
  margin $1/\|W_{mm}\|$ [prior]; implied by near-orthogonality.
- ``data_model`` (DM): one signal token per sequence, $x_{i,1} = y_i \mu$ for a fixed $\mu$ (relative residual at
  most $10^{-12}$), the other tokens noise, and $d \ge \kappa n T$ ($\kappa = 1$) [seed, recon].
- ``nonopt_support`` (diagnostic, never required): every non-optimal token is a support token of $W_{mm}$, a
  derived sufficient condition for $W_{mm}$ to be a descent direction everywhere [derived]. It is evaluated on
  every instance and shown in every report, so a counterexample says whether it held.

Near-orthogonality cannot hold under DM (the signal tokens $y_i\mu$ are collinear), so it is a diagnostic for the
joint claims; their ``score_gap`` is taken with respect to the reference decoder $u = \mu/\|\mu\|$, which makes
the signal token optimal. The constants $\varepsilon$, $\Delta$ and $\kappa$ are *readings*: a candidate
counterexample must survive $\varepsilon$ down to 0.01, $\Delta$ up to 0.1 and $\kappa$ up to 2.

Method
------
Step rules on $W$ with the decoder fixed (``verify.methods``), all computed from the stable, log-scaled gradient:

- NGD: $W_{t+1} = W_t - \eta\, \nabla L(W_t) / \|\nabla L(W_t)\|$ with $\eta = 0.1$;
- Polyak step (PS): $W_{t+1} = W_t - \gamma_t \nabla L(W_t)$,
  $\gamma_t = \big(L(W_t) - L^\star\big) / \big(c\, \|\nabla L(W_t)\|^2\big)$ with $c = 1$ (a reading: 1 to 2);
- GD, the baseline of the comparisons: a constant step $\eta = 1$ (reading down to 0.25);
- joint NGD on $(u, W)$ from $u_0 = 0$: the concatenated gradient normalized (``joint``, default) or each block
  normalized (``block``, a declared reading), $\eta = 0.1$; $L^\star = 0$ there.

Adam (log-scaled moments) is available as a comparator only. The joint problem is ``theorems.attention.joint``.

Guarantee
---------
- ``vdt24.global`` (limit): under near-orthogonal tokens and the score gap, NGD from *any* initialization
  converges in direction to $W_{mm}$, not to a locally-optimal $W_{mm}(\alpha)$ [seed, abs]; $\varepsilon$ and
  $\Delta$ are [recon]. Violated only with a witness (a lower bound from the certified SVMs and the run): the
  run selects other tokens $\beta$ and provably stays away from $W_{mm}$. Its evaluation exposes the event "the
  run selects the optimal tokens at the end" (``selected_final`` = ``opt``: the limit direction is $W_{mm}$, not a
  $W_{mm}(\alpha)$) for ``verify map``.
- ``vdt24.global-ps`` (limit): the same for the Polyak step ($c = 1$; a reading: 1 to 2) [derived: implied by
  ``vdt24.ps-rate``, whose rate is towards $W_{mm}$ on the same assumptions]; the sibling of ``vdt24.global``
  whose map compares PS with NGD.
- ``vdt24.ngd-rate`` (order): $e(t) = \big\|W_t/\|W_t\| - W_{mm}/\|W_{mm}\|\big\|_F = O(t^{-1/2})$ for NGD
  [seed: seed 001].
- ``vdt24.ps-rate`` (order): $e(t) = O(t^{-1/2})$ for the Polyak step [seed: seed 001]; $c$ is [recon].
- ``vdt24.ps-faster`` (comparison): on the same instance, PS reaches $e(t) \le 0.05$ in fewer steps than NGD
  [seed: seed 001]; the level is [recon].
- ``vdt24.beats-gd`` (comparison): NGD and PS each reach $e(t) \le 0.05$ in fewer steps than GD, whose direction
  error decays only about like $1/\log t$ (its fitted exponent is reported, not judged) [seed, abs]; the level
  and GD's step are [recon].
- ``vdt24.sparsity`` (order): under NGD the attention off the optimal tokens decays exponentially,
  $\max_i (1 - s_{i,\mathrm{opt}_i}(W_t)) \le C e^{-ct}$ with $c = \eta/\|W_{mm}\|$ [abs, derived]: the decay is
  [abs], the slope [derived] (NGD steps have length $\eta$, so $\|W_t\| \approx \eta t$ and the logit gaps grow
  like $\eta t/\|W_{mm}\|$). Checked on the logarithm of the metric.
- ``vdt24.loss-ngd``, ``vdt24.loss-ps`` (order): the loss gap $L(W_t) - L^\star$ decays exponentially under NGD
  and PS, $1/\lambda(t) = O(1/t)$ with the decay exponent $\lambda(t) = -\ln(L(W_t) - L^\star)$; ``vdt24.loss-gd``
  (order): only polynomially under GD, $\lambda(t) = O(\log t)$ [derived]: to first order the gap is proportional
  to the attention off the optimal tokens, and the logit gaps grow linearly in $t$ under NGD and PS, like
  $\log t$ under GD.
- ``vdt24.joint-dir`` (order): joint NGD from $u_0 = 0$ under DM,
  $\|\hat W_t - \hat W_{mm}\| = O(1/\log t)$ [seed]; the normalization is [recon].
- ``vdt24.joint-u`` (limit): joint NGD, $u_t/\|u_t\| \to u_{mm}/\|u_{mm}\|$ [seed].
- ``vdt24.joint-loss`` (probability): over draws of DM,
  $P\big[L(u_t, W_t) = O(e^{-t^{1/3}})\big] \ge 1 - \delta$ with $\delta = 0.25$, judged by a Clopper-Pearson
  interval at 95 % over 16 draws [seed, abs]; $\delta$ is [recon].

To turn ``vdt24.ngd-rate`` into an explicit bound, give it a ``constant`` (a sympy expression in ``n``, ``T``,
``d``, ``eta``, ``norm_Wmm``, ``norm_W0`` and ``Delta``) and declare it ``kind="bound"``; a claim refuses an
``order`` kind with a constant and a ``bound`` kind without one. What a finding would need to be true of the
paper to refute each claim is on the module's data page.

Strategies
----------
- Meets the fixed-decoder assumptions: rows of a random orthonormal frame in $\mathbb{R}^d$ ($d \ge nT$) plus a
  small perturbation, a random unit decoder, $W_0 = 0$ or a random matrix of norm 1 or 5 ("from any
  initialization"); each draw is filtered through the predicates.
- Breaks ``near_orthogonal`` only: unit Gaussian tokens with $d \approx nT/4$, $n, T \in [6, 9]$,
  $z_i = x_{i,1}$, $W_0 = 0$, kept when the score gap and a feasible SVM hold. This is the known failure of
  global convergence: many such NGD runs converge to some $W_{mm}(\alpha)$ with $\alpha \ne \mathrm{opt}$, and
  ``verify audit vdt24.global`` must find it.
- Breaks ``score_gap`` only: near-orthogonal tokens with the decoder tilted so that one sequence's runner-up
  score is within the gap of its optimal one.
- Grid (``verify map``, fixed-decoder claims): N(0, I/d) tokens times ``scale`` at given $n$, $T$, $d$ (or
  $d = \mathrm{round}(r\, nT)$ with ``d_over_nT`` $= r > 0$), $W_0$ of norm ``init_scale``, kept when the score
  gap holds; near-orthogonality follows from the parameters and is reported per cell, not filtered.
- Joint claims: DM draws with $n, T \in [2, 5]$, $d = nT + [0, 6]$, noise $\sigma \in \{0.05, 0.1, 0.2\}$,
  $\|\mu\| \in \{1, 2\}$; ``data_model`` is broken with $d \approx nT/4$, ``score_gap`` by moving one noise token
  along $u$ to within $\Delta/2$ of the signal's score.

Command line
------------
``verify trace --instance F --method gd|ngd|polyak|adam [--polyak-c C] [--joint] [--normalize joint|block]
[--init instance|zero|random|cone] [--init-scale S] [--init-seed K] [--cone-mu MU] [--alpha i0,i1,..]``
traces one run; a joint run adds ``u_dir_err`` (against the certified $u_{mm}$), ``loss`` and ``log10_loss``.
``verify check vdt24.global`` checks a claim, ``verify audit vdt24.global`` breaks each assumption alone.

References
----------
- [VDT24] B. Vasudeva, P. Deora, C. Thrampoulidis. *Implicit Bias and Fast Convergence Rates for
  Self-attention.* TMLR 2025, arXiv 2402.05738. Theorem 1 is the NGD, fixed-decoder result; the numbers of the
  other statements are unknown to the toolkit.
- [PRIOR] D. A. Tarzanagh, Y. Li, X. Zhang, S. Oymak. *Max-Margin Token Selection in Attention Mechanism.*
  NeurIPS 2023, arXiv 2306.13596 (the Att-SVM, locally-optimal directions).
- The theorem catalogue of this site (``docs/catalogue.md``): definitions, provenance tags, and where the code's
  reading differs from the sources.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy
from hypothesis import assume
from hypothesis import strategies as st

from theorems.attention import MODEL as ATTENTION
from theorems.attention import classifier as ac
from theorems.attention.assumptions import (
    PARAMS,
    data_model,
    feasible_svm,
    near_orthogonal,
    nonopt_support,
    score_gap,
    unique_opt,
)
from theorems.attention.claims import (
    evaluate_comparison,
    evaluate_direction_limit,
    evaluate_direction_order,
    evaluate_joint_decoder,
    evaluate_joint_direction,
    evaluate_joint_loss_probability,
    evaluate_loss_exponent,
    evaluate_loss_exponent_inverse,
    evaluate_sparsity,
)
from theorems.attention.recon import (
    DELTA,
    EPS,
    KAPPA,
    comparison_target,
    delta_probability,
    gd_step,
    normalization,
    polyak_c,
    refutation_docs,
)
from theorems.attention.strategies import GRID_PARAMS, dm_strategy, grid_strategy, instance_strategy
from verify.provenance import prov
from verify.theory import Claim, Reference, Settings, TheoremModule

T_SYM = sympy.Symbol("t", positive=True)

REFERENCE = Reference(
    key="VDT24",
    authors="Bhavya Vasudeva, Puneesh Deora, Christos Thrampoulidis",
    title="Implicit Bias and Fast Convergence Rates for Self-attention",
    arxiv="2402.05738",
    venue="TMLR 2025",
    theorem="Thm. 1 (NGD, fixed decoder); numbers of the other statements unknown",
)

ASSUMPTIONS = {a.id: a for a in (unique_opt, score_gap, near_orthogonal, feasible_svm, nonopt_support, data_model)}
CORE = ("unique_opt", "score_gap", "near_orthogonal", "feasible_svm")
JOINT = ("data_model", "score_gap", "feasible_svm")
DIAGNOSTIC = ("nonopt_support",)
NGD = {"eta": 0.1}
PS = {"c": 1.0}  # the classic Polyak constant; seed 001 writes c = 2 (set "c": 2.0 to check that reading)
GD = {"eta": 1.0}  # GD's step: 1 is about 1/smoothness for unit-norm tokens and a unit decoder [recon]
TARGET = 0.05  # direction-error level of the comparisons [recon]: all three methods reach it on most ci runs
CORE_RECON = (EPS, DELTA)  # readings of the [recon] thresholds of CORE (theorems.attention.recon)
JOINT_RECON = (KAPPA, DELTA)
PS_FASTER = polyak_c(("methods", "polyak", "c"), 1.0, "c = 1 gives PS the larger step and favours 'PS is faster'")
GD_SLOWER = gd_step(("methods", "gd", "eta"), GD["eta"], 0.25, "a smaller step slows GD and favours the claim")

def evaluate_global(claim: Claim, inst: ac.AttentionInstance, settings: Settings, cache: dict) -> Any:
    """:func:`~theorems.attention.claims.evaluate_direction_limit`, exposing the event the global claim is about
    for ``verify map`` (``extra["event"]``): the run selects the optimal tokens at the end (``selected_final`` is
    ``opt``), so its direction limit is W_mm and not a locally optimal W_mm(alpha)."""
    obs = evaluate_direction_limit(claim, inst, settings, cache)
    sel, opt = obs.extra.get("selected_final"), obs.extra.get("opt")
    if sel is not None and opt is not None:
        obs.extra["event"] = {"name": "selects the optimal tokens at the end (converges to W_mm, not a W_mm(alpha))",
                              "occurred": int(list(sel) == list(opt)), "trials": 1}
    return obs


CLAIMS = {
    "vdt24.global": Claim(
        id="vdt24.global",
        title="NGD converges in direction to W_mm from any initialization",
        statement="Under near-orthogonal tokens and the token-score-gap condition, NGD from ANY initialization "
        "converges in direction to W_mm, not to a locally-optimal W_mm(alpha).",
        kind="limit",
        paper="VDT24",
        provenance=prov("seed", "abs", note="seed 000-002; the assumptions' eps and Delta are [recon]"),
        assumptions=CORE,
        method="ngd",
        metric="dir_err",
        evaluate=evaluate_global,
        params={"eta": 0.1},
        reconstructions=CORE_RECON,
    ),
    "vdt24.global-ps": Claim(
        id="vdt24.global-ps",
        title="The Polyak step converges in direction to W_mm from any initialization",
        statement="Under near-orthogonal tokens and the token-score-gap condition, the Polyak step (c = 1) from ANY "
        "initialization converges in direction to W_mm, not to a locally-optimal W_mm(alpha).",
        kind="limit",
        paper="VDT24",
        provenance=prov("derived", note="implied by vdt24.ps-rate (a rate towards W_mm on the same assumptions); "
                        "eps, Delta and c are [recon]"),
        assumptions=CORE,
        method="polyak",
        metric="dir_err",
        evaluate=evaluate_global,
        params={**PS},
        reconstructions=(*CORE_RECON, polyak_c(("c",), 2.0, "c = 2 (the seed's own form, half the classic step) "
                                                 "is taken as favourable, as for vdt24.ps-rate")),
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
        reconstructions=CORE_RECON,
    ),
    "vdt24.ps-rate": Claim(
        id="vdt24.ps-rate",
        title="Polyak-step direction error decays like t^(-1/2)",
        statement="e(t) = O(t^{-1/2}) for the Polyak step gamma_t = (L(W) - L*)/(c ||grad L||^2), fixed decoder, "
        "L* = (1/n) sum_i l(g_{i,opt_i}).",
        kind="order",
        paper="VDT24",
        provenance=prov("seed", note="seed 001; c is a parameter (classic c = 1, seed 001 writes c = 2)"),
        assumptions=CORE,
        method="polyak",
        metric="dir_err",
        evaluate=evaluate_direction_order,
        rate=T_SYM ** sympy.Rational(-1, 2),
        params={**PS, "decades": 2},
        reconstructions=(*CORE_RECON, polyak_c(("c",), 2.0, "c = 2 (the seed's own form, half the classic step) "
                                                 "is taken as favourable")),
    ),
    "vdt24.ps-faster": Claim(
        id="vdt24.ps-faster",
        title="Polyak step converges faster than NGD",
        statement="On the same instance, PS reaches direction error <= target in fewer steps than NGD.",
        kind="comparison",
        paper="VDT24",
        provenance=prov("seed", note="seed 001; the target level is [recon]"),
        assumptions=CORE,
        method="polyak",
        metric="dir_err",
        evaluate=evaluate_comparison,
        params={"pairs": [("polyak", "ngd")], "methods": {"polyak": PS, "ngd": NGD}, "target": TARGET},
        reconstructions=(*CORE_RECON, PS_FASTER, comparison_target(TARGET)),
    ),
    "vdt24.beats-gd": Claim(
        id="vdt24.beats-gd",
        title="NGD and PS converge faster than GD",
        statement="On the same instance, NGD and PS each reach direction error <= target in fewer steps than GD; "
        "GD's direction error decays only about like 1/log t (its fitted log-exponent is reported).",
        kind="comparison",
        paper="VDT24",
        provenance=prov("seed", "abs", note="the target level and GD's step are [recon]"),
        assumptions=CORE,
        method="ngd",
        metric="dir_err",
        evaluate=evaluate_comparison,
        params={"pairs": [("ngd", "gd"), ("polyak", "gd")], "methods": {"ngd": NGD, "polyak": PS, "gd": GD},
                "target": TARGET},
        reconstructions=(*CORE_RECON, PS_FASTER, GD_SLOWER, comparison_target(TARGET)),
    ),
    "vdt24.sparsity": Claim(
        id="vdt24.sparsity",
        title="NGD's attention on non-optimal tokens decays exponentially",
        statement="max_i (1 - s_{i,opt_i}(W_t)) <= C exp(-c t) under NGD, with c = eta/||W_mm||_F (the derived "
        "limit slope; params['slope_fraction'] scales it).",
        kind="order",
        paper="VDT24",
        provenance=prov("abs", "derived", note="exponential decay [abs]; the slope eta/||W_mm|| is [derived]"),
        assumptions=CORE,
        method="ngd",
        metric="log10_max_nonopt",
        evaluate=evaluate_sparsity,
        rate=sympy.exp(-sympy.Symbol("c", positive=True) * T_SYM),
        params={**NGD, "slope_fraction": 1.0, "decades": 2},
        reconstructions=CORE_RECON,
    ),
    "vdt24.loss-ngd": Claim(
        id="vdt24.loss-ngd",
        title="NGD's loss gap decays exponentially",
        statement="L(W_t) - L* <= C exp(-c t) for some c > 0 under NGD (fixed decoder). With the loss gap's decay "
        "exponent lambda(t) = -ln(L(W_t) - L*), that is 1/lambda(t) = O(1/t), the unknown constant being 1/c.",
        kind="order",
        paper="VDT24",
        provenance=prov("derived", note="to first order L - L* is the attention off the optimal tokens, which "
                        "decays like exp(-logit gap), and the gaps grow linearly in t when ||W_t|| does"),
        assumptions=CORE,
        method="ngd",
        metric="inv_loss_decay_exponent",
        evaluate=evaluate_loss_exponent_inverse,
        rate=1 / T_SYM,
        params={**NGD, "decades": 2},
        reconstructions=CORE_RECON,
    ),
    "vdt24.loss-ps": Claim(
        id="vdt24.loss-ps",
        title="The Polyak step's loss gap decays exponentially",
        statement="L(W_t) - L* <= C exp(-c t) for some c > 0 under the Polyak step (fixed decoder): "
        "1/lambda(t) = O(1/t) with lambda(t) = -ln(L(W_t) - L*).",
        kind="order",
        paper="VDT24",
        provenance=prov("derived", note="as for vdt24.loss-ngd: the Polyak step's norm grows linearly in t too; "
                        "c is [recon]"),
        assumptions=CORE,
        method="polyak",
        metric="inv_loss_decay_exponent",
        evaluate=evaluate_loss_exponent_inverse,
        rate=1 / T_SYM,
        params={**PS, "decades": 2},
        reconstructions=(*CORE_RECON, polyak_c(("c",), 1.0, "the rate class does not depend on c in theory, so "
                                                "neither end is known to favour the claim")),
    ),
    "vdt24.loss-gd": Claim(
        id="vdt24.loss-gd",
        title="GD's loss gap decays only polynomially",
        statement="L(W_t) - L* >= t^{-C} for some C under GD with a constant step (fixed decoder): the decay "
        "exponent lambda(t) = -ln(L(W_t) - L*) is O(log t).",
        kind="order",
        paper="VDT24",
        provenance=prov("derived", note="GD's norm grows like log t, so its logit gaps do, and exp(-c log t) = "
                        "t^-c; GD's step is [recon]"),
        assumptions=CORE,
        method="gd",
        metric="loss_decay_exponent",
        evaluate=evaluate_loss_exponent,
        rate=sympy.log(T_SYM),
        params={**GD, "decades": 2},
        reconstructions=(*CORE_RECON, gd_step(("eta",), GD["eta"], GD["eta"], "GD's loss gap is polynomial at "
                                              "every stable step, so no end is known to favour the claim", (0.25,))),
    ),
    "vdt24.joint-dir": Claim(
        id="vdt24.joint-dir",
        title="Joint NGD: W's direction tends to W_mm at rate O(1/log t)",
        statement="Joint NGD on (u, W) from u = 0: ||W_t/||W_t|| - W_mm/||W_mm|| || = O(1/log t) under DM.",
        kind="order",
        paper="VDT24",
        provenance=prov("seed", note="the normalization is a parameter (joint or per block)"),
        assumptions=JOINT,
        method="ngd",
        metric="dir_err",
        evaluate=evaluate_joint_direction,
        rate=1 / sympy.log(T_SYM),
        params={**NGD, "normalize": "joint", "decades": 2, "fit_scale": "log", "svm": "hard"},
        reconstructions=(*JOINT_RECON, normalization("per block moves W as fast as u, which favours the "
                                                     "W-direction claim")),
    ),
    "vdt24.joint-u": Claim(
        id="vdt24.joint-u",
        title="Joint NGD: u's direction tends to the decoder SVM u_mm",
        statement="Joint NGD on (u, W) from u = 0: u_t/||u_t|| -> u_mm/||u_mm||, u_mm = argmin ||u|| s.t. "
        "y_i u^T x_{i,opt_i} >= 1, under DM.",
        kind="limit",
        paper="VDT24",
        provenance=prov("seed"),
        assumptions=JOINT,
        method="ngd",
        metric="u_dir_err",
        evaluate=evaluate_joint_decoder,
        params={**NGD, "normalize": "joint"},
        reconstructions=(*JOINT_RECON, normalization("neither is known to favour the u-direction claim; per "
                                                     "block (PRIOR's code) is taken as favourable")),
    ),
    "vdt24.joint-loss": Claim(
        id="vdt24.joint-loss",
        title="Joint NGD: L(u_t, W_t) = O(exp(-t^(1/3))) with high probability under DM",
        statement="Over draws of the data model DM, P[ L(u_t, W_t) = O(exp(-t^{1/3})) ] >= 1 - delta for joint "
        "NGD from u = 0 (Clopper-Pearson over params['draws'] draws).",
        kind="probability",
        paper="VDT24",
        provenance=prov("seed", "abs", note="delta is [recon]; the draws and the confidence are settings of the "
                        "Clopper-Pearson test, not readings of the paper"),
        assumptions=JOINT,
        method="ngd",
        metric="log10_loss",
        evaluate=evaluate_joint_loss_probability,
        rate=sympy.exp(-(T_SYM ** sympy.Rational(1, 3))),
        params={**NGD, "normalize": "joint", "decades": 2, "draws": 16, "delta": 0.25, "confidence": 0.95},
        reconstructions=(*JOINT_RECON, delta_probability(0.25),
                         normalization("neither is known to favour the loss claim; per block (PRIOR's code) is "
                                       "taken as favourable")),
    ),
}


REFUTES = {
    "vdt24.global": "the paper's near-orthogonality admits the instance at eps 0.01 and its gap at Delta 0.1 (the "
    "strictest readings tried); then a witness of convergence to W_mm(alpha), alpha != opt, contradicts it",
    "vdt24.global-ps": "as for vdt24.global, for the Polyak step with the paper's c in [1, 2] (the claim is derived "
    "from the PS rate, so a finding refutes that rate's limit)",
    "vdt24.ngd-rate": "the instance meets the paper's eps and Delta (down to 0.01 / up to 0.1) and the t^-1/2 is for "
    "the Frobenius direction error with a constant that does not depend on the horizon",
    "vdt24.ps-rate": "as for vdt24.ngd-rate, for the paper's Polyak constant c, whichever of 1 and 2 it is",
    "vdt24.ps-faster": "'faster' means fewer steps to every fixed direction-error level (0.02 included) with the "
    "paper's c in [1, 2]",
    "vdt24.beats-gd": "'faster than GD' is against GD at any stable constant step (0.25 included) and at every level",
    "vdt24.sparsity": "the exponential rate is claimed with slope about eta/||W_mm|| (our derived shape) on data "
    "meeting the paper's eps and Delta; a slower exponential does not refute 'exponential'",
    "vdt24.loss-ngd": "the paper's 'exponentially' is an exponential at some rate c > 0 (any c agrees), for NGD "
    "on data meeting its eps and Delta",
    "vdt24.loss-ps": "as for vdt24.loss-ngd, for every Polyak c in [1, 2]",
    "vdt24.loss-gd": "the paper's 'only polynomially' holds for GD at every stable constant step (0.25 included), "
    "judged once GD's loss gap has left its transient",
    "vdt24.joint-dir": "the paper normalizes the concatenated gradient of (u, W), not each block (per block the "
    "error falls like t^-1), and its DM admits d = kappa nT at the instance's kappa (up to 2)",
    "vdt24.joint-u": "the u-limit is claimed for the normalization that fails, on DM data at kappa up to 2",
    "vdt24.joint-loss": "the probability is at least 1 - delta with delta <= 0.25 over the DM draws of the instance's "
    "generator, under the normalization that fails",
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
    known failure of docs/catalogue.md, VDT24), keeping a unique optimal token, the score gap and a feasible SVM."""
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


@st.composite
def dm_instances(draw: st.DrawFn, dims: str = "large", gap: str = "any",
                 broken: str | None = None) -> ac.AttentionInstance:
    """DM draws (the generator's own predicates data_model and score_gap filter each draw) meeting every JOINT
    assumption, or breaking exactly ``broken``."""
    inst = draw(dm_strategy(dims=dims, gap=gap))
    cache: dict = {}
    for aid in JOINT:
        want = "fails" if aid == broken else "holds"
        assume(ASSUMPTIONS[aid].check(inst, cache).verdict == want)
    return inst


def meets(claim_id: str) -> st.SearchStrategy:
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    if CLAIMS[claim_id].assumptions == JOINT:
        return dm_instances()
    return near_orthogonal_instances()


def breaks(claim_id: str, assumption_id: str) -> st.SearchStrategy | None:
    """Instances breaking exactly ``assumption_id``; None where that is impossible (see ``implied_by``)."""
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    if CLAIMS[claim_id].assumptions == JOINT:
        return {"data_model": dm_instances(dims="small", broken="data_model"),
                "score_gap": dm_instances(gap="small", broken="score_gap")}.get(assumption_id)
    return {"near_orthogonal": low_dimensional_instances(), "score_gap": small_gap_instances()}.get(assumption_id)


def grid(claim_id: str, params: dict) -> st.SearchStrategy | None:
    """Fixed-decoder claims: N(0, I/d) tokens times ``scale`` at the given n, T, d (or d = round(d_over_nT * n * T)
    when ``d_over_nT`` > 0), init_scale (``theorems.attention.strategies.grid_strategy``), keeping the draws with a
    unique optimal token and the score gap (what the decoder controls); near-orthogonality and the SVM's
    feasibility follow from n, T, d and are reported per cell, not filtered. The joint claims (data model DM) have
    no grid yet."""
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    if CLAIMS[claim_id].assumptions == JOINT:
        return None

    def keep(inst: ac.AttentionInstance) -> bool:
        cache: dict = {}
        return all(ASSUMPTIONS[aid].check(inst, cache).verdict == "holds" for aid in ("unique_opt", "score_gap"))

    return grid_strategy(**{**GRID_PARAMS, **params}).filter(keep)


MODULE = TheoremModule(
    key="vdt24",
    reference=REFERENCE,
    summary="One-layer softmax attention: fixed-decoder NGD and Polyak step converge in direction to the Att-SVM "
    "solution W_mm under near-orthogonal tokens at rate O(t^{-1/2}), faster than GD, with exponentially sparse "
    "attention and loss gap; joint (u, W) NGD under the data model DM: W -> W_mm at O(1/log t), u -> u_mm, "
    "L = O(exp(-t^{1/3})).",
    assumptions=ASSUMPTIONS,
    claims=CLAIMS,
    meets=meets,
    breaks=breaks,
    model=ATTENTION,
    grid=grid,
    grid_params=GRID_PARAMS,
    extra_docs=f"Assumption parameters (all [recon]): {PARAMS}. Diagnostic assumptions: {DIAGNOSTIC}.\n\n"
    + refutation_docs(REFUTES),
)

__all__ = ["MODULE", "CLAIMS", "ASSUMPTIONS", "np"]
