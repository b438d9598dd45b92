"""The attention model's own CLI verbs: ``verify svm`` (the certified max-margin solution of an instance),
``verify trace`` (metrics along one trajectory) and ``verify dataset digits`` (a real-data instance built from
scikit-learn's bundled digits, :mod:`theorems.attention.dataset`), with their flags.

The CLI core (:mod:`verify.cli`) knows no model: it calls :func:`add_commands` through the model contract
(``verify.model.Model.add_commands``). Every verb returns an exit code (0 success; bad input raises
:class:`~verify.errors.VerifyInputError`, which the core turns into one line and exit 2).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from verify.cli import emit, parse_ints
from verify.errors import VerifyInputError
from verify.methods import NORMALIZATIONS, names


def _load_attention(path: str) -> Any:
    from theorems.attention.classifier import AttentionInstance
    from verify.instance import load_instance

    inst = load_instance(path)
    if not isinstance(inst, AttentionInstance):
        raise VerifyInputError(f"{path}: this command needs an attention-classification instance")
    return inst


def cmd_svm(args: argparse.Namespace) -> int:
    from theorems.attention import classifier as ac
    from theorems.attention.resources import dense_svm_estimate, sniff_attention_shape, svm_estimate
    from theorems.attention.svm import classify_alpha, solve_att_svm, tie_message, tie_thresholds
    from verify.resources import enforce, option_limit, parse_seconds, precheck_file

    limit, max_time = option_limit(args.max_memory), parse_seconds(args.max_time)
    precheck_file(args.instance, limit, svm_estimate if args.p == 2.0 else
                  (lambda n, T, d: dense_svm_estimate(n, T, d, p=args.p)), sniff=sniff_attention_shape,
                  max_seconds=max_time)
    inst = _load_attention(args.instance)
    gaps = ac.score_gaps(inst)
    tau = tie_thresholds(inst.X, inst.u)
    tie = tie_message(gaps, tau, inst.X.shape[2])
    if args.alpha is None and tie:
        raise VerifyInputError(f"{args.instance}: {tie}; pass --alpha to choose the tokens")
    alpha = parse_ints(args.alpha, "--alpha") if args.alpha else [int(a) for a in ac.optimal_tokens(inst)]
    if len(alpha) != inst.n:
        raise VerifyInputError(f"--alpha needs {inst.n} entries (one per sequence), got {len(alpha)}")
    if args.p != 2.0:
        from theorems.attention.svm_lp import svm_lp_report

        enforce(dense_svm_estimate(*inst.X.shape, p=args.p), limit, max_seconds=max_time)
        out_lp, text_lp = svm_lp_report(inst.X, inst.z, ac.token_scores(inst), alpha, args.p)
        emit(out_lp, args.json, text_lp)
        return 0
    enforce(svm_estimate(*inst.X.shape), limit, max_seconds=max_time)
    sol = solve_att_svm(inst.X, inst.z, alpha, max_memory=limit)
    out = sol.to_json()
    out["locally_optimal"] = classify_alpha(ac.token_scores(inst), alpha, sol.support, tie_tol=tau)
    keys = ("norm", "margin", "support", "status", "max_constraint_violation", "locally_optimal")
    proof = ("certificate", "norm_interval", "distance_bound", "direction_bound")
    text = "\n".join(f"{k}: {out[k]}" for k in (*keys, "certified", "confirmed", *proof, "certificate_note"))
    emit({k: out[k] for k in (*keys, "certified", "alpha", "duality_gap", "confirmed", *proof, "certificate_note")},
         args.json, text)
    return 0


#: Seconds per step of one ``verify trace`` run beyond the arithmetic that ``trajectory_estimate`` counts (the
#: Python of one step, the precision watch, the checkpoint records), measured on a small instance: numpy about
#: 0.06-0.3 ms a step, mpmath about 5 ms at 50 digits, growing like (dps/50)^1.3 (1.4 s a step at 5000 digits).
#: Lower figures than measured, so that a refusal is never premature.
TRACE_STEP_SECONDS = {"numpy": 5e-5, "torch": 5e-5, "mpmath": 3e-3, "arb": 3e-3}


def trace_estimate(n: int, T: int, d: int, *, steps: int, checkpoints: int, backend: str, representation: str,
                   dps: int) -> Any:
    """``trajectory_estimate`` of one run, its seconds raised by the per-step cost (:data:`TRACE_STEP_SECONDS`):
    what ``verify trace`` checks against ``--max-memory`` and ``--max-time`` before it runs."""
    import dataclasses

    from theorems.attention.resources import trajectory_estimate

    est = trajectory_estimate(n, T, d, steps=steps, checkpoints=checkpoints, backend=backend,
                              representation=representation, dps=dps)
    per_step = TRACE_STEP_SECONDS.get(backend, TRACE_STEP_SECONDS["numpy"])
    if backend in ("mpmath", "arb"):
        per_step *= max(1.0, dps / 50) ** 1.3
    return dataclasses.replace(est, seconds=est.seconds + steps * per_step)


def cmd_trace(args: argparse.Namespace) -> int:
    """``verify trace``. Before any heavy step: the instance file's size, the reference SVM and the run itself are
    estimated and refused above ``--max-memory`` / ``--max-time``. A run that loses precision stops there: the rows
    up to that checkpoint (its ``precision_ok`` false) are printed, then one ``error:`` line (exit 2)."""
    import warnings

    import numpy as np

    from theorems.attention import classifier as ac
    from theorems.attention.resources import sniff_attention_shape, svm_estimate
    from theorems.attention.svm import tie_message, tie_thresholds
    from theorems.attention.trace import trace_attention
    from verify.resources import enforce, option_limit, parse_seconds, precheck_file
    from verify.trajectory import log_checkpoints

    if args.steps < 1:
        raise VerifyInputError(f"--steps must be >= 1, got {args.steps}")
    limit, max_time = option_limit(args.max_memory), parse_seconds(args.max_time)
    precheck_file(args.instance, limit, svm_estimate, sniff=sniff_attention_shape, max_seconds=max_time)
    inst = _load_attention(args.instance)
    cps = parse_ints(args.checkpoints, "--checkpoints") if args.checkpoints else None
    bad = [c for c in cps or [] if not 0 <= c <= args.steps]
    if bad:
        raise VerifyInputError(f"--checkpoints must lie in 0..--steps ({args.steps}); got {bad}")
    if args.dps is not None and args.backend not in ("mpmath", "arb"):
        raise VerifyInputError(f"--dps sets the mpmath precision; it has no effect with --backend {args.backend}")
    args.dps = 50 if args.dps is None else args.dps
    n, T, d = inst.X.shape
    tie = tie_message(ac.score_gaps(inst), tie_thresholds(inst.X, inst.u), d)
    if tie:
        raise VerifyInputError(f"{args.instance}: {tie}: W_mm and L* are undefined")
    enforce(svm_estimate(n, T, d), limit, max_seconds=max_time)  # every trace certifies its reference SVM first
    enforce(trace_estimate(n, T, d, steps=args.steps, checkpoints=len(set(cps or log_checkpoints(args.steps))),
                           backend=args.backend, representation=args.representation, dps=args.dps),
            limit, max_seconds=max_time)
    # a diverging run overflows: its precision flag says so (below), numpy's warnings would only repeat it
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if args.method == "lp-md":
            return _trace_lp(args, inst, cps)
        alpha = parse_ints(args.alpha, "--alpha") if args.alpha else None
        rows = trace_attention(inst, method=args.method, eta=args.eta, steps=args.steps, checkpoints=cps,
                               backend=args.backend, dps=args.dps, representation=args.representation,
                               polyak_c=args.polyak_c, joint=args.joint, normalize=args.normalize, init=args.init,
                               init_scale=args.init_scale, init_seed=args.init_seed, cone_mu=args.cone_mu,
                               alpha=alpha)
    rows = _until_precision_lost(rows)
    head = f"{'t':>8} {'dir_err':>12} {'corr':>14} {'max_nonopt':>12} {'loss_gap':>12} {'norm':>10} ok"
    if args.joint:
        head += f" {'u_dir_err':>12} {'loss':>12}"
    lines = [head] + [f"{r['t']:>8} {r['dir_err']:>12.6g} {r['corr']:>14.10f} "
                      f"{_sci(r['log10_max_nonopt_attention']):>12} {_sci(r['log10_loss_gap']):>12} "
                      f"{r['norm']:>10.4g} {r['precision_ok']}"
                      + (f" {r['u_dir_err']:>12.6g} {_sci(r['log10_loss']):>12}" if args.joint else "")
                      for r in rows]
    emit(rows, args.json, "\n".join(lines))
    _raise_if_precision_lost(rows, args)
    return 0


def _until_precision_lost(rows: list[dict]) -> list[dict]:
    """The rows up to and including the first checkpoint whose precision was lost (all rows if none was)."""
    lost = next((k for k, r in enumerate(rows) if not r["precision_ok"]), None)
    return rows if lost is None else rows[:lost + 1]


def _raise_if_precision_lost(rows: list[dict], args: argparse.Namespace) -> None:
    if rows and not rows[-1]["precision_ok"]:
        fix = (f"raise --dps (got {args.dps})" if args.backend in ("mpmath", "arb") else "use --backend mpmath")
        raise VerifyInputError(
            f"precision lost at t={rows[-1]['t']}: the run's rounding-error bound exceeds its tolerance, so later "
            f"checkpoints would be meaningless and the trace stops there; lower --eta (got {args.eta:g}) or {fix}")


def _trace_lp(args: argparse.Namespace, inst: Any, cps: list[int] | None) -> int:
    """``trace --method lp-md`` (JTA24): lp mirror descent, dispatched to theorems/attention/lp_trace.py."""
    from theorems.attention.lp_trace import trace_lp

    rows = trace_lp(inst, p=args.p, eta=args.eta, steps=args.steps, checkpoints=cps, normalized=args.normalized,
                    joint=args.joint, blockwise=args.normalize == "block" or not args.joint, backend=args.backend,
                    dps=args.dps)
    rows = _until_precision_lost(rows)
    head = f"{'t':>8} {'bregman':>12} {'norm_p':>10} {'loss_gap':>12} ok    selected"
    if args.joint:
        head = f"{'t':>8} {'bregman':>12} {'u_bregman':>12} {'norm_p':>10} {'loss':>12} ok    selected"
    lines = [head] + [
        f"{r['t']:>8} {r['bregman']:>12.6g} " + (f"{r['u_bregman']:>12.6g} " if args.joint else "")
        + f"{r['norm_p']:>10.4g} {_sci(r['log10_loss_gap']):>12} {str(r['precision_ok']):<5} "
        f"{','.join(map(str, r['selected']))}" for r in rows]
    emit(rows, args.json, "\n".join(lines))
    _raise_if_precision_lost(rows, args)
    return 0


def _sci(log10_value: float) -> str:
    """10**log10_value in scientific notation, also far below float64's range (1e-400 prints as 1.0e-400)."""
    if not math.isfinite(log10_value):
        return "0" if log10_value < 0 else "inf"
    if abs(log10_value) >= 1e5:  # 10^(-1.57e+299): the exponent itself in scientific notation
        return f"10^{log10_value:.4g}"
    e = math.floor(log10_value)
    return f"{10 ** (log10_value - e):.3f}e{e:+d}"



