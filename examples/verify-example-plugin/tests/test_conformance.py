"""The plugin runs the toolkit's conformance suite against itself."""

from verify_example_plugin import MODULE

from verify.conformance import parametrize_with_checks


@parametrize_with_checks([MODULE])
def test_conformance(module, check):  # type: ignore[no-untyped-def]
    check(module)
