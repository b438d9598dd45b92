"""Reconstructed ([recon]) constants of the attention-classification claims (VDT24, PRIOR, JTA24), as data.

A constant the paper leaves unknown to us is existential: "for R large enough" is refuted only by a failure at
every R a faithful reading allows. Each :class:`~verify.theory.Reconstruction` below names the range (or the set
of options), its default (the module's current value) and the end that favours the claim. ``apply(claim,
instance, value)`` gives the claim and instance under that reading, in one of three shapes:

- **assumption threshold** (eps, Delta, kappa, tol): the pair unchanged when the instance meets the assumption
  at ``value``, else None (the claim says nothing about that instance under that reading);
- **start of the method** (the cone radius R and width mu): the instance with W0 moved to the nearest start of
  the cone at that reading: rescaled along its own direction to ||W0|| = R ||W_mm(alpha)|| when shorter, or
  turned towards W_mm(alpha) (same norm) until corr = 1 - mu when outside; unchanged when already inside;
- **claim parameter** (a step size, the Polyak c, the joint normalization, a comparison target, a rate form):
  the claim with ``params[...] = value``.

At ``default`` every apply returns an equal claim and an equal instance (tests/test_reconstructions.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import sympy

from theorems.attention import classifier as ac
from theorems.attention.assumptions import (
    PARAMS,
    dm_dimension_slack,
    instance_alpha,
    near_orthogonal_slack,
    score_gap_slack,
    svm_for,
    uniform_scores_slack,
)
from verify.theory import Claim, Reconstruction

Pair = tuple[Claim, Any] | None


# ------------------------------------------------------------------------------------------------ shapes
def threshold(name: str, statement: str, default: float, favourable: float,
              slack: Callable[[Any, float], float], values: tuple = ()) -> Reconstruction:
    """An assumption's threshold: the pair when ``slack(instance, value) >= 0``, else None."""

    def apply(claim: Claim, inst: Any, value: Any) -> Pair:
        return (claim, inst) if slack(inst, float(value)) >= 0 else None

    return Reconstruction(name, statement, default, favourable, apply, values)


def set_path(params: dict, path: tuple[str, ...], value: Any) -> dict:
    """A copy of ``params`` with the nested entry at ``path`` set to ``value`` (the inner dicts copied too)."""
    head, *rest = path
    inner = set_path(dict(params.get(head, {})), tuple(rest), value) if rest else value
    return {**params, head: inner}


def claim_param(name: str, statement: str, path: tuple[str, ...] | list[tuple[str, ...]], default: Any,
                favourable: Any, values: tuple = ()) -> Reconstruction:
    """A claim parameter (nested ``path`` into ``claim.params``; several paths set the same value in each)."""
    paths = path if isinstance(path, list) else [path]

    def apply(claim: Claim, inst: Any, value: Any) -> Pair:
        params = claim.params
        for p in paths:
            params = set_path(params, p, value)
        return replace(claim, params=params), inst

    return Reconstruction(name, statement, default, favourable, apply, values)


def rate_form(name: str, statement: str, default: str, favourable: str, values: tuple = ()) -> Reconstruction:
    """The claimed rate, as a sympy expression in t (``value`` is its text, e.g. ``"1/log(t)"``)."""

    def apply(claim: Claim, inst: Any, value: Any) -> Pair:
        t = sympy.Symbol("t", positive=True)
        return replace(claim, rate=sympy.sympify(value, locals={"t": t})), inst

    return Reconstruction(name, statement, default, favourable, apply, values)


# --------------------------------------------------------------------------------------- cone (PRIOR, l2)
def _alpha_svm(inst: ac.AttentionInstance) -> np.ndarray:
    alpha = instance_alpha(inst) or tuple(int(a) for a in ac.optimal_tokens(inst))
    return svm_for(inst, {}, alpha).W


def _with_start(inst: ac.AttentionInstance, W0: np.ndarray, **meta: Any) -> ac.AttentionInstance:
    return ac.make_instance(inst.X, inst.y, inst.u, inst.z, W0, {**inst.meta, **meta})


