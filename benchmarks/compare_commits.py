"""Before/after: this tree against an older commit's tree, measured in one run, interleaved (issue #12).

    git archive <old-commit> | tar -x -C /tmp/old
    .venv/bin/python benchmarks/compare_commits.py --old /tmp/old [--quick] [--out benchmarks/before_after.json]

Every measurement runs in a fresh subprocess whose imports come from one tree (PYTHONPATH and the working
directory), alternating old and new (the old tree first in even rounds, the new one in odd rounds, so that an
order effect favours neither), ``--repeats`` rounds; ratios are old / new per round (above 1: the new
tree is faster), reported as min / median / max. Measured:

- float64 runs (verify.trajectory.run, NGD, default log checkpoints) at several shapes and batch sizes;
- ``--only jax``: whole jax Gram NGD runs (the compiled loop), compilation excluded; ``--only kernel``: the step's
  kernel alone, numpy and jax (these two are not in the default set);
- the mpmath Gram run at 50 digits (n = 4, T = 5, d = 40), and against it this tree's arb (Arb balls) Gram run
  at the same precision;
- ``verify check vdt24.ngd-rate --profile ci`` (wall time; the JSON verdicts must be byte-identical);
- ``verify list`` against a bare ``python -c pass``;
- peak memory (max RSS) of a 2000-step Gram run at B = 64, d = 256 and of a 10^5-step run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from verify.instance import atomic_write_text

NEW = Path(__file__).resolve().parents[1]

RUN = """
import sys, time, resource
import numpy as np
try:
    from theorems.attention import classifier as ac
    from theorems.attention.strategies import generate
except ImportError:  # a tree from before the model package (theorems/attention_*.py)
    from theorems import attention_classifier as ac
    from theorems.attention_strategies import generate
from verify.backends import get_backend
from verify.methods import make_rule
from verify.trajectory import run
backend, rep, B, n, T, d, steps, dps = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:9])
batch = ac.stack([generate(n, T, d, seed=b, tokens="gaussian") for b in range(B)])
prob = ac.build_problem(get_backend(backend, dps), batch, rep)
t0 = time.perf_counter()
tr = run(prob, make_rule("ngd", eta=0.1), steps)
W = tr.series("W", 0)[-1]
dt = time.perf_counter() - t0
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, float(np.linalg.norm(W)))
"""


RUN_JAX = """
import sys, time
import numpy as np
from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from verify.backends import get_backend
from verify.methods import make_rule
from verify.trajectory import run
B, n, T, d, steps = map(int, sys.argv[1:6])
batch = ac.stack([generate(n, T, d, seed=b, tokens="gaussian") for b in range(B)])
prob, rule = ac.build_problem(get_backend("jax"), batch, "gram"), make_rule("ngd", eta=0.1)
run(prob, rule, steps, [steps])  # compiles the loop for this shape
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    tr = run(prob, rule, steps, [steps])
    best = min(best, time.perf_counter() - t0)
print(best, 0, float(np.linalg.norm(tr.series("W", 0)[-1])))
"""

RUN_KERNEL = """
import sys, time
import numpy as np
from theorems.attention import classifier as ac
from verify.backends import get_backend
backend, B = sys.argv[1], int(sys.argv[2])
n, T, reps = 4, 5, 200
rng = np.random.default_rng(0)
a, g = rng.normal(size=(B, n, T)) * 3, rng.normal(size=(B, n, T))
opt = np.argmax(g, axis=-1)
bk = get_backend(backend)
if backend == "jax":
    import jax
    import jax.numpy as jnp

    @jax.jit
    def many(a, g):
        def body(i, acc):
            out = ac.softmax_logistic_kernel(bk, a + acc[..., None, None] * 1e-3, g, opt, metrics=False)
            return acc + out.G_hat[:, 0, 0] + out.log_scale
        return jax.lax.fori_loop(0, reps, body, jnp.zeros(a.shape[0]))
    a, g = jnp.asarray(a), jnp.asarray(g)
    go = lambda: many(a, g).block_until_ready()
else:
    go = lambda: [ac.softmax_logistic_kernel(bk, a, g, opt, metrics=False) for _ in range(reps)]
go()
best = float("inf")
for _ in range(7):
    t0 = time.perf_counter()
    go()
    best = min(best, time.perf_counter() - t0)
