"""Instances as plain JSON data: exact round trips, schema dispatch, one-line validation errors.

An instance file is a JSON object with a ``"schema"`` key (``"NAME/VERSION"``). The registered model with that
schema loads it (:func:`verify.registry.model_for_schema`); the engine never needs to know the model.
Floats are written with ``repr`` (shortest round-trip form), so ``load(save(x)) == x`` bit for bit.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from verify.errors import VerifyInputError


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; any problem becomes a one-line VerifyInputError naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VerifyInputError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VerifyInputError(f"{p}: cannot read ({exc.__class__.__name__}: {exc})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise VerifyInputError(f"{p}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise VerifyInputError(f"{p}: {exc}") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name} is not allowed in an instance")


def load_instance(path: str | os.PathLike) -> Any:
    """Load an instance file, dispatching on its ``schema`` key."""
    obj = read_json(path)
    if not isinstance(obj, dict):
        raise VerifyInputError(f"{path}: an instance file must hold a JSON object")
    from verify.registry import known_schemas, model_for_schema

    schema = obj.get("schema")
    model = model_for_schema(schema) if isinstance(schema, str) else None
    if model is None:
        known = ", ".join(known_schemas()) or "none registered"
        raise VerifyInputError(f"{path}: unknown or missing schema {schema!r} (known: {known})")
    try:
        return model.load_instance(obj)
    except VerifyInputError as exc:
        raise VerifyInputError(f"{path}: {exc}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, fsync, then rename. The file gets
    the permissions a plain ``open()`` would give it under the current umask (0644 under umask 022), not the
    temp file's private 0600."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Text twin of :func:`atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def dumps(obj: Any) -> str:
    """JSON text with exact floats (Python's repr round-trips) and no NaN/inf (they become strings)."""
    return json.dumps(_jsonable(obj), indent=1, allow_nan=False)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if math.isfinite(f):
            return f
        return "inf" if f > 0 else ("-inf" if f < 0 else "nan")
    return x


def as_array(obj: dict, key: str, shape: tuple[int | None, ...], *, required: bool = True) -> np.ndarray | None:
    """Read ``obj[key]`` as a finite float64 array of the given shape (None = any size, fixed by the data)."""
    if key not in obj or obj[key] is None:
        if required:
            raise VerifyInputError(f"missing required field {key!r}")
        return None
    try:
        raw = np.array(obj[key])  # the JSON types as they are: strings and booleans are not numbers here
        if raw.dtype.kind in "USb":
            what = "booleans" if raw.dtype.kind == "b" else "strings"
            raise VerifyInputError(f"field {key!r} must hold numbers, not {what} (got {raw.ravel()[:1].tolist()})")
        arr = raw.astype(np.float64)
    except OverflowError:
        raise VerifyInputError(f"field {key!r} holds an integer beyond float64's range") from None
    except (TypeError, ValueError):
        raise VerifyInputError(f"field {key!r} must be a nested list of numbers with a regular shape") from None
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape, strict=True)):
        want = " x ".join("?" if s is None else str(s) for s in shape)
        got = " x ".join(str(a) for a in arr.shape) if arr.ndim else "a scalar"
        raise VerifyInputError(f"field {key!r} has shape {got}, expected {want}")
    if not np.all(np.isfinite(arr)):
        raise VerifyInputError(f"field {key!r} contains NaN or infinite values (a number beyond float64's range, "
                               "such as 1e400, reads as infinite)")
    return arr
