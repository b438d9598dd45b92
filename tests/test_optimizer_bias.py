"""RMSprop and sign GD (verify/methods.py) against independent mpmath oracles, the l-infinity and l1 Att-SVM
linear programs (theorems/attention/svm_linf.py) against exact rational checks and an independent solver, and
the distance of a direction to the set of optimal directions."""

from __future__ import annotations

import math
from fractions import Fraction
from types import SimpleNamespace

import mpmath
import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from verify.backends import get_backend
from verify.errors import VerifyInputError
from verify.methods import METHOD_TABLE, make_method, method_params, rmsprop
from verify.trajectory import run


def _fo(unit, lg):  # type: ignore[no-untyped-def]
    return SimpleNamespace(unit_grad=unit, log_grad_norm=np.asarray(lg, dtype=float), log_loss_gap=np.zeros(1))


def _mp_rmsprop(grads: list[np.ndarray], lr: float, decay: float = 0.99, eps: float = 1e-8,
                scale_log: float = 0.0) -> list[mpmath.mpf]:
    """The textbook RMSprop recursion in 50-digit mpmath on the gradients e^{scale_log} g_t (flattened)."""
    with mpmath.workdps(50):
        s = mpmath.exp(scale_log)
        p = [mpmath.mpf(0)] * grads[0].size
        v = [mpmath.mpf(0)] * grads[0].size
        for g in grads:
            for j, gj in enumerate(np.ravel(g)):
                gm = mpmath.mpf(float(gj)) * s
                v[j] = decay * v[j] + (1 - decay) * gm * gm
                p[j] = p[j] - lr * gm / (mpmath.sqrt(v[j]) + eps)
        return p


# ------------------------------------------------------------------------------------------------ RMSprop
def test_rmsprop_matches_the_mpmath_recursion_to_1e_12() -> None:
    rng = np.random.default_rng(7)
    grads = [rng.normal(size=(1, 5)) * 10.0 ** rng.uniform(-3, 1) for _ in range(60)]
    r = rmsprop(0.01)
    p, st = np.zeros((1, 5)), r.init(np.zeros((1, 5)))
    for t, g in enumerate(grads):
        nrm = float(np.linalg.norm(g))
        p, st = r.update(p, st, _fo(g / nrm, [math.log(nrm)]), t)
    oracle = np.array([float(x) for x in _mp_rmsprop(grads, 0.01)])
    # every step moves each entry by at most lr/sqrt(1 - decay) = 0.1; the float64 recursion differs from the exact
    # one by a few roundings per step (~1e-16 of 0.1), so 60 steps stay far below 1e-12 absolute
    np.testing.assert_allclose(p[0], oracle, rtol=0, atol=1e-12)
    assert r.to_json() == {"name": "rmsprop", "lr": 0.01, "decay": 0.99, "eps": 1e-8}


def test_rmsprop_survives_gradients_far_below_float64s_range() -> None:
    """Gradients e^{-2000} g_t: with eps = 0 RMSprop is scale-free (same iterate as for g_t); with eps = 1e-8 eps
    dominates and the iterate does not move (and never turns NaN)."""
    rng = np.random.default_rng(11)
    grads = [rng.normal(size=(1, 4)) for _ in range(30)]
    r0, r1 = rmsprop(0.05, eps=0.0), rmsprop(0.05)
    p0, s0 = np.zeros((1, 4)), r0.init(np.zeros((1, 4)))
    p1, s1 = np.zeros((1, 4)), r1.init(np.zeros((1, 4)))
    for t, g in enumerate(grads):
        nrm = float(np.linalg.norm(g))
        p0, s0 = r0.update(p0, s0, _fo(g / nrm, [math.log(nrm) - 2000.0]), t)
        p1, s1 = r1.update(p1, s1, _fo(g / nrm, [math.log(nrm) - 2000.0]), t)
    oracle = np.array([float(x) for x in _mp_rmsprop(grads, 0.05, eps=0.0)])
    np.testing.assert_allclose(p0[0], oracle, rtol=0, atol=1e-12)
    assert np.all(p1 == 0)
    # and with eps > 0 at a representable scale the exact recursion is matched too (eps then matters)
    oracle_eps = np.array([float(x) for x in _mp_rmsprop(grads, 0.05, eps=1e-8, scale_log=-18.0)])
    p2, s2 = np.zeros((1, 4)), r1.init(np.zeros((1, 4)))
    for t, g in enumerate(grads):
        nrm = float(np.linalg.norm(g))
        p2, s2 = r1.update(p2, s2, _fo(g / nrm, [math.log(nrm) - 18.0]), t)
    np.testing.assert_allclose(p2[0], oracle_eps, rtol=0, atol=1e-12)
    assert 0 < np.max(np.abs(p2)) < np.max(np.abs(p0))  # e^-18 ~ 1.5e-8: eps slows the steps, visibly


