"""Certified findings: a confirmed violation proven with Arb balls, or the reason it is not.

"Certified" means proven. A finding is certified when an enclosure of the metric (balls that contain the exact
value of the metric of the exact iterate, from a rigorous re-run of the candidate: :func:`verify.arb.run_rigorous`
through a model's ``certify`` module) lies above the claimed curve evaluated in Arb:

- **bound** claims: at some checkpoint t from the claim's first judged checkpoint, the lower end of the metric's
  ball exceeds the upper end of the ball of ``constant * rate(t)`` (the sympy expression evaluated in Arb by
  :func:`arb_eval`, each instance constant entering as the exact ball of its float value unless the model encloses
  it itself). The certified margin is the lower end of (metric - curve), positive.
- **order** and **limit** claims are asymptotic: no finite run proves them false. What is certified, where the
  model can, are the finite-t facts the verdict rests on (an enclosed witness that stays positive, enclosed
  ratios to the rate); ``certified`` stays False and the record says that the asymptotic statement is not proven.

A model provides enclosures in a module ``<its package>.certify`` (found from ``Model.load_instance``'s module)
with ``enclose_metric(claim, instance, evidence) -> MetricEnclosure | str`` (a str is the reason it cannot) and,
optionally, ``certify_finite(claim, instance, evidence) -> dict | str`` for order and limit claims. Without one,
the record is "not certified: <reason>".

Certification has a time budget (``Profile.certify_seconds``, per written report): the rigorous runs check it at
every step, and a record whose proof was not finished in time says "not certified: time budget exceeded (N s)".
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy

from verify.arb import TimeBudgetExceeded, available, flint_module, time_budget, working_precision

BITS = 256
"""Arb's working precision for the curve and for the enclosures computed from a run's balls (the run itself
chooses its own)."""


@dataclass
class MetricEnclosure:
    """Balls ``metric[k]`` containing the exact metric at checkpoints ``t[k]``; ``consts``: balls (or floats)
    the model encloses itself, overriding the observation's float constants; ``notes``: how they were obtained."""

    t: list[int]
    metric: list[Any]
    consts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def ball_json(b: Any) -> list[float]:
    """[lo, hi] floats enclosing the ball ``b`` (rounded outward by one ulp)."""
    lo, hi = float(b.lower().mid()), float(b.upper().mid())
    return [math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf)]


def lower_float(b: Any) -> float:
    """A float64 lower bound on every point of the ball ``b``."""
    return ball_json(b)[0]


def exact_ball(v: Any) -> Any:
    """The exact ball of a float (or int, or sympy number), or ``v`` itself when it is a ball."""
    arb = flint_module().arb
    if type(v).__name__ == "arb":
        return v
    if isinstance(v, sympy.Rational):
        return arb(int(v.p)) / arb(int(v.q))
    if isinstance(v, int):
        return arb(v)
    return arb(float(v))


def arb_eval(expr: Any, values: dict[str, Any]) -> Any:
    """The sympy expression ``expr`` as an Arb ball: symbols from ``values`` (floats as exact balls, or balls),
    integers and rationals exact, floats as the exact balls of their values, exp/log/sqrt/pi/E rigorous.
    (A walk of the expression tree, so that 9/10 never passes through float division as a lambdified
    expression would.)"""
    arb = flint_module().arb
    e = sympy.sympify(expr)
    if e.is_Symbol:
        if e.name not in values:
            raise KeyError(f"no value for the symbol {e.name} of {expr}")
        return exact_ball(values[e.name])
    if e.is_Integer or e.is_Rational:
        return exact_ball(sympy.Rational(e))
    if e.is_Float:
        return arb(float(e))
    if e is sympy.pi:
        return arb.pi()
    if e is sympy.E:
        return arb(1).exp()
    args = [arb_eval(a, values) for a in e.args]
    if e.is_Add:
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out
    if e.is_Mul:
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if e.is_Pow:
        base, ex = e.args
        if ex.is_Integer:
            return args[0] ** int(ex)
        if ex == sympy.Rational(1, 2):
            return args[0].sqrt()
        return (args[1] * args[0].log()).exp()
    if isinstance(e, sympy.exp):
        return args[0].exp()
    if isinstance(e, sympy.log):
        return args[0].log()
    raise ValueError(f"cannot evaluate {type(e).__name__} ({e}) in Arb")


def curve_ball(claim: Any, t: int, consts: dict) -> Any:
    """constant(consts) * rate(t) as an Arb ball (constant 1 when the claim has none), at :data:`BITS` bits."""
    expr = (claim.constant if claim.constant is not None else sympy.Integer(1)) * (claim.rate or sympy.Integer(1))
    with working_precision(BITS):
        return arb_eval(expr, {**consts, "t": int(t)})


