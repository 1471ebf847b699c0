"""Demo content of the participant flow: a picking round for `manage.py seed_demo` / `make demo`.

The first seeding queues the round's candidates: the demo photos in a few quick retouching styles
(embedded by the active model when there is one). PieNet renderings are left to `manage.py
make_candidates`, since the demo's single worker would be busy with them for minutes.
"""
from django.dispatch import receiver

from webapp.core.signals import demo_seeded
from webapp.participants import selectors, services

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
    """Create the demo round once and, while there are no candidates, queue the demo's own."""
    if selectors.picking_round_get(DEMO_SLUG) is None:
        services.picking_round_create(
            slug=DEMO_SLUG, title="Which photos do you like?", consent_text=DEMO_CONSENT, min_picks=10,
            max_picks=20, set_size=6,
        )
    if photos and not selectors.candidates_exist() and not selectors.candidates_job_in_progress():
        job = services.candidates_request(photos=list(photos), retouch_styles=DEMO_STYLES, pienet=False)
        stdout.write(f"Demo round /take-part/{DEMO_SLUG}/: rendering its images (job {job.pk}).")
