"""Evaluation as in Sec. 4: enhance a split for each user and report PSNR/SSIM/ΔE per user and their means.

Training users use their learned vectors. Other users (the dataset's test users, i.e. new users) get a vector
from ``preferred_count`` of their retouches of *train-split* photos (never the evaluated photos), by scheme 2
(mean, default) or scheme 1 (triplet optimization with the inputs and the other users' retouches of the same
photos as negatives, as in Sec. 4.2).
"""

from __future__ import annotations

import random
from typing import Sequence

import torch
from tqdm import tqdm

from ml.data.datasets import DatasetError, FiveKLayout
from ml.images import load_image
from ml.inference import Enhancer
from ml.metrics import UserMetrics
from ml.personalize import mean_vector, optimize_vector

SCHEMES = ("mean", "triplet")


def preferred_rows(layout: FiveKLayout, user: str, count: int) -> list[dict[str, str]]:
    """``count`` distinct train-split photos (a seeded draw per user), whose retouches the user "preferred"."""
    rows = layout.distinct_rows("train")
    return random.Random(f"preferred:{user}").sample(rows, min(count, len(rows)))


def new_user_vector(enhancer: Enhancer, layout: FiveKLayout, user: str, preferred_count: int,
                    scheme: str = "mean") -> torch.Tensor:
    """Scheme 2 from the user's retouches of ``preferred_count`` distinct photos, or scheme 1 with the inputs and
    the other users' retouches of the same photos as the non-preferred images."""
    rows = preferred_rows(layout, user, preferred_count)
    positives = enhancer.embed([layout.target_path(user, row) for row in rows])
    if scheme == "mean":
        return mean_vector(positives)
    if scheme != "triplet":
        raise ValueError(f"Unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}.")
    others = [other for other in layout.train_users + layout.test_users if other != user]
    negative_paths = [layout.input_path(row) for row in rows]
    negative_paths += [layout.target_path(other, row) for other in others for row in rows
                       if layout.target_path(other, row).is_file()]
    return optimize_vector(positives, enhancer.embed(negative_paths))


def evaluate(enhancer: Enhancer, data_dir, split: str = "test", users: Sequence[str] | None = None,
             scheme: str = "mean", preferred_count: int = 10, limit: int | None = None) -> dict:
    """Returns :meth:`UserMetrics.summary` plus how each user's vector was obtained."""
    layout = FiveKLayout.open(data_dir)
    users = list(users) if users else layout.train_users + layout.test_users
    rows = layout.split_rows(split)[:limit]
    metrics = UserMetrics()
    sources = {}
    for user in users:
        if not (layout.root / user).is_dir():
            raise DatasetError(f"{layout.root} has no folder for user {user!r}.")
        if user in enhancer.styles:
            vector, sources[user] = enhancer.style_vector(user), "trained"
        else:
            vector = new_user_vector(enhancer, layout, user, preferred_count, scheme)
            sources[user] = f"scheme {scheme}, {len(preferred_rows(layout, user, preferred_count))} preferred"
        for row in tqdm(rows, desc=f"evaluate {user}", unit="img", leave=False):
            enhanced = enhancer.enhance(load_image(layout.input_path(row)), vector)
            metrics.update(user, enhanced, load_image(layout.target_path(user, row)))
    summary = metrics.summary()
    summary["vector_source"] = sources
    summary["split"] = split
    return summary
