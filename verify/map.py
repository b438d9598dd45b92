"""``verify map``: where a claim holds, as a function of one or two generator parameters.

The module's ``grid(claim_id, params)`` strategy (:class:`verify.theory.TheoremModule`) draws instances with given
generator parameters that meet the claim's *other* assumptions (those the parameters do not control). For every
cell of a grid (``--vary NAME=LO:HI:N``, linear, or logarithmic with ``--log NAME``; rounded to integers for an
integer parameter; the other parameters at their defaults or held with ``--set NAME=VALUE``) the map draws K
seeded instances and runs the claim on each of them, **whether or not they meet its assumptions** (as an audit
does): the point is to see where the claim stops holding, and how that lines up
with the assumption slacks, which every cell records.

Each cell is one sweep folder, ``DIR/cells/<cell-id>/`` (``manifest.json``, ``instances/<key>.json``,
``summary.json``, ``cell.json`` with the parameters), built from :mod:`verify.sweep`'s pieces (deterministic draw,
work units of one shape, atomic result files, one manifest per folder), so an interrupted map resumes: a re-run
skips every instance whose result file exists. A candidate violation is confirmed as in a sweep
(:func:`verify.engine.finalize`); on an instance that breaks one of the claim's assumptions its report is an audit
report (``broken_assumption`` names them), never a counterexample.

Per cell (``DIR/map.json``, schema ``verify-map/1``, written atomically): the parameters, the verdict counts, how
many instances met every assumption of the claim (``applicable``), the fraction of instances on which the claim
holds with its Clopper-Pearson 95% interval, the median final metric and the median slack of every assumption.
``DIR/map.png`` draws the fraction against one parameter (with the intervals) or a heatmap over two, and marks
every place where the fraction crosses 1/2 (linear interpolation between neighbouring cells, in log space on a log
axis).

``fraction`` is the fraction of instances on which the claim's *verdict* is ``holds``. A claim's evaluation may
expose what the map should count besides its verdict, in its observation's ``extra`` (the map knows no model):

- ``extra["event"] = {"name": str, "occurred": int, "trials": int}`` (``occurred`` may be a bool, ``trials``
  then defaults to 1): the event the claim is about, counted over every trial of every instance of a cell
  (pooled): ``event`` in the cell record has the name, the counts, the fraction and its Clopper-Pearson 95%
  interval, and the map draws and crosses the event fraction instead of the verdict fraction (``plotted`` in
  map.json says which). Pooling treats the trials of different instances as draws of one probability;
  when the instances differ in ways that matter, the interval is narrower than the instances' spread;
- ``extra["quantity"] = {"name": str, "value": float}``: a number per instance whose median the cell records
  (``quantity``);

and every cell records the median fitted exponent of the evidence (``median_exponent``, order claims).

**Executors.** All cells' work units go to one executor call (``executor(fn, units)``, the interface of
:mod:`verify.sweep`), so a distributed executor (:mod:`verify.sweep_dask`) runs the cells in parallel; the results
come back to this process, which writes every result file, so resumption is the same as with the serial executor.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.errors import VerifyInputError
from verify.instance import atomic_write_text, dumps

MAP_SCHEMA = "verify-map/1"
CELL_BATCH = 4  # instances per work unit: a kill loses at most this many evaluations of a cell


# ---------------------------------------------------------------------------------------------- the grid
@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[Any, ...]
    log: bool = False

    def to_json(self) -> dict:
        return {"name": self.name, "values": list(self.values), "log": self.log}


def parse_vary(text: str, known: dict[str, Any], log: bool = False) -> Axis:
    """``NAME=LO:HI:N``: N values from LO to HI (linear, or geometric when ``log``); integers for a parameter whose
    default is an int. One-line errors for bad syntax, an unknown parameter or an empty range."""
    name, sep, rng = text.partition("=")
    parts = rng.split(":")
    if not sep or not name.strip() or len(parts) != 3:
        raise VerifyInputError(f"--vary {text!r}: expected NAME=LO:HI:N (for example d=4:40:4)")
    name = name.strip()
    if name not in known:
        raise VerifyInputError(f"--vary {name}: unknown parameter; this claim's grid has "
                               f"{', '.join(sorted(known)) or 'none'}")
    try:
        lo, hi, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise VerifyInputError(f"--vary {text!r}: LO and HI must be numbers and N an integer "
                               "(NAME=LO:HI:N, for example d=4:40:4)") from None
    if count < 1 or not (math.isfinite(lo) and math.isfinite(hi)):
        raise VerifyInputError(f"--vary {text!r}: N must be >= 1 and LO, HI finite")
    if log and (lo <= 0 or hi <= 0):
        raise VerifyInputError(f"--log {name}: LO and HI must be > 0 on a log scale, got {parts[0]}:{parts[1]}")
    if count == 1:
        raw = [lo]
    elif log:
        raw = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (count - 1)) for i in range(count)]
    else:
        raw = [lo + (hi - lo) * i / (count - 1) for i in range(count)]
    integer = isinstance(known[name], int) and not isinstance(known[name], bool)
    values: list[Any] = [int(round(v)) for v in raw] if integer else [float(f"{v:.12g}") for v in raw]
    if len(set(values)) < len(values):
        raise VerifyInputError(f"--vary {text!r}: {name} is an integer parameter and only "
                               f"{len(set(values))} of the {count} values are distinct integers")
    if integer and min(values) < 1:
        raise VerifyInputError(f"--vary {text!r}: {name} is a positive integer parameter")
    return Axis(name, tuple(values), log)


def parse_set(text: str, known: dict[str, Any]) -> tuple[str, Any]:
    """``NAME=VALUE``: a grid parameter held at VALUE in every cell (instead of its default); an integer for a
    parameter whose default is an int. One-line errors for bad syntax, an unknown parameter or a bad value."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name or not raw.strip():
        raise VerifyInputError(f"--set {text!r}: expected NAME=VALUE (for example n=6)")
    if name not in known:
        raise VerifyInputError(f"--set {name}: unknown parameter; this claim's grid has "
                               f"{', '.join(sorted(known)) or 'none'}")
    integer = isinstance(known[name], int) and not isinstance(known[name], bool)
    try:
        value: Any = int(raw) if integer else float(raw)
    except ValueError:
        raise VerifyInputError(f"--set {text!r}: {name} takes {'an integer' if integer else 'a number'}") from None
    if not integer and not math.isfinite(value):
        raise VerifyInputError(f"--set {text!r}: the value must be finite")
    return name, value


