"""``verify sweep``: a claim on many seeded instances at once, as batches, with resumption.

The large case of the toolkit. The hypothesis suites stay small; a sweep draws N instances from a claim's
``meets`` strategy, runs them as batches (instances of one shape share one vectorized trajectory), confirms every
suspect on the high-precision path (:func:`verify.engine.finalize`) and writes one JSON file per instance.

Pipeline::

    draw_instances(strategy, N, seed)          # deterministic: hypothesis @seed(S), generate phase only
      -> plan(...)                             # skip instances already done; group by shape; chunk to WorkUnits
      -> executor(run_unit, units)             # the only place work is executed (see below)
      -> one result file per instance          # results/instances/<key>.json, written atomically as results arrive
      -> results/summary.json                  # counts over all N instances (also the ones done earlier)

**One sweep per results folder.** ``results/manifest.json`` (schema ``verify-sweep-manifest/1``) records the
claim, seed, profile, backend, the full settings and their hash (:func:`run_hash`, also the suffix of every
result key). A later sweep into the same folder with the same hash resumes it; with another claim, seed, profile,
backend or settings it is refused with one line naming what differs (exit 2), before anything is drawn or run,
so results of two sweeps never mix in one summary. A folder written before manifests existed is accepted when
its result files carry this sweep's hash, and refused otherwise. ``verify show DIR`` summarizes a results
folder (:func:`summarize_sweep`: the manifest, the counts over its result files, reason codes, reports).

**Executor interface.** An executor is any callable

    executor(fn: Callable[[WorkUnit], list[dict]], units: Sequence[WorkUnit]) -> Iterable[list[dict]]

that applies ``fn`` (always :func:`run_unit`, a top-level function) to every unit and yields the results, in
any order, as they complete. :func:`serial_executor` is the default (``map`` in this process). A distributed
executor (e.g. Dask: ``client.map(fn, units)`` then ``as_completed``) plugs in unchanged: a :class:`WorkUnit`
is a frozen dataclass of plain data (claim id, instance JSON, settings, profile name, reports folder) and
pickles; ``run_unit`` looks the claim up in the registry on the worker and returns JSON-able dicts, one per
instance of the unit, each carrying its ``key``. Writing the result files happens in the calling process, so
workers need no shared file system except for confirmed-counterexample reports (``reports`` folder).

**Batch runners.** The engine knows no model: a model may declare a *batch runner*
``simulate_batch(claim, instances, settings) -> list[dict]`` (:class:`verify.model.Model`) that runs vectorized
trajectories for the unit and returns, per instance, entries for the claim's per-instance cache (keyed by
:func:`verify.model.trajectory_cache_key`; :func:`verify.engine.prefill_caches`). The claim's ordinary
``evaluate`` then finds its trajectory in the cache instead of re-running it. Without a runner, or when the
batched run fails, each instance is simply evaluated on its own: the batch is a speed-up, never a change of
result. ``verify check`` and ``audit`` use the same runner (:func:`verify.engine.search`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.errors import VerifyInputError
from verify.instance import atomic_write_text, dumps
from verify.theory import Settings
from verify.verdicts import (
    ERROR,
    INCONCLUSIVE,
    NOT_CONFIRMED,
    RECONSTRUCTION_DEPENDENT,
    VIOLATED,
)

RESULT_SCHEMA = "verify-sweep-result/1"
SUMMARY_SCHEMA = "verify-sweep-summary/1"
MANIFEST_SCHEMA = "verify-sweep-manifest/1"
MANIFEST_NAME = "manifest.json"

# ---------------------------------------------------------------------------------------------- drawing
def draw_instances(strategy: Any, count: int, seed: int) -> list[Any]:
    """``count`` distinct instances from a hypothesis strategy, deterministically for a given ``seed``.

    A hypothesis ``@given`` loop with ``@seed(seed)``, no example database and only the generate phase, so the
    same seed gives the same list on every machine with the same hypothesis version. Duplicates (by JSON) are
    dropped; if the strategy cannot produce ``count`` distinct instances that is an input error.
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis.errors import Flaky

    out: list[Any] = []
    seen: set[str] = set()

    class _Enough(Exception):
        pass

    @hseed(seed)
    @settings(max_examples=max(10, 4 * count), database=None, derandomize=False, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck), print_blob=False)
    @given(strategy)
    def collect(inst: Any) -> None:
        if len(out) >= count:
            raise _Enough
        h = instance_hash(inst)
        if h not in seen:
            seen.add(h)
            out.append(inst)
        if len(out) >= count:
            raise _Enough

    from verify.profiles import seed_only_search

    with contextlib.suppress(_Enough, Flaky), seed_only_search():
        collect()
    if len(out) < count:
        raise VerifyInputError(f"the strategy produced only {len(out)} distinct instances, {count} requested")
    return out[:count]


