"""A conformance suite that any theorem module runs against itself (in the style of scikit-learn's
``parametrize_with_checks``).

In a plugin's test file::

    from verify.conformance import parametrize_with_checks
    from my_plugin import MODULE

    @parametrize_with_checks([MODULE])
    def test_conformance(module, check):
        check(module)

Each check is a plain function ``check(module) -> None`` that raises ``AssertionError`` with a one-line reason
when the module does not conform:

- ``check_docs_metadata``: the reference (key, authors, title), the summary, and every claim's and assumption's
  title and statement are present; every claim names the module's paper key.
- ``check_provenance``: every claim and every assumption carries a :class:`~verify.provenance.Provenance` with
  at least one known tag (docs/catalogue.md, "Provenance tags").
- ``check_claims_well_formed``: known kind, known assumptions, a callable ``evaluate``, a sympy rate for
  ``order``/``bound`` claims, a constant for ``bound`` claims.
- ``check_meets_strategies``: instances drawn from ``meets(claim)`` meet every assumption of the claim (verdict
  ``holds``, slack >= 0).
- ``check_break_strategies``: for every assumption of every claim, ``breaks(claim, assumption)`` draws instances
  on which exactly that assumption fails (verdict ``fails``, slack < 0) and the claim's others hold; where it
  is None, the assumption must declare ``implied_by`` (why it cannot be broken alone).
- ``check_instance_round_trip``: instance -> JSON text -> ``load_instance`` gives the same instance and the
  same JSON, and the JSON names the module's ``instance_schema``.
- ``check_reconstructions``: every [recon] parameter that a claim's provenance note, or the note of one of its
  assumptions, names ("X is [recon]", "X and Y are [recon] parameters", "X is a parameter") has a
  :class:`~verify.theory.Reconstruction` in the claim's ``reconstructions`` whose name ends the phrase (the
  "cone's mu" is ``mu``); each declares a statement, JSON values and a callable ``apply``; and on instances drawn
  from ``meets(claim)``, ``apply`` at the default gives the same claim parameters and the same instance JSON.
- ``check_gradient``: if the module declares a :class:`~verify.theory.GradientSpec`, its closed-form gradient
  matches Richardson-extrapolated central differences of its loss (skipped, with the reason, when the module
  declares none).

The number of instances drawn per strategy is the ``conformance_examples`` of the profile that
``HYPOTHESIS_PROFILE`` names (:data:`verify.profiles.PROFILES`; docs/profiles.md), or
``VERIFY_CONFORMANCE_EXAMPLES``; a check's ``examples`` argument (and the ``examples`` of
:func:`parametrize_with_checks` and :func:`run_checks`) sets it for one call, as the property suites do with the
profile's ``property_examples``. Draws are always derandomized, so a failure reproduces. :func:`run_checks` runs
the checks outside pytest and returns the results.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from verify.instance import dumps
from verify.profiles import active_profile, seed_only_search
from verify.provenance import TAGS, Provenance
from verify.theory import CLAIM_KINDS, FAILS, HOLDS, Assumption, GradientSpec, TheoremModule

# Gradient check (see check_gradient): step, directions, tolerance.
FD_STEP = 1e-3  # relative to max(1, ||theta||); Richardson's O(h^4) truncation is then ~1e-12 * |L^(5)|
FD_DIRECTIONS = 3
# |R(h) - <grad, V>| <= FD_RTOL * ||grad|| + FD_ROUND * eps * max|L| / h. FD_RTOL = 1e-6 leaves six orders of
# magnitude over the truncation error for a fifth derivative up to ~1e6 * ||grad||, while a wrong gradient (a
# missing term, a sign, a transpose, a factor) is off by O(||grad||). FD_ROUND bounds the rounding of the
# Richardson combination (4 D(h/2) - D(h))/3 of central differences: each D carries eps*|L|/h, the
# combination at most (4*2 + 1)/3 = 3 times that; 10 leaves room for the rounding of L itself.
FD_RTOL = 1e-6
FD_ROUND = 10.0
EPS = float(np.finfo(np.float64).eps)


class ConformanceSkip(Exception):
    """A check that does not apply to this module (pytest reports it as skipped, with the reason)."""


def n_examples(examples: int | None = None) -> int:
    """Instances per strategy: ``examples`` if given, else ``VERIFY_CONFORMANCE_EXAMPLES``, else the active
    profile's ``conformance_examples``."""
    if examples is not None:
        return max(1, int(examples))
    env = os.environ.get("VERIFY_CONFORMANCE_EXAMPLES")
    if env:
        return max(1, int(env))
    return active_profile().conformance_examples


