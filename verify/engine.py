"""The loop the toolkit exists for:
instance -> assumptions -> claim evidence -> confirmation -> robustness -> report (docs/engine.md).

- :func:`evaluate` is one evaluation: the claim's evaluator observes, the checker of the claim's kind judges
  (:mod:`verify.kinds`) and builds the evidence.
- :func:`assess` evaluates a claim's assumptions and the claim on one instance.
- :func:`confirm` re-runs a candidate violation in each way the claim declares (higher precision, a longer
  horizon, the other representation, a fresh sampling seed); re-runs that cannot differ are "not applicable".
- :func:`robustness` re-checks it under every declared reading of the claim's reconstructed constants.
- :func:`check` searches instances that meet the assumptions (hypothesis) and reports confirmed, robust violations.
- :func:`audit` breaks each assumption alone and says which ones are load-bearing. An audit is not a
  counterexample: it shows an assumption is necessary.

The words are defined in :mod:`verify.verdicts`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib.metadata as _md
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, target
from hypothesis.errors import Flaky

from verify.errors import VerifyInputError
from verify.kinds import judge
from verify.model import Model
from verify.profiles import Profile, claim_settings, hypothesis_settings, seed_only_search
from verify.report.schema import REPORT_SCHEMA
from verify.theory import FAILS, Claim, Evidence, Settings, TheoremModule
from verify.verdicts import (
    CANNOT_BREAK_ALONE,
    CONFIRMATION_BUDGET,
    ERROR,
    HOLDS,
    INCONCLUSIVE,
    INPUT_PROBLEM,
    KIND_AUDIT,
    KIND_COUNTEREXAMPLE,
    LOAD_BEARING,
    MIN_CONFIRMATIONS,
    NONE_FOUND,
    NOT_APPLICABLE,
    NOT_CONFIRMED,
    PRECISION_LOST,
    RECONSTRUCTION_DEPENDENT,
    VIOLATED,
)

AGREE_TOL = 1e-6  # relative agreement demanded between backends on a confirmation (metric series)
CLOCK: Callable[[], float] = time.monotonic
"""The clock of the certification budget (``Profile.certify_seconds``); tests may replace it."""


@dataclass
class Assessment:
    """A claim on one instance: assumption verdicts, evidence, and (for candidates) confirmation runs."""

    instance: Any
    assumptions: list[dict]
    evidence: Evidence | None
    verdict: str
    confirmation: list[dict] = field(default_factory=list)
    status: str = ""
    broken: str | None = None
    code: str = ""  # reason code of an inconclusive verdict
    robustness: list[dict] = field(default_factory=list)
    traceback: str = ""  # the formatted traceback of an evaluation error (written to the run's error log)
    certification: dict | None = None  # verify.certify's record of a reported finding (proven or why not)

    @property
    def applicable(self) -> bool:
        return all(a["verdict"] == HOLDS for a in self.assumptions if a["role"] == "claim")


def assumption_table(module: TheoremModule, claim: Claim, instance: Any, cache: dict) -> list[dict]:
    """Every assumption of the claim (role ``claim``) and the module's others (role ``diagnostic``)."""
    rows = []
    for aid, a in module.assumptions.items():
        r = a.check(instance, cache)
        rows.append({"id": aid, "title": a.title, "provenance": a.provenance.to_json(), "verdict": r.verdict,
                     "slack": r.slack, "detail": r.detail,
                     "role": "claim" if aid in claim.assumptions else "diagnostic"})
    return rows


def failing_assumptions(rows: list[dict]) -> list[str]:
    """The ids of the claim's own assumptions (role ``claim``) that an assumption table does not find to hold."""
    return [r["id"] for r in rows if r["role"] == "claim" and r["verdict"] != HOLDS]