def rescale_to_radius(inst: ac.AttentionInstance, R: float, W_alpha: np.ndarray | None = None,
                      norm: Callable[[np.ndarray], float] = lambda W: float(np.linalg.norm(W))) -> ac.AttentionInstance:
    """W0 rescaled along its own direction to ``norm(W0) = R norm(W_alpha)`` when it is shorter; else unchanged."""
    Wa = _alpha_svm(inst) if W_alpha is None else W_alpha
    target, now = R * norm(Wa), norm(inst.W0)
    if now >= target or now == 0:
        return inst
    return _with_start(inst, inst.W0 * (target / now), cone_R=R)


def rotate_into_cone(inst: ac.AttentionInstance, mu: float, W_alpha: np.ndarray | None = None) -> ac.AttentionInstance:
    """W0 turned towards W_alpha on the great circle through both, keeping ||W0||, until corr(W0, W_alpha) =
    1 - mu; unchanged when corr is already >= 1 - mu."""
    Wa = _alpha_svm(inst) if W_alpha is None else W_alpha
    nW = float(np.linalg.norm(inst.W0))
    if nW == 0:
        return inst
    a, w = Wa / np.linalg.norm(Wa), inst.W0 / nW
    corr = float(np.sum(a * w))
    if corr >= 1 - mu:
        return inst
    perp = w - corr * a
    theta = math.acos(1 - mu)
    W = nW * (math.cos(theta) * a + math.sin(theta) * perp / np.linalg.norm(perp))
    return _with_start(inst, W, cone_mu=mu)


def cone_radius(statement: str, default: float, favourable: float, values: tuple = ()) -> Reconstruction:
    def apply(claim: Claim, inst: Any, value: Any) -> Pair:
        return claim, rescale_to_radius(inst, float(value))

    return Reconstruction("R", statement, default, favourable, apply, values)


def cone_width(statement: str, default: float, favourable: float, values: tuple = ()) -> Reconstruction:
    def apply(claim: Claim, inst: Any, value: Any) -> Pair:
        return claim, rotate_into_cone(inst, float(value))

    return Reconstruction("mu", statement, default, favourable, apply, values)


# ------------------------------------------------------------------------------------------ shared readings
EPS = threshold(
    "eps", "VDT24 assumes 'nearly orthogonal' tokens with an inequality unknown to us: any eps in (0, 0.5] in "
    "|<x, x'>| <= eps min ||x||^2 is a reading, down to 0.01 (orthogonal up to 1% of ||x||^2); a smaller eps "
    "covers fewer instances and favours the claim", PARAMS["eps"], 0.01, near_orthogonal_slack, (0.1,))
DELTA = threshold(
    "Delta", "a positive score gap g_opt - max_{t != opt} g_t >= Delta, its size unknown (the constants depend "
    "on it): any Delta in [0.01, 0.1] is a reading (0.1 is about a third of a typical score 1/sqrt(d)); a larger "
    "Delta covers fewer instances and favours the claim", PARAMS["Delta"], 0.1, score_gap_slack)
KAPPA = threshold(
    "kappa", "DM asks d 'large relative to n and T' (overparameterization, constant unknown): d >= kappa nT "
    "for any kappa in [1, 2] is a reading; a larger kappa covers fewer instances and favours the claim",
    PARAMS["dm_kappa"], 2.0, dm_dimension_slack)
TOL = threshold(
    "tol", "PRIOR's Assumption B asks the non-optimal scores to be equal; tol is only a floating-point "
    "allowance, so any tol in [1e-12, 1e-9] (thousands to millions of ulps) is a reading; a smaller tol "
    "covers fewer instances and favours the claim", PARAMS["uniform_tol"], 1e-12, uniform_scores_slack)


def normalization(favours: str) -> Reconstruction:
    """Joint (u, W) NGD: one norm for the concatenated gradient, or one per block."""
    return claim_param(
        "normalization", "joint NGD on (u, W) divides by the norm of the whole gradient or of each block; the "
        f"paper's choice is unknown to us (PRIOR's code normalizes per block), so both are readings; {favours}",
        ("normalize",), "joint", "block")


