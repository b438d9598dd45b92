"""Unit tests of the GSB26 attention regressor (theorems/regression/regressor.py), its training problem and
methods (theorems/regression/algorithm.py, run by verify.trajectory), the layer's finite-n gap
(theorems/regression/limit.py), the claims' sizes per profile (theorems/gsb26.py) and the statistical checkers
(verify/stat_checks.py)."""

from __future__ import annotations

import dataclasses
import json
import math
from unittest import mock

import numpy as np
import pytest

from theorems import gsb26
from theorems.regression import algorithm as alg
from theorems.regression import limit
from theorems.regression import regressor as ar
from verify.checks import fit_geometric, fit_power
from verify.errors import VerifyInputError
from verify.instance import dumps
from verify.profiles import PROFILES, claim_settings
from verify.stat_checks import check_comparison, check_identity, check_probability, clopper_pearson, steps_to_reach

GEN = {"d": 3, "d_y": 2, "n": 60, "sigma_spectrum": [1.0, 0.6, 0.4], "m_singular_values": [1.0, 0.6],
       "noise": 0.05, "distribution": "gaussian", "seed": 7}


def _roundtrip(inst: ar.RegressionInstance) -> ar.RegressionInstance:
    return ar.instance_from_json(json.loads(dumps(inst.to_json())))


# ---------------------------------------------------------------------------------------------- schema
def test_roundtrip_generator_exact() -> None:
    inst = ar.make_instance(**{**GEN, "sigma_spectrum": [0.1 + 0.2, 1 / 3, math.pi]})
    back = _roundtrip(inst)
    assert back == inst
    assert back.sigma_spectrum == (0.1 + 0.2, 1 / 3, math.pi)
    a, b = ar.realize(inst), ar.realize(back)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.Y, b.Y) and np.array_equal(a.Q_test, b.Q_test)


def test_roundtrip_explicit_exact() -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((9, 3)) / 7, rng.standard_normal((9, 2)) * 1e-300
    S = np.cov(X.T) + np.eye(3)
    inst = ar.make_instance(X=X, Y=Y, Sigma=(S + S.T) / 2, M=rng.standard_normal((2, 3)))
    back = _roundtrip(inst)
    assert back == inst
    for k in ("X", "Y", "Sigma", "M"):
        assert np.array_equal(getattr(back, k), getattr(inst, k))


@pytest.mark.parametrize("patch, needle", [
    ({"d": 0}, "'d'"),
    ({"n": 2.5}, "'n'"),
    ({"sigma_spectrum": [1.0, 0.5]}, "sigma_spectrum"),
    ({"sigma_spectrum": [1.0, -0.5, 0.2]}, "positive"),
    ({"m_singular_values": [1.0, float("nan")]}, "m_singular_values"),
    ({"distribution": "cauchy"}, "distribution"),
    ({"t_df": 2.0}, "t_df"),
    ({"noise": -1.0}, "noise"),
    ({"init_kind": "zeros"}, "init_kind"),
])
def test_bad_generator_fields(patch: dict, needle: str) -> None:
    with pytest.raises(VerifyInputError) as e:
        ar.instance_from_json({**GEN, **patch})
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_bad_arrays() -> None:
    X = np.ones((4, 2)).tolist()
    cases: list[tuple[dict, str]] = [
        ({"X": X, "Y": [[1.0]] * 3}, "shape"),
        ({"X": [[1.0, float("nan")]] * 4, "Y": [[1.0]] * 4}, "NaN"),
        ({"X": X, "Y": [[1.0]] * 4, "Sigma": [[1.0, 2.0], [0.0, 1.0]]}, "symmetric"),
        ({"X": X, "Y": [[1.0]] * 4, "Sigma": [[1.0, 0.0], [0.0, -1.0]]}, "positive definite"),
        ({"X": X, "Y": [[1.0]] * 4, "n": 5}, "disagrees")]
    for obj, needle in cases:
        with pytest.raises(VerifyInputError) as e:
            ar.instance_from_json(obj)
        assert needle in str(e.value) and "\n" not in str(e.value)


