"""The compiled jax backend (verify/compiled.py): the same kernel, method and precision watch as numpy, compiled.

Each test compares against the numpy backend on the same batch: iterates to 1e-12 relative (measured: below
3e-15 after 300 steps), the precision flags identical, and the checks that raise on numpy raise here too.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax", reason="the jax backend needs the optional dependency jax (pip install -e '.[jax]')")

from theorems.attention import classifier as ac  # noqa: E402
from theorems.attention.strategies import generate  # noqa: E402
from verify import compiled  # noqa: E402
from verify.backends import get_backend  # noqa: E402
from verify.methods import make_method  # noqa: E402
from verify.trajectory import run  # noqa: E402

STEPS = 300


def _batch(seed: int = 0, B: int = 3) -> ac.Batch:
    return ac.stack([generate(3, 4, 12, seed=seed + b, tokens="gaussian") for b in range(B)])


def _pair(method: str, rep: str, batch: ac.Batch, steps: int = STEPS, **kw: object) -> tuple:
    out = []
    for name in ("numpy", "jax"):
        prob = ac.build_problem(get_backend(name), batch, rep)
        out.append(run(prob, make_method(method, eta=0.1), steps, **kw))
    return tuple(out)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    """max over checkpoints and instances of ||A - B|| / ||A|| (checkpoints where W = 0 compare exactly)."""
    diff, size = np.linalg.norm(a - b, axis=(-2, -1)), np.linalg.norm(a, axis=(-2, -1))
    assert np.all(diff[size == 0] == 0)
    return float(np.max(diff[size > 0] / size[size > 0]))


@pytest.mark.parametrize("rep", ["gram", "dense"])
@pytest.mark.parametrize("method", ["gd", "ngd", "polyak"])
def test_compiled_run_agrees_with_numpy(method: str, rep: str) -> None:
    a, b = _pair(method, rep, _batch())
    assert b.notes == []  # compiled: no fallback note
    assert b.t == a.t
    assert _rel(np.asarray(a.records["W"]), np.asarray(b.records["W"])) < 1e-12
    for k in ("log_loss_gap", "log_grad_norm", "loss", "log_max_nonopt"):
        assert np.allclose(a.records[k], b.records[k], rtol=1e-12, atol=1e-300), k
    assert np.array_equal(a.records["selected"], b.records["selected"])
    assert np.array_equal(a.precision_ok, b.precision_ok)
    # the watch's window maxima are the same bound computed by another compiler (a few ulps apart)
    assert np.allclose(a.max_rel_error, b.max_rel_error, rtol=1e-10, atol=0)


def test_one_compilation_serves_every_problem_of_a_shape() -> None:
    """The second batch of the same shape reuses the cached program, and its numbers are its own (the data are
    arguments of the program, not constants baked into it)."""
    _pair("ngd", "gram", _batch(0), steps=50)
    size = len(compiled._CACHE)
    a, b = _pair("ngd", "gram", _batch(40), steps=50)
    assert len(compiled._CACHE) == size
    assert _rel(np.asarray(a.records["W"]), np.asarray(b.records["W"])) < 1e-12
    first = _pair("ngd", "gram", _batch(0), steps=50)[1]
    assert _rel(np.asarray(first.records["W"]), np.asarray(b.records["W"])) > 1e-3  # other data, other W


def test_a_method_that_does_not_trace_runs_eagerly_and_says_so() -> None:
    """sign-GD's update calls numpy on the direction: no compiled form, so it runs step by step on jax arrays,
    with a note, and the same numbers."""
    a, b = _pair("signgd", "dense", _batch(), steps=60)
    assert any("did not compile on the jax backend" in n for n in b.notes)
    assert _rel(np.asarray(a.records["W"]), np.asarray(b.records["W"])) < 1e-12
    assert np.array_equal(a.precision_ok, b.precision_ok)


def test_invalid_loss_gap_raises_from_the_compiled_checkpoint_too() -> None:
    """A sequence whose tokens are all equal: no unique optimal token, the loss-gap term is 0, which the numpy
    kernel raises on. Under jit the kernel cannot raise; it marks the batch entry invalid and observe raises."""
    inst = generate(2, 3, 8, seed=1, tokens="gaussian")
    X = inst.X.copy()
    X[0, :] = X[0, 0]
    tied = ac.make_instance(X, inst.y, inst.u, None, inst.W0, inst.meta)
    for name in ("numpy", "jax"):
        prob = ac.build_problem(get_backend(name), ac.stack([tied]), "gram")
        with pytest.raises(FloatingPointError, match="loss-gap term is non-positive"):
            run(prob, make_method("ngd", eta=0.1), 10, checkpoints=[0, 10])


def test_long_compiled_run_keeps_precision() -> None:
    """20000 NGD steps with two checkpoints (one compiled loop): the watch holds and W agrees with numpy."""
    a, b = _pair("ngd", "gram", _batch(B=2), steps=20000, checkpoints=[0, 20000])
    assert b.precision_ok.all() and a.precision_ok.all()
    assert _rel(np.asarray(a.records["W"]), np.asarray(b.records["W"])) < 1e-10


class _Quadratic:
    """L(W) = ||W||^2 / 2 per batch row (gradient W), whose checkpoint evaluation branches on a value (a float()
    conversion), so it cannot be compiled, while the steps between checkpoints can."""

    lazy_metrics = True
    iterate_record = "W"

    def __init__(self) -> None:
        self.bk = get_backend("jax")

    def init(self):  # type: ignore[no-untyped-def]
        import jax.numpy as jnp

        return jnp.ones((2, 3))

    def first_order(self, state, metrics=True):  # type: ignore[no-untyped-def]
        import jax.numpy as jnp

        from theorems.attention.classifier import FirstOrder

        nrm = jnp.sqrt(jnp.sum(state * state, axis=1))
        if metrics:
            float(jnp.sum(state))  # a value: untraceable under jit
        return FirstOrder(state / nrm[:, None], jnp.log(nrm), jnp.zeros(2), jnp.zeros(2), None)

    def observe(self, state, fo):  # type: ignore[no-untyped-def]
        return {"W": np.asarray(state)}


def test_a_checkpoint_that_does_not_trace_falls_back_to_eager() -> None:
    """The compiled segment runs, the checkpoint evaluation does not trace: the run notes it, goes on eagerly,
    and NGD's closed form holds: ||W_t|| = ||W_0|| - eta t along a fixed direction."""
    tr = run(_Quadratic(), make_method("ngd", eta=0.1), 10, checkpoints=[0, 5, 10])
    assert any("did not compile on the jax backend" in n for n in tr.notes)
    norms = np.linalg.norm(np.asarray(tr.records["W"]), axis=-1)  # (checkpoints, batch)
    assert np.allclose(norms, (np.sqrt(3) - 0.1 * np.array([0, 5, 10]))[:, None], rtol=0, atol=1e-14)
    assert tr.precision_ok.all()
