"""Hypothesis profiles for the property suites: HYPOTHESIS_PROFILE=quick|ci|thorough (default quick), registered
from the profile table (verify.profiles.PROFILES; docs/profiles.md)."""

from hypothesis import settings

from verify.profiles import active_profile, register_hypothesis_profiles

register_hypothesis_profiles()
settings.load_profile(active_profile().name)
