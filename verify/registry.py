"""Theorem-module discovery: the ``verify.theorems`` entry-point group, plus the in-tree modules.

A third-party package registers ``name = "pkg.module:MODULE"`` under ``[project.entry-points."verify.theorems"]``
and ``verify list`` / ``verify check`` find it with no edit here. A plugin that fails to import or is not a
:class:`~verify.theory.TheoremModule` is reported on stderr and skipped. ``VERIFY_DISABLE_PLUGINS=1`` loads the
in-tree modules only.
"""

from __future__ import annotations

import importlib
import os
import sys
from functools import lru_cache
from importlib.metadata import entry_points

from verify.errors import VerifyInputError
from verify.theory import Claim, TheoremModule

GROUP = "verify.theorems"
IN_TREE = ("theorems.vdt24:MODULE",)


def _load(spec: str) -> TheoremModule:
    mod_name, _, attr = spec.partition(":")
    obj = getattr(importlib.import_module(mod_name), attr or "MODULE")
    if not isinstance(obj, TheoremModule):
        raise TypeError(f"{spec} is a {type(obj).__name__}, not a TheoremModule")
    return obj


@lru_cache(maxsize=1)
def modules() -> dict[str, TheoremModule]:
    """All theorem modules by key, in-tree first; broken plugins are skipped with a one-line warning."""
    found: dict[str, TheoremModule] = {}
    for spec in IN_TREE:
        m = _load(spec)
        found[m.key] = m
    if os.environ.get("VERIFY_DISABLE_PLUGINS", "") not in ("", "0"):
        return found
    for ep in entry_points(group=GROUP):
        if ep.value in IN_TREE:
            continue
        try:
            m = _load(ep.value)
        except Exception as exc:  # a plugin's import can fail in any way; report it and keep going
            print(f"warning: skipping theorem plugin {ep.name!r} ({ep.value}): {exc.__class__.__name__}: {exc}",
                  file=sys.stderr)
            continue
        if m.key in found:
            print(f"warning: skipping theorem plugin {ep.name!r}: key {m.key!r} is already registered",
                  file=sys.stderr)
            continue
        found[m.key] = m
    return found


def all_claims() -> dict[str, tuple[TheoremModule, Claim]]:
    return {cid: (m, c) for m in modules().values() for cid, c in m.claims.items()}


def find_claim(claim_id: str) -> tuple[TheoremModule, Claim]:
    claims = all_claims()
    if claim_id not in claims:
        raise VerifyInputError(f"unknown claim id {claim_id!r}; run 'verify list' to see the {len(claims)} known ids")
    return claims[claim_id]
