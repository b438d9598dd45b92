"""Regenerate the numbers of docs/findings/jta24.md (JTA24, lp mirror descent).

    .venv/bin/python benchmarks/jta24_findings.py [--steps 3000] [--seeds 6] [--rate-steps 30000] [--out F]

1. D(t_end) of the normalized lp path (W0 = 0) against the certified lq-SVM of the tokens it selects, for
   p, q in P_GRID, on near-orthogonal instances (median and max over seeds).
2. p-dependence of the selected tokens on low-dimensional Gaussian data (d ~ nT/4, W0 = 0): fraction of runs
   selecting opt, and fraction of instances where two values of p select differently.
3. md.rate: plain lp-AttGD from the cone on the first seeds of the claim's strategy, long horizon: the peak of
   D(t), the verdict, and both fitted forms (C (log t)^k and C t^k).
Writes JSON (default benchmarks/jta24_findings.json) and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.lp import LpMirrorDescent, bregman_direction, fixed_decoder_problem
from theorems.attention.strategies import generate
from theorems.attention.svm_lp import solve_lp_att_svm
from theorems.jta24 import CLAIMS, P_GRID, PARAMS, cone_init, eta_for
from verify.backends import get_backend
from verify.errors import InfeasibleProblemError, SolverError
from verify.instance import atomic_write_text
from verify.theory import Settings
from verify.trajectory import run

NP = get_backend("numpy", 15)


def lp_run(inst: ac.AttentionInstance, p: float, steps: int):  # type: ignore[no-untyped-def]
    eta = eta_for(p, steps)
    return run(fixed_decoder_problem(NP, inst), LpMirrorDescent(p, eta, True), steps, [steps]), eta


def table_pq(seeds: int, steps: int) -> dict:
    out: dict = {"D": {}, "precision_ok": True, "instances": []}
    for seed in range(seeds):
        inst = generate(3, 3, 10, seed, "orthonormal", noise=0.1)
        out["instances"].append(inst.meta)
        for p in P_GRID:
            tr, _ = lp_run(inst, p, steps)
            out["precision_ok"] &= bool(tr.precision_ok.all())
            alpha = tuple(int(a) for a in tr.series("selected")[-1])
            W = tr.series("W")[-1:]
            for q in P_GRID:
                sol = solve_lp_att_svm(inst.X, inst.z, alpha, q)
                assert sol.certified, sol.note
                out["D"].setdefault(f"{p:g}", {}).setdefault(f"{q:g}", []).append(
                    float(bregman_direction(W, sol.W, p)[0]))
    return out


def selection_vs_p(seeds: int, steps: int, n: int = 8, T: int = 8) -> dict:
    d = max(2, round(n * T / 4))
    rows = []
    for seed in range(seeds):
        inst = generate(n, T, d, seed, "gaussian-low-d")
        opt = ac.optimal_tokens(inst)
        sel = {}
        for p in P_GRID:
            tr, _ = lp_run(inst, p, steps)
            sel[f"{p:g}"] = [int(a) for a in tr.series("selected")[-1]]
        rows.append({"seed": seed, "opt": [int(a) for a in opt], "selected": sel,
                     "is_opt": {k: v == [int(a) for a in opt] for k, v in sel.items()},
                     "all_p_agree": len({tuple(v) for v in sel.values()}) == 1})
    return {"n": n, "T": T, "d": d, "rows": rows,
            "fraction_opt": {f"{p:g}": float(np.mean([r["is_opt"][f"{p:g}"] for r in rows])) for p in P_GRID},
            "fraction_all_p_agree": float(np.mean([r["all_p_agree"] for r in rows]))}


def rate_fits(count: int, steps: int) -> list[dict]:
    claim = CLAIMS["md.rate"]
    out = []
    for seed in range(count):
        for p in (1.25, 2.0, 3.0):
            inst = generate(2, 3, 7, seed, "orthonormal", noise=0.1)
            alpha = [int(a) for a in ac.optimal_tokens(inst)]
            try:
                sol = solve_lp_att_svm(inst.X, inst.z, alpha, p)
            except (InfeasibleProblemError, SolverError):
                continue
            W0 = cone_init(sol, np.random.default_rng(seed), PARAMS["cone_R"] * 1.5, 0.05)
            inst = ac.make_instance(inst.X, inst.y, inst.u, inst.z, W0, {**inst.meta, "p": p, "alpha": alpha})
            ev = claim.run(inst, Settings(steps=steps), {})
            D = np.asarray(ev.observed)
            out.append({"seed": seed, "p": p, "verdict": ev.verdict, "reason": ev.reason,
                        "t_peak": ev.extra["t_peak"], "D_peak": float(D.max()), "D_end": float(D[-1]),
                        "fit_log": ev.extra["fit_log"], "fit_power": ev.extra["fit_power"],
                        "precision_ok": ev.precision_ok})
    return out


def _num(x: float | None) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.3g}"


def markdown(res: dict) -> str:
    lines = ["| p \\ q | " + " | ".join(f"{q:g}" for q in P_GRID) + " |", "|---" * (len(P_GRID) + 1) + "|"]
    for p in P_GRID:
        cells = []
        for q in P_GRID:
            v = res["table"]["D"][f"{p:g}"][f"{q:g}"]
            cells.append(f"{np.median(v):.2e} (max {np.max(v):.1e})")
        lines.append(f"| {p:g} | " + " | ".join(cells) + " |")
    sel = res["selection"]
    lines += ["", f"selection (n={sel['n']}, T={sel['T']}, d={sel['d']}): fraction selecting opt "
              f"{sel['fraction_opt']}; all p agree on {sel['fraction_all_p_agree']:.2f} of instances", "",
              "| seed | p | verdict | t_peak | D_peak | D_end | k in C (log t)^k | k in C t^k |", "|---" * 8 + "|"]
    for r in res["rate"]:
        kl, kp = r["fit_log"]["exponent"], r["fit_power"]["exponent"]
        lines.append(f"| {r['seed']} | {r['p']:g} | {r['verdict']} | {r['t_peak']} | {r['D_peak']:.3g} | "
                     f"{r['D_end']:.3g} | {_num(kl)} | {_num(kp)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--rate-steps", type=int, default=30000)
    ap.add_argument("--rate-seeds", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    ap.add_argument("--from-json", help="only print the tables of an earlier run's JSON")
    args = ap.parse_args()
    if args.from_json:
        print(markdown(json.loads(Path(args.from_json).read_text())))
        return
    t0 = time.time()
    res = {"steps": args.steps, "seeds": args.seeds, "eta": {f"{p:g}": eta_for(p, args.steps) for p in P_GRID}}
    res["table"] = table_pq(args.seeds, args.steps)
    res["selection"] = selection_vs_p(20, args.steps)
    res["rate"] = rate_fits(args.rate_seeds, args.rate_steps)
    res["seconds"] = time.time() - t0
    atomic_write_text(args.out, json.dumps(res, indent=1, default=float))
    print(markdown(res))
    print(f"\n{res['seconds']:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
