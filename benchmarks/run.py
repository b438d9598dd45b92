"""Speed and scale benchmarks (issue #6): every figure is a ratio against a baseline measured in the same run.

    .venv/bin/python benchmarks/run.py [--quick] [--out benchmarks/results.json]

Sections (docs/performance.md explains each and gives the figures):

(a) throughput, NGD, B = 256 instances, n = 8, T = 6, d = 32: the research-code baseline (a Python loop over
    instances with torch autograd, float64, naive softmax) against our batched numpy / torch, dense / Gram paths,
    in instance-steps per second (fewer steps than 2000 are timed; rates are per step);
(b) high precision, 50 digits, n = 4, T = 5, d = 40: a plain dense mpmath-matrix NGD step against ours (Gram on
    the mpmath backend), plus python-flint (Arb balls) on the Gram mat-vec, cross-checked against mpmath;
(c) horizon, NGD eta = 0.1: the number of steps each path reaches with a finite, non-increasing direction error;
(d) overhead: our time per step against the bare array operations the step cannot avoid;
(e) scaling: time per step as B, n, T, d grow, with fitted log-log slopes, dense and Gram.

Prints a table and writes all numbers as JSON (atomically). Deterministic data (fixed seeds); timings are
the best (minimum) of repeats. ``--quick`` shrinks repeats and horizons (about a minute) for a smoke run.
"""

from __future__ import annotations

import argparse
import functools
import math
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from benchmarks.baselines import (  # noqa: E402
    autograd_ngd_loop,
    dense_mpmath_ngd_steps,
    horizon_of,
    naive_numpy_horizon,
)
from theorems.attention import classifier as ac  # noqa: E402
from theorems.attention.strategies import generate  # noqa: E402
from theorems.attention.svm import solve_att_svm  # noqa: E402
from verify.backends import get_backend, isfinite  # noqa: E402
from verify.instance import atomic_write_text, dumps  # noqa: E402
from verify.methods import make_rule  # noqa: E402
from verify.trajectory import DEFAULT_TOL, log_checkpoints, run  # noqa: E402


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """Best (minimum) wall time of ``repeats`` calls after one warm-up call. The minimum, not the median: the
    benchmark machine is shared, and the minimum is the least disturbed estimate of the uncontended cost (the
    same rule for baselines and for ours, so ratios stay fair)."""
    fn()
    ts = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def batch_of(B: int, n: int, T: int, d: int, seed: int = 0) -> ac.Batch:
    """B seeded instances with N(0, I/d) tokens (d < nT allowed), unit decoder, W0 = 0."""
    return ac.stack([generate(n, T, d, seed=seed + b, tokens="gaussian") for b in range(B)])


def ours_per_step(backend: str, rep: str, batch: ac.Batch, steps: int, repeats: int) -> float:
    """Seconds per NGD step for the whole batch: the library's step exactly as trajectory.run performs it
    (problem.first_order with its rounding-error estimate, the runner's per-step finiteness and error checks,
    the method's update), without checkpoint metrics (which rebuild the d x d matrix W once per checkpoint and
    are not part of a step). The problem (Gram matrix) is built once outside the timing."""
    bk = get_backend(backend, 50)
    problem = ac.build_problem(bk, batch, rep)
    rule = make_rule("ngd", eta=0.1)

    def loop() -> None:
        with bk.context():
            state = problem.init()
            mstate = rule.init(state)
            for t in range(steps):
                fo = problem.first_order(state)
                rel = np.asarray(fo.rel_error, dtype=float)
                ok = np.asarray(isfinite(fo.log_grad_norm), dtype=bool) & (rel <= DEFAULT_TOL)
                assert ok.all(), "precision lost inside a benchmark run"
                state, mstate = rule.update(state, mstate, fo, t)

    return best_time(loop, repeats) / steps


