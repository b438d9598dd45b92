"""``verify map`` beyond the first grid: the grids of vdt24 (d/(nT)), jta24 (md.p-specific over p) and gsb26
(gsb.spectral-init over n/d) draw instances with the requested parameter; the event a claim's evaluation exposes is
counted (pooled, with its Clopper-Pearson interval) next to the verdict fraction; the crossing's band; ``--set``;
the Dask executor (a LocalCluster of 2 loopback workers) gives the same cells as the serial one; ``verify show`` on
a map folder prints its table and renders its page."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from verify.cli import main
from verify.errors import VerifyInputError
from verify.map import crossing_interval, event_of, parse_set, quantity_of
from verify.registry import find_claim
from verify.stat_checks import clopper_pearson
from verify.sweep import draw_instances

# two cells of two small, well-separated instances each (n = T = 3, d = 9 and 18): NGD holds there without
# confirmation runs, so the map is quick
ARGV = ["vdt24.global", "--vary", "d_over_nT=1:2:2", "--set", "n=3", "--set", "T=3", "--instances", "2",
        "--profile", "quick", "--quiet"]


def _grid(claim_id: str, params: dict) -> object:
    module, claim = find_claim(claim_id)
    assert module.grid is not None
    return module.grid(claim.id, params)


# ---------------------------------------------------------------------------------------------- the grids
def test_vdt24_grid_sets_d_from_the_ratio() -> None:
    from theorems.attention.strategies import grid_dimension

    insts = draw_instances(_grid("vdt24.global", {"n": 3, "T": 5, "d_over_nT": 0.4}), 3, 1)
    assert [(i.n, i.T, i.d) for i in insts] == [(3, 5, 6)] * 3
    assert len({json.dumps(i.to_json(), sort_keys=True) for i in insts}) == 3
    assert grid_dimension(4, 4, 16) == 16 and grid_dimension(4, 4, 16, 0.01) == 1
    with pytest.raises(VerifyInputError, match="d_over_nT"):
        grid_dimension(4, 4, 16, -1.0)
    assert "vdt24.global-ps" in find_claim("vdt24.global-ps")[0].claims
    assert find_claim("vdt24.global-ps")[1].method == "polyak"


def test_jta24_grid_draws_instances_at_any_p() -> None:
    from theorems import jta24

    insts = draw_instances(_grid("md.p-specific", {"p": 1.1}), 3, 0)
    for inst in insts:
        assert inst.meta["p"] == 1.1 and (inst.n, inst.T, inst.d) == (3, 2, 7)
        assert all(jta24.ASSUMPTIONS[a].check(inst, {}).verdict == "holds"
                   for a in ("unique_opt", "score_gap", "near_orthogonal"))
    assert jta24.grid("md.direction", {}) is None
    with pytest.raises(VerifyInputError):
        jta24.grid("md.p-specific", {"p": 0.5})


def test_gsb26_grid_sets_n_from_n_over_d() -> None:
    from theorems import gsb26

    low = draw_instances(_grid("gsb.spectral-init", {"n_over_d": 5.0, "d": 3}), 2, 0)
    high = draw_instances(_grid("gsb.spectral-init", {"n_over_d": 40.0, "d": 2}), 2, 0)
    assert [(i.n, i.d) for i in low] == [(15, 3)] * 2 and [(i.n, i.d) for i in high] == [(80, 2)] * 2
    assert all(gsb26.ASSUMPTIONS["n_large"].check(i, {}).verdict == "fails" for i in low)
    assert all(gsb26.ASSUMPTIONS["n_large"].check(i, {}).verdict == "holds" for i in high)
    assert gsb26.grid("gsb.geometric", {}) is None


def test_gsb26_spectral_init_exposes_its_trials_as_the_event() -> None:
    """The event counts the trials within the radius, as the claim's own probability check does."""
    from verify.engine import assess, settings_for
    from verify.profiles import claim_settings, get_profile

    module, claim = find_claim("gsb.spectral-init")
    inst = draw_instances(_grid(claim.id, {"n_over_d": 20.0, "d": 2}), 1, 0)[0]
    settings = settings_for(module, claim_settings(get_profile("quick"), 0))
    ev = assess(module, claim, inst, settings, require_assumptions=False).evidence
    assert ev is not None
    e = event_of(ev.extra)
    assert e is not None and e["trials"] == len(ev.observed) > 0
    assert e["occurred"] == sum(1 for x in ev.observed if x <= claim.params["radius"])


