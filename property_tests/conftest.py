"""Hypothesis profiles for the property suites: HYPOTHESIS_PROFILE=quick|ci|thorough (default quick)."""

import os

from hypothesis import settings

from verify.profiles import register_hypothesis_profiles

register_hypothesis_profiles()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))
