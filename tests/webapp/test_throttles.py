"""Every rate limit counts clients by one address: X-Forwarded-For only counts for the trusted proxies."""
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tight_anonymous_rate(settings):
    settings.PIENET_RATES = {**settings.PIENET_RATES, "anon": "3/hour"}
    cache.clear()


def models_status(address: str, forwarded: str | None = None) -> int:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return APIClient(REMOTE_ADDR=address).get("/api/models/", **extra).status_code


def test_a_forged_forwarded_for_does_not_reset_the_count():
    statuses = [models_status("10.0.0.1", forwarded=f"192.0.2.{number}") for number in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_behind_a_trusted_proxy_the_hop_it_appended_is_the_client(settings):
    settings.PIENET_TRUSTED_PROXIES = 1
    for _ in range(3):
        assert models_status("10.0.0.254", forwarded="203.0.113.7") == 200
    assert models_status("10.0.0.254", forwarded="203.0.113.7") == 429
    # the client may prepend anything; only the proxy's own (last) entry counts
    assert models_status("10.0.0.254", forwarded="1.2.3.4, 203.0.113.7") == 429
    assert models_status("10.0.0.254", forwarded="203.0.113.8") == 200
