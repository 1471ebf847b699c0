from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Platform core: photos, enhancement jobs and the model registry."""

    name = "webapp.core"
    label = "core"
    verbose_name = "PieNet core"

    def ready(self):
        from django.conf import settings

        from webapp.core import logins  # noqa: F401  (connects the failed-login counters)

        # Local state folders (the SQLite file's, the embedded broker's) exist before anything uses them.
        for folder in [settings.VAR_DIR, *settings.BROKER_FOLDERS]:
            folder.mkdir(parents=True, exist_ok=True)