def test_rmsprop_row_of_the_table() -> None:
    assert method_params("rmsprop", {}) == {"eta": 0.1} and not METHOD_TABLE["rmsprop"].along_gradient
    assert make_method("rmsprop", eta=0.02).to_json()["lr"] == 0.02
    for bad in ({"eta": -1.0}, {"eta": "x"}):
        with pytest.raises(VerifyInputError):
            make_method("rmsprop", **bad)  # type: ignore[arg-type]
    with pytest.raises(VerifyInputError):
        rmsprop(0.1, decay=1.0)


# --------------------------------------------------------------------------------- sign GD is l-inf NSD
def test_sign_gd_is_normalized_steepest_descent_in_linf() -> None:
    """sign(g) attains max <g, v> over the l-inf unit ball (= ||g||_1, Hoelder); no random point of the ball does
    better, and the step's l-inf length is eta."""
    rng = np.random.default_rng(5)
    g = rng.normal(size=(1, 3, 3))
    nrm = float(np.linalg.norm(g))
    W1, _ = make_method("signgd", eta=0.3).update(np.zeros((1, 3, 3)), None, _fo(g / nrm, [math.log(nrm)]), 0)
    step = -W1 / 0.3
    assert np.max(np.abs(W1)) == pytest.approx(0.3, rel=1e-15)
    assert float(np.sum(g * step)) == pytest.approx(float(np.abs(g).sum()), rel=1e-14)
    V = rng.uniform(-1, 1, size=(2000, 3, 3))
    assert np.all(np.einsum("kij,ij->k", V, g[0]) <= np.abs(g).sum() + 1e-12)


# ------------------------------------------------------------------------- end to end on the attention model
def _mp_grad(inst: ac.AttentionInstance, W: list[list[mpmath.mpf]]) -> list[list[mpmath.mpf]]:
    """grad_W of L(W) = (1/n) sum_i log(1 + exp(-y_i u^T X_i^T softmax(X_i W z_i))), written out in mpmath
    (independent of the stable kernel): df/da_t = s_t (h_t - s.h), h_t = u^T x_t, dL/df_i = -y_i/(1 + e^{y_i f_i})."""
    n, T, d = inst.X.shape
    G = [[mpmath.mpf(0)] * d for _ in range(d)]
    X = [[[mpmath.mpf(float(v)) for v in inst.X[i, t]] for t in range(T)] for i in range(n)]
    z = [[mpmath.mpf(float(v)) for v in inst.z[i]] for i in range(n)]
    u = [mpmath.mpf(float(v)) for v in inst.u]
    for i in range(n):
        Wz = [mpmath.fsum(W[a][b] * z[i][b] for b in range(d)) for a in range(d)]
        a_t = [mpmath.fsum(X[i][t][a] * Wz[a] for a in range(d)) for t in range(T)]
        top = max(a_t)
        e = [mpmath.exp(v - top) for v in a_t]
        s = [v / mpmath.fsum(e) for v in e]
        h = [mpmath.fsum(u[a] * X[i][t][a] for a in range(d)) for t in range(T)]
        f = mpmath.fsum(s[t] * h[t] for t in range(T))
        sh = f
        yi = mpmath.mpf(float(inst.y[i]))
        dl = -yi / (1 + mpmath.exp(yi * f)) / n
        for t in range(T):
            c = dl * s[t] * (h[t] - sh)
            for a in range(d):
                for b in range(d):
                    G[a][b] += c * X[i][t][a] * z[i][b]
    return G