def prefill_caches(module: TheoremModule, claim: Claim, instances: list, settings: Settings,
                   caches: list[dict]) -> tuple[int, str]:
    """Run the model's batch runner (``Model.simulate_batch``) once for ``instances`` and leave each instance's
    precomputed trajectory in its claim cache (``caches[k]``), where the claim's evaluator finds it. A speed-up,
    never a change of verdict: a claim the runner does not cover gets no entry and runs per instance, and a
    batched run that fails is dropped (each instance then runs alone). Returns (instances batched, note)."""
    runner = module.model.simulate_batch
    if runner is None or not instances:
        return 0, ""
    try:
        pre = runner(claim, instances, settings)
    except (FloatingPointError, VerifyInputError) as exc:
        return 0, f"batched run failed ({exc}); instances evaluated one by one"
    for cache, entries in zip(caches, pre, strict=True):
        cache.update(entries)
    return (len(instances) if any(pre) else 0), ""


def assess_all(module: TheoremModule, claim: Claim, instances: list, settings: Settings, *,
               broken: str | None = None) -> list[Assessment]:
    """:func:`assess` on every instance, with batched trajectories (:func:`assess_batch` without its batch
    figures); ``broken`` names the assumption an audit breaks on purpose (assumptions are then not required)."""
    return assess_batch(module, claim, instances, settings, broken=broken)[0]


def assess_batch(module: TheoremModule, claim: Claim, instances: list, settings: Settings, *,
                 broken: str | None = None, every: bool = False) -> tuple[list[Assessment], int, str]:
    """:func:`assess` on every instance, with batched trajectories (:func:`prefill_caches`) for those that are
    evaluated; returns (assessments, instances batched, the batch's note).

    Evaluated are the instances that meet the claim's assumptions; in an audit (``broken`` names the assumption
    broken on purpose) all of them, assumptions not required; with ``every`` (verify map) all of them too, each
    with ``broken`` set to the claim's assumptions it fails (None where it meets them all).

    A candidate violation evaluated on a batch's trajectory is assessed again on its own run, so its evidence is
    the single run that ``verify replay`` repeats (a batch may round in another order; that run decides)."""
    caches: list[dict] = [{} for _ in instances]
    tables = [assumption_table(module, claim, inst, cache) for inst, cache in zip(instances, caches, strict=True)]
    failing = [failing_assumptions(rows) for rows in tables]
    run = [k for k, f in enumerate(failing) if broken is not None or every or not f]
    own = [dict(cache) for cache in caches]  # what the assumption checks left (certified SVMs, ...)
    batched, note = prefill_caches(module, claim, [instances[k] for k in run], settings, [caches[k] for k in run])
    out = []
    for inst, rows, cache, before, fails in zip(instances, tables, caches, own, failing, strict=True):
        kw: dict[str, Any] = {"require_assumptions": broken is None and not every, "rows": rows,
                              "broken": (",".join(fails) or None) if every else broken}
        a = assess(module, claim, inst, settings, cache=cache, **kw)
        if a.verdict == VIOLATED and any(k not in before for k in cache):
            a = assess(module, claim, inst, settings, cache=before, **kw)
        out.append(a)
    return out, batched, note


def evaluate(claim: Claim, instance: Any, settings: Settings, cache: dict | None = None) -> Evidence:
    """One evaluation of a claim: its evaluator observes (``Claim.observe``), and the checker of ``claim.kind``
    judges that observation with the claim's rate and constant and builds the evidence
    (:func:`verify.kinds.judge`). The model's code never assembles a verdict."""
    return judge(claim, claim.observe(instance, settings, cache))


def assess(module: TheoremModule, claim: Claim, instance: Any, settings: Settings, *,
           require_assumptions: bool = True, broken: str | None = None, rows: list[dict] | None = None,
           cache: dict | None = None) -> Assessment:
    """Assumptions first; the claim is evaluated only if they hold (or if ``require_assumptions`` is False,
    as in an audit that breaks one on purpose). ``rows`` and ``cache`` let a caller that already evaluated the
    assumption table (and perhaps prefilled the cache with a batched trajectory) pass them in.

    A claim whose own code raises gets the verdict "error" (never a finding, never "inconclusive")."""
    cache = {} if cache is None else cache
    rows = assumption_table(module, claim, instance, cache) if rows is None else rows
    failing = failing_assumptions(rows)
    if require_assumptions and failing:
        return Assessment(instance, rows, None, NOT_APPLICABLE, status=f"assumptions not met: {failing}")
    try:
        ev = evaluate(claim, instance, settings, cache)
    except VerifyInputError as exc:
        return Assessment(instance, rows, None, INCONCLUSIVE, status=f"could not evaluate: {exc}", broken=broken,
                          code=INPUT_PROBLEM)
    except FloatingPointError as exc:
        return Assessment(instance, rows, None, INCONCLUSIVE, status=f"numerically unreliable: {exc}",
                          broken=broken, code=PRECISION_LOST)
    except Exception as exc:  # a claim's own code (possibly a plugin's) failed: an error, never a finding
        import traceback

        return Assessment(instance, rows, None, ERROR, broken=broken, traceback=traceback.format_exc(),
                          status=f"evaluation error in claim {claim.id}: {exc.__class__.__name__}: {exc}")
    return Assessment(instance, rows, ev, ev.verdict, broken=broken, code=ev.code)


