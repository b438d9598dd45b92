"""The generic pieces a model with a composite objective uses: gradient(term=...), precondition, sum_of and the
projected geometry of verify/methods.py (run through verify.trajectory.run on a small quadratic), and the fits
fit_geometric and bootstrap_exponent_se of verify/checks.py, on series of known truth."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import pytest

from verify.backends import get_backend
from verify.checks import bootstrap_exponent_se, fit_geometric, fit_power
from verify.errors import VerifyInputError
from verify.methods import chain, gd, gradient, precondition, projected, scale, scale_by_polyak, sum_of
from verify.trajectory import run


class _Term(NamedTuple):
    unit_grad: tuple
    log_grad_norm: np.ndarray
    block_unit_grad: tuple
    block_log_grad_norm: tuple


class _FO(NamedTuple):
    unit_grad: tuple
    log_grad_norm: np.ndarray
    block_unit_grad: tuple
    block_log_grad_norm: tuple
    log_loss_gap: np.ndarray
    rel_error: np.ndarray
    terms: dict
    point: tuple


def _term(g: tuple) -> _Term:
    """Unit vectors and log norms of a two-block gradient; a zero block has log norm -inf."""
    sq = [float(np.sum(x * x)) for x in g]
    tot = math.sqrt(sum(sq))
    return _Term(tuple(x / tot if tot > 0 else x for x in g), np.array([math.log(tot) if tot > 0 else -math.inf]),
                 tuple(x / math.sqrt(s) if s > 0 else x for x, s in zip(g, sq, strict=True)),
                 tuple(np.array([0.5 * math.log(s) if s > 0 else -math.inf]) for s in sq))


class _Quadratic:
    """F(x, y) = (1/2) x^T H x + (mu/2) ||y - c||^2 on tuple parameters (x, y), batch of one: term "loss" is the
    x part, term "reg" the y part, so each method's step is known in closed form."""

    bk = get_backend("numpy")
    iterate_record = "theta"

    def __init__(self) -> None:
        self.H = np.diag([1.0, 4.0])
        self.mu, self.c = 0.5, np.array([1.0, -2.0, 0.5])

    def init(self) -> tuple:
        return np.array([[1.0, 1.0]]), np.zeros((1, 3))

    def grads(self, p: tuple) -> tuple[tuple, tuple]:
        x, y = p
        return (x @ self.H, np.zeros_like(y)), (np.zeros_like(x), self.mu * (y - self.c))

    def first_order(self, p: tuple) -> _FO:
        gl, gr = self.grads(p)
        whole = _term((gl[0] + gr[0], gl[1] + gr[1]))
        return _FO(*whole, np.array([math.nan]), np.array([0.0]),
                   {"loss": _term(gl), "reg": _term(gr)}, p)

    def observe(self, p: tuple, fo: _FO) -> dict[str, np.ndarray]:
        return {"theta": np.concatenate([p[0], p[1]], axis=1), "x": p[0].copy(), "y": p[1].copy()}


def test_precondition_applies_the_problems_linear_map() -> None:
    """x <- x - eta P g with P = H^{-1}: Newton's step on the quadratic part, from the log-form gradient."""
    prob = _Quadratic()
    Hinv = np.linalg.inv(prob.H)
    m = chain(gradient(term="loss"), precondition(lambda fo, d: (d[0] @ Hinv, d[1])), scale(0.5))
    traj = run(prob, m, 3, [0, 1, 2, 3])
    x = traj.series("x")
    assert np.allclose(x, np.array([[1, 1], [0.5, 0.5], [0.25, 0.25], [0.125, 0.125]]), rtol=1e-14)
    assert np.all(traj.series("y") == 0)  # the loss term does not move y


def test_a_preconditioner_that_mixes_blocks_sees_per_block_scales_materialized() -> None:
    """With per-block log scales the map gets the plain blocks: P(g) = (g_y[:, :2], g_x) swaps the blocks'
    roles, which would be wrong if each block's own scale were applied after the map."""
    prob = _Quadratic()
    fo = prob.first_order((np.array([[1.0, 2.0]]), np.array([[0.0, 0.0, 0.0]])))
    swap = precondition(lambda fo, d: (d[1][:, :2], np.concatenate([d[0], np.zeros((1, 1))], axis=1)))
    u, _ = gradient(per_block=True).update(None, None, fo, 0)
    v, _ = swap.update(u, None, fo, 0)
    gx, gy = prob.grads(fo.point)
    assert np.allclose(v.direction[0], gy[1][:, :2]) and np.allclose(v.direction[1][:, :2], gx[0])


