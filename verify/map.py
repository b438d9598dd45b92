"""``verify map``: where a claim holds, as a function of one or two generator parameters.

The module's ``grid(claim_id, params)`` strategy (:class:`verify.theory.TheoremModule`) draws instances with given
generator parameters that meet the claim's *other* assumptions (those the parameters do not control). For every
cell of a grid (``--vary NAME=LO:HI:N``, linear, or logarithmic with ``--log NAME``; rounded to integers for an
integer parameter) the map draws K seeded instances and runs the claim on each of them, **whether or not they meet
its assumptions** (as an audit does): the point is to see where the claim stops holding, and how that lines up
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
where the fraction crosses 1/2 (linear interpolation between neighbouring cells, in log space on a log axis).
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


def cell_id(params: dict) -> str:
    """``d=4`` or ``d=4,n=3``: the cell's folder name (parameters in --vary order)."""
    return ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


# ---------------------------------------------------------------------------------------------- one cell
def run_map_unit(unit: Any) -> list[dict]:
    """A sweep work unit evaluated whether or not its instances meet the claim's assumptions: the assumption table,
    one batched trajectory (the model's batch runner) for all of them, the verdict, and confirmation of every
    candidate violation (as an audit finding when an assumption of the claim fails). One result dict per instance,
    as :func:`verify.sweep.run_unit` writes, plus ``applicable``."""
    from pathlib import Path as _Path

    from verify.engine import assess, assumption_table, finalize
    from verify.profiles import get_profile
    from verify.registry import find_claim
    from verify.sweep import RESULT_SCHEMA
    from verify.verdicts import HOLDS, VIOLATED

    module, claim = find_claim(unit.claim_id)
    profile = get_profile(unit.profile)
    insts = [module.load_instance(j) for j in unit.instances]
    caches: list[dict] = [{} for _ in insts]
    tables = [assumption_table(module, claim, inst, caches[k]) for k, inst in enumerate(insts)]
    batched, note = 0, ""
    runner = module.model.simulate_batch
    if runner is not None and insts:
        try:
            pre = runner(claim, insts, unit.settings)
        except (FloatingPointError, VerifyInputError) as exc:
            note = f"batched run failed ({exc}); instances evaluated one by one"
        else:
            for k, entries in enumerate(pre):
                caches[k].update(entries)
            batched = len(insts) if any(pre) else 0
    out = []
    for k, inst in enumerate(insts):
        failing = [r["id"] for r in tables[k] if r["role"] == "claim" and r["verdict"] != HOLDS]
        a = assess(module, claim, inst, unit.settings, require_assumptions=False,
                   broken=",".join(failing) or None, rows=tables[k], cache=caches[k])
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
            "assumptions": {r["id"]: {"verdict": r["verdict"], "slack": r["slack"]} for r in a.assumptions},
            "batch": {"size": len(insts), "batched": batched, "note": note},
            "settings": unit.settings.to_json(), "profile": unit.profile, "instance": unit.instances[k],
        })
    return out


def _median(xs: Sequence[Any]) -> float | None:
    from verify.stat_checks import finite_floats

    vals = finite_floats(xs)
    return statistics.median(vals) if vals else None


def run_cell(claim_id: str, strategy: Any, params: dict, count: int, seed: int, settings: Any, profile: str,
             folder: Path, executor: Any = None, quiet: bool = True) -> dict:
    """One cell: a sweep folder of ``count`` instances of ``strategy``; returns the cell's record for map.json."""
    from verify.progress import progress_bar
    from verify.stat_checks import clopper_pearson
    from verify.sweep import (
        claim_results_folder,
        draw_instances,
        manifest,
        plan,
        result_key,
        serial_executor,
    )
    from verify.verdicts import HOLDS

    (folder / "instances").mkdir(parents=True, exist_ok=True)
    claim_results_folder(folder, manifest(claim_id, settings, profile))
    atomic_write_text(folder / "cell.json", dumps({"params": params, "instances": count, "seed": seed}))
    record: dict = {"id": cell_id(params), "params": params, "instances": count, "counts": {}, "applicable": 0,
                    "fraction": None, "interval": None, "median_metric": None, "slacks": {}, "notes": []}
    try:
        instances = draw_instances(strategy, count, seed)
    except VerifyInputError as exc:
        record["notes"].append(f"no instances: {exc}")
        return record
    units, skipped = plan(claim_id, instances, settings, profile, folder, CELL_BATCH, folder / "reports")
    with progress_bar(count, f"cell {record['id']}", quiet=quiet) as bar:
        if skipped:
            bar.advance(skipped, note=f"{skipped} done earlier")
        for res in (executor or serial_executor)(run_map_unit, units):
            for r in res:
                atomic_write_text(folder / "instances" / f"{r['key']}.json", dumps(r))
            bar.advance(len(res))
    rows = [json.loads((folder / "instances" / f"{result_key(i, claim_id, settings, profile)}.json").read_text())
            for i in instances]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    holds = counts.get(HOLDS, 0)
    lo, hi = clopper_pearson(holds, len(rows))
    names = sorted({a for r in rows for a in r["assumptions"]})
    record.update({
        "counts": dict(sorted(counts.items())), "applicable": sum(1 for r in rows if r.get("applicable")),
        "fraction": holds / len(rows), "interval": [lo, hi],
        "median_metric": _median([r.get("final_metric") for r in rows]),
        "slacks": {a: _median([r["assumptions"][a]["slack"] for r in rows if a in r["assumptions"]])
                   for a in names},
        "ran": sum(len(u.keys) for u in units), "skipped": skipped,
        "reports": [r["report"] for r in rows if r.get("report")],
        "errors": [{"status": r["status"], "traceback": r.get("traceback", "")} for r in rows
                   if r["verdict"] == "error"],
    })
    if record["applicable"] == 0:
        record["notes"].append("no instance meets every assumption of the claim: the claim was evaluated outside "
                               "its assumptions on all of them")
    atomic_write_text(folder / "summary.json", dumps({
        "schema": "verify-sweep-summary/1", "claim_id": claim_id, "instances": count, "ran": record["ran"],
        "skipped": skipped, "counts": record["counts"], "confirmed": record["reports"], "results": str(folder),
        "backend": settings.backend, "notes": record["notes"], "codes": {}, "errors": []}))
    return record


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

    def to_json(self) -> dict:
        cells = [{k: v for k, v in c.items() if k != "errors"} for c in self.cells]
        return {"schema": MAP_SCHEMA, "claim": self.claim_id, "vary": [a.to_json() for a in self.axes],
                "fixed": self.fixed, "assumptions": self.assumptions, "instances": self.instances,
                "seed": self.seed, "profile": self.profile, "cells": cells, "crossings": self.crossings}


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


