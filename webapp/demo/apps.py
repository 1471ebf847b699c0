from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The public demo: upload or pick a photo, choose or make a style, compare and download."""

    name = "webapp.demo"
    label = "demo"
    verbose_name = "Public demo"

    def ready(self):
        from webapp.demo import receivers  # noqa: F401  (connects the demo_seeded receiver)
