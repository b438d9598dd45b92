"""Hypothesis strategies for attention-classification instances.

Instances are generated from a few drawn structural parameters (n, T, d, a noise level, an init scale) and a
seed for numpy's generator, so hypothesis shrinks towards small, readable cases (n = T = 2, seed 0) while the
arrays stay generic. Every instance records its generator parameters in ``meta``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from theorems.attention import classifier as ac

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
    meta = {"generator": "theorems.attention.strategies.generate", "n": n, "T": T, "d": d, "seed": seed,
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


# ------------------------------------------------------------------------------------ PRIOR and DM generators
def make_uniform(inst: ac.AttentionInstance) -> ac.AttentionInstance:
    """Project every non-optimal token onto the hyperplane y_i u^T x = c_i, c_i their mean score, so that all
    non-optimal scores of a sequence are equal (PRIOR, Assumption B). Moves each token along u only."""
    X = inst.X.copy()
    g = ac.token_scores(inst)
    opt = ac.optimal_tokens(inst)
    uu = float(inst.u @ inst.u)
    for i in range(inst.n):
        rest = [t for t in range(inst.T) if t != opt[i]]
        c = float(np.mean(g[i, rest]))
        for t in rest:
            X[i, t] = X[i, t] + ((c - g[i, t]) / uu) * inst.y[i] * inst.u
    meta = {**inst.meta, "uniform": True}
    z = X[:, 0, :].copy() if np.array_equal(inst.z, inst.X[:, 0, :]) else inst.z
    return ac.make_instance(X, inst.y, inst.u, z, inst.W0, meta)


def shrink_opt_gap(inst: ac.AttentionInstance, gap: float) -> ac.AttentionInstance:
    """Move sequence 0's optimal token along u so that its score exceeds the runner-up's by exactly ``gap``
    (the other tokens, hence a uniform-score structure, are untouched)."""
    X = inst.X.copy()
    g = ac.token_scores(inst)
    o = int(ac.optimal_tokens(inst)[0])
    runner = float(np.max(np.delete(g[0], o)))
    X[0, o] = X[0, o] + ((runner + gap - g[0, o]) / float(inst.u @ inst.u)) * inst.y[0] * inst.u
    z = X[:, 0, :].copy() if np.array_equal(inst.z, inst.X[:, 0, :]) else inst.z
    return ac.make_instance(X, inst.y, inst.u, z, inst.W0, {**inst.meta, "gap": gap})


@st.composite
def uniform_strategy(draw: st.DrawFn, uniform: bool = True, small_gap: bool = False) -> ac.AttentionInstance:
    """Low-dimensional N(0, I/d) tokens (d about nT/4, so near-orthogonality fails: PRIOR's uniform-score
    theorem does not need it), W0 = 0 or random of norm 1 or 5; with ``uniform`` the scores are equalized;
    with ``small_gap`` sequence 0's optimal score is put Delta/2 above the others (breaking the score gap)."""
    n = draw(st.integers(3, 6), label="n")
    T = draw(st.integers(3, 6), label="T")
    d = max(3, round(n * T / 4))
    init_scale = draw(st.sampled_from([0.0, 1.0, 5.0]), label="init_scale")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    inst = generate(n, T, d, seed, "gaussian", 0.0, init_scale)
    inst = make_uniform(inst) if uniform else inst
    if small_gap:
        from theorems.attention.assumptions import PARAMS

        inst = shrink_opt_gap(inst, 0.5 * PARAMS["Delta"])
    return inst


def cone_init(W_alpha: np.ndarray, rng: np.random.Generator, mu: float, R: float) -> np.ndarray:
    """R ||W_alpha|| * unit(W_alpha/||W_alpha|| + xi), xi random with ||xi|| = sqrt(mu) / 2, so
    corr >= 1 - mu/8 - O(mu^2) > 1 - mu: inside the cone {corr >= 1 - mu, ||W|| >= R ||W_alpha||}."""
    Wn = W_alpha / np.linalg.norm(W_alpha)
    xi = rng.normal(size=W_alpha.shape)
    xi *= 0.5 * np.sqrt(mu) / np.linalg.norm(xi)
    V = Wn + xi
    return R * np.linalg.norm(W_alpha) * V / np.linalg.norm(V)


def local_alpha_instance(n: int, T: int, d: int, seed: int, *, mu: float = 0.05, R: float = 1.0,
                         cone: bool = True, locally_optimal: bool = True) -> ac.AttentionInstance | None:
    """An instance naming a token choice alpha != opt in ``meta["alpha"]`` and W0 for GD from a cone.

    Tokens N(0, I/d) with d about nT/4. alpha = opt except in one sequence j, where alpha_j is the runner-up
    token (``locally_optimal``) or the lowest-score token (to break local optimality). W0 is in the cone of
    W_mm(alpha) (``cone``) or is 0. Returns None when W_mm(alpha) is infeasible or alpha has the wrong class
    (the strategy filters those draws).
    """
    from theorems.attention.svm import classify_alpha, solve_att_svm
    from verify.errors import InfeasibleProblemError, SolverError

    inst = generate(n, T, d, seed, "gaussian")
    rng = np.random.default_rng(seed + 1)
    g = ac.token_scores(inst)
    alpha = [int(a) for a in ac.optimal_tokens(inst)]
    j = int(rng.integers(n))
    order = np.argsort(g[j])
    alpha[j] = int(order[-2] if locally_optimal else order[0])
    try:
        sol = solve_att_svm(inst.X, inst.z, alpha)
    except (InfeasibleProblemError, SolverError):
        return None
    if not sol.certified:
        return None
    cls = classify_alpha(g, alpha, sol.support)
    if (cls == "locally-optimal") != locally_optimal:
        return None
    W0 = cone_init(sol.W, rng, mu, R) if cone else np.zeros((d, d))
    meta = {**inst.meta, "alpha": alpha, "alpha_class": cls, "cone": cone, "cone_mu": mu, "cone_R": R}
    return ac.make_instance(inst.X, inst.y, inst.u, inst.z, W0, meta)