def test_bad_options() -> None:
    inst = ar.make_instance(**GEN)
    for o in ({"method": "adam"}, {"steps": 0}, {"eta": -1.0}, {"bogus": 1}, {"renorm_rule": "x"}):
        with pytest.raises(VerifyInputError):
            alg.train(inst, o)


# ---------------------------------------------------------------------------------------------- samplers
@pytest.mark.parametrize("dist", ar.DISTRIBUTIONS)
def test_samplers_have_covariance_sigma(dist: str) -> None:
    Sigma = np.array([[1.0, 0.3], [0.3, 0.5]])
    X = ar.sample_tokens(np.random.default_rng(1), 400_000, Sigma, dist, 5.0)
    # Sampling error of a covariance entry is ~ sqrt(E x^4 / N); Student-t(5) has kurtosis 9, so 0.02 is > 4 se.
    assert np.abs(X.T @ X / len(X) - Sigma).max() < 0.02
    assert np.abs(X.mean(axis=0)).max() < 0.01


# ---------------------------------------------------------------------------------------------- layer
@pytest.mark.parametrize("exclude_self", [False, True])
def test_gradient_matches_central_differences(exclude_self: bool) -> None:
    """Central differences with h = 1e-6: truncation ~ h^2 |L'''| ~ 1e-12, rounding ~ eps |L| / h ~ 1e-10; a
    tolerance of 1e-7 (relative to the largest entry) is three orders above both."""
    data = ar.realize(ar.make_instance(**GEN))
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((2, 3)), 0.7 * rng.standard_normal((3, 3))
    _, gA, gB = ar.train_loss_grad(A, B, data.X, data.Y, exclude_self)
    h = 1e-6
    for P, G, which in ((A, gA, "A"), (B, gB, "B")):
        num = np.zeros_like(P)
        for idx in np.ndindex(*P.shape):
            E = np.zeros_like(P)
            E[idx] = h
            args_p = (A + E, B) if which == "A" else (A, B + E)
            args_m = (A - E, B) if which == "A" else (A, B - E)
            num[idx] = (ar.train_loss(*args_p, data.X, data.Y, exclude_self)
                        - ar.train_loss(*args_m, data.X, data.Y, exclude_self)) / (2 * h)
        assert np.abs(num - G).max() <= 1e-7 * max(1.0, np.abs(G).max())


def test_softmax_stable_with_huge_logits() -> None:
    X = np.random.default_rng(0).standard_normal((50, 3))
    B = 1e200 * np.eye(3)
    P = ar.softmax_weights(X, B, X)
    assert np.all(np.isfinite(P)) and np.allclose(P.sum(axis=1), 1.0)
    assert np.all(P.max(axis=1) == 1.0)  # saturated: one-hot rows, not NaN
    f = ar.attention(X, np.eye(3), -B, X, exclude_self=True)
    assert np.all(np.isfinite(f))


def test_population_loss_is_matrix_factorization() -> None:
    """L_inf(A, B) = 1/2 ||At C^T - T||^2 in Sigma-whitened coordinates [derived]."""
    data = ar.realize(ar.make_instance(**GEN))
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 3))
    wh = ar.Whitening.of(data.Sigma)
    At, C = wh.to_white(A, B)
    E = At @ C.T - data.M @ wh.W
    assert ar.population_loss(A, B, data.Sigma, data.M) == pytest.approx(0.5 * np.sum(E * E), rel=1e-12)
    A2, B2 = wh.from_white(At, C)
    assert np.allclose(A2, A) and np.allclose(B2, B)


def test_gap_slopes_in_n() -> None:
    """f(q; X) -> A Sigma B^T q. The softmax average is a self-normalized importance-sampling estimate of the
    tilted mean: its bias is O(1/n) and its standard deviation O(n^{-1/2}), so E||gap||^2 = c/n + O(n^{-2})
    (slope -1) while E||gap|| ~ n^{-1/2} (slope -1/2). With 16 key sets the bootstrap standard error of the slope
    is ~0.05, so the bands [-1.3, -0.7] and [-0.65, -0.35] are > 5 standard errors wide."""
    Sigma = np.array([[1.0, 0.2, 0.0], [0.2, 0.6, 0.1], [0.0, 0.1, 0.4]])
    grid = [128 * 2**k for k in range(6)]
    g = limit.gap_curve(Sigma, "gaussian", grid, 16, 64, 0.5, 0)
    p_sq, _ = fit_power(np.asarray(grid, float), np.asarray(g["sq"]))
    p_abs, _ = fit_power(np.asarray(grid, float), np.asarray(g["abs"]))
    assert -1.3 <= p_sq <= -0.7
    assert -0.65 <= p_abs <= -0.35


