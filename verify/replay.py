"""``verify replay``: re-run exactly what a report recorded, and compare every recorded field.

The re-run uses the claim as the report recorded it (kind, rate, constant, params), not as the installed code
defines it today; the instance; and the recorded settings (method parameters, steps, profile, seed, backend,
precision, representation). It then compares the report's verdict, the evidence's verdict, reason code, worst
ratio, its checkpoint, exponent, constant, the checkpoints, the observed and claimed series, the run descriptor and
the assumption verdicts. A report is reproduced only when every discrete field (verdicts, codes, checkpoints,
precision flags, run descriptor) is equal and every number agrees to :data:`REPLAY_RTOL` relative; otherwise each
differing field is named. Replay says whether the agreement was bitwise ("exactly") or only to the tolerance:
on one machine the runs are deterministic and agree bit for bit, but on another CPU the BLAS library may pick other
kernels (OpenBLAS dispatches by CPU type), whose summation order changes the last bits of a dot product. If the
installed claim differs from the recorded one, replay says so (and still replays the recorded one).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import sympy

from verify.errors import VerifyInputError

EVIDENCE_FIELDS = ("verdict", "code", "worst_ratio", "t_worst", "exponent", "constant", "t", "observed", "claimed",
                   "precision_ok", "run")
CLAIM_FIELDS = ("kind", "rate", "constant", "params", "assumptions", "method", "metric")
REPLAY_RTOL = 1e-9
"""Relative agreement a replayed number needs: far above the last-bit differences between CPUs' BLAS kernels
(~1e-16 per operation, amplified at most ~1e3 over a run that kept precision), far below any difference that could
move a verdict, which is compared exactly anyway."""


def agree(a: Any, b: Any, rtol: float = REPLAY_RTOL) -> bool:
    """Equal JSON values, except that two finite floats need only agree to ``rtol`` relative."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
            return False
        return a == b or abs(a - b) <= rtol * max(abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(agree(x, y, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(agree(a[k], b[k], rtol) for k in a)
    return bool(a == b)


@dataclass
class ReplayResult:
    reproduced: bool
    differences: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _parse(expr: str | None) -> sympy.Expr | None:
    """A recorded sympy expression, with every symbol positive (as :meth:`verify.theory.Claim.curve` uses)."""
    if expr is None:
        return None
    try:
        e = sympy.sympify(expr)
    except (sympy.SympifyError, TypeError, SyntaxError) as exc:
        raise VerifyInputError(f"the report's claim expression {expr!r} does not parse: {exc}") from None
    return e.subs({s: sympy.Symbol(s.name, positive=True) for s in e.free_symbols})


def _normal(v: Any) -> Any:
    """A JSON-normalized copy (tuples become lists, non-finite floats the strings the reports use)."""
    from verify.instance import dumps

    return json.loads(dumps(v))


def recorded_claim(installed: Any, recorded: dict) -> Any:
    """The installed claim with the recorded definition (kind, rate, constant, params) put back."""
    return dataclasses.replace(installed, kind=recorded.get("kind", installed.kind),
                               rate=_parse(recorded.get("rate")), constant=_parse(recorded.get("constant")),
                               params=recorded.get("params", installed.params))


def replay(path: str) -> ReplayResult:
    from verify.engine import assess
    from verify.registry import find_claim
    from verify.report import load_report
    from verify.theory import Settings

    rep = load_report(path)
    module, installed = find_claim(rep["claim"]["id"])
    lines: list[str] = []
    changed = [k for k in CLAIM_FIELDS if k in rep["claim"]
               and _normal(installed.to_json().get(k)) != _normal(rep["claim"][k])]
    if changed:
        lines.append(f"note: the installed claim {installed.id} differs from the recorded one in "
                     f"{', '.join(changed)}; replaying the recorded definition")
    claim = recorded_claim(installed, rep["claim"])
    inst = module.load_instance(rep["instance"])
    known = Settings.__dataclass_fields__
    settings = Settings(**{k: v for k, v in rep.get("settings", {}).items() if k in known})
    a = assess(module, claim, inst, settings, require_assumptions=False, broken=rep.get("broken_assumption"))
    if a.evidence is None:
        lines.append(f"replayed {claim.id}: the evaluation gave no evidence ({a.verdict}: {a.status})")
        lines.append("NOT reproduced")
        return ReplayResult(False, ["evidence"], lines)
    new, old = _normal(a.evidence.to_json()), rep["evidence"]
    diffs = [f"evidence.{k}" for k in EVIDENCE_FIELDS if k in old and not agree(new.get(k), _normal(old[k]))]
    bitwise = all(new.get(k) == _normal(old[k]) for k in EVIDENCE_FIELDS if k in old)
    if rep.get("verdict") != new["verdict"]:
        diffs.insert(0, "verdict")
    old_assumptions = {r["id"]: r["verdict"] for r in rep.get("assumptions", [])}
    new_assumptions = {r["id"]: r["verdict"] for r in a.assumptions}
    diffs += [f"assumption {k}" for k in old_assumptions if new_assumptions.get(k) != old_assumptions[k]]
    lines.append(f"replayed {claim.id} ({rep.get('kind', 'counterexample')}, seed {settings.seed}, "
                 f"{settings.backend}, {settings.steps} steps): verdict {new['verdict']} "
                 f"(report: {rep.get('verdict')})")
    for d in diffs:
        key = d.removeprefix("evidence.")
        if d.startswith("evidence.") and key in old:
            lines.append(f"  differs: {d}: report {_short(old[key])}, replay {_short(new.get(key))}")
        else:
            lines.append(f"  differs: {d}")
    if diffs:
        lines.append(f"NOT reproduced: {len(diffs)} field(s) differ ({', '.join(diffs)})")
    elif bitwise:
        lines.append("reproduced exactly: every recorded field is equal")
    else:
        worst = _worst_relative(new, rep["evidence"])
        lines.append(f"reproduced: every discrete field is equal and every number agrees to {worst:.1e} relative "
                     f"(tolerance {REPLAY_RTOL:g}; not bitwise, as across CPUs whose BLAS kernels differ)")
    return ReplayResult(not diffs, diffs, lines)


def _worst_relative(new: dict, old: dict) -> float:
    """The largest relative difference between two evidence records' numbers (for the replay message)."""
    worst = 0.0

    def walk(a: Any, b: Any) -> None:
        nonlocal worst
        if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool) and a != b:
            worst = max(worst, abs(a - b) / max(abs(a), abs(b)))
        elif isinstance(a, list) and isinstance(b, list):
            for x, y in zip(a, b, strict=False):
                walk(x, y)
        elif isinstance(a, dict) and isinstance(b, dict):
            for k in a.keys() & b.keys():
                walk(a[k], b[k])

    for k in EVIDENCE_FIELDS:
        if k in old:
            walk(new.get(k), _normal(old[k]))
    return worst


def _short(v: Any) -> str:
    text = json.dumps(v, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
