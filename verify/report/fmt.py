"""Numbers, labels and sentences shared by every rendering of a report (Markdown, HTML, the plot, ``verify show``).

Every helper reads a validated report dict and tolerates the strings ``"inf"``, ``"-inf"`` and ``"nan"`` that
stand for non-finite floats in the JSON, treating them as the floats they name.
"""

from __future__ import annotations

import math
from typing import Any

from verify.verdicts import KIND_AUDIT

MAX_CHECKPOINT_ROWS = 25

NONFINITE = {"inf": math.inf, "+inf": math.inf, "infinity": math.inf, "-inf": -math.inf,
             "-infinity": -math.inf, "nan": math.nan}


def as_float(v: Any) -> float | None:
    """A float from a JSON value (``"inf"``/``"nan"`` strings included); None for null or anything else."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        key = v.strip().lower()
        if key in NONFINITE:
            return NONFINITE[key]
        try:
            return float(key)
        except ValueError:
            return None
    return None


def as_plot_float(v: Any) -> float:
    """Like :func:`as_float`, with NaN for a missing value (for plotting)."""
    f = as_float(v)
    return math.nan if f is None else f


def fmt_num(v: Any, digits: int = 6) -> str:
    """A number for a table: ``—`` when missing, ``inf``/``-inf``/``nan``, an integer as is, else ``digits``
    significant digits."""
    f = as_float(v)
    if f is None:
        return "—"
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return f"{f:.{digits}g}"


def fmt_t(v: Any) -> str:
    """A checkpoint: a whole number without a decimal point."""
    f = as_float(v)
    if f is not None and math.isfinite(f) and f == int(f):
        return str(int(f))
    return fmt_num(v)


def provenance_label(prov: Any) -> str:
    """``[seed, abs: note]`` like :meth:`verify.provenance.Provenance.label` (without re-validating tags)."""
    if not isinstance(prov, dict):
        return "[?]"
    inner = ", ".join(str(t) for t in prov.get("tags") or [])
    note = prov.get("note") or ""
    return f"[{inner}: {note}]" if note else f"[{inner}]"


def reference_text(ref: Any) -> str:
    """The paper in one line: ``[KEY] Authors. Title. Venue (arXiv:...), Theorem N``."""
    if isinstance(ref, str):
        return ref
    if not isinstance(ref, dict):
        return ""
    parts = [str(ref[k]) for k in ("authors", "title", "venue") if ref.get(k)]
    text = ". ".join(parts)
    if ref.get("arxiv"):
        text += f" (arXiv:{ref['arxiv']})"
    if ref.get("theorem"):
        text += f", Theorem {ref['theorem']}"
    if ref.get("key"):
        text = f"[{ref['key']}] {text}" if text else str(ref["key"])
    return text


def ratios(ev: dict) -> list[float | None]:
    """observed/claimed at each checkpoint (None where either is missing or claimed is zero)."""
    obs, cl = ev.get("observed") or [], ev.get("claimed") or []
    out: list[float | None] = []
    for i in range(len(obs)):
        o = as_float(obs[i])
        c = as_float(cl[i]) if i < len(cl) else None
        if o is None or c is None or c == 0 or math.isnan(c) or math.isnan(o) or (
                math.isinf(o) and math.isinf(c)):
            out.append(None)
        else:
            out.append(o / c)
    return out


def worst_index(ev: dict) -> int | None:
    """Index of ``t_worst`` in ``t`` if it is there; else of the largest ratio; else None."""
    ts = [as_float(v) for v in ev.get("t") or []]
    tw = as_float(ev.get("t_worst"))
    if tw is not None and tw in ts:
        return ts.index(tw)
    rs = ratios(ev)
    best: int | None = None
    for i, r in enumerate(rs):
        if r is not None and (best is None or r > (rs[best] or -math.inf)):
            best = i
    return best


def checkpoint_rows(n: int, worst: int | None, limit: int = MAX_CHECKPOINT_ROWS) -> list[int]:
    """At most ``limit`` evenly spread indices into ``range(n)``, always with the first, worst and last."""
    if n <= limit:
        return list(range(n))
    must = {0, n - 1} | ({worst} if worst is not None and 0 <= worst < n else set())
    m = limit - len(must) + 2  # an even grid over [0, n - 1] (endpoints included) plus the worst index
    grid = {round(k * (n - 1) / (m - 1)) for k in range(m)}
    return sorted(grid | must)


def headline(report: dict) -> str:
    """What the report is, in one line, the same in Markdown, HTML, the plot and ``verify show``."""
    if report["kind"] == KIND_AUDIT:
        return (f"audit: with {report['broken_assumption']} broken on purpose, the claim is {report['verdict']}; "
                f"{report['broken_assumption']} is load-bearing (an audit refutes nothing)")
    return f"counterexample: {report['verdict']} on data meeting every assumption ({report['status']})"


def refutes_if(report: dict) -> str:
    """What would have to be true of the paper for this finding to refute it."""
    claim = report["claim"]
    if report["kind"] == KIND_AUDIT:
        return (f"Nothing in the paper is refuted: this shows that {report['broken_assumption']} is necessary. It "
                "would matter only if the paper claimed the result without that assumption.")
    recon = [r["name"] for r in claim.get("reconstructions", [])]
    parts = ["the paper's claim is the one encoded here (statement, rate, constant and metric)",
             "its assumptions are the ones checked here, with the thresholds used"]
    if recon:
        parts.append("the paper's reading of each reconstructed constant is among those tried ("
                     + ", ".join(recon) + ")")
    tags = claim.get("provenance", {}).get("tags", [])
    if "recon" in tags:
        parts.append("the claim itself, marked [recon], matches what the paper states")
    return "This refutes the paper only if " + "; ".join(parts) + "."


def agreement(c: dict) -> str:
    """A confirmation run: 'agrees' / 'DISAGREES' / 'not applicable' when it says whether it confirms, else its
    verdict."""
    if c.get("applies") is False:
        return f"not applicable (verdict {c['verdict']})"
    if "agrees" in c:
        return f"{'agrees' if c['agrees'] else 'DISAGREES'} (verdict {c['verdict']})"
    return str(c["verdict"])


# ---------------------------------------------------------------------------------------------- figures
VARIABLES = {"t": ("t", "t (iterations)"), "n": ("n", "n (sample size)"), "kappa": ("κ", "κ (condition number)"),
             "seed": ("seed", "data seed"), "run": ("run", "run"), "draw": ("draw", "draw"),
             "element": ("element", "element"), "sample": ("sample", "paired sample")}
"""variable -> (its symbol in table headers, its axis label)."""

CATEGORICAL = frozenset({"seed", "run", "draw", "element", "sample"})
"""Variables whose values are labels, not magnitudes: plotted as points without lines, on a linear axis."""


def figure_of(report: dict) -> dict:
    """The evidence's ``figure`` (what the plot and the pages draw), or {} for a report written before it."""
    ev = report.get("evidence") if isinstance(report.get("evidence"), dict) else {}
    fig = ev.get("figure") if isinstance(ev, dict) else None
    return fig if isinstance(fig, dict) else {}