def test_tilting_identity_symbolic() -> None:
    assert gsb26.tilting_identity_symbolic() == {"1d": True, "2d": True}


# ---------------------------------------------------------------------------------------------- training
def test_spectral_init_recovers_optimum_for_large_n() -> None:
    """Noise-free: A_0 S B_0^T = M exactly (S the sample covariance), so the population distance is
    ||A_0 (Sigma - S) B_0^T|| = O(n^{-1/2})."""
    inst = ar.make_instance(**{**GEN, "n": 20000, "noise": 0.0})
    data = ar.realize(inst)
    wh = ar.Whitening.of(data.S)
    A0, B0 = wh.from_white(*ar.spectral_init(data, wh))
    assert np.allclose(A0 @ data.S @ B0.T, data.M, atol=1e-10)
    assert alg.spectral_distance(inst) < 0.1


def test_precond_population_gradient_converges_geometrically() -> None:
    """With the population gradient the preconditioned step contracts fast (rho < 0.5) to rounding level; once the
    residual E = At C^T - T is rounding noise the runner's precision watch flags the checkpoints (the problem's
    error estimate counts the cancellation in E), never the contracting start."""
    inst = ar.make_instance(**{**GEN, "n": 200, "noise": 0.0})
    traj = alg.train(inst, {"gradient": "population", "regularizer": False, "init": "random", "init_scale": 0.3,
                            "steps": 60, "checkpoints": list(range(61))})
    e = traj.series("pop_loss")
    fit = fit_geometric(traj.t, e)
    assert fit.rate < 0.5 and fit.points >= 3
    assert e[-1] < 1e-20
    ok = traj.precision_ok[:, 0]
    assert ok[:5].all() and not ok[-1]
    # (2d + 8) u ||T|| / ||E|| passes the runner's 1e-8 once ||E|| < ~3e-7 ||T||, i.e. pop_loss < ~1e-13 here
    assert np.all(e[~ok] < 1e-12) and np.all(e[ok] > 1e-15)


def test_precond_finite_data_contracts_then_plateaus() -> None:
    """Measured, not tuned: on L_n the full method contracts fast (fitted rho < 0.9) to a plateau well above
    zero (the finite-n floor; see docs/findings/gsb26.md), every checkpoint within the runner's precision."""
    inst = ar.make_instance(**{**GEN, "n": 400, "noise": 0.0})
    traj = alg.train(inst, {"init": "random", "init_scale": 0.3, "steps": 60, "checkpoints": list(range(61))})
    e = traj.series("pop_loss")
    fit = fit_geometric(traj.t, e)
    assert fit.rate < 0.9
    assert e[-1] < 0.1 * e[0] and fit.floor > 1e-6
    assert traj.precision_ok.all()


def test_plain_gd_slower_when_ill_conditioned() -> None:
    inst = ar.make_instance(**{**GEN, "n": 400, "noise": 0.0, "sigma_spectrum": gsb26.kappa_spectrum(3, 100.0)})
    steps = {}
    for name, o in (("precond", {"init": "random", "init_scale": 0.3}),
                    ("gd", {"method": "gd", "regularizer": False, "renorm": False, "init": "random",
                            "init_scale": 0.3})):
        traj = alg.train(inst, {**o, "steps": 200, "checkpoints": list(range(201))})
        steps[name] = steps_to_reach(traj.t, traj.series("factor_error").tolist(), 0.3)
    assert steps["precond"] < steps["gd"]


