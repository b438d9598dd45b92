"""The Gram representation (W = W0 + sum c_{i,t} x_{i,t} z_i^T, a step in O((nT)^2)) and the dense one give the
same trajectory for every GD-type method, on every backend, and Gram's logits and norms are exact identities."""

from __future__ import annotations

import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from verify.backends import get_backend, mpmath_backend
from verify.methods import make_rule
from verify.trajectory import run

BACKENDS = ["numpy", "torch"]


def _insts(B: int = 3) -> list[ac.AttentionInstance]:
    # W0 != 0 (init_scale) so the Gram form must carry W0 correctly; noise makes the tokens non-orthogonal
    return [generate(3, 4, 14, seed=20 + s, tokens="orthonormal", noise=0.2, init_scale=0.7) for s in range(B)]


def _backend(name: str):  # type: ignore[no-untyped-def]
    if name == "torch":
        pytest.importorskip("torch")
    return get_backend(name)


@pytest.mark.parametrize("name", BACKENDS)
def test_gram_identities(name: str) -> None:
    """a = a0 + K c and ||V||_F^2 = c^T K c, against the dense matrix built from c."""
    bk = _backend(name)
    batch = ac.stack(_insts())
    g = ac.build_problem(bk, batch, "gram").rep
    d = ac.build_problem(bk, batch, "dense").rep
    rng = np.random.default_rng(0)
    c = bk.asarray(rng.normal(size=(3, 3, 4)))
    W = g.matrix(c)
    # float64 sums of nT*d products of O(1) numbers: ~1e-15 relative; 1e-12 leaves margin and catches any slip
    np.testing.assert_allclose(bk.to_float(g.logits(c)), bk.to_float(d.logits(W)), rtol=1e-12, atol=1e-12)
    V = bk.to_float(g.matrix(c)) - batch.W0
    np.testing.assert_allclose(bk.to_float(g.sq_norm(c)), np.sum(V * V, axis=(1, 2)), rtol=1e-12)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("method", ["gd", "ngd", "polyak"])
def test_gram_and_dense_trajectories_agree(name: str, method: str) -> None:
    bk = _backend(name)
    batch = ac.stack(_insts())
    cps = [0, 1, 10, 100, 500, 1000]
    trs = {rep: run(ac.build_problem(bk, batch, rep), make_rule(method, eta=0.1), 1000, cps)
           for rep in ("gram", "dense")}
    g, d = trs["gram"], trs["dense"]
    assert np.all(g.precision_ok) and np.all(d.precision_ok)
    Wg, Wd = g.records["W"], d.records["W"]
    # Same exact iteration. Each step's direction has relative error <= eps_t (the runs' own estimate,
    # max_rel_error, ~1e-14 early and ~1e-11 once ||W|| has grown), and W_t is a sum of t steps each no longer
    # than ||W_t - W_0||, so the iterates may differ by <~ t * eps * ||W_t||; the factor 10 covers the
    # first-order nature of the estimate. A formula slip shows up at 1e-3 or worse.
    err = np.maximum(g.max_rel_error, d.max_rel_error).max(axis=1)  # per checkpoint window
    assert float(err.max()) < 1e-8  # the trajectory runner's own tolerance (DEFAULT_TOL)
    for k in range(len(cps)):
        scale = max(1.0, float(np.max(np.linalg.norm(Wd[k], axis=(1, 2)))))
        allowed = 10 * max(cps[k], 1) * float(err[: k + 1].max()) * scale + 1e-13 * scale
        assert np.max(np.abs(Wg[k] - Wd[k])) <= allowed, (cps[k], np.max(np.abs(Wg[k] - Wd[k])), allowed)
    assert np.array_equal(g.records["selected"], d.records["selected"])
    assert np.min(np.linalg.norm(Wd[-1] - batch.W0, axis=(1, 2))) > 0.5  # the runs really moved W


def test_gram_and_dense_agree_on_mpmath() -> None:
    """The oracle's two representations agree to ~its own precision (30 digits) over 40 NGD steps."""
    bk = mpmath_backend(30)
    batch = ac.stack(_insts(1))
    trs = {rep: run(ac.build_problem(bk, batch, rep), make_rule("ngd", eta=0.1), 40, [40])
           for rep in ("gram", "dense")}
    # to_float rounds both to float64, so they can differ by at most an ulp or two of W (1e-14 relative)
    np.testing.assert_allclose(trs["gram"].records["W"], trs["dense"].records["W"], rtol=1e-14, atol=1e-14)
