"""MkDocs hook (``hooks:`` in mkdocs.yml): pages generated from the code, so the docs cannot drift from it.

- ``theorems/<key>.md``: one guide per in-tree theorem module (and the template), rendered from the module's
  docstring (its sections Problem, Assumptions, Method, Guarantee, References; see :data:`SECTIONS`) together with
  its data: the reference, and tables of the assumptions and claims with their provenance.
- ``modules/<key>.md``: every field of the module's data: reference, summary, assumptions (statement,
  provenance, ``implied_by``), claims (kind, statement, provenance, assumptions, method, metric, rate, constant,
  parameters), links to the guide and the findings page of the module.
- ``modules/index.md``: the list of modules.
- In ``cli.md`` the marker ``<!-- cli-reference -->`` becomes the ``--help`` of every ``verify`` command.
- Math: ``$...$`` and ``$$...$$`` (found by ``pymdownx.arithmatex``) become MathML when the site is built
  (:func:`render_math`, with ``latex2mathml``), so a page needs no script and no network to show a formula.
- The nav: entries ``modules/``, ``theorems/`` and ``findings/`` of mkdocs.yml are expanded into one entry per
  page (findings reports under ``findings/reports/`` in a sub-section).

:func:`docstring_problems` checks one docstring against the schema and :func:`registered_docstring_problems`
every registered module's (tests/test_docs.py runs it). Plugins installed in the environment are left out of
the site (only the toolkit's own entry points, :func:`own_specs`, and the template), so the site is the same
wherever it is built.
``python docs/gen_pages.py OUTDIR`` writes the generated pages to a folder instead.
"""

from __future__ import annotations

import html as _html
import importlib
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MARKER = "<!-- cli-reference -->"

# ------------------------------------------------------------------------------------------ docstring schema
#: The sections every theorem module's docstring has, in this order, each a heading underlined with dashes
#: (numpydoc style). Other sections (e.g. "Strategies", "Numerics", "Command line") may stand between
#: Guarantee and References.
SECTIONS = ("Problem", "Assumptions", "Method", "Guarantee", "References")
_HEADING = re.compile(r"^(?P<title>[A-Z][A-Za-z ,'-]*)\n-{3,}[ \t]*$", re.M)
_TAG = re.compile(r"\[([a-z]+(?:,\s*[a-z]+)*)(?::[^\]]*)?\]")


def parse_docstring(doc: str | None) -> tuple[str, str, list[tuple[str, str]]]:
    """``(title, intro, sections)`` of a module docstring: the first line, the text before the first heading and
    ``(heading, body)`` pairs in order. Headings are a line followed by a line of at least three dashes."""
    import inspect

    text = inspect.cleandoc(doc or "")
    heads = list(_HEADING.finditer(text))
    head_end = heads[0].start() if heads else len(text)
    first, _, intro = text[:head_end].partition("\n")
    sections = []
    for k, h in enumerate(heads):
        end = heads[k + 1].start() if k + 1 < len(heads) else len(text)
        sections.append((h.group("title").strip(), text[h.end():end].strip()))
    return first.strip(), intro.strip(), sections


def _tags(text: str) -> list[tuple[str, ...]]:
    from verify.provenance import TAGS

    found = []
    for m in _TAG.finditer(text):
        names = tuple(t.strip() for t in m.group(1).split(","))
        if all(t in TAGS for t in names):
            found.append(names)
    return found


def _items(body: str) -> list[str]:
    """The top-level list items of a section: a line starting with ``- `` and its indented continuation lines."""
    items: list[str] = []
    open_item = False
    for line in body.splitlines():
        if line.startswith("- "):
            items.append(line)
            open_item = True
        elif open_item and (line.startswith(" ") or not line.strip()):
            items[-1] += "\n" + line
        else:
            open_item = False
    return items


