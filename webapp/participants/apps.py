from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "webapp.participants"
    label = "participants"
    verbose_name = "Participants"

    def ready(self):
        from webapp.participants import demo  # noqa: F401  (connects the demo_seeded receiver)
        from webapp.participants import receivers  # noqa: F401  (connects the model_activated receiver)
