"""The library of retouching users: names, families, descriptions and the train / unseen-test split.

Like the paper's expanded FiveK (Sec. 4.2: 20 training users, 8 unseen test users drawn from all
three families, with no method shared between the sets), we hold out users of every family. The
held-out looks were chosen so that no training user reproduces them: ``python -m ml.data
unseen-report`` checks that each test user is at most 30 dB PSNR from its nearest training user.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ml.styles import classical, photographers, presets
from ml.styles.parametric import RandomUser, heldout_random_users

StyleFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Style:
    name: str
    family: str  # preset | classical | photographer
    function: StyleFunction

    @property
    def description(self) -> str:
        return inspect.getdoc(self.function).split("\n\n")[0].replace("\n", " ")

    def __call__(self, img: np.ndarray) -> np.ndarray:
        return self.function(img)


_FAMILIES = (("preset", presets, ""), ("classical", classical, ""), ("photographer", photographers, "photographer_"))


def _collect() -> dict[str, Style]:
    styles = {}
    for family, module, prefix in _FAMILIES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                styles[prefix + name] = Style(prefix + name, family, function)
    return styles


STYLES: dict[str, Style] = _collect()
"""Every user, by name (module-level functions of presets, classical and photographers)."""

TEST_USERS: tuple[str, ...] = (
    "cross_process", "pastel", "bleach_bypass", "soft_glow", "lomo",
    "lime", "dark_channel_dehaze", "reinhard_tonemap",
    "photographer_film_emulation", "photographer_vivid_landscape",
)
"""Unseen users: never used to train the embedding or PieNet, only to test personalization."""

TRAIN_USERS: tuple[str, ...] = tuple(sorted(name for name in STYLES if name not in TEST_USERS))

HELDOUT_RANDOM_USERS: dict[str, RandomUser] = {user.name: user for user in heldout_random_users(10)}
"""A second unseen group for the experiments: random users (ml.styles.parametric) no training run draws."""

DATASET_USERS: dict[str, StyleFunction] = {**{name: style.function for name, style in STYLES.items()},
                                           **HELDOUT_RANDOM_USERS}
"""Every user the dataset build renders: the named ones and the held-out random ones."""


def get_style(name: str) -> Style:
    try:
        return STYLES[name]
    except KeyError:
        raise KeyError(f"Unknown style {name!r}; known styles: {', '.join(sorted(STYLES))}") from None


def users_json() -> dict:
    """The ``users.json`` document of the dataset layout contract."""
    users = {name: {"family": style.family, "description": style.description} for name, style in STYLES.items()}
    users.update({name: {"family": user.family, "description": user.description}
                  for name, user in HELDOUT_RANDOM_USERS.items()})
    return {
        "train_users": list(TRAIN_USERS),
        "test_users": list(TEST_USERS),
        "heldout_users": list(HELDOUT_RANDOM_USERS),
        "users": dict(sorted(users.items())),
    }