def cell_id(params: dict) -> str:
    """``d=4`` or ``d=4,n=3``: the cell's folder name (parameters in --vary order)."""
    return ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


# ---------------------------------------------------------------------------------------------- one cell
def run_map_unit(unit: Any) -> list[dict]:
    """A sweep work unit evaluated whether or not its instances meet the claim's assumptions: the assumption table,
    one batched trajectory (the model's batch runner) for all of them, the verdict (a candidate seen on the batch is
    assessed again on its own run: :func:`verify.engine.assess_batch`), and confirmation of every
    candidate violation (as an audit finding when an assumption of the claim fails). One result dict per instance,
    as :func:`verify.sweep.run_unit` writes, plus ``applicable``."""
    from pathlib import Path as _Path

    from verify.engine import assess_batch, failing_assumptions, finalize
    from verify.profiles import get_profile
    from verify.registry import find_claim
    from verify.sweep import RESULT_SCHEMA
    from verify.verdicts import VIOLATED

    module, claim = find_claim(unit.claim_id)
    profile = get_profile(unit.profile)
    insts = [module.load_instance(j) for j in unit.instances]
    assessed, batched, note = assess_batch(module, claim, insts, unit.settings, every=True)
    out = []
    for k, a in enumerate(assessed):
        failing = failing_assumptions(a.assumptions)
        report = None
        if a.verdict == VIOLATED:
            p = finalize(module, claim, a, unit.settings, profile, _Path(unit.reports) if unit.reports else None,
                         unit.settings.seed)
            report = None if p is None else str(p)
        ev = a.evidence
        out.append({
            "schema": RESULT_SCHEMA, "key": unit.keys[k], "index": unit.indices[k], "claim": claim.id,
            "verdict": a.verdict, "code": a.code, "status": a.status or (ev.reason if ev is not None else ""),
            "confirmed": a.verdict == VIOLATED, "report": report, "traceback": a.traceback,
            "applicable": not failing, "broken": failing,
            "final_metric": None if ev is None or not ev.observed else ev.observed[-1],
            "exponent": None if ev is None else ev.exponent,
            "event": None if ev is None else event_of(ev.extra),
            "quantity": None if ev is None else quantity_of(ev.extra),
            "assumptions": {r["id"]: {"verdict": r["verdict"], "slack": r["slack"]} for r in a.assumptions},
            "batch": {"size": len(insts), "batched": batched, "note": note},
            "settings": unit.settings.to_json(), "profile": unit.profile, "instance": unit.instances[k],
        })
    return out