def cmd_dataset_digits(args: argparse.Namespace) -> int:
    """``verify dataset digits``: build the instance (scikit-learn imported here only) and write it atomically."""
    from pathlib import Path

    from theorems.attention.dataset import check_arguments, digits_instance
    from verify.instance import atomic_write_text, dumps

    classes = parse_ints(args.classes, "--classes")
    if len(classes) != 2:
        raise VerifyInputError(f"--classes needs two digits A,B, got {args.classes!r}")
    check_arguments(classes, args.patch, args.n, args.scaling)  # before the data set is loaded
    out = Path(args.out)
    if out.is_dir():
        raise VerifyInputError(f"--out {out}: is a folder, not a file")
    inst = digits_instance(classes, args.patch, args.n, args.seed, args.scaling)
    try:
        atomic_write_text(out, dumps(inst.to_json()) + "\n")
    except OSError as exc:
        raise VerifyInputError(f"--out {out}: not writable ({exc.strerror or exc})") from None
    a, b = inst.meta["classes"]
    print(f"wrote {out}: digits {a} (y = +1) vs {b} (y = -1), {inst.n} images, patch {args.patch}: "
          f"T = {inst.T} tokens of d = {inst.d} ({args.scaling} scaling, query = mean token)")
    return 0


def add_resource_limits(s: argparse.ArgumentParser, timed: str = "the certified Att-SVM's") -> None:
    """--max-memory and --max-time, shared by the commands that do heavy work (svm, trace)."""
    s.add_argument("--max-memory", metavar="SIZE",
                   help="refuse, before any heavy step, when the memory estimate exceeds SIZE (8G, 512M, 2GiB, none); "
                        "default: half of MemAvailable")
    s.add_argument("--max-time", metavar="SECONDS",
                   help=f"refuse when {timed} estimated time exceeds SECONDS (a number > 0, or none: no limit); "
                        "default: 60")


