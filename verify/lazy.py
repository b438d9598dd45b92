"""A module proxy that imports on first attribute access (start-up: ``verify list``/``show``/``--help`` never pay
for cvxpy, which only the convex solves of a model need).

Import probes that cannot succeed are skipped. cvxpy checks every solver interface when it is imported, and its
MPAX interface imports jax before it imports mpax. Where jax is installed but mpax is not, that costs a jax import
(about 1.2 s on a 2-core machine) in every process that solves an SVM, only to find MPAX unavailable. So while
cvxpy is imported, ``jax`` is hidden (``import jax`` raises ImportError) when jax is not imported yet and
``mpax`` is not installed: cvxpy then reports the same installed solvers, and jax imports normally afterwards.
Only in a single-threaded process: with other threads running, one of them could be importing jax meanwhile, so
cvxpy is then imported plainly.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

#: module -> {a module its import probes: the module that probe is for}. The probe is skipped (the first module
#: hidden during the import) when the second is not installed, so the probe would fail anyway.
FUTILE_PROBES: dict[str, dict[str, str]] = {"cvxpy": {"jax": "mpax"}}


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def import_without_futile_probes(name: str) -> ModuleType:
    """``importlib.import_module(name)``, with the probes of :data:`FUTILE_PROBES` that cannot succeed skipped."""
    if threading.active_count() > 1:  # another thread could be importing the hidden module: import plainly
        return importlib.import_module(name)
    hidden = [probe for probe, target in FUTILE_PROBES.get(name, {}).items()
              if probe not in sys.modules and not _installed(target)]
    for probe in hidden:
        sys.modules[probe] = None  # type: ignore[assignment]  # the import system's "not importable" mark
    try:
        return importlib.import_module(name)
    finally:
        for probe in hidden:
            if probe in sys.modules and sys.modules[probe] is None:
                del sys.modules[probe]


class LazyModule(ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._lazy_name = name
        self._lazy_mod: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_lazy_"):
            raise AttributeError(attr)
        if self._lazy_mod is None:
            self._lazy_mod = import_without_futile_probes(self._lazy_name)
        return getattr(self._lazy_mod, attr)


def lazy_module(name: str) -> Any:
    """``name``, imported when first used (see :func:`import_without_futile_probes`)."""
    return LazyModule(name)