CONFIRMATIONS = ("higher-precision", "longer-horizon", "cross-backend", "fresh-seed", "repeat")
"""The re-runs a claim may declare in ``confirm_with``:

- ``higher-precision``: mpmath at ``Settings.confirm_dps`` digits over a shorter horizon, against float64 over the
  same horizon; agrees when the series agree to ``AGREE_TOL`` and both give the same verdict. It applies only when
  the evaluation really ran on mpmath.
- ``longer-horizon``: ``confirm_factor`` times the steps; agrees when it is violated again. Applies only when the
  evaluation's horizon changed.
- ``cross-backend``: the model's other representation; agrees when the series agree and it is violated again.
  Applies only when the re-run recorded a different representation (a model with one representation cannot
  disagree with itself, so that re-run is "not applicable", never agreement).
- ``fresh-seed``: the same claim on the same instance with another sampling seed (for claims whose evaluation
  draws random samples); agrees when it is violated again. Applies only when the observed values changed.
- ``repeat``: an identical re-run. It checks determinism, but it cannot disagree, so it never applies.

A violation is confirmed when at least :data:`verify.verdicts.MIN_CONFIRMATIONS` re-runs apply and every one
that applies agrees."""

FRESH_SEED_OFFSET = 7919


def _series_agree(a: Evidence, b: Evidence, tol: float = AGREE_TOL) -> tuple[bool, float]:
    """Do two runs' metric series agree to ``tol`` (relative) at their common checkpoints? (agree, worst)"""
    if len(a.t) != len(a.observed) or len(b.t) != len(b.observed):
        return False, float("inf")  # evidence without a checkpoint series cannot be compared point by point
    ia = dict(zip(a.t, a.observed, strict=True))
    ib = dict(zip(b.t, b.observed, strict=True))
    common = sorted(set(ia) & set(ib))
    if not common:
        return False, float("inf")
    diffs = [abs(float(ia[t]) - float(ib[t])) / max(abs(float(ia[t])), abs(float(ib[t])), 1e-300) for t in common]
    worst = float(max(diffs))
    return worst <= tol, worst


def _confirmation(kind: str, ev: Evidence, applies: bool, agrees: bool, reason: str) -> dict:
    return {"kind": kind, "verdict": ev.verdict, "code": ev.code, "applies": applies,
            "agrees": bool(applies and agrees), "reason": reason if applies else f"not applicable: {reason}",
            "evidence": ev.to_json()}


