"""verify.lazy: cvxpy imported through the lazy proxy finds the same installed solvers as a plain import (and
solves), and skips only the probe that cannot succeed (jax, for MPAX, when mpax is absent); jax still imports
afterwards. Each case runs in a fresh interpreter, so that nothing is imported already."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from verify.lazy import _installed

SOLVERS = "from cvxpy.reductions.solvers.defines import INSTALLED_SOLVERS as s"  # what cvxpy picks solvers from
PLAIN = f"import json, sys, cvxpy; {SOLVERS}; print(json.dumps([s, 'jax' in sys.modules]))"
LAZY = ("import json, sys; from verify.lazy import lazy_module; cp = lazy_module('cvxpy'); x = cp.Variable(2)\n"
        "cp.Problem(cp.Minimize(cp.sum_squares(x)), [x >= 1]).solve(solver='CLARABEL')\n"
        f"{SOLVERS}; probed = 'jax' in sys.modules; assert abs(x.value - 1).max() < 1e-6\n"
        "try:\n    import jax; ok = jax.numpy is not None\nexcept ImportError:\n    ok = None\n"
        "print(json.dumps([s, probed, ok]))")


def _run(code: str) -> list:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_lazy_cvxpy_finds_the_same_solvers_without_the_futile_probe() -> None:
    plain_solvers, plain_probed = _run(PLAIN)
    lazy_solvers, lazy_probed, jax_after = _run(LAZY)
    assert lazy_solvers == plain_solvers and "CLARABEL" in lazy_solvers
    if _installed("jax") and not _installed("mpax"):
        assert plain_probed, "cvxpy no longer imports jax for its MPAX probe: FUTILE_PROBES can go"
        assert not lazy_probed
        assert jax_after is True  # hidden only while cvxpy was imported
    else:
        pytest.skip("jax is not installed, or mpax is: there is no futile probe to skip here")


def test_with_other_threads_running_nothing_is_hidden() -> None:
    code = ("import json, sys, threading, time; from verify.lazy import import_without_futile_probes\n"
            "t = threading.Thread(target=time.sleep, args=(3,)); t.start()\n"
            "import_without_futile_probes('cvxpy'); print(json.dumps(['jax' in sys.modules]))")
    (probed,) = _run(code)
    assert probed == _installed("jax")  # the MPAX probe ran (and imported jax), as in a plain import
