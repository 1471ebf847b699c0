"""Demo content of the participant flow: a picking round for `manage.py seed_demo` / `make demo`.

Candidates are not queued here: the demo's single worker (solo pool) would be busy rendering them
while the site's health check pings it. `manage.py make_candidates --styles demo` renders them.
"""
from django.dispatch import receiver

from webapp.core.signals import demo_seeded
from webapp.participants import services
from webapp.participants.models import Candidate, PickingRound

DEMO_SLUG = "demo"
# A spread of looks (presets, classical methods, photographers) that is quick to render on a CPU.
DEMO_STYLES = ["vivid", "matte_fade", "warm_golden", "cool_blue", "mono_classic", "auto_levels",
               "photographer_airy_bright", "photographer_warm_moody"]
DEMO_CONSENT = (
    "This is a demonstration of PieNet Studio's participant flow. You will see sets of photos and pick the "
    "ones you like; at the end a few photos are enhanced in the style your picks describe (when a model is "
    "active).\n\nYour picks are stored under a random participant code on this machine only."
)


@receiver(demo_seeded)
def seed_demo_round(sender, photos, stdout, **kwargs):
    """Create the demo round once; say how to render its candidates while there are none."""
    if not PickingRound.objects.filter(slug=DEMO_SLUG).exists():
        services.picking_round_create(
            slug=DEMO_SLUG, title="Which photos do you like?", consent_text=DEMO_CONSENT, min_picks=5,
            max_picks=12, set_size=6,
        )
    if not Candidate.objects.exists():
        stdout.write(
            f"Demo round /take-part/{DEMO_SLUG}/ has no images yet: run `manage.py make_candidates --styles demo`."
        )