def claim_kind(report: dict) -> str:
    claim = report.get("claim") if isinstance(report.get("claim"), dict) else {}
    return str(claim.get("kind", "")) if isinstance(claim, dict) else ""


def variable(report: dict) -> str:
    """What the checkpoints are values of: the figure's variable; for an older report the run's ``x_axis``, else
    the kind's default (as :data:`verify.kinds.DEFAULT_VARIABLE`)."""
    fig = figure_of(report)
    if fig.get("variable"):
        return str(fig["variable"])
    ev = report.get("evidence")
    run = ev.get("run") if isinstance(ev, dict) and isinstance(ev.get("run"), dict) else None
    if isinstance(run, dict) and run.get("x_axis"):
        return str(run["x_axis"])
    return {"comparison": "sample", "identity": "element"}.get(claim_kind(report), "t")


def variable_symbol(report: dict) -> str:
    v = variable(report)
    return VARIABLES.get(v, (v, v))[0]


def variable_label(report: dict) -> str:
    v = variable(report)
    return VARIABLES.get(v, (v, v))[1]


def ratio_name(report: dict) -> str:
    """What the per-checkpoint ratio of this report's kind is."""
    return {"order": "metric / rate", "bound": "metric / bound", "identity": "|lhs − rhs| / tolerance",
            "probability": "sample / threshold"}.get(claim_kind(report), "observed / claimed")


def _div(o: float | None, c: float | None) -> float | None:
    if o is None or c is None or c == 0 or math.isnan(c) or math.isnan(o) or (math.isinf(o) and math.isinf(c)):
        return None
    return o / c


