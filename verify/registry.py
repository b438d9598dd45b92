"""The one registry: models and theorem modules, found through entry points, and nothing registered on import.

Two entry-point groups, read from every installed distribution's metadata:

- ``verify.models``: ``key = "pkg.module:MODEL"``, a :class:`~verify.model.Model` (its instance schema and
  loader, its representations, its batch runner, its gradient, its CLI verbs);
- ``verify.theorems``: ``key = "pkg.module:MODULE"``, a :class:`~verify.theory.TheoremModule`. The model it
  names (``TheoremModule.model``) is registered with it when no entry point registered it.

The toolkit's own modules are simply the entry points of its own distribution (``attention-verify``, declared in
its pyproject.toml, the only list of them); a broken one is a bug and raises. Every other distribution's entry
point is a *plugin*: reported on stderr (one line) and skipped, never a crash, when it fails to import (even by
calling ``sys.exit()``), is not a Model / TheoremModule, reuses a key, a schema or a claim id already registered,
or fails the conformance suite's static checks (docs metadata, provenance, well-formed claims; see
:mod:`verify.conformance`). ``VERIFY_DISABLE_PLUGINS=1`` loads the toolkit's own entry points only.
:func:`plugin_problems` lists the skipped plugins and why. Instance files, batch runners and CLI verbs are all
looked up here, by schema or by model.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from verify.errors import VerifyInputError
from verify.model import Model
from verify.theory import Claim, TheoremModule

THEOREMS_GROUP = "verify.theorems"
MODELS_GROUP = "verify.models"
GROUP = THEOREMS_GROUP  # the group a theorem plugin registers under
OWN_DISTRIBUTION = "attention-verify"


@dataclass
class Registry:
    """What was found: models by key, theorem modules by key, and the skipped plugins (name -> why)."""

    models: dict[str, Model] = field(default_factory=dict)
    modules: dict[str, TheoremModule] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def model_problem(self, m: Any) -> str | None:
        """Why ``m`` cannot be registered as a model, or None (also None when it is the registered object)."""
        if not isinstance(m, Model):
            return f"is a {type(m).__name__}, not a Model"
        known = self.models.get(m.key)
        if known is not None:
            return None if known is m else f"model key {m.key!r} is already registered"
        if any(o.schema == m.schema for o in self.models.values()):
            return f"instance schema {m.schema!r} is already registered by another model"
        return None

    def module_problem(self, m: Any, *, static: bool = True) -> str | None:
        """Why ``m`` cannot be registered as a theorem module, or None. ``static``: also run the conformance
        suite's static checks (for plugins; the toolkit's own modules pass them in its test suite)."""
        from verify.conformance import static_problems

        if not isinstance(m, TheoremModule):
            return f"is a {type(m).__name__}, not a TheoremModule"
        if m.key in self.modules:
            return f"key {m.key!r} is already registered"
        taken = {cid for other in self.modules.values() for cid in other.claims}
        clash = sorted(set(m.claims) & taken)
        if clash:
            return f"claim id(s) {clash} already registered by another module"
        return self.model_problem(m.model) or (static_problems(m) if static else None)

    def add_model(self, m: Model) -> None:
        self.models.setdefault(m.key, m)

    def add_module(self, m: TheoremModule) -> None:
        self.add_model(m.model)
        self.modules[m.key] = m


def plugins_disabled() -> bool:
    return os.environ.get("VERIFY_DISABLE_PLUGINS", "") not in ("", "0")


def _own(ep: EntryPoint) -> bool:
    dist = getattr(ep, "dist", None)
    name = None if dist is None else dist.metadata["Name"]
    return name is not None and name.lower().replace("_", "-") == OWN_DISTRIBUTION


def _load(ep: EntryPoint) -> Any:
    mod_name, _, attr = ep.value.partition(":")
    return getattr(importlib.import_module(mod_name.strip()), attr.strip() or "MODULE")


def _entry_points(group: str, reg: Registry) -> list[EntryPoint]:
    try:
        eps = entry_points(group=group)
    except Exception as exc:  # broken distribution metadata elsewhere in the environment
        _warn(reg, "entry-point", "*", group, f"cannot read entry points: {exc.__class__.__name__}: {exc}")
        return []
    unique = list({(e.name, e.value): e for e in eps}.values())  # a source tree and its install list the same
    own = [e for e in unique if _own(e)]  # in the order the toolkit's pyproject.toml declares them
    return own + sorted((e for e in unique if not _own(e)), key=lambda e: (e.name, e.value))


@lru_cache(maxsize=1)
def registry() -> Registry:
    """Every model and theorem module, the toolkit's own first; broken plugins skipped with a one-line warning."""
    reg = Registry()
    for group, add, problem, what in ((MODELS_GROUP, reg.add_model, reg.model_problem, "model"),
                                      (THEOREMS_GROUP, reg.add_module, reg.module_problem, "theorem")):
        for ep in _entry_points(group, reg):
            if _own(ep):
                obj = _load(ep)  # the toolkit's own: a failure here is a bug, not a plugin problem
                why = reg.module_problem(obj, static=False) if group == THEOREMS_GROUP else problem(obj)
                if why is not None:
                    raise TypeError(f"{ep.value}: {why}")
                add(obj)
                continue
            if plugins_disabled():
                continue
            try:
                obj = _load(ep)
                why = problem(obj)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a plugin's import can fail in any way (even sys.exit()); report, go on
                why = f"{exc.__class__.__name__}: {exc}"
            if why is not None:
                _warn(reg, what, ep.name, ep.value, why)
                continue
            add(obj)
    return reg


def _warn(reg: Registry, what: str, name: str, value: str, problem: str) -> None:
    reg.problems[name] = problem
    print(f"warning: skipping {what} plugin {name!r} ({value}): {problem}".replace("\n", " "), file=sys.stderr)


def modules() -> dict[str, TheoremModule]:
    """All theorem modules by key, the toolkit's own first."""
    return registry().modules


def models() -> dict[str, Model]:
    """All models by key (registered by entry point, or named by a registered theorem module)."""
    return registry().models


def own_modules() -> list[TheoremModule]:
    """The toolkit's own theorem modules (its distribution's entry points, in order), whatever else is installed:
    the docs site is built from these."""
    return [_load(ep) for ep in _entry_points(THEOREMS_GROUP, Registry()) if _own(ep)]


def plugin_problems() -> dict[str, str]:
    """Entry-point name -> why that plugin was skipped."""
    return dict(registry().problems)


def model_for_schema(schema: str) -> Model | None:
    """The model whose instances have this schema, or None."""
    return next((m for m in models().values() if m.schema == schema), None)


def known_schemas() -> list[str]:
    return sorted(m.schema for m in models().values())


def all_claims() -> dict[str, tuple[TheoremModule, Claim]]:
    return {cid: (m, c) for m in modules().values() for cid, c in m.claims.items()}


def find_claim(claim_id: str) -> tuple[TheoremModule, Claim]:
    claims = all_claims()
    if claim_id not in claims:
        raise VerifyInputError(f"unknown claim id {claim_id!r}; run 'verify list' to see the {len(claims)} known ids")
    return claims[claim_id]
