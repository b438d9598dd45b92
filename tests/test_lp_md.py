"""lp mirror descent (verify/methods.py: lp_mirror_descent, the "lp-md" row of the methods table) on the attention
problems of theorems/attention/lp.py: maps, norms, the Bregman metric, p = 2 against GD, stability at p = 1.1 and
p = 5 over 10^4 normalized steps, mpmath agreement, the joint gradient, permutations, trace CLI."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.lp import JointProblem, bregman_direction, fixed_decoder_problem
from theorems.attention.strategies import generate
from theorems.jta24 import eta_for
from verify.backends import get_backend
from verify.cli import main
from verify.errors import VerifyInputError
from verify.instance import atomic_write_text, dumps
from verify.methods import lp_mirror_descent, make_method, make_rule, mirror_lp, phi, phi_inv, scaled_norm
from verify.trajectory import DEFAULT_TOL, run

NP = get_backend("numpy", 15)


def _inst(seed: int = 0, n: int = 3, T: int = 3, d: int = 10):  # type: ignore[no-untyped-def]
    return generate(n, T, d, seed, "orthonormal", noise=0.1)


# ------------------------------------------------------------------------------------------ maps and norms
@pytest.mark.parametrize("p", [1.1, 1.25, 2.0, 3.0, 5.0])
def test_phi_inverse_round_trip_over_extreme_magnitudes(p: float) -> None:
    """phi_inv(phi(W)) = W to a few ulps times 1/(p-1) (the exponent multiplies relative error), for |W| from
    1e-30 to 1e30, with no overflow in an intermediate (|W|^{p-1} at p = 5 and 1e30 would be 1e120: fine; the
    log form matters for |Theta|^{1/(p-1)} = |Theta|^10 at p = 1.1)."""
    W = np.array([[1e-30, -3e-7, 0.0], [1.0, -2.5, 1e30]])
    back = phi_inv(phi(W, p), p)
    rel = np.abs(back - W) / np.where(W != 0, np.abs(W), 1)
    assert np.all(np.isfinite(back))
    assert rel.max() <= 8 * max(1.0, 1 / (p - 1)) * np.finfo(float).eps * 100  # log/exp round trip, 100 ulps


def test_phi_inv_at_p11_does_not_overflow_where_the_naive_power_would() -> None:
    """|Theta| = 1e35 at p = 1.1: |Theta|^10 = 1e350 is beyond float64; the map returns inf (which the method
    reports as a loss of precision) instead of raising; |Theta| = 1e-35 gives 1e-350 -> 0 (negligible)."""
    out = phi_inv(np.array([1e35, 1e-35, 1e30]), 1.1)
    assert out[0] == np.inf and out[1] == 0.0 and np.isclose(out[2], 1e300, rtol=1e-12)


@pytest.mark.parametrize("r", [1.1, 2.0, 11.0, 1.25])
def test_scaled_norm_matches_mpmath_and_never_underflows(r: float) -> None:
    rng = np.random.default_rng(0)
    for scale in (1e-200, 1.0, 1e200):
        V = scale * rng.normal(size=(2, 3, 4))
        got = scaled_norm(V, r, (1, 2))
        with mpmath.workdps(40):
            ref = [mpmath.power(mpmath.fsum(mpmath.power(abs(mpmath.mpf(float(v))), r) for v in V[b].ravel()),
                                1 / mpmath.mpf(r)) for b in range(2)]
        assert np.allclose(got, [float(x) for x in ref], rtol=1e-13)


def test_bregman_direction_properties_and_high_precision_reference() -> None:
    rng = np.random.default_rng(1)
    U = rng.normal(size=(4, 4))
    for p in (1.25, 2.0, 3.0):
        assert bregman_direction(U[None], U, p)[0] == 0.0
        assert bregman_direction((7.0 * U)[None], U, p)[0] <= 1e-15  # scale-free
        D = bregman_direction((U + 0.3 * rng.normal(size=U.shape))[None], U, p)[0]
        assert 0 < D <= 2
        # close directions: the Taylor branch against a 50-digit evaluation of 1 - <sign(V)|V|^{p-1}, U>
        W = U * (1 + 1e-6 * rng.normal(size=U.shape))
        got = bregman_direction(W[None], U, p)[0]
        with mpmath.workdps(50):
            mp = np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])
            u, w = mp(U.ravel()), mp(W.ravel())
            nu = mpmath.power(mpmath.fsum(abs(x) ** p for x in u), 1 / mpmath.mpf(p))
            nw = mpmath.power(mpmath.fsum(abs(x) ** p for x in w), 1 / mpmath.mpf(p))
            ref = 1 - mpmath.fsum(mpmath.sign(b) * abs(b / nw) ** (p - 1) * a / nu for a, b in zip(u, w, strict=True))
        # D ~ 1e-12 here; the Taylor truncation is O((h/v)^2) ~ 1e-12 relative and float64 rounding of U, V
        # gives ~1e-16 / 1e-6 = 1e-10 relative; 1e-6 relative leaves a wide margin and still catches a wrong form
        assert abs(got - float(ref)) <= 1e-6 * float(ref), (got, float(ref))


# --------------------------------------------------------------------------------------- metamorphic: p = 2
def test_p2_mirror_descent_reproduces_gd_on_the_dense_representation() -> None:
    """p = 2: phi is the identity, so lp-AttGD is GD. Measured difference after 1000 steps: 2e-16 absolute on
    ||W|| ~ 5; each step's only difference is the exp(log|W|) round trip (2 ulps), and GD is contractive in
    direction here, so 1e-12 relative bounds it with a wide margin while any real difference (a factor, a
    transposed gradient) is O(1)."""
    inst = _inst()
    prob = fixed_decoder_problem(NP, inst)
    a = run(prob, lp_mirror_descent(2.0, 0.5, normalized=False), 1000)
    b = run(prob, make_rule("gd", eta=0.5), 1000)
    Wa, Wb = a.series("W"), b.series("W")
    assert np.abs(Wa - Wb).max() <= 1e-12 * np.abs(Wb).max()
    # normalized at p = 2 is NGD with ||.||_2 = ||.||_F
    c = run(prob, lp_mirror_descent(2.0, 0.1, normalized=True), 300)
    d = run(prob, make_rule("ngd", eta=0.1), 300)
    assert np.abs(c.series("W") - d.series("W")).max() <= 1e-12 * np.abs(d.series("W")).max()


# --------------------------------------------------------------------------------------- stability
@pytest.mark.parametrize("p", [1.1, 5.0])
def test_ten_thousand_normalized_steps_without_nan_or_zero_step(p: float) -> None:
    """10^4 normalized steps at the extremes of the supported range. With the step size that keeps ||W||_p under
    the norm budget (theorems.jta24.eta_for), every iterate is finite, W moves between every pair of checkpoints,
    and the precision watch (step direction and mirror-map error <= 1e-8) holds throughout."""
    inst = _inst(seed=4)
    steps = 10_000
    eta = eta_for(p, steps)
    tr = run(fixed_decoder_problem(NP, inst), lp_mirror_descent(p, eta, normalized=True), steps)
    W = tr.series("W")
    assert np.all(np.isfinite(W))
    moved = np.any(W[1:] != W[:-1], axis=(1, 2))
    assert moved.all(), "a zero step between checkpoints"
    assert tr.precision_ok[:, 0].all(), (tr.max_rel_error[:, 0].max(), tr.notes)
    assert tr.max_rel_error.max() <= DEFAULT_TOL


def test_precision_loss_is_reported_not_hidden_at_p11_with_a_large_step() -> None:
    """eta = 0.1 at p = 1.1 makes ||W||_p ~ (eta t)^10 ~ 1e20 within 2000 steps: float64 logits then carry
    rounding ~1e4 in absolute terms. The run must still be finite, and the runner must flag the checkpoints."""
    inst = _inst(seed=4)
    tr = run(fixed_decoder_problem(NP, inst), lp_mirror_descent(1.1, 0.1, normalized=True), 2000)
    assert np.all(np.isfinite(tr.series("W")))
    assert tr.precision_ok[:3, 0].all()  # early on the iterate is small and everything is exact to 1e-8
    assert not tr.precision_ok[-1, 0]
    assert tr.max_rel_error[-1, 0] > DEFAULT_TOL


def test_map_error_flags_a_zero_crossing_at_p5() -> None:
    """p = 5: phi^{-1} is Hoelder-1/4 at 0. A Theta entry at rounding level (1e-17 next to entries of size 1)
    carries an error ~(1e-16)^{1/4} = 1e-4 in W: the method must report it."""
    m = mirror_lp(5.0)
    theta = np.array([[[1.0, 1e-17], [0.5, -0.3]]])
    step = np.array([[[0.0, 0.9], [0.0, 0.0]]])  # the tiny entry is the result of cancelling 0.9
    err = m._map_error(theta, step, phi_inv(theta, 5.0), (1, 2))
    assert err[0] > 1e-6
    err0 = m._map_error(theta, np.zeros_like(theta), phi_inv(theta, 5.0), (1, 2))
    assert err0[0] < 1e-8


@pytest.mark.parametrize("p", [1.5, 3.0])
def test_numpy_agrees_with_mpmath(p: float) -> None:
    """The same method on the mpmath backend at 30 digits: float64 W agrees to 1e-11 relative after 60 steps
    (per-step rounding 1e-16, map amplification 1/(p-1) <= 2, cancellation in the gradient ~1e2)."""
    inst = _inst(seed=2, n=2, T=2, d=5)
    m = lp_mirror_descent(p, 0.2, normalized=True)
    a = run(fixed_decoder_problem(NP, inst), m, 60, [60])
    b = run(fixed_decoder_problem(get_backend("mpmath", 30), inst), m, 60, [60])
    Wa, Wb = a.series("W")[-1], b.series("W")[-1]
    assert np.abs(Wa - Wb).max() <= 1e-11 * np.abs(Wb).max()


# --------------------------------------------------------------------------------------- joint problem
def _joint_loss(X: np.ndarray, Z: np.ndarray, y: np.ndarray, W: list, u: list) -> mpmath.mpf:
    """Naive 50-digit L(W, u) (safe at this precision and these magnitudes)."""
    n, T, d = X.shape
    total = mpmath.mpf(0)
    for i in range(n):
        a = [mpmath.fsum(X[i, t, j] * W[j][k] * Z[i, k] for j in range(d) for k in range(d)) for t in range(T)]
        mx = max(a)
        e = [mpmath.exp(v - mx) for v in a]
        s = [v / mpmath.fsum(e) for v in e]
        f = mpmath.fsum(s[t] * mpmath.fsum(u[j] * X[i, t, j] for j in range(d)) for t in range(T))
        total += mpmath.log1p(mpmath.exp(-y[i] * f))
    return total / n


def test_joint_gradient_matches_high_precision_finite_differences() -> None:
    inst = generate(2, 3, 4, 3, "gaussian")
    rng = np.random.default_rng(0)
    W0 = rng.normal(size=(4, 4))
    u0 = rng.normal(size=4)
    prob = JointProblem.build(NP, inst.with_W0(W0), u0)
    fo = prob.first_order(prob.init())
    gW = np.exp(fo.block_log_grad_norm[0][0]) * fo.block_unit_grad[0][0]
    gu = np.exp(fo.block_log_grad_norm[1][0]) * fo.block_unit_grad[1][0]
    # the concatenated unit gradient (what GD-type methods read) is the same gradient over its joint norm
    assert np.allclose(np.exp(fo.log_grad_norm[0]) * fo.unit_grad[0][0], gW, rtol=1e-14, atol=0)
    assert np.allclose(np.exp(fo.log_grad_norm[0]) * fo.unit_grad[1][0], gu, rtol=1e-14, atol=0)
    assert np.sum(fo.unit_grad[0] ** 2) + np.sum(fo.unit_grad[1] ** 2) == pytest.approx(1.0, rel=1e-15)
    with mpmath.workdps(50):
        h = mpmath.mpf("1e-20")
        Wm = [[mpmath.mpf(float(v)) for v in row] for row in W0]
        um = [mpmath.mpf(float(v)) for v in u0]
        fd_W = np.zeros((4, 4))
        for j in range(4):
            for k in range(4):
                Wp = [row[:] for row in Wm]
                Wq = [row[:] for row in Wm]
                Wp[j][k] += h
                Wq[j][k] -= h
                fd_W[j, k] = float((_joint_loss(inst.X, inst.z, inst.y, Wp, um)
                                    - _joint_loss(inst.X, inst.z, inst.y, Wq, um)) / (2 * h))
        fd_u = np.zeros(4)
        for j in range(4):
            up, uq = um[:], um[:]
            up[j] += h
            uq[j] -= h
            fd_u[j] = float((_joint_loss(inst.X, inst.z, inst.y, Wm, up)
                             - _joint_loss(inst.X, inst.z, inst.y, Wm, uq)) / (2 * h))
    # central differences at h = 1e-20 in 50 digits: truncation ~h^2 = 1e-40, rounding 1e-50/h = 1e-30; the
    # float64 gradient itself is accurate to ~1e-15 relative
    assert np.allclose(gW, fd_W, rtol=1e-12, atol=1e-13 * np.abs(fd_W).max())
    assert np.allclose(gu, fd_u, rtol=1e-12, atol=1e-13 * np.abs(fd_u).max())


def test_joint_per_block_normalized_steps_have_q_norm_eta() -> None:
    inst = _inst()
    p, eta = 1.5, 0.05
    m = lp_mirror_descent(p, eta, normalized=True, blockwise=True)
    prob = JointProblem.build(NP, inst)
    params = prob.init()
    st = m.init(params)
    fo = prob.first_order(params)
    _, st2 = m.update(params, st, fo, 0)
    q = p / (p - 1)
    for before, after in zip(st.geometry.theta, st2.geometry.theta, strict=True):
        assert np.isclose(scaled_norm(after - before, q, tuple(range(1, np.ndim(after))))[0], eta, rtol=1e-12)
    # concatenated normalization: the joint q-norm of the step is eta
    mc = lp_mirror_descent(p, eta, normalized=True, blockwise=False)
    _, st3 = mc.update(params, mc.init(params), fo, 0)
    parts = [np.abs(a - b).ravel() for a, b in zip(st3.geometry.theta, st.geometry.theta, strict=True)]
    assert np.isclose(np.sum(np.concatenate(parts) ** q) ** (1 / q), eta, rtol=1e-12)


def test_joint_from_u0_zero_moves_u_first() -> None:
    inst = _inst()
    prob = JointProblem.build(NP, inst, np.zeros(inst.d))
    tr = run(prob, lp_mirror_descent(1.5, 0.05), 5, [0, 1, 5])
    assert np.all(tr.series("W")[1] == 0) and np.any(tr.series("u")[1] != 0)  # grad_W = 0 at u = 0 [derived]
    assert np.any(tr.series("W")[2] != 0)
    # checkpoint t=1 is flagged by the runner's "iterate did not move" watch (W's gradient is exactly 0 at
    # u = 0, which the runner cannot tell from underflow); from t = 2 on everything is exact to 1e-8
    assert tr.precision_ok[2:, 0].all()


# --------------------------------------------------------------------------------------- permutations
def test_permuting_sequences_and_tokens_permutes_the_run() -> None:
    inst = _inst(seed=5)
    m = lp_mirror_descent(1.5, 0.05, normalized=True)
    base = run(fixed_decoder_problem(NP, inst), m, 300, [300])
    sp = np.array([2, 0, 1])
    seq = ac.make_instance(inst.X[sp], inst.y[sp], inst.u, inst.z[sp], inst.W0)
    a = run(fixed_decoder_problem(NP, seq), m, 300, [300])
    tp = np.array([1, 2, 0])
    tok = ac.make_instance(inst.X[:, tp], inst.y, inst.u, inst.z, inst.W0)
    b = run(fixed_decoder_problem(NP, tok), m, 300, [300])
    W = base.series("W")[-1]
    # the gradient is a sum over sequences and tokens: reordering changes only the summation order (~1e-16
    # per step, 300 steps, amplified by at most 1/(p-1) = 2 through the map)
    for other in (a, b):
        assert np.abs(other.series("W")[-1] - W).max() <= 1e-11 * np.abs(W).max()
    assert np.array_equal(a.series("selected")[-1], base.series("selected")[-1][sp])
    assert np.array_equal(tp[b.series("selected")[-1]], base.series("selected")[-1])


# --------------------------------------------------------------------------------------- CLI
def test_trace_cli_lp_md(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    inst = _inst()
    f = tmp_path / "inst.json"
    atomic_write_text(f, dumps(inst.to_json()))
    assert main(["trace", "--instance", str(f), "--method", "lp-md", "--p", "3", "--normalized", "--steps", "200",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"t", "bregman", "selected", "svm_alpha", "precision_ok"} <= set(rows[-1])
    assert rows[-1]["bregman"] < rows[0]["bregman"]
    assert main(["trace", "--instance", str(f), "--method", "lp-md", "--p", "1.5", "--normalized", "--joint",
                 "--steps", "100", "--eta", "0.05", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert "u_bregman" in rows[-1] and rows[-1]["u_bregman"] < rows[0]["u_bregman"]
    assert main(["trace", "--instance", str(f), "--method", "lp-md", "--p", "1"]) == 2
    assert capsys.readouterr().err.startswith("error: p must")


def test_method_rejects_bad_parameters() -> None:
    for bad in (dict(p=1.5, eta=-1.0), dict(p=0.9, eta=0.1), dict(eta=0.1)):  # the last: p is required
        with pytest.raises(VerifyInputError):
            make_method("lp-md", **bad)
    with pytest.raises(VerifyInputError):
        lp_mirror_descent(1.5, -1.0)


def test_the_table_builds_the_same_method_as_the_constructor() -> None:
    """make_method("lp-md") reads p, eta and normalized from the table (normalize defaults to per block, as the
    constructor's blockwise does); both give bit-identical runs."""
    inst = _inst()
    m = make_method("lp-md", p=1.5, eta=0.05)
    assert m.to_json() == {"name": "lp-md", "p": 1.5, "eta": 0.05, "normalized": True, "blockwise": True}
    assert make_method("lp-md", normalize="joint", p=1.5, eta=0.05, normalized=False).to_json()["blockwise"] is False
    a = run(JointProblem.build(NP, inst), m, 50, [50])
    b = run(JointProblem.build(NP, inst), lp_mirror_descent(1.5, 0.05), 50, [50])
    assert np.array_equal(a.series("W"), b.series("W")) and np.array_equal(a.series("u"), b.series("u"))
