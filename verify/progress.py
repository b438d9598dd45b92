"""Progress bars for long runs (check, audit, sweep), on stderr, with a quiet mode.

    with progress_bar(total=len(items), description="sweep", quiet=args.quiet) as bar:
        for item in items:
            ...
            bar.advance(note=f"{item}: holds")

The bar is drawn with ``rich`` when stderr is a terminal; it is silent when ``quiet`` is set, when
``VERIFY_QUIET=1``, or when stderr is not a terminal (logs and CI stay clean). ``VERIFY_PROGRESS=1`` forces it
on a non-terminal (the tests use that). Without ``rich`` installed, a plain one-line-per-step text fallback is
used. Progress never goes to stdout, so ``--json`` output stays machine-readable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class NullBar:
    """A bar that draws nothing (quiet mode)."""

    def advance(self, n: int = 1, note: str = "") -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def set_total(self, total: int | None) -> None:
        pass


class TextBar(NullBar):
    """Fallback without rich: ``[k/N] description: note`` lines on stderr."""

    def __init__(self, total: int | None, description: str, stream: TextIO) -> None:
        self.total, self.description, self.stream, self.done = total, description, stream, 0

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        of = f"/{self.total}" if self.total is not None else ""
        print(f"[{self.done}{of}] {self.description}{': ' + note if note else ''}", file=self.stream, flush=True)

    def set_total(self, total: int | None) -> None:
        self.total = total


class RichBar(NullBar):
    def __init__(self, prog: Any, task: Any) -> None:
        self.prog, self.task = prog, task

    def advance(self, n: int = 1, note: str = "") -> None:
        self.prog.update(self.task, advance=n, **({"note": note} if note else {}))

    def note(self, text: str) -> None:
        self.prog.update(self.task, note=text)

    def set_total(self, total: int | None) -> None:
        self.prog.update(self.task, total=total)


def enabled(quiet: bool = False, stream: TextIO | None = None) -> bool:
    """Whether a bar is drawn: not quiet, not VERIFY_QUIET, and a terminal (or VERIFY_PROGRESS=1)."""
    if quiet or os.environ.get("VERIFY_QUIET", "") not in ("", "0"):
        return False
    if os.environ.get("VERIFY_PROGRESS", "") not in ("", "0"):
        return True
    s = stream or sys.stderr
    return bool(getattr(s, "isatty", lambda: False)())


@contextmanager
def progress_bar(total: int | None, description: str, *, quiet: bool = False,
                 stream: TextIO | None = None) -> Iterator[NullBar]:
    """A bar over ``total`` steps (None: unknown), or a silent one (see :func:`enabled`)."""
    s = stream or sys.stderr
    if not enabled(quiet, s):
        yield NullBar()
        return
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    except ImportError:  # rich is optional at run time: fall back to plain lines
        yield TextBar(total, description, s)
        return
    console = Console(file=s, force_terminal=True if os.environ.get("VERIFY_PROGRESS") else None)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[note]}"), console=console, transient=False,
                  redirect_stdout=False, redirect_stderr=False) as prog:  # stdout stays the command's own
        task = prog.add_task(description, total=total, note="")
        yield RichBar(prog, task)
