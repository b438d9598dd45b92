"""Carried Gram logits (theorems/attention/carried_logits.py): every carried logit is within its bound E of the
exact a0 + K c (evaluated at 60 digits), E stays within GROWTH times the last anchor's direct bound, anything
that is not a step along the last direction is evaluated directly, and whole runs keep their precision flags."""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest

from theorems.attention import carried_logits as cl
from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from verify.backends import get_backend
from verify.methods import make_method, make_rule
from verify.trajectory import run


def _batch(B: int = 3, n: int = 4, T: int = 16, d: int = 12, seed: int = 0) -> ac.Batch:
    return ac.stack([generate(n, T, d, seed=seed + b, tokens="gaussian") for b in range(B)])


def _exact_logits(K: np.ndarray, a0: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a0 + K c with every float64 input taken exactly, rounded once at the end (60 digits)."""
    with mpmath.workdps(60):
        out = np.empty(c.shape)
        for b in range(c.shape[0]):
            cb = [mpmath.mpf(float(x)) for x in c[b]]
            for k in range(c.shape[1]):
                row = [mpmath.mpf(float(x)) for x in K[b, k]]
                out[b, k] = float(mpmath.mpf(float(a0[b, k])) + mpmath.fdot(row, cb))
    return out


def _carry(batch: ac.Batch) -> tuple[ac.FixedDecoderProblem, ac.Gram, cl.CarriedLogits]:
    prob = ac.build_problem(get_backend("numpy"), batch, "gram")
    rep = prob.rep
    assert isinstance(rep, ac.Gram)
    return prob, rep, cl.CarriedLogits(rep.K, np.abs(rep.K), rep.a0, 2.0**-53)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_carried_logits_are_within_their_bound_of_the_exact_ones(seed: int) -> None:
    batch = _batch(seed=seed)
    prob, rep, carry = _carry(batch)
    B, n, T = rep.a0.shape
    c = np.zeros((B, n * T))
    rng = np.random.default_rng(seed)
    for t in range(40):
        a, E = carry.logits(c)
        limit = carry.last.limit if carry.last is not None else None
        exact = _exact_logits(rep.K, rep.a0.reshape(B, -1), c)
        err = np.max(np.abs(a - exact), axis=-1)
        assert np.all(err <= E), (t, err, E)
        assert limit is not None and np.all(limit >= E)
        fo = prob.first_order(c.reshape(B, n, T))  # the real direction at c (the problem's own carry is separate)
        unit = fo.unit_grad.reshape(B, -1)
        KG = np.matmul(rep.K, unit[..., None])[..., 0]
        carry.took(c, unit, KG)
        c = c - rng.uniform(0.05, 2.0, size=(B, 1)) * unit  # an NGD-like step of varying length
    assert carry.carried > 0 and carry.anchors > 0


def test_a_move_off_the_last_direction_is_evaluated_directly() -> None:
    batch = _batch()
    prob, rep, carry = _carry(batch)
    B, m = rep.a0.shape[0], rep.a0.shape[1] * rep.a0.shape[2]
    rng = np.random.default_rng(5)
    c = rng.normal(size=(B, m))
    carry.logits(c)
    u = rng.normal(size=(B, m))
    carry.took(c, u, np.matmul(rep.K, u[..., None])[..., 0])
    before = carry.anchors
    c2 = c + rng.normal(size=(B, m))  # not a multiple of u
    a, E = carry.logits(c2)
    assert carry.anchors == before + 1
    np.testing.assert_array_equal(a, rep.a0.reshape(B, m) + np.matmul(rep.K, c2[..., None])[..., 0])
    np.testing.assert_array_equal(E, 2.0**-53 * (m * np.max(np.abs(rep.K) @ np.abs(c2)[..., None], axis=(1, 2))
                                                 + carry.a0max))


def test_took_at_another_iterate_and_a_zero_direction_carry_nothing() -> None:
    batch = _batch()
    prob, rep, carry = _carry(batch)
    B, m = rep.a0.shape[0], rep.a0.shape[1] * rep.a0.shape[2]
    c = np.ones((B, m))
    carry.logits(c)
    carry.took(c + 1.0, np.ones((B, m)), np.ones((B, m)))
    assert carry.last is None
    carry.logits(c)
    carry.took(c, np.zeros((B, m)), np.zeros((B, m)))
    assert carry.last is None


def test_the_bound_on_K_times_v_is_never_below_the_exact_one() -> None:
    batch = _batch(B=4, n=5, T=13)
    prob, rep, carry = _carry(batch)
    rng = np.random.default_rng(0)
    absK = np.abs(rep.K)
    for _ in range(20):
        v = rng.normal(size=(4, 65)) * rng.uniform(0, 3, size=(4, 65)) ** 3
        exact = np.max(np.matmul(absK, np.abs(v)[..., None])[..., 0], axis=-1)
        assert np.all(carry._h(v) >= exact * (1 - 1e-14))


@pytest.fixture
def carry_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cl, "MIN_WORK", 0)
    monkeypatch.setattr(cl, "MIN_TOKENS", 0)


def _runs(batch: ac.Batch, monkeypatch: pytest.MonkeyPatch, method: str, steps: int) -> tuple:
    rule = make_method(method, eta=0.1)
    monkeypatch.setattr(cl, "MIN_WORK", 10**18)
    direct = run(ac.build_problem(get_backend("numpy"), batch, "gram"), rule, steps)
    monkeypatch.setattr(cl, "MIN_WORK", 0)
    monkeypatch.setattr(cl, "MIN_TOKENS", 0)
    prob = ac.build_problem(get_backend("numpy"), batch, "gram")
    carried = run(prob, rule, steps)
    return direct, carried, prob


@pytest.mark.parametrize("method", ["ngd", "gd"])
def test_a_run_with_carried_logits_matches_the_direct_run(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    direct, carried, prob = _runs(_batch(B=4), monkeypatch, method, 400)
    carry = prob.rep._cache["carry"]
    assert carry.carried > carry.anchors
    _assert_runs_agree(carried, direct)


def _assert_runs_agree(carried: Any, direct: Any) -> None:
    """Identical flags and selections, iterates within 1e-11 relative, and the watch reads at most GROWTH times
    the direct bound (up to the trajectories' own difference)."""
    np.testing.assert_array_equal(carried.precision_ok, direct.precision_ok)
    np.testing.assert_array_equal(carried.records["selected"], direct.records["selected"])
    c0, c1 = direct.records["c"], carried.records["c"]
    scale = np.max(np.abs(c0), axis=(2, 3), keepdims=True)
    assert np.max(np.abs(c1 - c0) / scale) < 1e-11
    assert np.all(carried.max_rel_error <= 1.1 * cl.GROWTH * direct.max_rel_error)


def test_a_second_run_on_the_same_problem_repeats_the_first_bit_for_bit(carry_everywhere: None) -> None:
    prob = ac.build_problem(get_backend("numpy"), _batch(B=2), "gram")
    rule = make_rule("ngd", eta=0.1)
    first, second = run(prob, rule, 150), run(prob, rule, 150)
    np.testing.assert_array_equal(first.records["c"], second.records["c"])
    np.testing.assert_array_equal(first.max_rel_error, second.max_rel_error)


# ------------------------------------------------------------------------------------ compiled (jax) carry
def _jax_problem(batch: ac.Batch) -> ac.FixedDecoderProblem:
    pytest.importorskip("jax")
    prob = ac.build_problem(get_backend("jax"), batch, "gram")
    prob.compile_parts()  # computes the carry's block data
    return prob


@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_carry_logits_are_within_their_bound_of_the_exact_ones(carry_everywhere: None, seed: int) -> None:
    """The jax carry (the functions the compiled loop traces, in one jitted step) along real NGD steps."""
    import jax

    prob = _jax_problem(_batch(seed=seed))
    rule = make_rule("ngd", eta=0.1)
    rep = prob.rep
    assert isinstance(rep, ac.Gram)
    diag, beta = rep._cache["carry_data"]

    @jax.jit
    def step(state: Any, mstate: Any, carry: cl.Carry, t: Any) -> tuple:
        B = state.shape[0]
        got = cl.compiled_logits(carry, state.reshape(B, -1), rep.K, rep.absK, rep.a0.reshape(B, -1),
                                 rep._cache["a0max"], diag, beta, 2.0**-53)
        fo, carry = prob.first_order_carried(state, carry, False)
        return got, rule.update(state, mstate, fo, t), carry

    state = prob.init()
    mstate = rule.init(state)
    carry = prob.compiled_carry_init(state)
    assert carry is not None
    B = state.shape[0]
    K, a0 = np.asarray(rep.K), np.asarray(rep.a0).reshape(B, -1)
    anchored = 0
    for t in range(60):
        c = np.asarray(state).reshape(B, -1)
        (a, E, _, limit, need), (state, mstate), carry = step(state, mstate, carry, t)
        anchored += bool(need)
        err = np.max(np.abs(np.asarray(a) - _exact_logits(K, a0, c)), axis=-1)
        assert np.all(err <= np.asarray(E)), (t, err, E)
        assert np.all(np.asarray(limit) >= np.asarray(E))
    assert 0 < anchored < 40  # the first step anchors; later ones mostly carry


def test_a_compiled_run_with_carried_logits_matches_the_direct_compiled_run(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _batch(B=4)
    rule = make_rule("ngd", eta=0.1)
    monkeypatch.setattr(cl, "MIN_WORK", 10**18)
    direct_prob = _jax_problem(batch)
    assert direct_prob.compiled_carry_init(direct_prob.init()) is None
    direct_key = direct_prob.compile_parts()[0]
    direct = run(direct_prob, rule, 400)
    monkeypatch.setattr(cl, "MIN_WORK", 0)
    monkeypatch.setattr(cl, "MIN_TOKENS", 0)
    prob = _jax_problem(batch)
    assert prob.compiled_carry_init(prob.init()) is not None
    assert prob.compile_parts()[0] != direct_key  # not the cached direct program
    carried = run(prob, rule, 400)
    assert not carried.notes, carried.notes  # it compiled
    _assert_runs_agree(carried, direct)
    assert np.all(carried.max_rel_error[1:] >= 0.5 * direct.max_rel_error[1:])  # the bound is not lost either


def test_an_entry_that_stays_exactly_zero_does_not_hide_the_others_rounding() -> None:
    """rho = max_k |r_k| / (|c'_k| + |s u_k|) skips 0/0 entries one by one (a coefficient that is 0 and did not
    move), never the whole maximum."""
    K = np.array([[[2.0, 0.5, 0.1], [0.5, 3.0, 0.2], [0.1, 0.2, 1.0]]])
    diag, beta = cl.block_data(K, np.abs(K), 1, 3, np)
    a0, a0max = np.zeros((1, 3)), np.zeros(1)
    u = np.array([[0.0, 1.0, 1.0]]) / np.sqrt(2)
    Ku = np.matmul(K, u[..., None])[..., 0]
    prev_c = np.array([[0.0, 1.0, 2.0]])

    def E_at(c: np.ndarray) -> float:
        with np.errstate(invalid="ignore", divide="ignore"):
            _, E, _, _ = cl.carried(prev_c, a0 + np.matmul(K, prev_c[..., None])[..., 0], np.zeros(1), np.zeros(1),
                                    np.zeros(1), u, Ku, np.sum(u * u, axis=-1), cl.h_bound(diag, beta, u, np), c,
                                    diag, beta, a0, a0max, 2.0**-53, np)
        return float(E[0])

    along = prev_c + 0.5 * u  # a step along u: the residual r is its rounding only
    off = along + np.array([[0.0, 1e-3, -1e-3]])  # a residual of 1e-3 relative, entry 0 still 0/0
    assert E_at(off) > 1e-4 > E_at(along)


def test_the_compiled_carry_evaluates_a_move_off_its_direction_and_a_zero_direction_directly() -> None:
    prob = _jax_problem(_batch())
    rep = prob.rep
    assert isinstance(rep, ac.Gram)
    import jax.numpy as jnp

    diag, beta = rep._cache["carry_data"]
    B, n, T = rep.a0.shape
    a0 = rep.a0.reshape(B, n * T)
    rng = np.random.default_rng(5)
    c = jnp.asarray(rng.normal(size=(B, n * T)))

    def logits(carry: cl.Carry, at: Any) -> tuple:
        return cl.compiled_logits(carry, at, rep.K, rep.absK, a0, rep._cache["a0max"], diag, beta, 2.0**-53)

    a, E, Bc, limit, need = logits(cl.empty_carry(c, jnp), c)
    assert bool(need)  # a carry that has seen no direction
    u = jnp.asarray(rng.normal(size=(B, n * T)))
    carry = cl.took_carry(c, a, E, Bc, limit, u, jnp.matmul(rep.K, u[..., None])[..., 0], diag, beta, jnp)
    c2 = c + jnp.asarray(rng.normal(size=(B, n * T)))  # not a multiple of u
    a2, E2, _, _, need = logits(carry, c2)
    assert bool(need)
    direct, E_direct, _ = cl.direct(rep.K, rep.absK, a0, rep._cache["a0max"], c2, 2.0**-53, jnp)
    np.testing.assert_array_equal(np.asarray(a2), np.asarray(direct))
    np.testing.assert_array_equal(np.asarray(E2), np.asarray(E_direct))
    c3 = c - 0.01 * u
    a3, E3, _, _, need = logits(carry, c3)  # a short step along u: carried, within its bound
    assert not bool(need)
    exact = _exact_logits(np.asarray(rep.K), np.asarray(a0), np.asarray(c3))
    assert np.all(np.max(np.abs(np.asarray(a3) - exact), axis=-1) <= np.asarray(E3))
    zero = cl.took_carry(c, a, E, Bc, limit, u * 0, u * 0, diag, beta, jnp)  # a stationary point
    assert bool(logits(zero, c)[4])
