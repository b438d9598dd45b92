"""Search profiles: the one table of how many instances, how long a horizon, and the hypothesis settings.

- ``quick``: seconds per claim (a handful of instances, short horizons); the README's main job.
- ``ci``: derandomized, no example database, ``print_blob``; what CI runs.
- ``thorough``: hundreds of instances, long horizons, ``target()`` steering towards the worst
  observed-to-claimed ratio, and shrinking of any counterexample to a minimal one.

:data:`PROFILES` feeds everything that draws instances: the engine (``verify check``, ``audit``, ``sweep``
through :func:`claim_settings` and :func:`hypothesis_settings`), the hypothesis profiles of the same names that
:func:`register_hypothesis_profiles` registers for the property suites (``HYPOTHESIS_PROFILE=quick|ci|thorough``),
and the conformance suite (:mod:`verify.conformance`). docs/profiles.md tabulates every field and who reads it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings

from verify.errors import VerifyInputError
from verify.theory import Settings

PROFILE_ENV = "HYPOTHESIS_PROFILE"
"""The environment variable that picks the profile of the test suites (the CLI takes ``--profile``)."""
DEFAULT_PROFILE = "quick"


@dataclass(frozen=True)
class Profile:
    name: str
    max_examples: int
    """``verify check`` / ``sweep``: instances drawn per claim (and ``Settings.max_examples``)."""
    steps: int
    """The horizon of every claim evaluation (``Settings.steps``)."""
    derandomize: bool
    """Hypothesis derandomizes the search (the draws are a function of the seed alone)."""
    shrink: bool
    """Hypothesis shrinks a failing example; ``verify check`` stops at the first violation and shrinks it."""
    confirm_mp_steps: int
    """The horizon of the mpmath confirmation run (``higher-precision``)."""
    audit_examples: int
    """``verify audit``: instances per broken assumption.

    An audit needs power: a failure that occurs in a third of the draws breaking an assumption (NGD from 0
    selecting a locally optimal alpha on low-dimensional tokens) is missed by 4 draws 20% of the time and by 8
    draws 4% of the time (0.67^4, 0.67^8)."""
    claim_examples: int
    """Property suites: instances per claim on which the claim is assessed (each one a full evaluation, the
    confirmation of a candidate, and a replay of its report), and the budget of any other property test whose
    example is a claim evaluation."""
    property_examples: int
    """Property suites: ``max_examples`` of the registered hypothesis profile (every ``@given`` that sets no
    budget of its own), and the instances per strategy of the suites' meets/breaks checks."""
    conformance_examples: int
    """The conformance suite (tests/test_conformance.py, a plugin's ``parametrize_with_checks``): instances drawn
    per strategy; ``VERIFY_CONFORMANCE_EXAMPLES`` overrides it."""
    effort: float
    """For claims that set their own sizes (data seeds, replicates, trials, a grid of n or of condition numbers,
    their own step counts), where between its smallest declared sizes (0) and its full ones (1) a claim runs,
    read with :func:`claim_effort`; each such claim declares both ends."""
    shrink_evaluations: int = 0
    """``verify check``: candidate smaller instances assessed (each confirmed when violated) while shrinking a
    confirmed counterexample with its model's moves (:func:`verify.shrink.shrink`); 0 shrinks nothing."""
    certify_seconds: float | None = 60.0
    """Seconds (wall clock) that the certification of one written report may take, the original instance and the
    shrunk one together (:func:`verify.certify.certify_finding`); past it the record says "not certified: time
    budget exceeded (N s)". None: no limit."""


PROFILES = {
    "quick": Profile("quick", max_examples=3, steps=2000, derandomize=True, shrink=False, confirm_mp_steps=500,
                     audit_examples=8, claim_examples=2, property_examples=5, conformance_examples=2, effort=0.0,
                     shrink_evaluations=12, certify_seconds=60.0),
    "ci": Profile("ci", max_examples=6, steps=3000, derandomize=True, shrink=False, confirm_mp_steps=1000,
                  audit_examples=12, claim_examples=3, property_examples=10, conformance_examples=3, effort=1.0,
                  shrink_evaluations=24, certify_seconds=300.0),
    "thorough": Profile("thorough", max_examples=200, steps=20000, derandomize=False, shrink=True,
                        confirm_mp_steps=2000, audit_examples=200, claim_examples=200, property_examples=1000,
                        conformance_examples=20, effort=1.0,
                        shrink_evaluations=200, certify_seconds=1800.0),
}

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise VerifyInputError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


def active_profile() -> Profile:
    """The profile the test suites run under: ``HYPOTHESIS_PROFILE`` (default ``quick``). An unknown name is an
    error, not a silent fallback (a typo would otherwise run the quick budgets under another name)."""
    name = os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    if name not in PROFILES:
        raise VerifyInputError(f"{PROFILE_ENV}={name!r} is not a profile; expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


def claim_effort(settings: Settings) -> float:
    """The ``effort`` of the profile that ``settings`` were made for (the table, not the name, decides)."""
    return get_profile(settings.profile).effort


def claim_settings(profile: Profile, seed: int = 0) -> Settings:
    return Settings(profile=profile.name, steps=profile.steps, max_examples=profile.max_examples, seed=seed)


def hypothesis_settings(profile: Profile, max_examples: int | None = None) -> settings:
    """The hypothesis settings of ``profile`` with ``max_examples`` draws (default: the profile's
    ``max_examples``, the engine's count)."""
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    if profile.shrink:
        phases.append(Phase.shrink)
    return settings(
        max_examples=profile.max_examples if max_examples is None else max_examples,
        deadline=None,
        derandomize=profile.derandomize,
        database=None,  # the search is a function of the seed alone (verify.engine.explore applies @seed)
        print_blob=True,
        phases=phases,
        suppress_health_check=_SUPPRESS,
    )


def register_hypothesis_profiles() -> None:
    """Register every profile of :data:`PROFILES` with hypothesis, under its name: the settings of
    :func:`hypothesis_settings` with ``property_examples`` draws (for the property suites)."""
    for p in PROFILES.values():
        settings.register_profile(p.name, hypothesis_settings(p, p.property_examples))


@contextmanager
def seed_only_search() -> Iterator[None]:
    """Make a hypothesis search a function of its seed (and the strategy) alone.

    Hypothesis (6.13x and later) also draws, with a small probability per choice, number and string constants
    that it collects from every *local* module loaded so far (any file outside site-packages and the standard
    library; an editable install counts as local). The instances drawn for a claim then depend on which modules
    happen to be imported (one more import, or an installed plugin, changed an instance of a search) and on every
    numeric literal in them. Inside this context the local pool is empty (the global pool of boundary values
    such as 0, 1 or inf stays), so the same seed draws the same instances whatever else is loaded. The pool is
    a private part of hypothesis; if it is not where this expects, the search runs unchanged (the guard is then
    a no-op, which ``tests/test_engine.py`` would detect as a failing determinism test).
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without the constant pool
        yield
        return
    get = getattr(providers, "_get_local_constants", None)
    empty = getattr(providers, "Constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if get is None or empty is None or cache is None:  # pragma: no cover
        yield
        return
    pool = empty()
    cache.cache.clear()
    providers._get_local_constants = lambda: pool
    try:
        yield
    finally:
        providers._get_local_constants = get
        cache.cache.clear()