_DRAWN: dict[tuple[int, str, int], tuple[Any, list[Any]]] = {}


def draw_examples(strategy: Any, n: int) -> list[Any]:
    """Up to ``n`` instances from a hypothesis strategy, deterministically (derandomized, no database).

    Draws of a ``@st.composite`` strategy are memoized by the composite's function (its identity is fixed per
    definition) and the repr of its arguments, so claims that share a strategy, and the checks that reuse a
    claim's ``meets``, draw once per process. Anything else (a filtered or mapped strategy, whose repr may not
    show its lambda) is drawn afresh every time."""
    fn = getattr(strategy, "function", None)
    text = repr(strategy)
    if fn is None or "<unknown>" in text or "lambda" in text:
        return _draw(strategy, n)
    memo = (id(fn), text, n)
    if memo not in _DRAWN:
        _DRAWN[memo] = (fn, _draw(strategy, n))  # keeping fn alive keeps its id unique
    return list(_DRAWN[memo][1])


def _draw(strategy: Any, n: int) -> list[Any]:
    out: list[Any] = []

    @given(strategy)
    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def collect(x: Any) -> None:
        out.append(x)

    try:
        with seed_only_search():
            collect()
    except Unsatisfiable:
        return out
    return out[:n]


# ---------------------------------------------------------------------------------------------- checks
def check_docs_metadata(module: TheoremModule) -> None:
    """The data the documentation pages are generated from is present."""
    ref = module.reference
    missing = [k for k in ("key", "authors", "title") if not str(getattr(ref, k, "") or "").strip()]
    assert not missing, f"module {module.key}: reference lacks {missing}"
    assert str(module.summary).strip(), f"module {module.key}: empty summary"
    assert str(module.instance_schema).strip(), f"module {module.key}: empty instance_schema"
    assert module.claims, f"module {module.key}: no claims"
    for cid, c in module.claims.items():
        assert cid == c.id, f"claim registered as {cid!r} has id {c.id!r}"
        for field in ("title", "statement", "metric", "method"):
            assert str(getattr(c, field, "") or "").strip(), f"claim {cid}: empty {field}"
        assert c.paper == ref.key, f"claim {cid}: paper {c.paper!r} is not the module's reference key {ref.key!r}"
    for aid, a in module.assumptions.items():
        assert aid == a.id, f"assumption registered as {aid!r} has id {a.id!r}"
        for field in ("title", "statement"):
            assert str(getattr(a, field, "") or "").strip(), f"assumption {aid}: empty {field}"


def _check_prov(p: Any, where: str) -> None:
    assert isinstance(p, Provenance), f"{where}: provenance is {type(p).__name__}, not a Provenance"
    assert p.tags, f"{where}: provenance has no tag"
    bad = [t for t in p.tags if t not in TAGS]
    assert not bad, f"{where}: unknown provenance tag(s) {bad}; expected some of {TAGS}"


def check_provenance(module: TheoremModule) -> None:
    """Every claim and every assumption carries its provenance tag (docs/catalogue.md)."""
    for cid, c in module.claims.items():
        _check_prov(c.provenance, f"claim {cid}")
    for aid, a in module.assumptions.items():
        _check_prov(a.provenance, f"assumption {aid}")


def check_claims_well_formed(module: TheoremModule) -> None:
    for cid, c in module.claims.items():
        assert c.kind in CLAIM_KINDS, f"claim {cid}: unknown kind {c.kind!r}"
        unknown = [a for a in c.assumptions if a not in module.assumptions]
        assert not unknown, f"claim {cid}: unknown assumption(s) {unknown}"
        assert callable(c.evaluate), f"claim {cid}: evaluate is not callable"
        if c.kind in ("order", "bound"):
            assert isinstance(c.rate, sympy.Expr), f"claim {cid}: a {c.kind} claim needs a sympy rate in t"
            free = {s.name for s in c.rate.free_symbols}
            assert "t" in free, f"claim {cid}: rate {c.rate} does not depend on t"
        if c.kind == "bound":
            assert isinstance(c.constant, sympy.Expr), f"claim {cid}: a bound claim needs a sympy constant"


def _claim_rows(module: TheoremModule, claim_id: str, instance: Any) -> dict[str, Any]:
    cache: dict = {}
    return {aid: module.assumptions[aid].check(instance, cache) for aid in module.claims[claim_id].assumptions}