def instance_hash(inst: Any) -> str:
    """First 16 hex digits of the SHA-256 of the instance's canonical JSON (exact floats)."""
    return hashlib.sha256(json.dumps(inst.to_json(), sort_keys=True).encode()).hexdigest()[:16]


def result_key(inst: Any, claim_id: str, settings: Settings, profile: str) -> str:
    """The name of an instance's result file: its hash plus a hash of what was run on it (claim, settings,
    profile), so a re-run with other settings (say another backend) does not mistake old results for its own."""
    return f"{instance_hash(inst)}-{run_hash(claim_id, settings, profile)}"


def shape_key(inst: Any) -> tuple:
    """Instances with equal shape keys can share a batch: the shapes of every array field of the instance."""
    import numpy as np

    return tuple((k, np.shape(v)) for k, v in sorted(inst.to_json().items()) if isinstance(v, list))


# ---------------------------------------------------------------------------------------------- work units
@dataclass(frozen=True)
class WorkUnit:
    """Instances of one shape, run as one batch. Plain data; pickles for a distributed executor."""

    claim_id: str
    keys: tuple[str, ...]
    indices: tuple[int, ...]
    instances: tuple[dict, ...]  # instance JSON
    settings: Settings
    profile: str
    reports: str | None = None


Executor = Callable[[Callable[[WorkUnit], list[dict]], Sequence[WorkUnit]], Iterable[list[dict]]]


def serial_executor(fn: Callable[[WorkUnit], list[dict]], units: Sequence[WorkUnit]) -> Iterator[list[dict]]:
    """The default executor: every unit in this process, in order."""
    for u in units:
        yield fn(u)


def run_unit(unit: WorkUnit) -> list[dict]:
    """Evaluate a claim on every instance of a unit: assumptions per instance, one batched trajectory for the
    applicable ones (via the schema's batch runner), the claim's verdict (a candidate violation seen on the batch
    is assessed again on its own run: :func:`verify.engine.assess_batch`), and confirmation of every violation
    (mpmath, longer horizon, other representation; :func:`verify.engine.finalize`)."""
    from verify.engine import assess_batch, finalize
    from verify.profiles import get_profile
    from verify.registry import find_claim

    module, claim = find_claim(unit.claim_id)
    profile = get_profile(unit.profile)
    insts = [module.load_instance(j) for j in unit.instances]
    assessed, batched, note = assess_batch(module, claim, insts, unit.settings)
    out = []
    for k, a in enumerate(assessed):
        report = None
        if a.verdict == VIOLATED:
            p = finalize(module, claim, a, unit.settings, profile, Path(unit.reports) if unit.reports else None,
                         unit.settings.seed)
            report = None if p is None else str(p)
        ev = a.evidence
        out.append({
            "schema": RESULT_SCHEMA, "key": unit.keys[k], "index": unit.indices[k], "claim": claim.id,
            "verdict": a.verdict, "code": a.code, "status": a.status or (ev.reason if ev is not None else ""),
            "confirmed": a.verdict == VIOLATED, "report": report, "traceback": a.traceback,
            "worst_ratio": None if ev is None else ev.worst_ratio,
            "exponent": None if ev is None else ev.exponent,
            "final_metric": None if ev is None or not ev.observed else ev.observed[-1],
            "precision_ok": None if ev is None else ev.precision_ok,
            "assumptions": {r["id"]: {"verdict": r["verdict"], "slack": r["slack"]} for r in a.assumptions},
            "batch": {"size": len(insts), "batched": batched, "note": note},
            "settings": unit.settings.to_json(), "profile": unit.profile,
            "instance": unit.instances[k],
        })
    return out


