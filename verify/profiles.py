"""Search profiles: how many instances, how long a horizon, and the matching hypothesis settings.

- ``quick``: seconds per claim (a handful of instances, short horizons); the README's main job.
- ``ci``: derandomized, no example database, ``print_blob``; what CI runs.
- ``thorough``: hundreds of instances, long horizons, ``target()`` steering towards the worst
  observed-to-claimed ratio, and shrinking of any counterexample to a minimal one.

The same names are registered as hypothesis settings profiles, so the property suites select them with
``HYPOTHESIS_PROFILE=quick|ci|thorough``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings

from verify.errors import VerifyInputError
from verify.theory import Settings


@dataclass(frozen=True)
class Profile:
    name: str
    max_examples: int
    steps: int
    derandomize: bool
    shrink: bool
    confirm_mp_steps: int  # horizon of the mpmath confirmation run
    audit_examples: int  # instances per broken assumption in an audit
    """An audit needs power: a failure that occurs in a third of the draws breaking an assumption (NGD from 0
    selecting a locally optimal alpha on low-dimensional tokens) is missed by 4 draws 20% of the time and by 8
    draws 4% of the time (0.67^4, 0.67^8)."""


PROFILES = {
    "quick": Profile("quick", max_examples=3, steps=2000, derandomize=True, shrink=False, confirm_mp_steps=500,
                     audit_examples=8),
    "ci": Profile("ci", max_examples=6, steps=3000, derandomize=True, shrink=False, confirm_mp_steps=1000,
                  audit_examples=12),
    "thorough": Profile("thorough", max_examples=200, steps=20000, derandomize=False, shrink=True,
                        confirm_mp_steps=2000, audit_examples=200),
}

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise VerifyInputError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


def claim_settings(profile: Profile, seed: int = 0) -> Settings:
    return Settings(profile=profile.name, steps=profile.steps, max_examples=profile.max_examples, seed=seed)


def hypothesis_settings(profile: Profile, max_examples: int | None = None) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    if profile.shrink:
        phases.append(Phase.shrink)
    return settings(
        max_examples=max_examples or profile.max_examples,
        deadline=None,
        derandomize=profile.derandomize,
        database=None,  # the search is a function of the seed alone (verify.engine.explore applies @seed)
        print_blob=True,
        phases=phases,
        suppress_health_check=_SUPPRESS,
    )


def register_hypothesis_profiles() -> None:
    """Register quick / ci / thorough with hypothesis (for the property suites)."""
    settings.register_profile("quick", max_examples=5, deadline=None, derandomize=True, database=None,
                              suppress_health_check=_SUPPRESS)
    settings.register_profile("ci", max_examples=10, deadline=None, derandomize=True, database=None,
                              print_blob=True, suppress_health_check=_SUPPRESS)
    settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True,
                              suppress_health_check=_SUPPRESS)
