from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StudiesConfig(AppConfig):
    name = "studies"
    verbose_name = "Studies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from studies.permissions import ensure_researcher_group

        # After every migrate (permissions exist only then): the "Researchers" group and its rights.
        post_migrate.connect(ensure_researcher_group, sender=self)
