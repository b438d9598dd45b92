"""Bad input, case by case: every row is one command line (or setup) with its documented exit code and a fragment
of the one ``error:`` line it must print; no row may print a traceback or a second line on stderr.

Rows run in this process (``verify.cli.main``) and stop before any claim is searched, so the whole table takes
seconds. Covered elsewhere, not repeated here: broken plugins (tests/test_plugins.py), Ctrl-C during ``check``
writing the run summary and exiting 130, a closed pipe exiting 141 and ``--reports`` on a file refused before any
search (tests/test_edges.py), the n = 2000, T = 50, d = 200 instance refused from its bytes with the estimate
(tests/test_resources.py), an evaluator that raises (exit 3, tests/test_verdicts_cli.py).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from theorems.attention import classifier as ac
from theorems.attention.strategies import generate
from verify.cli import main
from verify.instance import dumps

# ---------------------------------------------------------------------------------------------- files
BASE = generate(2, 3, 6, seed=0).to_json()  # n = 2 sequences, T = 3 tokens, d = 6
FIRST = json.dumps(generate(2, 3, 6, seed=0).X[0, 0, 0])  # the text of X[0][0][0] in the file


def _text() -> str:
    return dumps(BASE)


def _with(**fields: Any) -> str:
    obj = json.loads(dumps(BASE))
    for k, v in fields.items():
        if v is None:
            obj.pop(k, None)
        else:
            obj[k] = v
    return dumps(obj)


def _tied() -> str:
    eye = np.eye(6)
    inst = ac.make_instance(np.stack([eye[[0, 1, 2]], eye[[3, 4, 5]]]), [1.0, 1.0],
                            [1.0, 1.0, 0.0, 1.0, 0.5, 0.0])  # sequence 0: tokens 0 and 1 tie exactly
    return dumps(inst.to_json())


def _manifest(seed: int = 0, claim: str = "vdt24.ngd-rate") -> str:
    """The manifest a real ``verify sweep CLAIM --seed SEED`` (quick, numpy) writes."""
    from verify.engine import settings_for
    from verify.profiles import claim_settings, get_profile
    from verify.registry import find_claim
    from verify.sweep import manifest

    module, _ = find_claim(claim)
    settings = settings_for(module, claim_settings(get_profile("quick"), seed).but(backend="numpy"))
    return dumps(manifest(claim, settings, "quick"))


def _sparse(path: Path, size: int = 200 * 2**20) -> None:
    """A 200 MB file that costs no disk: parsing it would need ~770 MB, so it is refused from its size."""
    with open(path, "wb") as fh:
        fh.truncate(size)


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


#: name -> what to put at tmp/NAME (text, bytes, or a callable that makes it).
FILES: dict[str, str | bytes | Callable[[Path], None]] = {
    "inst.json": _text(),
    "empty.json": "",
    "blank.json": "  \n\t\n",
    "words.json": "hello, world",
    "trailing.json": _text() + " {}",
    "binary.json": b"\xff\xfe\x00\x01",
    "array.json": "[1, 2, 3]",
    "null.json": "null",
    "number.json": "42",
    "string.json": '"an instance"',
    "no-schema.json": _with(schema=None),
    "foo-schema.json": _with(schema="foo/1"),
    "int-schema.json": _with(schema=3),
    "no-X.json": _with(X=None),
    "no-y.json": _with(y=None),
    "no-u.json": _with(u=None),
    "X-empty.json": _with(X=[]),
    "X-2d.json": _with(X=[[1.0] * 6, [0.0] * 6]),
    "X-ragged.json": _with(X=[[[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0, 4.0]]]),
    "X-object.json": _with(X={"rows": 2}),
    "T1.json": _with(X=[[[1.0] * 6], [[0.5] * 6]]),
    "d0.json": _with(X=[[[], []], [[], []]]),
    "y-long.json": _with(y=[1.0, -1.0, 1.0]),
    "u-short.json": _with(u=[1.0, 0.0]),
    "z-shape.json": _with(z=[[1.0] * 6]),
    "W0-shape.json": _with(W0=[[0.0] * 5] * 5),
    "y-labels.json": _with(y=[1.0, 0.5]),
    "y-bool.json": _with(y=[True, True]),
    "meta-list.json": _with(meta=[1, 2]),
    "nan.json": _text().replace(FIRST, "NaN", 1),
    "inf.json": _text().replace(FIRST, "Infinity", 1),
    "minus-inf.json": _text().replace(FIRST, "-Infinity", 1),
    "string-number.json": _text().replace(FIRST, '"0.5"', 1),
    "string-nan.json": _text().replace(FIRST, '"nan"', 1),
    "1e400.json": _text().replace(FIRST, "1e400", 1),
    "huge-int.json": _text().replace(FIRST, "1" + "0" * 400, 1),
    "tied.json": _tied(),
    "sparse.json": _sparse,
    "report-empty.json": "",
    "report-garbled.json": '{"schema": "verify-report/1", "kind": ',
    "report-stub.json": '{"schema": "verify-report/1"}',
    "sweep-result.json": json.dumps({"schema": "verify-sweep-result/1", "key": "x"}),
    "garbled-folder/a.json": "{x",
    "a-file": "not a folder",
    "sweep-seed0/manifest.json": lambda p: _write(p, _manifest(0)),
    "sweep-garbled/manifest.json": "{not json",
    "sweep-legacy/instances/0123456789abcdef-deadbeef.json": "{}",
}


def _materialize(tmp: Path, argv: list[str]) -> list[str]:
    """``{tmp}`` -> the test's folder; a file of FILES that an argument names, lies in or lies under is made
    first."""
    out = []
    for a in argv:
        if "{tmp}/" in a:
            rel = a.split("{tmp}/", 1)[1]
            for name, content in FILES.items():
                target = tmp / name
                named = name == rel or name.startswith(rel + "/") or rel.startswith(name + "/")
                if named and not target.exists():
                    if callable(content):
                        target.parent.mkdir(parents=True, exist_ok=True)
                        content(target)
                    else:
                        _write(target, content)
        out.append(a.replace("{tmp}", str(tmp)))
    return out


# ---------------------------------------------------------------------------------------------- setups
def _small_default_memory(tmp: Path, mp: pytest.MonkeyPatch) -> None:
    """A machine with 256 MB to spare: the default limit (half of MemAvailable) refuses the sparse file."""
    import verify.resources

    mp.setattr(verify.resources, "default_max_memory", lambda: 256 * 2**20)


def _read_only(folder: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def setup(tmp: Path, mp: pytest.MonkeyPatch) -> None:
        ro = tmp / folder
        ro.mkdir()
        ro.chmod(0o500)
        if os.geteuid() == 0:  # root writes anywhere: let the write probe fail as it would for anyone else
            real = tempfile.TemporaryFile

            def probe(*args: Any, **kwargs: Any) -> Any:
                if str(kwargs.get("dir", "")).startswith(str(ro)):
                    raise PermissionError(13, "Permission denied")
                return real(*args, **kwargs)

            mp.setattr(tempfile, "TemporaryFile", probe)

    return setup


def _nothing_runs(tmp: Path, mp: pytest.MonkeyPatch) -> None:
    """Refused before anything is searched: the engine's entry points fail the test if called."""
    import verify.engine

    def ran(*args: object, **kwargs: object) -> None:
        raise AssertionError("the search started before the input was refused")

    for name in ("check", "audit", "assess"):
        mp.setattr(verify.engine, name, ran)