def test_trajectories_have_the_documented_metrics_and_checkpoints() -> None:
    traj = alg.train(ar.make_instance(**GEN), {"steps": 5})
    assert traj.t[0] == 0 and traj.t[-1] == 5
    assert set(alg.METRICS) <= set(traj.records)
    assert traj.rule.name == "precond" and traj.rule.to_json()["renorm"] is True
    long = alg.checkpoints(alg.resolve_options({"steps": 1000}))
    # t = 0 and verify.trajectory.log_checkpoints(1000, 12): 37 log-spaced points, the repeated small integers merged
    assert long[:3] == [0, 1, 2] and long[-1] == 1000 and 30 <= len(long) <= 38


def _one_step_by_hand(inst: ar.RegressionInstance, o: dict) -> tuple[np.ndarray, np.ndarray]:
    """The documented update (catalogue, Part B), written out: At <- At - eta [g_At P_C + r_At / s], C <- C -
    eta [g_C P_A + r_C / s], then (At, C) <- (c At, C / c) with c = max(1, ||C||_op / beta)."""
    o = alg.resolve_options(o)
    setup = alg.make_setup(inst, o)
    At, C = alg.initial_point(inst, setup)
    A, B = setup.wh.from_white(At, C)
    _, gA, gB = ar.train_loss_grad(A, B, setup.data.X, setup.data.Y)
    gAt, gC = setup.wh.grad_to_white(gA, gB)
    D = At.T @ At - C.T @ C
    rAt, rC = o["lam"] * At @ D, -o["lam"] * C @ D

    def P(Z: np.ndarray) -> np.ndarray:
        return np.linalg.inv(Z.T @ Z + (o["damping"] * np.linalg.norm(Z, 2) ** 2 + o["damping_abs"]) * np.eye(3))

    sc = np.linalg.norm(At, 2) ** 2 + np.linalg.norm(C, 2) ** 2
    At1 = At - o["eta"] * (gAt @ P(C) + rAt / sc)
    C1 = C - o["eta"] * (gC @ P(At) + rC / sc)
    c = max(1.0, np.linalg.norm(C1, 2) / o["beta"])
    return c * At1, C1 / c


def test_the_composed_method_is_the_documented_step() -> None:
    """sum_of(preconditioned loss, scaled regularizer), scale(eta), the renormalizing geometry (verify.methods)
    take exactly the step of the catalogue, to rounding (the log-form length e^{log ||g||} g/||g|| differs from g
    by a few ulps)."""
    inst = ar.make_instance(**GEN)
    o = {"init": "random", "init_scale": 0.8}
    At1, C1 = _one_step_by_hand(inst, o)
    ro = alg.resolve_options(o)
    prob = alg.make_problem(inst, ro)
    params = alg.training_method(prob).update(prob.init(), None, prob.first_order(prob.init()), 0)[0]
    assert np.allclose(params[0][0], At1, rtol=1e-13, atol=1e-15) and np.allclose(params[1][0], C1, rtol=1e-13,
                                                                                   atol=1e-15)


def test_the_problems_gradient_is_the_regressors_in_both_coordinates() -> None:
    """The problem hands the methods grad L_n (+ grad R) of the regressor, mapped by the chain rule to whitened
    coordinates for the preconditioned step and left in (A, B) for plain GD."""
    inst = ar.make_instance(**GEN)
    for method, coords in (("precond", "white"), ("gd", "raw")):
        o = alg.resolve_options({"method": method, "init": "random", "init_scale": 0.8})
        prob = alg.make_problem(inst, o)
        assert prob.coords == coords
        x0 = prob.init()
        fo = prob.first_order(x0)
        A, B = prob.raw(x0)
        _, gA, gB = ar.train_loss_grad(A, B, prob.setup.data.X, prob.setup.data.Y)
        want = prob.setup.wh.grad_to_white(gA, gB) if coords == "white" else (gA, gB)
        got = fo.terms["loss"]
        for k in (0, 1):
            assert np.allclose(got.unit_grad[k][0] * np.exp(got.log_grad_norm[0]), want[k], rtol=1e-13, atol=1e-16)
        assert 0 < fo.rel_error[0] < 1e-12


