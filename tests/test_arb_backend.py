"""The arb backend (python-flint Arb balls): every ball contains the exact value, checked against mpmath.

Instance A: ``generate(4, 5, 40, 0, tokens="gaussian")`` (tests/test_numerics.py), the Gram representation, from
W0 = 0. The references are the mpmath backend's own runs at 50 and 100 digits. An mpmath value is a good reference
for a ball only when its own error is below the ball's radius, so each containment test also checks that the
balls are narrow (the test could not fail with huge balls) and that a value off by a little more than the
radius, the float64 run's, is *not* contained (the test can fail).

Without python-flint (the optional extra ``.[flint]``) every test here but the missing-dependency one skips.
"""

from __future__ import annotations

import math
import sys
import types
from types import SimpleNamespace
from typing import Any

import mpmath
import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from verify import arb
from verify.backends import arb_backend, get_backend, mpmath_backend, numpy_backend
from verify.errors import VerifyInputError
from verify.methods import make_rule
from verify.trajectory import run

needs_flint = pytest.mark.skipif(arb.available() is not None, reason=str(arb.available()))

STEPS = 300


def test_missing_flint_is_a_one_line_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "flint", None)  # import flint now raises ImportError
    with pytest.raises(VerifyInputError) as exc:
        get_backend("arb")
    assert str(exc.value) == "backend 'arb' needs the optional dependency python-flint: pip install -e '.[flint]'"
    assert arb.available() == str(exc.value)


# ------------------------------------------------------------------------------------------------ helpers
def exact_ball(x: mpmath.mpf):
    """The mpf ``x`` as an exact ball (its mantissa times a power of two; no decimal conversion)."""
    import flint

    if x == 0:
        return flint.arb(0)
    man, exp = x.man_exp  # the magnitude's mantissa and exponent (mpmath keeps the sign apart)
    man = -int(man) if x < 0 else int(man)
    with arb.working_precision(max(64, int(abs(man)).bit_length() + 8)):
        return flint.arb(flint.fmpz(int(man))) * flint.arb(2) ** int(exp)


