"""The ``verify`` command line: list, svm, trace, check, audit, sweep, replay, show.

Exit codes (also in ``verify --help`` and the README):

- ``check`` and ``sweep``: 0 = nothing violated; 1 = at least one claim violated (a confirmed counterexample, robust
  across the reconstructions); 2 = a usage or input error; 3 = an evaluation error (one line names the claim; the
  traceback goes to ``errors.log`` in the reports folder). 3 takes precedence over 1: the run is incomplete.
- ``audit``: 0 when it ran (load-bearing assumptions are information, not failures); 2 or 3 as above.
- ``replay``: 0 = the report was reproduced; 1 = it was not (each differing field is named).
- every other command: 0 on success, 2 on a usage or input error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from verify.errors import VerifyInputError

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141  # 128 + SIGINT, 128 + SIGPIPE, as a shell reports them
EXIT_CODES_HELP = """exit codes:
  check, sweep  0 nothing violated, 1 a claim violated (a confirmed counterexample),
                2 usage or input error, 3 evaluation error (traceback in REPORTS/errors.log)
  audit         0 it ran (load-bearing assumptions are information), 2, 3 as above
  replay        0 reproduced, 1 not reproduced (each differing field is named)
  any           130 interrupted (check writes the summary of the claims that finished),
                141 output pipe closed (e.g. verify list | head -1)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise VerifyInputError(f"{self.prog}: {message}")


