"""Memory and time estimates of the attention model's heavy steps (see :mod:`verify.resources` for the limits).

- :func:`svm_estimate`: the Att-SVM solve and certificate of :mod:`theorems.attention.svm` (working-set dual QP
  + mpmath polish on the active set);
- :func:`dense_svm_estimate`: a max-margin solve on the dense rows (the relaxed Att-SVM, the lp-Att-SVMs);
- :func:`trajectory_estimate`: one batched run of :func:`verify.trajectory.run` (``verify trace``);
- :func:`sniff_attention_shape`: (n, T, d) of an instance file from its bytes, without building Python objects,
  so a hopeless input is refused before it is even parsed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from verify.resources import BASE_BYTES, FLOAT_OP_SECONDS, MP_OP_SECONDS, MPF_BYTES, OBJ_ENTRY_BYTES, Estimate

#: Bytes of resident memory per entry of the working set's dense Gram matrix in the Clarabel solve (the matrix,
#: cvxpy's upper-triangular copy, Clarabel's KKT matrix and its LDL factor; measured 70-150).
GRAM_ENTRY_BYTES = 150
#: Seconds per flop of Clarabel's dense-ish LDL (faer, measured ~7 GFlop/s on 2 cores).
SOLVER_FLOP_SECONDS = 1.5e-10
#: Extra rows a working-set round may add beyond d^2 (the most rows a linearly independent support can have).
WORKING_SET_SLACK = 500


def svm_working_set(n: int, T: int, d: int) -> int:
    """The largest working set the Att-SVM solve may hold: every row when there are few, else d^2 plus a round."""
    m = n * (T - 1)
    return min(m, d * d + WORKING_SET_SLACK)


def svm_estimate(n: int, T: int, d: int, *, dps: int = 50) -> Estimate:
    """The Att-SVM (``theorems.attention.svm.solve_att_svm``): memory and time of the float solve and the certificate.

    With m = n(T-1) rows, a working set of at most s = min(m, d^2 + 500) rows (:func:`svm_working_set`) and a
    typical one of s' = min(m, d^2/2 + 500) (measured supports are about 0.4 d^2):

    - memory = base (250 MB) + 8 nTd (X) + 24 md (the difference rows u_k and two row-sized temporaries)
      + 150 s^2 (the dense s x s Gram matrix through cvxpy and Clarabel: matrix, upper-triangular copy, KKT
      matrix, LDL factor) + 150 (sd + nd + 3d^2) (mpmath numbers at 50 digits; x dps/50);
    - time = 5 working-set rounds of 10 interior-point iterations, each s'^3/3 flops at ~7 GFlop/s, plus the
      certificate: about 10 passes of 2 n d^2 + s d mpmath multiply-adds at 0.7 us (x dps/50).
    """
    m = n * (T - 1)
    s = svm_working_set(n, T, d)
    s_typ = min(m, d * d // 2 + WORKING_SET_SLACK)
    scale = max(1.0, dps / 50)
    mem = (BASE_BYTES + 8 * n * T * d + 24 * m * d + GRAM_ENTRY_BYTES * s * s
           + MPF_BYTES * scale * (s * d + n * d + 3 * d * d))
    flops = 5 * (10 * s_typ**3 / 3 + s_typ * s_typ * d) + 10 * (m * d + n * d * d)
    secs = flops * SOLVER_FLOP_SECONDS + 10 * (2 * n * d * d + s_typ * d) * MP_OP_SECONDS * scale
    return Estimate("the certified Att-SVM", int(mem), secs,
                    f"n={n}, T={T}, d={d}: {m} constraints, working set up to {s} rows, {dps} digits")


def dense_svm_estimate(n: int, T: int, d: int, *, dps: int = 50, p: float = 2.0) -> Estimate:
    """A max-margin solve on the dense m x d^2 rows (the relaxed Att-SVM of :mod:`theorems.attention.svm` and
    the lp-Att-SVM of :mod:`theorems.attention.svm_lp`): float64 rows through cvxpy and Clarabel (about 10 copies
    of 8 m d^2 bytes), and for p != 2 the mpmath rows themselves (150 m d^2 bytes at 50 digits); time ~ 10 min(m,
    d^2)^3 / 3 flops."""
    m = n * (T - 1)
    scale = max(1.0, dps / 50)
    mem = BASE_BYTES + 80 * m * d * d + (MPF_BYTES * scale * m * d * d if p != 2.0 else 3 * MPF_BYTES * scale * m * d)
    secs = 10 * min(m, d * d) ** 3 / 3 * FLOAT_OP_SECONDS + 10 * m * d * d * MP_OP_SECONDS * scale
    kind = "the relaxed Att-SVM" if p == 2.0 else f"the l{p:g}-Att-SVM"
    return Estimate(kind, int(mem), secs,
                    f"n={n}, T={T}, d={d}: {m} dense constraints of {d * d} entries, {dps} digits")


def trajectory_estimate(n: int, T: int, d: int, *, steps: int, checkpoints: int, batch: int = 1,
                        backend: str = "numpy", representation: str = "gram", dps: int = 50) -> Estimate:
    """One batched run (``verify.trajectory.run``) of B = ``batch`` instances.

    Per instance, with N = nT tokens: the Gram representation holds K and |K| (2 N^2 numbers) and per step
    costs about 4 N^2 multiply-adds; the dense one holds W and its gradient (a few d^2, plus nTd for the tokens)
    and costs about 4 N d^2 per step. Records: each checkpoint keeps the iterate (N coefficients or d^2 entries)
    and, for ``verify trace``, W (d^2) once rebuilt. numpy/torch: 8 bytes and 0.5 ns per number and operation;
    mpmath: 150 bytes and 1 us (x dps/50).
    """
    N = n * T
    if representation == "gram":
        state, per_step, record = 3 * N * N + 4 * N * d, 4 * N * N, N + d * d
    else:
        state, per_step, record = 6 * d * d + 4 * N * d, 4 * N * d * d, 2 * d * d
    mp = backend == "mpmath"
    entry = OBJ_ENTRY_BYTES * max(1.0, dps / 50) if mp else 8
    op = 1e-6 * max(1.0, dps / 50) if mp else FLOAT_OP_SECONDS
    mem = BASE_BYTES + batch * (entry * state + 8 * record * checkpoints)
    secs = batch * per_step * steps * op
    return Estimate("the trajectory", int(mem), secs,
                    f"n={n}, T={T}, d={d}, {steps} steps, {checkpoints} checkpoints, batch {batch}, {representation}, "
                    f"{backend}" + (f" at {dps} digits" if mp else " float64"))


# ---------------------------------------------------------------------------------------- shape sniffing
_CLOSE2 = re.compile(rb"\]\s*\]")
_OPEN3 = re.compile(rb'"X"\s*:\s*\[\s*\[\s*\[')
_CLOSE3 = re.compile(rb"\]\s*\]\s*\]")


def sniff_attention_shape(path: str | os.PathLike, *, min_bytes: int = 16 * 2**20) -> tuple[int, int, int] | None:
    """(n, T, d) of the ``X`` array of an attention instance file, read from its bytes (no Python floats).

    Only for files of at least ``min_bytes`` (smaller ones are cheap to parse). Returns None whenever the text
    is not the plain nested-list layout this expects, or the comma count does not match a rectangular
    (n, T, d) array exactly; the caller then parses the file as usual (and its loader reports what is wrong).
    """
    try:
        if os.stat(path).st_size < min_bytes:
            return None
        data = Path(path).read_bytes()
    except OSError:
        return None
    start = _OPEN3.search(data)
    if start is None:
        return None
    i0 = start.end()  # just after the third '['
    end = _CLOSE3.search(data, i0)
    first_tok = data.find(b"]", i0)
    first_seq = _CLOSE2.search(data, i0)
    if end is None or first_tok < 0 or first_seq is None:
        return None
    if data.find(b"[", i0, first_tok) >= 0:
        return None
    d = data.count(b",", i0, first_tok) + 1
    T = data.count(b"[", i0, first_seq.start()) + 1
    opens = data.count(b"[", i0, end.start())  # n(T + 1) - 2: every '[' of X but the first three
    n, rem = divmod(opens + 2, T + 1)
    commas = data.count(b",", i0, end.start())
    if rem or min(n, T, d) < 1 or commas != n * T * (d - 1) + n * (T - 1) + (n - 1):
        return None
    return n, T, d


