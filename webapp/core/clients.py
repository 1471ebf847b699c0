"""Who is asking: the client address every rate limit counts by, from one trusted-proxy setting.

X-Forwarded-For is written by whoever sends the request, so only the hops that PIENET_TRUSTED_PROXIES
proxies in front of the site appended are believed; with none, the address the server saw is the client.
Cache keys hold a keyed hash of the address, never the address itself.
"""
from django.conf import settings

from webapp.core.signing import keyed_digest


def client_address(request) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.PIENET_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            address = hops[-min(proxies, len(hops))]
    return address


def client_key(request) -> str:
    return keyed_digest("client", client_address(request))[:32]
