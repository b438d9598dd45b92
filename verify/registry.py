"""Theorem-module discovery: the ``verify.theorems`` entry-point group, plus the in-tree modules.

A third-party package registers ``name = "pkg.module:MODULE"`` under ``[project.entry-points."verify.theorems"]``
and ``verify list`` / ``verify check`` find it with no edit here. A plugin is reported on stderr (one line) and
skipped, never a crash, when it fails to import, is not a :class:`~verify.theory.TheoremModule`, reuses a module
key or a claim id already registered, or fails the conformance suite's static checks (docs metadata,
provenance, well-formed claims; see :mod:`verify.conformance`). ``VERIFY_DISABLE_PLUGINS=1`` loads the in-tree
modules only. :func:`plugin_problems` lists the skipped plugins and why.
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
IN_TREE = ("theorems.vdt24:MODULE", "theorems.prior:MODULE", "theorems.jta24:MODULE", "theorems.gsb26:MODULE")


def _load(spec: str) -> TheoremModule:
    mod_name, _, attr = spec.partition(":")
    obj = getattr(importlib.import_module(mod_name), attr or "MODULE")
    if not isinstance(obj, TheoremModule):
        raise TypeError(f"{spec} is a {type(obj).__name__}, not a TheoremModule")
    return obj


def plugins_disabled() -> bool:
    return os.environ.get("VERIFY_DISABLE_PLUGINS", "") not in ("", "0")


def _plugin_problem(m: TheoremModule, found: dict[str, TheoremModule]) -> str | None:
    """Why a loaded plugin cannot be registered, or None."""
    from verify.conformance import static_problems

    if m.key in found:
        return f"key {m.key!r} is already registered"
    taken = {cid for other in found.values() for cid in other.claims}
    clash = sorted(set(m.claims) & taken)
    if clash:
        return f"claim id(s) {clash} already registered by another module"
    return static_problems(m)


_PROBLEMS: dict[str, str] = {}


@lru_cache(maxsize=1)
def modules() -> dict[str, TheoremModule]:
    """All theorem modules by key, in-tree first; broken plugins are skipped with a one-line warning."""
    found: dict[str, TheoremModule] = {}
    _PROBLEMS.clear()
    for spec in IN_TREE:
        m = _load(spec)
        found[m.key] = m
    if plugins_disabled():
        return found
    try:
        eps = sorted(entry_points(group=GROUP), key=lambda e: (e.name, e.value))
    except Exception as exc:  # broken distribution metadata elsewhere in the environment
        _warn("*", "entry points", f"cannot read entry points: {exc.__class__.__name__}: {exc}")
        return found
    for ep in eps:
        if ep.value in IN_TREE:
            continue
        try:
            m = _load(ep.value)
            problem = _plugin_problem(m, found)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a plugin's import can fail in any way (even sys.exit()); report it, go on
            problem = f"{exc.__class__.__name__}: {exc}"
        if problem is not None:
            _warn(ep.name, ep.value, problem)
            continue
        found[m.key] = m
    return found


def _warn(name: str, value: str, problem: str) -> None:
    _PROBLEMS[name] = problem
    print(f"warning: skipping theorem plugin {name!r} ({value}): {problem}".replace("\n", " "), file=sys.stderr)


def plugin_problems() -> dict[str, str]:
    """Entry-point name -> why that plugin was skipped (after :func:`modules` ran)."""
    modules()
    return dict(_PROBLEMS)


def all_claims() -> dict[str, tuple[TheoremModule, Claim]]:
    return {cid: (m, c) for m in modules().values() for cid, c in m.claims.items()}


def find_claim(claim_id: str) -> tuple[TheoremModule, Claim]:
    claims = all_claims()
    if claim_id not in claims:
        raise VerifyInputError(f"unknown claim id {claim_id!r}; run 'verify list' to see the {len(claims)} known ids")
    return claims[claim_id]
