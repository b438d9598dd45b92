"""Regenerate the numbers and figures of docs/findings/realdata.md (attention classification on real digits).

    .venv/bin/python benchmarks/realdata.py [--steps 30000] [--seeds 5] [--img docs/findings/img]

Instances come from :func:`theorems.attention.dataset.digits_instance` (scikit-learn's bundled ``load_digits``, no
download): digits 0 vs 1 and 3 vs 8, n = 40 images (the first 20 of each class), patch P = 4 (T = 4 tokens of
d = 16), centered pixels, query = mean token, W0 = 0. For each:

1. every assumption predicate of the attention model (theorems/attention/assumptions.py): verdict and slack;
   the same at P = 2 (T = 16, d = 4);
2. the certified Att-SVM W_mm of the optimal tokens;
3. NGD (eta = 0.1), the Polyak step (c = 1; c = 2 once more) and GD (eta = 1) from W0 = 0 for ``--steps`` steps
   (float64, Gram representation, as ``verify trace``): the direction error to W_mm at equal steps, the steps to
   reach 0.05, the tokens selected at the end, and the fitted exponent of dir_err ~ C t^p with its OLS standard
   error, on the checkpoints of the last decade of precision-kept data and on t in [steps/30, steps] (every
   checkpoint, with the largest per-step rounding-error bound in that window);
4. joint NGD on (u, W) from u0 = 0 (``verify trace --joint``): the tokens it selects against the fixed-decoder run;
5. NGD and PS on ``--seeds`` seeded selections of the same pairs (``verify dataset digits --seed S``).

Writes the figures (realdata-direction.png, realdata-attention-0v1.png, realdata-attention-3v8.png) and the
numbers (realdata-results.json) into ``--img``, and prints Markdown tables. About 3.5 minutes on one shared core.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from theorems.attention import classifier as ac
from theorems.attention.assumptions import (
    alpha_locally_optimal,
    data_model,
    feasible_svm,
    init_cone,
    near_orthogonal,
    nonopt_support,
    score_gap,
    uniform_scores,
    unique_opt,
)
from theorems.attention.dataset import digits_instance, load_digits_arrays
from theorems.attention.joint import build_joint_problem
from theorems.attention.svm import solve_att_svm
from verify.backends import get_backend
from verify.errors import VerifyInputError
from verify.instance import atomic_write_text, dumps
from verify.methods import make_method
from verify.trajectory import log_checkpoints, run

NP = get_backend("numpy")
ASSUMPTIONS = (unique_opt, score_gap, near_orthogonal, feasible_svm, nonopt_support, uniform_scores,
               alpha_locally_optimal, init_cone, data_model)
METHODS = {"ngd": {"eta": 0.1}, "polyak": {"eta": 0.1, "c": 1.0}, "gd": {"eta": 1.0}}
TARGET = 0.05
PAIRS = ((0, 1), (3, 8))


def assumption_table(inst: ac.AttentionInstance) -> dict[str, dict]:
    cache: dict = {}
    out = {}
    for a in ASSUMPTIONS:
        r = a.predicate(inst, cache)
        out[a.id] = {"verdict": r.verdict, "slack": float(r.slack), "detail": r.detail}
    return out


def fit_slope(t: np.ndarray, e: np.ndarray) -> dict[str, Any]:
    """OLS of log e on log t: slope p and its standard error (residual-based; checkpoints of one run are not
    independent draws, so the SE measures the fit's curvature-free scatter, not sampling noise)."""
    good = np.isfinite(e) & (e > 0)
    x, v = np.log(t[good]), np.log(e[good])
    if len(x) < 3:
        return {"p": math.nan, "se": math.nan, "points": int(len(x)), "t": [float(v) for v in t[good][[0, -1]]]
                if len(x) else []}
    A = np.stack([x, np.ones_like(x)], axis=1)
    coef, res, *_ = np.linalg.lstsq(A, v, rcond=None)
    resid = v - A @ coef
    s2 = float(resid @ resid) / (len(x) - 2)
    se = math.sqrt(s2 / float(np.sum((x - x.mean()) ** 2)))
    return {"p": float(coef[0]), "se": se, "points": int(len(x)), "t": [float(t[good][0]), float(t[good][-1])]}


class Guarded:
    """A fixed-decoder problem whose metrics, when the kernel refuses them (``FloatingPointError``: a loss-gap term
    that is not positive, i.e. precision is gone, as on a diverging Polyak run), come back as NaN with an infinite
    rounding-error estimate: the runner then flags every later checkpoint (precision_ok false) instead of
    stopping the whole study. ``failed_at`` counts the first-order calls before the first refusal."""

    def __init__(self, inner: ac.FixedDecoderProblem) -> None:
        self.inner, self.calls, self.failed_at = inner, 0, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def first_order(self, state: Any, metrics: bool = True) -> Any:
        self.calls += 1
        try:
            return self.inner.first_order(state, metrics)
        except FloatingPointError:
            if self.failed_at is None:
                self.failed_at = self.calls - 1
            fo = self.inner.first_order(state, False)
            nan = np.full(fo.log_grad_norm.shape, math.nan)
            k = fo.kernel._replace(loss=nan, log_loss_gap=nan, log_max_nonopt=nan)
            return fo._replace(kernel=k, log_loss_gap=nan, rel_error=np.full(nan.shape, math.inf))


def fixed_run(inst: ac.AttentionInstance, method: str, steps: int, cps: list[int], W_mm: np.ndarray,
              params: dict | None = None) -> dict:
    """One fixed-decoder run from the instance's W0, as ``verify trace`` runs it (float64, Gram)."""
    problem = Guarded(ac.build_problem(NP, ac.stack([inst]), "gram"))
    t0 = time.time()
    with np.errstate(all="ignore"):
        tr = run(problem, make_method(method, **(params or METHODS[method])), steps, cps)  # type: ignore[arg-type]
    stopped = (None if problem.failed_at is None else
               f"the loss-gap term went non-positive at step {problem.failed_at} (precision gone)")
    t = np.asarray(tr.t, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        err, _ = ac.direction_error(tr.series("W"), W_mm)
    ok = tr.precision_ok[:, 0]
    rel = tr.max_rel_error[:, 0]
    opt = ac.optimal_tokens(inst)
    sel = tr.series("selected")
    last_ok = int(np.max(np.flatnonzero(ok))) if ok.any() else -1
    out: dict[str, Any] = {
        "t": tr.t, "dir_err": err.tolist(), "precision_ok": ok.tolist(), "max_rel_error": rel.tolist(),
        "norm": tr.series("norm").tolist(), "seconds": round(time.time() - t0, 2), "stopped": stopped,
        "last_precise_t": tr.t[last_ok] if last_ok >= 0 else None,
        "selected_final": sel[-1].tolist(), "selected_opt_final": int(np.sum(sel[-1] == opt)),
        "selected_opt_at_last_precise": int(np.sum(sel[last_ok] == opt)) if last_ok >= 0 else None,
        "W_final": tr.series("W")[-1], "W_series": tr.series("W"),
    }
    reach = [(tt, bool(k)) for tt, e, k in zip(tr.t, err, ok, strict=True) if e <= TARGET]
    out["steps_to_target"], out["target_reached_precisely"] = reach[0] if reach else (None, None)
    if last_ok >= 0:
        tl = t[last_ok]
        w = ok & (t >= tl / 10) & (t <= tl)
        out["fit_precise"] = fit_slope(t[w], err[w])
    w = (t >= steps / 30) & np.isfinite(err)
    out["fit_tail"] = {**fit_slope(t[w], err[w]), "max_rel_error": float(np.max(rel[w])) if w.any() else math.nan,
                       "all_precise": bool(ok[w].all())}
    out["local_slopes"] = local_slopes(t, err, ok)
    return out


def local_slopes(t: np.ndarray, e: np.ndarray, ok: np.ndarray) -> list[dict]:
    """Slopes of log e vs log t over consecutive half decades from t = 100 (whether the slope drifts)."""
    out = []
    lo = 100.0
    while lo * math.sqrt(10) <= t[-1] * 1.0001:
        hi = lo * math.sqrt(10)
        w = (t >= lo) & (t <= hi * 1.0001)
        if w.sum() >= 3:
            f = fit_slope(t[w], e[w])
            out.append({"t": [lo, hi], "p": f["p"], "precise": bool(ok[w].all())})
        lo = hi
    return out


def attention(inst: ac.AttentionInstance, W: np.ndarray) -> np.ndarray:
    a = np.einsum("ntd,de,ne->nt", inst.X, W, inst.z)
    a -= a.max(axis=1, keepdims=True)
    s = np.exp(a)
    return s / s.sum(axis=1, keepdims=True)


def joint_run(inst: ac.AttentionInstance, steps: int, cps: list[int]) -> dict:
    t0 = time.time()
    with np.errstate(all="ignore"):
        tr = run(build_joint_problem(NP, [inst]), make_method("ngd", eta=0.1, normalize="joint"), steps, cps)
    u = tr.series("u")[-1]
    W = tr.series("Wmat")[-1]
    sel = tr.series("selected")[-1]
    g_learned = inst.y[:, None] * np.einsum("ntd,d->nt", inst.X, u)
    return {"seconds": round(time.time() - t0, 2), "precision_ok": bool(tr.precision_ok[:, 0].all()),
            "selected_final": sel.tolist(), "u_corr_instance_u": float(u @ inst.u / np.linalg.norm(u)),
            "opt_of_learned_u": np.argmax(g_learned, axis=1).tolist(),
            "log10_loss_final": float(tr.series("log_loss")[-1] / math.log(10)),
            "W_final": W, "u_final": u}


def draw_attention(path: Path, inst: ac.AttentionInstance, images: np.ndarray, fixed: dict, joint: dict,
                   title: str, per_class: int = 5) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    P, k = inst.meta["patch"], 8 // inst.meta["patch"]
    s_fix, s_joint = attention(inst, fixed["W_final"]), attention(inst, joint["W_final"])
    n_a = int(np.sum(inst.y > 0))
    rows = [list(range(per_class)), list(range(n_a, n_a + per_class))]
    fig, axes = plt.subplots(2, per_class, figsize=(2.1 * per_class, 5.5))
    opt = ac.optimal_tokens(inst)
    for r, seqs in enumerate(rows):
        for c, i in enumerate(seqs):
            ax = axes[r, c]
            ax.imshow(images[inst.meta["indices"][i]], cmap="gray_r", vmin=0, vmax=16)
            tf, tj = int(fixed["selected_final"][i]), int(joint["selected_final"][i])
            for tok, colour, style, inset in ((tf, "tab:red", "-", 0.0), (tj, "tab:cyan", "--", 0.22)):
                rr, cc = divmod(tok, k)
                ax.add_patch(Rectangle((cc * P - 0.5 + inset, rr * P - 0.5 + inset), P - 2 * inset, P - 2 * inset,
                                       fill=False, edgecolor=colour, linestyle=style, linewidth=2.4))
            lab = inst.meta["classes"][0 if inst.y[i] > 0 else 1]
            ax.set_title(f"#{inst.meta['indices'][i]} (digit {lab})\nfixed s={s_fix[i, tf]:.2f}, "
                         f"joint s={s_joint[i, tj]:.2f}", fontsize=7.5)
            ax.set_xticks([])
            ax.set_yticks([])
            if opt[i] != tf:
                ax.set_xlabel(f"opt = patch {opt[i]}", fontsize=7)
    fig.suptitle(f"{title}: patch selected by fixed-decoder NGD (red, = opt here) and by joint NGD (cyan, dashed)",
                 fontsize=8.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_direction(path: Path, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8))
    colours = {"ngd": "tab:blue", "polyak": "tab:orange", "gd": "tab:green"}
    for ax, (name, res) in zip(np.atleast_1d(axes), results.items(), strict=True):
        for m, r in res["runs"].items():
            t, e, ok = np.array(r["t"], float), np.array(r["dir_err"]), np.array(r["precision_ok"])
            keep = (t > 0) & np.isfinite(e)
            ax.loglog(t[keep & ok], e[keep & ok], "-", color=colours[m], label=f"{m}", lw=1.6)
            bad = keep & ~ok
            if bad.any():
                ax.loglog(t[bad], e[bad], "o", mfc="none", ms=3.5, color=colours[m],
                          label=f"{m}: precision flag off")
            norms = np.array(r["norm"], dtype=float)
            blown = np.flatnonzero(~np.isfinite(norms) | (norms > 1e30))
            if blown.size:
                tb = r["t"][int(blown[0])]
                ax.annotate(f"{m} diverges by t = {tb} (||W_t|| = {norms[blown[0]]:.1e})", (tb, e[blown[0]]),
                            xytext=(0.04, 0.5), textcoords="axes fraction", fontsize=7, color=colours[m],
                            arrowprops={"arrowstyle": "->", "color": colours[m]})
        ax.axhline(TARGET, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("step t")
        ax.set_ylabel("|| W_t/||W_t|| - W_mm/||W_mm|| ||_F")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def strip(res: Any) -> Any:
    if isinstance(res, dict):
        return {k: strip(v) for k, v in res.items() if k not in ("W_final", "u_final", "W_series")}
    if isinstance(res, list):
        return [strip(v) for v in res]
    return res


def study_pair(pair: tuple[int, int], steps: int, data: Any) -> dict:
    inst = digits_instance(pair, 4, 40, data=data)
    name = f"digits {pair[0]} vs {pair[1]}, P = 4 (n = 40, T = 4, d = 16)"
    out: dict[str, Any] = {"name": name, "meta": inst.meta, "assumptions": assumption_table(inst)}
    opt = [int(a) for a in ac.optimal_tokens(inst)]
    sol = solve_att_svm(inst.X, inst.z, opt)
    out["svm"] = {"norm": sol.norm, "certified": sol.certified, "support": len(sol.support),
                  "constraints": inst.n * (inst.T - 1)}
    out["opt"] = opt
    cps = sorted({*log_checkpoints(steps, 20), *(t for t in (100, 1000, 10000) if t <= steps)})
    out["runs"] = {m: fixed_run(inst, m, steps, cps, sol.W) for m in METHODS}
    # the Polyak step's other reading, c = 2 (half the classic step; vdt24's declared reconstruction)
    out["polyak_c2"] = fixed_run(inst, "polyak", steps, cps, sol.W, {"eta": 0.1, "c": 2.0})
    at = [t for t in (100, 1000, 10000, steps) if t <= steps]
    out["at_equal_steps"] = {str(t): {m: [r["dir_err"][r["t"].index(t)], r["precision_ok"][r["t"].index(t)]]
                                      for m, r in out["runs"].items()} for t in at}
    jc = sorted({*log_checkpoints(steps, 5)})
    j = joint_run(inst, steps, jc)
    fsel = out["runs"]["ngd"]["selected_final"]
    j["same_as_fixed"] = int(sum(a == b for a, b in zip(j["selected_final"], fsel, strict=True)))
    j["same_as_opt_of_learned_u"] = int(sum(a == b for a, b in zip(j["selected_final"], j["opt_of_learned_u"],
                                                                     strict=True)))
    j["differing_sequences"] = [i for i, (a, b) in enumerate(zip(j["selected_final"], fsel, strict=True)) if a != b]
    j["patch_counts"] = patch_counts(inst, j["selected_final"])
    out["joint"] = j
    out["patch_counts_fixed_ngd"] = patch_counts(inst, fsel)
    out["patch_counts_opt"] = patch_counts(inst, opt)
    out["_inst"] = inst
    return out


def patch_counts(inst: ac.AttentionInstance, sel: list[int]) -> dict[str, list[int]]:
    """Per class, how many images select each patch position t = 0..T-1."""
    a, b = inst.meta["classes"]
    return {str(c): np.bincount([int(s) for s, y in zip(sel, inst.y, strict=True) if y == lab],
                                minlength=inst.T).tolist() for c, lab in ((a, 1.0), (b, -1.0))}


def other_limit(inst: ac.AttentionInstance, r: dict, opt: list[int]) -> dict | None:
    """When a run ends selecting alpha != opt: the certified W_mm(alpha), its class (locally optimal or not), and
    the direction error to it along the run (fitted on t in [steps/30, steps])."""
    from theorems.attention.svm import classify_alpha
    from verify.errors import InfeasibleProblemError, SolverError

    alpha = [int(v) for v in r["selected_final"]]
    if alpha == opt:
        return None
    try:
        sol = solve_att_svm(inst.X, inst.z, alpha)
    except (InfeasibleProblemError, SolverError) as exc:
        return {"alpha_differs_at": [i for i, (a, o) in enumerate(zip(alpha, opt, strict=True)) if a != o],
                "svm": str(exc)}
    with np.errstate(invalid="ignore", divide="ignore"):
        e, _ = ac.direction_error(r["W_series"], sol.W)
    t = np.asarray(r["t"], dtype=float)
    w = t >= t[-1] / 30
    return {"alpha_differs_at": [i for i, (a, o) in enumerate(zip(alpha, opt, strict=True)) if a != o],
            "certified": sol.certified, "class": classify_alpha(ac.token_scores(inst), alpha, sol.support),
            "dir_err_alpha_final": float(e[-1]), "fit_alpha_tail": fit_slope(t[w], e[w])}


def p2_table(pair: tuple[int, int], data: Any) -> dict:
    inst = digits_instance(pair, 2, 40, data=data)
    return {"name": f"digits {pair[0]} vs {pair[1]}, P = 2 (n = 40, T = 16, d = 4)", "assumptions":
            assumption_table(inst),
            "tied_sequences": int(np.sum(ac.score_gaps(inst) <= 0))}


def seeded(pair: tuple[int, int], seed: int, steps: int, data: Any) -> dict:
    inst = digits_instance(pair, 4, 40, seed=seed, data=data)
    a = assumption_table(inst)
    row: dict[str, Any] = {"pair": list(pair), "seed": seed, "score_gap_slack": a["score_gap"]["slack"],
                           "near_orthogonal_slack": a["near_orthogonal"]["slack"],
                           "feasible_svm": a["feasible_svm"]["verdict"]}
    if a["unique_opt"]["verdict"] != "holds" or a["feasible_svm"]["verdict"] != "holds":
        return row
    sol = solve_att_svm(inst.X, inst.z, [int(v) for v in ac.optimal_tokens(inst)])
    cps = log_checkpoints(steps, 10)
    opt = [int(v) for v in ac.optimal_tokens(inst)]
    for m in ("ngd", "polyak"):
        r = fixed_run(inst, m, steps, cps, sol.W)
        row[m] = {"other_limit": other_limit(inst, r, opt) if r["stopped"] is None else None,
                  "dir_err_final": r["dir_err"][-1], "last_precise_t": r["last_precise_t"],
                  "selected_opt_final": r["selected_opt_final"], "stopped": r["stopped"],
                  "selected_opt_at_last_precise": r["selected_opt_at_last_precise"],
                  "fit_tail_p": r["fit_tail"]["p"], "fit_tail_se": r["fit_tail"]["se"],
                  "dir_err_at_last_precise": (r["dir_err"][r["t"].index(r["last_precise_t"])]
                                              if r["last_precise_t"] is not None else None)}
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30000)
    ap.add_argument("--seed-steps", type=int, default=10000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--img", default="docs/findings/img")
    args = ap.parse_args()
    t0 = time.time()
    data = load_digits_arrays()
    img = Path(args.img)
    img.mkdir(parents=True, exist_ok=True)
    results = {f"{a}v{b}": study_pair((a, b), args.steps, data) for a, b in PAIRS}
    for key, res in results.items():
        draw_attention(img / f"realdata-attention-{key}.png", res["_inst"], data[0], res["runs"]["ngd"],
                       res["joint"], res["name"])
    draw_direction(img / "realdata-direction.png", {r["name"]: r for r in results.values()})
    p2 = {f"{a}v{b}": p2_table((a, b), data) for a, b in PAIRS}
    seeds = []
    for pair in PAIRS:
        for s in range(args.seeds):
            try:
                seeds.append(seeded(pair, s, args.seed_steps, data))
            except VerifyInputError as exc:
                seeds.append({"pair": list(pair), "seed": s, "error": str(exc)})
    for res in results.values():
        res.pop("_inst")
    doc = {"steps": args.steps, "seed_steps": args.seed_steps, "methods": METHODS, "target": TARGET,
           "pairs": strip(results), "patch2": p2, "seeded": seeds, "seconds": round(time.time() - t0, 1)}
    atomic_write_text(img / "realdata-results.json", dumps(doc) + "\n")
    report(doc)


def report(doc: dict) -> None:
    for res in doc["pairs"].values():
        print(f"\n## {res['name']}\n")
        print("| assumption | verdict | slack | detail |\n|---|---|---|---|")
        for aid, a in res["assumptions"].items():
            print(f"| {aid} | {a['verdict']} | {a['slack']:.4g} | {a['detail']} |")
        s = res["svm"]
        print(f"\nW_mm: norm {s['norm']:.6g}, certified {s['certified']}, {s['support']} of {s['constraints']} "
              "constraints active")
        print("\n| method | last precise t | dir_err there | steps to 0.05 | p (last precise decade) | "
              "p (t in [steps/30, steps]) | max rel. error there | opt selected at end |\n"
              "|---|---|---|---|---|---|---|---|")
        for m, r in res["runs"].items():
            fp, ft = r.get("fit_precise", {}), r["fit_tail"]
            lp = r["last_precise_t"]
            e_lp = r["dir_err"][r["t"].index(lp)] if lp is not None else math.nan
            print(f"| {m} | {lp} | {e_lp:.4g} | {r['steps_to_target']} | {fp.get('p', math.nan):.3f} ± "
                  f"{fp.get('se', math.nan):.3f} on {fp.get('t')} | {ft['p']:.3f} ± {ft['se']:.3f} | "
                  f"{ft['max_rel_error']:.2g} | {r['selected_opt_final']}/{len(r['selected_final'])}"
                  f"{' (stopped: ' + r['stopped'] + ')' if r['stopped'] else ''} |")
        c2 = res["polyak_c2"]
        print(f"polyak c = 2: last precise t {c2['last_precise_t']}, final dir_err {c2['dir_err'][-1]:.4g}, "
              f"opt selected at end {c2['selected_opt_final']}/40, max norm {max(c2['norm']):.3g}, "
              f"stopped: {c2['stopped']}, fit tail {c2['fit_tail']['p']:.3f} ± {c2['fit_tail']['se']:.3f}")
        print("\ndir_err at equal steps:", json.dumps(res["at_equal_steps"]))
        print("local slopes (NGD):", [(round(x["t"][0]), round(x["p"], 3), x["precise"])
                                      for x in res["runs"]["ngd"]["local_slopes"]])
        print("selected patch per class (counts over t = 0..T-1): opt", res["patch_counts_opt"], "fixed NGD",
              res["patch_counts_fixed_ngd"], "joint", res["joint"]["patch_counts"])
        j = res["joint"]
        print(f"joint: same token as fixed-decoder NGD in {j['same_as_fixed']}/{len(j['selected_final'])}; "
              f"same as argmax of the learned u's scores in {j['same_as_opt_of_learned_u']}; corr(u_t, u) = "
              f"{j['u_corr_instance_u']:.3f}; log10 loss {j['log10_loss_final']:.4g}; precision ok "
              f"{j['precision_ok']}")
    print("\n## P = 2\n")
    for res in doc["patch2"].values():
        print(res["name"], {k: (v["verdict"], round(v["slack"], 4)) for k, v in res["assumptions"].items()},
              "tied:", res["tied_sequences"])
    print("\n## seeded selections\n")
    for r in doc["seeded"]:
        print(json.dumps(r))
    print(f"\n{doc['seconds']} s")


if __name__ == "__main__":
    main()
