"""Memory and time estimates before any heavy step, and the one-line refusal when an estimate exceeds the limit.

Engine-neutral: this module knows bytes, seconds and files, never a model, and imports nothing from
``theorems/``. A model supplies its own estimates as :class:`Estimate` values (each model keeps its own next to
its code) and calls :func:`enforce` before its heavy steps.

- :func:`parse_estimate`: parsing a JSON instance file (Python floats and lists cost about 2.6 bytes of memory
  per byte of indented JSON);
- :func:`precheck_file`: before parsing a file, refuse when parsing it, or the step a model estimates from the
  shape it reads off the file's bytes (``sniff``), would exceed the limit;
- :func:`enforce`: raise :class:`~verify.errors.VerifyInputError` with one line giving the estimate and the limit.

The default memory limit is half of ``MemAvailable`` in ``/proc/meminfo`` (:func:`default_max_memory`): a
refused run leaves the other half to everyone else on a shared machine. ``--max-memory`` overrides it
(:func:`parse_size`: ``8G``, ``512M``, ``2.5GiB``, a number of bytes, or ``none``).

The constants below were measured (``/usr/bin/time -v``, numpy float64, mpmath without gmpy2); they are meant to
be right within a factor of about 2, which is all a refusal needs.
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
#: Bytes per mpmath number at 50 digits (object, mantissa, list slot).
MPF_BYTES = 150
#: Bytes per numpy object-array entry of the mpmath backend.
OBJ_ENTRY_BYTES = 150
#: Seconds per multiply-add: mpmath fdot at 50 digits (pure-Python backend) and float64 numpy / BLAS.
MP_OP_SECONDS = 0.7e-6
FLOAT_OP_SECONDS = 0.5e-9
#: Bytes of memory per byte of instance JSON while it is parsed.
PARSE_BYTES_PER_BYTE = 2.6


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


#: The default of ``--max-time``: a heavy step whose estimated time exceeds this is refused.
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


def parse_estimate(path: str | os.PathLike) -> Estimate | None:
    """Parsing the JSON file at ``path`` (None when its size cannot be read)."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    return Estimate(f"reading {path}", int(BASE_BYTES + PARSE_BYTES_PER_BYTE * size), size / 60e6,
                    f"{fmt_bytes(size)} of JSON")


def precheck_file(path: str | os.PathLike, max_memory: int | str | None | object,
                  estimate: Callable[..., Estimate] | None = None, *,
                  sniff: Callable[[str | os.PathLike], tuple | None] | None = None,
                  max_seconds: float | None = None) -> None:
    """Before parsing an instance file: refuse when parsing it, or (when ``sniff(path)`` reads a shape off the
    file's bytes) the step ``estimate(*shape)`` would exceed the limit. Silent otherwise; the caller checks the
    real estimate again once the instance is loaded."""
    est = parse_estimate(path)
    if est is not None:
        enforce(est, max_memory)
    if estimate is not None and sniff is not None:
        shape = sniff(path)
        if shape is not None:
            enforce(estimate(*shape), max_memory, max_seconds=max_seconds)
