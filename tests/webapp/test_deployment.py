"""Deployment files and environment-driven settings, checked the way a deploy would use them."""
import importlib
import shlex
import subprocess
import sys

import pytest
import yaml
from django.core.management import get_commands

from tests.webapp.helpers import PROJECT_ROOT, service_env
from webapp.celery import app as celery_app

APP_SERVICES = {"migrate", "web", "worker-gpu", "worker-cpu", "beat"}
PRODUCTION_ENV = {
    "SECRET_KEY": "production-like-secret-key-with-plenty-of-entropy-7c1d0f3b9a8e6d5c4b3a2f1e0d9c8b7a",
    "ALLOWED_HOSTS": "studio.example.org",
    "DATABASE_URL": "postgres://pienet@db.example.org:5432/pienet",
    "REDIS_URL": "redis://cache.example.org:6379/0",
}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=service_env(**env), capture_output=True, text=True,
        timeout=120,
    )


def test_compose_has_the_full_stack_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == APP_SERVICES | {"postgres", "redis", "proxy"}
    for name in ("postgres", "redis", "web", "worker-gpu", "worker-cpu"):
        assert services[name]["healthcheck"]["test"], name
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert {"pgdata", "redisdata", "media"} <= set(compose["volumes"])
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_only_the_buffering_proxy_is_published_and_it_limits_bodies_and_slow_clients(compose):
    services = compose["services"]
    assert "ports" not in services["web"] and services["proxy"]["ports"]
    config_path = services["proxy"]["volumes"][0].split(":")[0]
    config = (PROJECT_ROOT / config_path).read_text()
    for directive in ("client_max_body_size 26m", "client_body_timeout", "proxy_request_buffering on",
                      "proxy_pass http://pienet_web", "X-Forwarded-For $proxy_add_x_forwarded_for"):
        assert directive in config, directive
    assert services["web"]["environment"]["PIENET_TRUSTED_PROXIES"].endswith(":-1}")


def test_compose_commands_name_things_that_exist(compose):
    routed_queues = {route["queue"] for route in celery_app.conf.task_routes.values()}
    for name in APP_SERVICES:
        command = compose["services"][name]["command"]
        program, arguments = command[0], command[1:]
        if program == "python":
            assert arguments[0] == "manage.py" and arguments[1] in get_commands(), command
        elif program == "gunicorn":
            module, attribute = arguments[0].split(":")
            assert callable(getattr(importlib.import_module(module), attribute))
        elif program == "celery":
            assert arguments[:2] == ["-A", "webapp"] and importlib.import_module("webapp.celery").app is celery_app
            if arguments[2] == "worker":
                queues = arguments[arguments.index("--queues") + 1].split(",")
                assert set(queues) <= routed_queues, command
            else:
                assert arguments[2] == "beat"
        else:
            pytest.fail(f"{name}: unexpected program {program}")
    gpu = compose["services"]["worker-gpu"]["command"]
    assert gpu[gpu.index("--concurrency") + 1] == "1" and gpu[gpu.index("--prefetch-multiplier") + 1] == "1"


def test_dockerfile_copies_paths_that_exist():
    for line in (PROJECT_ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in shlex.split(line)[1:-1]:
                assert (PROJECT_ROOT / source).exists(), line


def test_ci_runs_the_readme_test_command():
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and "\nmake test\n" in ci
    assert "make test" in (PROJECT_ROOT / "README.md").read_text()


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT, env=service_env(**PRODUCTION_ENV), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_required_unless_debug():
    result = run_python("import django; django.setup()", SECRET_KEY="")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
    assert run_python("import django; django.setup()", SECRET_KEY="", DEBUG="1").returncode == 0


def test_defaults_are_the_embedded_mode(tmp_path):
    code = (  # the settings module writes nothing; Django's start makes the local folders
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CELERY_BROKER_URL, "
        "s.EMBEDDED_BROKER, s.MEDIA_ROOT, s.CACHES['default']['BACKEND'])"
    )
    result = run_python(code, PIENET_VAR_DIR=tmp_path)
    engine, name, broker, embedded, media, cache = result.stdout.split()
    assert engine == "django.db.backends.sqlite3" and name == str(tmp_path / "pienet.sqlite3")
    assert (broker, embedded, media) == ("filesystem://localhost//", "True", str(tmp_path / "media"))
    assert cache.endswith("LocMemCache") and (tmp_path / "broker" / "messages").is_dir()


def test_services_are_taken_from_the_environment(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND'], s.ALLOWED_HOSTS)"
    )
    result = run_python(code, PIENET_VAR_DIR=tmp_path, **PRODUCTION_ENV)
    assert result.stdout.split() == [
        "django.db.backends.postgresql", PRODUCTION_ENV["REDIS_URL"],
        "django.core.cache.backends.redis.RedisCache", "['studio.example.org']",
    ]
    assert not (tmp_path / "broker").exists()


def test_bad_environment_values_give_clear_errors(tmp_path):
    result = run_python("import django; django.setup()", DEBUG="maybe")
    assert "DEBUG must be a boolean" in result.stderr


def test_a_dead_workers_message_comes_back_within_the_longest_task_not_an_hour(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], s.CELERY_TASK_TIME_LIMIT, s.PIENET_JOB_STUCK_SECONDS)"
    )
    visibility, time_limit, stuck_after = map(int, run_python(code, PIENET_VAR_DIR=tmp_path, **PRODUCTION_ENV).stdout.split())
    assert time_limit < visibility <= time_limit + 120 and stuck_after == visibility < 3600