def confirm(claim: Claim, instance: Any, settings: Settings, evidence: Evidence, profile: Profile, *,
            model: Model | None = None) -> list[dict]:
    """Re-run a candidate violation in each way the claim declares (``claim.confirm_with``, see
    :data:`CONFIRMATIONS`). Each entry: kind, verdict, code, applies, agrees, reason, evidence. ``model`` names the
    representations a cross-backend re-run may use (without it, or with one representation, that re-run cannot
    differ and is "not applicable")."""
    runs: list[dict] = []
    kinds = claim.confirm_with
    if "repeat" in kinds:
        again = evaluate(claim, instance, settings, {})
        same = again.verdict == evidence.verdict and again.observed == evidence.observed
        runs.append(_confirmation("repeat", again, False, same,
                                  "an identical re-run cannot disagree with the original ("
                                  + ("reproduced exactly" if same else "NOT reproduced: the evaluation is not "
                                     "deterministic") + ")"))
    if "higher-precision" in kinds:
        mp_steps = min(settings.steps, profile.confirm_mp_steps)
        hp = evaluate(claim, instance, settings.but(backend="mpmath", dps=settings.confirm_dps, steps=mp_steps), {})
        lo = evaluate(claim, instance, settings.but(steps=mp_steps), {})
        agree, worst = _series_agree(hp, lo)
        applies = hp.run.get("backend") == "mpmath"
        runs.append(_confirmation(
            "higher-precision", hp, applies, agree and hp.verdict == lo.verdict,
            f"mpmath at {settings.confirm_dps} digits over {mp_steps} steps: verdict {hp.verdict} (float64 over the "
            f"same steps: {lo.verdict}); largest relative difference from float64 {worst:.3g} (tolerance "
            f"{AGREE_TOL})" if applies else f"the evaluation ran on {hp.run.get('backend')!r}, not on mpmath"))
    if "longer-horizon" in kinds:
        steps = settings.steps * settings.confirm_factor
        long = evaluate(claim, instance, settings.but(steps=steps), {})
        applies = long.run.get("steps") != evidence.run.get("steps") or long.t != evidence.t
        runs.append(_confirmation("longer-horizon", long, applies, long.verdict == VIOLATED,
                                  f"{steps} steps: {long.verdict}: {long.reason}" if applies
                                  else "the evaluation does not depend on the horizon"))
    if "cross-backend" in kinds:
        current = evidence.run.get("representation") or settings.representation
        other = None if model is None else model.other_representation(current)
        alt = evidence if other is None else evaluate(claim, instance, settings.but(representation=other), {})
        agree2, worst2 = _series_agree(alt, evidence)
        applies = other is not None and alt.run.get("representation") != evidence.run.get("representation")
        runs.append(_confirmation(
            "cross-backend", alt, applies, agree2 and alt.verdict == VIOLATED,
            f"numpy {other} representation: {alt.verdict}; largest relative difference {worst2:.3g}" if applies
            else f"the model has one representation here ({evidence.run.get('representation')!r}); the re-run "
                 "repeats the same computation" if other is not None
            else f"the model has one representation ({current!r}); a re-run would repeat the same computation"))
    if "fresh-seed" in kinds:
        fresh = evaluate(claim, instance, settings.but(seed=settings.seed + FRESH_SEED_OFFSET), {})
        applies = fresh.observed != evidence.observed
        runs.append(_confirmation("fresh-seed", fresh, applies, fresh.verdict == VIOLATED,
                                  f"seed {settings.seed + FRESH_SEED_OFFSET}: {fresh.verdict}: {fresh.reason}"
                                  if applies else "the evaluation does not depend on the sampling seed"))
    return runs


def confirmed(runs: list[dict]) -> tuple[bool, str]:
    """(confirmed?, why): at least MIN_CONFIRMATIONS re-runs apply and every one that applies agrees."""
    applying = [c for c in runs if c.get("applies", True)]
    failed = [c["kind"] for c in applying if not c["agrees"]]
    if failed:
        return False, f"not reproduced by {', '.join(failed)}"
    if len(applying) < MIN_CONFIRMATIONS:
        names = ", ".join(c["kind"] for c in applying) or "none"
        return False, (f"only {len(applying)} confirmation run(s) apply ({names}); a violation needs "
                       f"{MIN_CONFIRMATIONS} independent ones")
    return True, f"confirmed by {', '.join(c['kind'] for c in applying)}"


def robustness(module: TheoremModule, claim: Claim, instance: Any, settings: Settings,
               evidence: Evidence) -> list[dict]:
    """Re-check a candidate violation under every declared reading of the claim's reconstructed constants.

    One row per (reconstruction, reading): name, role (default / favourable / other), value, verdict, code and
    reason. The default reading is the candidate itself. A reading under which the instance no longer meets the
    claim's assumptions gives "not-applicable" (the claim says nothing about it there)."""
    rows: list[dict] = []
    for rec in claim.reconstructions:
        for role, value in rec.readings():
            row = {"name": rec.name, "role": role, "value": value}
            if role == "default":
                rows.append({**row, "verdict": evidence.verdict, "code": evidence.code, "reason": evidence.reason})
                continue
            pair = rec.apply(claim, instance, value)
            if pair is None:
                rows.append({**row, "verdict": NOT_APPLICABLE, "code": "",
                             "reason": "the instance does not meet the claim's assumptions under this reading"})
                continue
            c2, i2 = pair
            a2 = assess(module, c2, i2, settings)
            ev2 = a2.evidence
            rows.append({**row, "verdict": a2.verdict, "code": a2.code,
                         "reason": ev2.reason if ev2 is not None else a2.status})
    return rows