def checkpoint_ratios(report: dict) -> list[float | None]:
    """The ratio at each checkpoint, the quantity whose largest judged value is ``evidence.worst_ratio``: for an
    order claim metric / rate with the rate unscaled (an older report's scaled curve is divided by its scale),
    for a bound metric / bound, for an identity |lhs - rhs| / tolerance, else observed / claimed."""
    ev = report["evidence"]
    fig = figure_of(report)
    kind = claim_kind(report)
    obs = [as_float(v) for v in ev.get("observed") or []]
    if kind == "order":
        if isinstance(fig.get("rate"), list) and len(fig["rate"]) == len(obs):
            rate = [as_float(v) for v in fig["rate"]]
            if fig.get("log10"):
                out: list[float | None] = []
                for o, r in zip(obs, rate, strict=True):
                    if o is None or r is None or not math.isfinite(o - r):
                        out.append(None)
                    else:
                        out.append(math.exp(min((o - r) * math.log(10.0), 709.0)))
                return out
            return [_div(o, r) for o, r in zip(obs, rate, strict=True)]
        scale = as_float(ev.get("worst_ratio"))
        scale = scale if scale and math.isfinite(scale) else 1.0
        return [None if r is None else r * scale for r in ratios(ev)]
    if kind == "identity" and isinstance(fig.get("residual"), list) and len(fig["residual"]) == len(obs):
        tol = fig.get("tolerance") or []
        return [_div(as_float(e), as_float(t)) if not (as_float(e) == 0 and as_float(t) == 0) else 0.0
                for e, t in zip(fig["residual"], tol, strict=False)]
    return ratios(ev)


def judged(report: dict) -> list[bool]:
    """Whether each checkpoint is one the rule judges (from the figure's ``judged_from``; all when unknown)."""
    ev = report["evidence"]
    ts = [as_float(v) for v in ev.get("t") or []]
    start = as_float(figure_of(report).get("judged_from"))
    if start is None:
        return [True] * len(ts)
    return [t is not None and t >= start and (claim_kind(report) != "order" or t > 0) for t in ts]


def claimed_note(report: dict) -> str:
    """How the claimed curve on the plot and in the checkpoint table was made, in one line."""
    claim, ev, fig = report["claim"], report["evidence"], figure_of(report)
    kind, var = claim_kind(report), variable_symbol(report)
    rate = claim.get("rate") or "1"
    if kind == "order":
        if fig.get("scaled_by", "worst ratio") == "none" or not ev.get("claimed"):
            return f"the claimed rate {expr_text(rate)}, unscaled"
        scale = fmt_num(fig.get("scale", ev.get("worst_ratio")), 4)
        return (f"the claimed rate {expr_text(rate)} × {scale}: scaled by the worst ratio so that it meets the "
                f"observed curve at {var} = {fmt_t(ev.get('t_worst'))} (an order claim has no constant); the ratio "
                "metric / rate is what the rule judges")
    if kind == "bound":
        return "the claimed bound " + bound_text(report)
    if kind == "probability" and fig.get("threshold") is not None:
        return f"the threshold {fmt_num(fig['threshold'], 4)}: a draw succeeds when its value is at most that"
    if kind == "identity":
        return "the right-hand side; the identity holds where |lhs − rhs| <= atol + rtol |rhs|"
    return "the claimed curve"


