"""Demo content: `manage.py seed_demo` also creates the short picking round behind "my style"
and queues the style picker's thumbnails."""
from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse

from webapp.core import selectors as core_selectors
from webapp.core.signals import demo_seeded
from webapp.demo import services
from webapp.participants import selectors as participant_selectors
from webapp.participants import services as participant_services

MY_STYLE_CONSENT = (
    "Pick the photos you like in a few sets; PieNet turns your picks into a style of your own, which you can "
    "then apply to your photo on the demo page.\n\nYour picks are stored under a random code and used for "
    "nothing else."
)


@receiver(demo_seeded)
def seed_demo_style(sender, stdout, **kwargs):
    if participant_selectors.picking_round_get(settings.PIENET_DEMO_ROUND) is None:
        participant_services.picking_round_create(
            slug=settings.PIENET_DEMO_ROUND, title="Find your style", consent_text=MY_STYLE_CONSENT,
            min_picks=10, max_picks=20, set_size=6, preview_count=1, completion_url=reverse("demo:continue"),
        )
        stdout.write(f"Demo page: 'my style' round at /take-part/{settings.PIENET_DEMO_ROUND}/.")
    version = core_selectors.active_model_version()
    if version is not None and services.style_previews_ensure(version=version):
        stdout.write("Demo page: rendering the style previews.")
