"""The report pages of every kind (order, bound, comparison, probability, identity, audit) and the index, from
reports the engine writes for the planted claims of benchmarks/gallery.py (checked and audited on a small
quadratic; every report a confirmed finding).

- Without a browser: every number a page takes from a JSON file (``data-src``, ``data-field``) equals the JSON's;
  the per-checkpoint ratio is the one whose largest value is the worst ratio (for an order claim metric / rate,
  never the rescaled curve's 1); the run table's numbers are the run summary's and each report link shows that
  report's own worst ratio; diagnostics are explained and not shown as failures; a comparison draws one line per
  group and shows every method's steps (also for gsb.kappa-free and gsb.no-spurious, evaluated by the engine).
- In headless Chromium at 1000 px wide (skipped, with the reason, when it is not installed): a page of each kind
  and the index load with no script error, no console message and no element past the right edge, their
  screenshots decode, and the DOM's numbers equal the JSON's. A deliberately broken page fails those checks.
"""

from __future__ import annotations

import html
import importlib.util
import io
import json
import math
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from verify.report.fmt import fmt_num
from verify.report.html import DIAGNOSTICS_NOTE, write_html
from verify.report.naming import report_basename
from verify.report.plot import plot_report, segments

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gallery", ROOT / "benchmarks" / "gallery.py")
assert _spec is not None and _spec.loader is not None
gallery = importlib.util.module_from_spec(_spec)
sys.modules["gallery"] = gallery
_spec.loader.exec_module(gallery)

KINDS = ("order", "bound", "comparison", "probability", "identity", "audit")
CHROMIUM = gallery.chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                    "(apt-get install chromium; CI installs it)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pages") / "reports"
    gallery.generate(d, steps=300)
    write_html(d)
    return d


def page_of(site: Path, kind: str) -> tuple[Path, dict]:
    f = gallery.pages_by_kind(site)[kind]
    rep = json.loads(f.read_text())
    return site / f"{report_basename(rep)}.html", rep


