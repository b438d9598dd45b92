"""The arb backend (Arb balls, python-flint): speed against mpmath and the widths of its enclosures.

    .venv/bin/python benchmarks/arb_backend.py [--quick] [--long] [--out benchmarks/results_arb.json]

Instance A: ``generate(4, 5, 40, 0, tokens="gaussian")`` (tests/test_numerics.py), NGD eta = 0.1 from W0 = 0, the
Gram representation, 50 digits (mpmath) = 169 bits (arb, ``mpmath.libmp.dps_to_prec(50)``).

- ``step``: one Gram NGD step (``verify.trajectory.run`` with its precision watch, one checkpoint at the end,
  divided by the steps), ours on arb and ours on mpmath, against the plain baselines of benchmarks/competent.py
  (an ``mpmath.fdot`` Gram loop and an ``arb_mat`` Gram loop that watch nothing); every contender is checked
  first: the arb balls must contain the mpmath run's c, and the baselines must agree with it to 1e-12;
- ``horizon``: 10^3 NGD steps (``--long``: 10^4), mpmath at 50 digits against ``verify.arb.run_rigorous``
  from the same 169 bits (``arb rigorous``: restarts at twice the bits until every ball is within 1e-8; at a fixed
  169 bits the balls pass 1e-8 near t = 430 and carry no information (NaN) from t ~ 600, so a fixed-bit run is
  only timed in ``step``), 3 interleaved rounds, per-round ratios min / median / max;
- ``widths``: the 10^4-step ``verify trace --backend arb`` run (``theorems.attention.trace.trace_attention``)
  with its ball widths at t = 10^2, 10^3, 10^4 and its wall time (one run).

Timings on a shared 2-core machine: ratios of contenders timed in the same rounds, never absolute targets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import competent as cb  # noqa: E402
from theorems.attention import classifier as ac  # noqa: E402
from theorems.attention.strategies import generate  # noqa: E402
from verify import arb  # noqa: E402
from verify.backends import arb_backend, mpmath_backend  # noqa: E402
from verify.instance import atomic_write_text  # noqa: E402
from verify.methods import make_rule  # noqa: E402
from verify.trajectory import run  # noqa: E402

DPS = 50
ETA = 0.1


def instance_a() -> ac.AttentionInstance:
    return generate(4, 5, 40, 0, tokens="gaussian")


def rounds(contenders: dict[str, Callable[[], Any]], n: int) -> dict[str, list[float]]:
    """Wall times, ``n`` rounds, each round timing every contender once in turn (no warm-up: long runs)."""
    out: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(n):
        for k, f in contenders.items():
            t0 = time.perf_counter()
            f()
            out[k].append(time.perf_counter() - t0)
    return out


def bench_step(quick: bool) -> dict:
    inst = instance_a()
    batch = ac.stack([inst])
    n, T = inst.n, inst.T
    steps = 5 if quick else 20
    rule = make_rule("ngd", ETA)
    p_arb = ac.build_problem(arb_backend(DPS), batch, "gram")
    p_mp = ac.build_problem(mpmath_backend(DPS), batch, "gram")

    def ours(p: Any, s: int = steps) -> Any:
        return run(p, rule, s, [s])

    # checks before timing: the balls contain mpmath's c; the baselines agree with mpmath to 1e-12
    c_mp = _state(p_mp, rule, 10)
    c_arb = _state(p_arb, rule, 10)
    contained = all(b.contains(_exact(v)) for b, v in zip(c_arb.ravel(), c_mp.ravel(), strict=True))
    if not contained:
        raise AssertionError("the arb balls do not contain the mpmath run's c")
    ref = cb.matrix_from_coefficients(batch, np.array([float(x) for x in c_mp.ravel()]).reshape(1, n, T))[0]

    def as_W(c: list) -> np.ndarray:
        return cb.matrix_from_coefficients(batch, np.array([float(x) for x in c]).reshape(1, n, T))[0]

    agree = {"mpmath.fdot gram": cb.agreement("fdot", ref, as_W(cb.fdot_gram_ngd(inst, 10, ETA, DPS))),
             "flint arb_mat gram": cb.agreement("arb_mat", ref, as_W([float(x.mid()) for x in cb.arb_gram_ngd(
                 inst, 10, ETA, DPS)]))}
    contenders: dict[str, Callable[[], Any]] = {
        "ours arb gram": lambda: ours(p_arb),
        "ours mpmath gram": lambda: ours(p_mp),
        "mpmath.fdot gram": lambda: cb.fdot_gram_ngd(inst, steps, ETA, DPS),
        "flint arb_mat gram": lambda: cb.arb_gram_ngd(inst, steps, ETA, DPS),
    }
    times = cb.interleaved(contenders, 3 if quick else 5)
    return {"workload": {"instance": "A (4, 5, 40, seed 0, gaussian)", "dps": DPS, "bits": p_arb.bk.prec,
                         "method": "ngd", "timed_steps": steps},
            "balls_contain_mpmath_c_at_t10": contained, "agreement_with_mpmath": agree,
            "s_per_step_median": {k: float(np.median(v)) / steps for k, v in times.items()},
            "ratios": {f"{b} / ours arb gram": cb.ratio_stats(times, "ours arb gram", b)
                       for b in contenders if b != "ours arb gram"}}


def _state(problem: Any, rule: Any, steps: int) -> np.ndarray:
    bk = problem.bk
    with bk.context():
        c, ms = problem.init(), rule.init(problem.init())
        for t in range(steps):
            c, ms = rule.update(c, ms, problem.first_order(c, metrics=False), t)
    return c


def _exact(v: Any) -> Any:
    """An mpf as an exact Arb ball."""
    import flint

    man, e = v.man_exp
    man = -int(man) if v < 0 else int(man)
    with arb.working_precision(max(64, abs(man).bit_length() + 8)):
        return flint.arb(flint.fmpz(man)) * flint.arb(2) ** int(e)


def bench_horizon(steps: int, n_rounds: int) -> dict:
    inst = instance_a()
    batch = ac.stack([inst])
    rule = make_rule("ngd", ETA)
    got: dict[str, Any] = {}

    def mp() -> None:
        got["mpmath"] = run(ac.build_problem(mpmath_backend(DPS), batch, "gram"), rule, steps, [steps])

    def rigorous() -> None:
        got["arb rigorous"] = arb.run_rigorous(lambda b: ac.build_problem(b, batch, "gram"), rule, steps, [steps],
                                               dps=DPS)

    times = rounds({"mpmath 50 digits": mp, "arb rigorous": rigorous}, n_rounds)
    W = {k: np.asarray(tr.series("W")[-1]) for k, tr in got.items()}
    return {"steps": steps, "rounds": n_rounds,
            "s_median": {k: float(np.median(v)) for k, v in times.items()},
            "ratios": {"mpmath 50 digits / arb rigorous": cb.ratio_stats(times, "arb rigorous", "mpmath 50 digits")},
            "notes": {k: tr.notes for k, tr in got.items()},
            "precision_ok_at_end": {k: bool(tr.precision_ok[-1].all()) for k, tr in got.items()},
            "max_rel_width_at_end": {k: float(np.max(tr.max_rel_error[-1])) for k, tr in got.items()
                                     if k != "mpmath"},
            "W_rel_diff_vs_mpmath": {k: cb.rel_diff(W[k], W["mpmath"]) for k in W if k != "mpmath"}}


def bench_widths(steps: int) -> dict:
    from theorems.attention.trace import trace_attention

    inst = instance_a()
    cps = [t for t in (100, 1000, 10000) if t <= steps]
    t0 = time.perf_counter()
    rows = trace_attention(inst, method="ngd", eta=ETA, steps=steps, checkpoints=cps, backend="arb", dps=DPS)
    wall = time.perf_counter() - t0
    keys = ("t", "dir_err", "log10_dir_err_rad", "log10_W_rad", "log10_loss_gap", "log10_loss_gap_rel_rad",
            "log10_max_nonopt_rel_rad", "log10_norm_rad", "precision_ok", "selected_certain", "dps")
    return {"steps": steps, "wall_s (includes the certified W_mm)": wall, "rows": [{k: r[k] for k in keys}
                                                                                   for r in rows],
            "notes": rows[-1]["notes"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps and rounds (a smoke run)")
    ap.add_argument("--long", action="store_true", help="time 10^4 steps in the horizon section (about 10 min)")
    ap.add_argument("--only", default="step,horizon,widths")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_arb.json")))
    args = ap.parse_args(argv)
    reason = arb.available()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    import flint
    import mpmath

    only = set(args.only.split(","))
    out: dict[str, Any] = {"versions": {"python-flint": flint.__version__, "mpmath": mpmath.__version__,
                                        "mpmath_backend": mpmath.libmp.BACKEND, "numpy": np.__version__}}
    if "step" in only:
        out["step"] = bench_step(args.quick)
        print(json.dumps(out["step"], indent=1))
    if "horizon" in only:
        steps = 200 if args.quick else (10000 if args.long else 1000)
        out["horizon"] = bench_horizon(steps, 3)
        print(json.dumps(out["horizon"], indent=1))
    if "widths" in only:
        out["widths"] = bench_widths(300 if args.quick else 10000)
        print(json.dumps(out["widths"], indent=1))
    atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