def check_meets_strategies(module: TheoremModule, examples: int | None = None) -> None:
    """meets(claim) really meets every assumption of the claim."""
    for cid in module.claims:
        insts = draw_examples(module.meets(cid), n_examples(examples))
        assert insts, f"meets({cid!r}) produced no instance"
        for k, inst in enumerate(insts):
            for aid, r in _claim_rows(module, cid, inst).items():
                assert r.verdict == HOLDS and r.slack >= 0, (
                    f"meets({cid!r}) instance {k} does not meet {aid}: {r.verdict}, slack {r.slack} ({r.detail})")


def check_break_strategies(module: TheoremModule, examples: int | None = None) -> None:
    """breaks(claim, a) really breaks a (slack < 0) and keeps the claim's other assumptions."""
    for cid, c in module.claims.items():
        for aid in c.assumptions:
            strat = module.breaks(cid, aid)
            a: Assumption = module.assumptions[aid]
            if strat is None:
                assert a.implied_by, f"breaks({cid!r}, {aid!r}) is None but {aid} declares no implied_by reason"
                continue
            insts = draw_examples(strat, n_examples(examples))
            assert insts, f"breaks({cid!r}, {aid!r}) produced no instance"
            for k, inst in enumerate(insts):
                rows = _claim_rows(module, cid, inst)
                r = rows[aid]
                assert r.verdict == FAILS and r.slack < 0, (
                    f"breaks({cid!r}, {aid!r}) instance {k} does not break it: {r.verdict}, slack {r.slack}")
                others = {o: s.verdict for o, s in rows.items() if o != aid and s.verdict != HOLDS}
                assert not others, f"breaks({cid!r}, {aid!r}) instance {k} also breaks {others}"


def check_instance_round_trip(module: TheoremModule, examples: int | None = None) -> None:
    """to_json -> JSON text -> load_instance is exact (same instance, same JSON text)."""
    cid = next(iter(module.claims))
    insts = draw_examples(module.meets(cid), n_examples(examples))
    assert insts, f"meets({cid!r}) produced no instance"
    for k, inst in enumerate(insts):
        obj = inst.to_json()
        assert isinstance(obj, dict), f"instance {k}: to_json() gave {type(obj).__name__}, not a dict"
        assert obj.get("schema") == module.instance_schema, (
            f"instance {k}: schema {obj.get('schema')!r} is not the module's {module.instance_schema!r}")
        text = dumps(obj)
        back = module.load_instance(json.loads(text))
        assert dumps(back.to_json()) == text, f"instance {k}: JSON differs after a round trip"
        same = back == inst
        assert same is True or bool(np.all(same)), f"instance {k}: the loaded instance differs from the original"


_RECON_PHRASE = re.compile(r"([^;:.()\[\]]+?)\s+(?:is|are)\s+(?:an?\s+)?(?:\[recon\]|parameters?\b)", re.I)


def recon_names(note: str) -> list[str]:
    """The [recon] parameters a provenance note names: "mu, R and eta are [recon] parameters" -> mu, R, eta."""
    out = []
    for m in _RECON_PHRASE.finditer(note or ""):
        out += [p.strip() for p in re.split(r",\s*|\s+and\s+", m.group(1).strip()) if p.strip()]
    return out


def names_reconstruction(phrase: str, name: str) -> bool:
    """The reconstruction's name (its words, case-insensitive) ends the phrase: "the cone's mu" names ``mu``."""
    pw, nw = phrase.lower().split(), name.lower().split()
    return bool(nw) and len(nw) <= len(pw) and pw[-len(nw):] == nw


