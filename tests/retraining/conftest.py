"""Fixtures for the retraining tests: the platform's (tiny real checkpoints, media folder, real Celery worker
over Redis), a model whose named styles are retouching users, and labels generated through the participant
services by people with a clear taste (each likes two of four styles)."""
import json
import random

import pytest
from django.contrib.auth.models import User

from tests.participants.helpers import build_pool
from tests.webapp.conftest import (  # noqa: F401  (re-used platform fixtures)
    celery_worker, checkpoint_dir, media_root, redis_broker,
)
from tests.webapp.helpers import write_checkpoint
from webapp.core import services as core_services
from webapp.participants import services as participant_services

STYLES = ["vivid", "sepia", "cool_blue", "mono_classic"]
TASTES = [("vivid", "sepia"), ("cool_blue", "mono_classic")]
# A few steps at 32 px: seconds, whatever the machine.
TINY_RECIPE = {"embedding": {"steps": 3, "batch_size": 4, "log_every": 1},
               "pienet": {"steps": 3, "batch_size": 2, "log_every": 1}, "style_examples": 2}
MINIMUM = {"PIENET_RETRAIN_MIN_PARTICIPANTS": 3, "PIENET_RETRAIN_MIN_PICKS": 15,
           "PIENET_RETRAIN_MIN_PICKS_PER_PARTICIPANT": 4}


@pytest.fixture(scope="session")
def style_checkpoint(checkpoint_dir):
    """A tiny model whose named styles are two of the retouching users the candidates are rendered in."""
    return write_checkpoint(checkpoint_dir / "tiny-styles.pt", seed=7, styles=("vivid", "cool_blue"))


@pytest.fixture
def active_model(style_checkpoint):
    version, _ = core_services.model_version_register(checkpoint_path=style_checkpoint, name="base", activate=True)
    return version


@pytest.fixture
def retrain_settings(settings, tmp_path):
    """The minimum and the tiny recipe, in this process (settings) and for worker processes (environment)."""
    for name, value in MINIMUM.items():
        setattr(settings, name, value)
    settings.PIENET_RETRAIN_RECIPE = TINY_RECIPE
    settings.PIENET_RETRAIN_DIR = tmp_path / "retraining"
    settings.PIENET_DEVICE = "cpu"
    return settings


@pytest.fixture
def worker_environment(monkeypatch, retrain_settings):
    """Set before `celery_worker` starts (it copies this process's environment)."""
    for name, value in MINIMUM.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("PIENET_RETRAIN_RECIPE", json.dumps(TINY_RECIPE))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture
def pool(active_model):
    return build_pool(photo_count=10, retouch_styles=STYLES)


def make_labels(participants: int, picks: int, seed: int = 0, slug: str = "taste"):
    """Participants who pick the images in their two favourite styles (others when a set has too few),
    then finish (which queues their preference vectors)."""
    rng = random.Random(seed)
    picking_round = participant_services.picking_round_create(
        slug=slug, title="Taste", consent_text="We record your picks.", min_picks=picks, max_picks=picks, set_size=4,
    )
    people = []
    for number in range(participants):
        participant, _ = participant_services.participant_join(picking_round=picking_round, params={}, consent=True)
        liked_styles, picked = TASTES[number % 2], 0
        while picked < picks:
            pick_set = participant_services.pick_set_current(participant=participant, rng=rng)
            items = sorted(pick_set.items.select_related("candidate"),
                           key=lambda item: item.candidate.style not in liked_styles)
            for item in items[: min(2, picks - picked)]:
                participant_services.item_choose(participant=participant, token=item.token, liked=True)
                picked += 1
            participant_services.pick_set_submit(participant=participant, number=pick_set.number)
        participant_services.participant_finish(participant=participant)
        people.append(participant)
    return people


@pytest.fixture
def admin_user():
    return User.objects.create_superuser("admin", "admin@example.org", "pw")


@pytest.fixture
def researcher():
    return User.objects.create_user("researcher", password="pw", is_staff=True)