# ---------------------------------------------------------------------------------------------- the manifest
def run_hash(claim_id: str, settings: Settings, profile: str) -> str:
    """8 hex digits of the SHA-256 of what is run on every instance (claim, settings with seed and backend,
    profile): the suffix of every result key and the manifest's ``settings_hash``."""
    run = json.dumps({"claim": claim_id, "settings": settings.to_json(), "profile": profile}, sort_keys=True)
    return hashlib.sha256(run.encode()).hexdigest()[:8]


def manifest(claim_id: str, settings: Settings, profile: str) -> dict:
    """What a results folder holds: one sweep, named by claim, seed, profile, backend and the settings hash."""
    return {"schema": MANIFEST_SCHEMA, "claim": claim_id, "seed": settings.seed, "profile": profile,
            "backend": settings.backend, "settings_hash": run_hash(claim_id, settings, profile),
            "settings": settings.to_json()}


def _describe(m: dict) -> str:
    return (f"{m.get('claim')} (seed {m.get('seed')}, profile {m.get('profile')}, backend {m.get('backend')}, "
            f"settings {m.get('settings_hash')})")


def claim_results_folder(out: Path, want: dict) -> None:
    """One results folder holds one sweep. A folder with a manifest for other settings, or (made before
    manifests) result files of another run, is refused with one line naming what differs; an empty or new
    folder, or one of the same sweep, gets ``manifest.json`` (written once)."""
    path = out / MANIFEST_NAME
    if path.exists():
        try:
            have = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VerifyInputError(f"{path}: unreadable sweep manifest ({exc.__class__.__name__}); pass another "
                                   "--results folder or delete this one") from None
        if not isinstance(have, dict) or have.get("schema") != MANIFEST_SCHEMA:
            raise VerifyInputError(f"{path}: not a sweep manifest (schema {MANIFEST_SCHEMA!r} expected)")
        if have.get("settings_hash") != want["settings_hash"]:
            diff = [f"{k} {have.get(k)!r} -> {want[k]!r}" for k in ("claim", "seed", "profile", "backend")
                    if have.get(k) != want[k]]
            if not diff:
                old = have.get("settings") or {}
                diff = [f"settings.{k} {old.get(k)!r} -> {v!r}" for k, v in want["settings"].items()
                        if old.get(k) != v] or ["settings"]
            raise VerifyInputError(f"--results {out} holds another sweep, {_describe(have)}; this one differs in "
                                   f"{', '.join(diff)}: pass another --results folder (or delete {out})")
        return
    others = sorted({f.stem.rsplit("-", 1)[-1] for f in (out / "instances").glob("*.json")} - {want["settings_hash"]})
    if others:
        raise VerifyInputError(f"--results {out} holds results of another sweep (settings {', '.join(others)}; no "
                               f"manifest) and this one is {_describe(want)}: pass another --results folder (or "
                               f"delete {out})")
    atomic_write_text(path, dumps(want))