# ---------------------------------------------------------------------------------------------- parsing
def test_event_and_quantity_parsing() -> None:
    assert event_of({"event": {"name": "e", "occurred": True}}) == {"name": "e", "occurred": 1, "trials": 1}
    assert event_of({"event": {"name": "e", "occurred": 3, "trials": 5}}) == {"name": "e", "occurred": 3, "trials": 5}
    for bad in ({}, {"event": 1}, {"event": {"occurred": 6, "trials": 5}}, {"event": {"occurred": -1}},
                {"event": {"occurred": 1.5}}, {"event": {"occurred": 1, "trials": 0}}):
        assert event_of(bad) is None, bad
    assert quantity_of({"quantity": {"name": "r", "value": -2}}) == {"name": "r", "value": -2.0}
    assert quantity_of({"quantity": {"name": "r", "value": math.nan}}) is None
    assert quantity_of({"quantity": {"name": "r", "value": True}}) is None
    known = {"n": 4, "scale": 1.0}
    assert parse_set("n=6", known) == ("n", 6) and parse_set("scale=0.5", known) == ("scale", 0.5)
    for bad, frag in (("n", "NAME=VALUE"), ("zeta=1", "unknown parameter"), ("n=1.5", "an integer"),
                      ("scale=inf", "finite")):
        with pytest.raises(VerifyInputError, match=frag):
            parse_set(bad, known)


def test_report_paths_are_relative_to_the_map_folder(tmp_path: Path) -> None:
    from verify.map import _report_path

    cell = tmp_path / "cells" / "d=4"
    (cell / "reports").mkdir(parents=True)
    (cell / "reports" / "x.json").write_text("{}")
    assert _report_path("/elsewhere/cells/d=4/reports/x.json", cell) == "cells/d=4/reports/x.json"
    assert _report_path("/elsewhere/y.json", cell) == "/elsewhere/y.json"  # not in the cell: as recorded


def test_crossing_interval_is_where_the_band_contains_one_half() -> None:
    xs = [1.0, 2.0, 3.0, 4.0]
    # fraction 0, 0.4, 0.8, 1: crosses at 2.25; the upper ends cross 1/2 at 1.5, the lower ends at 3.5
    assert crossing_interval(xs, [0.0, 0.1, 0.3, 0.7], [0.3, 0.7, 0.95, 1.0], 2.25) == ([1.5, 3.5], [False, False])
    # the lower ends never reach 1/2 on the grid: the band is open at the grid's end
    assert crossing_interval(xs, [0.0, 0.0, 0.1, 0.2], [0.3, 0.7, 0.95, 1.0], 2.25) == ([1.5, 4.0], [False, True])
    assert crossing_interval(xs, [0.0] * 4, [1.0] * 4, 2.25) == ([1.0, 4.0], [True, True])



