"""Reports: validation (one-line messages), file names, atomic writing, Markdown, PNG and ``verify show`` text."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from verify.errors import VerifyInputError
from verify.instance import dumps, read_json
from verify.report import (
    MAX_CHECKPOINT_ROWS,
    REPORT_SCHEMA,
    load_report,
    plot_report,
    render_markdown,
    report_basename,
    summarize,
    validate_report,
    write_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def example_report(n: int = 40, claim_id: str = "vdt24.global", verdict: str = "violated") -> dict:
    """A realistic report: a bound claim whose observed metric decays slower than the claimed 1/sqrt(t)."""
    t = [int(round(10 ** (1 + 3 * k / (n - 1)))) for k in range(n)] if n > 1 else [10] * n
    observed = [0.7 * ti ** -0.25 + 1e-3 / 3 for ti in t]
    claimed = [1.3 * ti ** -0.5 for ti in t]
    ratios = [o / c for o, c in zip(observed, claimed, strict=True)]
    worst = max(range(n), key=ratios.__getitem__) if n else None
    return {
        "schema": REPORT_SCHEMA,
        "kind": "audit",
        "created": "2025-01-02T03:04:05Z",
        "theorem": {
            "module": "vdt24",
            "reference": {"key": "vdt24", "authors": "Vasudeva, Deora, Thrampoulidis",
                          "title": "Implicit bias and fast convergence rates for self-attention",
                          "arxiv": "2402.05738", "venue": "", "theorem": "2"},
        },
        "claim": {
            "id": claim_id, "title": "Global directional convergence of W",
            "kind": "bound", "paper": "vdt24 Theorem 2",
            "provenance": {"tags": ["seed", "abs"], "note": "seed 001"},
            "assumptions": ["separable", "step_size"],
            "statement": "Under normalized GD, ||W_t/||W_t|| - W_mm/||W_mm||| <= C / sqrt(t) for t >= t0.",
            "method": "ngd", "metric": "dir_gap", "rate": "1/sqrt(t)", "constant": "1.3", "params": {},
        },
        "verdict": verdict,
        "status": "confirmed",
        "assumptions": [
            {"id": "separable", "title": "Tokens are separable",
             "provenance": {"tags": ["seed"], "note": ""}, "verdict": "holds", "slack": 0.125,
             "detail": "margin 0.125 (certified)"},
            {"id": "step_size", "title": "Step size small enough",
             "provenance": {"tags": ["recon"], "note": "eta <= 1/L"}, "verdict": "fails", "slack": -0.5,
             "detail": "eta=2 exceeds 1/L=1.5 | by 0.5"},
        ],
        "broken_assumption": "step_size",
        "instance": {"schema": "attention-classification/1", "n": 4, "T": 3, "d": 2,
                     "X": [[[0.1, -0.2], [0.3, 0.4], [1.0 / 3.0, 2.0]]], "y": [1, -1, 1, -1]},
        "method": {"name": "ngd", "eta": 2.0, "steps": 2000},
        "backend": "numpy",
        "precision": {"dtype": "float64", "dps": None},
        "seed": 1234,
        "evidence": {
            "verdict": verdict,
            "reason": "observed/claimed ratio grows like t^0.25 past t0",
            "metric": "dir_gap", "t": t, "observed": observed, "claimed": claimed,
            "worst_ratio": ratios[worst] if worst is not None else None,
            "t_worst": t[worst] if worst is not None else None,
            "exponent": -0.2512345678901234, "constant": 0.7000000000000001,
            "precision_ok": True,
            "run": {"method": "ngd", "backend": "numpy", "precision": "float64", "steps": 2000,
                    "representation": "dense"},
            "extra": {"t0": 10},
        },
        "confirmation": [
            {"kind": "longer-horizon", "verdict": "violated", "reason": "ratio still growing at 20000",
             "evidence": {"worst_ratio": 9.5, "t_worst": 20000}},
            {"kind": "high-precision", "verdict": "violated", "reason": "mpmath dps=30 agrees"},
        ],
        "versions": {"python": "3.11.9", "numpy": "1.26.4", "verify": "0.1.0"},
        "replay": "verify check vdt24.global --instance inst.json --method ngd --seed 1234",
    }


@pytest.fixture
def report() -> dict:
    return example_report()


def _no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")]


def test_example_report_is_valid(report: dict) -> None:
    assert validate_report(report) is report


def test_write_report_writes_three_files(report: dict, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "nested"  # created when missing
    paths = write_report(report, out)
    assert set(paths) == {"json", "md", "png"}
    base = report_basename(report)
    for kind, path in paths.items():
        assert path == out / f"{base}.{kind}"
        assert path.is_file()
    assert _no_temp_files(out)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{base}.{k}" for k in ("json", "md", "png"))


def test_json_round_trip_is_exact(report: dict, tmp_path: Path) -> None:
    paths = write_report(report, tmp_path)
    back = read_json(paths["json"])
    assert back == report  # floats bit for bit
    pairs = zip(back["evidence"]["observed"], report["evidence"]["observed"], strict=True)
    assert all(a.hex() == b.hex() for a, b in pairs)
    assert load_report(paths["json"]) == report


def test_markdown_content(report: dict, tmp_path: Path) -> None:
    paths = write_report(report, tmp_path)
    md = paths["md"].read_text(encoding="utf-8")
    assert md == render_markdown(report)
    first = md.splitlines()[0]
    assert "vdt24.global" in first and "violated" in first and "audit" in first and "step_size" in first
    assert "counterexample" not in first and "refutes nothing" in first
    assert "*Kind: audit.* Nothing in the paper is refuted" in md
    assert report["claim"]["statement"] in md
    assert "[seed, abs: seed 001]" in md
    assert "[recon: eta <= 1/L]" in md
    assert "vdt24 Theorem 2" in md and "2402.05738" in md
    assert "| id | verdict | slack | provenance | detail |" in md
    assert "| separable | holds | 0.125 | [seed] | margin 0.125 (certified) |" in md
    assert "| **step_size** (broken) | fails | -0.5 | [recon: eta <= 1/L] |" in md
    assert "1/L=1.5 \\| by 0.5" in md  # a pipe inside a cell is escaped
    assert "```sh\n" + report["replay"] + "\n```" in md
    assert f"]({paths['png'].name})" in md  # the plot is linked by relative file name
    assert "longer-horizon" in md and "high-precision" in md
    assert "numpy" in md and "1.26.4" in md
    assert "1234" in md
    assert "-0.251235" in md  # fitted exponent


def _checkpoint_rows(md: str) -> list[list[str]]:
    lines = md.splitlines()
    start = lines.index("| t | observed | claimed | ratio |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_checkpoint_table_is_subsampled_with_first_worst_last() -> None:
    rep = example_report(n=200)
    ev = rep["evidence"]
    # move the worst point away from the even grid to make sure it is kept on purpose
    k = 101
    ev["observed"][k] = ev["claimed"][k] * 50.0
    ev["worst_ratio"], ev["t_worst"] = ev["observed"][k] / ev["claimed"][k], ev["t"][k]
    rows = _checkpoint_rows(render_markdown(rep))
    assert len(rows) <= MAX_CHECKPOINT_ROWS
    ts = [r[0].split()[0] for r in rows]
    assert ts[0] == str(ev["t"][0]) and ts[-1] == str(ev["t"][-1])
    worst_rows = [r for r in rows if "worst" in r[0]]
    assert len(worst_rows) == 1 and worst_rows[0][0].startswith(str(ev["t"][k]))
    assert float(worst_rows[0][3]) == pytest.approx(50.0, rel=1e-5)


def test_short_checkpoint_table_shows_every_row() -> None:
    rep = example_report(n=7)
    assert len(_checkpoint_rows(render_markdown(rep))) == 7


def test_png_signature_and_size(report: dict, tmp_path: Path) -> None:
    data = plot_report(report)
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5000
    paths = write_report(report, tmp_path)
    assert paths["png"].read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda r: r["evidence"].update(t=[], observed=[], claimed=[], worst_ratio=None,
                                                t_worst=None), id="empty"),
    pytest.param(lambda r: r["evidence"].update(claimed=[]), id="no-claimed"),
    pytest.param(lambda r: r["evidence"].update(observed=[-x for x in r["evidence"]["observed"]]),
                 id="negative"),
    pytest.param(lambda r: r["evidence"].update(observed=[0.0] * len(r["evidence"]["t"])), id="zeros"),
    pytest.param(lambda r: r["evidence"].update(observed=["nan"] * len(r["evidence"]["t"])), id="all-nan"),
    pytest.param(lambda r: r["evidence"].update(t=list(range(len(r["evidence"]["t"])))), id="t-from-zero"),
])
def test_plot_never_raises(report: dict, mutate) -> None:
    mutate(report)
    validate_report(report)
    assert plot_report(report).startswith(PNG_SIGNATURE)
    render_markdown(report)


def test_nonfinite_values_survive_and_render(report: dict, tmp_path: Path) -> None:
    ev = report["evidence"]
    ev["observed"][5] = math.inf
    ev["observed"][6] = math.nan
    ev["claimed"][7] = -math.inf
    ev["worst_ratio"], ev["t_worst"] = math.inf, ev["t"][5]
    ev["exponent"] = math.nan
    report["assumptions"][0]["slack"] = math.inf
    paths = write_report(report, tmp_path)
    text = paths["json"].read_text(encoding="utf-8")
    assert "Infinity" not in text and "NaN" not in text
    back = load_report(paths["json"])
    assert back["evidence"]["observed"][5] == "inf"
    assert back["evidence"]["observed"][6] == "nan"
    assert back["evidence"]["claimed"][7] == "-inf"
    assert back["evidence"]["worst_ratio"] == "inf"
    assert back["assumptions"][0]["slack"] == "inf"
    assert back["evidence"]["observed"][:5] == ev["observed"][:5]
    # the loaded report (with string infinities) renders, plots and summarizes like the float one
    md = render_markdown(back)
    assert md == render_markdown(report)
    assert "Worst ratio observed/claimed: inf" in md
    assert "Fitted exponent: nan" in md
    assert "| separable | holds | inf |" in md
    assert plot_report(back).startswith(PNG_SIGNATURE)
    assert "ratio inf" in summarize(paths["json"])
    assert report_basename(back) == report_basename(report)


def test_basename_is_stable_and_safe(report: dict) -> None:
    base = report_basename(report)
    assert base.startswith("vdt24.global--audit-step_size--")
    counter = copy.deepcopy(report)
    counter["kind"], counter["broken_assumption"] = "counterexample", None
    assert report_basename(counter).startswith("vdt24.global--violated--")
    digest = base.rsplit("--", 1)[1]
    assert len(digest) == 8 and all(c in "0123456789abcdef" for c in digest)
    assert report_basename(copy.deepcopy(report)) == base
    # independent of dict key order and of everything but claim id, verdict, instance and method
    shuffled = copy.deepcopy(report)
    shuffled["instance"] = dict(reversed(list(shuffled["instance"].items())))
    shuffled["created"] = "2030-01-01T00:00:00Z"
    shuffled["evidence"]["reason"] = "something else"
    assert report_basename(shuffled) == base
    other = copy.deepcopy(report)
    other["method"]["eta"] = 2.0000000000000004
    assert report_basename(other) != base
    weird = example_report(claim_id="../a b/c:d*?", verdict="not applicable")
    name = report_basename(weird)
    assert "/" not in name and " " not in name and ":" not in name and not name.startswith(".")


def test_rewrite_replaces_atomically(report: dict, tmp_path: Path) -> None:
    first = write_report(report, tmp_path)
    report["status"] = "unconfirmed"
    second = write_report(report, tmp_path)
    assert first == second
    assert read_json(second["json"])["status"] == "unconfirmed"
    assert _no_temp_files(tmp_path)
    assert len(list(tmp_path.iterdir())) == 3


def test_failed_write_leaves_no_temp_files(report: dict, tmp_path: Path, monkeypatch) -> None:
    import verify.report.writing as mod

    def boom(_report: dict) -> str:
        raise RuntimeError("render failed")

    write_report(report, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(mod, "render_markdown", boom)
    report["status"] = "changed"
    with pytest.raises(RuntimeError):
        write_report(report, tmp_path)
    assert _no_temp_files(tmp_path)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith(".png")}
    assert after == {k: v for k, v in before.items() if not k.endswith(".png")}


@pytest.mark.parametrize("path, message", [
    (("evidence",), "report is missing key 'evidence'"),
    (("replay",), "report is missing key 'replay'"),
    (("claim", "provenance"), "report.claim is missing key 'provenance'"),
    (("theorem", "reference"), "report.theorem is missing key 'reference'"),
    (("evidence", "worst_ratio"), "report.evidence is missing key 'worst_ratio'"),
])
def test_validate_rejects_missing_keys(report: dict, path: tuple[str, ...], message: str) -> None:
    target = report
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    with pytest.raises(VerifyInputError) as info:
        validate_report(report)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_validate_rejects_missing_assumption_key(report: dict) -> None:
    del report["assumptions"][1]["slack"]
    with pytest.raises(VerifyInputError, match=r"report.assumptions\[1\] is missing key 'slack'"):
        validate_report(report)


def test_validate_rejects_wrong_schema(report: dict) -> None:
    report["schema"] = "x"
    with pytest.raises(VerifyInputError) as info:
        validate_report(report)
    assert str(info.value) == "unsupported report schema 'x' (expected verify-report/1)"
    del report["schema"]
    with pytest.raises(VerifyInputError, match="missing key 'schema'"):
        validate_report(report)


@pytest.mark.parametrize("mutate, fragment", [
    (lambda r: r.update(seed="7"), "report.seed must be an integer or null"),
    (lambda r: r.update(seed=True), "report.seed must be an integer or null"),
    (lambda r: r.update(broken_assumption=3), "report.broken_assumption must be a string or null"),
    (lambda r: r.update(broken_assumption="nope"), "'nope' is not one of report.assumptions"),
    (lambda r: r.update(assumptions={}), "report.assumptions must be a list"),
    (lambda r: r["evidence"].update(precision_ok="yes"), "report.evidence.precision_ok must be a boolean"),
    (lambda r: r["evidence"].update(worst_ratio="big"), "evidence.worst_ratio must be a number or null"),
    (lambda r: r["evidence"].update(observed=[1.0]), "report.evidence.observed has 1 values"),
    (lambda r: r["evidence"].update(claimed=[1.0]), "report.evidence.claimed has 1 values"),
    (lambda r: r["evidence"]["t"].__setitem__(0, "ten"), r"report.evidence.t\[0\] must be a number"),
    (lambda r: r["confirmation"].append({"kind": "x", "verdict": "holds"}),
     r"report.confirmation\[2\] is missing key 'reason'"),
    (lambda r: r["confirmation"][0].update(evidence=[1]), r"report.confirmation\[0\].evidence must be"),
    (lambda r: r["confirmation"][0].update(agrees="yes"),
     r"^report.confirmation\[0\].agrees must be a boolean, got a string$"),
    (lambda r: r.update(kind=1), r"^report.kind must be a string, got an integer$"),
    (lambda r: r.update(theorem=[]), r"^report.theorem must be an object, got a list$"),
    (lambda r: r["theorem"].update(reference=5), r"^report.theorem.reference must be a string or an object, got an"),
    (lambda r: r["theorem"]["reference"].update(arxiv=2402),
     r"^report.theorem.reference.arxiv must be a string, got an integer$"),
    (lambda r: r["claim"].update(id=""), r"^report.claim.id must not be empty$"),
    (lambda r: r["claim"].update(reconstructions=[{"name": "eps"}]),
     r"^report.claim.reconstructions\[0\] is missing key 'statement'$"),
    (lambda r: r["assumptions"].__setitem__(0, "separable"), r"^report.assumptions\[0\] must be an object, got a"),
    (lambda r: r["versions"].update(numpy=1), r"^report.versions.numpy must be a string or null, got an integer$"),
    (lambda r: r.update(robustness=[{"name": "eps", "role": "default", "value": 0.5, "verdict": "violated"}]),
     r"^report.robustness\[0\] is missing key 'reason'$"),
])
def test_validate_rejects_wrong_types(report: dict, mutate, fragment: str) -> None:
    mutate(report)
    with pytest.raises(VerifyInputError, match=fragment):
        validate_report(report)


def test_reference_may_be_a_string(report: dict) -> None:
    report["theorem"]["reference"] = "Vasudeva et al. 2024, Theorem 2"
    assert validate_report(report) is report
    assert "- Reference: Vasudeva et al. 2024, Theorem 2" in render_markdown(report)


def test_validate_rejects_non_object() -> None:
    with pytest.raises(VerifyInputError, match="must be a JSON object"):
        validate_report([])  # type: ignore[arg-type]


def test_write_report_validates_first(report: dict, tmp_path: Path) -> None:
    del report["versions"]
    with pytest.raises(VerifyInputError, match="missing key 'versions'"):
        write_report(report, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_load_report_errors_name_the_file(report: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(VerifyInputError, match="bad.json: malformed JSON"):
        load_report(bad)
    wrong = tmp_path / "wrong.json"
    report["schema"] = "verify-report/9"
    wrong.write_text(dumps(report), encoding="utf-8")
    with pytest.raises(VerifyInputError, match=r"wrong.json: unsupported report schema 'verify-report/9'"):
        load_report(wrong)
    with pytest.raises(VerifyInputError, match="missing.json: no such file"):
        load_report(tmp_path / "missing.json")


def test_summarize_file(report: dict, tmp_path: Path) -> None:
    paths = write_report(report, tmp_path)
    text = summarize(paths["json"])
    assert "vdt24.global" in text
    assert "violated (status: confirmed)" in text
    assert "separable" in text and "slack 0.125" in text
    assert "step_size" in text and "slack -0.5" in text and "<- broken" in text
    assert "ratio " + f"{report['evidence']['worst_ratio']:.6g}" in text
    assert "-0.251235" in text
    assert "longer-horizon: violated; high-precision: violated" in text
    assert report["replay"] in text
    assert "[seed, abs: seed 001]" in text


def test_summarize_directory_sorted_by_claim(tmp_path: Path) -> None:
    b = example_report(claim_id="vdt24.local", verdict="holds")
    a = example_report(claim_id="vdt24.global")
    a["instance"]["n"] = 5
    c = example_report(claim_id="vdt24.global")  # same claim, different instance: a second file
    written = [write_report(r, tmp_path)["json"] for r in (b, a, c)]
    text = summarize(tmp_path)
    lines = text.splitlines()
    assert lines[0].split() == ["claim", "kind", "verdict", "status", "worst", "ratio", "file"]
    body = [line for line in lines[2:-1]]
    assert [line.split()[0] for line in body] == ["vdt24.global", "vdt24.global", "vdt24.local"]
    for path in written:
        assert path.name in text
    assert lines[-1] == f"3 reports in {tmp_path}"
    assert ".md" not in text and ".png" not in text


def test_summarize_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("not a report", encoding="utf-8")
    assert summarize(tmp_path) == f"no reports in {tmp_path}"


def test_summarize_directory_with_malformed_report(report: dict, tmp_path: Path) -> None:
    write_report(report, tmp_path)
    (tmp_path / "broken.json").write_text(json.dumps({"schema": "other/1"}), encoding="utf-8")
    with pytest.raises(VerifyInputError, match="broken.json: unsupported report schema 'other/1'"):
        summarize(tmp_path)


def test_summarize_missing_path(tmp_path: Path) -> None:
    with pytest.raises(VerifyInputError, match="no such file or directory"):
        summarize(tmp_path / "nowhere")


@pytest.mark.parametrize(("kind", "broken", "message"), [
    ("refutation", "step_size", "report.kind must be one of counterexample, audit"),
    ("counterexample", "step_size", "report.kind 'audit' goes with a broken_assumption"),
    ("audit", None, "report.kind 'audit' goes with a broken_assumption"),
])
def test_validate_rejects_a_kind_that_contradicts_the_report(report: dict, kind: str, broken: str | None,
                                                             message: str) -> None:
    report["kind"], report["broken_assumption"] = kind, broken
    with pytest.raises(VerifyInputError, match=message):
        validate_report(report)