def docstring_problems(doc: str | None, module: Any = None) -> list[str]:
    """What a theorem module's docstring lacks under the schema, as sentences (empty when it conforms).

    - a first line (the module's title) and the sections of :data:`SECTIONS`, each present once, non-empty and in
      that order;
    - the Guarantee section carries provenance tags (``[seed]``, ``[abs]``, ``[prior]``, ``[derived]``,
      ``[recon]``, combined as ``[seed, abs: note]``).

    With ``module`` (its :class:`~verify.theory.TheoremModule`), also: every claim id of the module is named in
    the Guarantee section, in a list item that carries a provenance tag, and every assumption id is named in the
    Assumptions section.
    """
    title, _intro, sections = parse_docstring(doc)
    if not (doc or "").strip():
        return ["the module has no docstring"]
    problems = []
    if not title or title.endswith("-") or _HEADING.match(title):
        problems.append("the docstring's first line (the module's title) is missing")
    names = [n for n, _ in sections]
    for name in SECTIONS:
        if names.count(name) != 1:
            problems.append(f"section {name!r} " + ("is missing" if name not in names else "appears more than once"))
    present = [n for n in names if n in SECTIONS]
    if len(set(present)) == len(present) and present != [n for n in SECTIONS if n in present]:
        problems.append(f"sections out of order: {present}, expected {list(SECTIONS)}")
    if "References" in names and names[-1] != "References":
        problems.append(f"'References' must be the last section, found {names[-1]!r} after it")
    body = dict(sections)
    for name in SECTIONS:
        if name in body and not body[name].strip():
            problems.append(f"section {name!r} is empty")
    guarantee = body.get("Guarantee", "")
    if guarantee and not _tags(guarantee):
        problems.append("the Guarantee section carries no provenance tag ([seed], [abs], [prior], [derived], [recon])")
    if module is not None:
        items = _items(guarantee)
        for cid in getattr(module, "claims", {}):
            mine = [it for it in items if f"`{cid}`" in it]
            if not mine:
                problems.append(f"claim `{cid}` is not named in the Guarantee section")
            elif not any(_tags(it) for it in mine):
                problems.append(f"claim `{cid}`'s Guarantee item carries no provenance tag")
        for aid in getattr(module, "assumptions", {}):
            if f"`{aid}`" not in body.get("Assumptions", ""):
                problems.append(f"assumption `{aid}` is not named in the Assumptions section")
    return problems


def python_module(m: Any) -> Any:
    """The Python module that defines the theorem module ``m`` (the one whose ``MODULE`` it is)."""
    for mod in list(sys.modules.values()):
        if mod is not None and getattr(mod, "MODULE", None) is m:
            return mod
    raise LookupError(f"no imported Python module holds theorem module {getattr(m, 'key', m)!r} as MODULE")


def registered_docstring_problems(include_plugins: bool = True) -> dict[str, list[str]]:
    """Module key -> :func:`docstring_problems` of its docstring, for every registered theorem module (the
    in-tree ones, the installed plugins unless ``include_plugins`` is false) and the template; only modules
    with problems are listed."""
    _path()
    from verify import registry

    mods = dict(registry.modules()) if include_plugins else {m.key: m for m in _modules()[:-1]}
    from theorems import template

    mods[template.MODULE.key] = template.MODULE
    out = {}
    for key, m in mods.items():
        probs = docstring_problems(python_module(m).__doc__, m)
        if probs:
            out[key] = probs
    return out


# --------------------------------------------------------------------------------------------- math (MathML)
_MATH = re.compile(r'<(?P<tag>span|div) class="arithmatex">\s*\\(?:\(|\[)(?P<tex>.*?)\\(?:\)|\])\s*</(?P=tag)>', re.S)
_XMLNS = ' xmlns="http://www.w3.org/1998/Math/MathML"'


