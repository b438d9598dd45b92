"""The stable softmax-logistic kernel against independent, straightforward mpmath computations.

Every reference value here is computed by code in this file from the definitions (docs/catalogue.md, Part A):

    a_{i,t} = x_{i,t}^T W z_i,  s_i = softmax(a_i),  f_i = u^T X_i^T s_i,  l(m) = log(1 + e^{-m}),
    L(W) = mean_i l(y_i f_i),   L* = mean_i l(max_t y_i u^T x_{i,t}),

with the float64 data taken as exact mpmath numbers. None of it calls the kernel's own helpers.
"""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
from naive_baseline import naive_forward_backward, naive_optimal_loss

from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from theorems.attention.svm import solve_att_svm
from verify.backends import mpmath_backend, numpy_backend
from verify.instance import atomic_write_text, dumps, load_instance
from verify.methods import make_rule
from verify.trajectory import run


# ------------------------------------------------------------------------------------- mpmath reference
def _mp(x: float) -> mpmath.mpf:
    return mpmath.mpf(float(x))  # exact: every float64 is an mpf


def mp_logits(W, X: np.ndarray, z: np.ndarray) -> list[list]:
    """a_{i,t} = x_{i,t}^T W z_i in the current mpmath precision; W is a d x d nested list of mpf."""
    n, T, d = X.shape
    out = []
    for i in range(n):
        Wz = [mpmath.fsum(W[p][q] * _mp(z[i, q]) for q in range(d)) for p in range(d)]
        out.append([mpmath.fsum(_mp(X[i, t, p]) * Wz[p] for p in range(d)) for t in range(T)])
    return out


def mp_softmax(row: list) -> list:
    mx = max(row)
    e = [mpmath.exp(v - mx) for v in row]
    tot = mpmath.fsum(e)
    return [v / tot for v in e]


def mp_scores(inst: ac.AttentionInstance) -> list[list]:
    """g_{i,t} = y_i u^T x_{i,t}, exactly as mpf (then rounded to the working precision)."""
    return [[_mp(inst.y[i]) * mpmath.fsum(_mp(inst.u[p]) * _mp(inst.X[i, t, p]) for p in range(inst.d))
             for t in range(inst.T)] for i in range(inst.n)]


def mp_loss(W, inst: ac.AttentionInstance) -> mpmath.mpf:
    a = mp_logits(W, inst.X, inst.z)
    g = mp_scores(inst)
    tot = mpmath.mpf(0)
    for i in range(inst.n):
        s = mp_softmax(a[i])
        m = mpmath.fsum(s[t] * g[i][t] for t in range(inst.T))  # y_i f_i
        tot += mpmath.log1p(mpmath.exp(-m))
    return tot / inst.n


def mp_opt_loss(inst: ac.AttentionInstance) -> mpmath.mpf:
    g = mp_scores(inst)
    return mpmath.fsum(mpmath.log1p(mpmath.exp(-max(row))) for row in g) / inst.n


def mp_log_max_nonopt(W, inst: ac.AttentionInstance) -> mpmath.mpf:
    """log max_i (1 - s_{i,opt_i}), with 1 - s_opt computed as the sum of the other weights (no cancellation)."""
    a = mp_logits(W, inst.X, inst.z)
    opt = ac.optimal_tokens(inst)
    vals = []
    for i in range(inst.n):
        s = mp_softmax(a[i])
        vals.append(mpmath.fsum(s[t] for t in range(inst.T) if t != opt[i]))
    return mpmath.log(max(vals))


def mp_matrix(W: np.ndarray) -> list[list]:
    return [[_mp(v) for v in row] for row in W]