# ---------------------------------------------------------------------------------------------- the table
I = "{tmp}/inst.json"
TRACE = ["trace", "--instance", I]
CHECK = ["check", "vdt24.ngd-rate", "--reports", "{tmp}/reports", "--quiet"]
SWEEP = ["sweep", "vdt24.ngd-rate", "--instances", "1", "--quiet"]


def row(case_id: str, argv: list[str], code: int, fragment: str,
        setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None) -> Any:
    return pytest.param(argv, code, fragment, setup, id=case_id)


CASES = [
    # --- instance files
    row("inst-missing-check", [*CHECK, "--instance", "{tmp}/nope.json"], 2, "nope.json: no such file", _nothing_runs),
    row("inst-empty", [*TRACE[:2], "{tmp}/empty.json"], 2, "empty.json: malformed JSON at line 1 column 1"),
    row("inst-empty-check", [*CHECK, "--instance", "{tmp}/empty.json"], 2, "malformed JSON", _nothing_runs),
    row("inst-blank", [*TRACE[:2], "{tmp}/blank.json"], 2, "malformed JSON at line 3"),
    row("inst-not-json", [*TRACE[:2], "{tmp}/words.json"], 2, "malformed JSON at line 1 column 1"),
    row("inst-trailing-data", [*TRACE[:2], "{tmp}/trailing.json"], 2, "Extra data"),
    row("inst-binary", [*TRACE[:2], "{tmp}/binary.json"], 2, "cannot read (UnicodeDecodeError"),
    row("inst-a-folder", [*TRACE[:2], "{tmp}"], 2, "cannot read (IsADirectoryError"),
    row("inst-json-array", [*TRACE[:2], "{tmp}/array.json"], 2, "an instance file must hold a JSON object"),
    row("inst-json-array-check", [*CHECK, "--instance", "{tmp}/array.json"], 2,
        "must hold a JSON object, got list", _nothing_runs),
    row("inst-json-null", [*TRACE[:2], "{tmp}/null.json"], 2, "must hold a JSON object"),
    row("inst-json-number", [*TRACE[:2], "{tmp}/number.json"], 2, "must hold a JSON object"),
    row("inst-json-string", [*TRACE[:2], "{tmp}/string.json"], 2, "must hold a JSON object"),
    row("inst-no-schema-check", [*CHECK, "--instance", "{tmp}/no-schema.json"], 2,
        "needs schema 'attention-classification/1', the file has None", _nothing_runs),
    row("inst-unknown-schema", [*TRACE[:2], "{tmp}/foo-schema.json"], 2, "unknown or missing schema 'foo/1'"),
    row("inst-schema-not-a-string", [*TRACE[:2], "{tmp}/int-schema.json"], 2, "unknown or missing schema 3"),
    row("inst-missing-X", [*TRACE[:2], "{tmp}/no-X.json"], 2, "missing required field 'X'"),
    row("inst-missing-y", [*TRACE[:2], "{tmp}/no-y.json"], 2, "missing required field 'y'"),
    row("inst-missing-u-check", [*CHECK, "--instance", "{tmp}/no-u.json"], 2,
        "no-u.json: missing required field 'u'", _nothing_runs),
    row("inst-X-empty", [*TRACE[:2], "{tmp}/X-empty.json"], 2, "field 'X' has shape 0, expected ? x ? x ?"),
    row("inst-X-2d", [*TRACE[:2], "{tmp}/X-2d.json"], 2, "field 'X' has shape 2 x 6, expected ? x ? x ?"),
    row("inst-X-ragged", [*TRACE[:2], "{tmp}/X-ragged.json"], 2, "a nested list of numbers with a regular shape"),
    row("inst-X-an-object", [*TRACE[:2], "{tmp}/X-object.json"], 2, "a nested list of numbers"),
    row("inst-one-token", [*TRACE[:2], "{tmp}/T1.json"], 2, "T >= 2, d >= 1; got 2 x 1 x 6"),
    row("inst-zero-dimension", [*TRACE[:2], "{tmp}/d0.json"], 2, "got 2 x 2 x 0"),
    row("inst-y-wrong-length", [*TRACE[:2], "{tmp}/y-long.json"], 2, "field 'y' has shape 3, expected 2"),
    row("inst-u-wrong-length", [*TRACE[:2], "{tmp}/u-short.json"], 2, "field 'u' has shape 2, expected 6"),
    row("inst-z-wrong-shape", [*TRACE[:2], "{tmp}/z-shape.json"], 2, "field 'z' has shape 1 x 6, expected 2 x 6"),
    row("inst-W0-wrong-shape", [*TRACE[:2], "{tmp}/W0-shape.json"], 2, "field 'W0' has shape 5 x 5, expected 6 x 6"),
    row("inst-labels-not-pm1", [*TRACE[:2], "{tmp}/y-labels.json"], 2, "labels -1 or +1"),
    row("inst-labels-booleans", [*TRACE[:2], "{tmp}/y-bool.json"], 2, "field 'y' must hold numbers, not booleans"),
    row("inst-meta-not-object", [*TRACE[:2], "{tmp}/meta-list.json"], 2, "field 'meta' must be a JSON object"),
    row("inst-NaN-literal", [*TRACE[:2], "{tmp}/nan.json"], 2, "non-finite number NaN is not allowed"),
    row("inst-Infinity-literal", [*TRACE[:2], "{tmp}/inf.json"], 2, "non-finite number Infinity is not allowed"),
    row("inst-minus-Infinity-check", [*CHECK, "--instance", "{tmp}/minus-inf.json"], 2,
        "non-finite number -Infinity", _nothing_runs),
    row("inst-string-for-number", [*TRACE[:2], "{tmp}/string-number.json"], 2,
        "field 'X' must hold numbers, not strings"),
    row("inst-string-nan", [*TRACE[:2], "{tmp}/string-nan.json"], 2, "not strings"),
    row("inst-1e400", [*TRACE[:2], "{tmp}/1e400.json"], 2, "beyond float64's range, such as 1e400"),
    row("inst-huge-integer", [*TRACE[:2], "{tmp}/huge-int.json"], 2, "field 'X' holds an integer beyond float64"),
    row("inst-tie-lp-md", [*TRACE[:2], "{tmp}/tied.json", "--method", "lp-md", "--p", "1.5", "--steps", "5"], 2,
        "not unique"),
    row("inst-200MB-trace", [*TRACE[:2], "{tmp}/sparse.json", "--max-memory", "512M"], 2,
        "refused: reading"),
    row("inst-200MB-check", [*CHECK, "--instance", "{tmp}/sparse.json"], 2,
        "over half of this machine's available memory", lambda t, mp: (_small_default_memory(t, mp),
                                                                        _nothing_runs(t, mp))),
    # --- parameters
    row("steps-negative", [*TRACE, "--steps", "-5"], 2, "--steps must be >= 1, got -5"),
    row("steps-zero", [*TRACE, "--steps", "0"], 2, "--steps must be >= 1, got 0"),
    row("steps-not-an-integer", [*TRACE, "--steps", "1e3"], 2, "argument --steps: invalid int value: '1e3'"),
    row("steps-10^12", [*TRACE, "--steps", str(10**12)], 2, "over the time limit (--max-time 60 s)"),
    row("steps-over-max-time", [*TRACE, "--steps", "2000000", "--max-time", "5"], 2, "(--max-time 5 s)"),
    row("checkpoints-beyond-steps", [*TRACE, "--checkpoints", "50,60", "--steps", "20"], 2,
        "must lie in 0..--steps (20); got [50, 60]"),
    row("checkpoints-negative", [*TRACE, "--checkpoints", "-1,5", "--steps", "20"], 2, "got [-1]"),
    row("checkpoints-empty", [*TRACE, "--checkpoints", ","], 2, "--checkpoints is empty"),
    row("checkpoints-fractional", [*TRACE, "--checkpoints", "1.5"], 2, "comma-separated integers, got '1.5'"),
    row("eta-zero-lp-md", [*TRACE, "--method", "lp-md", "--p", "1.5", "--eta", "0"], 2,
        "--eta must be a positive finite number"),
    row("eta-minus-one", [*TRACE, "--eta", "-1", "--steps", "5"], 2, "eta must be a positive finite number, got -1"),
    row("eta-nan-gd", [*TRACE, "--method", "gd", "--eta", "nan", "--steps", "5"], 2, "got nan"),
    row("eta-1e300", [*TRACE, "--eta", "1e300", "--steps", "20"], 2, "precision lost at t=1"),
    row("eta-1e300-mpmath", [*TRACE, "--eta", "1e300", "--steps", "3", "--backend", "mpmath", "--dps", "20"], 2,
        "raise --dps (got 20)"),
    row("dps-with-numpy", [*TRACE, "--steps", "20", "--dps", "40"], 2, "--dps sets the mpmath precision"),
    row("dps-zero", [*TRACE, "--steps", "5", "--backend", "mpmath", "--dps", "0"], 2,
        "--dps must be an integer >= 16"),
    row("dps-million", [*TRACE, "--steps", "10", "--backend", "mpmath", "--dps", "1000000"], 2,
        "mpmath at 1000000 digits), over the time limit (--max-time 60 s)"),
    row("method-unknown", [*TRACE, "--method", "newton"], 2, "argument --method: invalid choice: 'newton'"),
    row("backend-unknown", [*TRACE, "--backend", "cupy"], 2, "argument --backend: invalid choice: 'cupy'"),
    row("representation-unknown", [*TRACE, "--representation", "sparse"], 2, "invalid choice: 'sparse'"),
    row("normalize-unknown", [*TRACE, "--joint", "--normalize", "layer"], 2, "invalid choice: 'layer'"),
    row("p-one-lp-md", [*TRACE, "--method", "lp-md", "--p", "1", "--steps", "5"], 2, "p must lie in [1.01, 100.0]"),
    row("p-one-svm", ["svm", "--instance", I, "--p", "1"], 2, "p must lie in [1.01, 100.0]"),
    row("p-1000-lp-md", [*TRACE, "--method", "lp-md", "--p", "1000", "--steps", "5"], 2, "got 1000.0"),
    row("alpha-wrong-length", ["svm", "--instance", I, "--alpha", "0"], 2, "--alpha needs 2 entries"),
    row("alpha-out-of-range", ["svm", "--instance", I, "--alpha", "0,7"], 2, "alpha entries [7] are outside 0..2"),
    row("alpha-negative", ["svm", "--instance", I, "--alpha", "-1,0"], 2, "alpha entries [-1] are outside 0..2"),
    row("alpha-cone-out-of-range", [*TRACE, "--init", "cone", "--alpha", "0,9", "--steps", "5"], 2,
        "--alpha needs 2 token indices in [0, 3)"),
    row("init-scale-zero", [*TRACE, "--init", "random", "--init-scale", "0", "--steps", "5"], 2,
        "--init-scale must be a positive number"),
    row("cone-mu-one", [*TRACE, "--init", "cone", "--cone-mu", "1", "--steps", "5"], 2, "--cone-mu must lie in (0, 1)"),
    row("polyak-c-zero", [*TRACE, "--method", "polyak", "--polyak-c", "0", "--steps", "5"], 2,
        "polyak c must be a positive finite number"),
    row("max-time-negative", [*TRACE, "--max-time", "-5"], 2, "--max-time must be a positive number of seconds"),
    row("max-memory-negative", [*TRACE, "--max-memory", "-1G"], 2, "--max-memory must be a size"),
    row("audit-examples-zero", ["audit", "vdt24.ngd-rate", "--examples", "0", "--reports", "{tmp}/r"], 2,
        "--examples must be >= 1, got 0", _nothing_runs),
    row("audit-examples-negative", ["audit", "vdt24.ngd-rate", "--examples", "-2", "--reports", "{tmp}/r"], 2,
        "--examples must be >= 1, got -2", _nothing_runs),
    row("check-seed-not-an-integer", [*CHECK, "--seed", "x"], 2, "argument --seed: invalid int value: 'x'"),
    row("sweep-profile-unknown", [*SWEEP, "--profile", "fast", "--results", "{tmp}/s"], 2, "unknown profile 'fast'"),
    row("sweep-instances-negative", ["sweep", "vdt24.ngd-rate", "--instances", "-3", "--results", "{tmp}/s"], 2,
        "--instances must be >= 1, got -3"),
    # --- claims
    row("claim-unknown-id", [*CHECK[:1], "vdt24.ngd_rate", "--reports", "{tmp}/r"], 2,
        "unknown claim id 'vdt24.ngd_rate'", _nothing_runs),
    row("claim-unknown-among-known", ["check", "vdt24.ngd-rate", "no.such", "--reports", "{tmp}/r"], 2,
        "unknown claim id 'no.such'", _nothing_runs),
    row("claim-all-with-ids", ["check", "--all", "vdt24.ngd-rate", "--reports", "{tmp}/r"], 2,
        "either --all or claim ids", _nothing_runs),
    row("claim-list-empty", ["check", "--reports", "{tmp}/r"], 2, "name at least one claim id, or pass --all"),
    row("claim-empty-id", ["check", "", "--reports", "{tmp}/r"], 2, "unknown claim id ''"),
    row("claim-missing-audit", ["audit"], 2, "the following arguments are required: CLAIM"),
    # --- reports
    row("replay-missing", ["replay", "{tmp}/nope.json"], 2, "nope.json: no such file"),
    row("replay-empty", ["replay", "{tmp}/report-empty.json"], 2, "malformed JSON at line 1 column 1"),
    row("replay-garbled", ["replay", "{tmp}/report-garbled.json"], 2, "malformed JSON"),
    row("replay-json-array", ["replay", "{tmp}/array.json"], 2, "a report must be a JSON object, got a list"),
    row("replay-an-instance", ["replay", I], 2, "unsupported report schema 'attention-classification/1'"),
    row("replay-a-sweep-result", ["replay", "{tmp}/sweep-result.json"], 2,
        "unsupported report schema 'verify-sweep-result/1'"),
    row("replay-missing-keys", ["replay", "{tmp}/report-stub.json"], 2, "report is missing key 'kind'"),
    row("replay-a-folder", ["replay", "{tmp}"], 2, "cannot read (IsADirectoryError"),
    row("show-missing", ["show", "{tmp}/nope"], 2, "nope: no such file or directory"),
    row("show-garbled", ["show", "{tmp}/report-garbled.json"], 2, "malformed JSON"),
    row("show-other-schema", ["show", I], 2, "unsupported report schema"),
    row("show-folder-with-a-garbled-report", ["show", "{tmp}/garbled-folder"], 2, "a.json: malformed JSON"),
    row("show-html-into-a-file", ["show", "{tmp}", "--html", "{tmp}/a-file"], 2, "exists and is not a folder"),
    row("show-html-of-missing", ["show", "{tmp}/nope", "--html"], 2, "nope: no such file or directory"),
    # --- filesystem
    row("reports-under-a-file", [*CHECK[:2], "--reports", "{tmp}/a-file/reports", "--quiet"], 2,
        "--reports {tmp}/a-file/reports: not writable", _nothing_runs),
    row("reports-read-only", [*CHECK[:2], "--reports", "{tmp}/ro", "--quiet"], 2, "not writable (Permission denied)",
        lambda t, mp: (_read_only("ro")(t, mp), _nothing_runs(t, mp))),
    row("audit-reports-under-a-file", ["audit", "vdt24.global", "--reports", "{tmp}/a-file/r"], 2,
        "not writable", _nothing_runs),
    row("results-a-file", [*SWEEP, "--results", "{tmp}/a-file"], 2,
        "--results {tmp}/a-file: exists and is not a folder"),
    row("results-under-a-file", [*SWEEP, "--results", "{tmp}/a-file/r"], 2, "cannot create or write"),
    row("results-read-only", [*SWEEP, "--results", "{tmp}/ro"], 2, "(Permission denied)", _read_only("ro")),
    row("results-other-seed", [*SWEEP, "--seed", "3", "--results", "{tmp}/sweep-seed0"], 2,
        "differs in seed 0 -> 3"),
    row("results-other-claim", ["sweep", "vdt24.ps-rate", "--instances", "1", "--quiet", "--results",
                                "{tmp}/sweep-seed0"], 2,
        "differs in claim 'vdt24.ngd-rate' -> 'vdt24.ps-rate'"),
    row("results-other-backend", [*SWEEP, "--backend", "torch", "--results", "{tmp}/sweep-seed0"], 2,
        "differs in backend 'numpy' -> 'torch'"),
    row("results-garbled-manifest", [*SWEEP, "--results", "{tmp}/sweep-garbled"], 2,
        "unreadable sweep manifest"),
    row("results-without-manifest-of-another-sweep",
        [*SWEEP, "--results", "{tmp}/sweep-legacy"], 2,
        "holds results of another sweep (settings deadbeef; no manifest)"),
]