class MathError(ValueError):
    """A formula that latex2mathml cannot convert."""


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """One TeX formula as a MathML ``<math>`` element (no namespace URL: HTML5 knows ``<math>``), with the TeX
    source kept as an annotation (screen readers, copy and paste)."""
    try:
        from latex2mathml.converter import convert
    except ImportError as exc:  # pragma: no cover - the docs extra installs it
        raise MathError("math needs the latex2mathml package: pip install 'attention-verify[docs]'") from exc
    try:
        out = convert(tex, display="block" if display else "inline")
    except Exception as exc:
        raise MathError(f"cannot convert the formula {tex!r} to MathML: {exc.__class__.__name__}: {exc}") from exc
    out = out.replace(_XMLNS, "")
    unknown = sorted(set(re.findall(r">(\\[A-Za-z]+)<", out)))
    if unknown:  # latex2mathml passes a command it does not know through as text
        raise MathError(f"the formula {tex!r} uses {', '.join(unknown)}, which latex2mathml does not know")
    open_end = out.index(">") + 1
    note = f'<annotation encoding="application/x-tex">{_html.escape(tex.strip(), quote=False)}</annotation>'
    return f"{out[:open_end]}<semantics>{out[open_end:-len('</math>')]}{note}</semantics></math>"


def render_math(html: str) -> str:
    """HTML with every formula that ``pymdownx.arithmatex`` (generic mode) marked replaced by MathML."""

    def one(m: re.Match) -> str:
        return tex_to_mathml(_html.unescape(m.group("tex")), display=m.group("tag") == "div")

    return _MATH.sub(one, html)


# ------------------------------------------------------------------------------------------- pages from data
def _path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def own_specs() -> list[str]:
    """``pkg.module:MODULE`` of the toolkit's own theorem modules, in order: the ``verify.theorems`` entry points
    of the repository's pyproject.toml (read from the file, so the site does not depend on what is installed)."""
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
    except ImportError:  # Python 3.10: the table is simple enough to read by hand
        sec = re.search(r'^\[project\.entry-points\."verify\.theorems"\]\n(.*?)(?=^\[|\Z)', text, re.M | re.S)
        return re.findall(r'^\s*[\w.-]+\s*=\s*"([^"]+)"', sec.group(1), re.M) if sec else []
    eps = tomllib.loads(text).get("project", {}).get("entry-points", {})
    return list(eps.get("verify.theorems", {}).values())


def _modules() -> list[Any]:
    """The toolkit's own theorem modules (:func:`own_specs`) and the template; installed plugins are left out."""
    _path()
    from theorems import template

    mods = []
    for spec in own_specs():
        mod_name, _, attr = spec.partition(":")
        mods.append(getattr(importlib.import_module(mod_name.strip()), attr.strip() or "MODULE"))
    return [*mods, template.MODULE]


def _text(v: Any) -> str:
    """``v`` as Markdown text: ``<`` outside code spans becomes ``&lt;``, so that a statement such as
    ``|<x_a, x_b>| <= eps`` is not taken for an HTML tag and dropped from the page (code spans are left alone:
    Markdown shows their ``<`` literally)."""
    parts = re.split(r"(`[^`]*`)", str(v))
    return "".join(p if len(p) > 1 and p[0] == p[-1] == "`" else p.replace("<", "&lt;") for p in parts)


def _prose(v: str) -> str:
    """Docstring text as Markdown: Sphinx roles (``:mod:`x```) become code spans; ``<`` outside code and math
    becomes ``&lt;``; math (``$...$``, ``$$...$$``) is left for arithmatex."""
    v = re.sub(r":(?:mod|func|class|data|attr|meth|obj):`~?([^`]+)`", r"`\1`", v)
    parts = re.split(r"(``[^`]+``|`[^`]*`|\$\$.*?\$\$|\$[^$\n]+\$)", v, flags=re.S)
    return "".join(p if p[:1] in "`$" and len(p) > 1 else p.replace("<", "&lt;") for p in parts)


def _cell(v: Any) -> str:
    return _text(v).replace("|", "\\|").replace("\n", " ").strip() or "—"


def _code(v: Any) -> str:
    s = str(v)
    return f"`{s}`" if "`" not in s else s


def _source(m: Any) -> str:
    try:
        f = Path(python_module(m).__file__ or "").resolve()
        return f.relative_to(ROOT).as_posix()
    except (LookupError, ValueError):
        return type(m).__module__


