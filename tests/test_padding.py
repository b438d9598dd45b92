"""Instances of different shapes padded into one float64 Gram batch (theorems/attention/padding.py): each
instance's slice of the padded run is its single run, to rounding."""

from __future__ import annotations

import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.batch import groups
from theorems.attention.padding import PAD_FLOOR, buckets, build_padded_problem, instance_slice
from theorems.attention.strategies import generate
from verify.backends import get_backend
from verify.methods import make_rule
from verify.theory import Settings
from verify.trajectory import run

BK = get_backend("numpy", 15)
# n, T and d all differ; a nonzero W0 and Gaussian tokens make every sequence's softmax non-trivial
INSTANCES = [generate(2, 2, 4, seed=0, tokens="orthonormal", init_scale=0.5),
             generate(4, 3, 6, seed=1, tokens="gaussian", init_scale=0.3),
             generate(3, 5, 16, seed=2, tokens="orthonormal", noise=0.1),
             generate(5, 2, 11, seed=3, tokens="gaussian")]


@pytest.mark.parametrize("method,params", [("ngd", {"eta": 0.2}), ("gd", {"eta": 0.5}), ("polyak", {"c": 1.0})])
def test_each_slice_of_a_padded_run_is_the_instances_own_run(method: str, params: dict) -> None:
    rule = make_rule(method, **params)
    steps = 300
    padded = run(build_padded_problem(BK, INSTANCES), rule, steps)
    for b, inst in enumerate(INSTANCES):
        mine = instance_slice(padded, b, inst)
        own = run(ac.build_problem(BK, ac.stack([inst]), "gram"), rule, steps)
        assert mine.t == own.t and mine.notes == own.notes
        np.testing.assert_array_equal(mine.precision_ok, own.precision_ok)
        np.testing.assert_allclose(mine.max_rel_error, own.max_rel_error, rtol=1e-6)  # a bound, not a value
        for name in ("c", "selected", "loss", "log_loss_gap", "log_max_nonopt", "log_grad_norm", "W", "norm"):
            a, e = mine.records[name], own.records[name]
            assert a.shape == e.shape, name
            if name == "selected":
                np.testing.assert_array_equal(a, e)
            else:  # entrywise, up to 1e-12 of the record's largest entry (W's small entries come from cancellation)
                np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12 * float(np.max(np.abs(e))), err_msg=name)


def test_padding_tokens_and_copies_carry_nothing() -> None:
    """Padding tokens keep c = 0 (no softmax weight, no gradient coefficient); the copies of sequence 0 do too."""
    p = build_padded_problem(BK, INSTANCES)
    tr = run(p, make_rule("ngd", eta=0.2), 100)
    c = tr.records["c"][-1]
    for b, inst in enumerate(INSTANCES):
        assert np.all(c[b, inst.n:] == 0) and np.all(c[b, :, inst.T:] == 0)
        assert np.any(c[b, :inst.n, :inst.T] != 0)


def test_buckets_pad_small_instances_together_and_keep_large_ones_apart() -> None:
    assert buckets([(2, 2), (5, 5), (3, 2)]) == [[0, 1, 2]]  # padded nT 25 <= PAD_FLOOR
    big = [(8, 8), (2, 2), (8, 9)]  # 64 and 72 together (72 <= 128); 4 alone (padded 72 > max(32, 8))
    assert buckets(big) == [[1], [0, 2]]
    assert all(n * T <= PAD_FLOOR for n, T in [(5, 5), (4, 8)])


def test_only_float64_gram_runs_are_padded() -> None:
    insts = [generate(2, 2, 4, seed=0), generate(3, 2, 7, seed=1), generate(2, 3, 6, seed=2)]
    assert groups(insts, Settings(representation="gram")) == [([0, 1, 2], True)]
    one_by_one = [([0], False), ([1], False), ([2], False)]
    assert groups(insts, Settings(representation="dense")) == one_by_one
    assert groups(insts, Settings(representation="gram", backend="mpmath")) == one_by_one
    same = [generate(2, 2, 4, seed=s) for s in range(3)]
    assert groups(same, Settings(representation="gram")) == [([0, 1, 2], False)]  # one shape: no padding


def test_the_padded_step_kernel_is_the_padded_generic_kernel_bit_for_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    """With padding, the float64 step kernel still computes what the generic kernel computes, bit for bit."""
    from theorems.attention import step_kernel

    p = build_padded_problem(BK, INSTANCES)
    tr_state = run(p, make_rule("ngd", eta=0.2), 40).records["c"][-1]
    a = p.rep.logits(tr_state)
    fast = ac.softmax_logistic_kernel(BK, a, p.g, p.opt, metrics=False, pad=p.pad)
    monkeypatch.setattr(step_kernel, "applies", lambda a, T: False)
    slow = ac.softmax_logistic_kernel(BK, a, p.g, p.opt, metrics=False, pad=p.pad)
    assert np.array_equal(fast.G_hat.view(np.int64), slow.G_hat.view(np.int64))
    assert np.array_equal(fast.selected, slow.selected) and np.array_equal(fast.log_scale, slow.log_scale)
