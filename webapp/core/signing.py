"""Values derived from internal identities, keyed with SECRET_KEY.

Photo hashes, model hashes and style or method names are public, so anything derived from them
alone (a storage name, a seed) can be recomputed by anyone; keyed with the secret it stays stable
for the server and underivable for everyone else.
"""
import hashlib
import hmac

from django.conf import settings


def keyed_digest(*parts: str) -> str:
    """HMAC-SHA256 (hex) of the parts joined by "|", under SECRET_KEY."""
    return hmac.new(settings.SECRET_KEY.encode(), "|".join(parts).encode(), hashlib.sha256).hexdigest()


def keyed_seed(*parts: str) -> int:
    """A 64-bit random seed that only the server can derive from the parts."""
    return int(keyed_digest(*parts)[:16], 16)
