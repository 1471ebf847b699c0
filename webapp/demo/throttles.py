"""Per-client rate limits of the demo (see webapp.core.throttles for how clients are counted)."""
from webapp.core.throttles import ClientRateThrottle


class DemoThrottle(ClientRateThrottle):
    """Rates come from settings.PIENET_DEMO_RATES."""

    rates_setting = "PIENET_DEMO_RATES"

    def get_cache_key(self, request, view):
        return f"demo-{super().get_cache_key(request, view)}"


class UploadThrottle(DemoThrottle):
    scope = "upload"


class RenderThrottle(DemoThrottle):
    scope = "render"


class PollThrottle(DemoThrottle):
    scope = "poll"