def versions() -> dict:
    out: dict[str, str | None] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("attention-verify", "numpy", "mpmath", "sympy", "cvxpy", "clarabel", "hypothesis"):
        try:
            out[pkg] = _md.version(pkg)
        except _md.PackageNotFoundError:
            out[pkg] = None
    return out


def build_report(module: TheoremModule, claim: Claim, a: Assessment, settings: Settings, seed: int | None) -> dict:
    """The report of a confirmed finding. ``kind`` is "counterexample" (from check or sweep, on data meeting every
    assumption) or "audit" (an assumption broken on purpose, named in ``broken_assumption``)."""
    ev = a.evidence
    assert ev is not None
    return {
        "schema": REPORT_SCHEMA,
        "kind": KIND_AUDIT if a.broken else KIND_COUNTEREXAMPLE,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "theorem": {"module": module.key, "reference": module.reference.__dict__},
        "claim": claim.to_json(),
        "verdict": a.verdict,
        "code": a.code,
        "status": a.status,
        "assumptions": [{k: v for k, v in r.items()} for r in a.assumptions],
        "broken_assumption": a.broken,
        "instance": a.instance.to_json(),
        "method": ev.run,
        "backend": ev.run.get("backend", settings.backend),
        "precision": {"dps": ev.run.get("dps"), "max_rel_error": ev.extra.get("max_rel_error")},
        "seed": seed,
        "settings": settings.to_json(),
        "evidence": ev.to_json(),
        "confirmation": a.confirmation,
        "robustness": a.robustness,
        **({} if a.certification is None else {"certified": bool(a.certification.get("certified")),
                                                "certificate": a.certification}),
        "versions": versions(),
        "replay": "",
    }


def finalize(module: TheoremModule, claim: Claim, a: Assessment, settings: Settings, profile: Profile,
             reports: Path | None, seed: int | None) -> Path | None:
    """Confirm a candidate violation, re-check it under every reading of the reconstructed constants (not for an
    audit, whose instance breaks an assumption on purpose), set its verdict and status, and write its report when
    it survives. Returns the JSON path (or None)."""
    assert a.evidence is not None
    a.confirmation = confirm(claim, a.instance, settings, a.evidence, profile, model=module.model)
    ok, why = confirmed(a.confirmation)
    if not ok:
        a.verdict, a.code, a.status = INCONCLUSIVE, NOT_CONFIRMED, f"candidate violation {why}"
        return None
    if a.broken is None and claim.reconstructions:
        a.robustness = robustness(module, claim, a.instance, settings, a.evidence)
        survivors = [r for r in a.robustness if r["verdict"] != VIOLATED]
        if survivors:
            where = "; ".join(f"{r['name']}={r['value']}: {r['verdict']}" for r in survivors)
            a.verdict, a.code = INCONCLUSIVE, RECONSTRUCTION_DEPENDENT
            a.status = f"candidate violation ({why}) does not survive every reading of the reconstructions: {where}"
            return None
    a.status = (f"{'audit finding' if a.broken else 'confirmed counterexample'} ({why}"
                + (", robust across every declared reconstruction" if a.robustness else "") + ")")
    if reports is None:
        return None
    from verify.certify import certify_finding
    from verify.report import report_basename, write_report

    budget = profile.certify_seconds  # one budget per written report: the original, then the shrunk instance
    start = CLOCK()
    a.certification = certify_finding(module.model, claim, a.instance, a.evidence, budget=budget, clock=CLOCK)
    spent = CLOCK() - start
    rep = build_report(module, claim, a, settings, seed)
    if a.broken is None and module.model.shrink is not None and profile.shrink_evaluations > 0:
        from verify.shrink import shrink  # the smallest instance still violated and confirmed (verify.shrink)

        res = shrink(module, claim, a, settings, profile)
        rep["shrunk"] = res.to_json()
        if res.shrunk:  # is the smaller violation proven too? (the rest of the report's certification budget)
            left = None if budget is None else max(0.0, budget - spent)
            b = res.assessment
            assert b.evidence is not None
            cert = certify_finding(module.model, claim, b.instance, b.evidence, budget=left, clock=CLOCK)
            rep["shrunk"].update(certified=bool(cert.get("certified")), certificate=cert)
    rep["replay"] = f"verify replay {Path(reports) / (report_basename(rep) + '.json')}"
    paths = write_report(rep, reports)
    return paths["json"]


