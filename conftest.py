"""Suite-wide rule: in CI the real services are part of the test, so their absence fails the run.

Locally the suite falls back to SQLite and the embedded broker (see webapp/test_settings.py); with
CI=true a missing PostgreSQL or Redis stops the session with a non-zero exit instead of skipping.
"""
import os

import pytest


def pytest_sessionstart(session):
    if os.environ.get("CI", "").lower() != "true":
        return
    from webapp import test_settings

    missing = [
        f"{name} ({url})"
        for name, url, available in (
            ("PostgreSQL", test_settings.POSTGRES_TEST_URL, test_settings.POSTGRES_AVAILABLE),
            ("Redis", test_settings.REDIS_TEST_URL, test_settings.REDIS_AVAILABLE),
        )
        if not available
    ]
    if missing:
        pytest.exit(f"CI=true but these services are not reachable: {', '.join(missing)}", returncode=1)
