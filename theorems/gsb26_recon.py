"""Reconstructed ([recon]) constants and options of the GSB26 claims, as data (see :mod:`theorems.attention.recon`
for the shapes of ``apply``).

Only the abstract of GSB26 is public, so the assumptions' constants, the damping of the preconditioner, the
renormalization rule, the self-term of the layer and the regularizer's weight are all ours. Each is declared
here with the range a faithful reading of the abstract allows and the end that favours the claim:

- assumption thresholds (kappa_max, b0_max, mardia_z_max): the pair when the instance meets the assumption at
  that value, else None;
- n large relative to d (n_over_d_min): a generator instance with n raised to n_over_d_min * d (the claim at
  that reading on the nearest covered instance); None for explicit arrays, whose n is fixed;
- method options and claim parameters: the claim with ``params[...] = value``.
"""

from __future__ import annotations

from typing import Any

from theorems.attention.recon import Pair, claim_param, threshold
from theorems.regression import regressor as ar
from verify.theory import Claim, Reconstruction


def _gsb() -> Any:
    from theorems import gsb26

    return gsb26


def kappa_max(default: float) -> Reconstruction:
    return threshold(
        "kappa_max", "the abstract's 'bounded covariance' fixes no bound on kappa(Sigma): any kappa_max in [10, "
        "100] is a reading; a smaller bound covers fewer instances and favours the claim", default, 10.0,
        lambda inst, v: _gsb().conditioned_slack(inst, v))


def b0_max(default: float) -> Reconstruction:
    return threshold(
        "b0_max", "a bounded B at initialization (the 1/n constant grows like exp(||B^T x||^2)): any bound in "
        "[0.5, 2] on the initial logit scale is a reading; a smaller bound covers fewer instances and favours the "
        "claim", default, 0.5, lambda inst, v: _gsb().bounded_b_slack(inst, v))


def mardia_z_max(default: float) -> Reconstruction:
    return threshold(
        "mardia_z_max", "explicit arrays count as Gaussian when |Mardia kurtosis z| <= mardia_z_max; any bound in "
        "[2, 3] is a reading of 'Gaussian tokens' (generator instances declare their law and are unaffected); a "
        "smaller bound favours the claim", default, 2.0, lambda inst, v: _gsb().gaussian_slack(inst, v))


def n_over_d(default: float) -> Reconstruction:
    """'n large relative to d' on the instance: raise a generator instance's n to n_over_d_min * d."""

    def apply(claim: Claim, inst: Any, value: Any) -> Pair:
        need = int(-(-float(value) * inst.d // 1))
        if inst.n >= need:
            return claim, inst
        if inst.explicit:
            return None
        return claim, ar.instance_from_json({**inst.to_json(), "n": need})

    return Reconstruction(
        "n_over_d_min", "the analysis is for n large relative to d with an unknown constant: any n/d >= 20 is a "
        "reading, up to 80 (where the spectral start is within radius 0.5 with probability >= 0.9 here); a "
        "generator instance's n is raised to n_over_d_min * d; a larger ratio favours the claim", default, 80.0,
        apply, (40.0,))


def grid_n_over_d(default: float) -> Reconstruction:
    """The same reading for a claim that sweeps its own grid of n (``params["n_over_d_min"]``)."""
    return claim_param(
        "n_over_d_min", "the analysis is for n large relative to d with an unknown constant: any n/d >= 20 is a "
        "reading, up to 80; the claim's grid of n is shifted up (same ratios) so that its smallest n is "
        "n_over_d_min * d; a larger ratio favours the claim", ("n_over_d_min",), default, 80.0, (40.0,))


def method_options(paths: list[tuple[str, ...]], defaults: dict, favours: str = "") -> tuple[Reconstruction, ...]:
    """Readings of the reconstructed method's options, set under each of ``paths`` (the option dicts in
    ``claim.params``). ``defaults`` are the claim's current values of damping, renorm_rule, exclude_self, lam."""

    def at(key: str) -> list[tuple[str, ...]]:
        return [(*p, key) for p in paths]

    note = f" ({favours})" if favours else ""
    return (
        claim_param("damping", "the abstract names a preconditioner (C^T C)^{-1}; our step damps it by damping * "
                    "||C||_op^2, an amount the abstract does not give: any damping in [0.01, 0.1] keeps the "
                    "finite-data step finite (1e-3 diverges); less damping is closer to the undamped "
                    f"preconditioner and is taken as favourable{note}", at("damping"), defaults["damping"], 0.01),
        claim_param("renorm_rule", "the renormalization rule is not stated: 'cap' (||C||_op <= beta) and "
                    "'balance' (equal norms) are both readings; 'balance' does not fight the balancing "
                    f"regularizer and is taken as favourable{note}", at("renorm_rule"), defaults["renorm_rule"],
                    "balance"),
        claim_param("exclude_self", "whether the softmax over the keys includes the query's own token is not "
                    "stated: both are readings; leaving it out removes a self-term that the infinite-data "
                    f"analysis does not have, taken as favourable{note}", at("exclude_self"),
                    defaults["exclude_self"], True),
        claim_param("lam", "the regularizer's weight is not stated: any lambda in [0.1, 1] is a reading; a "
                    f"smaller weight moves the minimizer of L_n less and is taken as favourable{note}", at("lam"),
                    defaults["lam"], 0.1),
    )
