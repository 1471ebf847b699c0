from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Platform core: photos, enhancement jobs and the model registry."""

    name = "webapp.core"
    label = "core"
    verbose_name = "PieNet core"
