"""Which max-margin solution does each method's direction approach? The figures of docs/findings/implicit-bias.md.

    nice .venv/bin/python benchmarks/implicit_bias.py [--instances 12] [--steps 100000] [--out benchmarks/results]

On ``--instances`` near-orthogonal instances (n = T = 3, d = 10 >= nT, orthonormal frame plus 0.1 noise, W0 = 0;
the first seeds of ``theorems.attention.strategies.generate`` that meet every assumption of theorems.bias), the
same for every method, each method runs ONE batched float64 trajectory to ``--steps`` steps; at the horizons
10^2, 10^3, 10^4 (and 10^5 with the default) the direction of W_t is compared with every max-margin solution of
the optimal tokens, each in its own norm (both sides normalized in that norm, the distance measured in it, so
every distance lies in [0, 2]):

- l2: the certified Att-SVM W_mm; lp, p in {1.1, 1.5, 3}: the certified lp-Att-SVMs (unique solutions);
- l-inf and l1: the LPs of theorems.attention.svm_linf, whose solutions need not be unique: the distance to the
  SET of optimal directions (an LP; a lower bound up to the solver's tolerance), the distance to the one returned
  solution (an upper bound on it), the normalized-margin ratio s* gamma_q(W_t) (1 exactly on the optimal set)
  and the solver-free witness (1/s* - gamma_q(W_t))/max_k ||a_k||_{q*} <= distance to the set.

Methods: gd (eta 0.1), ngd (0.1), polyak (c = 1), adam (lr 0.1, eps 1e-8), rmsprop (lr 0.1, eps 1e-8), signgd
(0.1), lp-md normalized (p in {1.1, 1.5, 3}, JTA24's eta_for(p, steps)); and the second, independent checks:
adam with eps = 0, with lr 0.01 and with the decaying lr 0.1/sqrt(t+1); rmsprop with eps = 0 and the decaying lr;
signgd with eta 0.01 and with 0.1/sqrt(t+1). Per instance the ln-ln slope of the l-inf
set distance over the last decade is fitted (median and IQR reported).

Writes ``OUT/implicit_bias.json`` (every figure, per instance), ``OUT/implicit_bias_table.md`` (the Markdown tables
of the findings page) and ``docs/findings/img/implicit-bias.png``. With the defaults: 4.5 minutes of CPU (13
minutes of wall time on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.lp import lp_normalize
from theorems.attention.strategies import generate
from theorems.attention.svm import solve_att_svm
from theorems.attention.svm_linf import (
    margin_lower_bound,
    margin_ratio,
    point_distance,
    set_distance,
    solve_poly_att_svm,
)
from theorems.attention.svm_lp import solve_lp_att_svm
from theorems.bias import CORE, _holds
from theorems.jta24 import eta_for
from verify.backends import get_backend
from verify.instance import atomic_write_text
from verify.methods import adam, make_method, rmsprop, sign_gd
from verify.trajectory import log_checkpoints, run

ROOT = Path(__file__).resolve().parents[1]
P_LIST = (1.1, 1.5, 3.0)
SHAPE = (3, 3, 10)
MAIN = ("gd", "ngd", "polyak", "adam", "rmsprop", "signgd", "lp-md p=1.1", "lp-md p=1.5", "lp-md p=3")
CHECKS = ("adam eps=0", "adam lr=0.01", "adam lr=0.1/sqrt(t+1)", "rmsprop eps=0", "rmsprop lr=0.1/sqrt(t+1)",
          "signgd eta=0.01", "signgd eta=0.1/sqrt(t+1)")


def instances(k: int) -> list[ac.AttentionInstance]:
    out, seed = [], 0
    while len(out) < k:
        inst = generate(*SHAPE, seed, "orthonormal", 0.1, 0.0)
        seed += 1
        if _holds(inst, CORE):
            out.append(inst)
    return out


def methods(steps: int) -> dict:
    m = {"gd": make_method("gd", eta=0.1), "ngd": make_method("ngd", eta=0.1), "polyak": make_method("polyak"),
         "adam": adam(0.1), "rmsprop": rmsprop(0.1), "signgd": sign_gd(0.1)}
    for p in P_LIST:
        m[f"lp-md p={p:g}"] = make_method("lp-md", p=p, eta=eta_for(p, steps), normalized=True)
    m.update({"adam eps=0": adam(0.1, eps=0.0), "adam lr=0.01": adam(0.01),
              "adam lr=0.1/sqrt(t+1)": adam(0.1, decay_power=0.5), "rmsprop eps=0": rmsprop(0.1, eps=0.0),
              "rmsprop lr=0.1/sqrt(t+1)": rmsprop(0.1, decay_power=0.5), "signgd eta=0.01": sign_gd(0.01),
              "signgd eta=0.1/sqrt(t+1)": sign_gd(0.1, 0.5)})
    return m


def pdist(W: np.ndarray, U: np.ndarray, p: float) -> float:
    """||W/||W||_p - U/||U||_p||_p (entrywise)."""
    D = lp_normalize(W[None], p)[0] - lp_normalize(U[None], p)[0]
    return float(np.sum(np.abs(D) ** p) ** (1 / p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=12)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--png", default=str(ROOT / "docs" / "findings" / "img" / "implicit-bias.png"))
    args = ap.parse_args()
    t_start = time.time()
    insts = instances(args.instances)
    opt = [tuple(int(a) for a in ac.optimal_tokens(i)) for i in insts]
    svms: dict[str, list] = {"l2": [solve_att_svm(i.X, i.z, a) for i, a in zip(insts, opt, strict=True)]}
    for p in P_LIST:
        svms[f"l{p:g}"] = [solve_lp_att_svm(i.X, i.z, a, p) for i, a in zip(insts, opt, strict=True)]
    for q in ("inf", "1"):
        svms[f"l{q}"] = [solve_poly_att_svm(i.X, i.z, a, q) for i, a in zip(insts, opt, strict=True)]
    certs = {k: [bool(s.certified) for s in v] for k, v in svms.items()}
    exact = {q: [list(s.polished) for s in svms[f"l{q}"]] for q in ("inf", "1")}
    horizons = [h for h in (100, 1000, 10_000, 100_000) if h <= args.steps]
    cps = sorted(set(log_checkpoints(args.steps, 4, 10)) | set(horizons))
    bk = get_backend("numpy")
    results: dict = {}
    for name, rule in methods(args.steps).items():
        t0 = time.time()
        tr = run(ac.build_problem(bk, ac.stack(insts), "dense"), rule, args.steps, cps)
        W = np.asarray(tr.records["W"], dtype=float)  # (len(t), B, d, d)
        per: dict = {"t": list(tr.t), "precision_ok": bool(tr.precision_ok.all()), "rule": rule.to_json()}
        series: dict = {k: [] for k in ("l2", *(f"l{p:g}" for p in P_LIST), "linf_set", "linf_point", "linf_ratio",
                                        "linf_witness", "l1_set", "l1_point", "l1_ratio", "l1_witness")}
        for k in range(len(tr.t)):
            rows: dict = {key: [] for key in series}
            for b, inst in enumerate(insts):
                Wk = W[k, b]
                if not np.any(Wk):
                    for key in rows:
                        rows[key].append(math.nan)
                    continue
                rows["l2"].append(pdist(Wk, svms["l2"][b].W, 2.0))
                for p in P_LIST:
                    rows[f"l{p:g}"].append(pdist(Wk, svms[f"l{p:g}"][b].W, p))
                for q in ("inf", "1"):
                    s = svms[f"l{q}"][b]
                    dense = tr.t[k] in horizons or q == "inf"
                    rows[f"l{q}_set"].append(set_distance(Wk, s, inst.X, inst.z) if dense else math.nan)
                    rows[f"l{q}_point"].append(point_distance(Wk, s))
                    rows[f"l{q}_ratio"].append(margin_ratio(Wk, s, inst.X, inst.z))
                    rows[f"l{q}_witness"].append(margin_lower_bound(Wk, s, inst.X, inst.z))
            for key in series:
                series[key].append(rows[key])
        per["series"] = series
        # ln-ln slope of the l-inf set distance over the last decade, per instance
        t = np.asarray(tr.t, dtype=float)
        tail = t >= t[-1] / 10
        D = np.asarray(series["linf_set"], dtype=float)
        slopes = []
        for b in range(len(insts)):
            y = D[tail, b]
            slopes.append(float(np.polyfit(np.log(t[tail]), np.log(y), 1)[0]) if np.all(y > 0) else math.nan)
        per["linf_slope_last_decade"] = slopes
        results[name] = per
        print(f"{name:16s} {time.time() - t0:6.1f}s  precision_ok={per['precision_ok']}", flush=True)
    out = {"shape": {"n": SHAPE[0], "T": SHAPE[1], "d": SHAPE[2]}, "generator": "generate(3, 3, 10, seed, "
           "'orthonormal', noise=0.1)", "seeds": [int(i.meta["seed"]) for i in insts], "steps": args.steps,
           "horizons": horizons, "svm_certified": certs, "lp_exact_vertex": exact,
           "svm_norms": {k: [float(s.norm) for s in v] for k, v in svms.items()}, "methods": results,
           "seconds": time.time() - t_start}
    text = dumps_rounded(out)
    out = json.loads(text)  # the tables and the figure are drawn from exactly what the JSON holds
    od = Path(args.out)
    od.mkdir(parents=True, exist_ok=True)
    atomic_write_text(od / "implicit_bias.json", text)
    atomic_write_text(od / "implicit_bias_table.md", tables(out))
    plot(out, Path(args.png))
    print(tables(out))
    print(f"total {time.time() - t_start:.0f}s")


def _rounded(x: object) -> object:
    """Floats to 7 significant digits (far finer than any figure reported), recursively."""
    if isinstance(x, float):
        return float(f"{x:.7g}") if math.isfinite(x) else x
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_rounded(v) for v in x]
    return x


def dumps_rounded(out: dict) -> str:
    """The JSON written: floats to 7 significant digits, NaN where a figure is undefined (W_t = 0 at t = 0)."""
    return json.dumps(_rounded(out), allow_nan=True, separators=(",", ":")) + "\n"


def _stat(values: list[float]) -> str:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if not len(v):
        return "n/a"
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return f"{med:.3f} [{q1:.3f}, {q3:.3f}]"


COLS = (("l2", "ℓ2"), ("l1.1", "ℓ1.1"), ("l1.5", "ℓ1.5"), ("l3", "ℓ3"), ("linf_set", "ℓ∞ set"),
        ("linf_point", "ℓ∞ one sol."), ("linf_ratio", "ℓ∞ margin ratio"), ("l1_set", "ℓ1 set"),
        ("l1_ratio", "ℓ1 margin ratio"))


def tables(out: dict) -> str:
    lines = []
    for h in out["horizons"]:
        lines += [f"**t = {h}** (median [IQR] over {len(out['seeds'])} instances)", "",
                  "| method | " + " | ".join(c[1] for c in COLS) + " |", "|---" * (len(COLS) + 1) + "|"]
        for name, per in out["methods"].items():
            k = per["t"].index(h)
            lines.append(f"| {name} | " + " | ".join(_stat(per["series"][c[0]][k]) for c in COLS) + " |")
        lines.append("")
    lines += ["**ℓ∞ set distance: ln-ln slope over the last decade, and the margin witness at the end** (median "
              "[IQR])", "", "| method | slope | witness (lower bound on the set distance) |", "|---|---|---|"]
    for name, per in out["methods"].items():
        lines.append(f"| {name} | {_stat(per['linf_slope_last_decade'])} | "
                     f"{_stat(per['series']['linf_witness'][-1])} |")
    return "\n".join(lines) + "\n"


def plot(out: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    panels = (("l2", "distance to the ℓ2 Att-SVM direction"), ("linf_set", "ℓ∞ distance to the ℓ∞ Att-SVM set"),
              ("linf_ratio", "ℓ∞ normalized-margin ratio s* γ∞(W_t)"))
    for ax, (key, title) in zip(axes, panels, strict=True):
        for name, per in out["methods"].items():
            t = np.asarray(per["t"], dtype=float)
            v = np.asarray(per["series"][key], dtype=float)
            med = np.nanmedian(v, axis=1)
            style = "--" if name in CHECKS else "-"
            ax.plot(t, med, style, label=name)
        ax.set_xscale("log")
        if key != "linf_ratio":
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("t (steps)")
        ax.grid(True, which="both", alpha=0.3)
    axes[-1].legend(fontsize=7, ncol=2)
    fig.suptitle(f"median over {len(out['seeds'])} instances (n = T = 3, d = 10); dashed: second checks")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