@dataclass
class ClaimSummary:
    claim_id: str
    verdict: str
    tried: int
    counts: dict
    reports: list[str]
    exponents: list[float]
    worst_ratio: float | None
    notes: list[str] = field(default_factory=list)
    codes: dict = field(default_factory=dict)  # reason code -> count, over the inconclusive instances
    errors: list[dict] = field(default_factory=list)  # {"claim", "status", "traceback"} per evaluation error
    candidates: list[dict] = field(default_factory=list)
    """Every candidate violation that went through confirmation: its final verdict and code, status, which
    confirmations applied and agreed, and the table of reconstruction readings (parameter, value, verdict)."""
    evidence: list = field(default_factory=list, repr=False)
    """The Evidence of every instance that produced one (for the terminal table's per-kind figure; not in JSON)."""

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("errors", "evidence")} | {
            "errors": [{k: v for k, v in e.items() if k != "traceback"} for e in self.errors]}


def _run_search(strategy: Any, profile: Profile, max_examples: int | None, seed: int, test: Callable[[Any], None],
                suppress: tuple[type[BaseException], ...] = ()) -> None:
    """Run ``test`` on the instances hypothesis draws from ``strategy`` under ``profile``'s settings, seeded by
    ``seed`` and a function of it alone (:func:`verify.profiles.seed_only_search`)."""
    from hypothesis import seed as hypothesis_seed

    prop = hypothesis_seed(seed)(given(strategy)(hypothesis_settings(profile, max_examples)(test)))
    with contextlib.suppress(*suppress), seed_only_search():
        prop()


def explore(strategy: Any, fn: Callable[[Any], Assessment], profile: Profile, max_examples: int | None = None,
            stop_on_violation: bool = False, seed: int = 0) -> list[Assessment]:
    """Draw instances with hypothesis (deterministically from ``seed``) and assess each; ``target()`` steers
    towards the worst ratio. With ``stop_on_violation`` the search stops (and, in the thorough profile, shrinks)
    at the first violation."""
    results: list[Assessment] = []

    class _Violation(Exception):
        pass

    def assess_one(instance: Any) -> None:
        a = fn(instance)
        results.append(a)
        ev = a.evidence
        if ev is not None:  # steer towards the worst ratio, or (limit claims) the largest final metric
            score = ev.worst_ratio if ev.worst_ratio is not None else (ev.observed[-1] if ev.observed else None)
            if score is not None and np.isfinite(score):
                target(float(score), label="worst observed-to-claimed ratio or final metric")
        if stop_on_violation and a.verdict == VIOLATED:
            raise _Violation

    _run_search(strategy, profile, max_examples, seed, assess_one, (_Violation, Flaky))
    return results


TARGET_PASS_AFTER = 10
"""Hypothesis (6.1xx) runs its first targeting pass, the only part of a search without shrinking that reads the
test's outcome (its ``target()`` scores), once ``max(max_examples // 2, max_examples // 10 + 1, 10)`` valid
examples have run; a search of fewer examples never reaches it."""


def outcome_blind(profile: Profile, max_examples: int | None = None) -> bool:
    """Does the search draw the same instances whatever the evaluations find? True without shrinking (nothing is
    raised back to hypothesis) and with fewer than :data:`TARGET_PASS_AFTER` examples (no targeting pass). The
    instances can then be drawn first and evaluated together (:func:`search_instances`, :func:`assess_all`)."""
    n = profile.max_examples if max_examples is None else max_examples
    return not profile.shrink and n < TARGET_PASS_AFTER


