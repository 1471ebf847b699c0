"""Random users: fixed by their seed, plausible, and never shared between training and held-out groups."""

import numpy as np

from ml.styles import HELDOUT_RANDOM_USERS
from ml.styles.parametric import LOOKALIKE_SEEDS, draw_settings, random_user, training_random_users
from tests.data.synthetic import synthetic_photo


def test_a_random_user_is_the_same_look_every_time():
    photo = synthetic_photo(40, 60, seed=1)
    assert draw_settings(7) == draw_settings(7) != draw_settings(8)
    np.testing.assert_array_equal(random_user("random-00007")(photo), random_user("random-00007")(photo))


def test_random_looks_are_plausible_edits_that_differ_from_each_other():
    photo = synthetic_photo(48, 64, seed=2)
    outputs = [user(photo) for user in training_random_users(40)]
    for output in outputs:
        assert output.shape == photo.shape and output.dtype == np.float32
        assert 0.0 <= output.min() and output.max() <= 1.0
        assert np.abs(output - photo).mean() < 0.3  # an edit, not a different picture
    distances = [np.abs(a - b).mean() for a, b in zip(outputs, outputs[1:])]
    assert min(distances) > 0.003


def test_some_random_users_are_monochrome():
    photo = synthetic_photo(32, 32, seed=3)
    monochrome = [user for user in training_random_users(300) if user.settings.monochrome is not None]
    assert 5 <= len(monochrome) <= 60
    output = monochrome[0](photo)
    tint = np.asarray(monochrome[0].settings.monochrome[1], dtype=np.float32)
    np.testing.assert_allclose(output / np.maximum(output.max(axis=2, keepdims=True), 1e-6),
                               np.broadcast_to(tint / tint.max(), output.shape), atol=0.02)


def test_training_users_skip_the_lookalikes_of_test_users():
    users = training_random_users(300)
    assert len(users) == len({user.name for user in users}) == 300
    assert not {user.seed for user in users} & LOOKALIKE_SEEDS and users[-1].seed == 303


def test_held_out_random_users_are_not_training_users():
    training = {user.name for user in training_random_users(300)}
    assert len(HELDOUT_RANDOM_USERS) == 10 and not training & set(HELDOUT_RANDOM_USERS)
    assert {user.seed for user in training_random_users(300)}.isdisjoint(
        user.seed for user in HELDOUT_RANDOM_USERS.values())
