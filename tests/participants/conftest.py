"""Fixtures for the participant-flow tests: the platform's fixtures (tiny real checkpoints, media
folder, real Celery worker over Redis) plus a small candidate pool built through the services."""
import pytest

from tests.participants.helpers import build_pool
from tests.webapp.conftest import (  # noqa: F401  (re-used platform fixtures)
    celery_worker, checkpoint_dir, media_root, redis_broker, tiny_checkpoint,
)
from webapp.core import services as core_services
from webapp.participants import services


@pytest.fixture
def active_model(tiny_checkpoint):
    version, _ = core_services.model_version_register(checkpoint_path=tiny_checkpoint, name="tiny", activate=True)
    return version


@pytest.fixture
def picking_round():
    return services.picking_round_create(
        slug="taste", title="Which photos do you like?", consent_text="We record your picks.\n\nYou may stop anytime.",
        min_picks=10, max_picks=20, set_size=6,
    )


@pytest.fixture
def pool(active_model):
    """12 photos in 3 retouching users' styles, 3 of them also in the model's 2 PieNet styles; all embedded."""
    return build_pool(photo_count=12, retouch_styles=["vivid", "sepia", "cool_blue"], pienet_photos=3)