def guide_page(m: Any) -> str:
    """Markdown for one module's guide: its docstring's sections, with tables of its data."""
    ref = m.reference
    doc = python_module(m).__doc__
    title, intro, sections = parse_docstring(doc)
    lines = [f"# {_text(title) or ref.key}", ""]
    if intro:
        lines += [_prose(intro), ""]
    lines += [
        f"- **Paper:** {_text(ref.authors)}. *{_text(ref.title)}*"
        + (f" ({_text(ref.venue)})" if ref.venue else "") + ".",
        f"- **arXiv:** {_text(ref.arxiv) if ref.arxiv else '—'}",
        f"- **Theorem:** {_text(ref.theorem or '—')}",
        f"- **Module:** `{m.key}`, source `{_source(m)}`; instances of schema `{m.instance_schema}`",
        f"- **Data:** [every field of every claim and assumption](../modules/{m.key}.md)",
    ]
    if (DOCS / "findings" / f"{m.key}.md").is_file():
        lines.append(f"- **Findings:** [findings/{m.key}.md](../findings/{m.key}.md)")
    lines.append("")
    for name, body in sections:
        lines += [f"## {name}", "", _prose(body), ""]
        if name == "Assumptions":
            lines += ["As the module's data declares them:", "",
                      "| id | title | provenance | implied by |", "|---|---|---|---|"]
            lines += [f"| `{a.id}` | {_cell(a.title)} | {_cell(a.provenance.label())} | "
                      f"{_cell(', '.join(a.implied_by))} |" for a in m.assumptions.values()]
            lines.append("")
        elif name == "Guarantee":
            lines += ["As the module's data declares them (the statements, parameters and readings are on the "
                      f"[data page](../modules/{m.key}.md)):", "",
                      "| claim | kind | title | provenance | assumptions | method | metric |",
                      "|---|---|---|---|---|---|---|"]
            lines += [f"| `{c.id}` | {c.kind} | {_cell(c.title)} | {_cell(c.provenance.label())} | "
                      f"{_cell(', '.join(f'`{a}`' for a in c.assumptions))} | `{c.method}` | `{c.metric}` |"
                      for c in m.claims.values()]
            lines.append("")
    return "\n".join(lines) + "\n"


def module_page(m: Any) -> str:
    """Markdown for one module, from its data only."""
    ref = m.reference
    lines = [f"# {ref.key}: {m.key}", "", _text(m.summary), "",
             f"- **Paper:** {ref.authors}. *{ref.title}*" + (f" ({ref.venue})" if ref.venue else "") + ".",
             f"- **arXiv:** {ref.arxiv}" if ref.arxiv else "- **arXiv:** —",
             f"- **Theorem:** {ref.theorem or '—'}",
             f"- **Instance schema:** `{m.instance_schema}`",
             f"- **Declares a model gradient** (checked by the conformance suite): {'yes' if m.gradient else 'no'}",
             f"- **Module guide** (problem, assumptions, method, guarantee, references): "
             f"[theorems/{m.key}.md](../theorems/{m.key}.md)"]
    finding = DOCS / "findings" / f"{m.key}.md"
    if finding.is_file():
        lines.append(f"- **Findings:** [findings/{m.key}.md](../findings/{m.key}.md)")
    if m.extra_docs:
        lines += ["", _text(m.extra_docs)]
    lines += ["", "## Assumptions", "", "| id | title | statement | provenance | implied by |", "|---|---|---|---|---|"]
    for a in m.assumptions.values():
        lines.append(f"| `{a.id}` | {_cell(a.title)} | {_cell(a.statement)} | {_cell(a.provenance.label())} | "
                     f"{_cell(', '.join(a.implied_by))} |")
    lines += ["", "## Claims", ""]
    for c in m.claims.values():
        lines += [f"### `{c.id}`", "", f"**{_text(c.title)}** — {c.kind} claim, provenance `{c.provenance.label()}`",
                  "", f"> {_text(c.statement)}", "",
                  "| field | value |", "|---|---|",
                  f"| assumptions | {_cell(', '.join(f'`{a}`' for a in c.assumptions))} |",
                  f"| method | `{c.method}` |",
                  f"| metric | `{c.metric}` |",
                  f"| rate | {_cell(_code(c.rate) if c.rate is not None else '— (none)')} |",
                  f"| constant | {_cell(_code(c.constant) if c.constant is not None else '— (unknown)')} |",
                  f"| parameters | {_cell(_code(c.params) if c.params else '—')} |",
                  "", f"Check it: `verify check {c.id}`; audit it: `verify audit {c.id}`.", ""]
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """Generated pages by path relative to docs/."""
    mods = _modules()
    out = {f"modules/{m.key}.md": module_page(m) for m in mods}
    out.update({f"theorems/{m.key}.md": guide_page(m) for m in mods})
    rows = [f"| [{m.key}]({m.key}.md) | [guide](../theorems/{m.key}.md) | {m.reference.key} | {len(m.claims)} | "
            f"{_cell(m.summary)} |" for m in mods]
    out["modules/index.md"] = "\n".join([
        "# Theorem modules", "",
        "Generated from each module's data and docstring (docs/gen_pages.py): the *data* page lists every field of "
        "every claim and assumption, the *guide* renders the module's docstring (problem, assumptions, method, "
        "guarantee, references). Plugins add their own modules; the conformance suite checks that the data these "
        "pages need is present.", "",
        "| module | guide | paper | claims | summary |", "|---|---|---|---|---|", *rows]) + "\n"
    return out