def search_instances(strategy: Any, profile: Profile, max_examples: int | None = None, seed: int = 0) -> list[Any]:
    """The instances :func:`explore` would draw from ``seed``, in order, without evaluating them. Equal to
    explore's when :func:`outcome_blind` holds (``tests/test_batched_search.py`` checks it claim by claim)."""
    drawn: list[Any] = []

    def keep(instance: Any) -> None:  # (hypothesis decorates a Python function, not a builtin method)
        drawn.append(instance)

    _run_search(strategy, profile, max_examples, seed, keep)
    return drawn


def search(module: TheoremModule, claim: Claim, strategy: Any, settings: Settings, profile: Profile, *,
           max_examples: int | None = None, broken: str | None = None, seed: int = 0) -> list[Assessment]:
    """Assess the claim on the instances hypothesis draws from ``strategy``: drawn first and evaluated together
    (batched as the model's runner groups them) when the search is outcome-blind, else one by one inside the search
    (:func:`explore`, steering towards the worst ratio and, with shrinking, stopping at the first violation)."""
    if outcome_blind(profile, max_examples):
        return assess_all(module, claim, search_instances(strategy, profile, max_examples, seed), settings,
                          broken=broken)

    def one(inst: Any) -> Assessment:
        return assess(module, claim, inst, settings, require_assumptions=broken is None, broken=broken)

    return explore(strategy, one, profile, max_examples, stop_on_violation=profile.shrink and broken is None,
                   seed=seed)


def claim_verdict(counts: dict) -> str:
    """A claim over its instances: error if any evaluation raised; violated if any instance gave a confirmed,
    robust violation; holds if every applicable instance holds; inconclusive otherwise (including when no
    instance was applicable)."""
    if counts.get(ERROR):
        return ERROR
    if counts.get(VIOLATED):
        return VIOLATED
    if counts.get(HOLDS) and not counts.get(INCONCLUSIVE):
        return HOLDS
    return INCONCLUSIVE


def _summarize(claim: Claim, results: list[Assessment], reports: list[str]) -> ClaimSummary:
    counts: dict[str, int] = {}
    codes: dict[str, int] = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
        if r.verdict == INCONCLUSIVE:
            codes[r.code or "unspecified"] = codes.get(r.code or "unspecified", 0) + 1
    evs = [r.evidence for r in results if r.evidence is not None]
    exps = [float(e.exponent) for e in evs if e.exponent is not None and np.isfinite(e.exponent)]
    ratios = [float(e.worst_ratio) for e in evs if e.worst_ratio is not None and np.isfinite(e.worst_ratio)]
    errors = [{"claim": claim.id, "status": r.status, "traceback": r.traceback} for r in results
              if r.verdict == ERROR]
    return ClaimSummary(claim.id, claim_verdict(counts), len(results), counts, reports, exps,
                        max(ratios) if ratios else None, codes=dict(sorted(codes.items())), errors=errors,
                        evidence=evs)


def check(module: TheoremModule, claim: Claim, profile: Profile, *, instance: Any = None,
          reports: Path | None = None, seed: int = 0, max_confirm: int = 2) -> ClaimSummary:
    """Search for a confirmed, robust counterexample among instances meeting the claim's assumptions (or on one
    given instance). Candidates that are not confirmed, or not robust across the reconstructions, are
    inconclusive with the reason code."""
    settings = settings_for(module, claim_settings(profile, seed))
    if instance is not None:
        results = [assess(module, claim, instance, settings)]
    else:
        results = search(module, claim, module.meets(claim.id), settings, profile, seed=seed)
    paths = []
    candidates = [r for r in results if r.verdict == VIOLATED]
    for a in candidates[:max_confirm]:
        p = finalize(module, claim, a, settings, profile, reports, seed)
        if p is not None:
            paths.append(str(p))
    for a in candidates[max_confirm:]:
        a.verdict, a.code = INCONCLUSIVE, CONFIRMATION_BUDGET
        a.status = "candidate not confirmed (confirmation budget of the profile spent)"
    summary = _summarize(claim, results, paths)
    if instance is not None and results[0].verdict == NOT_APPLICABLE:
        summary.notes.append(results[0].status)
    summary.candidates = [candidate_record(a) for a in candidates[:max_confirm]]
    summary.notes.extend(sorted({r.status for r in results if r.verdict == ERROR}))
    summary.notes.extend(sorted({r.status for r in results if r.code in (NOT_CONFIRMED, RECONSTRUCTION_DEPENDENT)}))
    return summary


