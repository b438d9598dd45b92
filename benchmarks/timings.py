"""Wall-clock timings that the tests used to assert (tests keep only what is not a timing).

    .venv/bin/python benchmarks/timings.py [--only svm,refusal,reports,mpmath] [--long] [--out FILE]

- ``svm``: the certified Att-SVM at n = 200, T = 20, d = 50 (``generate(200, 20, 50, 0, "gaussian")``; the size
  that used to run past 240 s with 2.1 GB). Target 60 s on an idle machine. tests/test_svm.py checks that it is
  certified with tiny KKT residuals.
- ``refusal``: ``verify svm`` on an n = 2000, T = 50, d = 200 instance file under ``--max-memory 8G``. Target 10 s
  (it is refused from the file's bytes). tests/test_resources.py checks the one-line refusal with its estimate,
  and that the file is not parsed.
- ``reports``: ``verify check vdt24.ngd-rate --reports FILE`` with FILE an ordinary file. Target 5 s (refused
  before any search). tests/test_edges.py checks the refusal and that nothing is searched.
- ``mpmath``: 50-digit NGD on tests/test_numerics.py's instance (``generate(4, 5, 40, 0, "gaussian")``, Gram
  representation, eta = 0.1) over 2000 steps, in ms per step (measured ~13-14 ms on 2 shared cores); ``--long``
  adds the 10^4-step run (~140 s). tests/test_numerics.py checks that it agrees with float64.

Each row: seconds, the target where there is one, and whether it was met. The figures depend on the machine and
its load; nothing here is a pass/fail test (the exit status is 0 unless a measured command itself failed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _svm() -> dict:
    from theorems.attention import classifier as ac
    from theorems.attention.strategies import generate
    from theorems.attention.svm import solve_att_svm

    inst = generate(200, 20, 50, 0, "gaussian")
    t0 = time.perf_counter()
    sol = solve_att_svm(inst.X, inst.z, [int(a) for a in ac.optimal_tokens(inst)])
    return {"seconds": time.perf_counter() - t0, "target_s": 60.0, "ok": bool(sol.certified),
            "note": f"certified={sol.certified}, status={sol.status}"}


def _quiet_main(argv: list[str]) -> tuple[int, str]:
    from verify.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    return rc, err.getvalue().strip()


def _refusal() -> dict:
    from test_resources import _attention_file  # the file the test writes

    with tempfile.TemporaryDirectory() as d:
        f = _attention_file(Path(d) / "huge.json", 2000, 50, 200)
        t0 = time.perf_counter()
        rc, err = _quiet_main(["svm", "--instance", str(f), "--max-memory", "8G"])
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "target_s": 10.0, "ok": rc == 2 and "refused" in err, "note": err[:100]}


def _reports() -> dict:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "afile"
        f.write_text("x")
        t0 = time.perf_counter()
        rc, err = _quiet_main(["check", "vdt24.ngd-rate", "--reports", str(f), "--quiet"])
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "target_s": 5.0, "ok": rc == 2, "note": err[:100]}


def _mpmath(steps: int) -> Callable[[], dict]:
    def measure() -> dict:
        import math

        from theorems.attention import classifier as ac
        from theorems.attention.strategies import generate
        from verify.backends import mpmath_backend
        from verify.methods import make_rule
        from verify.trajectory import run

        inst = generate(4, 5, 40, 0, tokens="gaussian")
        problem = ac.build_problem(mpmath_backend(50), ac.stack([inst]), "gram")
        t0 = time.perf_counter()
        tr = run(problem, make_rule("ngd", 0.1), steps, [steps])
        seconds = time.perf_counter() - t0
        finite = math.isfinite(float(tr.series("log_grad_norm")[-1]))
        return {"seconds": seconds, "target_s": None, "ok": finite,
                "note": f"{1000 * seconds / steps:.1f} ms/step over {steps} steps (50 digits)"}

    return measure


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="svm,refusal,reports,mpmath", help="comma-separated sections")
    ap.add_argument("--long", action="store_true", help="also the 10^4-step mpmath run (~140 s)")
    ap.add_argument("--out", help="write the rows as JSON here")
    args = ap.parse_args(argv)
    sections: dict[str, Callable[[], dict]] = {"svm": _svm, "refusal": _refusal, "reports": _reports,
                                               "mpmath": _mpmath(2000)}
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in sections]
    if unknown:
        ap.error(f"unknown section(s) {unknown}; expected some of {', '.join(sections)}")
    if args.long and "mpmath" in wanted:
        sections["mpmath-1e4"] = _mpmath(10_000)
        wanted.append("mpmath-1e4")
    rows: dict[str, dict] = {}
    for name in wanted:
        row = sections[name]()
        t = row["target_s"]
        row["within_target"] = None if t is None else row["seconds"] <= t
        rows[name] = row
        target = "" if t is None else f" (target {t:g} s: {'met' if row['within_target'] else 'MISSED'})"
        print(f"{name:<11} {row['seconds']:8.2f} s{target}; {row['note']}", flush=True)
    if args.out:
        from verify.instance import atomic_write_text

        meta = {"python": sys.version.split()[0], "platform": platform.platform()}
        atomic_write_text(args.out, json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return 0 if all(r["ok"] for r in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
