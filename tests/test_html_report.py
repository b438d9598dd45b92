"""``verify show DIR --html``: the static site's content, its links, escaping, one-line errors, and the pages as
rendered by headless Chromium (no script error, no console message, every image decodes).

The browser tests skip, with the reason, when no Chromium binary is installed; CI installs Debian's
``chromium``. They read the DOM after load (``--dump-dom``, in a 1000 px wide window) and Chromium's own console
log (``--enable-logging=stderr``): the pages record script errors, undecodable images and elements past the
window's right edge on ``<html>`` (``data-js-errors``, ``data-images-broken``, ``data-offscreen``), and set
``data-loaded="ok"`` once the load event ran. Pages of every kind, from engine-written reports, are in
tests/test_pages.py.
"""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from verify.cli import main
from verify.instance import atomic_write_text
from verify.report import REPORT_SCHEMA, report_basename, write_report, write_run_summary
from verify.report.html import write_html

HOSTILE = "<script>alert('x')</script> & \"quotes\""


def make_report(claim_id: str = "vdt24.ngd-rate", tag: int = 0) -> dict:
    t = [1, 10, 100, 1000, 2000]
    observed = [0.7, 0.6, 0.5, 0.45, 0.44]
    claimed = [0.44 * 2000 / ti for ti in t]
    return {
        "schema": REPORT_SCHEMA, "kind": "counterexample", "created": "2026-01-02T03:04:05+00:00",
        "theorem": {"module": "example", "reference": {"key": "EXAMPLE", "authors": "A. Author", "title": "T"}},
        "claim": {"id": claim_id, "title": f"A claim title {HOSTILE}", "kind": "order", "paper": "EXAMPLE",
                  "provenance": {"tags": ["seed", "abs"], "note": "seed 001"},
                  "assumptions": ["score_gap", "near_orthogonal"], "statement": "e(t) = O(t^{-1})",
                  "method": "gd", "metric": "dir_err", "rate": "1/t", "constant": None, "params": {}},
        "verdict": "violated", "status": "confirmed counterexample",
        "assumptions": [
            {"id": "score_gap", "title": "gap", "provenance": {"tags": ["seed", "recon"], "note": "Delta"},
             "verdict": "holds", "slack": 0.0123, "detail": "smallest gap", "role": "claim"},
            {"id": "near_orthogonal", "title": "near-orth", "provenance": {"tags": ["recon"], "note": ""},
             "verdict": "holds", "slack": 0.375, "detail": "ratio 0.125", "role": "claim"},
            {"id": "nonopt_support", "title": "support", "provenance": {"tags": ["derived"], "note": ""},
             "verdict": "fails", "slack": -0.25, "detail": "2 tokens", "role": "diagnostic"},
        ],
        "broken_assumption": None,
        "instance": {"schema": "attention-classification/1", "X": [[[float(tag), 1.0]]], "y": [1]},
        "method": {"method": "gd", "params": {"eta": 0.1}}, "backend": "numpy",
        "precision": {"dps": 15, "max_rel_error": 1e-14}, "seed": 0,
        "evidence": {"verdict": "violated", "reason": "ratio keeps growing", "metric": "dir_err", "t": t,
                     "observed": observed, "claimed": claimed, "worst_ratio": 1.0, "t_worst": 2000,
                     "exponent": -0.07, "constant": 0.8, "precision_ok": True, "run": {}, "extra": {}},
        "confirmation": [{"kind": "higher-precision", "verdict": "violated", "agrees": True, "reason": "mpmath"},
                         {"kind": "longer-horizon", "verdict": "violated", "agrees": True, "reason": "20000"}],
        "versions": {"python": "3.11"},
        "replay": f"verify replay reports/{claim_id}--violated--{tag:08x}.json",
    }


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Two reports and one run summary in tmp_path/reports; the HTML written beside them."""
    d = tmp_path / "reports"
    paths = [write_report(make_report(tag=k), d)["json"] for k in (1, 2)]
    write_run_summary(d, [
        {"claim_id": "vdt24.ngd-rate", "verdict": "violated", "tried": 3, "counts": {"violated": 2, "holds": 1},
         "reports": [str(p) for p in paths], "exponents": [-0.07, -0.1], "worst_ratio": 1.0, "notes": [],
         "title": "rate", "kind": "order", "provenance": "[seed]", "module": "example"},
        {"claim_id": "vdt24.global", "verdict": "holds", "tried": 3, "counts": {"holds": 3}, "reports": [],
         "exponents": [], "worst_ratio": None, "notes": [], "title": "global", "kind": "limit",
         "provenance": "[seed, abs]", "module": "vdt24"},
    ], {"created": "2026-01-02T03:04:05+00:00", "command": "verify check --all", "profile": "quick", "seed": 0,
        "instance": None})
    write_html(d)
    return d


def _hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]


def test_index_has_a_row_per_claim_and_links_every_report(site: Path) -> None:
    index = (site / "index.html").read_text()
    assert "vdt24.ngd-rate" in index and "vdt24.global" in index
    assert 'class="verdict v-holds">holds<' in index and 'class="verdict v-violated">violated<' in index
    assert "verify check --all" in index
    pages = sorted(p.name for p in site.glob("*.html") if p.name != "index.html")
    assert len(pages) == 2
    for href in _hrefs(index):
        assert (site / href).is_file(), href
    assert all(p in _hrefs(index) for p in pages)


def test_report_page_content(site: Path) -> None:
    rep = make_report(tag=1)
    page = (site / f"{report_basename(rep)}.html").read_text()
    assert "<script>alert" not in page and html.escape(HOSTILE) in page  # report text is escaped
    assert "[seed, abs: seed 001]" in page and "[seed, recon: Delta]" in page  # provenance of claim, assumption
    assert "0.0123" in page and "0.375" in page and "-0.25" in page  # slacks
    assert rep["replay"] in page
    assert 'src="data:image/png;base64,iVBORw0KGgo' in page  # the evidence plot, embedded
    assert "confirmed counterexample" in page and "higher-precision" in page
    assert "http://" not in page and "https://" not in page  # self-contained: nothing from the network
    for href in _hrefs(page):
        assert (site / href).is_file(), href


def test_show_html_cli_and_other_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    d = tmp_path / "reports"
    write_report(make_report(tag=3), d)
    out = tmp_path / "site"
    assert main(["show", str(d), "--html", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out / 'index.html'}"
    page = next(p for p in out.glob("*.html") if p.name != "index.html")
    for href in _hrefs(page.read_text()):
        assert (out / href).resolve().is_file(), href  # the JSON link points back into the reports folder
    assert main(["show", str(d), "--html"]) == 0 and (d / "index.html").is_file()


def test_show_html_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["show", str(tmp_path / "missing"), "--html"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
    atomic_write_text(tmp_path / "bad.json", json.dumps({"schema": "nope"}))
    assert main(["show", str(tmp_path), "--html"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.json" in err[0]
    (tmp_path / "bad.json").unlink()
    atomic_write_text(tmp_path / "runs" / "x.json", "[1]")
    assert main(["show", str(tmp_path), "--html"]) == 2
    assert "run summary" in capsys.readouterr().err


def test_empty_folder_gives_an_index(tmp_path: Path) -> None:
    index = write_html(tmp_path).read_text()
    assert "No reports." in index


# ---------------------------------------------------------------------------------------------- browser
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


CHROMIUM = _chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                    "(apt-get install chromium; CI installs it)")


def render(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM after load, and Chromium's console-log lines, for a local file."""
    profile = tmp_path / f"chromium-profile-{page.stem}"
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
           "--window-size=1000,1400",
           "--dump-dom", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    return proc.stdout, console


