"""A module proxy that imports on first attribute access (start-up: ``verify list``/``show``/``--help`` never pay
for cvxpy, which only the convex solves of a model need)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._lazy_name = name
        self._lazy_mod: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_lazy_"):
            raise AttributeError(attr)
        if self._lazy_mod is None:
            self._lazy_mod = importlib.import_module(self._lazy_name)
        return getattr(self._lazy_mod, attr)


def lazy_module(name: str) -> Any:
    """``name``, imported when first used."""
    return LazyModule(name)