# ---------------------------------------------------------------------------------------------- the checks
class Fields(HTMLParser):
    """Every element with ``data-field`` (its source file, path and text), every ``data-ratio`` cell, and the
    attributes of <html> and <body>."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict] = []
        self.ratios: list[dict] = []
        self.root: dict[str, str] = {}
        self.body: dict[str, str] = {}
        self._open: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.root = a
        if tag == "body":
            self.body = a
        if "data-field" in a or "data-ratio" in a:
            rec = {**a, "text": ""}
            (self.fields if "data-field" in a else self.ratios).append(rec)
            self._open.append(rec)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1]["text"] += data


def parse(dom: str) -> Fields:
    p = Fields()
    p.feed(dom)
    return p


def resolve(doc: Any, path: str) -> Any:
    """``evidence.figure.steps.gd[3]`` in a JSON document."""
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        doc = doc[int(index)] if index else doc[name]
    return doc


def _as_number(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, str):
        return {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}[v.strip().lower()]
    return float(v)


def same_number(text: str, value: Any) -> bool:
    """The page's text shows the JSON value: '—' for null, 'not reached' or 'inf' for +inf, else the number to
    the digits shown (at least 3 significant digits: 0.5% relative)."""
    text = text.strip()
    v = _as_number(value)
    if text == "—":
        return v is None
    if v is None:
        return False
    if text in ("inf", "not reached"):
        return v == math.inf
    if text in ("-inf", "nan"):
        return text == "-inf" and v == -math.inf or text == "nan" and math.isnan(v)
    return math.isclose(float(text), v, rel_tol=5e-3, abs_tol=1e-300)


def check_numbers(dom: str, page_dir: Path) -> int:
    """Every number from a JSON file equals the JSON's; every checkpoint ratio is recomputed from the JSON. Returns
    how many numbers were checked."""
    p = parse(dom)
    docs: dict[str, Any] = {}
    for f in p.fields:
        src = f.get("data-src") or p.body.get("data-src")
        assert src, f
        doc = docs.setdefault(src, json.loads((page_dir / src).read_text()))
        value = resolve(doc, f["data-field"])
        assert same_number(f["text"], value), f"{src}: {f['data-field']} shows {f['text']!r}, the JSON has {value!r}"
    if p.ratios:
        rep = docs.setdefault(p.body["data-src"], json.loads((page_dir / p.body["data-src"]).read_text()))
        ev, fig, kind = rep["evidence"], rep["evidence"].get("figure", {}), rep["claim"]["kind"]
        for r in p.ratios:
            i = int(r["data-ratio"])
            if kind == "order":
                want = _as_number(ev["observed"][i]) / _as_number(fig["rate"][i])
            elif kind == "identity":
                want = _as_number(fig["residual"][i]) / _as_number(fig["tolerance"][i])
            else:
                want = _as_number(ev["observed"][i]) / _as_number(ev["claimed"][i])
            assert same_number(r["text"], want), f"ratio at checkpoint {i} shows {r['text']!r}, the JSON gives {want}"
            if ev["t_worst"] is not None and ev["t"][i] == ev["t_worst"]:  # the table's ratio there IS the worst
                assert same_number(r["text"], ev["worst_ratio"]), (r["text"], ev["worst_ratio"])
    return len(p.fields) + len(p.ratios)


def fields_of(dom: str) -> set[str]:
    return {f["data-field"] for f in parse(dom).fields}


# ---------------------------------------------------------------------------------------------- without a browser
def test_every_page_kind_is_generated_by_the_engine(site: Path) -> None:
    pages = gallery.pages_by_kind(site)
    assert set(KINDS) <= set(pages), pages
    for kind in KINDS:
        rep = json.loads(pages[kind].read_text())
        assert rep["verdict"] == "violated" and "confirmed by" in rep["status"], rep["status"]
        assert rep["evidence"]["figure"]["variable"], kind


@pytest.mark.parametrize("kind", KINDS)
def test_page_numbers_equal_the_json(site: Path, kind: str) -> None:
    page, rep = page_of(site, kind)
    text = page.read_text()
    assert check_numbers(text, site) >= 20
    got = fields_of(text)
    assert "evidence.worst_ratio" in got
    fig = rep["evidence"]["figure"]
    if kind == "comparison":  # every method's steps on every paired sample, and every pair's wins
        assert {f"evidence.figure.steps.{m}[{i}]" for m in fig["steps"] for i in range(len(fig["at"]))} <= got
        assert {f"evidence.figure.pairs[{j}].wins" for j in range(len(fig["pairs"]))} <= got
    if kind == "probability":
        assert {"evidence.figure.successes", "evidence.figure.trials", "evidence.figure.interval[0]",
                "evidence.figure.interval[1]", "evidence.figure.threshold", "evidence.figure.claimed_p"} <= got
    if kind == "audit":
        k = next(k for k, a in enumerate(rep["assumptions"]) if a["id"] == rep["broken_assumption"])
        assert f"assumptions[{k}].slack" in got and 'id="broken"' in text


def test_an_order_page_shows_one_ratio(site: Path) -> None:
    """The checkpoint table's ratio is metric / rate, so at the worst checkpoint it is the worst ratio (the
    rescaled claimed curve's ratio there would always be 1), and the legend says how the curve was scaled."""
    page, rep = page_of(site, "order")
    ev = rep["evidence"]
    k = ev["t"].index(ev["t_worst"])
    assert ev["observed"][k] / ev["figure"]["rate"][k] == pytest.approx(ev["worst_ratio"], rel=1e-12)
    assert ev["observed"][k] / ev["claimed"][k] == pytest.approx(1.0, rel=1e-12)  # what the old table showed
    text = page.read_text()
    row = re.search(r'<tr class="worst">(.*?)</tr>', text, re.S)
    assert row is not None
    ratio = re.search(r'data-ratio="\d+">([^<]*)<', row.group(1))
    assert ratio is not None and float(ratio.group(1)) == pytest.approx(ev["worst_ratio"], rel=1e-5)
    assert "scaled by the worst ratio" in text and "an order claim has no constant" in text