def check_reconstructions(module: TheoremModule, examples: int | None = None) -> None:
    """Every named [recon] parameter of a claim (its own note and its assumptions') declares its readings."""
    for cid, c in module.claims.items():
        notes = [("claim", c.provenance.note)] + [(f"assumption {a}", module.assumptions[a].provenance.note)
                                                  for a in c.assumptions if a in module.assumptions]
        for where, note in notes:
            for phrase in recon_names(note):
                assert any(names_reconstruction(phrase, r.name) for r in c.reconstructions), (
                    f"claim {cid}: the {where} provenance names the [recon] parameter {phrase!r}, but the claim "
                    f"declares no Reconstruction for it (declared: {[r.name for r in c.reconstructions]})")
        for r in c.reconstructions:
            assert str(r.name).strip() and str(r.statement).strip(), (
                f"claim {cid}: a reconstruction lacks a name or a statement")
            assert callable(r.apply), f"claim {cid}: reconstruction {r.name} has no callable apply"
            try:
                json.dumps(r.to_json())
            except (TypeError, ValueError) as exc:
                raise AssertionError(f"claim {cid}: reconstruction {r.name}'s values are not JSON: {exc}") from exc
        if not c.reconstructions:
            continue
        for k, inst in enumerate(draw_examples(module.meets(cid), n_examples(examples))):
            for r in c.reconstructions:
                pair = r.apply(c, inst, r.default)
                assert pair is not None, f"claim {cid}: {r.name} at its default rejects meets() instance {k}"
                c2, i2 = pair
                assert c2.params == c.params and c2.rate == c.rate, (
                    f"claim {cid}: {r.name} at its default changes the claim ({c2.params} vs {c.params})")
                assert dumps(i2.to_json()) == dumps(inst.to_json()), (
                    f"claim {cid}: {r.name} at its default changes meets() instance {k}")


def directional_fd(loss: Callable[[Any], float], theta: np.ndarray, V: np.ndarray, h: float) -> float:
    """Richardson-extrapolated central difference of ``loss`` at ``theta`` along ``V``:
    R = (4 D(h/2) - D(h)) / 3 with D(h) = (L(theta + hV) - L(theta - hV)) / (2h); R - <grad, V> = O(h^4)."""

    def D(s: float) -> float:
        return (float(loss(theta + s * V)) - float(loss(theta - s * V))) / (2 * s)

    return (4 * D(h / 2) - D(h)) / 3


@dataclass(frozen=True)
class GradientResult:
    worst_error: float
    tolerance: float
    informative: bool


def compare_gradient(spec: GradientSpec, instance: Any, rng: np.random.Generator,
                     directions: int = FD_DIRECTIONS) -> GradientResult:
    """Compare ``spec.grad`` with finite differences of ``spec.loss`` at ``spec.point(instance, rng)``.

    ``informative`` is False when ||grad|| * h is below the rounding level of L, i.e. the loss is too flat
    there for finite differences to say anything (the check then asks for another point)."""
    theta = np.asarray(spec.point(instance, rng), dtype=float)
    G = np.asarray(spec.grad(instance, theta), dtype=float)
    assert G.shape == theta.shape, f"gradient shape {G.shape} differs from the parameter shape {theta.shape}"
    assert np.all(np.isfinite(G)), "gradient has non-finite entries"
    h = FD_STEP * max(1.0, float(np.linalg.norm(theta)))
    gnorm = float(np.linalg.norm(G))
    worst, tol = 0.0, 0.0
    for _ in range(directions):
        V = rng.normal(size=theta.shape)
        V /= np.linalg.norm(V)
        losses = [abs(float(spec.loss(instance, theta + s * V))) for s in (-h, h)]
        tol = FD_RTOL * gnorm + FD_ROUND * EPS * max(losses + [abs(float(spec.loss(instance, theta)))]) / h
        fd = directional_fd(lambda th: spec.loss(instance, th), theta, V, h)
        err = abs(fd - float(np.sum(G * V)))
        worst = max(worst, err / tol if tol > 0 else math.inf)
    informative = gnorm * h > 100 * FD_ROUND * EPS * max(1.0, abs(float(spec.loss(instance, theta))))
    return GradientResult(worst, tol, informative)


def check_gradient(module: TheoremModule, spec: GradientSpec | None = None,
                   examples: int | None = None) -> None:
    """The declared gradient matches finite differences of the declared loss (worst error / tolerance <= 1)."""
    spec = spec or module.gradient
    if spec is None:
        raise ConformanceSkip(f"module {module.key} declares no gradient (TheoremModule.gradient is None)")
    cid = next(iter(module.claims))
    insts = draw_examples(module.meets(cid), n_examples(examples))
    assert insts, f"meets({cid!r}) produced no instance"
    rng = np.random.default_rng(20240205)
    informative = 0
    for k, inst in enumerate(insts):
        res = compare_gradient(spec, inst, rng)
        assert res.worst_error <= 1.0, (
            f"{spec.name} gradient disagrees with finite differences on instance {k}: error is "
            f"{res.worst_error:.3g} x the tolerance {res.tolerance:.3g}")
        informative += res.informative
    assert informative, f"{spec.name}: the loss is flat to rounding at every point tried; pick points where it is not"


STATIC_CHECKS: tuple[Callable[[TheoremModule], None], ...] = (
    check_docs_metadata, check_provenance, check_claims_well_formed,
)