def test_every_crossing_is_reported() -> None:
    """A fraction that falls below 1/2 and rises again crosses twice (a one-trial cell can make the first)."""
    from verify.map import Axis, crossings_of

    cells = [{"params": {"d": d}, "fraction": f, "interval": [lo, hi]}
             for d, f, lo, hi in ((2, 1.0, 0.03, 1.0), (4, 0.4, 0.12, 0.74), (8, 0.9, 0.55, 1.0))]
    xs = crossings_of([Axis("d", (2, 4, 8))], cells)
    assert [x["value"] for x in xs] == [pytest.approx(2 + 2 * 0.5 / 0.6), pytest.approx(4 + 4 * 0.1 / 0.5)]


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--set", "zeta=1"], "unknown parameter"),
    (["--set", "d_over_nT=2"], "that parameter is varied"),
    (["--set", "n=3", "--set", "n=4"], "given twice"),
])
def test_bad_set_exits_2(extra: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["map", "vdt24.global", "--vary", "d_over_nT=1:2:2", "--instances", "1", *extra, "--results",
            str(tmp_path / "m"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


# ---------------------------------------------------------------------------------------------- a real map
@pytest.fixture(scope="module")
def serial_map(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("map") / "serial"
    assert main(["map", *ARGV, "--results", str(out)]) == 0
    return out


def _rows(out: Path) -> dict[str, list[dict]]:
    return {c.name: sorted((json.loads(f.read_text()) for f in (c / "instances").glob("*.json")),
                           key=lambda r: r["key"]) for c in sorted((out / "cells").iterdir())}


def test_map_counts_the_claims_event(serial_map: Path) -> None:
    m = json.loads((serial_map / "map.json").read_text())
    assert m["plotted"] == "event" and m["fixed"]["n"] == 3 and m["fixed"]["T"] == 3
    assert m["command"].startswith("verify map vdt24.global --vary d_over_nT=1:2:2 --set n=3 --set T=3")
    rows = _rows(serial_map)
    assert sorted(rows) == ["d_over_nT=1", "d_over_nT=2"]
    for c in m["cells"]:
        mine = rows[c["id"]]
        assert len(mine) == 2
        assert {len(r["instance"]["u"]) for r in mine} == {round(c["params"]["d_over_nT"] * 9)}
        occurred = sum(r["event"]["occurred"] for r in mine)
        e = c["event"]
        assert e["trials"] == 2 and e["occurred"] == occurred and e["fraction"] == occurred / 2
        assert e["interval"] == pytest.approx(list(clopper_pearson(occurred, 2)))
        assert "optimal tokens" in e["name"]
        # a verdict 'holds' with the run selecting other tokens would be odd here: on these instances both agree
        assert all((r["verdict"] == "holds") == bool(r["event"]["occurred"]) for r in mine)
        assert c["median_exponent"] is not None and c["median_exponent"] < 0


def test_dask_executor_gives_the_same_cells(serial_map: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="dask[distributed] is not installed (extra 'dask')")
    out = tmp_path / "dask"
    assert main(["map", *ARGV, "--results", str(out), "--executor", "dask", "--workers", "2"]) == 0
    a, b = _rows(serial_map), _rows(out)
    assert sorted(a) == sorted(b)
    for cell in a:
        assert [r["key"] for r in a[cell]] == [r["key"] for r in b[cell]]
        assert [(r["verdict"], r["event"], r["final_metric"]) for r in a[cell]] == \
               [(r["verdict"], r["event"], r["final_metric"]) for r in b[cell]]
    ma, mb = (json.loads((d / "map.json").read_text()) for d in (serial_map, out))
    strip = ("ran", "skipped", "reports")
    assert [{k: v for k, v in c.items() if k not in strip} for c in ma["cells"]] == \
           [{k: v for k, v in c.items() if k not in strip} for c in mb["cells"]]
    # resumed under dask: nothing left to run
    assert main(["map", *ARGV, "--results", str(out), "--executor", "dask", "--workers", "2"]) == 0
    assert all(c["ran"] == 0 for c in json.loads((out / "map.json").read_text())["cells"])


def test_show_prints_and_renders_the_map(serial_map: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    m = json.loads((serial_map / "map.json").read_text())
    assert main(["show", str(serial_map)]) == 0
    text = capsys.readouterr().out
    for c in m["cells"]:
        e = c["event"]
        assert f"{e['occurred']}/{e['trials']} = {e['fraction']:.2f} [{e['interval'][0]:.2f}" in text
        assert f"\n{c['id']} " in text
    assert "command: verify map vdt24.global" in text
    assert main(["show", str(serial_map), "--html", str(tmp_path / "site")]) == 0
    page = (tmp_path / "site" / "index.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "Map of vdt24.global" in page
    assert page.count("data-cell=") == len(m["cells"])
    for c in m["cells"]:
        assert f'data-cell="{c["id"]}"' in page
        assert f"{c['fraction']:.2f} [{c['interval'][0]:.2f}, {c['interval'][1]:.2f}]" in page
    assert 'id="command"' in page and "--set n=3" in page and "data:image/png;base64," in page
    assert "T = 3" in page  # the fixed parameters


def test_map_page_draws_the_crossing_and_redraws_a_missing_figure(tmp_path: Path) -> None:
    """A synthetic map folder (no evaluation): the crossing row with its band; without map.png the figure is drawn
    again from map.json."""
    from verify.map import MAP_SCHEMA
    from verify.report.map_page import write_map_html

    cells = [{"id": f"p={p}", "params": {"p": p}, "instances": 4, "counts": {"holds": h, "violated": 4 - h},
              "applicable": 4, "fraction": h / 4, "interval": list(clopper_pearson(h, 4)), "event": None,
              "median_metric": 0.1, "median_exponent": None, "quantity": {"name": "ratio", "median": -p},
              "slacks": {"a": 0.5}, "notes": []} for p, h in ((1.0, 0), (2.0, 1), (3.0, 4))]
    m = {"schema": MAP_SCHEMA, "claim": "x.claim", "vary": [{"name": "p", "values": [1.0, 2.0, 3.0], "log": False}],
         "fixed": {"n": 2}, "assumptions": ["a"], "instances": 4, "seed": 0, "profile": "quick", "command": "",
         "plotted": "verdict", "cells": cells,
         "crossings": [{"along": "p", "at": {}, "value": 2.333, "interval": [2.0, 3.0], "open": [True, False]}],
         "verdict_crossings": []}
    (tmp_path / "map.json").write_text(json.dumps(m))
    page = write_map_html(tmp_path).read_text()
    assert "2.33" in page and "≤ 2 … 3" in page and "median ratio" in page and "slack a" in page
    assert "data:image/png;base64,iVBOR" in page  # a PNG, drawn from map.json