def test_sum_of_adds_the_terms_pipelines_at_the_same_iterate() -> None:
    """x <- x - eta H^{-1} g_x and y <- y - eta (1/mu) g_y in one step: both terms reach their minimum at eta = 1."""
    prob = _Quadratic()
    Hinv = np.linalg.inv(prob.H)
    m = chain(sum_of((gradient(term="loss"), precondition(lambda fo, d: (d[0] @ Hinv, d[1]))),
                     (gradient(term="reg"), precondition(lambda fo, d: (d[0], d[1] / prob.mu)))), scale(1.0))
    traj = run(prob, m, 1, [0, 1])
    assert np.allclose(traj.series("x")[1], 0, atol=1e-15)
    assert np.allclose(traj.series("y")[1], prob.c, rtol=1e-14)
    assert not m.needs_loss_gap
    assert chain(sum_of((gradient(),), (gradient(), scale_by_polyak(1.0)))).needs_loss_gap


def test_term_and_sum_misuse_are_one_line_errors() -> None:
    prob = _Quadratic()
    fo = prob.first_order(prob.init())
    with pytest.raises(VerifyInputError, match="no such term"):
        gradient(term="nope").update(None, None, fo, 0)
    with pytest.raises(VerifyInputError, match="source"):
        sum_of((gradient(),)).update(gradient().update(None, None, fo, 0)[0], None, fo, 0)


def test_projected_geometry_maps_the_parameters_after_each_step() -> None:
    """The table's GD, then (x, y) -> (c x, y / c) with c = 2: after one step x = 2 (x0 - eta H x0) and
    y = (y0 - eta g_y) / 2."""
    prob = _Quadratic()

    def rescale(p: Any) -> Any:
        return 2 * p[0], p[1] / 2

    m = chain(*gd(0.1).transforms, geometry=projected(rescale), name="gd")
    traj = run(prob, m, 1, [0, 1])
    x0, y0 = prob.init()
    gx, gy = prob.grads((x0, y0))
    assert np.allclose(traj.series("x")[1], 2 * (x0 - 0.1 * gx[0]), rtol=1e-14)
    assert np.allclose(traj.series("y")[1], (y0 - 0.1 * gy[1]) / 2, rtol=1e-14)


# ---------------------------------------------------------------------------------------------- fits
def test_fit_geometric_recovers_rate_constant_and_floor() -> None:
    t = np.arange(0.0, 80.0)
    e = np.where(t < 60, 3.0 * 0.7**t, 0.0) + 1e-6  # a plateau at exactly 1e-6 over the last quarter
    fit = fit_geometric(t, e)
    assert fit.floor == 1e-6
    # the transient runs from t = 0 until e first falls within 2 x floor (t = 42); on it e - floor = 3 * 0.7^t to
    # rounding (relative ~1e-10 after subtracting the plateau), so rho and C are exact to ~1e-10
    assert fit.points == 42
    assert fit.rate == pytest.approx(0.7, rel=1e-9) and fit.constant == pytest.approx(3.0, rel=1e-8)
    assert fit.rate_se < 1e-9


def test_fit_geometric_skips_an_overshoot_and_refuses_short_transients() -> None:
    t = np.arange(0.0, 40.0)
    e = 2.0 * 0.5 ** (t - 1) + 1e-4
    e[0] = 0.1  # below the peak at t = 1: the fit starts there
    fit = fit_geometric(t, e)
    assert fit.rate == pytest.approx(0.5, rel=1e-6) and fit.constant == pytest.approx(4.0, rel=1e-5)
    flat = fit_geometric(t, np.full(40, 1.0))
    assert math.isnan(flat.rate) and flat.points == 0 and flat.floor == 1.0


def test_bootstrap_exponent_se_matches_the_spread_of_the_fitted_exponent() -> None:
    """values ~ t^-1 with lognormal replicates of sd 0.2: the refitted exponent's SE is the slope's sampling
    error, which for 5 decade-spaced points and 40 replicates is ~0.2 / sqrt(40) / sd(ln t) ~ 0.02."""
    rng = np.random.default_rng(0)
    t = np.array([10.0, 100.0, 1000.0, 1e4, 1e5])
    R = t[:, None] ** -1.0 * np.exp(0.2 * rng.standard_normal((5, 40)))
    se = bootstrap_exponent_se(t, R, seed=1)
    x = np.log(t)
    expected = 0.2 / math.sqrt(40) / math.sqrt(np.sum((x - x.mean()) ** 2))
    assert 0.5 * expected < se < 2 * expected
    assert bootstrap_exponent_se(t, R, seed=1) == se  # deterministic in the seed
    assert fit_power(t, R.mean(axis=1))[0] == pytest.approx(-1.0, abs=5 * se)