def _mp_run(inst: ac.AttentionInstance, name: str, eta: float, steps: int) -> np.ndarray:
    """``steps`` steps of rmsprop / signgd / adam, each written out in 50-digit mpmath from the exact gradient."""
    d = inst.d
    with mpmath.workdps(50):
        W = [[mpmath.mpf(float(inst.W0[a, b])) for b in range(d)] for a in range(d)]
        m = [[mpmath.mpf(0)] * d for _ in range(d)]
        v = [[mpmath.mpf(0)] * d for _ in range(d)]
        for t in range(steps):
            G = _mp_grad(inst, W)
            for a in range(d):
                for b in range(d):
                    g = G[a][b]
                    if name == "signgd":
                        W[a][b] -= eta * mpmath.sign(g)
                    elif name == "rmsprop":
                        v[a][b] = mpmath.mpf("0.99") * v[a][b] + mpmath.mpf("0.01") * g * g
                        W[a][b] -= eta * g / (mpmath.sqrt(v[a][b]) + mpmath.mpf("1e-8"))
                    else:  # adam
                        m[a][b] = mpmath.mpf("0.9") * m[a][b] + mpmath.mpf("0.1") * g
                        v[a][b] = mpmath.mpf("0.999") * v[a][b] + mpmath.mpf("0.001") * g * g
                        mh = m[a][b] / (1 - mpmath.mpf("0.9") ** (t + 1))
                        vh = v[a][b] / (1 - mpmath.mpf("0.999") ** (t + 1))
                        W[a][b] -= eta * mh / (mpmath.sqrt(vh) + mpmath.mpf("1e-8"))
        return np.array([[float(x) for x in row] for row in W])


@pytest.mark.parametrize("name", ["rmsprop", "signgd", "adam"])
def test_elementwise_methods_on_the_attention_model_match_mpmath(name: str) -> None:
    """Six steps of the engine's float64 run (dense problem, trajectory runner) against the mpmath oracle above.
    mpmath's decimal constants (0.99, 1e-8, ...) differ from float64's by < 1e-16 relative, far below 1e-12."""
    inst = generate(2, 3, 3, seed=4, tokens="gaussian", init_scale=0.5)
    steps, eta = 6, 0.1
    tr = run(ac.build_problem(get_backend("numpy"), ac.stack([inst]), "dense"), make_method(name, eta=eta), steps,
             [steps])
    W = tr.series("W")[-1]
    oracle = _mp_run(inst, name, eta, steps)
    np.testing.assert_allclose(W, oracle, rtol=0, atol=1e-12)
    assert np.max(np.abs(W - inst.W0)) > 0.1  # the run moved: the comparison is not of two starting points


# ---------------------------------------------------------------------------------- the l-inf and l1 LPs
def _independent_lp(Af: np.ndarray, q: str) -> float:
    """The LP optimum by scipy's HiGHS in another formulation (no cvxpy): linf with (w, s), l1 with w = w+ - w-."""
    from scipy.optimize import linprog

    m, N = Af.shape
    if q == "inf":
        c = np.r_[np.zeros(N), 1.0]
        A_ub = np.block([[-Af, np.zeros((m, 1))], [np.eye(N), -np.ones((N, 1))], [-np.eye(N), -np.ones((N, 1))]])
        b_ub = np.r_[-np.ones(m), np.zeros(2 * N)]
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * N + [(0, None)], method="highs")
    else:
        c = np.ones(2 * N)
        res = linprog(c, A_ub=np.hstack([-Af, Af]), b_ub=-np.ones(m), bounds=[(0, None)] * (2 * N), method="highs")
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("q", ["inf", "1"])
def test_poly_svm_is_an_exact_vertex_and_agrees_with_an_independent_lp(q: str) -> None:
    from theorems.attention.svm import att_svm_constraints
    from theorems.attention.svm_linf import qnorm, solve_poly_att_svm

    for seed in range(3):
        inst = generate(2, 3, 7, seed, "orthonormal", 0.1)
        alpha = tuple(int(a) for a in ac.optimal_tokens(inst))
        sol = solve_poly_att_svm(inst.X, inst.z, alpha, q)
        lo, hi = sol.norm_bounds
        assert sol.certified and sol.polished == (True, True) and lo == hi  # the exact optimum
        ref = _independent_lp(att_svm_constraints(inst.X, inst.z, alpha)[0], q)
        assert abs(ref - float(hi)) <= 1e-9 * float(hi)
        Af, _ = att_svm_constraints(inst.X, inst.z, alpha)
        assert np.min(Af @ sol.W.ravel()) >= 1 - 1e-14  # float64 rounding of an exactly feasible point
        assert float(qnorm(sol.W[None], q)[0]) == pytest.approx(float(hi), rel=1e-15)