def static_problems(module: Any) -> str | None:
    """The first failure of the cheap checks (no instance drawn), as one line, or None; the registry runs
    these on every plugin and skips one that fails."""
    if not isinstance(module, TheoremModule):
        return f"{type(module).__name__} is not a TheoremModule"
    for chk in STATIC_CHECKS:
        try:
            chk(module)
        except AssertionError as exc:
            return f"{chk.__name__}: {exc}"
        except Exception as exc:  # a malformed plugin can fail a check in any way
            return f"{chk.__name__}: {exc.__class__.__name__}: {exc}"
    return None


ALL_CHECKS: tuple[Callable[[TheoremModule], None], ...] = (
    check_docs_metadata, check_provenance, check_claims_well_formed, check_meets_strategies,
    check_break_strategies, check_instance_round_trip, check_reconstructions, check_gradient,
)


# ---------------------------------------------------------------------------------------------- drivers
STRATEGY_CHECKS: tuple[Callable[..., None], ...] = (check_meets_strategies, check_break_strategies)
"""The checks of a module's hypothesis strategies (what the property suites run at their larger budget)."""


def checks_for(module: TheoremModule) -> list[Callable[..., None]]:
    return list(ALL_CHECKS)


def takes_examples(chk: Callable[..., None]) -> bool:
    """Does the check draw instances (and so take an ``examples`` count)?"""
    try:
        return "examples" in inspect.signature(chk).parameters
    except (TypeError, ValueError):
        return False


def _bind(chk: Callable[..., None], examples: int | None) -> Callable[[TheoremModule], None]:
    """``chk`` with its instance count fixed to ``examples`` (unchanged when None or when it draws nothing)."""
    if examples is None or not takes_examples(chk):
        return chk
    return functools.wraps(chk)(functools.partial(chk, examples=examples))


@dataclass(frozen=True)
class CheckResult:
    module: str
    check: str
    outcome: str  # passed / failed / skipped
    message: str = ""


def run_checks(module: TheoremModule, *, checks: Iterable[Callable[..., None]] | None = None,
               examples: int | None = None) -> list[CheckResult]:
    """The checks (default: every check of :func:`checks_for`) on ``module``, outside pytest; ``examples``
    instances per strategy (default: :func:`n_examples`)."""
    out = []
    for chk in (checks_for(module) if checks is None else list(checks)):
        try:
            _bind(chk, examples)(module)
        except ConformanceSkip as exc:
            out.append(CheckResult(module.key, chk.__name__, "skipped", str(exc)))
        except AssertionError as exc:
            out.append(CheckResult(module.key, chk.__name__, "failed", str(exc)))
        else:
            out.append(CheckResult(module.key, chk.__name__, "passed"))
    return out


def _pytest_check(chk: Callable[..., None], examples: int | None = None) -> Callable[[TheoremModule], None]:
    """Wrap a check so that ConformanceSkip becomes pytest.skip (with the reason)."""
    import pytest

    bound = _bind(chk, examples)

    @functools.wraps(chk)
    def wrapped(module: TheoremModule) -> None:
        try:
            bound(module)
        except ConformanceSkip as exc:
            pytest.skip(str(exc))

    return wrapped


def parametrize_with_checks(modules: Iterable[TheoremModule], *,
                            checks: Iterable[Callable[..., None]] | None = None,
                            examples: int | None = None,
                            expected_failures: dict[str, dict[str, str]] | None = None,
                            strict: bool = True) -> Any:
    """A ``pytest.mark.parametrize("module, check", ...)`` over every (module, check) pair.

    ``checks`` narrows the checks (default: every check of :func:`checks_for`); ``examples`` sets the instances
    drawn per strategy (default: :func:`n_examples`, from the profile table). ``expected_failures`` maps a module
    key to ``{check name: reason}``; those pairs are marked ``xfail(strict=strict)``: with ``strict`` (the default)
    a declared failure that starts passing fails the test too, so the declaration cannot go stale.
    """
    import pytest

    expected = expected_failures or {}
    chosen = None if checks is None else list(checks)
    params = []
    for m in modules:
        for chk in (checks_for(m) if chosen is None else chosen):
            reason = expected.get(m.key, {}).get(chk.__name__)
            marks = [pytest.mark.xfail(strict=strict, reason=reason)] if reason else []
            params.append(pytest.param(m, _pytest_check(chk, examples), id=f"{m.key}-{chk.__name__}",
                                       marks=marks))
    return pytest.mark.parametrize(("module", "check"), params)