def fd_gradient(W: np.ndarray, inst: ac.AttentionInstance, h: str = "1e-20", dps: int = 60) -> np.ndarray:
    """Central differences of the mpmath loss at ``dps`` digits, returned as an object array of mpf.

    Truncation error is O(h^2 |L'''|) ~ 1e-40 and rounding error O(10^-dps / h) ~ 1e-40, so the result is the
    true gradient to ~1e-39 absolute: 27 orders of magnitude below the tolerances used against it.
    """
    d = W.shape[0]
    G = np.empty((d, d), dtype=object)
    with mpmath.workdps(dps):
        hh = mpmath.mpf(h)
        base = mp_matrix(W)
        for p in range(d):
            for q in range(d):
                Wp = [row[:] for row in base]
                Wm = [row[:] for row in base]
                Wp[p][q] += hh
                Wm[p][q] -= hh
                G[p, q] = (mp_loss(Wp, inst) - mp_loss(Wm, inst)) / (2 * hh)
    return G


# ----------------------------------------------------------------------------------------- kernel access
def kernel_at(bk, inst: ac.AttentionInstance, W: np.ndarray) -> ac.KernelOut:
    """The library kernel at W (dense representation), in backend ``bk`` (call inside bk.context())."""
    prob = ac.build_problem(bk, ac.stack([inst]), "dense")
    a = prob.rep.logits(bk.asarray(W[None]))
    return ac.softmax_logistic_kernel(bk, a, prob.g, prob.opt)


def dense_from_coeffs(inst: ac.AttentionInstance, coeff) -> np.ndarray:
    """sum_{i,t} coeff_{i,t} x_{i,t} z_i^T, as an object array of mpf (exact products, current precision)."""
    d = inst.d
    out = np.empty((d, d), dtype=object)
    for p in range(d):
        for q in range(d):
            out[p, q] = mpmath.fsum(coeff[i][t] * _mp(inst.X[i, t, p]) * _mp(inst.z[i, q])
                                    for i in range(inst.n) for t in range(inst.T))
    return out


