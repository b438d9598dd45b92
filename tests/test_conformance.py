"""The conformance suite: every registered theorem module (in-tree and installed plugins) and the template run it,
and every check is shown to fail on a module broken in exactly the way it looks for."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import strategies as st

from theorems import template
from verify import conformance as cf
from verify.registry import modules
from verify.theory import GradientSpec

MODULES = [*modules().values(), template.MODULE]

# Known conformance failures of in-tree modules, as {module key: {check name: reason}}. Strict: a declared failure
# that starts passing fails the test too, so an entry cannot go stale. There are none: every pair must pass.
KNOWN: dict[str, dict[str, str]] = {}


@cf.parametrize_with_checks(MODULES, expected_failures=KNOWN, strict=True)
def test_conformance(module, check):  # type: ignore[no-untyped-def]
    check(module)


# ---------------------------------------------------------------------------------------------- each check can fail
CID = "template.ngd-direction"
M = template.MODULE


def _with_claim(**changes: object) -> object:
    c = dataclasses.replace(M.claims[CID], **changes)
    return dataclasses.replace(M, claims={CID: c})


def test_missing_provenance_fails() -> None:
    with pytest.raises(AssertionError, match="provenance"):
        cf.check_provenance(_with_claim(provenance=None))  # type: ignore[arg-type]
    bad_a = dataclasses.replace(M.assumptions["score_gap"], provenance="seed")
    with pytest.raises(AssertionError, match="assumption score_gap"):
        cf.check_provenance(dataclasses.replace(M, assumptions={**M.assumptions, "score_gap": bad_a}))


def test_missing_docs_metadata_fails() -> None:
    with pytest.raises(AssertionError, match="summary"):
        cf.check_docs_metadata(dataclasses.replace(M, summary="  "))
    with pytest.raises(AssertionError, match="statement"):
        cf.check_docs_metadata(_with_claim(statement=""))  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="paper"):
        cf.check_docs_metadata(_with_claim(paper="OTHER"))  # type: ignore[arg-type]


def test_malformed_claims_fail() -> None:
    with pytest.raises(AssertionError, match="unknown assumption"):
        cf.check_claims_well_formed(_with_claim(assumptions=("no_such",)))  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="sympy rate"):
        cf.check_claims_well_formed(_with_claim(kind="order"))  # type: ignore[arg-type]


def test_meets_strategy_that_does_not_meet_fails() -> None:
    bad = dataclasses.replace(M, meets=lambda cid: template.small_gap_instances())
    with pytest.raises(AssertionError, match="does not meet score_gap"):
        cf.check_meets_strategies(bad)


def test_break_strategy_that_does_not_break_fails() -> None:
    bad = dataclasses.replace(M, breaks=lambda cid, aid: template.near_orthogonal_instances())
    with pytest.raises(AssertionError, match="does not break it"):
        cf.check_break_strategies(bad)
    wrong = dataclasses.replace(M, breaks=lambda cid, aid: template.small_gap_instances()
                                if aid == "near_orthogonal" else M.breaks(cid, aid))
    with pytest.raises(AssertionError, match="near_orthogonal"):
        cf.check_break_strategies(wrong)
    none = dataclasses.replace(M, breaks=lambda cid, aid: None)
    with pytest.raises(AssertionError, match="implied_by"):
        cf.check_break_strategies(none)


def test_lossy_round_trip_fails() -> None:
    def lossy(obj: dict) -> object:
        return M.load_instance({**obj, "W0": None})  # forgets the initialization

    bad = dataclasses.replace(M, meets=lambda cid: template.near_orthogonal_instances().filter(
        lambda i: bool(np.any(i.W0))), model=dataclasses.replace(M.model, load_instance=lossy))
    with pytest.raises(AssertionError, match="differs"):
        cf.check_instance_round_trip(bad)


def test_wrong_gradient_fails_and_right_one_passes() -> None:
    g = M.gradient
    assert g is not None
    cf.check_gradient(M)
    for wrong in (lambda i, W: g.grad(i, W).T,  # a transpose
                  lambda i, W: g.grad(i, W) * (1 + 1e-4),  # off by 0.01 %
                  lambda i, W: g.grad(i, W) - g.grad(i, i.W0)):  # a missing term
        with pytest.raises(AssertionError, match="finite differences"):
            cf.check_gradient(M, dataclasses.replace(g, grad=wrong))


def test_flat_loss_is_not_accepted_as_evidence() -> None:
    """A loss that is flat to rounding cannot confirm any gradient: the check refuses instead of passing."""
    flat = GradientSpec(point=lambda i, rng: np.zeros(3), loss=lambda i, th: 1.0, grad=lambda i, th: np.zeros(3))
    with pytest.raises(AssertionError, match="flat"):
        cf.check_gradient(M, flat)


def test_no_gradient_is_a_skip_with_reason() -> None:
    with pytest.raises(cf.ConformanceSkip, match="declares no gradient"):
        cf.check_gradient(dataclasses.replace(M, model=dataclasses.replace(M.model, gradient=None)))


def test_run_checks_and_expected_failures() -> None:
    bad = dataclasses.replace(M, summary="", meets=lambda cid: st.nothing())
    res = {r.check: r for r in cf.run_checks(bad)}
    assert res["check_docs_metadata"].outcome == "failed"
    assert res["check_meets_strategies"].outcome == "failed"
    assert res["check_provenance"].outcome == "passed"
    mark = cf.parametrize_with_checks([bad], expected_failures={"template": {"check_docs_metadata": "known"}})
    params = {p.id: p for p in mark.args[1]}
    xf = params["template-check_docs_metadata"].marks
    assert xf and xf[0].kwargs == {"strict": True, "reason": "known"}
    assert not params["template-check_provenance"].marks


def test_static_problems_for_the_registry() -> None:
    assert cf.static_problems(M) is None
    assert "not a TheoremModule" in (cf.static_problems(object()) or "")
    assert "provenance" in (cf.static_problems(_with_claim(provenance=None)) or "")  # type: ignore[arg-type]


def test_docs_pages_are_generated_from_module_data() -> None:
    """docs/gen_pages.py (the mkdocs hook) writes a page per module with every claim, assumption and provenance."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs" / "gen_pages.py"
    spec = importlib.util.spec_from_file_location("gen_pages", path)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    pages = gen.pages()
    page = pages["modules/template.md"]
    for c in M.claims.values():
        assert f"### `{c.id}`" in page and c.provenance.label() in page and c.statement in page
    for a in M.assumptions.values():
        assert f"| `{a.id}` |" in page and a.provenance.label() in page
    assert "modules/vdt24.md" in pages and "[vdt24](vdt24.md)" in pages["modules/index.md"]
    ref = gen.cli_reference()
    assert "### `verify show`" in ref and "--html" in ref and "--quiet" in ref