def comparison_of(report: dict) -> dict | None:
    """A comparison's data: ``steps`` per method, ``at`` (the variable per paired sample), ``groups``, ``pairs``
    (a, b, wins, decided, needed, verdict), ``target``, ``horizon``, ``strict``, ``fraction``, ``exact``. From the
    figure, or for an older report from the rule's per-pair steps (its parts' names, "A vs B")."""
    if claim_kind(report) != "comparison":
        return None
    fig = figure_of(report)
    if isinstance(fig.get("steps"), dict) and fig.get("pairs"):
        out = dict(fig)
        out["steps"] = {m: [as_float(v) for v in vs] for m, vs in fig["steps"].items()}
        return out
    rule = report["evidence"].get("extra", {}).get("rule")
    if not isinstance(rule, dict):
        return None
    per = {"": rule} if "steps_a" in rule else {k: v for k, v in (rule.get("parts") or {}).items()
                                                 if isinstance(v, dict) and "steps_a" in v}
    steps: dict[str, list[float | None]] = {}
    pairs = []
    for name, prm in per.items():
        a, _, b = name.partition(" vs ")
        a, b = (a or "A"), (b or "B")
        steps.setdefault(a, [as_float(v) for v in prm["steps_a"]])
        steps.setdefault(b, [as_float(v) for v in prm["steps_b"]])
        r = prm.get("rule", {})
        decided = int(prm.get("decided", len(prm["steps_a"])))
        pairs.append({"a": a, "b": b, "wins": prm.get("wins"), "decided": decided,
                      "needed": math.ceil(float(r.get("fraction", 1.0)) * decided - 1e-12), "verdict": "?"})
    if not pairs:
        return None
    k = len(next(iter(steps.values())))
    first = rule.get("rule", {}) if "steps_a" in rule else next(iter(per.values())).get("rule", {})
    return {"steps": steps, "at": list(range(1, k + 1)), "pairs": pairs, "target": "the target", "horizon": None,
            "strict": bool(first.get("strict", True)), "fraction": float(first.get("fraction", 1.0)),
            "exact": bool(first.get("exact", False))}


def steps_ratio(a: float | None, b: float | None) -> float | None:
    """The comparison rule's steps ratio A / B of one sample (``verify.stat_checks.check_comparison``)."""
    if a is None or b is None:
        return None
    if math.isfinite(a) and math.isfinite(b):
        return a / max(b, 1.0)
    return 0.0 if math.isfinite(a) else math.inf


def decided_mask(comp: dict, a: str, b: str) -> list[bool]:
    """The samples the rule decides for pair (a, b): not both unreached, and (strict, checkpoints coarser than one
    step) not a tie at one checkpoint (``verify.kinds``' comparison rule)."""
    out = []
    for x, y in zip(comp["steps"][a], comp["steps"][b], strict=True):
        if x is None or y is None:
            out.append(False)
            continue
        neither = not math.isfinite(x) and not math.isfinite(y)
        tie = x == y and math.isfinite(x) and comp.get("strict", True) and not comp.get("exact", False)
        out.append(not (neither or tie))
    return out


def expr_text(expr: Any) -> str:
    """A sympy expression as recorded, with ``**`` written ``^``."""
    return "" if expr is None else str(expr).replace("**", "^")


def worst_note(report: dict) -> str:
    """What ``evidence.worst_ratio`` is for this report's kind, and where it occurs, in one line."""
    ev, fig, kind = report["evidence"], figure_of(report), claim_kind(report)
    sym = variable_symbol(report)
    at = f" at {sym} = {fmt_t(ev.get('t_worst'))}" if ev.get("t_worst") is not None else ""
    if kind == "order":
        start = fig.get("judged_from")
        where = f" over the judged checkpoints ({sym} >= {fmt_t(start)})" if start is not None else ""
        return f"the largest metric / rate{where}{at}"
    if kind == "bound":
        rule = ev.get("extra", {}).get("rule", {})
        if isinstance(rule, dict) and "excess" in rule:
            return (f"metric / bound where the excess metric − bound is largest{at} (excess "
                    f"{fmt_num(rule.get('excess'), 4)}, the run's error bound there "
                    f"{fmt_num(rule.get('error_bound'), 3)}); the ratio may be larger elsewhere")
        return f"metric / bound{at}"
    if kind == "comparison":
        return ("the largest steps ratio A / B over the decided samples (A must reach the target first); null when "
                "it is not finite (A did not reach the target)")
    if kind == "identity":
        return f"the largest |lhs − rhs| / tolerance{at}"
    if kind == "probability":
        if fig.get("threshold") is not None:
            return f"the largest sample / threshold{at}"
        return "the failure rate over the allowed one, (1 − estimate) / delta"
    return f"the largest observed / claimed{at}"


def bound_text(report: dict) -> str:
    """A bound claim's curve: ``(constant) × rate``, with the constant's value on the instance when it has one."""
    claim, fig = report["claim"], figure_of(report)
    const = expr_text(fig.get("constant") or claim.get("constant") or "?")
    rate = expr_text(claim.get("rate") or "1")
    body = const if rate == "1" else f"({const}) × {rate}"
    value = fig.get("constant_value")
    if value is not None and fmt_num(value, 4) != const:
        body += f", constant = {fmt_num(value, 4)}"
    return body
