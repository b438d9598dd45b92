"""Hypothesis strategies for attention-classification instances.

Instances are generated from a few drawn structural parameters (n, T, d, a noise level, an init scale) and a
seed for numpy's generator, so hypothesis shrinks towards small, readable cases (n = T = 2, seed 0) while the
arrays stay generic. Every instance records its generator parameters in ``meta``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from theorems import attention_classifier as ac

TOKENS = ("orthonormal", "gaussian-low-d", "gaussian")


def generate(n: int, T: int, d: int, seed: int, tokens: str = "orthonormal", noise: float = 0.0,
             init_scale: float = 0.0, gap: str = "any") -> ac.AttentionInstance:
    """Deterministic instance from parameters.

    tokens:
      - ``orthonormal``: rows of a random orthonormal frame in R^d (needs d >= nT), plus ``noise`` * N(0, I/d);
      - ``gaussian-low-d``: unit Gaussian tokens N(0, I) (typically with d about nT/4);
      - ``gaussian``: N(0, I/d) tokens.
    gap ``small`` tilts the decoder so that one sequence's runner-up score is close to its optimal score.
    init_scale > 0 draws W0 ~ init_scale * N(0, I/d^2) entrywise (||W0||_F about init_scale).
    """
    rng = np.random.default_rng(seed)
    if tokens == "orthonormal":
        Q, _ = np.linalg.qr(rng.normal(size=(d, n * T)))
        X = Q.T.reshape(n, T, d) + noise * rng.normal(size=(n, T, d)) / np.sqrt(d)
    elif tokens == "gaussian-low-d":
        X = rng.normal(size=(n, T, d))
    elif tokens == "gaussian":
        X = rng.normal(size=(n, T, d)) / np.sqrt(d)
    else:
        raise ValueError(f"unknown token model {tokens!r}")
    y = rng.choice([-1.0, 1.0], size=n)
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    if gap == "small":
        u = _shrink_gap(X, y, u, rng)
    W0 = init_scale * rng.normal(size=(d, d)) / d if init_scale > 0 else np.zeros((d, d))
    meta = {"generator": "theorems.attention_strategies.generate", "n": n, "T": T, "d": d, "seed": seed,
            "tokens": tokens, "noise": noise, "init_scale": init_scale, "gap": gap}
    return ac.make_instance(X, y, u, None, W0, meta)


def _shrink_gap(X: np.ndarray, y: np.ndarray, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move u so that in sequence 0 the two best tokens' scores differ by a tiny positive amount."""
    g = y[0] * X[0] @ u
    order = np.argsort(g)
    a, b = X[0, order[-1]], X[0, order[-2]]
    diff = y[0] * (a - b)
    target = 1e-3 * rng.uniform(0.5, 1.0)  # the new gap for sequence 0, below the default Delta = 0.01
    u = u - ((diff @ u - target) / (diff @ diff)) * diff
    return u / np.linalg.norm(u)


@st.composite
def instance_strategy(draw: st.DrawFn, tokens: str = "orthonormal", init: str = "any",
                      gap: str = "any") -> ac.AttentionInstance:
    n = draw(st.integers(2, 5), label="n")
    T = draw(st.integers(2, 5), label="T")
    if tokens == "orthonormal":
        d = n * T + draw(st.integers(0, 6), label="extra_d")
        noise = draw(st.sampled_from([0.0, 0.05, 0.1, 0.2]), label="noise")
    else:  # the known failure regime: d about nT/4 with n, T >= 6 (at n = T = 8, d = 16 about a third of
        # NGD runs from 0 select alpha != opt; at n = 4, T = 5 almost none do)
        n = n + 4
        T = T + 4
        d = max(2, round(n * T / 4))
        noise = 0.0
    init_scale = 0.0 if init == "zero" else draw(st.sampled_from([0.0, 1.0, 5.0]), label="init_scale")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    return generate(n, T, d, seed, tokens, noise, init_scale, gap)
