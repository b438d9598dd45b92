"""Memory and time estimates before any heavy step, and the one-line refusal when an estimate exceeds the limit.

Engine-neutral: this module knows shapes (n sequences, T tokens, dimension d, steps, checkpoints, batch,
precision), never a model, and imports nothing from ``theorems/``.

- :func:`svm_estimate`: the Att-SVM solve and certificate of :mod:`theorems.attention.svm` (working-set dual QP + mpmath
  polish on the active set);
- :func:`trajectory_estimate`: one batched run of :func:`verify.trajectory.run` (``verify trace``);
- :func:`parse_estimate`: parsing a JSON instance file (Python floats and lists cost about 2.6 bytes of memory
  per byte of indented JSON, measured on ``attention-classification/1`` files);
- :func:`sniff_attention_shape`: (n, T, d) of an instance file from its bytes, without building Python objects,
  so a hopeless input is refused before it is even parsed;
- :func:`enforce`: raise :class:`~verify.errors.VerifyInputError` with one line giving the estimate and the limit.

The default memory limit is half of ``MemAvailable`` in ``/proc/meminfo`` (:func:`default_max_memory`): a
refused run leaves the other half to everyone else on a shared machine. ``--max-memory`` overrides it
(:func:`parse_size`: ``8G``, ``512M``, ``2.5GiB``, a number of bytes, or ``none``).

The constants below were measured on this code (``/usr/bin/time -v``, numpy float64, mpmath without gmpy2);
they are meant to be right within a factor of about 2, which is all a refusal needs.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from verify.errors import VerifyInputError

#: Resident memory of a Python process with numpy, scipy, mpmath and cvxpy imported (measured ~230 MB).
BASE_BYTES = 250 * 2**20
#: Bytes of resident memory per entry of the working set's dense Gram matrix in the Clarabel solve (the matrix,
#: cvxpy's upper-triangular copy, Clarabel's KKT matrix and its LDL factor; measured 70-150).
GRAM_ENTRY_BYTES = 150
#: Bytes per mpmath number at 50 digits (object, mantissa, list slot).
MPF_BYTES = 150
#: Bytes per numpy object-array entry of the mpmath backend.
OBJ_ENTRY_BYTES = 150
#: Seconds per multiply-add: mpmath fdot at 50 digits (pure-Python backend) and float64 numpy / BLAS.
MP_OP_SECONDS = 0.7e-6
FLOAT_OP_SECONDS = 0.5e-9
#: Seconds per flop of Clarabel's dense-ish LDL (faer, measured ~7 GFlop/s on 2 cores).
SOLVER_FLOP_SECONDS = 1.5e-10
#: Bytes of memory per byte of instance JSON while it is parsed.
PARSE_BYTES_PER_BYTE = 2.6
#: Extra rows a working-set round may add beyond d^2 (the most rows a linearly independent support can have).
WORKING_SET_SLACK = 500


@dataclass(frozen=True)
class Estimate:
    """Peak resident memory (bytes) and wall time (seconds) of one heavy step, with the sizes they rest on."""

    what: str
    bytes: int
    seconds: float
    detail: str

    def describe(self) -> str:
        return f"{self.what} needs about {fmt_bytes(self.bytes)} and {fmt_seconds(self.seconds)} ({self.detail})"


def fmt_bytes(b: float) -> str:
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{int(b)} B"


def fmt_seconds(s: float) -> str:
    if s < 1:
        return "under a second"
    if s < 120:
        return f"{s:.0f} s"
    if s < 2 * 3600:
        return f"{s / 60:.0f} min"
    if s < 3 * 86400:
        return f"{s / 3600:.0f} h"
    return f"{s / 86400:.3g} days"


# ---------------------------------------------------------------------------------------------- limits
def mem_available(meminfo: str | os.PathLike = "/proc/meminfo") -> int | None:
    """``MemAvailable`` in bytes, or None when it cannot be read (not Linux)."""
    try:
        text = Path(meminfo).read_text()
    except OSError:
        return None
    m = re.search(r"^MemAvailable:\s+(\d+)\s*kB", text, flags=re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def default_max_memory() -> int:
    """Half of ``MemAvailable``; 4 GiB when the machine does not say."""
    avail = mem_available()
    return avail // 2 if avail else 4 * 2**30


_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}


def parse_size(text: str) -> int | None:
    """``--max-memory``: ``8G``, ``512MB``, ``2.5GiB``, ``1e9`` (bytes); ``none``, ``0`` or ``inf``: no limit (None).

    A bare ``G``/``M``/``K`` is decimal (as in ``GB``); ``GiB`` etc. are binary.
    """
    s = str(text).strip().lower().replace(" ", "")
    if s in ("none", "0", "inf", "unlimited"):
        return None
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)([a-z]*)", s)
    if not m or m.group(2) not in _UNITS:
        raise VerifyInputError(f"--max-memory must be a size such as 8G, 512M, 2GiB or none; got {text!r}")
    value = float(m.group(1)) * _UNITS[m.group(2)]
    if not (math.isfinite(value) and value >= 1):
        raise VerifyInputError(f"--max-memory must be at least 1 byte (or none); got {text!r}")
    return int(value)


def option_limit(text: str | None) -> int | None | object:
    """The value of a ``--max-memory`` option: not given (None) -> ``DEFAULT``, else :func:`parse_size`."""
    return DEFAULT if text is None else parse_size(text)


def resolve_limit(max_memory: int | str | None | object) -> int | None:
    """``DEFAULT`` -> :func:`default_max_memory`; a string -> :func:`parse_size`; an int or None as given."""
    if max_memory is DEFAULT:
        return default_max_memory()
    if isinstance(max_memory, str):
        return parse_size(max_memory)
    if max_memory is None:
        return None
    if isinstance(max_memory, bool) or not isinstance(max_memory, int) or max_memory < 1:
        raise VerifyInputError(f"max_memory must be a positive number of bytes or None; got {max_memory!r}")
    return max_memory


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


#: Sentinel: "the machine's default limit" (half of MemAvailable), resolved when the check runs.
DEFAULT = _Default()


def enforce(est: Estimate, max_memory: int | str | None | object = DEFAULT, *, max_seconds: float | None = None,
            hint: str = "--max-memory") -> None:
    """Raise a one-line :class:`VerifyInputError` when ``est.bytes`` exceeds the memory limit (None: no limit), or
    ``est.seconds`` exceeds ``max_seconds`` (None, the default: no time limit; ``--max-time`` on the CLI)."""
    limit = resolve_limit(max_memory)
    if limit is not None and est.bytes > limit:
        origin = "half of this machine's available memory" if max_memory is DEFAULT else "the limit"
        raise VerifyInputError(
            f"refused: {est.describe()}, over {origin} ({hint} {fmt_bytes(limit)}); raise {hint} or use a smaller "
            "instance")
    if max_seconds is not None and est.seconds > max_seconds:
        raise VerifyInputError(
            f"refused: {est.describe()}, over the time limit (--max-time {max_seconds:g} s); raise --max-time "
            "(or pass none) or use a smaller instance")


#: ``verify svm`` and ``verify trace`` refuse an Att-SVM whose estimated time exceeds this (``--max-time``).
DEFAULT_MAX_SECONDS = 60.0


def parse_seconds(text: str | None) -> float | None:
    """``--max-time``: seconds (> 0), or ``none``/``0``/``inf`` for no limit; not given -> the default 60 s."""
    if text is None:
        return DEFAULT_MAX_SECONDS
    s = str(text).strip().lower()
    if s in ("none", "0", "inf", "unlimited"):
        return None
    try:
        v = float(s.removesuffix("s"))
    except ValueError:
        raise VerifyInputError(f"--max-time must be a number of seconds or none; got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise VerifyInputError(f"--max-time must be a positive number of seconds or none; got {text!r}")
    return v


# ------------------------------------------------------------------------------------------- estimates
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
    """A max-margin solve on the dense m x d^2 rows (the relaxed Att-SVM of ``theorems.attention.svm`` and the lp-Att-SVM of
    ``theorems.attention.svm_lp``): float64 rows through cvxpy and Clarabel (about 10 copies of 8 m d^2 bytes), and for
    p != 2 the mpmath rows themselves (150 m d^2 bytes at 50 digits); time ~ 10 min(m, d^2)^3 / 3 flops."""
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


def parse_estimate(path: str | os.PathLike) -> Estimate | None:
    """Parsing the JSON file at ``path`` (None when its size cannot be read)."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    return Estimate(f"reading {path}", int(BASE_BYTES + PARSE_BYTES_PER_BYTE * size), size / 60e6,
                    f"{fmt_bytes(size)} of JSON")


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


def precheck_file(path: str | os.PathLike, max_memory: int | str | None | object,
                  estimate: Callable[[int, int, int], Estimate] | None = None, *,
                  max_seconds: float | None = None) -> None:
    """Before parsing an instance file: refuse when parsing it, or (when its (n, T, d) can be read from the bytes,
    :func:`sniff_attention_shape`) the step ``estimate(n, T, d)`` would exceed the limit. Silent otherwise; the
    caller checks the real estimate again once the instance is loaded."""
    est = parse_estimate(path)
    if est is not None:
        enforce(est, max_memory)
    if estimate is not None:
        shape = sniff_attention_shape(path)
        if shape is not None:
            enforce(estimate(*shape), max_memory, max_seconds=max_seconds)