def summarize_sweep(path: str | Path) -> str:
    """``verify show DIR`` for a sweep's results folder: what was swept (the manifest), the counts over the result
    files of that sweep (also an unfinished one), the reason codes, the confirmed reports and the summary's notes."""
    out = Path(path)
    m: dict = {}
    if (out / MANIFEST_NAME).exists():
        try:
            m = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VerifyInputError(f"{out / MANIFEST_NAME}: unreadable sweep manifest ({exc.__class__.__name__})") \
                from None
    summary: dict = {}
    if (out / "summary.json").exists():
        try:
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VerifyInputError(f"{out / 'summary.json'}: unreadable sweep summary ({exc.__class__.__name__})") \
                from None
    if not isinstance(m, dict) or not isinstance(summary, dict):
        raise VerifyInputError(f"{out}: the sweep manifest and summary must be JSON objects")
    suffix = m.get("settings_hash")
    rows = []
    for f in sorted((out / "instances").glob("*.json")):
        if suffix and not f.stem.endswith(f"-{suffix}"):
            continue
        try:
            r = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a damaged result file: the next sweep redoes it
        if isinstance(r, dict) and r.get("schema") == RESULT_SCHEMA:
            rows.append(r)
    counts: dict[str, int] = {}
    codes: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
        if r["verdict"] == INCONCLUSIVE:
            codes[r.get("code") or "unspecified"] = codes.get(r.get("code") or "unspecified", 0) + 1
    claim = m.get("claim") or summary.get("claim_id") or (rows[0]["claim"] if rows else "?")
    head = f"sweep of {claim}"
    if m:
        head += f": seed {m.get('seed')}, profile {m.get('profile')}, backend {m.get('backend')}, settings " \
                f"{m.get('settings_hash')}"
    lines = [head]
    asked = summary.get("instances")
    done = f"{len(rows)} instance result{'s' if len(rows) != 1 else ''}"
    lines.append(done + (f" of {asked} asked for" if asked is not None else "") + (
        "" if summary else " (no summary.json: unfinished, or interrupted)"))
    lines.append("verdicts: " + (", ".join(f"{v} {n}" for v, n in sorted(counts.items())) or "none"))
    if codes:
        lines.append("reason codes: " + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))
    lines += [f"note: {n}" for n in summary.get("notes", [])]
    lines += [f"counterexample report: {r['report']}" for r in rows if r.get("confirmed") and r.get("report")]
    lines.append(f"results in {out}")
    return "\n".join(lines)


def is_sweep_folder(path: str | Path) -> bool:
    """A folder with a sweep manifest, or a sweep summary and instance results."""
    p = Path(path)
    if not p.is_dir():
        return False
    if (p / MANIFEST_NAME).exists():
        return True
    try:
        return json.loads((p / "summary.json").read_text(encoding="utf-8")).get("schema") == SUMMARY_SCHEMA
    except (OSError, ValueError, AttributeError):
        return False


# ---------------------------------------------------------------------------------------------- the sweep
@dataclass
class SweepSummary:
    claim_id: str
    instances: int
    ran: int
    skipped: int
    counts: dict
    confirmed: list[str]
    results: str
    backend: str
    notes: list[str] = field(default_factory=list)
    codes: dict = field(default_factory=dict)  # reason code -> count, over the inconclusive instances
    errors: list[dict] = field(default_factory=list)  # evaluation errors: claim, status, traceback

    def to_json(self) -> dict:
        return {"schema": SUMMARY_SCHEMA, **{k: v for k, v in self.__dict__.items() if k != "errors"},
                "errors": [{k: v for k, v in e.items() if k != "traceback"} for e in self.errors]}


def plan(claim_id: str, instances: list, settings: Settings, profile: str, results: Path, batch_size: int,
         reports: Path | None) -> tuple[list[WorkUnit], int]:
    """Work units for the instances not done yet (no result file), grouped by shape, at most ``batch_size``
    per unit; returns (units, number skipped)."""
    groups: dict[tuple, list[tuple[int, str, Any]]] = {}
    skipped = 0
    for i, inst in enumerate(instances):
        key = result_key(inst, claim_id, settings, profile)
        if _done(results, key):
            skipped += 1
            continue
        groups.setdefault(shape_key(inst), []).append((i, key, inst))
    units = []
    for members in groups.values():
        for s in range(0, len(members), batch_size):
            chunk = members[s:s + batch_size]
            units.append(WorkUnit(claim_id, tuple(k for _, k, _ in chunk), tuple(i for i, _, _ in chunk),
                                  tuple(inst.to_json() for _, _, inst in chunk), settings, profile,
                                  None if reports is None else str(reports)))
    return units, skipped