def cli_reference() -> str:
    import argparse

    from verify.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = []
    for name, p in sub.choices.items():
        parts += [f"### `verify {name}`", "", "```text", p.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def _report_title(stem: str) -> str:
    """``vdt24.global--audit-near_orthogonal--7fc40669`` -> ``vdt24.global, audit near_orthogonal (7fc40669)``."""
    parts = stem.split("--")
    if len(parts) < 2:
        return stem
    return ", ".join([parts[0], *(p.replace("-", " ", 1) for p in parts[1:-1])]) + f" ({parts[-1]})"


def nav_entries(target: str) -> list:
    """The nav entries a folder entry (``modules/``, ``theorems/``, ``findings/``, any ``dir/``) expands to."""
    if target == "modules/":
        return ["modules/index.md", *({m.key: f"modules/{m.key}.md"} for m in _modules())]
    if target == "theorems/":
        return [{m.reference.key if m.key != "template" else "Template": f"theorems/{m.key}.md"} for m in _modules()]
    entries: list = [{f.stem.upper(): f"{target}{f.name}"} for f in sorted((DOCS / target).glob("*.md"))]
    reports = sorted((DOCS / target / "reports").glob("*.md"))
    if reports:
        entries.append({"Reports": [{_report_title(f.stem): f"{target}reports/{f.name}"} for f in reports]})
    return entries


# ---------------------------------------------------------------------------------------------- mkdocs hooks
def on_config(config: Any) -> Any:
    """Expand nav entries whose target is a folder (``modules/``, ``findings/``, ``theorems/``) into one entry per
    page: the generated module pages and guides, and the hand-written Markdown files of that folder with its
    ``reports/`` (so a new findings page or report appears in the nav without an edit to mkdocs.yml)."""
    try:
        import latex2mathml  # noqa: F401
    except ImportError as exc:
        from mkdocs.exceptions import PluginError

        raise PluginError("the docs render math with latex2mathml: pip install 'attention-verify[docs]'") from exc
    nav = config.get("nav") or []
    for i, item in enumerate(nav):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        title, target = next(iter(item.items()))
        if isinstance(target, str) and target.endswith("/"):
            nav[i] = {title: nav_entries(target)}
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, text in pages().items():
        existing = files.get_file_from_path(path)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, path, content=text))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference())
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    """Formulas to MathML; a formula that cannot be converted fails the build with the page's name."""
    try:
        return render_math(html)
    except MathError as exc:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"{page.file.src_uri}: {exc}") from exc


if __name__ == "__main__":
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "generated-docs")
    for rel, text in pages().items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    (dest / "cli-reference.md").write_text(cli_reference())
    print(f"wrote {len(pages()) + 1} pages to {dest}")