def not_certified(reason: str, **extra: Any) -> dict:
    return {"certified": False, "reason": f"not certified: {reason}", **extra}


def certify_bound(claim: Any, enc: MetricEnclosure, consts: dict, t0: int = 1) -> dict:
    """A bound claim's violation from the metric's balls: certified at t when (metric - curve) > 0 for every point
    of the balls. Every checkpoint from ``t0`` gets a row with the balls and the margin's lower end."""
    rows: list[dict[str, Any]] = []
    for t, m in zip(enc.t, enc.metric, strict=True):
        if t < t0:
            continue
        c = curve_ball(claim, t, {**consts, **enc.consts})
        with working_precision(BITS):
            diff = m - c
        rows.append({"t": int(t), "metric": ball_json(m), "curve": ball_json(c), "margin_lower": lower_float(diff),
                     "violated": bool(diff > 0)})
    hits = [r for r in rows if r["violated"]]
    base = {"enclosures": rows, "notes": enc.notes}
    if not hits:
        return not_certified("no checkpoint's metric ball lies above the claimed curve's ball", **base)
    best = max(hits, key=lambda r: r["margin_lower"])
    return {"certified": True, "reason": (
        f"certified (rigorous): at t={best['t']} the metric is >= {best['metric'][0]:.6g} > the curve's upper end "
        f"{best['curve'][1]:.6g} (margin >= {best['margin_lower']:.3g}); {len(hits)} of {len(rows)} checkpoints "
        "certified violated"), "t": best["t"], "margin_lower": best["margin_lower"], **base}


def order_facts(claim: Any, enc: MetricEnclosure, t0: int = 1) -> dict | str:
    """The finite facts behind an order verdict: the ratio metric / rate(t) in balls at each enclosed checkpoint
    from ``t0``, whether it certainly increases between consecutive checkpoints, and a certified lower bound on
    its growth r(t_last) / r(t_first). Proves nothing about t -> infinity."""
    rows: list[dict[str, Any]] = []
    for t, m in zip(enc.t, enc.metric, strict=True):
        if t < t0:
            continue
        rate = arb_eval(claim.rate or sympy.Integer(1), {**enc.consts, "t": int(t)})
        rows.append({"t": int(t), "metric": ball_json(m), "ratio": m / rate})
    if len(rows) < 2:
        return "fewer than two enclosed checkpoints"
    growth = rows[-1]["ratio"] / rows[0]["ratio"]
    increasing = all(bool(b["ratio"] > a["ratio"]) for a, b in zip(rows, rows[1:], strict=False))
    grows = bool(growth > 1)
    out = {"certified": grows, "rows": [{**r, "ratio": ball_json(r["ratio"])} for r in rows], "increasing": increasing,
           "growth_lower": lower_float(growth), "t": [rows[0]["t"], rows[-1]["t"]], "notes": enc.notes}
    out["statement"] = (f"metric/rate(t) grows by a factor >= {out['growth_lower']:.4g} from t = {rows[0]['t']} to "
                        f"{rows[-1]['t']}" + (" and increases at every enclosed checkpoint" if increasing else "")
                        if grows else f"the ratio's growth from t = {rows[0]['t']} to {rows[-1]['t']} is not "
                        "certified")
    return out


def model_certifier(model: Any) -> Any:
    """The ``certify`` module of the model's package, or None."""
    fn = getattr(model, "load_instance", None)
    pkg = getattr(fn, "__module__", "").rpartition(".")[0]
    if not pkg:
        return None
    try:
        return importlib.import_module(pkg + ".certify")
    except ModuleNotFoundError:
        return None


def judged_from(evidence: Any) -> int:
    """The first checkpoint a bound was judged from (the evidence's figure or rule), default 1."""
    for src in (evidence.figure or {}, (evidence.extra or {}).get("rule", {})):
        v = src.get("judged_from") if isinstance(src, dict) else None
        if v is not None:
            return int(v)
    return 1


def certify_finding(model: Any, claim: Any, instance: Any, evidence: Any, consts: dict | None = None, *,
                    budget: float | None = None, clock: Callable[[], float] = time.monotonic) -> dict:
    """The certification record of a confirmed finding (the report's ``certificate``; its ``certified`` is the
    report's ``certified``). Never raises: a failure to enclose is "not certified: <reason>". ``budget``: seconds
    (of ``clock``, injectable) after which the rigorous runs stop and the record is "not certified: time budget
    exceeded (N s)" (:func:`verify.arb.time_budget`); None: no limit."""
    why = available()
    if why is not None:
        return not_certified(why)
    mod = model_certifier(model)
    if mod is None:
        return not_certified(f"the model {getattr(model, 'key', '?')} provides no enclosures")
    try:
        with time_budget(budget, clock), working_precision(BITS):
            return _certify(mod, claim, instance, evidence, consts)
    except TimeBudgetExceeded as exc:  # the proof was not finished: nothing is claimed
        return not_certified(str(exc), budget_seconds=exc.seconds)
    except Exception as exc:  # an enclosure that fails is no proof, and never a crash of the finding
        return not_certified(f"the enclosure failed: {exc.__class__.__name__}: {exc}")


