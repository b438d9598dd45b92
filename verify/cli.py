"""The ``verify`` command line. The core verbs know no model: list, check, audit, sweep, map, replay, show. Each
registered model adds its own verbs through the model contract (``verify.model.Model.add_commands``; the
toolkit's own classifier model adds ``svm`` and ``trace``).

Exit codes (also in ``verify --help`` and the README):

- ``check`` and ``sweep``: 0 = nothing violated; 1 = at least one claim violated (a confirmed counterexample, robust
  across the reconstructions); 2 = a usage or input error; 3 = an evaluation error (one line names the claim; the
  traceback goes to ``errors.log`` in the reports folder). 3 takes precedence over 1: the run is incomplete.
- ``audit`` and ``map``: 0 when it ran (load-bearing assumptions, a claim failing in some cells are information,
  not failures); 2 or 3 as above.
- ``replay``: 0 = the report was reproduced; 1 = it was not (each differing field is named).
- every other command: 0 on success, 2 on a usage or input error; ``trace`` also exits 2 when its run loses
  precision (the rows up to that checkpoint are printed first).
- any command: 130 when interrupted (Ctrl-C), 141 when its output pipe closes.

Every exit 2 prints exactly one line ``error: ...`` on stderr and no traceback (tests/test_bad_input.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
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
  trace         0 ran, 2 usage or input error, or the run lost precision (rows up to there printed)
  map           0 it ran, 2 usage or input error, 3 evaluation error (traceback in DIR/errors.log)
  any           130 interrupted (check writes the summary of the claims that finished),
                141 output pipe closed (e.g. verify list | head -1)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise VerifyInputError(f"{self.prog}: {message}")


def parse_ints(text: str, what: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise VerifyInputError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not vals:
        raise VerifyInputError(f"{what} is empty")
    return vals


def emit(obj: Any, as_json: bool, text: str) -> None:
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
    emit(rows, args.json, text)
    return 0


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
    instance = _read_instance(args.instance) if args.instance else None
    summaries: list = []
    try:
        with _sigint_latch():
            _check_all(args, pairs, profile, reports, summaries, instance)
    except KeyboardInterrupt:  # keep what finished: its summary, printed and written, then exit 130
        print(f"interrupted: {len(summaries)} of {len(pairs)} claim(s) finished; writing their summary",
              file=sys.stderr)
        _print_summaries(pairs, summaries, args.reports)
        _write_run(args, pairs[:len(summaries)], summaries, interrupted=True)
        return EXIT_INTERRUPTED
    if not args.json:
        _print_summaries(pairs, summaries, args.reports)
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


def _read_instance(path: str) -> Any:
    """``check --instance``: the file's JSON, refused before parsing when parsing it would exceed half of the
    available memory (:func:`verify.resources.precheck_file`)."""
    from verify.instance import read_json
    from verify.resources import DEFAULT, precheck_file

    precheck_file(path, DEFAULT)
    obj = read_json(path)
    if not isinstance(obj, dict):
        raise VerifyInputError(f"{path}: an instance file must hold a JSON object, got {type(obj).__name__}")
    return obj


def _check_all(args: argparse.Namespace, pairs: list, profile: Any, reports: Path, summaries: list,
               instance: dict | None = None) -> None:
    from verify.engine import check
    from verify.progress import progress_bar

    with progress_bar(len(pairs), "check", quiet=args.quiet) as bar:
        for module, claim in pairs:
            inst = None
            if instance is not None:
                if instance.get("schema") != module.instance_schema:
                    raise VerifyInputError(f"{args.instance}: claim {claim.id} needs schema "
                                           f"{module.instance_schema!r}, the file has {instance.get('schema')!r}")
                try:
                    inst = module.load_instance(instance)
                except VerifyInputError as exc:
                    raise VerifyInputError(f"{args.instance}: {exc}") from None
            bar.note(claim.id)
            s = check(module, _counting(claim, bar), profile, instance=inst, reports=reports, seed=args.seed)
            bar.advance(note=f"{claim.id}: {s.verdict}")
            summaries.append(s)
            _raise_if_interrupted()


# ---------------------------------------------------------------------------------------------- the check table
CHECK_HEADER = ("claim", "kind", "verdict", "instances", "figure")
_VERDICT_STYLE = {"holds": "green", "violated": "bold red", "inconclusive": "yellow", "error": "magenta"}


def _g(x: float) -> str:
    return f"{x:.3g}"


def _finite(xs: Iterable[Any]) -> list[float]:
    from verify.stat_checks import finite_floats

    return finite_floats(xs)


def _span(xs: list[float]) -> str:
    lo, hi = _g(min(xs)), _g(max(xs))
    return lo if lo == hi else f"{lo} .. {hi}"


def kind_figure(kind: str, s: Any) -> str:
    """The figure that means something for a claim's kind, over the instances of one ``check`` summary ``s``.

    order: the range of the fitted exponents; bound: the worst observed/bound ratio; limit: the range of the final
    metric; comparison: the pairs won over the decided ones; probability: successes/trials and the interval (of
    the instance with the lowest estimate, when there are several); identity: the worst residual |lhs - rhs|.
    Empty when no instance gave one (e.g. none was applicable)."""
    evs = [e for e in getattr(s, "evidence", []) if e is not None]
    if kind == "order":
        xs = _finite(s.exponents)
        return f"exponent {_span(xs)}" if xs else ""
    if kind == "bound":
        return f"worst metric/bound {_g(s.worst_ratio)}" if s.worst_ratio is not None else ""
    if kind == "limit":
        xs = _finite(e.observed[-1] for e in evs if e.observed)
        return f"final metric {_span(xs)}" if xs else ""
    if kind == "comparison":
        pairs = [p for e in evs for p in (e.figure or {}).get("pairs", [])]
        if pairs:
            won, decided = sum(int(p["wins"]) for p in pairs), sum(int(p["decided"]) for p in pairs)
            return f"pairs won {won}/{decided}" + (f" ({won / decided:.0%})" if decided else "")
        verdicts = [v for e in evs for v in e.extra.get("pair_verdicts", [])]
        return f"pairs won {verdicts.count('holds')}/{len(verdicts)}" if verdicts else ""
    if kind == "probability":
        rows = [{**{k: e.extra[k] for k in ("successes", "trials", "interval", "confidence") if k in e.extra},
                 **(e.figure or {})} for e in evs]
        rows = [r for r in rows if r.get("trials")]
        if not rows:
            return ""
        r = min(rows, key=lambda r: r["successes"] / r["trials"])
        lo, hi = r.get("interval") or (float("nan"), float("nan"))
        more = f" (lowest of {len(rows)})" if len(rows) > 1 else ""
        return (f"{r['successes']}/{r['trials']}, {float(r.get('confidence', 0.95)):.0%} interval "
                f"[{_g(lo)}, {_g(hi)}]{more}")
    if kind == "identity":
        xs = _finite(v for e in evs for v in (e.figure or {}).get("residual", []))
        return f"worst residual {_g(max(xs))}" if xs else ""
    return ""


def check_rows(pairs: list, summaries: list) -> list[list[str]]:
    """The cells of the ``check`` table: claim, kind, verdict (words and reason codes), instances, figure."""
    from verify.verdicts import describe

    rows = []
    for (_, claim), s in zip(pairs, summaries, strict=False):
        codes = ", ".join(f"{c}: {n}" for c, n in s.codes.items())
        counts = ", ".join(f"{v}: {n}" for v, n in s.counts.items())
        rows.append([s.claim_id, claim.kind, describe(s.verdict) + (f" ({codes})" if codes else ""),
                     f"{s.tried}" + (f" ({counts})" if counts else ""), kind_figure(claim.kind, s)])
    return rows


def closing_line(summaries: list, reports: str) -> str:
    """``21 claims: 17 hold, 3 inconclusive, 1 violated; reports in DIR`` (verdicts with no claim left out)."""
    from verify.verdicts import ERROR, HOLDS, INCONCLUSIVE, VIOLATED

    words = {HOLDS: ("holds", "hold"), INCONCLUSIVE: ("inconclusive", "inconclusive"),
             VIOLATED: ("violated", "violated"), ERROR: ("error", "errors")}
    parts = []
    for v, (one, many) in words.items():
        k = sum(1 for s in summaries if s.verdict == v)
        if k:
            parts.append(f"{k} {one if k == 1 else many}")
    n = len(summaries)
    return f"{n} claim{'' if n == 1 else 's'}: {', '.join(parts) or 'none finished'}; reports in {reports}"


def _print_summaries(pairs: list, summaries: list, reports: str, stream: Any = None) -> None:
    """The ``check`` table (rich on a terminal; plain aligned text without colour codes in a pipe or a file), then
    per claim its notes, candidates and counterexample reports (one line each, never wrapped), then the closing
    line."""
    out = stream or sys.stdout
    rows = check_rows(pairs, summaries)
    if getattr(out, "isatty", lambda: False)():
        _rich_table(rows, out)
    else:
        for line in plain_table(list(CHECK_HEADER), rows):
            print(line, file=out)
    for line in detail_lines(summaries):
        print(line, file=out)
    print(closing_line(summaries, reports), file=out)


def plain_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned columns two spaces apart, a rule under the header; trailing blanks stripped."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    return lines + ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _rich_table(rows: list[list[str]], out: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    for i, h in enumerate(CHECK_HEADER):  # claim ids never break; other cells wrap (fold) rather than lose text
        table.add_column(h, no_wrap=i == 0, overflow="fold")
    for r in rows:
        table.add_row(r[0], r[1], Text(r[2], style=_VERDICT_STYLE.get(r[2].split(" ")[0], "")), r[3], r[4])
    Console(file=out).print(table)


def detail_lines(summaries: list) -> list[str]:
    """Notes, candidate readings and counterexample report paths, one line each, prefixed by the claim id."""
    from verify.verdicts import describe

    lines = []
    for s in summaries:
        lines += [f"{s.claim_id}: note: {note}" for note in s.notes]
        for cand in s.candidates:
            if cand["robustness"]:
                table = ", ".join(f"{r['name']}={r['value']} ({r['role']}): {describe(r['verdict'], r['code'])}"
                                  for r in cand["robustness"])
                lines.append(f"{s.claim_id}: candidate {cand['instance']}: "
                             f"{describe(cand['verdict'], cand['code'])}; readings: {table}")
        for p in s.reports:
            lines.append(f"{s.claim_id}: counterexample report: {p}")
            cert = _certification(p)
            if cert is not None:  # "certified (rigorous)" only when the report's certified is true
                lines.append(f"{s.claim_id}: {cert}")
    return lines


def _certification(path: str) -> str | None:
    """The report's certification line (verify.certify.certification_line), None when it has none."""
    from verify.certify import certification_line

    try:
        return certification_line(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


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


def cmd_audit(args: argparse.Namespace) -> int:
    import dataclasses

    from verify.engine import audit
    from verify.profiles import get_profile
    from verify.progress import progress_bar
    from verify.registry import find_claim

    if args.examples is not None and args.examples < 1:
        raise VerifyInputError(f"--examples must be >= 1, got {args.examples}")
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
                cert = _certification(p)
                if cert is not None:
                    print(f"{'':<18} {cert}")
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


def cmd_map(args: argparse.Namespace) -> int:
    import shlex

    from verify.map import run_map

    executor = None
    if args.executor == "dask" or args.scheduler:
        from verify.sweep_dask import dask_executor

        executor = dask_executor(args.scheduler, n_workers=args.workers)
    words = ["verify", "map", args.claim, *(w for v in args.vary or [] for w in ("--vary", v)),
             *(w for n in args.log or [] for w in ("--log", n)), *(w for f in args.set or [] for w in ("--set", f)),
             "--instances", str(args.instances),
             "--profile", args.profile, "--seed", str(args.seed), "--results", str(args.results)]
    command = shlex.join(words)  # what remakes (or resumes) the map; the executor does not change its results
    m = run_map(args.claim, args.vary or [], args.instances, log=args.log or [], results=args.results,
                profile=args.profile, seed=args.seed, quiet=args.quiet, executor=executor, command=command,
                fixed=args.set or [])
    if args.json:
        print(json.dumps(m.to_json(), indent=1))
    else:
        from verify.map import map_lines

        for line in map_lines(m.to_json()):
            print(line)
        print(f"map in {Path(args.results) / 'map.json'} and {Path(args.results) / 'map.png'}")
    if m.errors:
        log = _write_error_log(Path(args.results), m.errors)
        print(f"error: evaluating claim {m.claim_id} raised; traceback in {log}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from verify.report import summarize
    from verify.sweep import is_sweep_folder, summarize_sweep

    if args.html is None and is_sweep_folder(args.path):
        print(summarize_sweep(args.path))
        return 0

    if args.html is not None:
        from verify.report.html import write_html

        if args.html and Path(args.html).exists() and not Path(args.html).is_dir():
            raise VerifyInputError(f"--html {args.html}: exists and is not a folder")
        index = write_html(args.path, args.html or None)
        print(f"wrote {index}")
        return 0
    print(summarize(args.path))
    return 0


# ---------------------------------------------------------------------------------------------- parser
def _add_model_commands(sub: Any) -> None:
    """Each registered model's own verbs (``Model.add_commands``); a plugin model whose verbs clash with a known
    one, or whose ``add_commands`` raises, is reported on stderr in one line and its verbs are left out."""
    from verify.registry import models

    for model in models().values():
        if model.add_commands is None:
            continue
        before = dict(sub.choices)
        try:
            model.add_commands(sub)
        except Exception as exc:
            for name in set(sub.choices) - set(before):  # leave no half-added verb behind
                del sub.choices[name]
            print(f"warning: model {model.key!r} adds no commands: {exc.__class__.__name__}: {exc}",
                  file=sys.stderr)


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("attention-verify")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _profile_help(what: str) -> str:
    from verify.profiles import PROFILES

    return f"{what} ({', '.join(PROFILES)}; see docs/profiles.md); default: quick"


def _add_executor(s: argparse.ArgumentParser, how: str) -> None:
    """``--executor``, ``--scheduler`` and ``--workers`` (sweep and map); ``how`` completes the dask choice."""
    s.add_argument("--executor", choices=("serial", "dask"), default="serial",
                   help=f"serial (this process) or dask (an embedded LocalCluster, or --scheduler){how}; "
                        "default: serial")
    s.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="an existing Dask cluster (implies --executor dask); default: none")
    s.add_argument("--workers", type=int, default=2,
                   help="worker processes of the embedded Dask LocalCluster, an integer >= 1; default: 2")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="verify", description="Check optimization theorems numerically: claims, counterexamples, audits.",
                epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    json_help = "machine-readable JSON on stdout instead of the text output; default: off"
    quiet_help = "no progress bar on stderr (also VERIFY_QUIET=1); default: off (a bar when stderr is a terminal)"

    s = sub.add_parser("list", help="every registered claim")
    s.add_argument("--json", action="store_true", help=json_help)
    s.set_defaults(fn=cmd_list)

    _add_model_commands(sub)

    s = sub.add_parser("check", help="search for confirmed counterexamples")
    s.add_argument("claims", nargs="*", metavar="CLAIM", help="claim ids (verify list); or pass --all")
    s.add_argument("--all", action="store_true", help="every registered claim (not with claim ids); default: off")
    s.add_argument("--profile", default="quick", help=_profile_help("instances, horizon and confirmation budget"))
    s.add_argument("--instance", metavar="FILE",
                   help="judge the claims on this one instance file (JSON with the claims' schema) instead of "
                        "searching; default: none (search the claims' strategies)")
    s.add_argument("--reports", default="reports", metavar="DIR",
                   help="folder for counterexample reports, run summaries (DIR/runs) and errors.log, created if "
                        "needed; default: reports")
    s.add_argument("--seed", type=int, default=0,
                   help="seed of the instance search (any integer; the same seed draws the same instances); "
                        "default: 0")
    s.add_argument("--json", action="store_true", help=json_help)
    s.add_argument("--quiet", action="store_true", help=quiet_help)
    s.set_defaults(fn=cmd_check)

    s = sub.add_parser("audit", help="break each assumption alone; which are load-bearing?")
    s.add_argument("claim", metavar="CLAIM", help="a claim id (verify list)")
    s.add_argument("--profile", default="quick", help=_profile_help("horizon and confirmation budget"))
    s.add_argument("--reports", default="reports", metavar="DIR",
                   help="folder for audit reports and errors.log, created if needed; default: reports")
    s.add_argument("--seed", type=int, default=0, help="seed of the instance search (any integer); default: 0")
    s.add_argument("--examples", type=int, metavar="K",
                   help="instances per broken assumption, an integer >= 1; default: the profile's (quick 8, ci 12, "
                        "thorough 200)")
    s.add_argument("--json", action="store_true", help=json_help)
    s.add_argument("--quiet", action="store_true", help=quiet_help)
    s.set_defaults(fn=cmd_audit)

    s = sub.add_parser("sweep", help="a claim on many seeded instances, batched, resumable")
    s.add_argument("claim", metavar="CLAIM", help="a claim id (verify list)")
    s.add_argument("--instances", type=int, required=True, metavar="N",
                   help="how many seeded instances to draw, an integer >= 1; required")
    s.add_argument("--backend", choices=("numpy", "torch"), default="numpy",
                   help="the batched trajectories' backend (numpy, torch); default: numpy")
    s.add_argument("--seed", type=int, default=0, help="seed of the instance draw (any integer); default: 0")
    s.add_argument("--results", default="sweep-results", metavar="DIR",
                   help="results folder (DIR/manifest.json, DIR/instances, DIR/summary.json, DIR/reports), created "
                        "if needed; one sweep per folder: reusing it for another claim, seed, profile or backend is "
                        "refused; default: sweep-results")
    s.add_argument("--profile", default="quick", help=_profile_help("horizon and confirmation budget"))
    s.add_argument("--batch-size", type=int, default=64, metavar="B",
                   help="instances per batch (work unit), an integer >= 1; default: 64")
    _add_executor(s, "")
    s.add_argument("--json", action="store_true", help=json_help)
    s.add_argument("--quiet", action="store_true", help=quiet_help)
    s.set_defaults(fn=cmd_sweep)

    s = sub.add_parser("map", help="where a claim holds, over a grid of generator parameters (curve or heatmap)")
    s.add_argument("claim", metavar="CLAIM", help="a claim id whose module has a grid (verify list)")
    s.add_argument("--vary", action="append", metavar="NAME=LO:HI:N",
                   help="a generator parameter and N values from LO to HI (integers for an integer parameter such "
                        "as d), once or twice; required")
    s.add_argument("--log", action="append", metavar="NAME",
                   help="space that varied parameter's values geometrically (LO, HI > 0); default: linear")
    s.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="hold another grid parameter at VALUE in every cell (repeatable); default: its default")
    s.add_argument("--instances", type=int, required=True, metavar="K",
                   help="seeded instances per cell, an integer >= 1; required")
    s.add_argument("--results", default="map-results", metavar="DIR",
                   help="DIR/map.json, DIR/map.png and one resumable sweep folder per cell (DIR/cells/<cell>); "
                        "default: map-results")
    s.add_argument("--profile", default="quick", help=_profile_help("horizon and confirmation budget"))
    s.add_argument("--seed", type=int, default=0, help="seed of every cell's instance draw (any integer); default: 0")
    _add_executor(s, ": every cell's work units in one submission")
    s.add_argument("--json", action="store_true", help=json_help)
    s.add_argument("--quiet", action="store_true", help=quiet_help)
    s.set_defaults(fn=cmd_map)

    s = sub.add_parser("replay", help="re-run a report as recorded; exit 0 reproduced, 1 not (differing fields named)")
    s.add_argument("report", metavar="REPORT", help="a report's JSON file (schema verify-report/1)")
    s.set_defaults(fn=cmd_replay)

    s = sub.add_parser("show", help="summarize a report, a folder of reports or a sweep's results folder")
    s.add_argument("path", metavar="PATH", help="a report's JSON file, a reports folder, or a sweep results folder")
    s.add_argument("--html", nargs="?", const="", default=None, metavar="OUTDIR",
                   help="write a self-contained static HTML site (OUTDIR/index.html; --html alone: into the reports "
                        "folder); default: off (text on stdout)")
    s.set_defaults(fn=cmd_show)
    for parser in [p, *sub.choices.values()]:
        complete_help(parser)
    return p


