"""Helpers for the participant-flow tests."""
import io
import re

import numpy as np
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from tests.webapp.helpers import jpeg_bytes
from webapp.core import services as core_services
from webapp.core.models import Job, Photo
from webapp.participants import services


def make_photos(count: int, seed: int = 500) -> list[Photo]:
    photos = []
    for index in range(count):
        photo, _ = core_services.photo_create(data=jpeg_bytes(80, 60, seed=seed + index), title=f"photo {index}")
        core_services.photo_make_thumbnail(photo_id=photo.pk)
        photo.refresh_from_db()
        photos.append(photo)
    return photos


def _run_candidate_job(**request) -> None:
    job = services.candidates_request(**request)
    if services.candidates_render_retouch(job_id=str(job.pk)):
        services.candidates_render_pienet_and_embed(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error


def build_pool(photo_count: int, retouch_styles: list[str], pienet_photos: int = 0, held_out: int = 3) -> list[Photo]:
    """Photos and their candidates through the same services the workers run (stages called here):
    every photo in the retouching styles, the first `pienet_photos` also in the model's PieNet styles;
    `held_out` more photos get no candidates (the preview prefers photos a participant never saw)."""
    photos = make_photos(photo_count + held_out)[:photo_count]
    _run_candidate_job(photos=photos, retouch_styles=retouch_styles, pienet=False)
    if pienet_photos:
        _run_candidate_job(photos=photos[:pienet_photos], retouch_styles=[], pienet=True)
    return photos


def joined_client(slug: str, **params) -> Client:
    client = Client()
    response = client.post(f"/api/rounds/{slug}/join/", {"consent": True, **params}, content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return client


def current_set(client: Client, slug: str) -> dict:
    response = client.post(f"/api/rounds/{slug}/sets/current/")
    assert response.status_code == 200, response.content
    return response.json()["current_set"]


def choose(client: Client, slug: str, token: str, liked: bool = True):
    return client.put(f"/api/rounds/{slug}/items/{token}/", {"liked": liked}, content_type="application/json")


def pick_until(client: Client, slug: str, picks: int, per_set: int = 3) -> list[dict]:
    """Pick `per_set` images of each set until `picks` are picked; returns the sets shown."""
    shown, done = [], 0
    while done < picks:
        pick_set = current_set(client, slug)
        shown.append(pick_set)
        for item in pick_set["items"][: min(per_set, picks - done)]:
            assert choose(client, slug, item["token"]).status_code == 200
            done += 1
        assert client.post(f"/api/rounds/{slug}/sets/{pick_set['number']}/submit/").status_code == 200
    return shown


def style_names_in(text: str, names) -> list[str]:
    return [name for name in names if re.search(rf"\b{re.escape(name)}\b", text)]


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def assert_same_looking_copies(mine: bytes, theirs: bytes, stored: str) -> None:
    """Other bytes, the same image: a level or two apart at most (the odd pixel beside a moved block a
    little more), and as close to the stored rendering as one re-encoding at its quality leaves it."""
    assert mine != theirs
    between = np.abs(pixels(mine) - pixels(theirs))
    assert np.percentile(between, 99.9) <= 2 and between.max() <= 4, between.max()
    with default_storage.open(stored, "rb") as handle:
        rendering = pixels(handle.read())
    for data in (mine, theirs):
        assert np.abs(pixels(data) - rendering).mean() < 1