def test_poly_svm_bounds_reject_wrong_points() -> None:
    """The exact checks cannot pass a wrong answer: a negative multiplier gives no dual bound, an infeasible point
    is scaled up (its bound grows), and a suboptimal dual gives a strictly smaller lower bound."""
    from theorems.attention.certificate import FactoredRows
    from theorems.attention.svm_linf import _lower, _upper, solve_poly_att_svm

    inst = generate(2, 2, 5, 1, "orthonormal", 0.0)
    alpha = tuple(int(a) for a in ac.optimal_tokens(inst))
    sol = solve_poly_att_svm(inst.X, inst.z, alpha, "inf")
    rows = FactoredRows.from_data(inst.X, inst.z, alpha)
    s = sol.norm_bounds[1]
    assert _lower(rows, {0: Fraction(-1), 1: Fraction(2)}, "inf") is None
    half = [Fraction(float(v)) / 2 for v in sol.W.ravel()]  # margins 1/2: infeasible, scaled back up by 2
    up = _upper(rows, half, "inf")
    assert up is not None and up[0] >= s
    lam = {k: Fraction(float(v)) for k, v in enumerate(sol.multipliers) if v > 0}
    bad = {k: v * (2 if i == 0 else 1) for i, (k, v) in enumerate(lam.items())}
    lo_bad = _lower(rows, bad, "inf")
    assert lo_bad is not None and lo_bad < s


def _axis_problem() -> tuple[np.ndarray, np.ndarray]:
    """One sequence, tokens e1 and e2, query e1: the single row reads W00 - W10 >= 1. The linf optimum 1/2 leaves
    W01 and W11 free in [-1/2, 1/2]; the l1 optimum 1 is the segment W00 - W10 = 1, W00 >= 0 >= W10."""
    X = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    return X, np.array([[1.0, 0.0]])


def test_distance_to_the_set_of_optimal_directions_when_the_lp_is_not_unique() -> None:
    from theorems.attention.svm_linf import margin_lower_bound, point_distance, set_distance, solve_poly_att_svm

    X, Z = _axis_problem()
    linf = solve_poly_att_svm(X, Z, (0,), "inf")
    assert linf.norm_bounds == (Fraction(1, 2), Fraction(1, 2))
    V = np.array([[1.0, 1.0], [-1.0, 0.3]])  # in S*/s*: distance 0 to the set
    assert set_distance(V, linf, X, Z) <= 1e-9
    assert point_distance(V, linf) >= 0.3 - 1e-12  # whatever free entries the solver chose, V's differ
    assert margin_lower_bound(V, linf, X, Z) <= 1e-12
    V2 = np.array([[1.0, 0.0], [0.0, 0.0]])  # the nearest optimal direction has U10 = -1: distance exactly 1
    assert set_distance(V2, linf, X, Z) == pytest.approx(1.0, abs=1e-8)
    assert margin_lower_bound(V2, linf, X, Z) == pytest.approx(0.5, rel=1e-15)  # (2 - 1)/||a||_1
    l1 = solve_poly_att_svm(X, Z, (0,), "1")
    assert l1.norm_bounds == (Fraction(1), Fraction(1))
    V3 = np.array([[0.5, 0.0], [-0.5, 0.0]])  # the midpoint of the optimal segment; the solver returns a vertex
    assert set_distance(V3, l1, X, Z) <= 1e-9
    assert point_distance(V3, l1) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("name", ["signgd", "adam"])
def test_margin_witness_never_exceeds_the_set_distance(name: str) -> None:
    from theorems.attention.svm_linf import margin_lower_bound, point_distance, set_distance, solve_poly_att_svm

    inst = generate(2, 3, 7, 2, "orthonormal", 0.05)
    alpha = tuple(int(a) for a in ac.optimal_tokens(inst))
    sols = [solve_poly_att_svm(inst.X, inst.z, alpha, q) for q in ("inf", "1")]
    tr = run(ac.build_problem(get_backend("numpy"), ac.stack([inst]), "dense"), make_method(name, eta=0.05), 300,
             [3, 10, 30, 100, 300])
    for W in tr.series("W"):
        for sol in sols:
            dset = set_distance(W, sol, inst.X, inst.z)
            assert margin_lower_bound(W, sol, inst.X, inst.z) <= dset + 1e-9
            assert dset <= point_distance(W, sol) + 1e-9