def event_of(extra: dict) -> dict | None:
    """The observation's ``extra["event"]`` as ``{"name", "occurred", "trials"}`` (ints, 0 <= occurred <= trials),
    or None when absent or malformed (the map then counts verdicts only)."""
    e = extra.get("event") if isinstance(extra, dict) else None
    if not isinstance(e, dict) or "occurred" not in e:
        return None
    occ, trials = e["occurred"], e.get("trials", 1)
    if isinstance(occ, bool):
        occ = int(occ)
    if not (isinstance(occ, int) and isinstance(trials, int) and 0 <= occ <= trials and trials >= 1):
        return None
    return {"name": str(e.get("name", "event")), "occurred": occ, "trials": trials}


def quantity_of(extra: dict) -> dict | None:
    """The observation's ``extra["quantity"]`` as ``{"name", "value"}`` (a finite float), or None."""
    q = extra.get("quantity") if isinstance(extra, dict) else None
    if not isinstance(q, dict) or not isinstance(q.get("value"), (int, float)) or isinstance(q.get("value"), bool):
        return None
    v = float(q["value"])
    return {"name": str(q.get("name", "quantity")), "value": v} if math.isfinite(v) else None


def _median(xs: Sequence[Any]) -> float | None:
    from verify.stat_checks import finite_floats

    vals = finite_floats(xs)
    return statistics.median(vals) if vals else None


@dataclass(frozen=True)
class CellUnit:
    """A sweep work unit of one cell (``cell``: its id): what the map hands its executor. Plain data; pickles."""

    cell: str
    unit: Any


def run_cell_unit(cu: CellUnit) -> list[dict]:
    """:func:`run_map_unit` on the cell's unit, every result tagged with its cell's id."""
    return [{**r, "cell": cu.cell} for r in run_map_unit(cu.unit)]


@dataclass
class _Cell:
    record: dict
    folder: Path
    instances: list = field(default_factory=list)
    units: list = field(default_factory=list)
    skipped: int = 0


def prepare_cell(claim_id: str, strategy: Any, params: dict, count: int, seed: int, settings: Any, profile: str,
                 folder: Path) -> _Cell:
    """The cell's sweep folder (manifest, cell.json), its seeded instances and the work units not done yet."""
    from verify.sweep import claim_results_folder, draw_instances, manifest, plan

    (folder / "instances").mkdir(parents=True, exist_ok=True)
    claim_results_folder(folder, manifest(claim_id, settings, profile))
    atomic_write_text(folder / "cell.json", dumps({"params": params, "instances": count, "seed": seed}))
    record: dict = {"id": cell_id(params), "params": params, "instances": count, "counts": {}, "applicable": 0,
                    "fraction": None, "interval": None, "event": None, "median_metric": None,
                    "median_exponent": None, "quantity": None, "slacks": {}, "notes": []}
    cell = _Cell(record, folder)
    try:
        cell.instances = draw_instances(strategy, count, seed)
    except VerifyInputError as exc:
        record["notes"].append(f"no instances: {exc}")
        return cell
    units, cell.skipped = plan(claim_id, cell.instances, settings, profile, folder, CELL_BATCH, folder / "reports")
    cell.units = [CellUnit(record["id"], u) for u in units]
    return cell


