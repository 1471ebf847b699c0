from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Platform core: photos, enhancement jobs and the model registry."""

    name = "webapp.core"
    label = "core"
    verbose_name = "PieNet core"

    def ready(self):
        from webapp.core import logins  # noqa: F401  (connects the failed-login counters)
