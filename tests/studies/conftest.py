"""Fixtures for the study tests: the platform's (tiny real checkpoints, media folder, real Celery
worker over Redis) and the participant flow's (photo pool with candidates), plus a study on them."""
import pytest

from tests.participants.conftest import active_model  # noqa: F401  (re-used fixtures)
from tests.studies.helpers import make_study
from tests.webapp.conftest import (  # noqa: F401
    celery_worker, checkpoint_dir, media_root, redis_broker, tiny_checkpoint,
)


@pytest.fixture
def study(active_model):  # noqa: F811
    """4 methods (PieNet personal and mean, two retouching users), 3 trials + 1 check, picks 4–6 of sets of 4."""
    return make_study(active_model)
