"""Check that the unseen test users really are unseen: no training user reproduces their look.

For every test user we compute the mean PSNR between its renderings and each training user's
renderings of the same photos and report the nearest training user. Above 30 dB two users are
practically the same look (FiveK's experts are typically 20-25 dB apart), so a test user that
close would not test personalization to a *new* user.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np

from ml.data.photos import sample_targets
from ml.images import ImageError, load_image, resize_short_side
from ml.styles import STYLES, TEST_USERS, TRAIN_USERS

UNSEEN_PSNR_LIMIT = 30.0


class UnseenReportError(ValueError):
    """The dataset folder lacks what the report needs."""


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 100.0 if mse <= 1e-10 else 10.0 * np.log10(1.0 / mse)


def _renderings_from_photos(photos: Path, count: int, size: int, users: list[str]):
    for photo, image in sample_targets(photos, count, lambda p: resize_short_side(load_image(photos / p.file), size)):
        yield {user: STYLES[user](image) for user in users}


def _renderings_from_dataset(data: Path, count: int, users: list[str]):
    manifest = data / "manifest.csv"
    if not manifest.is_file():
        raise UnseenReportError(f"{data} has no manifest.csv (is the build finished?)")
    with manifest.open(newline="") as handle:
        targets = sorted({row["target"] for row in csv.DictReader(handle)},
                         key=lambda name: hashlib.sha256(name.encode()).digest())[:count]
    for target in targets:
        try:
            yield {user: load_image(data / user / f"{target}.jpg") for user in users}
        except ImageError as error:
            raise UnseenReportError(f"cannot read a rendering of {target}: {error}") from None


def _users(data: Path | None) -> tuple[list[str], list[str]]:
    if data is None:
        return list(TRAIN_USERS), list(TEST_USERS)
    users_file = data / "users.json"
    if not users_file.is_file():
        raise UnseenReportError(f"{data} has no users.json")
    document = json.loads(users_file.read_text())
    return document["train_users"], document["test_users"]


def unseen_report(data: Path | None = None, photos: Path | None = None, count: int = 50, size: int = 512) -> dict:
    """Nearest training user (by mean PSNR over ``count`` photos) for every test user."""
    if (data is None) == (photos is None):
        raise UnseenReportError("give exactly one of a dataset folder or a photo folder")
    train_users, test_users = _users(Path(data) if data else None)
    users = train_users + test_users
    renderings = (_renderings_from_dataset(Path(data), count, users) if data
                  else _renderings_from_photos(Path(photos), count, size, users))
    totals = np.zeros((len(test_users), len(train_users)))
    photo_count = 0
    for rendered in renderings:
        photo_count += 1
        for i, test_user in enumerate(test_users):
            for j, train_user in enumerate(train_users):
                totals[i, j] += psnr(rendered[test_user], rendered[train_user])
    if photo_count == 0:
        raise UnseenReportError("no photos to compare")
    mean = totals / photo_count
    rows = []
    for i, test_user in enumerate(test_users):
        nearest = int(np.argmax(mean[i]))
        rows.append({"test_user": test_user, "nearest_train_user": train_users[nearest],
                     "psnr_db": round(float(mean[i, nearest]), 2)})
    return {"photos": photo_count, "limit_db": UNSEEN_PSNR_LIMIT,
            "ok": all(row["psnr_db"] <= UNSEEN_PSNR_LIMIT for row in rows), "rows": rows}


def format_table(report: dict) -> str:
    lines = [f"{'test user':32s} {'nearest training user':32s} {'PSNR dB':>8s}"]
    for row in report["rows"]:
        flag = "" if row["psnr_db"] <= report["limit_db"] else "  ABOVE LIMIT"
        lines.append(f"{row['test_user']:32s} {row['nearest_train_user']:32s} {row['psnr_db']:8.2f}{flag}")
    verdict = "all unseen" if report["ok"] else "NOT unseen"
    lines.append(f"{report['photos']} photos, limit {report['limit_db']} dB: {verdict}")
    return "\n".join(lines)