def _attr(dom: str, name: str) -> str | None:
    m = re.search(rf'<html[^>]*\s{name}="([^"]*)"', dom)
    return None if m is None else html.unescape(m.group(1))


def assert_clean(dom: str, console: list[str]) -> None:
    assert _attr(dom, "data-loaded") == "ok", "the load event did not run"
    assert json.loads(_attr(dom, "data-js-errors") or "null") == [], _attr(dom, "data-js-errors")
    assert json.loads(_attr(dom, "data-images-broken") or "null") == [], _attr(dom, "data-images-broken")
    assert json.loads(_attr(dom, "data-offscreen") or "null") == [], _attr(dom, "data-offscreen")
    assert console == [], console  # the pages log nothing; any console line is an error or a warning


@needs_chromium
def test_chromium_renders_every_page_without_errors(site: Path, tmp_path: Path) -> None:
    dom, console = render(site / "index.html", tmp_path)
    assert_clean(dom, console)
    assert "vdt24.global" in dom and "vdt24.ngd-rate" in dom and ">holds<" in dom
    for page in sorted(site.glob("*--violated--*.html")):
        dom, console = render(page, tmp_path)
        assert_clean(dom, console)
        assert "evidence plot: vdt24.ngd-rate" in dom and "0.375" in dom and "verify replay" in dom
        assert "[seed, abs: seed 001]" in dom