def test_plain_gd_takes_the_tables_gd_with_the_fixed_lipschitz_step() -> None:
    inst = ar.make_instance(**GEN)
    o = alg.resolve_options({"method": "gd", "regularizer": False, "renorm": False, "init": "random",
                             "init_scale": 0.8})
    prob = alg.make_problem(inst, o)
    m = alg.training_method(prob)
    assert m.to_json()["name"] == "gd" and m.to_json()["eta"] == pytest.approx(alg.gd_step(prob.setup, prob.start))
    x0 = prob.init()
    A, B = prob.raw(x0)
    _, gA, gB = ar.train_loss_grad(A, B, prob.setup.data.X, prob.setup.data.Y)
    x1 = m.update(x0, None, prob.first_order(x0), 0)[0]
    eta = alg.gd_step(prob.setup, prob.start)
    assert np.allclose(x1[0][0], A - eta * gA, rtol=1e-14) and np.allclose(x1[1][0], B - eta * gB, rtol=1e-14)


def test_a_diverging_run_is_flagged_and_keeps_running() -> None:
    """The regularizer preconditioned like the loss overflows within a few steps on this instance: the runner
    flags every checkpoint from there on, and the metrics are nan (no exception from an SVD of a nan matrix)."""
    traj = alg.train(ar.make_instance(**GEN), {"reg_preconditioned": True, "init": "random", "init_scale": 0.3,
                                                "steps": 30, "checkpoints": list(range(31))})
    e, ok = traj.series("pop_loss"), traj.precision_ok[:, 0]
    assert ok[0] and not ok[-1] and np.isnan(e[-1])
    assert np.all(~ok[np.isnan(e)])


# ---------------------------------------------------------------------------------------------- profiles
def test_claim_sizes_come_from_the_profile_table() -> None:
    """Each claim's own sizes run between its smallest (gsb26.SMALLEST) and its full ones (CLAIM_PARAMS) by the
    profile's ``effort``, whatever the profile is called; a size set in the claim's params is used as given."""
    quick, ci = claim_settings(PROFILES["quick"]), claim_settings(PROFILES["ci"])
    assert (PROFILES["quick"].effort, PROFILES["ci"].effort, PROFILES["thorough"].effort) == (0.0, 1.0, 1.0)
    for cid, lo in gsb26.SMALLEST.items():
        assert {k: gsb26.claim_params(cid, quick, {})[k] for k in lo} == lo, cid
        full = gsb26.claim_params(cid, ci, {})
        assert {k: full[k] for k in lo} == {k: gsb26.CLAIM_PARAMS[cid][k] for k in lo}, cid
    half = dataclasses.replace(ci, profile="half")
    with mock.patch.dict(PROFILES, {"half": dataclasses.replace(PROFILES["ci"], name="half", effort=0.5)}):
        geo = gsb26.claim_params("gsb.geometric", half, {})
        kap = gsb26.claim_params("gsb.kappa-free", half, {})
    assert (geo["seeds"], geo["steps"], geo["n_grid"]) == (2, 80, [80, 160, 320, 640, 1280])
    assert kap["kappas"] == [1.0, 10.0, 100.0, 1000.0]  # 3 + 0.5 (4 - 3) points, rounded half up
    assert gsb26.claim_params("gsb.no-spurious", quick, {"steps": 40})["steps"] == 40


# ---------------------------------------------------------------------------------------------- stat checks
def test_clopper_pearson_known_values() -> None:
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.30850, abs=1e-5)
    lo, hi = clopper_pearson(5, 10)
    assert lo == pytest.approx(0.18709, abs=1e-5) and hi == pytest.approx(0.81291, abs=1e-5)


def test_check_probability_verdicts() -> None:
    assert check_probability(100, 100, delta=0.1).verdict == "holds"
    assert check_probability(50, 100, delta=0.1).verdict == "violated"
    assert check_probability(9, 10, delta=0.1).verdict == "inconclusive"


def test_check_comparison_and_identity() -> None:
    assert check_comparison([1, 2, 3], [2, 3, 4]).verdict == "holds"
    assert check_comparison([1, math.inf], [2, 3]).verdict == "violated"
    assert check_comparison([1, math.inf], [2, 3], fraction=0.5).verdict == "holds"
    assert check_identity([1.0, 2.0], [1.0, 2.0 + 1e-13], rtol=1e-12).verdict == "holds"
    assert check_identity([1.0], [1.1], atol=0.01).verdict == "violated"
