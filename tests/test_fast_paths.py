"""Old vs new: every optimized kernel path reproduces the reference trajectories written before the optimization
(tests/data/golden_trajectories.npz, by tests/data/make_golden.py at commit 080c43e), and the lazy Gram
records agree with an eagerly rebuilt W.

Tolerances: float64 records to 1e-12 relative (the factored contractions only reorder sums of O(nT d) products,
~1e-15 relative per step, and the recorded checkpoints are within 300 steps); the rounding-error bound
(max_rel_error) to 1e-6 relative (it is a first-order estimate whose inputs are rounded differently, and on the
mpmath backend it is now evaluated in float64); precision flags and selected tokens exactly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))

import make_golden  # noqa: E402

from theorems.attention import classifier as ac  # noqa: E402
from verify.backends import get_backend  # noqa: E402
from verify.methods import make_rule  # noqa: E402
from verify.trajectory import Records, run  # noqa: E402

GOLDEN = np.load(Path(__file__).resolve().parent / "data" / "golden_trajectories.npz")
CASES = make_golden.cases()


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> float:
    """max |a - b| / max(|b|, tiny) over entries, with infinities required to match exactly."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    inf = ~np.isfinite(b)
    assert np.array_equal(a[inf], b[inf]) or (np.all(np.isnan(a[inf])) and np.all(np.isnan(b[inf])))
    fa, fb = a[~inf], b[~inf]
    if fb.size == 0:
        return 0.0
    scale = np.maximum(np.abs(fb), np.max(np.abs(fb)) * 1e-3 + 1e-300)
    return float(np.max(np.abs(fa - fb) / scale))


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_the_reference_before_optimization(name: str) -> None:
    if name.startswith("torch"):
        pytest.importorskip("torch")
    tr = CASES[name]()
    assert list(tr.t) == GOLDEN[f"{name}|t"].tolist()
    assert np.array_equal(tr.precision_ok, GOLDEN[f"{name}|precision_ok"])
    assert _close(tr.max_rel_error, GOLDEN[f"{name}|max_rel_error"], 1e-6) <= 1e-6
    prefix = f"{name}|rec|"
    keys = [k[len(prefix):] for k in GOLDEN.files if k.startswith(prefix)]
    assert keys
    for k in keys:
        ref = GOLDEN[prefix + k]
        got = np.asarray(tr.records[k])
        assert got.shape == ref.shape, k
        if k == "selected":
            assert np.array_equal(got, ref)
        else:
            assert _close(got, ref, 1e-12) <= 1e-12, (k, _close(got, ref, 1e-12))


def test_gram_records_are_lazy_and_equal_to_the_eager_matrix() -> None:
    """A float64 Gram run stores c, not W; W (and ||W||) rebuilt per instance equal the eager rebuild."""
    insts = make_golden.instances()
    prob = ac.build_problem(get_backend("numpy"), ac.stack(insts), "gram")
    tr = run(prob, make_rule("ngd", eta=0.1), 200, [0, 10, 200])
    assert isinstance(tr.records, Records) and "c" in tr.records._stored and "W" not in tr.records._stored
    c = tr.records["c"]
    eager = np.stack([prob.rep.matrix(c[k]) for k in range(len(tr.t))])
    for b in range(len(insts)):
        np.testing.assert_allclose(tr.series("W", b), eager[:, b], rtol=0, atol=1e-14)
        np.testing.assert_allclose(tr.series("norm", b), np.linalg.norm(eager[:, b], axis=(1, 2)), rtol=1e-14)
        one = tr.take(b)
        np.testing.assert_array_equal(one.series("W"), tr.series("W", b))
        assert one.records["W"].shape == (3, 1, 14, 14)
    np.testing.assert_allclose(tr.records["W"], eager, rtol=0, atol=1e-14)


def test_checkpoint_only_metrics_leave_the_steps_unchanged() -> None:
    """Skipping the loss gap and non-optimal attention between checkpoints changes no iterate: NGD with
    checkpoints at every step and with one checkpoint at the end end at the same c, bit for bit."""
    insts = make_golden.instances()
    prob = ac.build_problem(get_backend("numpy"), ac.stack(insts), "gram")
    every = run(prob, make_rule("ngd", eta=0.1), 50, list(range(51)))
    last = run(prob, make_rule("ngd", eta=0.1), 50, [50])
    assert np.array_equal(every.records["c"][-1], last.records["c"][-1])
    assert np.array_equal(every.max_rel_error.max(axis=0), last.max_rel_error[-1])


def test_mpmath_fdot_gram_agrees_with_mpmath_dense_to_working_precision() -> None:
    """The fdot mat-vecs of the mpmath Gram step against the dense object-array step at 40 digits."""
    import mpmath

    bk = get_backend("mpmath", 40)
    batch = ac.stack(make_golden.instances()[:1])
    g = ac.build_problem(bk, batch, "gram")
    d = ac.build_problem(bk, batch, "dense")
    with bk.context():
        sg, sd = g.init(), d.init()
        for t in range(5):
            fg, fd = g.first_order(sg), d.first_order(sd)
            sg = make_rule("ngd", eta=0.1).update(sg, None, fg, t)[0]
            sd = make_rule("ngd", eta=0.1).update(sd, None, fd, t)[0]
        Wg, Wd = g.rep.matrix(sg), sd
        diff = max(abs(a - b) for a, b in zip(Wg.ravel(), Wd.ravel(), strict=True))
        assert diff < mpmath.mpf(10) ** -35


@pytest.mark.parametrize("args", [["list"], ["--help"], ["show", "--help"]])
def test_start_up_does_not_import_the_heavy_dependencies(args: list[str]) -> None:
    """verify list / --help / show import neither cvxpy nor torch nor dask (they are imported on first use)."""
    import subprocess

    code = (f"import sys\nfrom verify.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('cvxpy', 'torch', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-500:]


def test_gpu_benchmark_runs_on_cuda_or_skips_with_the_reason() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine: the GPU benchmark (benchmarks/run.py --only gpu) is skipped")
    insts = make_golden.instances()
    cpu = run(ac.build_problem(get_backend("numpy"), ac.stack(insts), "gram"), make_rule("ngd", eta=0.1), 100, [100])
    gpu = run(ac.build_problem(get_backend("torch"), ac.stack(insts), "gram"), make_rule("ngd", eta=0.1), 100, [100])
    np.testing.assert_allclose(gpu.records["W"], cpu.records["W"], rtol=1e-12, atol=1e-13)