def test_the_run_table_is_the_run_summary(site: Path) -> None:
    index = (site / "index.html").read_text()
    assert check_numbers(index, site) >= 10
    runs = [json.loads(f.read_text()) for f in (site / "runs").glob("*.json")]
    got = fields_of(index)
    for run in runs:
        for i, c in enumerate(run["claims"]):
            assert f"claims[{i}].worst_ratio" in got and f"claims[{i}].tried" in got, c["claim_id"]
    table = index.split('<table class="run">', 1)[1].split("</table>", 1)[0]
    assert '{"' not in table and "&quot;" not in table  # verdict counts as chips, never raw JSON
    assert "1 violated" in table and "reconstruction-dependent: 1" in table
    assert index.count('class="reading"') == 3  # the reconstruction-dependent candidate's readings, as a chart
    assert 'data-verdict="holds"' in index


def test_diagnostics_are_explained_and_not_failures(site: Path) -> None:
    page, rep = page_of(site, "bound")
    diag = [a for a in rep["assumptions"] if a["role"] == "diagnostic"]
    assert diag and diag[0]["verdict"] == "fails"
    text = page.read_text()
    assert html.escape(DIAGNOSTICS_NOTE) in text and "None broken on purpose" not in text
    section = text.split('id="diagnostics"', 1)[1].split("</table>", 1)[0]
    assert "v-diagnostic" in section and "v-fails" not in section
    claim_rows = text.split('id="claim-assumptions"', 1)[1].split("</table>", 1)[0]
    assert "isotropic" not in claim_rows


def test_segments_draw_one_line_per_group() -> None:
    at = [1.0, 10.0, 100.0, 1.0, 10.0, 100.0]
    assert segments(at, ["Sigma varied"] * 3 + ["M varied"] * 3) == [("Sigma varied", [0, 1, 2]),
                                                                      ("M varied", [3, 4, 5])]
    assert segments(at, None) == [("run 1", [0, 1, 2]), ("run 2", [3, 4, 5])]  # never one zig-zag
    assert segments([1.0, 2.0, 3.0], None) == [("", [0, 1, 2])]


def _gsb_report(claim_id: str) -> dict:
    """A report around the engine's evidence of a gsb26 claim on a tiny instance (rendered, not a finding)."""
    from theorems import gsb26
    from theorems.regression import regressor as ar
    from verify.engine import assess, build_report
    from verify.theory import Settings

    inst = ar.make_instance(d=2, d_y=1, n=60, sigma_spectrum=[1.0, 0.6], m_singular_values=[1.0])
    a = assess(gsb26.MODULE, gsb26.CLAIMS[claim_id], inst, Settings(profile="quick", steps=200))
    a.status = "rendered by tests/test_pages.py: not a finding"
    rep = build_report(gsb26.MODULE, gsb26.CLAIMS[claim_id], a, Settings(profile="quick"), 0)
    rep["replay"] = "verify replay -"
    return rep


@pytest.mark.parametrize("claim_id", ["gsb.kappa-free", "gsb.no-spurious"])
def test_gsb_comparisons_name_their_variable_and_show_every_method(claim_id: str, tmp_path: Path) -> None:
    from verify.report import write_report

    rep = _gsb_report(claim_id)
    fig = rep["evidence"]["figure"]
    if claim_id == "gsb.kappa-free":  # kappa over the Sigma spectra, then over the M spectra: two lines
        assert fig["variable"] == "kappa" and fig["at"] == [1.0, 10.0, 100.0] * 2
        assert [g for g, _ in segments(fig["at"], fig["groups"])] == ["Sigma varied", "M varied"]
    else:  # the data seeds, with the full method and each ablation
        assert fig["variable"] == "seed" and len(fig["at"]) == 3
        assert set(fig["steps"]) == {"full", "plain_gd", "no_regularizer", "no_renorm", "random_init"}
    write_report(rep, tmp_path)
    write_html(tmp_path)
    page = (tmp_path / f"{report_basename(rep)}.html").read_text()
    assert check_numbers(page, tmp_path) > 0
    got = fields_of(page)
    assert {f"evidence.figure.steps.{m}[{i}]" for m in fig["steps"] for i in range(len(fig["at"]))} <= got
    head = page.split('id="steps"', 1)[1].split("</thead>", 1)[0]
    assert (">κ<" if claim_id == "gsb.kappa-free" else ">seed<") in head
    assert plot_report(rep).startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------------- in the browser
