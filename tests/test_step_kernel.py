"""The float64 numpy step kernel (theorems/attention/step_kernel.py) computes, bit for bit, what the generic
kernel computes without metrics: on random logits of every scale, with ties, signed zeros, one dominant token,
and saturated softmaxes whose weights lie far below float64's range; with few rows (one reduction per row sum or
max) and with many (B = 40, 64: the column-wise sums and maxima over tokens; B = 256: also the log scale
M = max_i m_i over the sequences' columns)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theorems.attention import step_kernel
from theorems.attention.classifier import softmax_logistic_kernel
from verify.backends import get_backend

BK = get_backend("numpy", 0)


def _generic(a: np.ndarray, g: np.ndarray) -> tuple:
    """The generic kernel's path (the step kernel switched off)."""
    orig = step_kernel.applies
    step_kernel.applies = lambda a, T: False  # type: ignore[assignment]
    try:
        k = softmax_logistic_kernel(BK, a, g, np.zeros(a.shape[:2], dtype=int), metrics=False)
    finally:
        step_kernel.applies = orig  # type: ignore[assignment]
    return k.G_hat, k.log_scale, k.selected


def _assert_same(a: np.ndarray, g: np.ndarray) -> None:
    G0, M0, r0 = _generic(a, g)
    k = softmax_logistic_kernel(BK, a, g, np.zeros(a.shape[:2], dtype=int), metrics=False)
    assert np.array_equal(k.selected, r0)
    assert np.array_equal(k.log_scale, M0)  # as numbers (a zero's sign may differ: step_kernel docstring)
    assert G0.shape == k.G_hat.shape
    # bit for bit, the sign of zero included
    assert np.array_equal(k.G_hat.view(np.int64), G0.view(np.int64))


@settings(max_examples=80, deadline=None)
@given(B=st.sampled_from([1, 2, 5, 40, 64, 256]), n=st.integers(1, 6), T=st.integers(2, 9),
       scale=st.sampled_from([1e-3, 1.0, 30.0, 1e3]), seed=st.integers(0, 2**32 - 1), ties=st.booleans())
def test_step_kernel_is_the_generic_kernel_bit_for_bit(B: int, n: int, T: int, scale: float, seed: int,
                                                        ties: bool) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(B, n, T)) * scale
    if ties:  # repeated top logits: argmax takes the first, in both kernels
        a[..., 1] = a.max(axis=-1)
        a[..., 0] = a[..., 1]
    g = rng.normal(size=(B, n, T)) * 3
    _assert_same(a, g)


@pytest.mark.parametrize("B", [1, 64, 256])
def test_signed_zero_logits(B: int) -> None:
    """Step 0 from W0 = 0: every logit is +-0 (a mat-vec of zeros keeps the signs of its products)."""
    rng = np.random.default_rng(2)
    a = np.where(rng.random((B, 4, 5)) < 0.5, -0.0, 0.0)
    _assert_same(a, rng.normal(size=(B, 4, 5)))


def test_saturated_softmax_keeps_its_log_scale() -> None:
    """Weights e^{-2000} underflow float64; the kernels carry them as e^{m} s_hat, and agree exactly."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 4, 5))
    a[..., 2] += 2000.0
    g = rng.normal(size=(3, 4, 5))
    _assert_same(a, g)
    k = softmax_logistic_kernel(BK, a, g, np.zeros((3, 4), dtype=int), metrics=False)
    assert np.all(k.log_scale < -1900) and np.all(np.isfinite(k.G_hat)) and np.all(np.abs(k.G_hat).max(-1) > 0)


@pytest.mark.parametrize("shape", [(1, 3, 1), (2, 2, 3)])
def test_applies_only_to_float64_with_two_tokens(shape: tuple) -> None:
    a = np.zeros(shape)
    assert step_kernel.applies(a, shape[-1]) == (shape[-1] >= 2)
    assert not step_kernel.applies(a.astype(object), shape[-1])
    assert not step_kernel.applies(a.astype(np.float32), shape[-1])


def test_column_paths_are_taken_and_agree() -> None:
    """The column-wise reductions are on for many rows and few tokens, and equal numpy's reductions bit for bit."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(512, 5)) * np.exp(rng.normal(size=(512, 5)) * 8)
    x[rng.random(x.shape) < 0.2] = -0.0
    assert step_kernel._by_columns(x) and step_kernel._COLUMN_SUMS
    assert np.array_equal(step_kernel._row_sum(x).view(np.int64), np.add.reduce(x, axis=1).view(np.int64))
    assert np.array_equal(step_kernel.row_max(x), np.maximum.reduce(x, axis=1))
    assert not step_kernel._by_columns(x[:8])
    one = x[:, :1]  # a single column (one sequence: M over n = 1) is read by the reduction
    assert not step_kernel._by_columns(one) and np.array_equal(step_kernel.row_max(one), one[:, 0])
    assert step_kernel._by_columns(x[:, :2]) and np.array_equal(step_kernel.row_max(x[:, :2]), x[:, :2].max(axis=1))
