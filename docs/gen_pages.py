"""MkDocs hook (``hooks:`` in mkdocs.yml): pages generated from the code, so the docs cannot drift from it.

- ``modules/<key>.md``: one page per in-tree theorem module (and the template), rendered from the module's data:
  reference, summary, assumptions (statement, provenance, ``implied_by``), claims (kind, statement, provenance,
  assumptions, method, metric, rate, constant, parameters), links to the hand-written page and the findings page
  of the module when they exist.
- ``modules/index.md``: the list of modules.
- In ``cli.md`` the marker ``<!-- cli-reference -->`` becomes the ``--help`` of every ``verify`` command.

Plugins installed in the environment are left out (only ``registry.IN_TREE`` and the template), so the site
is the same wherever it is built. ``python docs/gen_pages.py OUTDIR`` writes the generated pages to a folder instead.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MARKER = "<!-- cli-reference -->"


def _modules() -> list[Any]:
    """The in-tree modules (registry.IN_TREE, in order) and the template; installed plugins are left out."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from theorems import template
    from verify.registry import IN_TREE, _load

    return [*(_load(spec) for spec in IN_TREE), template.MODULE]


def _text(v: Any) -> str:
    """``v`` as Markdown text: ``<`` outside code spans becomes ``&lt;``, so that a statement such as
    ``|<x_a, x_b>| <= eps`` is not taken for an HTML tag and dropped from the page (code spans are left alone:
    Markdown shows their ``<`` literally)."""
    parts = re.split(r"(`[^`]*`)", str(v))
    return "".join(p if len(p) > 1 and p[0] == p[-1] == "`" else p.replace("<", "&lt;") for p in parts)


def _cell(v: Any) -> str:
    return _text(v).replace("|", "\\|").replace("\n", " ").strip() or "—"


def _code(v: Any) -> str:
    s = str(v)
    return f"`{s}`" if "`" not in s else s


def module_page(m: Any) -> str:
    """Markdown for one module, from its data only."""
    ref = m.reference
    lines = [f"# {ref.key}: {m.key}", "", _text(m.summary), "",
             f"- **Paper:** {ref.authors}. *{ref.title}*" + (f" ({ref.venue})" if ref.venue else "") + ".",
             f"- **arXiv:** {ref.arxiv}" if ref.arxiv else "- **arXiv:** —",
             f"- **Theorem:** {ref.theorem or '—'}",
             f"- **Instance schema:** `{m.instance_schema}`",
             f"- **Declares a model gradient** (checked by the conformance suite): {'yes' if m.gradient else 'no'}"]
    hand = DOCS / "theorems" / f"{m.key}.md"
    finding = DOCS / "findings" / f"{m.key}.md"
    if hand.is_file():
        lines.append(f"- **Module guide:** [theorems/{m.key}.md](../theorems/{m.key}.md)")
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
    rows = [f"| [{m.key}]({m.key}.md) | {m.reference.key} | {len(m.claims)} | {_cell(m.summary)} |" for m in mods]
    out["modules/index.md"] = "\n".join([
        "# Theorem modules", "",
        "Generated from each module's data (docs/gen_pages.py). Plugins add their own modules; the conformance "
        "suite checks that the data these pages need is present.", "",
        "| module | paper | claims | summary |", "|---|---|---|---|", *rows]) + "\n"
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


# ---------------------------------------------------------------------------------------------- mkdocs hooks
def on_config(config: Any) -> Any:
    """Expand nav entries whose target is a folder (``modules/``, ``findings/``, ``theorems/``) into one entry per
    page: the generated module pages, and the hand-written Markdown files of that folder (so a new findings page
    appears in the nav without an edit to mkdocs.yml)."""
    nav = config.get("nav") or []
    for i, item in enumerate(nav):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        title, target = next(iter(item.items()))
        if not (isinstance(target, str) and target.endswith("/")):
            continue
        if target == "modules/":
            entries: list = ["modules/index.md", *({m.key: f"modules/{m.key}.md"} for m in _modules())]
        else:
            entries = [{f.stem.upper(): f"{target}{f.name}"} for f in sorted((DOCS / target).glob("*.md"))]
        nav[i] = {title: entries}
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


if __name__ == "__main__":
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "generated-docs")
    for rel, text in pages().items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    (dest / "cli-reference.md").write_text(cli_reference())
    print(f"wrote {len(pages()) + 1} pages to {dest}")