def contained(balls: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Elementwise: the mpf (or float) value lies in the ball."""
    vals = np.asarray(values, dtype=object).ravel()
    out = [b.contains(exact_ball(v if isinstance(v, mpmath.mpf) else mpmath.mpf(float(v))))  # both exact
           for b, v in zip(np.asarray(balls).ravel(), vals, strict=True)]
    return np.asarray(out).reshape(np.shape(balls))


def rel_width(balls: np.ndarray) -> float:
    return float(arb.rel_width(np.asarray(balls, dtype=object).reshape(1, -1))[0])


@pytest.fixture(scope="module")
def instance() -> ac.AttentionInstance:
    return generate(4, 5, 40, 0, tokens="gaussian")


def _final(bk, inst: ac.AttentionInstance, method: str, steps: int, representation: str = "gram"):
    """The iterate and the kernel's metrics after ``steps`` steps, in the backend's own numbers."""
    prob = ac.build_problem(bk, ac.stack([inst]), representation)
    rule = make_rule(method, 0.1)
    with bk.context():
        state, ms = prob.init(), rule.init(prob.init())
        for t in range(steps):
            fo = prob.first_order(state, metrics=method == "polyak")
            state, ms = rule.update(state, ms, fo, t)
        fo = prob.first_order(state)
        W = prob.rep.matrix(state)
    return state, fo, W


# ------------------------------------------------------------------------------------ decisions on balls
@needs_flint
def test_max_of_overlapping_balls_contains_every_possible_maximum() -> None:
    import flint

    with arb.working_precision(128):
        x = np.array([[flint.arb(1, 0.5), flint.arb(1.2, 0.1), flint.arb(-3)]], dtype=object)
        m = arb.BALLS.max(x, axis=-1)[0]
        rng = np.random.default_rng(0)
        for _ in range(200):  # points drawn from the balls: their maximum lies in the ball's maximum
            pts = [1 + rng.uniform(-0.5, 0.5), 1.2 + rng.uniform(-0.1, 0.1), -3.0]
            assert m.contains(flint.arb(max(pts)))
        assert m.contains(flint.arb(1.5)) and not m.contains(flint.arb(1.05))  # max >= 1.1 for every choice
        assert int(arb.BALLS.argmax(x, axis=-1)[0]) == 1  # by midpoints
        assert not arb.certainly_greatest(x, np.array([1]))[0]  # [0.5, 1.5] and [1.1, 1.3] overlap
        y = np.array([[flint.arb(1, 0.05), flint.arb(1.2, 0.1)]], dtype=object)
        assert arb.certainly_greatest(y, np.array([1]))[0]


@needs_flint
def test_softplus_encloses_mpmath_with_relative_accuracy_far_below_float64() -> None:
    bk = arb_backend(60)
    with bk.context(), mpmath.workdps(80):
        for x in (-1000.0, -30.0, -1e-8, 0.0, 2.5, 1000.0):
            ball = bk.softplus(bk.asarray(x))
            ref = mpmath.log1p(mpmath.exp(mpmath.mpf(x)))
            assert ball.contains(exact_ball(ref)), x
            assert rel_width(np.array([ball])) < 1e-55, x  # e^-1000 to 55 digits, no cancellation


@needs_flint
def test_widths_are_upper_bounds_also_below_float64s_range() -> None:
    import flint

    with arb.working_precision(4000):
        third = flint.arb(1) / 3  # radius about 2^-4000: far below float64's range
        lr = float(arb.log10_radius(np.array([third], dtype=object))[0])
        man, e = third.rad().man_exp()
        true = float(mpmath.log10(int(man)) + int(e) * mpmath.log10(2))
        assert true <= lr <= true + 2e-12 * abs(true) and lr < -1200
        assert 0 < float(arb.rel_width(np.array([[third]], dtype=object))[0]) < 1e-300
        assert float(arb.rel_width(np.array([[flint.arb(0), flint.arb(2)]], dtype=object))[0]) == 0.0


@needs_flint
def test_the_arb_backend_counts_bits_as_mpmath_does() -> None:
    bk = arb_backend(50)
    assert bk.name == "arb" and bk.prec == mpmath.libmp.dps_to_prec(50) and bk.eps == 2.0**-bk.prec
    with pytest.raises(VerifyInputError, match="--dps"):
        arb_backend(10)


# ------------------------------------------------------------------------- enclosures of mpmath's values
@needs_flint
@pytest.mark.parametrize("method", ["ngd", "gd"])
def test_balls_contain_the_50_digit_mpmath_run(instance: ac.AttentionInstance, method: str) -> None:
    """After 300 steps at 50 digits' bits: c, W, the loss, the attention and the gradient norm of the mpmath
    run at 50 digits lie in the balls; the float64 run's c does not (its error, ~1e-15, exceeds the radii)."""
    c_b, fo_b, W_b = _final(arb_backend(50), instance, method, STEPS)
    c_m, fo_m, W_m = _final(mpmath_backend(50), instance, method, STEPS)
    c_f, _, _ = _final(numpy_backend(), instance, method, STEPS)
    assert rel_width(c_b) < 1e-14, "the balls are too wide for the test to mean anything"
    assert contained(c_b, c_m).all() and contained(W_b, W_m).all()
    k_b, k_m = fo_b.kernel, fo_m.kernel
    for name in ("loss", "log_max_nonopt"):
        assert contained(getattr(k_b, name), getattr(k_m, name)).all(), name
    assert contained(fo_b.log_grad_norm, fo_m.log_grad_norm).all()
    assert not contained(c_b, c_f).all(), "the float64 run must fall outside some ball"
    # mpmath subtracts float64's log n from log(L - L*) (a 1e-16 bias); the balls subtract log n exactly.
    with mpmath.workdps(60):
        fixed = [mpmath.mpf(v) + math.log(4) - mpmath.log(4) for v in np.ravel(k_m.log_loss_gap)]
    assert contained(k_b.log_loss_gap, fixed).all()
    assert not contained(k_b.log_loss_gap, k_m.log_loss_gap).all()


@needs_flint
def test_tight_balls_contain_the_100_digit_mpmath_run_and_not_the_50_digit_one(
        instance: ac.AttentionInstance) -> None:
    """400 bits: balls ~1e-90 wide after 300 NGD steps. They contain mpmath at 100 digits (error ~1e-98) but not
    mpmath at 50 digits (error ~1e-48): the radius is a real bound, not a formality."""
    c_b, _, W_b = _final(arb_backend(50, prec=400), instance, "ngd", STEPS)
    c_100, _, W_100 = _final(mpmath_backend(100), instance, "ngd", STEPS)
    c_50, _, _ = _final(mpmath_backend(50), instance, "ngd", STEPS)
    assert rel_width(c_b) < 1e-80
    assert contained(c_b, c_100).all() and contained(W_b, W_100).all()
    assert not contained(c_b, c_50).any()


@needs_flint
def test_polyak_balls_contain_mpmath_once_its_log_n_is_exact(instance: ac.AttentionInstance,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Polyak reads log(L - L*) every step, so mpmath's float64 log n changes its steps by ~1e-16 relative. With
    the kernel's log n made exact (in this test only) the mpmath run lies in the balls again."""
    steps = 30
    c_b, _, _ = _final(arb_backend(50), instance, "polyak", steps)
    c_m, _, _ = _final(mpmath_backend(50), instance, "polyak", steps)
    assert rel_width(c_b) < 1e-18 and not contained(c_b, c_m).all()
    shim = types.SimpleNamespace(inf=math.inf, log=lambda x: mpmath.log(x))
    monkeypatch.setattr(ac, "math", shim)
    c_x, _, _ = _final(mpmath_backend(50), instance, "polyak", steps)
    assert contained(c_b, c_x).all()


@needs_flint
def test_dense_and_gram_balls_overlap_everywhere() -> None:
    """Two representations, two computations of the same exact W_t: both enclose it, so every pair overlaps."""
    inst = generate(2, 3, 5, 4, tokens="gaussian")
    _, _, W_g = _final(arb_backend(50), inst, "ngd", 40, "gram")
    _, _, W_d = _final(arb_backend(50), inst, "ngd", 40, "dense")
    assert all(a.overlaps(b) for a, b in zip(W_g.ravel(), W_d.ravel(), strict=True))
    assert rel_width(W_d) < 1e-25 and rel_width(W_g) < 1e-25


# ------------------------------------------------------------------------------------ the trajectory
@needs_flint
def test_trajectory_records_widths_and_the_selected_tokens_decision(instance: ac.AttentionInstance) -> None:
    bk = arb_backend(50)
    tr = run(ac.build_problem(bk, ac.stack([instance]), "gram"), make_rule("ngd", 0.1), 100, [0, 100])
    assert tr.backend == "arb" and tr.precision_ok.all()
    for name in ("c", "W", "norm", "loss", "log_loss_gap", "log_max_nonopt", "log_grad_norm"):
        lr = tr.records[name + arb.RAD_SUFFIX]
        assert np.all(lr[-1] < -25), name  # finite, narrow balls at t = 100
    assert np.all(tr.records["W" + arb.RAD_SUFFIX][0] == -math.inf)  # W0 = 0 is exact
    assert not tr.records["selected_certain"][0].any()  # t = 0: every logit is exactly 0 (a tie)
    assert tr.records["selected_certain"][-1].all()
    assert 0 < np.max(tr.max_rel_error[-1]) < 1e-20


@needs_flint
def test_precision_rises_until_the_balls_are_narrow(instance: ac.AttentionInstance) -> None:
    """At 16 digits (56 bits) the balls pass 1e-8 within a few steps: the run restarts with the bits extrapolated
    from how fast they grew (at least twice as many), and ends with every ball narrow."""
    batch = ac.stack([instance])
    tr = arb.run_rigorous(lambda b: ac.build_problem(b, batch, "gram"), make_rule("ngd", 0.1), 100, [10, 100],
                          dps=16)
    restarts = [n for n in tr.notes if "restarted at" in n]
    assert restarts and "with 56 bits; restarted at" in restarts[0] and "bits a step" in restarts[0]
    first = int(restarts[0].split("restarted at ")[1].split(" bits")[0])
    assert first >= 112 and first % 64 == 0
    assert tr.notes[-1].startswith("arb: every ball within 1e-08") and tr.precision_ok.all()
    assert tr.dps > 16 and np.all(tr.max_rel_error <= 1e-8)


@needs_flint
def test_the_restart_extrapolates_the_growth_of_the_balls() -> None:
    """A run at 200 bits whose state lost 2 bits a step (a width of 2^-40 at t = 80): the horizon of 1000 steps
    needs about 80 + 2 * 920 + 27 + 64 bits, extrapolated at most 16 times the steps reached (here all of them);
    a non-finite width doubles; the cap caps."""
    hist = [-200.0 + 2.0 * t for t in range(81)]
    e = SimpleNamespace(t=80, width=2.0**-40, history=hist)
    bits, rate = arb.next_bits(200, e, 1000, 1e-8, 16384)
    assert rate == pytest.approx(2.0)
    need = 160 + 2 * 920 + math.log2(1e8) + arb.GUARD_BITS
    assert bits % 64 == 0 and need <= bits <= 1.05 * need + 64
    short = SimpleNamespace(t=10, width=2.0**-180, history=[-200.0 + 2.0 * t for t in range(11)])
    assert 400 <= arb.next_bits(200, short, 1000, 1e-8, 16384)[0] < 600  # to t = 160, not to 1000 (~2000 bits)
    assert arb.next_bits(200, SimpleNamespace(t=5, width=math.inf, history=[]), 1000, 1e-8, 16384) == (400, None)
    assert arb.next_bits(200, e, 1000, 1e-8, 1000)[0] == 1000


@needs_flint
def test_the_working_precision_follows_the_balls_at_no_cost_in_width(instance: ac.AttentionInstance) -> None:
    """From 2000 bits the balls of 300 NGD steps lose about 100 bits (to a relative width of 2^-1903), so with the
    precision following them (64 guard bits) it goes below 2000; they end as narrow as at a fixed 2000 bits (within
    a factor 1.01) and contain the fixed run's midpoints. (150 steps, before the kernel's direct sigmoid, lost 75
    bits; with it they lose 64, and the precision has no room to follow.)"""
    batch = ac.stack([instance])

    def go(adapt: bool) -> Any:
        return arb.run_rigorous(lambda b: ac.build_problem(b, batch, "gram"), make_rule("ngd", 0.1), 300, [300],
                                prec=2000, max_prec=2000, adapt=adapt)

    fixed, followed = go(False), go(True)
    assert "followed the balls down to" in followed.notes[-1] and "followed" not in fixed.notes[-1]
    low = int(followed.notes[-1].split("down to ")[1].split(" bits")[0])
    assert arb.MIN_BITS <= low < 2000
    lr_f, lr_a = fixed.records["c" + arb.RAD_SUFFIX][-1], followed.records["c" + arb.RAD_SUFFIX][-1]
    assert np.all(lr_a <= lr_f + math.log10(1.01)) and np.all(np.isfinite(lr_a))
    flint = arb.flint_module()
    with arb.working_precision(2000):
        Wa, Wf = followed.records["W_ball"][-1, 0], fixed.records["W_ball"][-1, 0]
        for a, f in zip(Wa.ravel(), Wf.ravel(), strict=True):
            assert a.contains(flint.arb(f.mid())) and f.contains(flint.arb(a.mid()))


@needs_flint
def test_a_spent_time_budget_stops_a_rigorous_run(instance: ac.AttentionInstance) -> None:
    """Budget 0 stops the run before its first step; a clock that advances one second per reading stops a run
    with a 5 s budget after a few steps (no timing: the clock is the test's)."""
    batch = ac.stack([instance])

    def go() -> Any:
        return arb.run_rigorous(lambda b: ac.build_problem(b, batch, "gram"), make_rule("ngd", 0.1), 50, [50])

    with arb.time_budget(0), pytest.raises(arb.TimeBudgetExceeded, match=r"time budget exceeded \(0 s\)"):
        go()
    ticks = iter(range(10**6))
    with arb.time_budget(5, clock=lambda: float(next(ticks))), pytest.raises(arb.TimeBudgetExceeded) as exc:
        go()
    assert exc.value.seconds == 5 and next(ticks) == 6  # entry 0, the run's start 1, steps at 2, 3, 4; 5 stops
    with arb.time_budget(None):
        assert go().precision_ok.all()
    with pytest.raises(VerifyInputError), arb.time_budget(-1):
        pass


@needs_flint
def test_at_the_cap_the_run_gives_up_and_its_wide_balls_still_contain_the_truth(
        instance: ac.AttentionInstance) -> None:
    batch = ac.stack([instance])
    steps = 40  # at 56 bits the balls pass 1e-8 between t = 25 and 30 (by t = 20 before the kernel's direct sigmoid)
    tr = arb.run_rigorous(lambda b: ac.build_problem(b, batch, "gram"), make_rule("ngd", 0.1), steps, [1, steps],
                          prec=56, max_prec=100)
    assert "gave up" in tr.notes[-1] and not tr.precision_ok[-1].all()
    assert tr.precision_ok[0].all()  # one step at 56 bits is still within 1e-8
    c_b = tr.records["c" + arb.RAD_SUFFIX][-1]
    assert np.all(c_b > -12)  # wider than 1e-8 relative (|c| ~ 0.1): the reason it gave up
    c_m, _, _ = _final(mpmath_backend(50), instance, "ngd", steps)
    mids, lr = tr.records["c"][-1], c_b
    with mpmath.workdps(60):
        assert all(abs(mpmath.mpf(float(m)) - v) <= 10 ** mpmath.mpf(float(r)) * (1 + 1e-12) + abs(m) * 2**-52
                   for m, v, r in zip(mids.ravel(), c_m.ravel(), lr.ravel(), strict=True))


@needs_flint
def test_trace_rows_report_the_widths(instance: ac.AttentionInstance) -> None:
    from theorems.attention.trace import trace_attention

    kw = dict(method="ngd", eta=0.1, steps=60, checkpoints=[0, 10, 60])
    rows = trace_attention(instance, backend="arb", dps=50, **kw)
    ref = trace_attention(instance, backend="numpy", **kw)
    for r, f in zip(rows[1:], ref[1:], strict=True):
        assert abs(r["dir_err"] - f["dir_err"]) < 1e-12 and r["precision_ok"]
        assert -60 < r["log10_dir_err_rad"] < -20 and 0 < r["dir_err_rad"] < 1e-20
        assert r["log10_W_rad"] < -20 and r["log10_loss_gap_rel_rad"] < -20 and r["selected_certain"]
    assert math.isnan(rows[0]["dir_err_rad"])  # W0 = 0 has no direction
    assert rows[-1]["notes"][-1].startswith("arb: every ball within")
    with pytest.raises(VerifyInputError, match="along the gradient"):
        trace_attention(instance, backend="arb", method="adam", eta=0.1, steps=5, checkpoints=None)


# ------------------------------------------------------------------------------------ lp mirror descent
def _lp_final(bk: Any, inst: ac.AttentionInstance, p: float, steps: int) -> Any:
    """lp-md's iterate after ``steps`` steps on the dense fixed-decoder problem, in the backend's own numbers."""
    from theorems.attention.lp import fixed_decoder_problem
    from verify.methods import lp_mirror_descent

    prob, rule = fixed_decoder_problem(bk, inst), lp_mirror_descent(p, 0.2, normalized=True)
    with bk.context():
        state = prob.init()
        ms = rule.init(state)
        for t in range(steps):
            state, ms = rule.update(state, ms, prob.first_order(state), t)
    return state


@needs_flint
def test_signed_power_of_a_ball_that_contains_zero_contains_every_image() -> None:
    """sign(x)|x|^r is increasing: a ball around 0 maps onto [-|lo|^r, hi^r] (a sign decided by midpoints would
    map [-0.5, 0.5] to 0, or to one sign)."""
    flint = arb.flint_module()
    x = np.array([flint.arb(0.1, 0.5), flint.arb(-8), flint.arb(0)], dtype=object)
    for r in (1 / 3, 0.5, 2.0):
        y = arb.signed_power(x, r)
        for v in (-0.4, -0.1, 0.0, 0.2, 0.6):
            assert y[0].contains(flint.arb(math.copysign(abs(v) ** r, v)) if v else flint.arb(0)), (r, v)
        assert not y[0].contains(flint.arb(0.6**r * 1.01)) and not y[0].contains(flint.arb(-(0.4**r) * 1.01))
        assert y[1].contains(-(flint.arb(8) ** r)) and y[1].rad() < 1e-12 and y[2].is_zero()
    n = arb.lp_norm(np.array([[flint.arb(3), flint.arb(-4)]], dtype=object), 2.0, (1,))
    assert n[0].contains(flint.arb(5)) and n[0].rad() < 1e-14


def _exact_exponents(monkeypatch: pytest.MonkeyPatch, p: float) -> None:
    """mpmath's lp-md with the exact exponents 1/(p-1) and 1/q (the float64 path rounds them: 1/3 is not a float),
    so that an 80-digit mpmath run is a reference for the exact method."""
    from verify import methods

    def exact_norm(V: Any, r: float, axes: tuple[int, ...]) -> Any:
        return np.sum(abs(np.asarray(V)) ** mpmath.mpf(r), axis=axes) ** (1 / mpmath.mpf(r))

    def exact_inv(Theta: Any, pp: float) -> Any:
        return methods.signed_power(Theta, 1 / (mpmath.mpf(pp) - 1))

    monkeypatch.setattr(methods, "scaled_norm", exact_norm)
    monkeypatch.setattr(methods, "phi_inv", exact_inv)


@needs_flint
@pytest.mark.parametrize("p", [1.5, 2.0, 3.0])
def test_lp_mirror_descent_balls_contain_the_exact_iterate(p: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """60 normalized lp-md steps on the dense representation in balls (run_rigorous from 30 digits, balls within
    1e-25): every ball of W_60 contains the exact method's W_60 (mpmath at 80 digits with exact exponents, error
    ~1e-78), and the float64 run's W_60 is not inside every ball (the containment can fail). q = p/(p-1) is exact
    in float64 for these p."""
    from theorems.attention.lp import fixed_decoder_problem
    from verify.methods import lp_mirror_descent

    inst = generate(2, 2, 5, 2, "orthonormal", noise=0.1)
    tr = arb.run_rigorous(lambda b: fixed_decoder_problem(b, inst), lp_mirror_descent(p, 0.2, normalized=True),
                          60, [1, 60], dps=30, tol=1e-25)
    assert tr.precision_ok.all() and tr.notes[-1].startswith("arb: every ball within 1e-25")
    balls = tr.records["W_ball"][-1, 0].ravel()
    flt = _lp_final(numpy_backend(), inst, p, 60)[0].ravel()
    with monkeypatch.context() as m:
        _exact_exponents(m, p)
        ref = _lp_final(mpmath_backend(80), inst, p, 60)[0].ravel()
    flint = arb.flint_module()
    with mpmath.workdps(80), arb.working_precision(600):
        assert all(b.contains(flint.arb(mpmath.nstr(v, 80))) for b, v in zip(balls, ref, strict=True))
        assert max(float(b.rad()) for b in balls) < 1e-25 * max(abs(float(b.mid())) for b in balls)
        assert not all(b.contains(flint.arb(float(v))) for b, v in zip(balls, flt, strict=True))


@needs_flint
def test_trace_lp_on_the_arb_backend_reports_the_widths() -> None:
    from theorems.attention.lp_trace import trace_lp

    inst = generate(2, 2, 5, 2, "orthonormal", noise=0.1)
    kw = dict(p=1.5, eta=0.2, steps=40, checkpoints=[1, 10, 40], normalized=True)
    rows = trace_lp(inst, backend="arb", dps=30, **kw)
    ref = trace_lp(inst, backend="mpmath", dps=40, **kw)
    for r, f in zip(rows, ref, strict=True):
        assert r["t"] == f["t"] and r["precision_ok"] and r["selected"] == f["selected"]
        # bregman is evaluated in float64 from each run's W (a sum of O(1) terms): ~1e-16 absolute
        assert abs(r["bregman"] - f["bregman"]) <= 1e-15
        assert r["log10_W_rad"] < -20 and r["notes"][-1].startswith("arb: every ball within")
    with pytest.raises(VerifyInputError, match="fixed decoder"):
        trace_lp(inst, backend="arb", joint=True, **kw)


# ------------------------------------------------------------------------------------ joint training
@needs_flint
@pytest.mark.parametrize("normalize", ["block", "joint"])
def test_joint_training_balls_contain_the_exact_iterate(normalize: str) -> None:
    """40 NGD steps of joint training on (u, W) in balls (run_rigorous from 30 digits, balls within 1e-25): the
    balls of u_40 and W_40 contain mpmath's at 80 digits and exclude float64's. The kernel's shifts (the
    log-sum-exp reference, the coefficients' scales) are exact midpoints of rigorous maxima, its maximum of the
    non-optimal attention is the balls' maximum, and the watch reads the balls' widths."""
    from theorems.attention.joint import build_joint_problem
    from verify.methods import make_method

    inst = generate(2, 3, 4, 1, "gaussian")
    rule = make_method("ngd", eta=0.1, normalize=normalize)
    tr = arb.run_rigorous(lambda b: build_joint_problem(b, [inst]), rule, 40, [1, 40], dps=30, tol=1e-25)
    assert tr.precision_ok.all() and tr.notes[-1].startswith("arb: every ball within 1e-25")
    assert np.all(tr.records["W" + arb.RAD_SUFFIX][-1] < -40)

    def final(bk: Any) -> Any:
        prob = build_joint_problem(bk, [inst])
        with bk.context():
            st = prob.init()
            ms = rule.init(st)
            for t in range(40):
                st, ms = rule.update(st, ms, prob.first_order(st), t)
        return st

    (u_m, W_m), (u_f, W_f) = final(mpmath_backend(80)), final(numpy_backend())
    flint = arb.flint_module()
    with mpmath.workdps(80), arb.working_precision(600):
        for balls, ref, flt in ((tr.records["u_ball"][-1], u_m, u_f), (tr.records["W_ball"][-1], W_m, W_f)):
            pairs = list(zip(np.ravel(balls), np.ravel(ref), np.ravel(flt), strict=True))
            assert all(b.contains(flint.arb(mpmath.nstr(v, 80))) for b, v, _ in pairs)
            assert not all(b.contains(flint.arb(float(f))) for b, _, f in pairs)


@needs_flint
def test_joint_trace_rows_on_the_arb_backend(instance: ac.AttentionInstance) -> None:
    from theorems.attention.trace import trace_attention

    kw = dict(method="ngd", eta=0.1, steps=40, checkpoints=[1, 10, 40], joint=True, normalize="block")
    rows = trace_attention(instance, backend="arb", dps=30, **kw)
    ref = trace_attention(instance, backend="mpmath", dps=40, **kw)
    def same(a: float, b: float) -> bool:  # nan where a block is still 0 (u_0 = 0, W_1 = 0): in both runs
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) < 1e-12

    for r, f in zip(rows, ref, strict=True):
        assert same(r["dir_err"], f["dir_err"]) and same(r["u_dir_err"], f["u_dir_err"])
        assert r["precision_ok"] and r["log10_W_rad"] < -20
    assert math.isfinite(rows[-1]["dir_err"]) and math.isfinite(rows[-1]["u_dir_err"])
    assert rows[-1]["notes"][-1].startswith("arb: every ball within")
    with pytest.raises(VerifyInputError, match="along the gradient"):
        trace_attention(instance, backend="arb", **{**kw, "method": "adam"})
