"""Reconstructed constants are existential: every claim declares the readings of its [recon] parameters.

- apply at the default reproduces the claim and the instance (claim params equal, instance JSON equal);
- apply at the favourable end changes what it says it changes;
- an assumption-threshold reading returns None on an instance that fails the stricter threshold, the pair on one
  that meets it;
- every [recon] parameter named in a provenance note has a reconstruction (verify.conformance, all modules).
"""

from __future__ import annotations

import numpy as np
import pytest

from theorems import gsb26, jta24, prior, template, vdt24
from theorems.attention import classifier as ac
from theorems.attention.assumptions import near_orthogonality_ratio, svm_for
from theorems.attention.recon import DELTA, EPS, KAPPA, TOL, rescale_to_radius, rotate_into_cone
from theorems.attention.strategies import generate, local_alpha_instance, make_uniform
from theorems.regression import regressor as ar
from verify import conformance as cf
from verify.instance import dumps
from verify.registry import modules

MODULES = [*modules().values(), template.MODULE]


def _rec(claim, name):  # type: ignore[no-untyped-def]
    return next(r for r in claim.reconstructions if r.name == name)


def _js(inst) -> str:  # type: ignore[no-untyped-def]
    return dumps(inst.to_json())


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.key)
def test_conformance_check_reconstructions(module) -> None:  # type: ignore[no-untyped-def]
    cf.check_reconstructions(module)


def test_a_named_recon_parameter_without_reconstruction_fails() -> None:
    import dataclasses

    c = dataclasses.replace(prior.CLAIMS["prior.gd-local"], reconstructions=prior.CLAIMS["prior.gd-local"]
                            .reconstructions[:1])
    with pytest.raises(AssertionError, match="'mu'"):
        cf.check_reconstructions(dataclasses.replace(prior.MODULE, claims={c.id: c}))
    assert cf.recon_names("seed 003; the cone's mu and R are [recon]") == ["the cone's mu", "R"]
    assert cf.names_reconstruction("the cone's mu", "mu") and not cf.names_reconstruction("beta", "eta")


# ------------------------------------------------------------------------------------- the default is a no-op
def _samples() -> dict[str, object]:
    orth = generate(3, 3, 12, 1, "orthonormal", 0.0, 0.0)
    local = next(i for s in range(40) if (i := local_alpha_instance(4, 4, 4, s, R=1.05)) is not None)
    return {"vdt24": orth, "prior.gd-local": local, "prior.gd-global-uniform": make_uniform(generate(3, 3, 3, 2,
                                                                                                    "gaussian")),
            "gsb26": ar.make_instance(d=2, d_y=1, n=60, sigma_spectrum=[1.0, 0.6], m_singular_values=[1.0])}


@pytest.mark.parametrize("claim", [*vdt24.CLAIMS.values(), *prior.CLAIMS.values(), *gsb26.CLAIMS.values()],
                         ids=lambda c: c.id)
def test_apply_at_default_reproduces_claim_and_instance(claim) -> None:  # type: ignore[no-untyped-def]
    s = _samples()
    if claim.id.startswith("prior."):
        inst = s[claim.id]
    elif claim.paper == "GSB26":
        inst = s["gsb26"]
    elif claim.assumptions == vdt24.JOINT:
        from theorems.attention.joint import generate_dm

        inst = generate_dm(2, 2, 6, 3, 0.1, 1.0)
    else:
        inst = s["vdt24"]
    assert claim.reconstructions, f"{claim.id} declares no reconstruction"
    for r in claim.reconstructions:
        pair = r.apply(claim, inst, r.default)
        assert pair is not None, r.name
        c2, i2 = pair
        assert c2.params == claim.params and c2.rate == claim.rate, r.name
        assert _js(i2) == _js(inst), r.name


# --------------------------------------------------------------------------- the favourable end does its job
def test_cone_radius_rescales_w0_along_its_direction() -> None:
    inst = next(i for s in range(40) if (i := local_alpha_instance(4, 4, 4, s, R=1.05)) is not None)
    claim = prior.CLAIMS["prior.gd-local"]
    R = _rec(claim, "R")
    c2, i2 = R.apply(claim, inst, R.favourable)
    Wa = svm_for(inst, {}, tuple(inst.meta["alpha"])).W
    assert np.linalg.norm(i2.W0) / np.linalg.norm(Wa) == pytest.approx(R.favourable, rel=1e-12)
    err, _ = ac.direction_error(i2.W0[None], inst.W0)
    assert err[0] < 1e-12 and c2 is claim and i2.meta["cone_R"] == R.favourable
    assert _js(ac.instance_from_json(i2.to_json())) == _js(i2)  # the JSON round trip stays exact
    assert rescale_to_radius(inst, 0.5) is inst  # already longer: unchanged


def test_cone_width_turns_w0_into_the_smaller_cone() -> None:
    inst = next(i for s in range(40) if (i := local_alpha_instance(4, 4, 4, s, R=1.05)) is not None)
    Wa = svm_for(inst, {}, tuple(inst.meta["alpha"])).W
    i2 = rotate_into_cone(inst, 0.001)
    corr = float(np.sum(i2.W0 * Wa) / (np.linalg.norm(i2.W0) * np.linalg.norm(Wa)))
    assert corr == pytest.approx(0.999, abs=1e-12)
    assert np.linalg.norm(i2.W0) == pytest.approx(np.linalg.norm(inst.W0), rel=1e-12)
    assert rotate_into_cone(inst, 0.5) is inst