def small_instance(seed: int, W_scale: float = 2.0) -> tuple[ac.AttentionInstance, np.ndarray]:
    """n=3, T=4, d=5 with N(0, I) tokens, unit decoder and a random W of Frobenius norm ``W_scale``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3, 4, 5))
    y = rng.choice([-1.0, 1.0], size=3)
    u = rng.normal(size=5)
    u /= np.linalg.norm(u)
    W = rng.normal(size=(5, 5))
    W *= W_scale / np.linalg.norm(W)
    return ac.make_instance(X, y, u), W


# ------------------------------------------------------------------------------------------------ gradient
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_matches_high_precision_finite_differences(seed: int) -> None:
    inst, W = small_instance(seed)
    G_fd = fd_gradient(W, inst)
    bk = mpmath_backend(50)
    with bk.context():
        k = kernel_at(bk, inst, W)
        scale = mpmath.exp(k.log_scale[0])
        coeff = [[scale * k.G_hat[0, i, t] for t in range(inst.T)] for i in range(inst.n)]
        G_mp = dense_from_coeffs(inst, coeff)
        # The kernel's whole computation is at 50 digits, so it should match the 1e-39-accurate FD gradient to
        # ~1e-45 relative; 1e-12 (the spec's acceptance level) leaves a huge margin yet catches any formula slip.
        fro = mpmath.sqrt(mpmath.fsum(v * v for v in G_fd.ravel()))
        err = mpmath.sqrt(mpmath.fsum((a - b) ** 2 for a, b in zip(G_mp.ravel(), G_fd.ravel(), strict=True)))
        assert fro > mpmath.mpf("1e-6"), "degenerate test point: the gradient is (almost) zero"
        assert err / fro < mpmath.mpf("1e-12")
        for a, b in zip(G_mp.ravel(), G_fd.ravel(), strict=True):
            assert abs(a - b) <= mpmath.mpf("1e-12") * fro
    G_mp_f = np.array([[float(v) for v in row] for row in G_mp])

    # float64 kernel: the logits carry relative error ~ d * u, and the kernel adds O(nT) roundings; 1e-10
    # relative (the spec's level) is ~10^5 u, far above that and far below any modelling error.
    f64 = numpy_backend()
    kf = kernel_at(f64, inst, W)
    G64 = math.exp(float(kf.log_scale[0])) * np.einsum("nt,ntd,ne->de", kf.G_hat[0], inst.X, inst.z)
    assert np.linalg.norm(G64 - G_mp_f) <= 1e-10 * np.linalg.norm(G_mp_f)
    # ... and the FirstOrder packaging (unit direction times e^{log ||grad||}) is the same gradient.
    fo = ac.build_problem(f64, ac.stack([inst]), "dense").first_order(W[None].copy())
    G_fo = fo.unit_grad[0] * math.exp(float(fo.log_grad_norm[0]))
    assert np.linalg.norm(G_fo - G_mp_f) <= 1e-10 * np.linalg.norm(G_mp_f)


def test_gradient_matches_spec_formula_and_naive_backprop_at_moderate_W() -> None:
    """The spec's closed form (1/n) sum_i l'(gbar_i) sum_t s_t (g_t - gbar_i) x_t z_i^T and plain
    back-propagation agree with the kernel at a moderate W where no cancellation can hurt (1e-12 relative:
    both float64 paths have O(nT d u) ~ 1e-14 error there)."""
    inst, W = small_instance(7, W_scale=1.0)
    g = ac.token_scores(inst)
    a = np.einsum("ntd,de,ne->nt", inst.X, W, inst.z)
    s = np.exp(a - a.max(axis=1, keepdims=True))
    s /= s.sum(axis=1, keepdims=True)
    gbar = np.sum(s * g, axis=1)
    lprime = -1.0 / (1.0 + np.exp(gbar))
    coef = lprime[:, None] * s * (g - gbar[:, None]) / inst.n
    G_spec = np.einsum("nt,ntd,ne->de", coef, inst.X, inst.z)
    _, G_naive = naive_forward_backward(W, inst.X, inst.y, inst.u, inst.z)
    kf = kernel_at(numpy_backend(), inst, W)
    G64 = math.exp(float(kf.log_scale[0])) * np.einsum("nt,ntd,ne->de", kf.G_hat[0], inst.X, inst.z)
    assert np.linalg.norm(G64 - G_spec) <= 1e-12 * np.linalg.norm(G_spec)
    assert np.linalg.norm(G64 - G_naive) <= 1e-12 * np.linalg.norm(G_spec)
    assert float(kf.loss[0]) == pytest.approx(float(naive_forward_backward(W, inst.X, inst.y, inst.u,
                                                                           inst.z)[0]), rel=1e-13)


# ------------------------------------------------------------------------------------------------ loss gap
def _saturating_setup(scale: float) -> tuple[ac.AttentionInstance, np.ndarray]:
    """Orthonormal tokens (n=3, T=4, d=12) and W = scale * W_mm, so every logit gap a_opt - a_t >= scale."""
    inst = generate(3, 4, 12, seed=3, tokens="orthonormal")
    W_mm = solve_att_svm(inst.X, inst.z, ac.optimal_tokens(inst).tolist()).W
    return inst, scale * W_mm


def _mp_log_gap(inst: ac.AttentionInstance, W: np.ndarray, dps: int) -> mpmath.mpf:
    with mpmath.workdps(dps):
        gap = mp_loss(mp_matrix(W), inst) - mp_opt_loss(inst)
        assert gap > 0
        return mpmath.log(gap)


def test_loss_gap_moderately_saturated() -> None:
    inst, W = _saturating_setup(30.0)
    a = np.einsum("ntd,de,ne->nt", inst.X, W, inst.z)
    opt = ac.optimal_tokens(inst)
    gaps = np.array([a[i, opt[i]] - np.delete(a[i], opt[i]).max() for i in range(inst.n)])
    assert gaps.min() > 29.0  # logit gaps ~ 30 as intended (W_mm has margin 1)

    # At 50 digits, L - L* ~ e^-30 ~ 1e-13 keeps ~37 significant digits: an exact reference for 1e-10.
    ref = _mp_log_gap(inst, W, 50)
    kf = kernel_at(numpy_backend(), inst, W)
    got = float(kf.log_loss_gap[0])
    # Relative agreement of the gap itself: |e^{got - ref} - 1|. The float64 logits are off by ~1e-14
    # absolute, which moves the gap by ~30 * 1e-14 relative; 1e-10 is the spec's level.
    assert abs(math.expm1(got - float(ref))) < 1e-10

    # Why the kernel is needed: the plain float64 difference loses ~13 of its 16 digits here.
    plain = float(kf.loss[0]) - ac.optimal_loss(inst)
    true_gap = float(mpmath.exp(ref))
    assert abs(plain - true_gap) / true_gap > 1e-6

    # The mpmath backend agrees with float64 at the float64 level (and beyond, see the oracle test below).
    bk = mpmath_backend(50)
    with bk.context():
        km = kernel_at(bk, inst, W)
        assert abs(km.log_loss_gap[0] - ref) < mpmath.mpf("1e-12") * abs(ref)


def test_loss_gap_very_saturated() -> None:
    inst, W = _saturating_setup(2000.0)
    # L - L* ~ e^-2000 ~ 1e-870, so the direct mpmath difference L - L* needs ~870 digits just to see it;
    # 1000 digits leave ~130 significant ones.
    ref = float(_mp_log_gap(inst, W, 1000))
    assert ref < -1500
    kf = kernel_at(numpy_backend(), inst, W)
    got = float(kf.log_loss_gap[0])
    # 1e-10 relative on log(L - L*) ~ -2000 is 2e-7 absolute; the float64 logits are off by ~2000 * 1e-15.
    assert got == pytest.approx(ref, rel=1e-10)
    # The plain float64 difference carries no information here: L and L* agree to the last bit or two, so
    # L - L* in float64 is 0 or a rounding artefact of either sign (|.| <= a few ulp of L*), ~10^850 times
    # the true gap. The naive (autograd-style) loss gives exactly 0.
    Lstar = ac.optimal_loss(inst)
    assert abs(float(kf.loss[0]) - Lstar) <= 4 * np.spacing(Lstar)
    naive_loss, _ = naive_forward_backward(W, inst.X, inst.y, inst.u, inst.z)
    assert naive_loss - naive_optimal_loss(inst.X, inst.y, inst.u) == 0.0


# ---------------------------------------------------------------------------------------- non-opt attention
@pytest.mark.parametrize("scale", [None, 30.0, 2000.0])
def test_log_max_nonopt_matches_mpmath(scale: float | None) -> None:
    # random moderate W (some sequences attend mostly to a non-optimal token), or W = scale * W_mm
    cases = [small_instance(s) for s in range(6)] if scale is None else [_saturating_setup(scale)]
    saw_other_branch = False
    for inst, W in cases:
        with mpmath.workdps(50):
            ref = float(mp_log_max_nonopt(mp_matrix(W), inst))
        kf = kernel_at(numpy_backend(), inst, W)
        saw_other_branch |= bool(np.any(kf.selected[0] != ac.optimal_tokens(inst)))
        # Values are O(1) to O(2000) in size; the kernel's logits carry ~|a| u absolute error, so 1e-10
        # relative (with a 1e-12 absolute floor for values near log 1 = 0) is ample and still tight.
        assert float(kf.log_max_nonopt[0]) == pytest.approx(ref, rel=1e-10, abs=1e-12)
    if scale is None:
        assert saw_other_branch, "no case exercised the argmax != opt branch"
    else:
        assert float(kf.log_max_nonopt[0]) < -scale + 5


# ---------------------------------------------------------------------------------------- representations
def test_gram_and_dense_ngd_trajectories_agree() -> None:
    inst = generate(3, 4, 12, seed=5, tokens="orthonormal", noise=0.1, init_scale=1.0)
    assert np.any(inst.W0 != 0)  # the Gram form must carry W0 correctly
    cps = [0, 1, 10, 100, 500, 1000, 1500, 2000]
    trs = {rep: run(ac.build_problem(numpy_backend(), ac.stack([inst]), rep), make_rule("ngd", 0.1), 2000, cps)
           for rep in ("gram", "dense")}
    Wg, Wd = trs["gram"].series("W"), trs["dense"].series("W")
    assert trs["gram"].t == cps
    assert np.all(trs["gram"].precision_ok) and np.all(trs["dense"].precision_ok)
    # Both follow the same exact iteration; each step's direction has relative error <~ 1e-11 (the run's own
    # estimate, max_rel_error), so after 2000 steps of length 0.1 the iterates differ by <~ 2000*0.1*1e-11.
    # 1e-10 relative to ||W_t|| (<= 200 + ||W0||) is the spec's level.
    for k in range(len(cps)):
        assert np.max(np.abs(Wg[k] - Wd[k])) <= 1e-10 * max(1.0, float(np.linalg.norm(Wd[k])))
    assert np.linalg.norm(Wd[-1]) > 150  # the test really moved W far (NGD: ~0.1 per step)


# -------------------------------------------------------------------------------------------- JSON round trip
def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


def test_instance_json_round_trip_is_bitwise_exact(tmp_path) -> None:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(2, 3, 4))
    X[0, 0, 0] = 0.1 + 0.2
    X[0, 0, 1] = 1e-300
    X[0, 1, 2] = 5e-324  # smallest subnormal
    X[1, 2, 3] = -1.7976931348623157e308
    X[1, 0, 0] = 1 / 3
    u = rng.normal(size=4)
    u[1] = 0.1 + 0.7
    inst = ac.make_instance(X, [1, -1], u)

    # Defaults: z = each sequence's first token, W0 = 0, and both are stored explicitly.
    assert _bits(inst.z) == _bits(X[:, 0, :])
    assert inst.W0.shape == (4, 4) and not np.any(inst.W0)
    obj = inst.to_json()
    assert obj["schema"] == ac.SCHEMA and "z" in obj and "W0" in obj

    def same(a: ac.AttentionInstance, b: ac.AttentionInstance) -> None:
        for k in ("X", "y", "u", "z", "W0"):
            assert getattr(a, k).shape == getattr(b, k).shape
            assert _bits(getattr(a, k)) == _bits(getattr(b, k)), k
        assert a == b

    same(inst, ac.instance_from_json(json.loads(dumps(obj))))
    path = atomic_write_text(tmp_path / "sub" / "inst.json", dumps(obj))
    back = load_instance(path)
    same(inst, back)
    assert back.X[0, 0, 0] == 0.30000000000000004 and back.X[0, 1, 2] == 5e-324

    # A non-default z and W0 survive as well.
    inst2 = inst.with_W0(rng.normal(size=(4, 4)) * 1e-5)
    inst3 = ac.make_instance(inst2.X, inst2.y, inst2.u, rng.normal(size=(2, 4)), inst2.W0, {"k": [1, "a"]})
    same(inst3, load_instance(atomic_write_text(tmp_path / "inst3.json", dumps(inst3.to_json()))))


def test_mpmath_backend_is_an_oracle_beyond_float64() -> None:
    """At 50 digits the mpmath kernel should agree with the exact-data reference to far better than float64.

    Regression test: build_problem once took the scores g = y u^T x from float64, which capped the oracle at
    ~1e-16 (gradient 1.5e-16, log(L - L*) 6.5e-17); with g computed in the backend it agrees to ~7e-41.
    """
    inst, W = small_instance(0)
    G_fd = fd_gradient(W, inst)  # accurate to ~1e-39
    bk = mpmath_backend(50)
    with bk.context():
        k = kernel_at(bk, inst, W)
        scale = mpmath.exp(k.log_scale[0])
        G_mp = dense_from_coeffs(inst, [[scale * k.G_hat[0, i, t] for t in range(inst.T)]
                                        for i in range(inst.n)])
        fro = mpmath.sqrt(mpmath.fsum(v * v for v in G_fd.ravel()))
        err = mpmath.sqrt(mpmath.fsum((a - b) ** 2 for a, b in zip(G_mp.ravel(), G_fd.ravel(), strict=True)))
        # 1e-30 is 10^10 times the 50-digit rounding level and 10^14 below float64's.
        assert err / fro < mpmath.mpf("1e-30")