def render(page: Path, tmp_path: Path, height: int = 2400) -> tuple[str, list[str], bytes]:
    """The DOM after load, Chromium's console lines and a screenshot, at 1000 x ``height`` CSS pixels."""
    assert CHROMIUM is not None
    png = tmp_path / f"{page.stem}.png"
    cmd = [*gallery.browser_args(CHROMIUM, tmp_path / f"profile-{page.stem}", 1000, height),
           "--enable-logging=stderr", "--v=0", f"--screenshot={png}", "--dump-dom", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln], png.read_bytes()


def assert_clean(dom: str, console: list[str]) -> None:
    root = parse(dom).root
    assert root.get("data-loaded") == "ok", "the load event did not run"
    assert root.get("data-viewport") == "1000", root.get("data-viewport")
    for key in ("data-js-errors", "data-images-broken", "data-offscreen"):
        assert json.loads(root.get(key) or "null") == [], (key, root.get(key))
    assert console == [], console


def assert_screenshot(png: bytes, height: int) -> None:
    from PIL import Image

    im = Image.open(io.BytesIO(png))
    im.load()
    assert im.size == (1000, height), im.size
    lo, hi = im.convert("L").getextrema()
    assert hi - lo > 100, "a blank screenshot"


@needs_chromium
@pytest.mark.parametrize("kind", [*KINDS, "index"])
def test_chromium_renders_each_page_kind(site: Path, tmp_path: Path, kind: str) -> None:
    page = site / "index.html" if kind == "index" else page_of(site, kind)[0]
    dom, console, png = render(page, tmp_path)
    assert_clean(dom, console)
    assert_screenshot(png, 2400)
    assert check_numbers(dom, site) >= 10
    if kind != "index":
        assert f"evidence plot: {page_of(site, kind)[1]['claim']['id']}" in dom


@needs_chromium
def test_chromium_checks_catch_a_broken_page(site: Path, tmp_path: Path) -> None:
    """Negative control: a comparison page with one number changed, an element wider than the window and an
    undecodable image fails each check."""
    page, rep = page_of(site, "comparison")
    text = page.read_text()
    worst = 'data-field="evidence.figure.steps.gd[2]">'
    assert worst in text
    value = rep["evidence"]["figure"]["steps"]["gd"][2]
    text = text.replace(f"{worst}{fmt_num(value)}<", f"{worst}{fmt_num(value + 7)}<", 1)
    text = text.replace("</body>", '<div style="width:1600px">a table too wide for the window</div>'
                                   '<img alt="broken-img" src="data:image/png;base64,AAAA"></body>')
    bad = site / "broken-page.html"
    bad.write_text(text)
    try:
        dom, console, png = render(bad, tmp_path)
    finally:
        bad.unlink()
    assert_screenshot(png, 2400)
    with pytest.raises(AssertionError, match=r"steps\.gd\[2\]"):
        check_numbers(dom, site)
    root = parse(dom).root
    assert "a table too wide" in (root.get("data-offscreen") or "")
    assert "broken-img" in (root.get("data-images-broken") or "")
    with pytest.raises(AssertionError):
        assert_clean(dom, console)