# ---------------------------------------------------------------------------------------------- one profile table
def test_conformance_counts_come_from_the_profile_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from verify.errors import VerifyInputError
    from verify.profiles import PROFILES

    monkeypatch.delenv("VERIFY_CONFORMANCE_EXAMPLES", raising=False)
    for name, p in PROFILES.items():
        monkeypatch.setenv("HYPOTHESIS_PROFILE", name)
        assert cf.n_examples() == p.conformance_examples
    monkeypatch.delenv("HYPOTHESIS_PROFILE")
    assert cf.n_examples() == PROFILES["quick"].conformance_examples
    monkeypatch.setenv("VERIFY_CONFORMANCE_EXAMPLES", "7")
    assert cf.n_examples() == 7 and cf.n_examples(4) == 4
    monkeypatch.delenv("VERIFY_CONFORMANCE_EXAMPLES")
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "thorogh")
    with pytest.raises(VerifyInputError, match="thorogh"):
        cf.n_examples()


def test_hypothesis_profiles_are_registered_from_the_table() -> None:
    from hypothesis import Phase, settings

    from verify.profiles import PROFILES, register_hypothesis_profiles

    register_hypothesis_profiles()
    for name, p in PROFILES.items():
        s = settings.get_profile(name)
        assert s.max_examples == p.property_examples, name
        assert s.derandomize == p.derandomize and s.database is None and s.deadline is None, name
        assert (Phase.shrink in s.phases) == p.shrink, name


def test_examples_reach_the_checks_that_draw() -> None:
    """``examples`` goes to every check that draws instances (and only to those), and a drawing check then draws
    that many instances per strategy."""
    seen: list[object] = []

    def drawing(module: object, examples: int | None = None) -> None:
        seen.append(examples)

    def static(module: object) -> None:
        seen.append("static")

    res = cf.run_checks(M, checks=[drawing, static], examples=7)
    assert seen == [7, "static"] and [r.outcome for r in res] == ["passed", "passed"]
    (param,) = cf.parametrize_with_checks([M], checks=[drawing], examples=4).args[1]
    assert param.id == "template-drawing"
    param.values[1](param.values[0])
    assert seen[-1] == 4

    drawn: list[int] = []
    counted = dataclasses.replace(M, meets=lambda cid: template.near_orthogonal_instances().map(
        lambda i: drawn.append(1) or i))
    assert [r.outcome for r in cf.run_checks(counted, checks=[cf.check_meets_strategies], examples=3)] == ["passed"]
    assert len(drawn) == 3 * len(M.claims)


def test_the_profiles_page_shows_the_table() -> None:
    """docs/profiles.md has one row per Profile field, with each profile's value (so the page cannot go stale)."""
    import re
    from pathlib import Path

    from verify.profiles import PROFILES, Profile

    text = (Path(__file__).resolve().parents[1] / "docs" / "profiles.md").read_text()
    assert "| field | quick | ci | thorough |" in text
    rows = {m.group(1): [c.strip() for c in m.group(2).split("|")]
            for m in re.finditer(r"^\| `(\w+)` \|(.*)\|$", text, re.M)}
    fields = [f.name for f in dataclasses.fields(Profile) if f.name != "name"]
    assert sorted(rows) == sorted(fields)
    for f in fields:
        assert rows[f][:3] == [str(getattr(PROFILES[n], f)).lower() for n in ("quick", "ci", "thorough")], f