print(best / reps, 0, 0.0)
"""


def _env(tree: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env.pop("VERIFY_DISABLE_PLUGINS", None)
    return env


def _py(tree: Path, code: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=tree, env=_env(tree), capture_output=True,
                         text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _run_case(tree: Path, backend: str, rep: str, B: int, n: int, T: int, d: int, steps: int,
              dps: int = 50) -> tuple[float, int, float]:
    dt, rss, nw = _py(tree, RUN, backend, rep, *(str(v) for v in (B, n, T, d, steps, dps))).split()
    return float(dt), int(rss), float(nw)


def _in_turn(items: tuple, i: int) -> tuple:
    """``items`` in round i's order: as given in even rounds, reversed in odd ones, so that an order effect (the
    second run finding warm caches) favours none of them."""
    return items if i % 2 == 0 else items[::-1]


def _stats(old: list[float], new: list[float]) -> dict:
    r = sorted(o / n for o, n in zip(old, new, strict=True))
    return {"min": r[0], "median": statistics.median(r), "max": r[-1],
            "old_median_s": statistics.median(old), "new_median_s": statistics.median(new)}


def _compare(old: Path, repeats: int, code: str, cases: list[tuple], keys: tuple[str, ...]) -> list[dict]:
    """old / new of the first number ``code`` prints, per case, in alternating subprocesses; the third number is
    a norm both trees must agree on."""
    rows = []
    for case in cases:
        t_old, t_new, agree = [], [], []
        for i in range(repeats):
            got = {tree: [float(v) for v in _py(tree, code, *map(str, case)).split()]
                   for tree in _in_turn((old, NEW), i)}
            t_old.append(got[old][0])
            t_new.append(got[NEW][0])
            agree.append(abs(got[old][2] - got[NEW][2]) / max(abs(got[old][2]), 1e-300))
        rows.append({"case": dict(zip(keys, case, strict=True)), "old_over_new": _stats(t_old, t_new),
                     "norm_W_rel_diff": max(agree)})
        print(f"# {case}: {rows[-1]['old_over_new']['median']:.2f}x", file=sys.stderr, flush=True)
    return rows


def compare_runs(old: Path, repeats: int, quick: bool) -> list[dict]:
    """float64 (and one 50-digit mpmath) NGD runs with their default log checkpoints, whole (``RUN``)."""
    cases = [("numpy", "gram", 1, 4, 5, 40, 2000), ("numpy", "gram", 256, 4, 5, 40, 300),
             ("numpy", "gram", 1024, 4, 5, 40, 100), ("numpy", "dense", 256, 4, 5, 40, 100),
             ("numpy", "gram", 64, 16, 16, 64, 50), ("numpy", "dense", 64, 16, 16, 64, 50),
             ("numpy", "gram", 64, 8, 6, 256, 300),
             ("mpmath", "gram", 1, 4, 5, 40, 20)]
    cases = [(*c, 50) for c in (cases[:2] + cases[-1:] if quick else cases)]
    return _compare(old, repeats, RUN, cases, ("backend", "rep", "B", "n", "T", "d", "steps", "dps"))


def compare_jax(old: Path, repeats: int, quick: bool) -> list[dict]:
    """Whole jax Gram NGD runs (the compiled loop), compilation excluded: one warm-up run, then the best of 3."""
    cases = [(1, 4, 5, 40, 4000), (64, 4, 5, 40, 2000), (1024, 4, 5, 40, 300), (64, 16, 16, 64, 400),
             (256, 16, 16, 64, 100)]
    return _compare(old, repeats, RUN_JAX, cases[:2] if quick else cases, ("B", "n", "T", "d", "steps"))


def compare_kernel(old: Path, repeats: int, quick: bool) -> list[dict]:
    """The step's kernel alone (metrics=False) at n = 4, T = 5, seconds per evaluation: numpy (the float64 step
    kernel) and jax (a compiled loop of 200 evaluations)."""
    cases = [(bk, B) for bk in ("numpy", "jax") for B in ((1, 64) if quick else (1, 64, 1024))]
    return _compare(old, repeats, RUN_KERNEL, cases, ("backend", "B"))


def compare_high_precision(old: Path, repeats: int) -> dict:
    """50 digits, n = 4, T = 5, d = 40, 20 NGD steps: the old tree's mpmath Gram run against this tree's mpmath
    Gram run and its arb (python-flint balls at the same 169 bits) Gram run, alternating subprocesses."""
    case = (1, 4, 5, 40, 20)
    times: dict[str, list[float]] = {"old mpmath": [], "new mpmath": [], "new arb": []}
    norms: dict[str, float] = {}
    order = (("old mpmath", old, "mpmath"), ("new mpmath", NEW, "mpmath"), ("new arb", NEW, "arb"))
    for i in range(repeats):
        for key, tree, backend in _in_turn(order, i):
            dt, _, nw = _run_case(tree, backend, "gram", *case)
            times[key].append(dt)
            norms[key] = nw
    ref = norms["old mpmath"]
    return {"case": {"B": 1, "n": 4, "T": 5, "d": 40, "steps": 20, "dps": 50},
            "old_mpmath_over": {k: _stats(times["old mpmath"], v) for k, v in times.items() if k != "old mpmath"},
            "norm_W_rel_diff": {k: abs(v - ref) / abs(ref) for k, v in norms.items()}}


def compare_check(old: Path, repeats: int) -> dict:
    cmd = [sys.executable, "-m", "verify", "check", "vdt24.ngd-rate", "--profile", "ci", "--json", "--quiet"]
    t_old, t_new, outs = [], [], {}
    for i in range(repeats):
        for tree, ts in _in_turn(((old, t_old), (NEW, t_new)), i):
            t0 = time.perf_counter()
            p = subprocess.run(cmd, cwd=tree, env=_env(tree), capture_output=True, text=True)
            ts.append(time.perf_counter() - t0)
            outs.setdefault(str(tree), set()).add(p.stdout)
    verdicts = {k: [json.dumps([(c["claim_id"], c["verdict"], c["counts"], c["tried"]) for c in json.loads(v)])
                    for v in vs] for k, vs in outs.items()}
    o, n = verdicts[str(old)], verdicts[str(NEW)]
    return {"old_over_new": _stats(t_old, t_new), "verdicts_identical": o == n and len(set(o)) == 1,
            "json_identical": outs[str(old)] == outs[str(NEW)]}


def compare_startup(old: Path, repeats: int) -> dict:
    res: dict = {}
    for tree in (old, NEW):
        ts: dict[str, list[float]] = {"pass": [], "list": []}
        for _ in range(repeats):
            for k, c in (("pass", [sys.executable, "-c", "pass"]), ("list", [sys.executable, "-m", "verify", "list"])):
                t0 = time.perf_counter()
                subprocess.run(c, cwd=tree, env=_env(tree), capture_output=True, check=True)
                ts[k].append(time.perf_counter() - t0)
        m = {k: statistics.median(v) for k, v in ts.items()}
        res["old" if tree == old else "new"] = {"list_s": m["list"], "pass_s": m["pass"],
                                                 "list_over_pass": m["list"] / m["pass"]}
    return res


def compare_memory(old: Path, quick: bool) -> dict:
    out = {}
    for name, case in (("2000 steps, B=64, n=8, T=6, d=256, gram", ("numpy", "gram", 64, 8, 6, 256, 2000)),
                       ("1e5 steps, B=1, n=4, T=5, d=40, gram", ("numpy", "gram", 1, 4, 5, 40,
                                                                   10_000 if quick else 100_000))):
        out[name] = {"old_peak_MB": _run_case(old, *case)[1] / 2**20, "new_peak_MB": _run_case(NEW, *case)[1] / 2**20}
        print(f"# memory {name}: {out[name]}", file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", required=True, help="an extracted tree of the older commit (git archive | tar -x)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="runs,hp,check,startup,memory")
    p.add_argument("--out", default=str(NEW / "benchmarks" / "before_after.json"))
    args = p.parse_args(argv)
    old = Path(args.old).resolve()
    res: dict = {"old": str(old), "repeats": max(3, args.repeats)}
    parts = args.only.split(",")
    reps = max(3, args.repeats)
    if "runs" in parts:
        res["runs"] = compare_runs(old, reps, args.quick)
    if "jax" in parts:
        res["jax_runs"] = compare_jax(old, reps, args.quick)
    if "kernel" in parts:
        res["kernel"] = compare_kernel(old, reps, args.quick)
    if "hp" in parts:
        res["high_precision_50_digits"] = compare_high_precision(old, reps)
    if "check" in parts:
        res["check_ngd_rate_ci"] = compare_check(old, reps)
    if "startup" in parts:
        res["startup"] = compare_startup(old, reps)
    if "memory" in parts:
        res["memory"] = compare_memory(old, args.quick)
    atomic_write_text(args.out, json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