@needs_chromium
def test_chromium_harness_sees_errors(site: Path, tmp_path: Path) -> None:
    """Negative control: a page with a script error and a broken image fails the same assertions."""
    page = site / "index.html"
    bad = site / "broken.html"
    text = page.read_text().replace("</body>", '<img alt="broken-img" src="data:image/png;base64,AAAA">'
                                               '<pre style="width:1500px">too-wide</pre>'
                                               "<script>noSuchFunction();</script></body>")
    bad.write_text(text)
    dom, console = render(bad, tmp_path)
    assert "noSuchFunction" in (_attr(dom, "data-js-errors") or "")
    assert "broken-img" in (_attr(dom, "data-images-broken") or "")
    assert "too-wide" in (_attr(dom, "data-offscreen") or "")
    assert any("noSuchFunction" in ln for ln in console)
    with pytest.raises(AssertionError):
        assert_clean(dom, console)


def test_a_report_without_a_figure_keeps_one_ratio(site: Path) -> None:
    """An order report written before ``evidence.figure``: its claimed curve was scaled by the worst ratio, so the
    page divides the scale back out; the ratio at the worst checkpoint is the worst ratio, not 1."""
    from verify.report.fmt import checkpoint_ratios, variable

    rep = make_report(tag=1)
    rep["evidence"]["worst_ratio"] = 1.25
    rs = checkpoint_ratios(rep)
    k = rep["evidence"]["t"].index(rep["evidence"]["t_worst"])
    assert rep["evidence"]["observed"][k] / rep["evidence"]["claimed"][k] == pytest.approx(1.0)
    assert rs[k] == pytest.approx(1.25)
    assert variable(rep) == "t"
    rep["evidence"]["run"] = {"x_axis": "n"}
    assert variable(rep) == "n"  # what older gsb26 reports recorded


def test_report_dict_is_not_mutated_by_rendering(tmp_path: Path) -> None:
    rep = make_report(tag=9)
    before = copy.deepcopy(rep)
    write_report(rep, tmp_path)
    write_html(tmp_path)
    assert rep == before


# ---------------------------------------------------------------------------------------------- progress bars
def test_progress_bar_quiet_and_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from verify.progress import NullBar, progress_bar

    buf = io.StringIO()
    monkeypatch.setenv("VERIFY_PROGRESS", "1")
    with progress_bar(2, "demo-run", quiet=True, stream=buf) as bar:
        assert isinstance(bar, NullBar)
        bar.advance(note="x")
    assert buf.getvalue() == ""
    with progress_bar(2, "demo-run", stream=buf) as bar:
        bar.advance(note="first")
        bar.advance(note="second")
    assert "demo-run" in buf.getvalue() and "2/2" in buf.getvalue()
    monkeypatch.delenv("VERIFY_PROGRESS")
    buf2 = io.StringIO()  # not a terminal, nothing forced: silent
    with progress_bar(2, "demo-run", stream=buf2) as bar:
        bar.advance()
    assert buf2.getvalue() == ""


def test_check_progress_goes_to_stderr_and_quiet_silences_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture) -> None:
    """On an instance that does not meet the claim's assumptions (fast: no trajectory), with the bar forced on."""
    from theorems.attention.strategies import generate
    from verify.instance import dumps

    inst = generate(2, 2, 2, 0, "gaussian-low-d")  # d = 2 < nT: not near-orthogonal
    f = atomic_write_text(tmp_path / "inst.json", dumps(inst.to_json()))
    monkeypatch.setenv("VERIFY_PROGRESS", "1")
    args = ["check", "vdt24.ngd-rate", "--instance", str(f), "--reports", str(tmp_path / "r")]
    assert main(args) == 0
    loud = capsys.readouterr()
    assert "check" in loud.err and "1/1" in loud.err
    assert main([*args, "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out == loud.out
    runs = list((tmp_path / "r" / "runs").glob("*.json"))
    assert len(runs) == 2 and json.loads(runs[0].read_text())["claims"][0]["claim_id"] == "vdt24.ngd-rate"