# ---------------------------------------------------------------------------------------------- a shrunk report
@pytest.fixture(scope="module")
def shrunk_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``verify check example.gd-fast`` (the example plugin's deliberately false claim) on the instance
    tests/test_shrink.py pins (n=3, T=5, d=15), quick profile: a report with a shrunk counterexample, as HTML."""
    sys.path.insert(0, str(ROOT / "examples" / "verify-example-plugin" / "src"))
    from verify_example_plugin import MODULE

    from theorems.attention.strategies import generate
    from verify import engine
    from verify.profiles import get_profile

    d = tmp_path_factory.mktemp("shrunk") / "reports"
    inst = generate(3, 5, 15, 2458, "orthonormal", 0.0)
    summary = engine.check(MODULE, MODULE.claims["example.gd-fast"], get_profile("quick"), instance=inst, reports=d)
    assert summary.reports, summary.notes
    write_html(d)
    return d


def _shrunk_page(site: Path) -> tuple[Path, dict]:
    f = next(site.glob("example.gd-fast*.json"))
    rep = json.loads(f.read_text())
    return site / f"{report_basename(rep)}.html", rep


def test_a_shrunk_report_shows_the_original_and_the_shrunk_instance(shrunk_site: Path) -> None:
    """The page and the Markdown show n, T, d before and after (from the JSON), whether the shrunk one is violated,
    confirmed and certified, the evaluations and the accepted moves."""
    page, rep = _shrunk_page(shrunk_site)
    sh = rep["shrunk"]
    assert sh["moves"] and "certified" in sh and "certificate" in sh
    text = page.read_text()
    assert check_numbers(text, shrunk_site) >= 20
    got = fields_of(text)
    assert {"instance.meta.n", "instance.meta.T", "instance.meta.d", "shrunk.instance.meta.n",
            "shrunk.instance.meta.T", "shrunk.instance.meta.d", "shrunk.size", "shrunk.original_size",
            "shrunk.evaluations", "shrunk.budget", "shrunk.evidence.worst_ratio"} <= got
    assert {f"shrunk.moves[{k}].size" for k in range(len(sh["moves"]))} <= got
    table = text.split('id="shrunk"', 1)[1].split("</table>", 1)[0]
    assert "X shape" in table and "3×5×15" in table
    status = text.split('id="shrunk-status"', 1)[1].split("</table>", 1)[0]
    assert "confirmed" in status and sh["status"].startswith("confirmed") and "yes" in status
    assert "certified (rigorous)" not in status  # an order claim: the shrunk violation is not proven
    assert html.escape(sh["certificate"]["reason"].split(";")[0]) in status
    md = page.with_suffix(".md").read_text()
    part = md.split("## Shrunk counterexample", 1)[1].split("\n## ", 1)[0]
    small, orig = sh["instance"]["meta"], rep["instance"]["meta"]
    for k in ("n", "T", "d"):
        assert f"| {k} | {orig[k]} | {small[k]} |" in part
    assert f"| numbers in the instance | {sh['original_size']} | {sh['size']} |" in part
    assert f"- Evaluations: {sh['evaluations']} of a budget of {sh['budget']}" in part
    assert "- Confirmed: yes (confirmed counterexample" in part and "- Certified: not certified" in part
    assert all(f"| {m['move']} |" in part for m in sh["moves"])
    assert "The shrunk instance:" in part and '"schema": "attention-classification/1"' in part


def test_a_report_without_shrunk_has_no_shrunk_section(site: Path) -> None:
    page, rep = page_of(site, "bound")
    assert "shrunk" not in rep
    assert 'id="shrunk"' not in page.read_text() and "## Shrunk" not in page.with_suffix(".md").read_text()


@needs_chromium
def test_chromium_renders_a_shrunk_report_page(shrunk_site: Path, tmp_path: Path) -> None:
    page, _ = _shrunk_page(shrunk_site)
    dom, console, png = render(page, tmp_path)
    assert_clean(dom, console)
    assert_screenshot(png, 2400)
    assert check_numbers(dom, shrunk_site) >= 20 and 'id="shrunk"' in dom
