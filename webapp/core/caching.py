"""Django's cache (Redis in the full stack) used so that an outage only costs speed: a value that cannot
be read is computed, one that cannot be stored is not, with a warning in the log, never a 500."""
import logging
from collections.abc import Callable

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
CACHE_ERRORS = (RedisError, OSError)


def cached(key: str, compute: Callable[[], object], timeout: int):
    try:
        value = cache.get(key)
    except CACHE_ERRORS as error:
        logger.warning("cache_unavailable", extra={"key": key, "error": str(error)})
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout)
        except CACHE_ERRORS as error:
            logger.warning("cache_unavailable", extra={"key": key, "error": str(error)})
    return value


def claim_once(key: str, timeout: int) -> bool:
    """True for the first caller within `timeout`; False for the others and while the cache is down."""
    try:
        return bool(cache.add(key, True, timeout=timeout))
    except CACHE_ERRORS as error:
        logger.warning("cache_unavailable", extra={"key": key, "error": str(error)})
        return False