def _certify(mod: Any, claim: Any, instance: Any, evidence: Any, consts: dict | None) -> dict:
    """The record, by the claim's kind (see :func:`certify_finding`)."""
    if claim.kind == "bound":
        enc = mod.enclose_metric(claim, instance, evidence)
        if isinstance(enc, str):
            return not_certified(enc)
        return certify_bound(claim, enc, dict(consts or {}), judged_from(evidence))
    if claim.kind in ("order", "limit"):
        asym = (f"a{'n' if claim.kind == 'order' else ''} {claim.kind} claim is asymptotic: no finite run "
                "proves it false, so the asymptotic statement is not proven violated")
        fin = getattr(mod, "certify_finite", None)
        if claim.kind == "order":
            enc = mod.enclose_metric(claim, instance, evidence)
            facts = enc if isinstance(enc, str) else order_facts(claim, enc, judged_from(evidence))
        else:
            facts = fin(claim, instance, evidence) if fin is not None else "the model certifies no finite facts"
        if isinstance(facts, str):
            return not_certified(f"{asym}; finite facts not certified: {facts}")
        return not_certified(asym, finite=facts)
    return not_certified(f"claims of kind {claim.kind} are not certified")


def certification_line(report: dict) -> str | None:
    """One line for the report pages: "certified (rigorous): ..." only when ``certified`` is true; the reason it
    is not otherwise; None for a report written before certification."""
    if "certified" not in report or report.get("certified") is None:
        return None
    cert = report.get("certificate") or {}
    reason = str(cert.get("reason", ""))
    if report["certified"] is True:
        return reason if reason.startswith("certified (rigorous)") else f"certified (rigorous): {reason}"
    fin = cert.get("finite")
    if isinstance(fin, dict) and fin.get("statement"):
        reason += f"; finite-t facts {'' if fin.get('certified') else 'not '}certified: {fin['statement']}"
    return reason.replace("certified (rigorous)", "certified") or "not certified"


def recertify_report(path: str, budget: float | None = None) -> dict:
    """Certify a written report again (a report written before certification, or with an older enclosure): the
    recorded claim definition, instance and evidence go through :func:`certify_finding` as in ``verify check``,
    the record replaces the report's ``certified`` and ``certificate`` (and the shrunk instance's, when the report
    has one and it was shrunk), and the report is written again through :func:`verify.report.write_report` (JSON,
    Markdown, plot) where it was. Nothing else in the report changes. Returns the new record."""
    from pathlib import Path

    from verify.registry import find_claim
    from verify.replay import recorded_claim
    from verify.report import load_report, write_report
    from verify.theory import Evidence

    rep = load_report(path)
    module, installed = find_claim(rep["claim"]["id"])
    claim = recorded_claim(installed, rep["claim"])
    fields = Evidence.__dataclass_fields__
    start = time.monotonic()
    inst = module.load_instance(rep["instance"])
    ev = Evidence(**{k: v for k, v in rep["evidence"].items() if k in fields})
    rec = certify_finding(module.model, claim, inst, ev, budget=budget)
    rep["certified"], rep["certificate"] = bool(rec.get("certified")), rec
    sh = rep.get("shrunk")
    if isinstance(sh, dict) and sh.get("moves"):
        left = None if budget is None else max(0.0, budget - (time.monotonic() - start))
        sev = Evidence(**{k: v for k, v in sh["evidence"].items() if k in fields})
        cert = certify_finding(module.model, claim, module.load_instance(sh["instance"]), sev, budget=left)
        sh.update(certified=bool(cert.get("certified")), certificate=cert)
    write_report(rep, Path(path).parent)
    return rec


def main(argv: list[str] | None = None) -> int:
    """``python -m verify.certify REPORT.json.. [--budget SECONDS]``: :func:`recertify_report` on each report, one
    line each (the certification line of the pages)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m verify.certify", description=recertify_report.__doc__)
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--budget", type=float, default=None, help="seconds per report (default: no limit)")
    args = ap.parse_args(argv)
    for p in args.reports:
        t0 = time.monotonic()
        rec = recertify_report(p, args.budget)
        line = certification_line({"certified": bool(rec.get("certified")), "certificate": rec})
        print(f"{p}: {line} ({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
