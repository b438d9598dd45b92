"""Regenerate every number in docs/findings/gsb26.md.

    .venv/bin/python benchmarks/gsb26_findings.py [--out /tmp/gsb26_findings.json]

Prints Markdown tables to stdout and writes the raw numbers as JSON. Deterministic (fixed seeds); float64 numpy.
Runtime: a few minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from typing import Any

import numpy as np
import scipy
import sympy

from theorems import gsb26
from theorems.regression import algorithm as alg
from theorems.regression import limit
from theorems.regression import regressor as ar
from verify.checks import bootstrap_exponent_se, fit_geometric, fit_power, ols
from verify.engine import evaluate
from verify.instance import atomic_write_text, dumps
from verify.profiles import PROFILES, claim_settings
from verify.stat_checks import clopper_pearson, steps_to_reach
from verify.theory import Evidence

CI = claim_settings(PROFILES["ci"])

BASE = {"d": 3, "d_y": 2, "n": 400, "sigma_spectrum": [1.0, 0.6, 0.4], "m_singular_values": [1.0, 0.6],
        "noise": 0.0, "distribution": "gaussian", "seed": 0}


def inst(**kw: Any) -> ar.RegressionInstance:
    return ar.make_instance(**{**BASE, **kw})


def g(x: float) -> str:
    return "inf" if x == math.inf else ("nan" if not math.isfinite(x) else f"{x:.3g}")


def table(head: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(g(c) if isinstance(c, float) else str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def judged(claim_id: str, instance: ar.RegressionInstance) -> Evidence:
    """The claim on one instance at the ci profile, observed and judged by the engine (``verify.engine.evaluate``)."""
    return evaluate(gsb26.CLAIMS[claim_id], instance, CI)


def role(dist: str, claim_id: str) -> tuple[ar.RegressionInstance, str]:
    """The base instance with token law ``dist``: Gaussian is a check of the claim; any other law is an audit, built
    by gsb26.audit_instance (the variants breaks(claim, 'gaussian_tokens') draws from), and labelled as one."""
    if dist == "gaussian":
        return inst(), "gaussian (check)"
    return gsb26.audit_instance(inst(), claim_id, "gaussian_tokens", dist), f"{dist} (audit: gaussian_tokens broken)"


def population(res: dict) -> str:
    """Finite-n squared gap of the layer vs n (A = I, B = (0.5/sqrt d) Sigma^{-1}): Gaussian tokens check the claim;
    the other laws are audits of the broken gaussian_tokens assumption. E||gap|| is reported as sampling noise."""
    grid = [128 * 2**k for k in range(7)]
    Sigma = ar.realize(inst()).Sigma
    rows = []
    for dist in ar.DISTRIBUTIONS:
        sub, label = role(dist, "gsb.population")
        cur = limit.gap_curve(Sigma, sub.distribution, grid, 16, 64, 0.5, 0)
        ps, _ = fit_power(np.asarray(grid, float), np.asarray(cur["sq"]))
        pa, _ = fit_power(np.asarray(grid, float), np.asarray(cur["abs"]))
        se = bootstrap_exponent_se(grid, cur["reps_sq"])
        a = np.array([0.4, -0.3, 0.2])
        mu, sd = limit.tilting_monte_carlo(Sigma, a, 200000, 1, dist)
        z = float(np.max(np.abs(mu - Sigma @ a) / sd))
        rows.append([label, ps, se, pa, cur["sq"][0], cur["sq"][-1], z])
        res.setdefault("population", {})[dist] = {**cur, "n": grid, "slope_sq": ps, "slope_se": se,
                                                 "slope_abs": pa, "mc_max_z": z}
    return table(["tokens (role)", "slope E||gap||^2 (claimed -1)", "bootstrap se",
                  "slope E||gap|| (noise, not claimed)", "E||gap||^2 n=128",
                  "E||gap||^2 n=8192", "tilting MC max |z| (N=2e5)"], rows)


def kappa(res: dict) -> str:
    p = gsb26.CLAIM_PARAMS["gsb.kappa-free"]
    ev = judged("gsb.kappa-free", inst(n=400))
    rows = [[r["vary"], r["kappa"], r["precond"]["rho"], r["precond"]["steps"], r["precond"]["floor"],
             r["gd"]["rho"], r["gd"]["steps"], r["gd"]["floor"]] for r in ev.extra["table"]]
    res["kappa"] = {"verdict": ev.verdict, "reason": ev.reason, "table": ev.extra["table"], "params": p}
    return table(["vary", "kappa", "precond rho", "precond steps", "precond floor", "gd rho", "gd steps",
                  "gd floor"], rows) + f"\n\nverdict: **{ev.verdict}**: {ev.reason}"


def kappa_population(res: dict) -> str:
    """The same kappa sweep with the population gradient (no finite-n floor): the steps until pop_loss <= 1e-10
    (max 3000), exact (every step is a checkpoint), and the contraction factor rho, fitted on the last 8 of the
    default log-spaced checkpoints (``alg.checkpoints``) above 1e-12."""
    rows = []
    out = []
    cps = np.asarray(alg.checkpoints(alg.resolve_options({"steps": 3000})))
    for which in ("sigma", "m"):
        for k in (1.0, 10.0, 100.0, 1000.0):
            kw = {"sigma_spectrum": gsb26.kappa_spectrum(3, k)} if which == "sigma" else \
                {"m_singular_values": gsb26.kappa_spectrum(2, k)}
            row: list[Any] = [which, k]
            rec_out: dict[str, Any] = {"vary": which, "kappa": k}
            for name, o in (("precond", {"method": "precond", "regularizer": False, "renorm": False}),
                            ("precond_undamped", {"method": "precond", "regularizer": False, "renorm": False,
                                                  "damping": 1e-10}),
                            ("gd", {"method": "gd", "regularizer": False, "renorm": False})):
                traj = alg.train(inst(n=100, **kw), {**o, "gradient": "population", "init": "random",
                                                      "init_scale": 0.3, "steps": 3000, "eta": 0.5,
                                                      "checkpoints": list(range(3001))})
                e = traj.series("pop_loss")
                s_ = steps_to_reach(traj.t, e.tolist(), 1e-10)
                t, e = cps.astype(float), e[cps]
                sel = (e > 1e-12) & (t >= 1)
                rho = float(math.exp(ols(t[sel][-8:], np.log(e[sel][-8:]))[0])) if sel.sum() >= 3 else math.nan
                row += [rho, s_]
                rec_out[name] = {"rho_tail": rho, "steps": s_, "final": float(e[-1])}
            rows.append(row)
            out.append(rec_out)
    res["kappa_population"] = out
    return table(["vary", "kappa", "precond (damping 0.1) rho", "steps to 1e-10", "precond (damping 1e-10) rho",
                  "steps to 1e-10", "gd rho", "gd steps to 1e-10"], rows)


def floors(res: dict) -> str:
    """Plateau (floor) of pop_loss and test_error vs n, mean over 3 data seeds, 150 steps."""
    rows = []
    out: dict[str, Any] = {}
    grid = [100, 200, 400, 800, 1600]
    configs = [("full, random init", {**gsb26.FULL, "init": "random", "init_scale": 0.3}),
               ("full, spectral init", dict(gsb26.FULL)),
               ("full without regularizer, spectral", {**gsb26.FULL, "regularizer": False}),
               ("spectral init only (t = 0)", {**gsb26.FULL, "steps": 1}),
               ("full, population gradient", {**gsb26.FULL, "init": "random", "init_scale": 0.3,
                                              "gradient": "population", "regularizer": False})]
    for label, o in configs:
        fl, te, rh = [], [], []
        for n in grid:
            f_s, t_s, r_s = [], [], []
            for seed in range(3):
                traj = alg.train(inst(n=n, seed=seed), {"steps": 150, **o})
                k = 1 if label.startswith("spectral init only") else len(traj.t)
                t, e = np.asarray(traj.t[:k], float), traj.series("pop_loss")[:k]
                fit = fit_geometric(t, e) if len(e) > 3 else None
                f_s.append(fit.floor if fit is not None else float(e[-1]))
                t_s.append(float(traj.series("test_error")[k - 1]))
                r_s.append(fit.rate if fit is not None else math.nan)
            fl.append(float(np.mean(f_s)))
            te.append(float(np.mean(t_s)))
            rh.append(float(np.nanmedian(r_s)) if np.isfinite(r_s).any() else math.nan)
        sp, _ = fit_power(np.asarray(grid, float), np.asarray(fl))
        st, _ = fit_power(np.asarray(grid, float), np.asarray(te))
        out[label] = {"n": grid, "pop_floor": fl, "test_error": te, "rho": rh, "slope_pop": sp, "slope_test": st}
        rows.append([label] + [f"{f:.2g} / {x:.2g} (rho {g(r)})" for f, x, r in zip(fl, te, rh, strict=True)]
                    + [f"{sp:.2f} / {st:.2f}"])
    res["floors"] = out
    return table(["run: pop_loss floor / test_error (median rho)"] + [f"n={n}" for n in grid]
                 + ["slope in n (pop / test)"], rows)


def ablations(res: dict) -> str:
    ev = judged("gsb.no-spurious", inst(n=400))
    rows = []
    for name, st in ev.extra["steps"].items():
        fin = ev.extra["final"][name]
        rows.append([name, " ".join(g(s) for s in st), float(np.median(fin)), float(np.max(fin))])
    res["ablations"] = {"verdict": ev.verdict, "reason": ev.reason, **ev.extra}
    return table(["config", "steps to factor_error<=0.2 (5 seeds)", "median final factor_error",
                  "max final factor_error"], rows) + f"\n\nverdict: **{ev.verdict}**: {ev.reason}"


def spectral(res: dict) -> str:
    rows = []
    for dist in ("gaussian", "rademacher", "student-t"):
        for ratio in (10, 20, 40, 80):
            dd = [alg.spectral_distance(inst(n=3 * ratio, seed=s, distribution=dist)) for s in range(100)]
            k = sum(x <= 0.5 for x in dd)
            lo, hi = clopper_pearson(k, 100)
            rows.append([dist, ratio, float(np.median(dd)), f"{k}/100", f"[{lo:.3f}, {hi:.3f}]"])
            res.setdefault("spectral", []).append({"tokens": dist, "n_over_d": ratio, "distance": dd, "k": k})
    return table(["tokens", "n/d", "median rel. distance", "within radius 0.5", "95% CP"], rows)


def audit(res: dict) -> str:
    rows = []
    for dist in ("gaussian", "rademacher", "student-t"):
        for cid in ("gsb.geometric", "gsb.no-spurious"):
            sub, label = role(dist, cid)
            ev = judged(cid, sub)
            rows.append([label, cid, ev.verdict, ev.reason[:150].replace("|", "/")])
            res.setdefault("audit", []).append({"dist": dist, "claim": cid, "verdict": ev.verdict,
                                                "reason": ev.reason, "observed": ev.observed})
    return table(["tokens (role)", "claim", "verdict", "reason"], rows)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None, help="also write the raw numbers as JSON to this path")
    args = ap.parse_args()
    res: dict[str, Any] = {"versions": {"python": platform.python_version(), "numpy": np.__version__,
                                        "scipy": scipy.__version__, "sympy": sympy.__version__},
                           "date": time.strftime("%Y-%m-%d")}
    print(f"versions: {res['versions']}")
    for name, fn in [("population gap vs n", population), ("rho vs kappa", kappa),
                     ("rho vs kappa, population gradient", kappa_population), ("floor vs n", floors),
                     ("ablations", ablations), ("spectral init", spectral), ("non-Gaussian audit", audit)]:
        t0 = time.time()
        text = fn(res)
        print(f"\n### {name} ({time.time() - t0:.1f}s)\n\n{text}")
        sys.stdout.flush()
    if args.out:
        atomic_write_text(args.out, dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