def finish_cell(claim_id: str, cell: _Cell, settings: Any, profile: str) -> dict:
    """The cell's record for map.json from its result files (and its summary.json)."""
    from verify.stat_checks import clopper_pearson
    from verify.sweep import result_key
    from verify.verdicts import HOLDS

    record, folder = cell.record, cell.folder
    if not cell.instances:
        return record
    rows = [json.loads((folder / "instances" / f"{result_key(i, claim_id, settings, profile)}.json").read_text())
            for i in cell.instances]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    holds = counts.get(HOLDS, 0)
    lo, hi = clopper_pearson(holds, len(rows))
    names = sorted({a for r in rows for a in r["assumptions"]})
    events = [r["event"] for r in rows if r.get("event")]
    if events:
        occ, trials = sum(e["occurred"] for e in events), sum(e["trials"] for e in events)
        elo, ehi = clopper_pearson(occ, trials)
        record["event"] = {"name": events[0]["name"], "occurred": occ, "trials": trials, "fraction": occ / trials,
                           "interval": [elo, ehi], "instances": len(events)}
    quantities = [r["quantity"] for r in rows if r.get("quantity")]
    if quantities:
        record["quantity"] = {"name": quantities[0]["name"], "median": _median([q["value"] for q in quantities]),
                              "instances": len(quantities)}
    record.update({
        "counts": dict(sorted(counts.items())), "applicable": sum(1 for r in rows if r.get("applicable")),
        "fraction": holds / len(rows), "interval": [lo, hi],
        "median_metric": _median([r.get("final_metric") for r in rows]),
        "median_exponent": _median([r.get("exponent") for r in rows]),
        "slacks": {a: _median([r["assumptions"][a]["slack"] for r in rows if a in r["assumptions"]])
                   for a in names},
        "ran": sum(len(u.unit.keys) for u in cell.units), "skipped": cell.skipped,
        "reports": [_report_path(r["report"], folder) for r in rows if r.get("report")],
        "errors": [{"status": r["status"], "traceback": r.get("traceback", "")} for r in rows
                   if r["verdict"] == "error"],
    })
    if record["applicable"] == 0:
        record["notes"].append("no instance meets every assumption of the claim: the claim was evaluated outside "
                               "its assumptions on all of them")
    atomic_write_text(folder / "summary.json", dumps({
        "schema": "verify-sweep-summary/1", "claim_id": claim_id, "instances": record["instances"],
        "ran": record["ran"], "skipped": cell.skipped, "counts": record["counts"], "confirmed": record["reports"],
        "results": str(folder), "backend": settings.backend, "notes": record["notes"], "codes": {}, "errors": []}))
    return record


def _report_path(recorded: str, folder: Path) -> str:
    """A confirmed finding's report as a path relative to the map's folder (``cells/<cell>/reports/<file>``) when
    it is in the cell's reports folder (so a moved map folder stays readable), else as recorded."""
    here = folder / "reports" / Path(recorded).name
    return here.relative_to(folder.parent.parent).as_posix() if here.is_file() else recorded


def run_cells(claim_id: str, cells: list[_Cell], settings: Any, profile: str, executor: Any = None,
              quiet: bool = True) -> list[dict]:
    """Every cell's pending units in ONE executor call; each result file written (atomically) as it arrives."""
    from verify.progress import progress_bar
    from verify.sweep import serial_executor

    folders = {c.record["id"]: c.folder for c in cells}
    units = [u for c in cells for u in c.units]
    total = sum(len(c.instances) for c in cells)
    with progress_bar(total, f"map {claim_id}", quiet=quiet) as bar:
        skipped = sum(c.skipped for c in cells)
        if skipped:
            bar.advance(skipped, note=f"{skipped} done earlier")
        if units:
            run: Any = executor or serial_executor
            for res in run(run_cell_unit, units):
                for r in res:
                    atomic_write_text(folders[r["cell"]] / "instances" / f"{r['key']}.json", dumps(r))
                bar.advance(len(res))
    return [finish_cell(claim_id, c, settings, profile) for c in cells]