def test_decaying_step_schedule_is_eta_over_sqrt_t_plus_1() -> None:
    """sign GD with eta/(t+1)^0.5 on a constant gradient moves each entry by eta (1 + 2^-1/2 + 3^-1/2) in three
    steps; Adam's first step with the schedule is the constant-step one (t = 0); the parameter is validated."""
    from verify.methods import adam, scale_by_schedule, sign_gd

    g = np.array([[0.5, -2.0]])
    nrm = float(np.linalg.norm(g))
    r, W = sign_gd(0.2, 0.5), np.zeros((1, 2))
    for t in range(3):
        W, _ = r.update(W, None, _fo(g / nrm, [math.log(nrm)]), t)
    np.testing.assert_allclose(W, -0.2 * (1 + 2**-0.5 + 3**-0.5) * np.sign(g), rtol=1e-15)
    a0, a1 = adam(0.1), adam(0.1, decay_power=0.5)
    W0, _ = a0.update(np.zeros((1, 2)), a0.init(np.zeros((1, 2))), _fo(g / nrm, [math.log(nrm)]), 0)
    W1, s1 = a1.update(np.zeros((1, 2)), a1.init(np.zeros((1, 2))), _fo(g / nrm, [math.log(nrm)]), 0)
    assert np.array_equal(W0, W1) and a1.to_json()["decay_power"] == 0.5 and "decay_power" not in a0.to_json()
    W2, _ = a1.update(W1, s1, _fo(g / nrm, [math.log(nrm)]), 1)  # constant g: Adam's u = sign(g) up to eps
    np.testing.assert_allclose(W2 - W1, -0.1 / math.sqrt(2) * np.sign(g), rtol=1e-7)
    with pytest.raises(VerifyInputError):
        scale_by_schedule(0.1, -1.0)


def test_the_lp_solver_writes_nothing_to_stdout() -> None:
    """HiGHS's C library prints a banner to stdout on start-up, which would corrupt ``verify ... --json``; the LP
    runs with file descriptor 1 silenced (a fresh process, so the banner would be due)."""
    import subprocess
    import sys

    code = ("from theorems.attention.strategies import generate\n"
            "from theorems.attention.svm_linf import solve_poly_att_svm\n"
            "i = generate(2, 2, 5, 1, 'orthonormal', 0.0)\n"
            "s = solve_poly_att_svm(i.X, i.z, (0, 1), 'inf')\n"
            "print('certificate', s.certificate)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout == "certificate rigorous\n", out.stdout


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_float_moment_blocks_are_the_generic_blocks_bit_for_bit(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adam's and RMSprop's moments on float numpy arrays call numpy's ufuncs directly
    (``verify.methods._elementwise_fns``); the iterates agree bit for bit with the dispatching functions, including
    gradients whose log scale reaches far below float64's range (moments whose scale is -inf, then finite)."""
    import verify.methods as vm

    rng = np.random.default_rng(3)
    B, d = 3, 4
    W0 = rng.normal(size=(B, d, d))
    rule = make_method(name, eta=0.1)

    def trace() -> list[np.ndarray]:
        W, state, out = W0.copy(), rule.init(W0), []
        for t in range(40):
            unit = rng_t[t] / np.linalg.norm(rng_t[t], axis=(1, 2), keepdims=True)
            fo = SimpleNamespace(unit_grad=unit, log_grad_norm=log_norms[t], log_loss_gap=None)
            W, state = rule.update(W, state, fo, t)
            out.append(W.copy())
        return out

    rng_t = rng.normal(size=(40, B, d, d))
    log_norms = rng.normal(size=(40, B)) * 3 - np.array([0.0, 800.0, 5.0])
    fast = trace()
    monkeypatch.setattr(vm, "is_float_array", lambda x: False)
    generic = trace()
    for a, b in zip(fast, generic, strict=True):
        assert np.array_equal(a.view(np.int64), b.view(np.int64))