def add_commands(sub: Any) -> None:
    """Add ``svm``, ``trace`` and ``dataset`` to the ``verify`` subcommands."""
    s = sub.add_parser("svm", help="the certified Att-SVM of an instance")
    s.add_argument("--instance", required=True)
    s.add_argument("--alpha", help="token choice i0,i1,... (default: the optimal tokens)")
    s.add_argument("--p", type=float, default=2.0, help="entrywise p-norm (p != 2: the certified lp-Att-SVM)")
    add_resource_limits(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_svm)

    s = sub.add_parser("trace", help="metrics along a trajectory",
                       description="Metrics at the checkpoints of one run. The run is estimated first and refused "
                                   "above --max-memory / --max-time; a run that loses precision stops at that "
                                   "checkpoint (printed, precision_ok false) with one error line, exit 2.")
    s.add_argument("--instance", required=True, metavar="FILE",
                   help="an attention-classification/1 instance file (JSON); required")
    s.add_argument("--method", choices=names(), default="ngd",
                   help=f"the method (verify.methods' table: {', '.join(names())}); default: ngd")
    s.add_argument("--p", type=float, default=2.0,
                   help="lp-md only: the potential's exponent, 1.01 <= p <= 100; default: 2")
    s.add_argument("--normalized", action="store_true",
                   help="lp-md only: divide the gradient by its dual q-norm; default: off")
    s.add_argument("--eta", type=float, default=0.1,
                   help="step (GD, NGD), learning rate (Adam) or lp-md step: a finite number > 0; default: 0.1")
    s.add_argument("--polyak-c", type=float, default=1.0,
                   help="polyak only: c in (L - L*)/(c ||grad L||^2), a finite number > 0; default: 1")
    s.add_argument("--joint", action="store_true",
                   help="train (u, W) jointly from u0 = 0 (L* = 0); default: off (W alone, u fixed)")
    s.add_argument("--normalize", choices=NORMALIZATIONS, default="joint",
                   help=f"joint runs: normalize the concatenated gradient or each block ({', '.join(NORMALIZATIONS)}); "
                        "default: joint")
    s.add_argument("--init", choices=("instance", "zero", "random", "cone"), default="instance",
                   help="W0: the file's (instance), 0, random of norm --init-scale, or in the cone around "
                        "W_mm(alpha) (instance, zero, random, cone); default: instance")
    s.add_argument("--init-scale", type=float, default=1.0,
                   help="random: ||W0||; cone: ||W0||/||W_mm(alpha)||; a finite number > 0; default: 1")
    s.add_argument("--init-seed", type=int, default=0, help="random and cone: the seed of W0 (an integer); default: 0")
    s.add_argument("--cone-mu", type=float, default=0.05,
                   help="cone: corr(W0, W_mm(alpha)) >= 1 - mu, 0 < mu < 1; default: 0.05")
    s.add_argument("--alpha", metavar="I0,I1,..",
                   help="cone: token choice, one index in 0..T-1 per sequence; default: the optimal tokens")
    s.add_argument("--steps", type=int, default=1000,
                   help="steps to run, an integer >= 1 (refused when the estimated time exceeds --max-time); "
                        "default: 1000")
    s.add_argument("--checkpoints", metavar="T1,T2,..",
                   help="steps to record, integers in 0..--steps (sorted, repeats dropped); "
                        "default: about 10 per decade, log-spaced from 1 to --steps")
    s.add_argument("--backend", choices=("numpy", "mpmath", "torch", "jax", "arb"), default="numpy",
                   help="numpy and torch (float64), jax (float64, the steps between checkpoints compiled; "
                        "needs the jax extra), mpmath (--dps digits), arb (rigorous balls); default: numpy")
    s.add_argument("--dps", type=int, default=None,
                   help="decimal digits of the mpmath (or arb) backend, an integer >= 16; only with those "
                        "backends; default: 50")
    add_resource_limits(s, "the reference Att-SVM's or the run's")
    s.add_argument("--representation", choices=("gram", "dense"), default="gram",
                   help="the iterate as Gram-matrix coefficients over the tokens (gram) or as the d x d matrix W "
                        "(dense); Adam and sign updates always run dense; default: gram")
    s.add_argument("--json", action="store_true", help="print the rows as JSON; default: a text table")
    s.set_defaults(fn=cmd_trace)

    s = sub.add_parser("dataset", help="build a real-data attention-classification instance",
                       description="Build an attention-classification/1 instance from a data set shipped inside a "
                                   "package (no download).")
    kinds = s.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    k = kinds.add_parser("digits", help="two digit classes of scikit-learn's load_digits, images cut into patches",
                         description="Two classes of scikit-learn's bundled 8x8 digits: each image cut into PxP "
                                     "patches (the tokens, pixels/16, centered at the midpoint of the two classes' "
                                     "mean patches by default), labels +1 (A) / -1 (B), decoder u = unit(m_A - m_B), "
                                     "query z_i = the image's mean token, W0 = 0. Needs scikit-learn (the data "
                                     "extra). The construction: theorems/attention/dataset.py.")
    k.add_argument("--classes", required=True, metavar="A,B",
                   help="two different digits 0..9, A gets y = +1 and B y = -1; required")
    k.add_argument("--patch", type=int, required=True, metavar="P",
                   help="patch side, a divisor of 8 leaving >= 2 patches: 1, 2 or 4 (4: T = 4 tokens of d = 16; "
                        "2: T = 16 of d = 4); required")
    k.add_argument("--n", type=int, default=40,
                   help="number of images, >= 2: ceil(n/2) of A, floor(n/2) of B; default: 40")
    k.add_argument("--seed", type=int, default=None,
                   help="draw the images of each class by a permutation seeded with S; default: none (the first "
                        "images of each class in the data set's order)")
    k.add_argument("--scaling", choices=("center", "unit"), default="center",
                   help="pixels/16 minus the midpoint of the class means (center) or pixels/16 alone (unit); "
                        "default: center")
    k.add_argument("--out", required=True, metavar="FILE",
                   help="the instance file to write (atomically; missing folders are made); required")
    k.set_defaults(fn=cmd_dataset_digits)