def complete_help(parser: argparse.ArgumentParser) -> None:
    """Every option's help states its default and allowed values: an option whose help (a model verb's, say)
    does not yet say them gets ``one of: ...`` (its choices) and ``default: ...`` (or ``required``) appended."""
    for a in parser._actions:
        if not a.option_strings or a.help == argparse.SUPPRESS or isinstance(a, (argparse._HelpAction,
                                                                                  argparse._VersionAction)):
            continue
        text = a.help or ""
        extra = []
        if a.choices and not all(str(c) in text for c in a.choices):
            extra.append("one of: " + ", ".join(map(str, a.choices)))
        if "default" not in text and "required" not in text:
            if a.required:
                extra.append("required")
            elif isinstance(a, argparse._StoreTrueAction):
                extra.append("default: off")
            else:
                extra.append(f"default: {'none' if a.default is None else a.default}")
        if extra:
            a.help = "; ".join([text, *extra]) if text else "; ".join(extra)


_NEGATIVE_VALUE = re.compile(r"-[0-9.]")


def _glue_option_values(argv: list[str]) -> list[str]:
    """``--checkpoints -1,5`` as ``--checkpoints=-1,5``: argparse would take ``-1,5`` for an unknown option and
    say the option lacks its value; glued, a value that starts like a negative number reaches the option's own
    validation and its message."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if a.startswith("--") and "=" not in a and nxt is not None and _NEGATIVE_VALUE.match(nxt):
            out.append(f"{a}={nxt}")
            i += 2
        else:
            out.append(a)
            i += 1
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