@pytest.mark.parametrize(("claim", "name", "path"), [
    (vdt24.CLAIMS["vdt24.joint-dir"], "normalization", ("normalize",)),
    (vdt24.CLAIMS["vdt24.ps-rate"], "c", ("c",)),
    (vdt24.CLAIMS["vdt24.ps-faster"], "c", ("methods", "polyak", "c")),
    (vdt24.CLAIMS["vdt24.beats-gd"], "GD's step", ("methods", "gd", "eta")),
    (vdt24.CLAIMS["vdt24.beats-gd"], "target level", ("target",)),
    (prior.CLAIMS["prior.gd-local"], "eta", ("eta",)),
    (jta24.CLAIMS["md.rate"], "eta", ("eta",)),
    (gsb26.CLAIMS["gsb.geometric"], "damping", ("options", "damping")),
    (gsb26.CLAIMS["gsb.kappa-free"], "exclude_self", ("gd", "exclude_self")),
    (gsb26.CLAIMS["gsb.no-spurious"], "renorm_rule", ("options", "renorm_rule")),
])
def test_claim_parameter_readings_set_the_parameter(claim, name, path) -> None:  # type: ignore[no-untyped-def]
    r = _rec(claim, name)
    value = r.favourable if r.favourable != r.default else r.values[0]
    c2, _ = r.apply(claim, None, value)
    got = c2.params
    for k in path:
        got = got[k]
    assert got == value
    assert claim.params != c2.params  # the original claim is untouched


def test_joint_normalization_reading_runs_per_block() -> None:
    from theorems.attention.joint import generate_dm
    from verify.theory import Settings

    claim = vdt24.CLAIMS["vdt24.joint-dir"]
    c2, inst = _rec(claim, "normalization").apply(claim, generate_dm(2, 2, 6, 3, 0.1, 1.0), "block")
    ev = c2.run(inst, Settings(steps=200))
    assert ev.run["normalize"] == "block"


def test_gsb26_n_reading_raises_n_and_shifts_the_grid() -> None:
    inst = ar.make_instance(d=2, d_y=1, n=60, sigma_spectrum=[1.0, 0.6], m_singular_values=[1.0])
    claim = gsb26.CLAIMS["gsb.no-spurious"]
    _, i2 = _rec(claim, "n_over_d_min").apply(claim, inst, 80.0)
    assert i2.n == 160 and _js(i2) == _js(ar.instance_from_json(i2.to_json()))
    assert gsb26.shifted_grid([100, 200, 400], 80.0, 3) == [240, 480, 960]
    assert gsb26.shifted_grid([100, 200, 400], 20.0, 3) == [100, 200, 400]


# ---------------------------------------------------------------------------------- thresholds: None or the pair
def test_eps_threshold() -> None:
    claim = vdt24.CLAIMS["vdt24.ngd-rate"]
    exact = generate(3, 3, 9, 0, "orthonormal", 0.0, 0.0)
    noisy = generate(3, 3, 9, 0, "orthonormal", 0.2, 0.0)
    assert near_orthogonality_ratio(noisy) > EPS.favourable > near_orthogonality_ratio(exact)
    assert EPS.apply(claim, noisy, EPS.favourable) is None
    assert EPS.apply(claim, exact, EPS.favourable) == (claim, exact)


def test_delta_kappa_tol_thresholds() -> None:
    from theorems.attention.joint import generate_dm
    from theorems.attention.strategies import shrink_opt_gap

    claim = vdt24.CLAIMS["vdt24.joint-dir"]
    base = generate(3, 3, 9, 0, "orthonormal", 0.0, 0.0)
    small, big = shrink_opt_gap(base, 0.05), shrink_opt_gap(base, 0.5)
    assert DELTA.apply(claim, small, 0.1) is None
    assert DELTA.apply(claim, small, 0.01) == (claim, small)
    assert ac.score_gaps(big).min() < 0.1 or DELTA.apply(claim, big, 0.1) == (claim, big)
    wide, narrow = generate_dm(2, 2, 9, 0, 0.1, 1.0), generate_dm(2, 2, 5, 0, 0.1, 1.0)
    assert KAPPA.apply(claim, wide, 2.0) == (claim, wide) and KAPPA.apply(claim, narrow, 2.0) is None
    uni = make_uniform(generate(3, 3, 3, 2, "gaussian"))
    assert TOL.apply(claim, uni, 1e-12) == (claim, uni)
    assert TOL.apply(claim, generate(3, 3, 3, 2, "gaussian"), 1e-12) is None


def test_gsb26_threshold_and_explicit_n() -> None:
    claim = gsb26.CLAIMS["gsb.spectral-init"]
    ill = ar.make_instance(d=2, d_y=1, n=60, sigma_spectrum=[1.0, 1 / 50], m_singular_values=[1.0])
    assert _rec(claim, "kappa_max").apply(claim, ill, 10.0) is None
    assert _rec(claim, "kappa_max").apply(claim, ill, 100.0) == (claim, ill)
    data = ar.realize(ill)
    explicit = ar.make_instance(d=2, d_y=1, n=60, X=data.X, Y=data.Y)
    assert _rec(claim, "n_over_d_min").apply(claim, explicit, 80.0) is None


def test_gsb26_population_measures_the_squared_gap_only() -> None:
    import dataclasses

    from verify.engine import evaluate
    from verify.errors import VerifyInputError
    from verify.theory import Settings

    inst = ar.make_instance(d=2, d_y=1, n=60, sigma_spectrum=[1.0, 0.6], m_singular_values=[1.0])
    base = gsb26.CLAIMS["gsb.population"]
    claim = dataclasses.replace(base, params={**base.params, "gap_metric": "abs", "symbolic": False})
    with pytest.raises(VerifyInputError, match="squared gap"):
        evaluate(claim, inst, Settings())
    assert "squared function gap" in gsb26.CLAIMS["gsb.population"].statement
