"""Failed sign-ins are limited per account and per address, on the researchers' form and the admin's."""
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client


@pytest.fixture(autouse=True)
def limits(settings):
    settings.PIENET_LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.PIENET_LOGIN_FAILURES_PER_ADDRESS = 5
    cache.clear()


def attempt(path: str, username: str, password: str, address: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/studies/login/", "/admin/login/"])
def test_an_account_is_locked_after_its_limit_even_with_the_right_password(path):
    User.objects.create_superuser("ada", password="right")
    for _ in range(3):
        assert attempt(path, "ada", "wrong").status_code == 200  # the form again, with its error
    locked = attempt(path, "ada", "right", address="10.0.0.2")
    assert locked.status_code == 429 and b"Too many failed sign-ins" in locked.content
    assert int(locked["Retry-After"]) > 0
    assert attempt(path, "bob", "wrong", address="10.0.0.2").status_code == 200  # other accounts still try


@pytest.mark.django_db
def test_an_address_is_locked_after_its_limit_across_accounts():
    User.objects.create_user("ada", password="right")
    for number in range(5):
        attempt("/studies/login/", f"guess{number}", "wrong")
    assert attempt("/studies/login/", "ada", "right").status_code == 429
    assert attempt("/studies/login/", "ada", "right", address="10.0.0.9").status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_clears_its_accounts_count():
    User.objects.create_user("ada", password="right")
    for _ in range(2):
        attempt("/studies/login/", "ada", "wrong")
    assert attempt("/studies/login/", "ada", "right").status_code == 302
    for _ in range(2):
        attempt("/studies/login/", "ada", "wrong")
    assert attempt("/studies/login/", "ada", "right").status_code == 302


@pytest.mark.django_db
def test_logins_work_while_the_cache_is_down(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    User.objects.create_user("ada", password="right")
    assert attempt("/studies/login/", "ada", "wrong").status_code == 200
    assert attempt("/studies/login/", "ada", "right").status_code == 302