def run_cell(claim_id: str, strategy: Any, params: dict, count: int, seed: int, settings: Any, profile: str,
             folder: Path, executor: Any = None, quiet: bool = True) -> dict:
    """One cell: a sweep folder of ``count`` instances of ``strategy``; returns the cell's record for map.json."""
    cell = prepare_cell(claim_id, strategy, params, count, seed, settings, profile, folder)
    return run_cells(claim_id, [cell], settings, profile, executor, quiet)[0]


# ---------------------------------------------------------------------------------------------- the map
@dataclass
class MapResult:
    claim_id: str
    axes: list[Axis]
    cells: list[dict]
    results: str
    crossings: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    fixed: dict = field(default_factory=dict)  # the grid's other parameters, at their defaults
    assumptions: list[str] = field(default_factory=list)  # the claim's own (the slacks also list diagnostics)
    instances: int = 0
    seed: int = 0
    profile: str = ""
    plotted: str = "verdict"  # what the figure and the crossings are of: "verdict" (fraction holding) or "event"
    verdict_crossings: list[dict] = field(default_factory=list)  # of the fraction holding, when plotted is "event"
    command: str = ""  # the command line that made (and resumes) the map

    def to_json(self) -> dict:
        cells = [{k: v for k, v in c.items() if k != "errors"} for c in self.cells]
        return {"schema": MAP_SCHEMA, "claim": self.claim_id, "vary": [a.to_json() for a in self.axes],
                "fixed": self.fixed, "assumptions": self.assumptions, "instances": self.instances,
                "seed": self.seed, "profile": self.profile, "command": self.command, "plotted": self.plotted,
                "cells": cells, "crossings": self.crossings, "verdict_crossings": self.verdict_crossings}


def _crossings_all(xs: Sequence[float], fs: Sequence[float | None], log: bool = False) -> list[float]:
    out = []
    for k in range(len(xs) - 1):
        x = crossing(xs[k:k + 2], fs[k:k + 2], log)
        if x is not None:
            out.append(x)
    return out


def crossing(xs: Sequence[float], fs: Sequence[float | None], log: bool = False) -> float | None:
    """Where the fraction first crosses 1/2 between neighbouring cells, one below 1/2 and the other at or above it
    (linear interpolation; in log x when ``log``); None when it does not cross."""
    for (x0, f0), (x1, f1) in itertools.pairwise(zip(xs, fs, strict=True)):
        if f0 is None or f1 is None or (f0 < 0.5) == (f1 < 0.5):
            continue
        a, b = (math.log(x0), math.log(x1)) if log else (x0, x1)
        v = a + (0.5 - f0) * (b - a) / (f1 - f0)
        return math.exp(v) if log else v
    return None


def crossing_interval(xs: Sequence[float], los: Sequence[float | None], his: Sequence[float | None],
                      estimate: float, log: bool = False) -> tuple[list[float], list[bool]]:
    """The range of x around ``estimate`` where the band of the cells' 95% intervals contains 1/2: where the
    lower and the upper ends of the intervals cross 1/2 (interpolated as the fraction is; the crossing of each
    nearest to the estimate). An end the band does not reach on the grid is the grid's end, marked open (the
    crossing may lie beyond it). This is a band of pointwise intervals, not a confidence interval of the crossing
    itself. Returns ([low, high], [low open, high open])."""
    ends: list[float | None] = []
    for band in (los, his):
        cands = _crossings_all(xs, band, log)
        ends.append(min(cands, key=lambda x: abs(x - estimate)) if cands else None)
    lo_x, hi_x = min(xs), max(xs)
    found = sorted(e for e in ends if e is not None)
    if not found:
        return [lo_x, hi_x], [True, True]
    if len(found) == 2:
        return [found[0], found[1]], [False, False]
    e = found[0]
    return ([lo_x, e], [True, False]) if e >= estimate else ([e, hi_x], [False, True])


def _line(cell: dict, plotted: str) -> tuple[float | None, float | None, float | None]:
    """(fraction, interval low, interval high) of what is plotted."""
    src = cell.get("event") if plotted == "event" else cell
    if not src or src.get("fraction") is None:
        return None, None, None
    return src["fraction"], src["interval"][0], src["interval"][1]