# ------------------------------------------------------------------------------------------------ (a)
def bench_throughput(quick: bool) -> dict:
    B, n, T, d = (256, 8, 6, 32)
    batch = batch_of(B, n, T, d)
    base_steps, our_steps, reps = (3, 10, 1) if quick else (10, 50, 3)
    t_base = best_time(lambda: autograd_ngd_loop(batch, base_steps, 0.1), reps) / base_steps
    rows = {"baseline (torch autograd loop)": B / t_base}
    for backend in ("numpy", "torch"):
        for rep in ("dense", "gram"):
            rows[f"ours {backend} {rep}"] = B / ours_per_step(backend, rep, batch, our_steps, reps)
    base = rows["baseline (torch autograd loop)"]
    return {"workload": {"B": B, "n": n, "T": T, "d": d, "method": "ngd", "eta": 0.1,
                         "timed_steps": {"baseline": base_steps, "ours": our_steps},
                         "note": "2000-step workload timed over fewer steps; rates are per step"},
            "instance_steps_per_s": rows, "ratio_to_baseline": {k: v / base for k, v in rows.items()},
            "target": 30.0}


# ------------------------------------------------------------------------------------------------ (b)
def bench_high_precision(quick: bool) -> dict:
    n, T, d, dps = 4, 5, 40, 50
    inst = generate(n, T, d, seed=7, tokens="orthonormal")
    batch = ac.stack([inst])
    plain_steps, our_steps, reps = (1, 5, 1) if quick else (3, 30, 3)
    t_plain = best_time(lambda: dense_mpmath_ngd_steps(inst, plain_steps, 0.1, dps), reps) / plain_steps
    t_gram = ours_per_step("mpmath", "gram", batch, our_steps, reps)
    t_dense = ours_per_step("mpmath", "dense", batch, max(1, our_steps // 10), 1)
    out = {"workload": {"n": n, "T": T, "d": d, "dps": dps, "method": "ngd"},
           "s_per_step": {"plain dense mpmath.matrix": t_plain, "ours mpmath gram": t_gram,
                          "ours mpmath dense (object arrays)": t_dense},
           "speedup_gram_vs_plain": t_plain / t_gram, "speedup_dense_vs_plain": t_plain / t_dense, "target": 20.0}
    out["matvec"] = bench_matvec(n * T, dps, 20 if quick else 200)
    return out


def bench_matvec(m: int, dps: int, repeats: int) -> dict:
    """The Gram step's mat-vec K c (m x m) at ``dps`` digits: numpy object matmul (what the mpmath backend
    does), mpmath.fdot per row, and python-flint's arb_mat (Arb balls), whose result must contain mpmath's."""
    import mpmath

    rng = np.random.default_rng(0)
    Kf, cf = rng.normal(size=(m, m)), rng.normal(size=m)
    out: dict = {"m": m, "dps": dps}
    with mpmath.workdps(dps):
        K = np.vectorize(mpmath.mpf, otypes=[object])(Kf)
        c = np.vectorize(mpmath.mpf, otypes=[object])(cf)
        rows = [list(r) for r in K]
        cl = list(c)
        ref = K @ c
        out["s_object_matmul"] = best_time(lambda: K @ c, repeats)
        out["s_fdot_rows"] = best_time(lambda: [mpmath.fdot(r, cl) for r in rows], repeats)
        fd = [mpmath.fdot(r, cl) for r in rows]
        out["fdot_max_rel_diff"] = float(max(abs(a - b) / abs(b) for a, b in zip(fd, ref, strict=True)))
    try:
        import flint
    except ImportError:
        out["flint"] = "python-flint not installed"
        return out
    flint.ctx.dps = dps
    Ka = flint.arb_mat([[flint.arb(float(v)) for v in r] for r in Kf])
    ca = flint.arb_mat([[flint.arb(float(v))] for v in cf])
    out["s_flint_arb_mat"] = best_time(lambda: Ka * ca, repeats)
    res = Ka * ca
    with mpmath.workdps(dps):
        contained = all(res[i, 0].contains(flint.arb(mpmath.nstr(ref[i], dps + 5))) or
                        abs(float((res[i, 0] - flint.arb(mpmath.nstr(ref[i], dps + 5))).mid())) <=
                        float(res[i, 0].rad()) + 10.0 ** (-dps + 2) * abs(float(ref[i])) for i in range(m))
    out["flint_contains_mpmath"] = bool(contained)
    out["flint_version"] = flint.__version__
    out["speedup_fdot_vs_object"] = out["s_object_matmul"] / out["s_fdot_rows"]
    out["speedup_flint_vs_object"] = out["s_object_matmul"] / out["s_flint_arb_mat"]
    return out


# ------------------------------------------------------------------------------------------------ (c)
def bench_horizon(quick: bool) -> dict:
    inst = generate(3, 4, 12, seed=3, tokens="orthonormal")
    W_mm = solve_att_svm(inst.X, inst.z, [int(a) for a in ac.optimal_tokens(inst)]).W
    ours_steps = 20_000 if quick else 1_000_000
    naive_steps = 20_000 if quick else 100_000
    out: dict = {"instance": {"n": 3, "T": 4, "d": 12, "tokens": "orthonormal", "seed": 3}, "eta": 0.1,
                 "target_steps": 1_000_000}
    t0 = time.perf_counter()
    out["naive numpy (tests/naive_baseline.py)"] = naive_numpy_horizon(inst, W_mm, naive_steps)
    out["naive numpy (tests/naive_baseline.py)"]["wall_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out["torch autograd (research loop)"] = horizon_of_autograd(inst, W_mm, min(naive_steps, 20_000))
    out["torch autograd (research loop)"]["wall_s"] = time.perf_counter() - t0
    for backend, steps in (("numpy", ours_steps), ("torch", ours_steps // 10)):
        t0 = time.perf_counter()
        tr = run(ac.build_problem(get_backend(backend), ac.stack([inst]), "gram"), make_rule("ngd", eta=0.1),
                 steps, log_checkpoints(steps, per_decade=5))
        err, _ = ac.direction_error(tr.series("W"), W_mm)
        res = horizon_of(tr.t, err, tr.precision_ok[:, 0])
        res.update({"attempted": steps, "wall_s": time.perf_counter() - t0,
                    "final_dir_err": float(err[-1]),
                    "final_log10_max_nonopt": float(tr.series("log_max_nonopt")[-1] / math.log(10))})
        out[f"ours {backend} gram"] = res
    return out


def horizon_of_autograd(inst: ac.AttentionInstance, W_mm: np.ndarray, steps: int) -> dict:
    from benchmarks.baselines import autograd_ngd_trace

    cps = log_checkpoints(steps, per_decade=5)
    Ws = autograd_ngd_trace(inst, steps, 0.1, cps)
    with np.errstate(all="ignore"):
        err, _ = ac.direction_error(Ws, W_mm)
    res = horizon_of(cps, err, np.ones(len(cps), dtype=bool))
    res["attempted"] = steps
    return res


# ------------------------------------------------------------------------------------------------ (d)
def bench_overhead(quick: bool) -> dict:
    """Ours per step against the array operations the step cannot avoid, on the same shapes (numpy, B = 256,
    n = 8, T = 6, d = 32): for Gram the logits K c, the norm c^T K c of the gradient, one exp over the logits and
    the update; for dense the two logit contractions, the gradient contraction sum G x z^T, its norm, one exp
    and the update."""
    B, n, T, d = 256, 8, 6, 32
    batch = batch_of(B, n, T, d)
    steps, reps = (10, 1) if quick else (50, 5)
    rng = np.random.default_rng(0)
    out: dict = {"workload": {"B": B, "n": n, "T": T, "d": d, "backend": "numpy"}}
    bk = get_backend("numpy")
    for rep in ("gram", "dense"):
        prob = ac.build_problem(bk, batch, rep)
        t_ours = ours_per_step("numpy", rep, batch, steps, reps)
        G = rng.normal(size=(B, n, T))
        if rep == "gram":
            bare = functools.partial(_bare_gram, prob.rep.K, rng.normal(size=(B, n * T, 1)), G)
        else:
            bare = functools.partial(_bare_dense, batch.X, batch.Z, rng.normal(size=(B, d, d)), G)
        t_bare = best_time(bare, reps * 20)
        out[rep] = {"s_per_step_ours": t_ours, "s_per_step_bare": t_bare, "ratio": t_ours / t_bare}
    out["target"] = 2.0
    out["profile_gram"] = profile_step(batch, "gram")
    return out


def _bare_gram(K: np.ndarray, c: np.ndarray, G: np.ndarray) -> Any:
    B, n, T = G.shape
    a = np.matmul(K, c)
    e = np.exp(a)
    v = G.reshape(B, n * T, 1)
    nrm = np.sqrt(np.matmul(v.swapaxes(1, 2), np.matmul(K, v)))
    return c - 0.1 * v / nrm, e


def _bare_dense(X: np.ndarray, Z: np.ndarray, W: np.ndarray, G: np.ndarray) -> Any:
    a = np.einsum("bntd,bnd->bnt", X, np.einsum("bde,bne->bnd", W, Z))
    e = np.exp(a)
    V = np.einsum("bnt,bntd,bne->bde", G, X, Z)
    nrm = np.sqrt(np.sum(V * V, axis=(1, 2)))
    return W - 0.1 * V / nrm[:, None, None], e


def profile_step(batch: ac.Batch, rep: str, steps: int = 30) -> list[dict]:
    """Where the time of a step goes (cProfile, top functions by own time)."""
    import cProfile
    import pstats

    prob = ac.build_problem(get_backend("numpy"), batch, rep)
    rule = make_rule("ngd", eta=0.1)
    pr = cProfile.Profile()
    pr.enable()
    run(prob, rule, steps, [steps])
    pr.disable()
    st = pstats.Stats(pr)
    rows = []
    total = sum(v[2] for v in st.stats.values())  # type: ignore[attr-defined]
    for (fname, line, func), v in sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:10]:  # type: ignore
        rows.append({"function": f"{Path(fname).name}:{line}({func})", "own_s_per_step": v[2] / steps,
                     "share": v[2] / total})
    return rows


# ------------------------------------------------------------------------------------------------ (e)
def bench_scaling(quick: bool) -> dict:
    base = {"B": 32, "n": 4, "T": 4, "d": 16}
    grid = {"B": [8, 32, 128, 512], "n": [2, 4, 8, 16], "T": [2, 4, 8, 16], "d": [16, 64, 256, 1024]}
    if quick:
        grid = {k: v[:3] for k, v in grid.items()}
    steps = 5 if quick else 10
    out: dict = {"base": base, "backend": "numpy", "rows": {}, "slopes": {}}
    for var, values in grid.items():
        for rep in ("dense", "gram"):
            ts = []
            for v in values:
                shape = {**base, var: v}
                if rep == "dense" and shape["d"] >= 1024:
                    continue  # ~1 s per dense step; the three smaller d already give the slope
                batch = batch_of(shape["B"], shape["n"], shape["T"], shape["d"])
                ts.append((v, ours_per_step("numpy", rep, batch, steps, 1 if quick else 3)))
            out["rows"][f"{var}/{rep}"] = ts
            xs, ys = np.log([x for x, _ in ts]), np.log([y for _, y in ts])
            out["slopes"][f"{var}/{rep}"] = float(np.polyfit(xs, ys, 1)[0])
    return out


# ------------------------------------------------------------------------------------------------ (f)
F_SHAPES = [(4, 5, 40), (16, 16, 64)]
F_BATCHES = [1, 64, 256, 1024]


def _ours_run(bk_name: str, rep: str, batch: ac.Batch, steps: int) -> Callable[[], np.ndarray]:
    """The project's whole run (verify.trajectory.run with its precision watch and one checkpoint at the end),
    the problem built once outside the timing; returns W at the end."""
    problem = ac.build_problem(get_backend(bk_name), batch, rep)
    rule = make_rule("ngd", eta=0.1)

    def f() -> np.ndarray:
        tr = run(problem, rule, steps, [steps])
        assert tr.precision_ok.all(), "precision lost inside a benchmark run"
        return np.asarray(tr.records["W"][-1])

    return f


def _steps_for(B: int, n: int, T: int, d: int) -> int:
    """Steps per timed run: enough that a run's fixed costs (one checkpoint, building the record) stay a small
    part of it, at most about 2e7 multiply-adds of the cheaper representation per instance-batch."""
    work = B * max((n * T) ** 2, n * T * d)  # per-step work of the cheaper representation, roughly
    return int(min(2000, max(50, 2e7 // work)))


def bench_competent(quick: bool) -> dict:
    """(f) float64: the project against the baselines of benchmarks/competent.py, same process, interleaved,
    median of >= 3 rounds, every baseline checked against the project (1e-12 relative, 20 NGD steps) first."""
    from benchmarks import competent as cb

    batches = [1, 64] if quick else F_BATCHES
    reps = 3 if quick else 5
    jax_missing = cb.jax_available()
    out: dict = {"method": "ngd", "eta": 0.1, "repeats": max(3, reps), "rows": [],
                 "jax": jax_missing or "installed"}
    try:
        import torch  # noqa: F401

        has_torch = True
    except ImportError:
        has_torch = False
    for n, T, d in F_SHAPES:
        for B in batches:
            batch = batch_of(B, n, T, d)
            steps = _steps_for(B, n, T, d)
            ours = {"ours numpy gram": _ours_run("numpy", "gram", batch, steps),
                    "ours numpy dense": _ours_run("numpy", "dense", batch, steps)}
            if has_torch:
                ours["ours torch gram"] = _ours_run("torch", "gram", batch, steps)
                ours["ours torch dense"] = _ours_run("torch", "dense", batch, steps)
            if jax_missing is None:  # the compiled backend (verify/compiled.py); compiled before timing
                for rep in ("gram", "dense"):
                    ours[f"ours jax {rep}"] = _ours_run("jax", rep, batch, steps)
                    ours[f"ours jax {rep}"]()
            K, a0 = cb.gram_matrix(batch)
            base: dict[str, Callable[[int], np.ndarray]] = {
                "numpy gram": lambda s, batch=batch, K=K, a0=a0: cb.matrix_from_coefficients(
                    batch, cb.numpy_gram_ngd(batch, s, 0.1, K, a0)),
                "numpy dense": lambda s, batch=batch: cb.numpy_dense_ngd(batch, s, 0.1),
            }
            if has_torch:
                base["torch autograd (batched)"] = lambda s, batch=batch: cb.torch_autograd_ngd(batch, s, 0.1)
            if jax_missing is None:
                jg, jd = cb.jax_gram_ngd(batch, 0.1), cb.jax_dense_ngd(batch, 0.1)
                base["jax gram (jit, scan)"] = lambda s, jg=jg, batch=batch: cb.matrix_from_coefficients(batch, jg(s))
                base["jax dense (jit, scan)"] = lambda s, jd=jd: jd(s)
            ref = _ours_run("numpy", "gram", batch, 20)()
            agree = {k: cb.agreement(k, ref, f(20)) for k, f in base.items()}
            for k in ours:  # the other representation and backend agree with the reference too
                _, bk_name, rep = k.split()
                agree[k] = cb.agreement(k, ref, _ours_run(bk_name, rep, batch, 20)())
            contenders = {**ours, **{k: (lambda f=f, s=steps: f(s)) for k, f in base.items()}}
            times = cb.interleaved(contenders, reps)
            med = {k: float(np.median(v)) / steps for k, v in times.items()}
            best_ours = min(ours, key=lambda k: med[k])
            best_base = min(base, key=lambda k: med[k])
            row = {"shape": [n, T, d], "B": B, "timed_steps": steps, "s_per_step_median": med,
                   "agreement": agree, "best_ours": best_ours, "best_baseline": best_base,
                   "ratios": {f"{o} / {b}": cb.ratio_stats(times, o, b) for o in ours for b in base},
                   "best_ours_vs_best_baseline": cb.ratio_stats(times, best_ours, best_base)}
            if B >= 64:
                row["matvec_fraction"] = matvec_fraction(K, med["ours numpy gram"], reps)
                if "ours jax gram" in med:
                    row["matvec_fraction_jax"] = matvec_fraction(K, med["ours jax gram"], reps)
            out["rows"].append(row)
            print(f"# (f) {n},{T},{d} B={B}: best ours {best_ours} vs {best_base}: "
                  f"{row['best_ours_vs_best_baseline']['median']:.2f}", file=sys.stderr, flush=True)
    return out


def matvec_fraction(K: np.ndarray, s_per_step: float, repeats: int) -> dict:
    """Achieved GFLOP/s of the Gram step (counting the two mat-vecs a plain Gram step does, K c and K G: 4 m^2
    flops per instance) against a bare batched mat-vec of the same shape (2 m^2 flops per instance)."""
    B, m, _ = K.shape
    v = np.random.default_rng(0).normal(size=(B, m, 1))
    t_mv = best_time(lambda: np.matmul(K, v), max(5, repeats * 4))
    mv = 2 * m * m * B / t_mv / 1e9
    ours = 4 * m * m * B / s_per_step / 1e9
    return {"matvec_gflops": mv, "ours_gflops": ours, "fraction": ours / mv}


def bench_ladder(quick: bool) -> dict:
    """(f') Where the numpy Gram step's time goes beyond the plain one (benchmarks/ladder.py): the plain loop, + the
    log-scaled step kernel, + the precision watch, and the project's run, interleaved in one process; each rung
    checked against the project (1e-12 relative) first. Ratios: rung time / plain time, per round."""
    from benchmarks import competent as cb
    from benchmarks import ladder

    batches = [1, 64] if quick else F_BATCHES
    reps = 3 if quick else 5
    out: dict = {"method": "ngd", "eta": 0.1, "repeats": reps, "rows": []}
    for n, T, d in F_SHAPES:
        for B in batches:
            batch = batch_of(B, n, T, d)
            steps = _steps_for(B, n, T, d)
            rungs = ladder.rungs(batch, 0.1)
            ref = _ours_run("numpy", "gram", batch, 20)()
            agree = {k: cb.agreement(k, ref, f(20)) for k, f in rungs.items()}
            contenders = {**{k: (lambda f=f, s=steps: f(s)) for k, f in rungs.items()},
                          "project": _ours_run("numpy", "gram", batch, steps)}
            times = cb.interleaved(contenders, reps)
            row = {"shape": [n, T, d], "B": B, "timed_steps": steps, "agreement": agree,
                   "s_per_step_median": {k: float(np.median(v)) / steps for k, v in times.items()},
                   "times_plain": {k: cb.ratio_stats(times, "plain", k) for k in contenders if k != "plain"}}
            out["rows"].append(row)
            print(f"# (f') {n},{T},{d} B={B}: " + ", ".join(
                f"{k} {v['median']:.2f}x" for k, v in row["times_plain"].items()), file=sys.stderr, flush=True)
    return out


# ------------------------------------------------------------------------------------------------ (g)
def bench_hp_competent(quick: bool) -> dict:
    """(g) 50 digits, n = 4, T = 5, d = 40: the project's mpmath Gram run against a plain ``mpmath.fdot`` Gram
    and a python-flint ``arb_mat`` Gram, interleaved, each checked against the project first (1e-12)."""
    from benchmarks import competent as cb

    n, T, d, dps = 4, 5, 40, 50
    inst = generate(n, T, d, seed=7, tokens="orthonormal")
    batch = ac.stack([inst])
    steps = 5 if quick else 20
    bk = get_backend("mpmath", dps)
    problem = ac.build_problem(bk, batch, "gram")
    rule = make_rule("ngd", eta=0.1)

    def ours(s: int = steps) -> np.ndarray:
        tr = run(problem, rule, s, [s])
        return np.asarray(tr.records["W"][-1])

    def as_W(c: list) -> np.ndarray:
        return cb.matrix_from_coefficients(batch, np.array([float(x) for x in c]).reshape(1, n, T))[0]

    contenders: dict[str, Callable[[], Any]] = {
        "ours mpmath gram": ours, "mpmath.fdot gram": lambda: cb.fdot_gram_ngd(inst, steps, 0.1, dps)}
    ref = ours(10)
    agree = {"mpmath.fdot gram": cb.agreement("fdot", ref, as_W(cb.fdot_gram_ngd(inst, 10, 0.1, dps)))}
    ours_names = ["ours mpmath gram"]
    try:
        import flint  # noqa: F401

        contenders["flint arb_mat gram"] = lambda: cb.arb_gram_ngd(inst, steps, 0.1, dps)
        agree["flint arb_mat gram"] = cb.agreement("arb", ref, as_W([float(x.mid()) for x in cb.arb_gram_ngd(
            inst, 10, 0.1, dps)]))
        arb_bk = get_backend("arb", dps)  # Arb balls at the bits of 50 digits (169), the same kernel
        arb_problem = ac.build_problem(arb_bk, batch, "gram")

        def ours_arb(s: int = steps) -> np.ndarray:
            tr = run(arb_problem, rule, s, [s])
            return np.asarray(tr.records["W"][-1])

        contenders["ours arb gram"] = ours_arb
        agree["ours arb gram"] = cb.agreement("ours arb", ref, ours_arb(10))
        ours_names.append("ours arb gram")
    except ImportError:
        pass
    times = cb.interleaved(contenders, 3)
    return {"workload": {"n": n, "T": T, "d": d, "dps": dps, "method": "ngd", "timed_steps": steps},
            "s_per_step_median": {k: float(np.median(v)) / steps for k, v in times.items()}, "agreement": agree,
            "ratios": {f"{o} / {b}": cb.ratio_stats(times, o, b)
                       for o in ours_names for b in contenders if b not in ours_names}}


def bench_gpu(quick: bool) -> dict:
    """The same float64 comparison on CUDA (torch), when a GPU is present; otherwise skipped with the reason."""
    try:
        import torch
    except ImportError:
        return {"skipped": "torch not installed"}
    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device on this machine (torch.cuda.is_available() is False); the GPU figures "
                           "were not measured"}
    from benchmarks import competent as cb

    rows = []
    for n, T, d in F_SHAPES:
        for B in ([64] if quick else [64, 1024]):
            batch = batch_of(B, n, T, d)
            steps = 50
            ours = _ours_run("torch", "gram", batch, steps)
            agree = cb.agreement("torch cuda gram", _ours_run("numpy", "gram", batch, 20)(),
                                 _ours_run("torch", "gram", batch, 20)())
            times = cb.interleaved({"ours torch gram (cuda)": ours,
                                    "ours numpy gram (cpu)": _ours_run("numpy", "gram", batch, steps)}, 3)
            rows.append({"shape": [n, T, d], "B": B, "agreement": agree,
                         "ratio": cb.ratio_stats(times, "ours torch gram (cuda)", "ours numpy gram (cpu)")})
    return {"device": torch.cuda.get_device_name(0), "rows": rows}


# ------------------------------------------------------------------------------------------------ main
def versions() -> dict:
    import mpmath

    v = {"python": platform.python_version(), "numpy": np.__version__, "mpmath": mpmath.__version__,
         "machine": platform.machine(), "processor": platform.processor() or "", "platform": platform.platform()}
    try:
        import torch

        v["torch"] = torch.__version__
        v["torch_threads"] = torch.get_num_threads()
        v["cuda"] = bool(torch.cuda.is_available())
    except ImportError:
        v["torch"] = None
    try:
        import flint

        v["python-flint"] = flint.__version__
    except ImportError:
        v["python-flint"] = None
    import os

    v["cpus"] = os.cpu_count()
    return v


def table(res: dict) -> str:
    lines = ["| section | measurement | value | target | met |", "|---|---|---|---|---|"]
    a = res["throughput"]
    for k, r in a["ratio_to_baseline"].items():
        lines.append(f"| (a) throughput | {k}: {a['instance_steps_per_s'][k]:.4g} inst-steps/s | {r:.3g}x | "
                     f">= {a['target']:.0f}x | {'yes' if r >= a['target'] or k.startswith('baseline') else 'no'} |")
    b = res["high_precision"]
    for k, t in b["s_per_step"].items():
        lines.append(f"| (b) 50 digits | {k} | {t * 1e3:.4g} ms/step | | |")
    lines.append(f"| (b) 50 digits | speed-up gram vs plain | {b['speedup_gram_vs_plain']:.3g}x | >= 20x | "
                 f"{'yes' if b['speedup_gram_vs_plain'] >= 20 else 'no'} |")
    mv = b["matvec"]
    for k in ("s_object_matmul", "s_fdot_rows", "s_flint_arb_mat"):
        if k in mv:
            lines.append(f"| (b) {mv['m']}x{mv['m']} mat-vec | {k} | {mv[k] * 1e6:.4g} us | | |")
    c = res["horizon"]
    for k, v in c.items():
        if isinstance(v, dict) and "horizon" in v:
            ok = v["horizon"] >= c["target_steps"]
            lines.append(f"| (c) horizon | {k} (tried {v['attempted']}) | {v['horizon']} steps ({v['stop']}) | "
                         f">= 1e6 (ours) | {'yes' if ok else ('-' if not k.startswith('ours numpy') else 'no')} |")
    d = res["overhead"]
    for rep in ("gram", "dense"):
        lines.append(f"| (d) overhead | {rep}: ours {d[rep]['s_per_step_ours'] * 1e3:.3g} ms vs bare "
                     f"{d[rep]['s_per_step_bare'] * 1e3:.3g} ms | {d[rep]['ratio']:.3g}x | <= 2x | "
                     f"{'yes' if d[rep]['ratio'] <= 2 else 'no'} |")
    e = res["scaling"]
    for k, s in e["slopes"].items():
        lines.append(f"| (e) scaling | slope of time/step in {k} | {s:.2f} | d/gram ~ 0 | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small repeats and horizons (a smoke run)")
    p.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    p.add_argument("--only", help="comma-separated subset of: competent,ladder,hp_competent,gpu,throughput,"
                   "high_precision,horizon,overhead,scaling")
    p.add_argument("--merge", nargs="+", metavar="JSON", help="merge partial result files (from --only runs) "
                   "into --out and print the table, instead of measuring")
    args = p.parse_args(argv)
    if args.merge:
        import json

        merged: dict = {}
        for f in args.merge:
            merged.update(json.loads(Path(f).read_text()))
        atomic_write_text(args.out, dumps(merged))
        print(table(merged))
        print(f"wrote {args.out}")
        return 0
    sections = {"competent": bench_competent, "ladder": bench_ladder, "hp_competent": bench_hp_competent,
                "gpu": bench_gpu,
                "throughput": bench_throughput, "high_precision": bench_high_precision, "overhead": bench_overhead,
                "scaling": bench_scaling, "horizon": bench_horizon}
    chosen = args.only.split(",") if args.only else list(sections)
    res: dict = {"quick": args.quick, "versions": versions(),
                 "gpu": "not measured: no CUDA device on the benchmark machine (the torch backend picks CUDA by "
                        "itself when torch.cuda.is_available())"}
    t0 = time.perf_counter()
    for name in chosen:
        t1 = time.perf_counter()
        res[name] = sections[name](args.quick)
        print(f"# {name}: {time.perf_counter() - t1:.1f} s", file=sys.stderr, flush=True)
        atomic_write_text(args.out, dumps(res))  # partial results survive an interrupted run
    res["wall_s"] = time.perf_counter() - t0
    atomic_write_text(args.out, dumps(res))
    if set(chosen) == set(sections):
        print(table(res))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