@st.composite
def local_alpha_strategy(draw: st.DrawFn, cone: bool = True, locally_optimal: bool = True) -> ac.AttentionInstance:
    from hypothesis import assume

    from theorems.attention.assumptions import PARAMS

    n = draw(st.integers(4, 6), label="n")
    T = draw(st.integers(4, 6), label="T")
    d = max(3, round(n * T / 4))
    seed = draw(st.integers(0, 2**32 - 2), label="seed")
    # R slightly above the predicate's threshold and mu as the predicate's: cone_init lands strictly inside.
    inst = local_alpha_instance(n, T, d, seed, mu=PARAMS["cone_mu"], R=1.05 * PARAMS["cone_R"], cone=cone,
                                locally_optimal=locally_optimal)
    assume(inst is not None)
    assert inst is not None
    return inst


@st.composite
def dm_strategy(draw: st.DrawFn, dims: str = "large", gap: str = "any") -> ac.AttentionInstance:
    """DM draws: ``dims`` large (d = nT + extra) or small (d about nT/4, breaking "d large relative to nT");
    ``gap`` small moves one noise token's score to within Delta/2 of the signal's (breaking the score gap)."""
    from theorems.attention.assumptions import PARAMS
    from theorems.attention.joint import generate_dm

    n = draw(st.integers(2, 5), label="n")
    T = draw(st.integers(2, 5), label="T")
    d = n * T + draw(st.integers(0, 6), label="extra_d") if dims == "large" else max(2, round(n * T / 4))
    sigma = draw(st.sampled_from([0.05, 0.1, 0.2]), label="sigma")
    mu_norm = draw(st.sampled_from([1.0, 2.0]), label="mu_norm")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    inst = generate_dm(n, T, d, seed, sigma, mu_norm)
    if gap == "small":
        X = inst.X.copy()
        target = mu_norm - 0.5 * PARAMS["Delta"]  # signal score is ||mu||; one noise token just below it
        cur = inst.y[0] * X[0, 1] @ inst.u
        X[0, 1] = X[0, 1] + (target - cur) * inst.y[0] * inst.u
        inst = ac.make_instance(X, inst.y, inst.u, inst.z, inst.W0, {**inst.meta, "gap": "small"})
    return inst


GRID_PARAMS = {"n": 4, "T": 4, "d": 16, "scale": 1.0, "init_scale": 0.0, "d_over_nT": 0.0}
"""The generator parameters of :func:`grid_strategy` and their defaults (an int default: an integer parameter).
``d_over_nT`` > 0 sets the dimension from the ratio, d = max(1, round(d_over_nT * n * T)), in place of ``d`` (0,
the default: ``d`` as given), so a map can vary the ratio d/(nT) at fixed n and T."""


def grid_dimension(n: int, T: int, d: int, d_over_nT: float = 0.0) -> int:
    """The dimension of a grid instance: ``d``, or round(d_over_nT * n * T) (at least 1) when d_over_nT > 0."""
    if d_over_nT < 0:
        from verify.errors import VerifyInputError

        raise VerifyInputError(f"d_over_nT must be >= 0 (0: use d), got {d_over_nT}")
    return max(1, int(round(d_over_nT * n * T))) if d_over_nT > 0 else d


def grid_instance(n: int, T: int, d: int, seed: int, scale: float = 1.0,
                  init_scale: float = 0.0) -> ac.AttentionInstance:
    """N(0, I/d) tokens (any d, below or above nT) multiplied by ``scale``, a random unit decoder, W0 = 0 or of
    norm about ``init_scale``: the instance of one grid cell for one seed."""
    base = generate(n, T, d, seed, "gaussian", 0.0, init_scale)
    meta = {**base.meta, "generator": "theorems.attention.strategies.grid_instance", "scale": scale}
    return ac.make_instance(scale * base.X, base.y, base.u, None, base.W0, meta)


@st.composite
def grid_strategy(draw: st.DrawFn, n: int = 4, T: int = 4, d: int = 16, scale: float = 1.0,
                  init_scale: float = 0.0, d_over_nT: float = 0.0) -> ac.AttentionInstance:
    """Instances with the given generator parameters; only the seed is drawn (see :func:`grid_instance` and
    :func:`grid_dimension`)."""
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    return grid_instance(n, T, grid_dimension(n, T, d, d_over_nT), seed, scale, init_scale)