def crossings_of(axes: list[Axis], cells: list[dict], plotted: str = "verdict") -> list[dict]:
    """Every 1/2 crossing along the first axis (for each value of the second, if any), in order, each with the
    band of the cells' intervals around it (:func:`crossing_interval`). A fraction that goes down and up again
    crosses more than once; a cell with few trials can make a crossing of its own, so read the counts."""
    first = axes[0]
    rests = list(itertools.product(*(a.values for a in axes[1:])))
    out = []
    for rest in rests:
        at = {a.name: v for a, v in zip(axes[1:], rest, strict=True)}
        line = [c for c in cells if all(c["params"][k] == v for k, v in at.items())]
        xs = [float(c["params"][first.name]) for c in line]
        f, lo, hi = zip(*(_line(c, plotted) for c in line), strict=True) if line else ((), (), ())
        for x in _crossings_all(xs, list(f), first.log):
            iv, open_ = crossing_interval(xs, list(lo), list(hi), x, first.log)
            out.append({"along": first.name, "at": at, "value": x, "interval": iv, "open": open_})
    return out


def run_map(claim_id: str, vary: list[str], instances: int, *, log: Sequence[str] = (), results: str | Path = "map",
            profile: str = "quick", seed: int = 0, executor: Any = None, quiet: bool = False,
            command: str = "", fixed: Sequence[str] = ()) -> MapResult:
    """The map of ``claim_id`` over the grid of ``vary`` (see the module docstring)."""
    from verify.engine import settings_for
    from verify.profiles import claim_settings, get_profile
    from verify.registry import find_claim

    module, claim = find_claim(claim_id)
    if module.grid is None or module.grid(claim.id, {}) is None:
        raise VerifyInputError(f"claim {claim.id} has no grid (its module draws no instances by generator "
                               "parameters for it): verify map cannot vary it")
    if instances < 1:
        raise VerifyInputError(f"--instances must be >= 1, got {instances}")
    if not vary:
        raise VerifyInputError("pass --vary NAME=LO:HI:N once or twice")
    if len(vary) > 2:
        raise VerifyInputError(f"--vary at most twice (a curve or a heatmap), got {len(vary)}")
    names = [v.partition("=")[0].strip() for v in vary]
    for n in log:
        if n not in names:
            raise VerifyInputError(f"--log {n}: not a varied parameter (varied: {', '.join(names)})")
    axes = [parse_vary(v, module.grid_params, log=n in log) for v, n in zip(vary, names, strict=True)]
    if len({a.name for a in axes}) < len(axes):
        raise VerifyInputError(f"--vary {axes[0].name} given twice")
    held = dict(parse_set(f, module.grid_params) for f in fixed)
    if len(held) < len(fixed):
        raise VerifyInputError("--set: a parameter given twice")
    for name in held:
        if name in names:
            raise VerifyInputError(f"--set {name}: that parameter is varied (--vary); hold it or vary it, not both")
    prof = get_profile(profile)
    settings = settings_for(module, claim_settings(prof, seed))
    out = Path(results)
    if out.exists() and not out.is_dir():
        raise VerifyInputError(f"--results {out}: exists and is not a folder")
    try:
        (out / "cells").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise VerifyInputError(f"--results {out}: not writable ({exc.strerror or exc})") from None
    grid = module.grid
    prepared = []
    for combo in itertools.product(*(a.values for a in axes)):
        params = {a.name: v for a, v in zip(axes, combo, strict=True)}
        prepared.append(prepare_cell(claim.id, grid(claim.id, {**held, **params}), params, instances, seed, settings,
                                     prof.name, out / "cells" / cell_id(params)))
    cells = run_cells(claim.id, prepared, settings, prof.name, executor, quiet)
    plotted = "event" if any(c.get("event") for c in cells) else "verdict"
    res = MapResult(claim.id, axes, cells, str(out), crossings_of(axes, cells, plotted),
                    [{"claim": claim.id, **e} for c in cells for e in c.get("errors", [])],
                    fixed={k: held.get(k, v) for k, v in module.grid_params.items() if k not in names},
                    assumptions=list(claim.assumptions), instances=instances, seed=seed, profile=prof.name,
                    plotted=plotted, verdict_crossings=crossings_of(axes, cells) if plotted == "event" else [],
                    command=command)
    atomic_write_text(out / "map.json", dumps(res.to_json()))
    plot_map(res, out / "map.png")
    return res


