"""The documentation: module docstrings follow the schema, pages are generated from them, math becomes MathML at
build time, the built site needs no network, and nothing in the repository points outside it.

The site build (``test_site_builds_offline``) needs the ``docs`` extra (mkdocs, mkdocs-material, latex2mathml)
and skips with the reason when it is absent.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "verify-example-plugin" / "src" / "verify_example_plugin" / "__init__.py"


def _gen():
    spec = importlib.util.spec_from_file_location("gen_pages", ROOT / "docs" / "gen_pages.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


GEN = _gen()

GOOD = r'''KEY: a title.

Intro.

Problem
-------
The model $x^2$.

Assumptions
-----------
- ``a1``: something [recon].

Method
------
GD.

Guarantee
---------
- ``k.c1`` (limit): it converges [seed, abs: where].

Strategies
----------
Optional.

References
----------
- A paper.
'''


class _Fake:
    claims = {"k.c1": None}
    assumptions = {"a1": None}


# ----------------------------------------------------------------------------------------------- the schema
def test_every_registered_module_docstring_follows_the_schema() -> None:
    """Every registered theorem module (the toolkit's own, installed plugins, the template) has the sections
    Problem, Assumptions, Method, Guarantee (with provenance tags for every claim) and References."""
    assert GEN.registered_docstring_problems() == {}


def test_example_plugin_docstring_follows_the_schema() -> None:
    """Read from its file, so that it is checked whether or not the plugin is installed."""
    doc = ast.get_docstring(ast.parse(EXAMPLE.read_text()), clean=False)
    assert GEN.docstring_problems(doc) == []
    for cid in ("example.ngd-direction", "example.gd-fast"):
        assert f"``{cid}``" in (doc or "")


def test_schema_check_accepts_a_conforming_docstring() -> None:
    assert GEN.docstring_problems(GOOD, _Fake()) == []
    title, intro, sections = GEN.parse_docstring(GOOD)
    assert title == "KEY: a title." and intro == "Intro."
    assert [n for n, _ in sections] == ["Problem", "Assumptions", "Method", "Guarantee", "Strategies", "References"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.replace("Method\n------\nGD.\n\n", ""), "section 'Method' is missing"),
        (lambda d: d.replace("[seed, abs: where]", ""), "carries no provenance tag"),
        (lambda d: d.replace("[seed, abs: where]", "[paper]"), "carries no provenance tag"),
        (lambda d: d.replace("``k.c1``", "``k.other``"), "claim `k.c1` is not named in the Guarantee section"),
        (lambda d: d.replace("``a1``", "``a2``"), "assumption `a1` is not named in the Assumptions section"),
        (lambda d: d.replace("Problem\n-------\nThe model $x^2$.\n\n", "") + "\nProblem\n-------\nLate.\n",
         "sections out of order"),
        (lambda d: d.replace("Strategies\n----------\nOptional.\n\n", "") + "\nStrategies\n----------\nLate.\n",
         "'References' must be the last section"),
        (lambda d: "", "the module has no docstring"),
    ],
)
def test_schema_check_reports_what_is_missing(edit, expected) -> None:
    problems = GEN.docstring_problems(edit(GOOD), _Fake())
    assert any(expected in p for p in problems), problems


def test_guides_are_generated_from_docstring_and_data() -> None:
    """docs/theorems/<key>.md: the docstring's sections, and every claim and assumption from the module's data."""
    from theorems import vdt24

    pages = GEN.pages()
    for key in ("vdt24", "prior", "jta24", "gsb26", "template"):
        page = pages[f"theorems/{key}.md"]
        for name in GEN.SECTIONS:
            assert f"\n## {name}\n" in page, (key, name)
        assert f"(../modules/{key}.md)" in page
    page = pages["theorems/vdt24.md"]
    for c in vdt24.MODULE.claims.values():
        assert f"| `{c.id}` | {c.kind} |" in page and GEN._cell(c.provenance.label()) in page
    for a in vdt24.MODULE.assumptions.values():
        assert f"| `{a.id}` |" in page
    assert "$$L(W) = " in page  # TeX is left for the math step
    assert "## Numerics of the mirror step" in pages["theorems/jta24.md"]  # an anchor the catalogue links to
    assert "[guide](../theorems/vdt24.md)" in pages["modules/index.md"]


# ---------------------------------------------------------------------------------------------------- math
def test_tex_becomes_mathml_without_any_url() -> None:
    pytest.importorskip("latex2mathml", reason="the docs extra (latex2mathml) is not installed")
    out = GEN.tex_to_mathml(r"\hat W_t \to \hat W_{mm}, \quad \|W\|_F \le \varepsilon", display=True)
    assert out.startswith('<math display="block">') and out.endswith("</math>")
    assert "<msub>" in out and "http" not in out
    assert '<annotation encoding="application/x-tex">' in out
    html = GEN.render_math('<p>a <span class="arithmatex">\\(x &lt; y\\)</span> b</p>')
    assert html.startswith('<p>a <math display="inline">') and "arithmatex" not in html
    assert "<mo>&#x0003C;</mo>" in html  # the escaped "<" reached the converter as "<"
    with pytest.raises(GEN.MathError, match=r"\\nosuchcommand"):
        GEN.tex_to_mathml(r"\nosuchcommand x")


# --------------------------------------------------------------------------------------------- the site
ASSET = re.compile(r"""<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""", re.I)
CDN = re.compile(r"mathjax|katex|polyfill\.io|googleapis|gstatic|jsdelivr|unpkg|cdnjs", re.I)


def test_site_builds_offline(tmp_path: Path) -> None:
    """mkdocs --strict (a page outside the nav, a broken link or a formula that cannot be converted fails it);
    the HTML loads nothing from the network and its formulas are MathML."""
    for mod in ("mkdocs", "material", "latex2mathml", "pymdownx"):
        pytest.importorskip(mod, reason=f"the docs extra ({mod}) is not installed")
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip("the mkdocs command is not installed")
    site = tmp_path / "site"
    proc = subprocess.run([mkdocs, "build", "--strict", "--quiet", "--site-dir", str(site)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        text = page.read_text()
        assert not ASSET.search(text), (page, ASSET.search(text))
        assert not CDN.search(text), (page, CDN.search(text))
        assert 'class="arithmatex"' not in text, page  # every formula was converted
    for rel in ("catalogue/index.html", "theorems/vdt24/index.html", "theorems/jta24/index.html"):
        text = (site / rel).read_text()
        assert text.count("<math") >= 5, rel
        assert "<msub>" in text
    for rel in ("performance/index.html", "theorems/gsb26/index.html", "modules/vdt24/index.html"):
        assert (site / rel).is_file(), rel
    assert list((site / "findings" / "reports").glob("*/index.html")), "the findings reports are pages"
    css = "\n".join(p.read_text() for p in (site / "assets").rglob("*.css"))
    assert not re.search(r"@import\s+url\(\s*['\"]?https?:", css)


# ----------------------------------------------------------------------------------- self-contained repo
OUTSIDE = ("THEOREMS" + ".md", "DESIGN" + ".md", "../" + "shared", "seeds" + "/")


def _repo_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=60).stdout.split()
        return [ROOT / f for f in out]
    except (OSError, subprocess.SubprocessError):
        skip = {".git", ".venv", ".ci-venv", "build", "site", ".tox", "reports", "node_modules"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]


def test_nothing_refers_to_a_file_outside_the_repository() -> None:
    """The catalogue and the design notes are pages under docs/; no file names a document that is not here."""
    hits = []
    for path in _repo_files():
        if path.suffix in {".png", ".gz", ".pyc", ".pkl", ".npz"} or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        hits += [f"{path.relative_to(ROOT)}: {s}" for s in OUTSIDE if s in text]
    assert hits == []
    assert (ROOT / "docs" / "catalogue.md").is_file() and (ROOT / "docs" / "design.md").is_file()
