"""Rate limits counted per client (webapp.core.clients) in Django's cache (Redis in the full stack).

Rates come from a settings dict at request time (an empty rate means no limit). When the cache cannot be
reached the limit is not enforced, with a warning in the log: a Redis outage must not turn every API
request, vote included, into a 500.
"""
import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from webapp.core.clients import client_key

logger = logging.getLogger(__name__)


class ClientRateThrottle(SimpleRateThrottle):
    """Subclasses name their `scope` and the settings dict (`rates_setting`) holding its rate."""

    rates_setting = "PIENET_RATES"

    def get_rate(self):
        return getattr(settings, self.rates_setting).get(self.scope) or None

    def get_cache_key(self, request, view):
        return f"throttle:{self.scope}:{client_key(request)}"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as error:
            logger.warning("throttle_unavailable", extra={"scope": self.scope, "error": str(error)})
            return True


class AnonymousThrottle(ClientRateThrottle):
    """Every API request without a login (the default); signed-in staff are not limited here."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)