# ---------------------------------------------------------------------------------------------- the figure
def plot_map(res: MapResult, path: Path) -> None:
    """A curve with intervals (one axis) or a heatmap (two), the 1/2 crossing marked; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import textwrap

    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7.0, 5.4) if len(res.axes) == 1 else (6.8, 4.6))
    first = res.axes[0]
    other = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in res.fixed.items())
    event = next((c["event"]["name"] for c in res.cells if c.get("event")), None)
    what = f"fraction where '{event}'" if res.plotted == "event" and event else "fraction where it holds"
    ylabel = "event fraction (pooled trials)" if res.plotted == "event" else "fraction holding"
    title = ("\n".join(textwrap.wrap(f"{res.claim_id}: {what}, {res.instances} instances per cell", 90))
             + (f"\n({other}; seed {res.seed}, profile {res.profile})" if other else ""))
    if len(res.axes) == 1:
        xs = [float(c["params"][first.name]) for c in res.cells]
        lines = [_line(c, res.plotted) for c in res.cells]
        fs = [np.nan if f is None else f for f, _, _ in lines]
        lo = [0.0 if f is None or a is None else f - a for f, a, _ in lines]
        hi = [0.0 if f is None or b is None else b - f for f, _, b in lines]
        ax.errorbar(xs, fs, yerr=[lo, hi], marker="o", capsize=3, label=f"{ylabel} (95% CP interval)")
        if res.plotted == "event":
            vf = [np.nan if c["fraction"] is None else c["fraction"] for c in res.cells]
            ax.plot(xs, vf, "s:", color="grey", ms=4, lw=0.8, label="fraction where the claim holds (verdict)")
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_xlabel(first.name)
        ax.set_ylabel(ylabel)
        ax.set_ylim(-0.05, 1.05)
        if first.log:
            ax.set_xscale("log")
        ax.set_xticks(xs, [f"{v:.3g}" for v in xs])  # the grid's values (no offset or power-of-ten labels)
        ax.minorticks_off()
        for k, c in enumerate(res.crossings):
            ax.axvline(c["value"], color="red", ls="--", lw=1,
                       label=f"50% crossing at {first.name} ~ {c['value']:.3g}")
            if c.get("interval"):
                ax.axvspan(c["interval"][0], c["interval"][1], color="red", alpha=0.06,
                           label="band where the cells' 95% intervals contain 50%" if k == 0 else None)
        if not res.crossings:
            title += "\n(the fraction does not cross 50% on this grid)"
        side = [(c.get("quantity") or {}).get("median") for c in res.cells]
        side_name = next((c["quantity"]["name"] for c in res.cells if c.get("quantity")), None)
        if side_name is None and any(c.get("median_exponent") is not None for c in res.cells):
            side, side_name = [c.get("median_exponent") for c in res.cells], "median fitted exponent"
        elif side_name is not None:
            side_name = f"median {side_name}"
        handles, labels = ax.get_legend_handles_labels()
        if side_name is not None:
            ax2 = ax.twinx()
            ax2.plot(xs, [np.nan if v is None else v for v in side], "^-", color="tab:green", ms=5, lw=1)
            ax2.set_ylabel(side_name, color="tab:green")
            handles.append(ax2.lines[0])
            labels.append(side_name + " (right axis)")
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=7,
                  frameon=False)
    else:
        second = res.axes[1]
        grid = np.full((len(second.values), len(first.values)), np.nan)
        for c in res.cells:
            i, j = second.values.index(c["params"][second.name]), first.values.index(c["params"][first.name])
            f = _line(c, res.plotted)[0]
            grid[i, j] = np.nan if f is None else f
        im = ax.imshow(grid, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
        fig.colorbar(im, ax=ax, label=ylabel)
        ax.set_xticks(range(len(first.values)), [f"{v:g}" for v in first.values])
        ax.set_yticks(range(len(second.values)), [f"{v:g}" for v in second.values])
        ax.set_xlabel(first.name + (" (log grid)" if first.log else ""))
        ax.set_ylabel(second.name + (" (log grid)" if second.log else ""))
        for i, row in enumerate(grid):
            for j, f in enumerate(row):
                if not np.isnan(f):
                    ax.text(j, i, f"{f:.2f}", ha="center", va="center", fontsize=7, color="w" if f < 0.5 else "k")
        for c in res.crossings:
            xv = np.interp(math.log(c["value"]) if first.log else c["value"],
                           [math.log(v) if first.log else v for v in first.values], range(len(first.values)))
            ax.plot([xv], [second.values.index(c["at"][second.name])], "rx", ms=9)
        if res.crossings:
            title += "\n50% crossings (x): " + ", ".join(
                f"{first.name} ~ {c['value']:.3g} at {second.name}={c['at'][second.name]:g}" for c in res.crossings)
        else:
            title += "\n(no 50% crossing along " + first.name + ")"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------------------- text
def _num(v: Any, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}g}"


def _frac(f: float | None, iv: Sequence[float] | None) -> str:
    return "-" if f is None or iv is None else f"{f:.2f} [{iv[0]:.2f}, {iv[1]:.2f}]"


def map_lines(m: dict) -> list[str]:
    """The map (map.json's object) as a text table: one row per cell, then the 1/2 crossings and the notes."""
    cells = m.get("cells", [])
    has_event = any(c.get("event") for c in cells)
    has_quantity = any(c.get("quantity") for c in cells)
    has_exponent = any(c.get("median_exponent") is not None for c in cells)
    header = ["cell", "meet all", "verdicts", "holds [95% CP]"]
    if has_event:
        header.append("event [95% CP]")
    header.append("median metric")
    if has_exponent:
        header.append("median exponent")
    if has_quantity:
        header.append("median " + next(c["quantity"]["name"] for c in cells if c.get("quantity")))
    rows = []
    for c in cells:
        counts = ", ".join(f"{n} {v}" for v, n in c["counts"].items()) or "none"
        row = [c["id"], f"{c['applicable']}/{c['instances']}", counts, _frac(c["fraction"], c["interval"])]
        if has_event:
            e = c.get("event")
            row.append("-" if not e else f"{e['occurred']}/{e['trials']} = {_frac(e['fraction'], e['interval'])}")
        row.append(_num(c.get("median_metric")))
        if has_exponent:
            row.append(_num(c.get("median_exponent")))
        if has_quantity:
            row.append(_num((c.get("quantity") or {}).get("median")))
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = [f"map of {m.get('claim')}: {m.get('instances')} instances per cell, seed {m.get('seed')}, profile "
             f"{m.get('profile')}" + ("".join(f", {k}={v}" for k, v in (m.get('fixed') or {}).items()))]
    if has_event:
        name = next(c["event"]["name"] for c in cells if c.get("event"))
        lines.append(f"event: {name} (pooled over every trial of a cell's instances)")
    lines += ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
              "  ".join("-" * w for w in widths)]
    lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    what = "event fraction" if m.get("plotted") == "event" else "fraction holding"
    for label, xs in ((what, m.get("crossings", [])), ("fraction holding", m.get("verdict_crossings", []))):
        for x in xs:
            at = "".join(f" at {k}={v}" for k, v in x["at"].items())
            iv, op = x.get("interval"), x.get("open", [False, False])
            band = "" if iv is None else (f"; band of the cells' 95% intervals {'<=' if op[0] else ''}{iv[0]:.3g}"
                                          f" .. {'>=' if op[1] else ''}{iv[1]:.3g}")
            lines.append(f"50% crossing of the {label}: {x['along']} ~ {x['value']:.3g}{at}{band}")
    if not m.get("crossings"):
        lines.append(f"the {what} does not cross 50% on this grid")
    for c in cells:
        for note in c.get("notes", []):
            lines.append(f"{c['id']}: note: {note}")
    return lines