@pytest.mark.parametrize(("argv", "code", "fragment", "setup"), CASES)
def test_bad_input(argv: list[str], code: int, fragment: str, setup: Any, tmp_path: Path,
                   capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    if "torch" in argv:
        pytest.importorskip("torch")
    argv = _materialize(tmp_path, argv)
    if setup is not None:
        setup(tmp_path, monkeypatch)
    rc = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    lines = err.strip().splitlines()
    assert rc == code, (rc, out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment.replace("{tmp}", str(tmp_path)) in lines[0], (fragment, lines[0])


def test_the_table_is_large_and_its_ids_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)


def test_a_run_that_loses_precision_prints_its_rows_up_to_there(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """--eta 1e300: the JSON rows stop at the first checkpoint that lost precision (flagged), no numpy warning."""
    f = _materialize(tmp_path, [I])[0]
    with _no_warnings():
        assert main([*TRACE[:2], f, "--eta", "1e300", "--steps", "20", "--json"]) == 2
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert rows[-1]["precision_ok"] is False and all(r["precision_ok"] for r in rows[:-1])
    assert err.count("\n") == 1 and "RuntimeWarning" not in err
    assert main([*TRACE[:2], f, "--eta", "1e300", "--steps", "20"]) == 2
    text = capsys.readouterr().out
    assert "10^-1.5" in text and max(len(line) for line in text.splitlines()) < 120  # no 300-digit exponents


class _no_warnings:  # noqa: N801 - a context manager read as a phrase
    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings(record=True)
        self.seen = self._cm.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(*exc)
        assert not [w for w in self.seen if issubclass(w.category, RuntimeWarning)], self.seen