def crossings_of(axes: list[Axis], cells: list[dict]) -> list[dict]:
    """The 1/2 crossings along the first axis (one per value of the second, if any)."""
    first = axes[0]
    rests = list(itertools.product(*(a.values for a in axes[1:])))
    out = []
    for rest in rests:
        at = {a.name: v for a, v in zip(axes[1:], rest, strict=True)}
        line = [c for c in cells if all(c["params"][k] == v for k, v in at.items())]
        x = crossing([float(c["params"][first.name]) for c in line], [c["fraction"] for c in line], first.log)
        if x is not None:
            out.append({"along": first.name, "at": at, "value": x})
    return out


def run_map(claim_id: str, vary: list[str], instances: int, *, log: Sequence[str] = (), results: str | Path = "map",
            profile: str = "quick", seed: int = 0, executor: Any = None, quiet: bool = False) -> MapResult:
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
    cells = []
    grid = module.grid
    for combo in itertools.product(*(a.values for a in axes)):
        params = {a.name: v for a, v in zip(axes, combo, strict=True)}
        strategy = grid(claim.id, params)
        cells.append(run_cell(claim.id, strategy, params, instances, seed, settings, prof.name,
                              out / "cells" / cell_id(params), executor, quiet))
    res = MapResult(claim.id, axes, cells, str(out), crossings_of(axes, cells),
                    [{"claim": claim.id, **e} for c in cells for e in c.get("errors", [])],
                    fixed={k: v for k, v in module.grid_params.items() if k not in {a.name for a in axes}},
                    assumptions=list(claim.assumptions), instances=instances, seed=seed, profile=prof.name)
    atomic_write_text(out / "map.json", dumps(res.to_json()))
    plot_map(res, out / "map.png")
    return res


# ---------------------------------------------------------------------------------------------- the figure
def plot_map(res: MapResult, path: Path) -> None:
    """A curve with intervals (one axis) or a heatmap (two), the 1/2 crossing marked; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    first = res.axes[0]
    other = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in res.fixed.items())
    title = (f"{res.claim_id}: fraction of {res.instances} instances per cell where it holds"
             + (f"\n({other}; seed {res.seed}, profile {res.profile})" if other else ""))
    if len(res.axes) == 1:
        xs = [float(c["params"][first.name]) for c in res.cells]
        fs = [np.nan if c["fraction"] is None else c["fraction"] for c in res.cells]
        lo = [0 if c["interval"] is None else c["fraction"] - c["interval"][0] for c in res.cells]
        hi = [0 if c["interval"] is None else c["interval"][1] - c["fraction"] for c in res.cells]
        ax.errorbar(xs, fs, yerr=[lo, hi], marker="o", capsize=3, label="fraction holding (95% CP interval)")
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_xlabel(first.name)
        ax.set_ylabel("fraction holding")
        ax.set_ylim(-0.05, 1.05)
        if first.log:
            ax.set_xscale("log")
        for c in res.crossings:
            ax.axvline(c["value"], color="red", ls="--", lw=1,
                       label=f"50% crossing at {first.name} ~ {c['value']:.3g}")
        if not res.crossings:
            title += "\n(the fraction does not cross 50% on this grid)"
        ax.legend(loc="best", fontsize=8)
    else:
        second = res.axes[1]
        grid = np.full((len(second.values), len(first.values)), np.nan)
        for c in res.cells:
            i, j = second.values.index(c["params"][second.name]), first.values.index(c["params"][first.name])
            grid[i, j] = np.nan if c["fraction"] is None else c["fraction"]
        im = ax.imshow(grid, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
        fig.colorbar(im, ax=ax, label="fraction holding")
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