def settings_for(module: TheoremModule, settings: Settings) -> Settings:
    """``settings`` with the representation left empty set to the module's model's default one, so runs and
    reports name the representation they used."""
    return settings if settings.representation else settings.but(representation=module.model.default_representation)


def candidate_record(a: Assessment) -> dict:
    """What became of one candidate violation (for the run summary and ``check --json``)."""
    from verify.instance import dumps

    digest = hashlib.sha256(dumps(a.instance.to_json()).encode()).hexdigest()[:8]
    return {"instance": digest, "verdict": a.verdict, "code": a.code, "status": a.status,
            "confirmation": [{"kind": c["kind"], "applies": c.get("applies", True), "agrees": c["agrees"],
                              "verdict": c["verdict"]} for c in a.confirmation],
            "robustness": [{k: r[k] for k in ("name", "role", "value", "verdict", "code")} for r in a.robustness],
            **({} if a.certification is None else {"certified": bool(a.certification.get("certified")),
                                                    "certificate": a.certification.get("reason", "")})}


@dataclass
class AuditRow:
    """One assumption of an audit: ``verdict`` is load-bearing, none-found or cannot-break-alone."""

    assumption: str
    verdict: str
    tried: int
    counts: dict
    reports: list[str]
    note: str = ""
    errors: list[dict] = field(default_factory=list)

    @property
    def breakable(self) -> bool:
        return self.verdict != CANNOT_BREAK_ALONE

    @property
    def load_bearing(self) -> bool:
        return self.verdict == LOAD_BEARING

    def to_json(self) -> dict:
        return {"assumption": self.assumption, "verdict": self.verdict, "tried": self.tried,
                "counts": self.counts, "reports": self.reports, "note": self.note,
                "errors": [{k: v for k, v in e.items() if k != "traceback"} for e in self.errors]}


def audit(module: TheoremModule, claim: Claim, profile: Profile, *, reports: Path | None = None, seed: int = 0,
          max_examples: int | None = None, max_confirm: int = 2) -> list[AuditRow]:
    """Break each of the claim's assumptions alone and evaluate the claim anyway. A confirmed failure makes that
    assumption load-bearing (necessary); it refutes nothing, and its report has ``"kind": "audit"``."""
    settings = settings_for(module, claim_settings(profile, seed))
    rows = []
    for aid in claim.assumptions:
        strat = module.breaks(claim.id, aid)
        if strat is None:
            implied = module.assumptions[aid].implied_by
            note = f"implied by {', '.join(implied)}" if implied else "no break strategy"
            rows.append(AuditRow(aid, CANNOT_BREAK_ALONE, 0, {}, [], note))
            continue

        results = search(module, claim, strat, settings, profile, max_examples=max_examples or profile.audit_examples,
                         broken=aid, seed=seed)
        results = [r for r in results if _breaks_exactly(r, aid)]
        paths = []
        candidates = [r for r in results if r.verdict == VIOLATED]
        for a in candidates[:max_confirm]:
            p = finalize(module, claim, a, settings, profile, reports, seed)
            if p is not None:
                paths.append(str(p))
        for a in candidates[max_confirm:]:  # unconfirmed candidates never make an assumption load-bearing
            a.verdict, a.code = INCONCLUSIVE, CONFIRMATION_BUDGET
            a.status = "candidate not confirmed (confirmation budget of the profile spent)"
        counts: dict[str, int] = {}
        for r in results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        found = any(r.verdict == VIOLATED for r in results)
        errors = [{"claim": claim.id, "status": r.status, "traceback": r.traceback} for r in results
                  if r.verdict == ERROR]
        rows.append(AuditRow(aid, LOAD_BEARING if found else NONE_FOUND, len(results), counts, paths,
                             "" if results else "no instance broke exactly this assumption", errors))
    return rows


def _breaks_exactly(a: Assessment, aid: str) -> bool:
    claim_rows = [r for r in a.assumptions if r["role"] == "claim"]
    return all((r["verdict"] == FAILS) == (r["id"] == aid) for r in claim_rows)