def polyak_c(path: tuple[str, ...], favourable: float, why: str) -> Reconstruction:
    return claim_param(
        "c", "the Polyak step (L - L*)/(c ||grad L||^2): the classic rule has c = 1 and seed 001 writes c = 2; any "
        f"c in [1, 2] is a reading; {why}", path, 1.0, favourable, () if favourable == 2.0 else (2.0,))


def comparison_target(default: float) -> Reconstruction:
    return claim_param(
        "target level", "'converges faster' is about rates, so the direction-error level at which steps are "
        "counted is ours: any level the runs reach is a reading; a smaller level (0.02) lies further into the "
        "asymptotic regime the rates describe and is taken as favourable", ("target",), default, 0.02)


def gd_step(path: tuple[str, ...], default: float, favourable: float, why: str,
            values: tuple = ()) -> Reconstruction:
    return claim_param(
        "GD's step", "GD's constant step is ours: any eta in (0, 2/L) with L ~ 1 (unit tokens, unit decoder) is "
        f"a stable reading; {why}", path, default, favourable, values)


def delta_probability(default: float) -> Reconstruction:
    return claim_param(
        "delta", "'with high probability' fixes no delta: any delta in (0, 0.25] is a reading (a probability "
        "below 3/4 would not be 'high'); a larger delta is a weaker claim and favours it", ("delta",), default,
        0.25)


# --------------------------------------------------------------------------------------- cone (JTA24, lp)
def _lp_cone(inst: ac.AttentionInstance) -> tuple[Any, float]:
    from theorems.jta24 import inst_alpha, inst_p, lp_svm_for

    p = inst_p(inst)
    return lp_svm_for(inst, {}, inst_alpha(inst), p), p


def lp_cone_radius(default: float) -> Reconstruction:
    """JTA24's cone radius: ||W0||_p rescaled (same direction) to R ||W^p_mm(alpha)||_p when shorter."""

    def apply(claim: Claim, inst: Any, value: Any) -> Pair:
        sol, p = _lp_cone(inst)
        return claim, rescale_to_radius(inst, float(value), sol.W, lambda W: float(np.linalg.norm(np.ravel(W), p)))

    return Reconstruction(
        "R", "the cone's ||W||_p >= R ||W^p_mm(alpha)||_p with R 'large enough' (as in PRIOR): any R >= 3 is a "
        "reading; W0 is rescaled along its own direction when shorter; a larger R favours the claim", default,
        10.0, apply)


def lp_cone_width(default: float) -> Reconstruction:
    """JTA24's cone width: the instance when D(W0, W^p_mm(alpha)) <= mu, else None."""

    def apply(claim: Claim, inst: Any, value: Any) -> Pair:
        from theorems.jta24 import cone_position

        sol, p = _lp_cone(inst)
        return (claim, inst) if cone_position(inst.W0, sol, p)[0] <= float(value) else None

    return Reconstruction(
        "mu", "the cone's Bregman width D(W0, W^p_mm(alpha)) <= mu with mu 'small enough': any mu in (0, 0.1] is a "
        "reading; a smaller mu covers fewer starts and favours the claim", default, 0.01, apply)


def dm_orthogonality(default: float) -> Reconstruction:
    """JTA24's DM: the noise tokens nearly orthogonal to the signal mu, |<x, mu>| <= eps ||mu||^2."""

    def slack(inst: Any, eps: float) -> float:
        from theorems.jta24 import dm_ratio

        return eps - dm_ratio(inst)[1]

    return threshold(
        "eps", "JTA24's conditions on DM are unknown to us; noise tokens with |<x, mu>| <= eps ||mu||^2 for any eps "
        "in (0, 0.5] is a reading; a smaller eps covers fewer instances and favours the claim", default, 0.01, slack)


def refutation_docs(lines: dict[str, str]) -> str:
    """The docs paragraph "what would have to be true of the paper for a finding to refute each claim"."""
    return ("What would have to be true of the paper for a finding to refute each claim (the readings tried are "
            "each claim's reconstructions):\n\n" + "\n".join(f"- `{k}`: {v}" for k, v in lines.items()))
