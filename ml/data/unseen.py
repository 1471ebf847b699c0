"""Check that the unseen test users really are unseen: no training user reproduces their look.

For every test user (the named unseen ones and the held-out random ones) we compute the mean PSNR between its
renderings and each training user's renderings of the same photos — the named training users and the random
ones of the v2 recipe (``ml.styles.parametric``) — and report the nearest training user. Above 30 dB two users
are practically the same look (FiveK's experts are typically 20-25 dB apart), so a test user that close would
not test personalization to a *new* user.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from ml.data.datasets import DatasetError, FiveKLayout
from ml.data.photos import sample_targets
from ml.data.style_bank import photos_root
from ml.images import ImageError, load_image, resize_image, resize_short_side
from ml.metrics import psnr
from ml.styles import DATASET_USERS, HELDOUT_RANDOM_USERS, TEST_USERS, TRAIN_USERS
from ml.styles.parametric import random_user, training_random_users

UNSEEN_PSNR_LIMIT = 30.0


class UnseenReportError(ValueError):
    """The dataset folder lacks what the report needs."""


def _renderers(names: list[str]) -> dict:
    return {name: DATASET_USERS[name] if name in DATASET_USERS else random_user(name) for name in names}


def _renderings_from_photos(photos: Path, count: int, size: int, users: list[str]):
    renderers = _renderers(users)
    for photo, image in sample_targets(photos, count, lambda p: resize_short_side(load_image(photos / p.file), size)):
        yield {user: render(image) for user, render in renderers.items()}


def _renderings_from_dataset(data: Path, count: int, users: list[str]):
    """The dataset's own renderings; users it does not hold (the random training users) are rendered from the
    undegraded photo its build.json points to."""
    layout = FiveKLayout.open(data)
    root = photos_root(layout)
    on_the_fly = _renderers([user for user in users if not (data / user).is_dir()])
    if on_the_fly and root is None:
        raise UnseenReportError(f"{data} does not say where its photos are (no build.json) to render "
                                f"{len(on_the_fly)} random users; use --photos")
    own_rows = {row["target"]: row for row in layout.rows if row["name"] == row["target"]}
    rows = sorted(own_rows.values(), key=lambda row: hashlib.sha256(row["target"].encode()).digest())[:count]
    for row in rows:
        try:
            rendered = {user: load_image(data / user / f"{row['target']}.jpg") for user in users
                        if user not in on_the_fly}
            if on_the_fly:
                clean = resize_image(load_image(root / row["source"]), next(iter(rendered.values())).shape[1::-1])
                rendered.update({user: render(clean) for user, render in on_the_fly.items()})
        except ImageError as error:
            raise UnseenReportError(f"cannot read a rendering of {row['target']}: {error}") from None
        yield rendered


def _users(data: Path | None, random_users: int) -> tuple[list[str], list[str]]:
    randoms = [user.name for user in training_random_users(random_users)]
    if data is None:
        return list(TRAIN_USERS) + randoms, list(TEST_USERS) + list(HELDOUT_RANDOM_USERS)
    if not (data / "users.json").is_file():
        raise UnseenReportError(f"{data} has no users.json")
    try:
        layout = FiveKLayout.open(data)
    except DatasetError as error:
        raise UnseenReportError(str(error)) from None
    return layout.train_users + randoms, layout.test_users + layout.heldout_users


def _psnr_to_each(references: list[np.ndarray], image: np.ndarray) -> np.ndarray:
    """PSNR of ``image`` against every reference (:func:`ml.metrics.psnr`, in chunks to bound memory)."""
    target = torch.from_numpy(image).permute(2, 0, 1)
    values = []
    for start in range(0, len(references), 16):
        chunk = torch.stack([torch.from_numpy(reference).permute(2, 0, 1) for reference in references[start:start + 16]])
        values.append(psnr(chunk, target.expand_as(chunk)))
    return torch.cat(values).clamp(max=100.0).numpy()


def unseen_report(data: Path | None = None, photos: Path | None = None, count: int = 50, size: int = 512,
                  random_users: int = 300) -> dict:
    """Nearest training user (by mean PSNR over ``count`` photos) for every test user; the training users include
    ``random_users`` random ones (the v2 recipe trains on 300)."""
    if (data is None) == (photos is None):
        raise UnseenReportError("give exactly one of a dataset folder or a photo folder")
    train_users, test_users = _users(Path(data) if data else None, random_users)
    users = train_users + test_users
    renderings = (_renderings_from_dataset(Path(data), count, users) if data
                  else _renderings_from_photos(Path(photos), count, size, users))
    totals = np.zeros((len(test_users), len(train_users)))
    photo_count = 0
    for rendered in renderings:
        photo_count += 1
        references = [rendered[train_user] for train_user in train_users]
        for i, test_user in enumerate(test_users):
            totals[i] += _psnr_to_each(references, rendered[test_user])
    if photo_count == 0:
        raise UnseenReportError("no photos to compare")
    mean = totals / photo_count
    rows = []
    for i, test_user in enumerate(test_users):
        nearest = int(np.argmax(mean[i]))
        rows.append({"test_user": test_user, "nearest_train_user": train_users[nearest],
                     "psnr_db": round(float(mean[i, nearest]), 2)})
    return {"photos": photo_count, "limit_db": UNSEEN_PSNR_LIMIT, "training_users": len(train_users),
            "ok": all(row["psnr_db"] <= UNSEEN_PSNR_LIMIT for row in rows), "rows": rows}


def format_table(report: dict) -> str:
    lines = [f"{'test user':32s} {'nearest training user':32s} {'PSNR dB':>8s}"]
    for row in report["rows"]:
        flag = "" if row["psnr_db"] <= report["limit_db"] else "  ABOVE LIMIT"
        lines.append(f"{row['test_user']:32s} {row['nearest_train_user']:32s} {row['psnr_db']:8.2f}{flag}")
    verdict = "all unseen" if report["ok"] else "NOT unseen"
    lines.append(f"{report['photos']} photos, limit {report['limit_db']} dB: {verdict}")
    return "\n".join(lines)
