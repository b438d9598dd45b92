"""The loop the toolkit exists for:
instance -> assumptions -> claim evidence -> confirmation -> report (DESIGN.md).

- :func:`assess` evaluates a claim's assumptions and the claim on one instance.
- :func:`confirm` re-runs a candidate counterexample at higher precision (mpmath), on a longer horizon and on
  the other representation; it counts only if every re-run agrees.
- :func:`check` searches instances that meet the assumptions (hypothesis) and reports confirmed violations.
- :func:`audit` breaks each assumption alone and shows which ones are load-bearing.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata as _md
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, target
from hypothesis.errors import Flaky

from verify.errors import VerifyInputError
from verify.profiles import Profile, claim_settings, hypothesis_settings
from verify.theory import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    VIOLATED,
    Claim,
    Evidence,
    Settings,
    TheoremModule,
)

REPORT_SCHEMA = "verify-report/1"
AGREE_TOL = 1e-6  # relative agreement demanded between backends on a confirmation (metric series)


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


def assess(module: TheoremModule, claim: Claim, instance: Any, settings: Settings, *,
           require_assumptions: bool = True, broken: str | None = None) -> Assessment:
    """Assumptions first; the claim is evaluated only if they hold (or if ``require_assumptions`` is False,
    as in an audit that breaks one on purpose)."""
    cache: dict = {}
    rows = assumption_table(module, claim, instance, cache)
    ok = all(r["verdict"] == HOLDS for r in rows if r["role"] == "claim")
    if require_assumptions and not ok:
        failing = [r["id"] for r in rows if r["role"] == "claim" and r["verdict"] != HOLDS]
        return Assessment(instance, rows, None, NOT_APPLICABLE, status=f"assumptions not met: {failing}")
    try:
        ev = claim.run(instance, settings, cache)
    except VerifyInputError as exc:
        return Assessment(instance, rows, None, INCONCLUSIVE, status=f"could not evaluate: {exc}", broken=broken)
    except FloatingPointError as exc:
        return Assessment(instance, rows, None, INCONCLUSIVE, status=f"numerically unreliable: {exc}", broken=broken)
    except Exception as exc:  # a claim's own code (possibly a plugin's) failed: say so, never crash the run
        return Assessment(instance, rows, None, INCONCLUSIVE, broken=broken,
                          status=f"evaluation error in claim {claim.id}: {exc.__class__.__name__}: {exc}")
    return Assessment(instance, rows, ev, ev.verdict, broken=broken)


CONFIRMATIONS = ("higher-precision", "longer-horizon", "cross-backend", "repeat")


def _series_agree(a: Evidence, b: Evidence, tol: float = AGREE_TOL) -> tuple[bool, float]:
    if len(a.t) != len(a.observed) or len(b.t) != len(b.observed):
        return False, float("inf")  # evidence without a checkpoint series cannot be compared point by point
    common = sorted(set(a.t) & set(b.t))
    ia = {t: v for t, v in zip(a.t, a.observed, strict=True)}
    ib = {t: v for t, v in zip(b.t, b.observed, strict=True)}
    if not common:
        return False, float("inf")
    diffs = [abs(ia[t] - ib[t]) / max(abs(ia[t]), abs(ib[t]), 1e-300) for t in common]
    worst = float(max(diffs))
    return worst <= tol, worst


def confirm(claim: Claim, instance: Any, settings: Settings, evidence: Evidence, profile: Profile) -> list[dict]:
    """Re-run a candidate counterexample in each way the claim allows (``claim.confirm_with``): mpmath at higher
    precision, a longer horizon, the other representation, or (for models with neither) an identical repeat
    that must reproduce the verdict and the observed values exactly. Each entry: kind, verdict, agrees,
    reason, evidence."""
    runs: list[dict] = []
    kinds = claim.confirm_with
    if "repeat" in kinds:
        again = claim.run(instance, settings, {})
        same = again.verdict == VIOLATED and again.observed == evidence.observed
        runs.append({"kind": "repeat", "verdict": again.verdict, "agrees": same,
                     "reason": "identical re-run (this model has no higher-precision or longer-horizon path): "
                               + ("verdict and observed values reproduced exactly" if same else "NOT reproduced"),
                     "evidence": again.to_json()})
    if "higher-precision" in kinds:
        mp_steps = min(settings.steps, profile.confirm_mp_steps)
        hp = claim.run(instance, settings.but(backend="mpmath", dps=settings.confirm_dps, steps=mp_steps), {})
        lo = claim.run(instance, settings.but(steps=mp_steps), {})
        agree, worst = _series_agree(hp, lo)
        runs.append({"kind": "higher-precision", "verdict": hp.verdict, "agrees": agree,
                     "reason": f"mpmath at {settings.confirm_dps} digits over {mp_steps} steps; largest relative "
                               f"difference from float64 {worst:.3g} (tolerance {AGREE_TOL})",
                     "evidence": hp.to_json()})
    if "longer-horizon" in kinds:
        long = claim.run(instance, settings.but(steps=settings.steps * settings.confirm_factor), {})
        runs.append({"kind": "longer-horizon", "verdict": long.verdict, "agrees": long.verdict == VIOLATED,
                     "reason": f"{settings.steps * settings.confirm_factor} steps: {long.reason}",
                     "evidence": long.to_json()})
    if "cross-backend" in kinds:
        other = "dense" if settings.representation == "gram" else "gram"
        alt = claim.run(instance, settings.but(representation=other), {})
        agree2, worst2 = _series_agree(alt, evidence)
        runs.append({"kind": "cross-backend", "verdict": alt.verdict,
                     "agrees": agree2 and alt.verdict == VIOLATED,
                     "reason": f"numpy {other} representation; largest relative difference {worst2:.3g}",
                     "evidence": alt.to_json()})
    if not runs:
        runs.append({"kind": "none", "verdict": INCONCLUSIVE, "agrees": False, "evidence": None,
                     "reason": "the claim declares no way to confirm a violation (confirm_with is empty)"})
    return runs


def versions() -> dict:
    out: dict[str, str | None] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("attention-verify", "numpy", "mpmath", "sympy", "cvxpy", "clarabel", "hypothesis"):
        try:
            out[pkg] = _md.version(pkg)
        except _md.PackageNotFoundError:
            out[pkg] = None
    return out


def build_report(module: TheoremModule, claim: Claim, a: Assessment, settings: Settings, seed: int | None) -> dict:
    ev = a.evidence
    assert ev is not None
    return {
        "schema": REPORT_SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "theorem": {"module": module.key, "reference": module.reference.__dict__},
        "claim": claim.to_json(),
        "verdict": a.verdict,
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
        "versions": versions(),
        "replay": "",
    }


def finalize(module: TheoremModule, claim: Claim, a: Assessment, settings: Settings, profile: Profile,
             reports: Path | None, seed: int | None) -> Path | None:
    """Confirm a candidate, set its status, and write its report. Returns the JSON path (or None)."""
    assert a.evidence is not None
    a.confirmation = confirm(claim, a.instance, settings, a.evidence, profile)
    if all(c["agrees"] for c in a.confirmation):
        a.status = "confirmed counterexample"
    else:
        a.verdict = INCONCLUSIVE
        failed = [c["kind"] for c in a.confirmation if not c["agrees"]]
        a.status = f"numerically unreliable: not confirmed by {', '.join(failed)}"
    if reports is None:
        return None
    from verify.report import report_basename, write_report

    rep = build_report(module, claim, a, settings, seed)
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

    def to_json(self) -> dict:
        return dict(self.__dict__)


def explore(strategy: Any, fn: Callable[[Any], Assessment], profile: Profile, max_examples: int | None = None,
            stop_on_violation: bool = False) -> list[Assessment]:
    """Draw instances with hypothesis and assess each; ``target()`` steers towards the worst ratio. With
    ``stop_on_violation`` the search stops (and, in the thorough profile, shrinks) at the first violation."""
    results: list[Assessment] = []

    class _Violation(Exception):
        pass

    @given(strategy)
    @hypothesis_settings(profile, max_examples)
    def prop(instance: Any) -> None:
        a = fn(instance)
        results.append(a)
        ev = a.evidence
        if ev is not None:  # steer towards the worst ratio, or (limit claims) the largest final metric
            score = ev.worst_ratio if ev.worst_ratio is not None else (ev.observed[-1] if ev.observed else None)
            if score is not None and np.isfinite(score):
                target(float(score), label="worst observed-to-claimed ratio or final metric")
        if stop_on_violation and a.verdict == VIOLATED:
            raise _Violation

    with contextlib.suppress(_Violation, Flaky):
        prop()
    return results


def _summarize(claim: Claim, results: list[Assessment], reports: list[str]) -> ClaimSummary:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    evs = [r.evidence for r in results if r.evidence is not None]
    exps = [float(e.exponent) for e in evs if e.exponent is not None and np.isfinite(e.exponent)]
    ratios = [float(e.worst_ratio) for e in evs if e.worst_ratio is not None and np.isfinite(e.worst_ratio)]
    if counts.get(VIOLATED):
        verdict = VIOLATED
    elif counts.get(HOLDS) and not counts.get(INCONCLUSIVE):
        verdict = HOLDS
    else:
        verdict = INCONCLUSIVE
    return ClaimSummary(claim.id, verdict, len(results), counts, reports, exps, max(ratios) if ratios else None)


def check(module: TheoremModule, claim: Claim, profile: Profile, *, instance: Any = None,
          reports: Path | None = None, seed: int = 0, max_confirm: int = 2) -> ClaimSummary:
    """Search for a confirmed counterexample among instances meeting the claim's assumptions (or on one
    given instance). Unconfirmed candidates are reported as inconclusive ("numerically unreliable")."""
    settings = claim_settings(profile, seed)
    if instance is not None:
        results = [assess(module, claim, instance, settings)]
    else:
        results = explore(module.meets(claim.id), lambda inst: assess(module, claim, inst, settings), profile,
                          stop_on_violation=profile.shrink)
    paths = []
    for a in [r for r in results if r.verdict == VIOLATED][:max_confirm]:
        p = finalize(module, claim, a, settings, profile, reports, seed)
        if p is not None:
            paths.append(str(p))
    for a in [r for r in results if r.verdict == VIOLATED][max_confirm:]:
        a.verdict, a.status = INCONCLUSIVE, "candidate not confirmed (confirmation budget of the profile spent)"
    summary = _summarize(claim, results, paths)
    if instance is not None and results[0].verdict == NOT_APPLICABLE:
        summary.notes.append(results[0].status)
    summary.notes.extend(sorted({r.status for r in results if r.status.startswith("evaluation error")}))
    return summary


@dataclass
class AuditRow:
    assumption: str
    breakable: bool
    tried: int
    counts: dict
    load_bearing: bool | None
    reports: list[str]
    note: str = ""

    def to_json(self) -> dict:
        return dict(self.__dict__)


def audit(module: TheoremModule, claim: Claim, profile: Profile, *, reports: Path | None = None, seed: int = 0,
          max_examples: int | None = None, max_confirm: int = 2) -> list[AuditRow]:
    """Break each of the claim's assumptions alone and evaluate the claim anyway."""
    settings = claim_settings(profile, seed)
    rows = []
    for aid in claim.assumptions:
        strat = module.breaks(claim.id, aid)
        if strat is None:
            implied = module.assumptions[aid].implied_by
            note = f"cannot be broken alone (implied by {', '.join(implied)})" if implied else "no break strategy"
            rows.append(AuditRow(aid, False, 0, {}, None, [], note))
            continue

        def fn(inst: Any, aid: str = aid) -> Assessment:
            return assess(module, claim, inst, settings, require_assumptions=False, broken=aid)

        results = explore(strat, fn, profile, max_examples or max(profile.max_examples, 4))
        results = [r for r in results if _breaks_exactly(r, aid)]
        paths = []
        for a in [r for r in results if r.verdict == VIOLATED][:max_confirm]:
            p = finalize(module, claim, a, settings, profile, reports, seed)
            if p is not None:
                paths.append(str(p))
        counts: dict[str, int] = {}
        for r in results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        confirmed = any(r.status == "confirmed counterexample" for r in results)
        rows.append(AuditRow(aid, True, len(results), counts, confirmed, paths,
                             "" if results else "no instance broke exactly this assumption"))
    return rows


def _breaks_exactly(a: Assessment, aid: str) -> bool:
    claim_rows = [r for r in a.assumptions if r["role"] == "claim"]
    return all((r["verdict"] == FAILS) == (r["id"] == aid) for r in claim_rows)
