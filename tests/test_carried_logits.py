"""Carried Gram logits (theorems/attention/carried_logits.py): every carried logit is within its bound E of the
exact a0 + K c (evaluated at 60 digits), E stays within GROWTH times the last anchor's direct bound, anything
that is not a step along the last direction is evaluated directly, and whole runs keep their precision flags."""

from __future__ import annotations

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
    np.testing.assert_array_equal(carried.precision_ok, direct.precision_ok)
    np.testing.assert_array_equal(carried.records["selected"], direct.records["selected"])
    c0, c1 = direct.records["c"], carried.records["c"]
    scale = np.max(np.abs(c0), axis=(2, 3), keepdims=True)
    assert np.max(np.abs(c1 - c0) / scale) < 1e-11
    # the watch reads at most GROWTH times the direct bound (up to the trajectories' own difference)
    assert np.all(carried.max_rel_error <= 1.1 * cl.GROWTH * direct.max_rel_error)


def test_a_second_run_on_the_same_problem_repeats_the_first_bit_for_bit(carry_everywhere: None) -> None:
    prob = ac.build_problem(get_backend("numpy"), _batch(B=2), "gram")
    rule = make_rule("ngd", eta=0.1)
    first, second = run(prob, rule, 150), run(prob, rule, 150)
    np.testing.assert_array_equal(first.records["c"], second.records["c"])
    np.testing.assert_array_equal(first.max_rel_error, second.max_rel_error)
