"""Password guessing is bounded: failed sign-ins are counted per account and per client address
(webapp.core.clients) in Django's cache, and once either count reaches its limit the login forms
(settings.PIENET_LOGIN_URL_NAMES: the researchers' and the admin's) answer 429 without checking the
password, so guessing costs neither a hash (about 0.6 s of CPU) nor a chance, until the window ends.

A successful sign-in clears its account's count. When the cache is down logins still work, unthrottled,
with a warning in the log.
"""
import logging

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.shortcuts import render
from django.urls import reverse
from redis.exceptions import RedisError

from webapp.core.clients import client_key
from webapp.core.signing import keyed_digest

logger = logging.getLogger(__name__)


def _account_key(username: str) -> str:
    return f"login-failures:account:{keyed_digest('login', username.casefold())[:32]}"


def _counters(request, username: str) -> dict[str, int]:
    """Cache key -> the most failures it may hold."""
    counters = {f"login-failures:address:{client_key(request)}": settings.PIENET_LOGIN_FAILURES_PER_ADDRESS}
    if username:
        counters[_account_key(username)] = settings.PIENET_LOGIN_FAILURES_PER_ACCOUNT
    return counters


def login_blocked(request, username: str) -> bool:
    try:
        counts = cache.get_many(list(_counters(request, username)))
    except (RedisError, OSError) as error:
        logger.warning("login_throttle_unavailable", extra={"error": str(error)})
        return False
    return any(counts.get(key, 0) >= limit for key, limit in _counters(request, username).items())


@receiver(user_login_failed, dispatch_uid="count_failed_login")
def count_failed_login(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    try:
        for key in _counters(request, credentials.get("username", "")):
            if not cache.add(key, 1, settings.PIENET_LOGIN_WINDOW_SECONDS):
                cache.incr(key)
    except (RedisError, OSError, ValueError) as error:  # ValueError: the key expired between add and incr
        logger.warning("login_throttle_unavailable", extra={"error": str(error)})


@receiver(user_logged_in, dispatch_uid="clear_failed_logins")
def clear_failed_logins(sender, request, user, **kwargs):
    if request is None:
        return
    try:
        cache.delete(_account_key(user.get_username()))
    except (RedisError, OSError) as error:
        logger.warning("login_throttle_unavailable", extra={"error": str(error)})


class LoginThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.login_paths = None

    def __call__(self, request):
        if self.login_paths is None:
            self.login_paths = {reverse(name) for name in settings.PIENET_LOGIN_URL_NAMES}
        if (
            request.method == "POST"
            and request.path in self.login_paths
            and login_blocked(request, request.POST.get("username", ""))
        ):
            minutes = max(1, settings.PIENET_LOGIN_WINDOW_SECONDS // 60)
            response = render(request, "too_many_logins.html", {"minutes": minutes}, status=429)
            response["Retry-After"] = str(settings.PIENET_LOGIN_WINDOW_SECONDS)
            return response
        return self.get_response(request)