def _ints(text: str, what: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise VerifyInputError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not vals:
        raise VerifyInputError(f"{what} is empty")
    return vals


def _emit(obj: Any, as_json: bool, text: str) -> None:
    if as_json:
        from verify.instance import dumps

        print(dumps(obj))
    else:
        print(text)


# ---------------------------------------------------------------------------------------------- commands
def cmd_list(args: argparse.Namespace) -> int:
    from verify.registry import modules

    rows = []
    for m in modules().values():
        for c in m.claims.values():
            rows.append({"id": c.id, "title": c.title, "paper": c.paper, "kind": c.kind,
                         "provenance": c.provenance.label(), "assumptions": list(c.assumptions), "module": m.key})
    text = "\n".join(f"{r['id']:<24} {r['kind']:<11} {r['paper']:<7} {r['provenance']:<40} {r['title']}\n"
                     f"{'':<24} assumptions: {', '.join(r['assumptions'])}" for r in rows)
    _emit(rows, args.json, text)
    return 0


def _load_attention(path: str) -> Any:
    from theorems.attention.classifier import AttentionInstance
    from verify.instance import load_instance

    inst = load_instance(path)
    if not isinstance(inst, AttentionInstance):
        raise VerifyInputError(f"{path}: this command needs an attention-classification instance")
    return inst


def cmd_svm(args: argparse.Namespace) -> int:
    from theorems.attention import classifier as ac
    from theorems.attention.svm import classify_alpha, solve_att_svm, tie_message, tie_thresholds
    from verify.resources import dense_svm_estimate, enforce, option_limit, parse_seconds, precheck_file, svm_estimate

    limit, max_time = option_limit(args.max_memory), parse_seconds(args.max_time)
    precheck_file(args.instance, limit, svm_estimate if args.p == 2.0 else
                  (lambda n, T, d: dense_svm_estimate(n, T, d, p=args.p)), max_seconds=max_time)
    inst = _load_attention(args.instance)
    gaps = ac.score_gaps(inst)
    tau = tie_thresholds(inst.X, inst.u)
    tie = tie_message(gaps, tau, inst.X.shape[2])
    if args.alpha is None and tie:
        raise VerifyInputError(f"{args.instance}: {tie}; pass --alpha to choose the tokens")
    alpha = _ints(args.alpha, "--alpha") if args.alpha else [int(a) for a in ac.optimal_tokens(inst)]
    if len(alpha) != inst.n:
        raise VerifyInputError(f"--alpha needs {inst.n} entries (one per sequence), got {len(alpha)}")
    if args.p != 2.0:
        from theorems.attention.svm_lp import svm_lp_report

        enforce(dense_svm_estimate(*inst.X.shape, p=args.p), limit, max_seconds=max_time)
        out_lp, text_lp = svm_lp_report(inst.X, inst.z, ac.token_scores(inst), alpha, args.p)
        _emit(out_lp, args.json, text_lp)
        return 0
    enforce(svm_estimate(*inst.X.shape), limit, max_seconds=max_time)
    sol = solve_att_svm(inst.X, inst.z, alpha, max_memory=limit)
    out = sol.to_json()
    out["locally_optimal"] = classify_alpha(ac.token_scores(inst), alpha, sol.support, tie_tol=tau)
    keys = ("norm", "margin", "support", "status", "max_constraint_violation", "locally_optimal")
    text = "\n".join(f"{k}: {out[k]}" for k in keys) + f"\ncertified: {sol.certified}"
    _emit({k: out[k] for k in (*keys, "certified", "alpha", "duality_gap")}, args.json, text)
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from theorems.attention import classifier as ac
    from theorems.attention.svm import tie_message, tie_thresholds
    from theorems.attention.trace import trace_attention
    from verify.resources import enforce, option_limit, parse_seconds, precheck_file, svm_estimate, trajectory_estimate
    from verify.trajectory import log_checkpoints

    if args.steps < 0:
        raise VerifyInputError(f"--steps must be >= 0, got {args.steps}")
    limit, max_time = option_limit(args.max_memory), parse_seconds(args.max_time)
    precheck_file(args.instance, limit, svm_estimate, max_seconds=max_time)
    inst = _load_attention(args.instance)
    cps = _ints(args.checkpoints, "--checkpoints") if args.checkpoints else None
    bad = [c for c in cps or [] if not 0 <= c <= args.steps]
    if bad:
        raise VerifyInputError(f"--checkpoints must lie in 0..--steps ({args.steps}); got {bad}")
    if args.dps is not None and args.backend != "mpmath":
        raise VerifyInputError(f"--dps sets the mpmath precision; it has no effect with --backend {args.backend}")
    args.dps = 50 if args.dps is None else args.dps
    n, T, d = inst.X.shape
    tie = tie_message(ac.score_gaps(inst), tie_thresholds(inst.X, inst.u), d)
    if tie:
        raise VerifyInputError(f"{args.instance}: {tie}: W_mm and L* are undefined")
    enforce(svm_estimate(n, T, d), limit, max_seconds=max_time)  # every trace certifies its reference SVM first
    enforce(trajectory_estimate(n, T, d, steps=args.steps, checkpoints=len(cps or log_checkpoints(args.steps)),
                                backend=args.backend, representation=args.representation, dps=args.dps), limit)
    if args.method == "lp-md":
        return _trace_lp(args, inst, cps)
    alpha = _ints(args.alpha, "--alpha") if args.alpha else None
    rows = trace_attention(inst, method=args.method, eta=args.eta, steps=args.steps, checkpoints=cps,
                           backend=args.backend, dps=args.dps, representation=args.representation,
                           polyak_c=args.polyak_c, joint=args.joint, normalize=args.normalize, init=args.init,
                           init_scale=args.init_scale, init_seed=args.init_seed, cone_mu=args.cone_mu, alpha=alpha)
    head = f"{'t':>8} {'dir_err':>12} {'corr':>14} {'max_nonopt':>12} {'loss_gap':>12} {'norm':>10} ok"
    if args.joint:
        head += f" {'u_dir_err':>12} {'loss':>12}"
    lines = [head] + [f"{r['t']:>8} {r['dir_err']:>12.6g} {r['corr']:>14.10f} "
                      f"{_sci(r['log10_max_nonopt_attention']):>12} {_sci(r['log10_loss_gap']):>12} "
                      f"{r['norm']:>10.4g} {r['precision_ok']}"
                      + (f" {r['u_dir_err']:>12.6g} {_sci(r['log10_loss']):>12}" if args.joint else "")
                      for r in rows]
    _emit(rows, args.json, "\n".join(lines))
    return 0


def _trace_lp(args: argparse.Namespace, inst: Any, cps: list[int] | None) -> int:
    """``trace --method lp-md`` (JTA24): lp mirror descent, dispatched to theorems/attention/lp_trace.py."""
    from theorems.attention.lp_trace import trace_lp

    rows = trace_lp(inst, p=args.p, eta=args.eta, steps=args.steps, checkpoints=cps, normalized=args.normalized,
                    joint=args.joint, blockwise=args.normalize == "block" or not args.joint, backend=args.backend,
                    dps=args.dps)
    head = f"{'t':>8} {'bregman':>12} {'norm_p':>10} {'loss_gap':>12} ok    selected"
    if args.joint:
        head = f"{'t':>8} {'bregman':>12} {'u_bregman':>12} {'norm_p':>10} {'loss':>12} ok    selected"
    lines = [head] + [
        f"{r['t']:>8} {r['bregman']:>12.6g} " + (f"{r['u_bregman']:>12.6g} " if args.joint else "")
        + f"{r['norm_p']:>10.4g} {_sci(r['log10_loss_gap']):>12} {str(r['precision_ok']):<5} "
        f"{','.join(map(str, r['selected']))}" for r in rows]
    _emit(rows, args.json, "\n".join(lines))
    return 0


def _sci(log10_value: float) -> str:
    """10**log10_value in scientific notation, also far below float64's range (1e-400 prints as 1.0e-400)."""
    if not math.isfinite(log10_value):
        return "0" if log10_value < 0 else "inf"
    e = math.floor(log10_value)
    return f"{10 ** (log10_value - e):.3f}e{e:+d}"


def _claims_for(args: argparse.Namespace) -> list:
    from verify.registry import all_claims, find_claim

    if args.all and args.claims:
        raise VerifyInputError(f"pass either --all or claim ids, not both (got --all and {' '.join(args.claims)})")
    if args.all:
        return list(all_claims().values())
    if not args.claims:
        raise VerifyInputError("name at least one claim id, or pass --all")
    return [find_claim(c) for c in args.claims]


def cmd_check(args: argparse.Namespace) -> int:
    from verify.profiles import get_profile

    profile = get_profile(args.profile)
    pairs = _claims_for(args)
    reports = writable_folder(args.reports, "--reports")
    summaries: list = []
    try:
        with _sigint_latch():
            _check_all(args, pairs, profile, reports, summaries)
    except KeyboardInterrupt:  # keep what finished: its summary, printed and written, then exit 130
        print(f"interrupted: {len(summaries)} of {len(pairs)} claim(s) finished; writing their summary",
              file=sys.stderr)
        _print_summaries(summaries)
        _write_run(args, pairs[:len(summaries)], summaries, interrupted=True)
        return EXIT_INTERRUPTED
    if not args.json:
        _print_summaries(summaries)
    _write_run(args, pairs, summaries)
    if args.json:
        print(json.dumps([s.to_json() for s in summaries], indent=1, default=str))
    return _exit_code(summaries, reports)


def writable_folder(path: str, option: str) -> Path:
    """The output folder, created if needed and checked writable before any computing (one-line errors)."""
    import tempfile

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise VerifyInputError(f"{option} {path}: exists and is not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as exc:
        raise VerifyInputError(f"{option} {path}: not writable ({exc.strerror or exc})") from None
    return p


def _check_all(args: argparse.Namespace, pairs: list, profile: Any, reports: Path, summaries: list) -> None:
    from verify.engine import check
    from verify.instance import read_json
    from verify.progress import progress_bar

    with progress_bar(len(pairs), "check", quiet=args.quiet) as bar:
        for module, claim in pairs:
            inst = None
            if args.instance:
                obj = read_json(args.instance)
                if not isinstance(obj, dict) or obj.get("schema") != module.instance_schema:
                    raise VerifyInputError(
                        f"{args.instance}: claim {claim.id} needs schema {module.instance_schema!r}")
                inst = module.load_instance(obj)
            bar.note(claim.id)
            s = check(module, _counting(claim, bar), profile, instance=inst, reports=reports, seed=args.seed)
            bar.advance(note=f"{claim.id}: {s.verdict}")
            summaries.append(s)
            _raise_if_interrupted()


def _print_summaries(summaries: list) -> None:
    from verify.verdicts import describe

    for s in summaries:
        ex = f"; fitted exponents {_fmt_list(s.exponents)}" if s.exponents else ""
        wr = f"; worst ratio {s.worst_ratio:.4g}" if s.worst_ratio is not None else ""
        codes = (" (" + ", ".join(f"{c}: {n}" for c, n in s.codes.items()) + ")") if s.codes else ""
        counts = ", ".join(f"{v}: {n}" for v, n in s.counts.items())
        print(f"{s.claim_id:<24} {describe(s.verdict):<13} instances {s.tried} ({counts}){codes}{wr}{ex}")
        for note in s.notes:
            print(f"{'':<24} note: {note}")
        for cand in s.candidates:
            if cand["robustness"]:
                table = ", ".join(f"{r['name']}={r['value']} ({r['role']}): {describe(r['verdict'], r['code'])}"
                                  for r in cand["robustness"])
                print(f"{'':<24} candidate {cand['instance']}: {describe(cand['verdict'], cand['code'])}; "
                      f"readings: {table}")
        for p in s.reports:
            print(f"{'':<24} counterexample report: {p}")


def _exit_code(summaries: list, reports: Path) -> int:
    """3 if any evaluation raised (the traceback goes to REPORTS/errors.log), else 1 if any claim is violated."""
    from verify.verdicts import VIOLATED

    errors = [e for s in summaries for e in s.errors]
    if errors:
        log = _write_error_log(reports, errors)
        for claim_id in sorted({e["claim"] for e in errors}):
            print(f"error: evaluating claim {claim_id} raised; traceback in {log}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_VIOLATED if any(s.verdict == VIOLATED for s in summaries) else EXIT_OK


def _write_error_log(reports: Path, errors: list[dict]) -> Path:
    from verify.instance import atomic_write_text

    reports.mkdir(parents=True, exist_ok=True)
    text = "\n".join(f"== {e['claim']}: {e['status']}\n{e.get('traceback', '')}" for e in errors)
    return atomic_write_text(reports / "errors.log", text)


def _check_command(args: argparse.Namespace) -> str:
    """The command line that reproduces this check run."""
    import shlex

    parts = ["verify", "check", *(["--all"] if args.all else args.claims), "--profile", args.profile,
             "--seed", str(args.seed), "--reports", args.reports]
    if args.instance:
        parts += ["--instance", args.instance]
    return shlex.join(parts)


def _write_run(args: argparse.Namespace, pairs: list, summaries: list, interrupted: bool = False) -> None:
    """A run summary beside the reports (DIR/runs/), so the HTML index has a row for every claim checked."""
    import datetime as dt

    from verify.report import write_run_summary

    rows = [{**s.to_json(), "title": c.title, "kind": c.kind, "provenance": c.provenance.label(), "module": m.key}
            for (m, c), s in zip(pairs, summaries, strict=True)]
    meta = {"created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": _check_command(args),
            "profile": args.profile, "seed": args.seed, "instance": args.instance, "interrupted": interrupted}
    write_run_summary(args.reports, rows, meta)


def _counting(claim: Any, bar: Any) -> Any:
    """The claim with an ``evaluate`` that notes each evaluation on the progress bar (same results)."""
    import dataclasses

    count = [0]

    def evaluate(c: Any, instance: Any, settings: Any, cache: dict) -> Any:
        _raise_if_interrupted()
        count[0] += 1
        bar.note(f"{claim.id}: evaluation {count[0]} ({settings.backend}, {settings.steps} steps)")
        return claim.evaluate(c, instance, settings, cache)

    return dataclasses.replace(claim, evaluate=evaluate)


_INTERRUPTED = [False]


def _raise_if_interrupted() -> None:
    if _INTERRUPTED[0]:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _sigint_latch() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt as usual and also latches a flag. Python can swallow the exception when it
    lands inside a callback (a garbage-collector hook, a __del__), so the flag is checked again before every
    evaluation and after every claim: an interrupt is never lost."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        _INTERRUPTED[0] = True
        raise KeyboardInterrupt

    _INTERRUPTED[0] = False
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _fmt_list(xs: list[float]) -> str:
    if len(xs) <= 6:
        return "[" + ", ".join(f"{x:.3g}" for x in xs) + "]"
    return f"min {min(xs):.3g}, median {sorted(xs)[len(xs) // 2]:.3g}, max {max(xs):.3g} over {len(xs)}"


def cmd_audit(args: argparse.Namespace) -> int:
    import dataclasses

    from verify.engine import audit
    from verify.profiles import get_profile
    from verify.progress import progress_bar
    from verify.registry import find_claim

    module, claim = find_claim(args.claim)
    with progress_bar(len(claim.assumptions), f"audit {claim.id}", quiet=args.quiet) as bar:
        seen: list[str] = []

        def breaks(cid: str, aid: str) -> Any:  # audit asks once per assumption: advance the bar there
            if seen:
                bar.advance(note=f"{seen[-1]} done")
            seen.append(aid)
            bar.note(f"breaking {aid}")
            return module.breaks(cid, aid)

        tracked = dataclasses.replace(module, breaks=breaks)
        rows = audit(tracked, _counting(claim, bar), get_profile(args.profile),
                     reports=writable_folder(args.reports, "--reports"),
                     seed=args.seed, max_examples=args.examples)
        bar.advance(note="done")
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=1))
    else:
        print(f"audit of {claim.id}: each assumption broken alone ({claim.provenance.label()}). A load-bearing "
              "assumption is necessary for the claim; an audit refutes nothing.")
        print(f"{'assumption':<18} {'tried':>5}  {'verdicts':<40} result")
        for r in rows:
            counts = ", ".join(f"{v}: {n}" for v, n in r.counts.items())
            print(f"{r.assumption:<18} {r.tried:>5}  {(counts if r.breakable else r.note):<40} {r.verdict}")
            for p in r.reports:
                print(f"{'':<18} audit report: {p}")
    errors = [e for r in rows for e in r.errors]
    if errors:
        log = _write_error_log(Path(args.reports), errors)
        print(f"error: evaluating claim {claim.id} raised; traceback in {log}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    """Re-run what the report recorded (claim definition, instance, settings) and compare every recorded field."""
    from verify.replay import replay

    result = replay(args.report)
    for line in result.lines:
        print(line)
    return EXIT_OK if result.reproduced else EXIT_VIOLATED


def cmd_sweep(args: argparse.Namespace) -> int:
    from verify.sweep import sweep

    executor = None
    if args.executor == "dask" or args.scheduler:
        from verify.sweep_dask import dask_executor

        executor = dask_executor(args.scheduler, n_workers=args.workers)
    s = sweep(args.claim, args.instances, backend=args.backend, seed=args.seed, results=args.results,
              profile=args.profile, batch_size=args.batch_size, quiet=args.quiet, executor=executor)
    if args.json:
        print(json.dumps(s.to_json(), indent=1))
    else:
        print(f"{s.claim_id}: {s.instances} instances ({s.ran} run, {s.skipped} done earlier) on {s.backend}: "
              f"{s.counts}; results in {s.results}")
        for note in s.notes:
            print(f"note: {note}")
        for r in s.confirmed:
            print(f"counterexample report: {r}")
    if s.errors:
        log = _write_error_log(Path(args.results), s.errors)
        print(f"error: evaluating claim {s.claim_id} raised; traceback in {log}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_VIOLATED if s.confirmed else EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from verify.report import summarize

    if args.html is not None:
        from verify.html_report import write_html

        if args.html and Path(args.html).exists() and not Path(args.html).is_dir():
            raise VerifyInputError(f"--html {args.html}: exists and is not a folder")
        index = write_html(args.path, args.html or None)
        print(f"wrote {index}")
        return 0
    print(summarize(args.path))
    return 0


# ---------------------------------------------------------------------------------------------- parser
def _add_resource_limits(s: argparse.ArgumentParser) -> None:
    """--max-memory and --max-time, shared by the commands that do heavy work (svm, trace)."""
    s.add_argument("--max-memory", metavar="SIZE",
                   help="refuse, before any heavy step, when the memory estimate exceeds SIZE (8G, 512M, 2GiB, none); "
                        "default: half of MemAvailable")
    s.add_argument("--max-time", metavar="SECONDS",
                   help="refuse when the certified Att-SVM's estimated time exceeds SECONDS (none: no limit); "
                        "default: 60")


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("attention-verify")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="verify", description="Check optimization theorems about attention numerically.",
                epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("list", help="every registered claim")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_list)

    s = sub.add_parser("svm", help="the certified Att-SVM of an instance")
    s.add_argument("--instance", required=True)
    s.add_argument("--alpha", help="token choice i0,i1,... (default: the optimal tokens)")
    s.add_argument("--p", type=float, default=2.0, help="entrywise p-norm (p != 2: the certified lp-Att-SVM)")
    _add_resource_limits(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_svm)

    s = sub.add_parser("trace", help="metrics along a trajectory")
    s.add_argument("--instance", required=True)
    s.add_argument("--method", choices=("gd", "ngd", "polyak", "adam", "lp-md"), default="ngd")
    s.add_argument("--p", type=float, default=2.0, help="lp-md: the potential's exponent p > 1")
    s.add_argument("--normalized", action="store_true", help="lp-md: divide the gradient by its dual q-norm")
    s.add_argument("--eta", type=float, default=0.1, help="step (GD, NGD) or learning rate (Adam)")
    s.add_argument("--polyak-c", type=float, default=1.0, help="c in (L - L*)/(c ||grad L||^2)")
    s.add_argument("--joint", action="store_true", help="train (u, W) jointly from u0 = 0 (L* = 0)")
    s.add_argument("--normalize", choices=("joint", "block"), default="joint",
                   help="joint runs: normalize the concatenated gradient or each block")
    s.add_argument("--init", choices=("instance", "zero", "random", "cone"), default="instance")
    s.add_argument("--init-scale", type=float, default=1.0, help="random: ||W0||; cone: ||W0||/||W_mm(alpha)||")
    s.add_argument("--init-seed", type=int, default=0)
    s.add_argument("--cone-mu", type=float, default=0.05, help="cone: corr(W0, W_mm(alpha)) >= 1 - mu")
    s.add_argument("--alpha", help="cone: token choice i0,i1,... (default: the optimal tokens)")
    s.add_argument("--steps", type=int, default=1000)
    s.add_argument("--checkpoints")
    s.add_argument("--backend", choices=("numpy", "mpmath", "torch"), default="numpy")
    s.add_argument("--dps", type=int, default=None, help="mpmath digits (only with --backend mpmath; default 50)")
    _add_resource_limits(s)
    s.add_argument("--representation", choices=("gram", "dense"), default="gram")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_trace)

    for name, fn, helptext in (("check", cmd_check, "search for confirmed counterexamples"),):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("claims", nargs="*")
        s.add_argument("--all", action="store_true")
        s.add_argument("--profile", default="quick")
        s.add_argument("--instance")
        s.add_argument("--reports", default="reports")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--json", action="store_true")
        s.add_argument("--quiet", action="store_true", help="no progress bar")
        s.set_defaults(fn=fn)

    s = sub.add_parser("audit", help="break each assumption alone; which are load-bearing?")
    s.add_argument("claim")
    s.add_argument("--profile", default="quick")
    s.add_argument("--reports", default="reports")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--examples", type=int, help="instances per assumption (default: from the profile)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(fn=cmd_audit)

    s = sub.add_parser("sweep", help="a claim on many seeded instances, batched, resumable")
    s.add_argument("claim")
    s.add_argument("--instances", type=int, required=True)
    s.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--results", default="sweep-results")
    s.add_argument("--profile", default="quick", help="horizon and confirmation budget (quick|ci|thorough)")
    s.add_argument("--batch-size", type=int, default=64, help="instances per batch (work unit)")
    s.add_argument("--executor", choices=("serial", "dask"), default="serial",
                   help="serial (this process) or dask (an embedded LocalCluster, or --scheduler)")
    s.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="an existing Dask cluster (implies --executor dask)")
    s.add_argument("--workers", type=int, default=2, help="worker processes of the embedded Dask LocalCluster")
    s.add_argument("--json", action="store_true")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(fn=cmd_sweep)

    s = sub.add_parser("replay", help="re-run a report as recorded; exit 0 reproduced, 1 not (differing fields named)")
    s.add_argument("report")
    s.set_defaults(fn=cmd_replay)

    s = sub.add_parser("show", help="summarize a report or a folder of reports")
    s.add_argument("path")
    s.add_argument("--html", nargs="?", const="", default=None, metavar="OUTDIR",
                   help="write a self-contained static HTML site (index.html; default: into the reports folder)")
    s.set_defaults(fn=cmd_show)
    return p


def _glue_option_values(argv: list[str]) -> list[str]:
    """``--checkpoints -1,5`` as ``--checkpoints=-1,5``: argparse would take ``-1,5`` for an unknown option and
    say the option lacks its value; glued, the value reaches its own validation and its message."""
    out: list[str] = []
    it = iter(argv)
    for a in it:
        if a in ("--checkpoints", "--alpha"):
            nxt = next(it, None)
            out.append(a if nxt is None else f"{a}={nxt}")
        else:
            out.append(a)
    return out


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(_glue_option_values(sys.argv[1:] if argv is None else argv))
        return int(args.fn(args))
    except VerifyInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (verify list | head -1): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
