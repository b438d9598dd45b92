"""Reference trajectories of the kernel paths, written once by the code *before* an optimization lands and
read by tests/test_fast_paths.py, which demands 1e-12 relative agreement (float64) of every record, the
rounding-error bound and the precision flags ("old vs new").

    python tests/data/make_golden.py tests/data/golden_trajectories.npz

The file in the repository was written at commit 080c43e (before the factored contractions, the lazy
checkpoint matrices, checkpoint-only metrics and the fdot mpmath Gram step). Re-running this script with later
code only makes sense to *extend* the reference after checking the new cases by other means.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from theorems.attention import classifier as ac  # noqa: E402
from theorems.attention.joint import build_joint_problem, generate_dm  # noqa: E402
from theorems.attention.lp import JointProblem as LpJointProblem  # noqa: E402
from theorems.attention.lp import LpMirrorDescent, fixed_decoder_problem  # noqa: E402
from theorems.attention.strategies import generate  # noqa: E402
from verify.backends import get_backend  # noqa: E402
from verify.methods import make_method  # noqa: E402
from verify.trajectory import run  # noqa: E402

CPS = [0, 1, 3, 10, 30, 100, 300]


def instances() -> list[ac.AttentionInstance]:
    # W0 != 0 and non-orthogonal tokens, so every term of the Gram form and the error bound is exercised
    return [generate(3, 4, 14, seed=20 + s, tokens="orthonormal", noise=0.2, init_scale=0.7) for s in range(3)]


def cases() -> dict:
    """name -> (callable giving a Trajectory)."""
    out: dict = {}
    insts = instances()
    for backend, steps in (("numpy", 300), ("torch", 300), ("mpmath", 30)):
        cps = [t for t in CPS if t <= steps]
        for rep in ("gram", "dense"):
            for method in ("gd", "ngd", "polyak"):
                b = insts if backend != "mpmath" else insts[:1]

                def f(backend=backend, rep=rep, method=method, b=b, steps=steps, cps=cps):  # type: ignore[no-untyped-def]
                    bk = get_backend(backend, 30)
                    return run(ac.build_problem(bk, ac.stack(b), rep), make_method(method, eta=0.1, c=1.0), steps,
                               cps)

                out[f"{backend}/{rep}/{method}"] = f
    out["numpy/dense/adam"] = lambda: run(ac.build_problem(get_backend("numpy"), ac.stack(insts), "dense"),
                                          make_method("adam", eta=0.05), 300, CPS)
    dms = [generate_dm(3, 3, 9, seed=s, sigma=0.2) for s in range(2)]
    for norm in ("joint", "block"):
        out[f"numpy/joint/ngd-{norm}"] = (lambda norm=norm: run(build_joint_problem(get_backend("numpy"), dms),
                                                                make_method("ngd", eta=0.1, normalize=norm), 300,
                                                                CPS))
    out["mpmath/joint/ngd-block"] = lambda: run(build_joint_problem(get_backend("mpmath", 30), dms[:1]),
                                                make_method("ngd", eta=0.1, normalize="block"), 30, CPS[:5])
    out["numpy/lp/md-1.5"] = lambda: run(fixed_decoder_problem(get_backend("numpy"), insts[0]),
                                         LpMirrorDescent(1.5, 0.1, normalized=True), 300, CPS)
    out["numpy/lp-joint/md-1.5"] = lambda: run(LpJointProblem.build(get_backend("numpy"), dms[0]),
                                               LpMirrorDescent(1.5, 0.05, normalized=True), 300, CPS)
    return out


def flatten(name: str, tr) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    out = {f"{name}|t": np.asarray(tr.t), f"{name}|precision_ok": tr.precision_ok,
           f"{name}|max_rel_error": tr.max_rel_error}
    for k in tr.records:
        out[f"{name}|rec|{k}"] = np.asarray(tr.records[k])
    return out


def main(path: str) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name, f in cases().items():
        arrays.update(flatten(name, f()))
    np.savez_compressed(path, **arrays)
    print(f"wrote {len(arrays)} arrays to {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("golden_trajectories.npz")))