def _result_path(results: Path, key: str) -> Path:
    return results / "instances" / f"{key}.json"


def _done(results: Path, key: str) -> bool:
    p = _result_path(results, key)
    if not p.exists():
        return False
    try:
        return json.loads(p.read_text()).get("key") == key
    except (OSError, ValueError):
        return False  # a damaged file (it cannot be half-written: writes are atomic) is simply redone


def sweep(claim_id: str, count: int, *, backend: str = "numpy", seed: int = 0, results: str | Path = "sweep",
          profile: str = "quick", batch_size: int = 64, executor: Executor | None = None,
          quiet: bool = False) -> SweepSummary:
    """Run ``claim_id`` on ``count`` seeded instances of its ``meets`` strategy; see the module docstring."""
    from verify.backends import get_backend
    from verify.engine import settings_for
    from verify.profiles import claim_settings, get_profile
    from verify.registry import find_claim

    if count < 1:
        raise VerifyInputError(f"--instances must be >= 1, got {count}")
    if batch_size < 1:
        raise VerifyInputError(f"--batch-size must be >= 1, got {batch_size}")
    get_backend(backend)  # a missing optional dependency fails here, with its one-line message
    module, claim = find_claim(claim_id)
    prof = get_profile(profile)
    settings = settings_for(module, claim_settings(prof, seed).but(backend=backend))
    out = Path(results)
    if out.exists() and not out.is_dir():
        raise VerifyInputError(f"--results {out}: exists and is not a folder")
    try:
        (out / "instances").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out / "instances"):
            pass
    except OSError as exc:
        raise VerifyInputError(f"--results {out}: cannot create or write the results folder "
                               f"({exc.strerror or exc})") from None
    claim_results_folder(out, manifest(claim_id, settings, prof.name))
    instances = draw_instances(module.meets(claim_id), count, seed)
    units, skipped = plan(claim_id, instances, settings, prof.name, out, batch_size, out / "reports")
    todo = sum(len(u.keys) for u in units)
    from verify.progress import progress_bar

    with progress_bar(count, f"sweep {claim_id}", quiet=quiet) as bar:
        if skipped:
            bar.advance(skipped, note=f"{skipped} done earlier")
        for res in (executor or serial_executor)(run_unit, units):
            for r in res:
                atomic_write_text(_result_path(out, r["key"]), dumps(r))
            verdicts = ", ".join(f"{v} {sum(1 for r in res if r['verdict'] == v)}" for v in sorted(
                {r["verdict"] for r in res}))
            bar.advance(len(res), note=verdicts)
    rows = [json.loads(_result_path(out, result_key(i, claim_id, settings, prof.name)).read_text())
            for i in instances]
    counts: dict[str, int] = {}
    codes: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
        if r["verdict"] == INCONCLUSIVE:
            code = r.get("code") or "unspecified"
            codes[code] = codes.get(code, 0) + 1
    errors = [{"claim": claim_id, "status": r["status"], "traceback": r.get("traceback", "")} for r in rows
              if r["verdict"] == ERROR]
    summary = SweepSummary(claim_id, count, todo, skipped, counts,
                           [r["report"] for r in rows if r["confirmed"] and r["report"]], str(out), backend,
                           codes=dict(sorted(codes.items())), errors=errors)
    for code in (NOT_CONFIRMED, RECONSTRUCTION_DEPENDENT):
        if codes.get(code):
            summary.notes.append(f"{codes[code]} candidate violation(s) inconclusive: {code}")
    atomic_write_text(out / "summary.json", dumps(summary.to_json()))
    return summary
