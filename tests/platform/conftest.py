"""Platform test fixtures: defined in tests/platform/fixtures.py, registered here by name."""

from tests.platform.fixtures import (  # noqa: F401  (fixtures are found by name)
    anonymous_client,
    api_client,
    platform_test_settings,
    private_media,
    signed_in,
    user,
)
