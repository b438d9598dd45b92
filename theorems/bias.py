r"""BIAS: which max-margin solution do adaptive and sign methods approach on attention? (exploratory claims)

No paper states these claims for attention. They are our extrapolation ([recon]) of implicit-bias results for
*linear* classifiers on separable data to the one-layer attention classifier: steepest descent with respect to
a norm tends to that norm's max-margin direction (Gunasekar, Lee, Soudry, Srebro 2018), and Adam without its
stability constant tends to the $\ell_\infty$ max-margin direction (Zhang, Zou, Cao 2024, with decaying
learning rates); with a positive $\varepsilon$, adaptive methods behave like gradient descent once the gradient
is far below $\varepsilon$, where the $\ell_2$ geometry is expected instead (Wang, Meng, Chen, Liu 2021, on
homogeneous networks). Each claim asks whether the attention analogue holds: the direction of $W_t$ approaches
the $\ell_\infty$-Att-SVM. The findings (docs/findings/implicit-bias.md) are the reason these claims exist.

Problem
-------
The fixed-decoder attention classifier of the catalogue's Part A (logits $a_{i,t} = x_{i,t}^\top W z_i$,
attention $s_i = \mathrm{softmax}(a_i)$, logistic risk $L$), from $W_0 = 0$, on ``attention-classification/1``
instances with near-orthogonal tokens ($d \ge nT$). The limit object is the $\ell_\infty$-Att-SVM of the
optimal tokens, a linear program certified exactly (``theorems.attention.svm_linf``):
$s^* = \min \|W\|_\infty = \max_{ab} |W_{ab}|$ s.t. $(x_{i,\mathrm{opt}_i} - x_{i,t})^\top W z_i \ge 1$.
Its solution need not be unique, so the metric is the distance to the *set* of optimal directions,
$D_\infty(t) = \min_{U \in S^*/s^*} \| W_t/\|W_t\|_\infty - U\|_\infty$ (a second linear program), with the
solver-free witness $D_\infty(t) \ge (1/s^*_{hi} - \gamma_\infty(W_t)) / \max_k \|a_k\|_1$, where
$\gamma_\infty(W) = \min_k a_k^\top W / \|W\|_\infty$ is the normalized $\ell_\infty$ margin (Hölder).

Assumptions
-----------
- ``unique_opt``: each sequence has one optimal token [prior];
- ``score_gap``: the optimal score exceeds every other by at least $\Delta$ [seed, recon];
- ``near_orthogonal``: $\lvert\langle x_a, x_b\rangle\rvert \le \varepsilon \min \|x\|^2$ for distinct tokens
  [seed, recon];
- ``feasible_svm``: the Att-SVM of the optimal tokens has a certified solution [prior] (the $\ell_\infty$ LP
  has the same feasible set).

Method
------
From ``verify.methods``: Adam ($\beta_1 = 0.9$, $\beta_2 = 0.999$, $\varepsilon$ and the learning rate $\eta$
from the claim's parameters), RMSprop (decay 0.99, $\varepsilon$, $\eta$) and sign GD, $W \leftarrow W - \eta\,
\mathrm{sign}(\nabla L)$, which is normalized steepest descent in the entrywise $\ell_\infty$ norm. The step is
constant by default; the parameter ``decay_power`` $a$ makes it $\eta/(t+1)^a$ (the linear-model results take
decaying steps; $a \in \{0, 0.5, 1\}$ are declared readings). All are entrywise, so they run on the dense
representation.

Guarantee
---------
- ``bias.adam-linf`` (limit): Adam's direction approaches the $\ell_\infty$-Att-SVM set, $D_\infty(t) \to 0$
  [recon: extrapolated from the linear-model result for Adam without stability constant; the step $\eta$, its
  schedule and $\varepsilon$ are reconstructions, the favourable readings are $\eta = 0.01$,
  $\eta_t = \eta/\sqrt{t+1}$ and $\varepsilon = 0$].
- ``bias.signgd-linf`` (limit): sign GD's direction approaches the $\ell_\infty$-Att-SVM set [recon:
  extrapolated from steepest descent in a norm on linear models; $\eta$ and its schedule are reconstructions,
  favourable 0.01 and $\eta/\sqrt{t+1}$].
- ``bias.rmsprop-linf`` (limit): RMSprop's direction approaches the $\ell_\infty$-Att-SVM set [recon: by the
  same extrapolation as Adam's, RMSprop being Adam without momentum or bias correction; $\eta$ and
  $\varepsilon$ and the schedule as for Adam].

Strategies
----------
Meets: orthonormal frames, $n, T \in \{2, 3\}$, $d = nT + \{0, \dots, 3\}$, $W_0 = 0$, every score gap at least
0.1 (the strictest reading of $\Delta$), so the instances meet every declared reading. Breaks
``near_orthogonal``: unit Gaussian tokens with $d \approx nT/4$; breaks ``score_gap``: VDT24's small-gap tilt.

References
----------
- S. Gunasekar, J. Lee, D. Soudry, N. Srebro. *Characterizing Implicit Bias in Terms of Optimization
  Geometry.* ICML 2018, arXiv 1802.08246.
- C. Zhang, D. Zou, Y. Cao. *The Implicit Bias of Adam on Separable Data.* NeurIPS 2024, arXiv 2406.10650.
- B. Wang, Q. Meng, W. Chen, T.-Y. Liu. *The Implicit Bias for Adaptive Optimization Algorithms on
  Homogeneous Neural Networks.* ICML 2021, arXiv 2012.06244.
- [VDT24] B. Vasudeva, P. Deora, C. Thrampoulidis. *Implicit Bias and Fast Convergence Rates for
  Self-attention.* arXiv 2402.05738 (the question this module asks is from its summary).
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from theorems.attention import MODEL as ATTENTION
from theorems.attention import classifier as ac
from theorems.attention.assumptions import cached_solve, feasible_svm, near_orthogonal, score_gap, svm_for, unique_opt
from theorems.attention.recon import DELTA, EPS, claim_param
from theorems.attention.strategies import generate
from theorems.attention.svm_linf import (
    PolySVMSolution,
    margin_lower_bound,
    margin_ratio,
    point_distance,
    set_distance,
    solve_poly_att_svm,
)
from verify.backends import get_backend
from verify.methods import Method, adam, rmsprop, sign_gd
from verify.observation import Series, SeriesObservation
from verify.provenance import prov
from verify.theory import Claim, Reconstruction, Reference, Settings, TheoremModule
from verify.trajectory import run

REFERENCE = Reference(
    key="BIAS",
    authors="attention-verify (exploratory claims; no paper states them for attention)",
    title="Implicit bias of adaptive and sign methods on softmax attention: extrapolations from linear models",
    arxiv="",
    theorem="none: reconstructions from Gunasekar et al. 2018 and Zhang, Zou, Cao 2024 (linear models)",
)

ASSUMPTIONS = {a.id: a for a in (unique_opt, score_gap, near_orthogonal, feasible_svm)}
CORE = ("unique_opt", "score_gap", "near_orthogonal", "feasible_svm")
STRICT_DELTA = float(DELTA.favourable)


# ----------------------------------------------------------------------------------------------- helpers
def linf_svm_for(inst: ac.AttentionInstance, cache: dict, q: str = "inf") -> PolySVMSolution:
    """The certified linf (or l1) Att-SVM of the optimal tokens, cached per instance."""
    a = tuple(int(v) for v in ac.optimal_tokens(inst))
    return cached_solve(cache, ("poly-svm", q, a), lambda: solve_poly_att_svm(inst.X, inst.z, a, q))


def build_method(name: str, params: dict) -> Method:
    """The claim's method with its parameters: ``eta`` (0.1), ``decay_power`` (0: the constant step; a > 0: the
    step eta/(t+1)^a) and, for adam and rmsprop, ``eps`` (1e-8)."""
    eta = float(params.get("eta", 0.1))
    eps = float(params.get("eps", 1e-8))
    power = float(params.get("decay_power", 0.0))
    if name == "adam":
        return adam(eta, eps=eps, decay_power=power)
    if name == "rmsprop":
        return rmsprop(eta, eps=eps, decay_power=power)
    if name == "signgd":
        return sign_gd(eta, power)
    raise KeyError(name)


def evaluate_linf_limit(claim: Claim, inst: ac.AttentionInstance, settings: Settings,
                        cache: dict) -> SeriesObservation:
    """D_inf(t): the linf distance of W_t/||W_t||_inf to the set of linf-Att-SVM directions (an LP per
    checkpoint; a lower bound up to the LP solver's tolerance), with the solver-free margin witness
    (1/s_hi - gamma_inf(W_t)) / max_k ||a_k||_1 <= D_inf(t). Extras: the normalized-margin ratio
    s_hi gamma_inf(W_t) (1 on the optimal set), the distance to the one returned LP solution (an upper bound),
    the l2 direction error to W_mm, and the LP's certificate."""
    sol = linf_svm_for(inst, cache)
    rule = build_method(claim.method, claim.params)
    bk = get_backend(settings.backend, settings.dps)
    tr = run(ac.build_problem(bk, ac.stack([inst]), "dense"), rule, settings.steps)
    Ws = np.asarray(tr.series("W"), dtype=float)
    moved = np.array([bool(np.any(W != 0)) for W in Ws])
    keep = np.flatnonzero(moved)
    t = [int(tr.t[k]) for k in keep]
    dist = np.array([set_distance(Ws[k], sol, inst.X, inst.z) for k in keep])
    lower = np.array([margin_lower_bound(Ws[k], sol, inst.X, inst.z) for k in keep])
    extra: dict = {
        "margin_ratio": [margin_ratio(Ws[k], sol, inst.X, inst.z) for k in keep],
        "point_distance": [point_distance(Ws[k], sol) for k in keep],
        "witness": lower.tolist(),
        "svm_linf": {"norm_interval": list(sol.norm_interval), "certificate": sol.certificate,
                     "rel_gap": sol.rel_gap, "polished": list(sol.polished)},
        "max_rel_error": float(tr.max_rel_error.max()),
        "selected_final": tr.series("selected")[-1].tolist(),
    }
    try:
        W_mm = svm_for(inst, cache).W
        extra["dir_err_l2"] = ac.direction_error(Ws[keep], np.broadcast_to(W_mm, Ws[keep].shape))[0].tolist()
    except Exception as exc:  # noqa: BLE001 - the l2 figure is an extra; the claim does not need it
        extra["dir_err_l2"] = f"not available: {exc}"
    ok = np.asarray(tr.precision_ok[:, 0], dtype=bool)[keep]
    run_info = {"method": claim.method, "params": rule.to_json(), "backend": tr.backend, "dps": tr.dps,
                "steps": settings.steps, "representation": "dense (entrywise methods leave the Gram span)",
                "notes": tr.notes}
    return SeriesObservation(series={claim.metric: Series(t, dist, ok=ok, witness=lower)}, run=run_info,
                             extra=extra)


def _eta(favourable: float, why: str) -> Reconstruction:
    return claim_param(
        "eta", "the learning rate is ours: the linear-model results take decaying or small steps, so any constant "
        f"eta in [0.01, 0.1] is a reading; {why}", ("eta",), 0.1, favourable)


def _eps() -> Reconstruction:
    return claim_param(
        "eps", "the stability constant: the linear-model result for Adam is for eps = 0 (with eps > 0 the method "
        "turns into gradient descent once |grad| << eps); both eps = 1e-8 (the default of every library) and "
        "eps = 0 are readings, eps = 0 favours the claim", ("eps",), 1e-8, 0.0)


def _schedule() -> Reconstruction:
    return claim_param(
        "decay_power", "the step schedule: the linear-model results for Adam and for steepest descent take "
        "decaying steps eta_t = eta/(t+1)^a with a in (0, 1]; a constant step (a = 0, what libraries default to) "
        "and a = 0.5, 1 are readings; the decaying a = 0.5 is taken as favourable", ("decay_power",), 0.0, 0.5,
        (1.0,))


def _claim(cid: str, method: str, title: str, statement: str, note: str, recon: tuple) -> Claim:
    return Claim(id=cid, title=title, statement=statement, kind="limit", paper="BIAS",
                 provenance=prov("recon", note=note), assumptions=CORE, method=method, metric="linf_set_dist",
                 evaluate=evaluate_linf_limit,
                 params={"eta": 0.1, "decay_power": 0.0, **({"eps": 1e-8} if method != "signgd" else {})},
                 confirm_with=("higher-precision", "longer-horizon"),
                 reconstructions=(EPS, DELTA, *recon, _schedule()))


CLAIMS = {c.id: c for c in (
    _claim("bias.adam-linf", "adam", "Adam's direction approaches the l-inf Att-SVM",
           "On near-orthogonal data, Adam from W0 = 0 converges in direction to the set of l-inf-Att-SVM "
           "solutions: D_inf(t) -> 0.",
           "our extrapolation to attention of the linear-model result that Adam without stability constant "
           "(and with decaying steps) tends to the l-inf max-margin direction (Zhang, Zou, Cao 2024)",
           (_eta(0.01, "the smaller step is closer to the decaying steps of the linear-model result and favours "
                       "the claim"), _eps())),
    _claim("bias.signgd-linf", "signgd", "Sign GD's direction approaches the l-inf Att-SVM",
           "On near-orthogonal data, sign GD (normalized steepest descent in l-inf) from W0 = 0 converges in "
           "direction to the set of l-inf-Att-SVM solutions: D_inf(t) -> 0.",
           "our extrapolation to attention of the linear-model result that steepest descent in a norm tends to "
           "that norm's max-margin direction (Gunasekar, Lee, Soudry, Srebro 2018)",
           (_eta(0.01, "the smaller step is closer to the small-step regime and favours the claim"),)),
    _claim("bias.rmsprop-linf", "rmsprop", "RMSprop's direction approaches the l-inf Att-SVM",
           "On near-orthogonal data, RMSprop from W0 = 0 converges in direction to the set of l-inf-Att-SVM "
           "solutions: D_inf(t) -> 0.",
           "our extrapolation, by analogy with Adam (RMSprop is Adam without momentum and bias correction); no "
           "linear-model theorem for RMSprop's l-inf bias is known to us",
           (_eta(0.01, "the smaller step favours the claim, as for Adam"), _eps())),
)}


# ---------------------------------------------------------------------------------------------- strategies
def _holds(inst: ac.AttentionInstance, ids: tuple[str, ...]) -> bool:
    cache: dict = {}
    return all(ASSUMPTIONS[a].check(inst, cache).verdict == "holds" for a in ids)


@st.composite
def near_orthogonal_instances(draw: st.DrawFn) -> ac.AttentionInstance:
    """Small orthonormal instances from W0 = 0: n, T in {2, 3}, d = nT + {0..3}, no noise, every score gap at
    least the strictest reading of Delta (0.1). They meet the assumptions under every declared reading of eps
    and Delta, so a candidate violation can survive the reconstructions (it is not discarded as
    "not applicable" under the favourable thresholds)."""
    n, T = draw(st.integers(2, 3), label="n"), draw(st.integers(2, 3), label="T")
    d = n * T + draw(st.integers(0, 3), label="extra_d")
    inst = generate(n, T, d, draw(st.integers(0, 2**32 - 1), label="seed"), "orthonormal", 0.0, 0.0)
    assume(float(ac.score_gaps(inst).min()) >= STRICT_DELTA)
    assume(_holds(inst, CORE))
    return inst


@st.composite
def low_dimensional_instances(draw: st.DrawFn) -> ac.AttentionInstance:
    """Breaks near-orthogonality only: unit Gaussian tokens, n, T in {4, 5}, d about nT/4."""
    n, T = draw(st.integers(4, 5), label="n"), draw(st.integers(4, 5), label="T")
    inst = generate(n, T, max(2, round(n * T / 4)), draw(st.integers(0, 2**32 - 1), label="seed"), "gaussian-low-d")
    cache: dict = {}
    assume(near_orthogonal.check(inst, cache).verdict == "fails")
    assume(all(ASSUMPTIONS[a].check(inst, cache).verdict == "holds" for a in ("unique_opt", "score_gap",
                                                                             "feasible_svm")))
    return inst


@st.composite
def small_gap_instances(draw: st.DrawFn) -> ac.AttentionInstance:
    """Breaks the score gap only: one sequence's runner-up score is within (0, Delta) of its optimal score."""
    n, T = draw(st.integers(2, 3), label="n"), draw(st.integers(2, 3), label="T")
    inst = generate(n, T, n * T + 1, draw(st.integers(0, 2**32 - 1), label="seed"), "orthonormal", 0.0, 0.0,
                    gap="small")
    cache: dict = {}
    assume(score_gap.check(inst, cache).verdict == "fails")
    assume(all(ASSUMPTIONS[a].check(inst, cache).verdict == "holds" for a in ("unique_opt", "near_orthogonal",
                                                                             "feasible_svm")))
    return inst


BREAKERS = {"near_orthogonal": low_dimensional_instances, "score_gap": small_gap_instances}


def meets(claim_id: str) -> st.SearchStrategy:
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    return near_orthogonal_instances()


def breaks(claim_id: str, assumption_id: str) -> st.SearchStrategy | None:
    """None where an assumption cannot be broken alone (its ``implied_by`` says why)."""
    if claim_id not in CLAIMS:
        raise KeyError(claim_id)
    make = BREAKERS.get(assumption_id)
    return None if make is None else make()


MODULE = TheoremModule(
    key="bias",
    reference=REFERENCE,
    summary="Exploratory claims, our [recon] extrapolations of linear-model implicit-bias results: Adam, RMSprop "
    "and sign GD on the fixed-decoder attention classifier converge in direction to the l-inf Att-SVM (the "
    "distance to the set of its optimal directions, an LP, tends to 0).",
    assumptions=ASSUMPTIONS,
    claims=CLAIMS,
    meets=meets,
    breaks=breaks,
    model=ATTENTION,
    extra_docs="The l-inf and l1 Att-SVMs are linear programs certified exactly (an exact vertex, or a rigorous "
    "norm interval): theorems.attention.svm_linf. The measured table of every method against every max-margin "
    "solution is docs/findings/implicit-bias.md (benchmarks/implicit_bias.py).",
)

__all__ = ["MODULE", "CLAIMS", "ASSUMPTIONS"]
