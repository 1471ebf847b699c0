"""Per-client rate limits of the demo, counted in Django's cache (Redis in the full stack).

The client is its address as the web server saw it, or the one PIENET_DEMO_TRUSTED_PROXIES proxies
in front of it reported (X-Forwarded-For is otherwise ignored: a visitor could write any address
there). The cache key holds a keyed hash of the address, not the address itself.
"""
import hashlib
import hmac

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


def client_key(request) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.PIENET_DEMO_TRUSTED_PROXIES
    forwarded = request.headers.get("x-forwarded-for")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        address = hops[-min(proxies, len(hops))]
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]


class DemoThrottle(SimpleRateThrottle):
    """Rates come from settings.PIENET_DEMO_RATES at request time (an empty rate means no limit)."""

    def get_rate(self):
        return settings.PIENET_DEMO_RATES.get(self.scope) or None

    def get_cache_key(self, request, view):
        return f"demo-throttle:{self.scope}:{client_key(request)}"


class UploadThrottle(DemoThrottle):
    scope = "upload"


class RenderThrottle(DemoThrottle):
    scope = "render"


class PollThrottle(DemoThrottle):
    scope = "poll"
