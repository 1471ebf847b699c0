"""Looks, results, pages, limits and clean-up through the test client; the worker's service is
called in-process here (tests/demo/test_worker.py runs it in a real worker)."""
import hashlib
import io
import logging
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torch
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from PIL import Image

from ml.images import load_image, to_uint8
from ml.inference import Enhancer
from ml.personalize import blend
from tests.demo.helpers import ARTIST, GPS_IFD, decode, jpeg, jpeg_with_location, render, upload
from tests.participants.helpers import build_pool, joined_client, pick_until
from webapp.celery import app as celery_app
from webapp.core import services as core_services
from webapp.core.imaging import encode_jpeg
from webapp.core.models import Job, Photo
from webapp.demo import services
from webapp.demo.models import Result, StylePreview, Upload
from webapp.participants import services as participant_services
from webapp.participants.models import Participant, PreferenceVector

pytestmark = pytest.mark.django_db


def run(result: dict) -> dict:
    """What the gpu worker does for a requested result, then the state the page polls."""
    job = Result.objects.get(token=result["token"]).job
    services.render_run(job_id=str(job.pk))
    return Client().get(f"/api/demo/results/{result['token']}/").json()


def downloaded(client, state: dict) -> np.ndarray:
    response = client.get(state["download_url"])
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    return decode(b"".join(response.streaming_content))


def expected(checkpoint, data: bytes, vector, strength: float) -> np.ndarray:
    """`Enhancer.enhance` on the same bytes, saved the way the worker saves its result. The JPEG round trip is
    part of the expectation: the tiny test model's looks are garish, and on such a picture JPEG alone moves
    pixels by 3 levels on average, so comparing with the unsaved output would measure JPEG, not the worker."""
    enhancer = Enhancer.from_checkpoint(checkpoint, device="cpu")
    output = enhancer.enhance(load_image(data), vector, strength=strength)
    return decode(encode_jpeg(to_uint8(output), services.RESULT_QUALITY))


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() < 1.5


def test_named_styles_blends_and_strength(client, active_model, styled_checkpoint):
    data = jpeg(480, 360, seed=3)
    photo = upload(client, data).json()
    first = render(client, photo["token"], style="bright")
    assert first.status_code == 202 and first.json()["status"] == "queued" and first.json()["download_url"] is None
    bright = run(first.json())
    assert bright["status"] == "succeeded" and bright["label"] == "Bright"
    full = downloaded(client, bright)
    assert full.shape == (360, 480, 3)  # full resolution
    vectors = Enhancer.from_checkpoint(styled_checkpoint, device="cpu").styles
    assert close(full, expected(styled_checkpoint, data, vectors["bright"], 1.0))
    assert not close(full, decode(data))  # the look changed the photo
    screen = client.get(bright["after_url"])
    assert screen.status_code == 200 and screen["Cache-Control"].startswith("private")

    again = render(client, photo["token"], style="bright", strength="1.00").json()
    assert again["token"] == bright["token"] and again["status"] == "succeeded"  # asked before: no new job
    assert Job.objects.count() == 1

    mixed = run(render(client, photo["token"], style="bright", blend_with="warm", mix="0.25").json())
    assert mixed["label"] == "Bright 75% + Warm 25%"
    blended = blend([vectors["bright"].cpu(), vectors["warm"].cpu()], [0.75, 0.25])
    assert close(downloaded(client, mixed), expected(styled_checkpoint, data, blended, 1.0))

    stronger = run(render(client, photo["token"], style="bright", strength=1.8).json())
    assert close(downloaded(client, stronger), expected(styled_checkpoint, data, vectors["bright"], 1.8))
    original = run(render(client, photo["token"], style="warm", strength=0).json())
    assert close(downloaded(client, original), decode(data))

    # A blend that is all one style, or a style with itself, is that style.
    assert render(client, photo["token"], style="warm", blend_with="bright", mix=1).json()["token"] == bright["token"]
    itself = render(client, photo["token"], style="bright", blend_with="bright", mix=0.5).json()
    assert itself["token"] == bright["token"]


@pytest.mark.parametrize("look, message", [
    ({"style": "sepia"}, "Unknown style 'sepia'"),
    ({"style": "bright", "blend_with": "nope", "mix": 0.5}, "Unknown style 'nope'"),
    ({"style": "bright", "strength": 2.5}, "less than or equal to 2"),
    ({"style": "bright", "mix": 1.5}, "less than or equal to 1"),
    ({"style": "bright", "strength": "strong"}, "A valid number is required"),
    ({"style": services.MY_STYLE}, "no style of your own yet"),
    ({}, "This field is required"),
])
def test_looks_that_cannot_be_made_are_refused(client, active_model, look, message):
    token = upload(client, jpeg()).json()["token"]
    response = render(client, token, **look)
    assert response.status_code == 400 and message in str(response.json()), response.json()
    assert not Result.objects.exists()


def test_without_a_model_or_a_photo(client):
    token = upload(client, jpeg()).json()["token"]
    response = render(client, token, style="bright")
    assert response.status_code == 400 and "no model" in response.json()["detail"]
    assert render(client, "x" * 32, style="bright").status_code == 404
    assert client.get("/api/demo/results/" + "x" * 32 + "/").status_code == 404
    assert client.get("/r/" + "x" * 32 + "/").status_code == 404
    assert client.get("/r/" + "x" * 32 + "/download").status_code == 404
    assert client.get(f"/try/{token}/").status_code == 200  # the page says so instead of failing


def test_my_style_from_the_picking_round(active_model, styled_checkpoint, settings):
    """The participant flow's round makes the visitor's vector; the demo renders with it in the same session."""
    build_pool(photo_count=8, retouch_styles=["vivid", "sepia"])
    participant_services.picking_round_create(
        slug=settings.PIENET_DEMO_ROUND, title="Find your style", consent_text="Pick.", min_picks=5, max_picks=10,
        set_size=6, preview_count=1, completion_url="/try/",
    )
    visitor = joined_client(settings.PIENET_DEMO_ROUND)
    data = jpeg(300, 200, seed=9)
    token = upload(visitor, data).json()["token"]
    run(render(visitor, token, style="warm").json())
    studio = visitor.get(f"/try/{token}/").content.decode()
    assert "Continue" in studio and f"/take-part/{settings.PIENET_DEMO_ROUND}/pick/" in studio  # picking under way

    pick_until(visitor, settings.PIENET_DEMO_ROUND, picks=5, per_set=3)
    assert visitor.post(f"/api/rounds/{settings.PIENET_DEMO_ROUND}/finish/").status_code == 202
    assert "being worked out" in visitor.get(f"/try/{token}/").content.decode()
    preview = visitor.get(f"/take-part/{settings.PIENET_DEMO_ROUND}/preview/").content.decode()
    assert "Continue with your style" in preview and "Return to the study site" not in preview  # says where it goes
    job = Job.objects.get(kind=Job.Kind.PREFERENCE)
    participant_services.preference_compute(job_id=str(job.pk))
    vector = PreferenceVector.objects.get(participant=Participant.objects.get()).vector_array()

    studio = visitor.get(f"/try/{token}/").content.decode()
    assert f'value="{services.MY_STYLE}" checked' in studio  # back from the round: their own style first
    mine = run(render(visitor, token, style=services.MY_STYLE).json())
    assert mine["status"] == "succeeded" and mine["label"] == "My style"
    assert close(downloaded(visitor, mine), expected(styled_checkpoint, data, torch.from_numpy(vector.copy()), 1.0))
    with_warm = run(render(visitor, token, style=services.MY_STYLE, blend_with="warm", mix=0.5).json())
    assert with_warm["label"] == "My style 50% + Warm 50%"
    run(render(visitor, token, style="bright").json())
    assert 'value="bright" checked' in visitor.get(f"/try/{token}/").content.decode()  # then their last look
    # Another visitor's session has no such style, even for the same photo.
    assert render(Client(), token, style=services.MY_STYLE).status_code == 400
    assert visitor.get("/try/")["Location"] == f"/try/{token}/"  # the round's way back to the photo


def test_a_failed_rendering_is_tried_again(client, active_model):
    token = upload(client, jpeg()).json()["token"]
    first = render(client, token, style="warm").json()
    core_services.job_fail(job_id=Result.objects.get(token=first["token"]).job_id, error=RuntimeError("GPU lost"))
    failed = client.get(f"/api/demo/results/{first['token']}/").json()
    assert failed["status"] == "failed" and "internal error" in failed["error"]
    retried = render(client, token, style="warm").json()
    assert retried["status"] == "queued" and retried["token"] != first["token"]
    assert Result.objects.count() == 1 and Job.objects.count() == 1


def test_a_full_queue_asks_visitors_to_come_back(client, active_model, settings):
    settings.PIENET_DEMO_MAX_WAITING = 1
    token = upload(client, jpeg()).json()["token"]
    assert render(client, token, style="warm").status_code == 202
    busy = render(client, token, style="bright")
    assert busy.status_code == 503 and "try again in a minute" in busy.json()["detail"]
    assert render(client, token, style="warm").status_code == 202  # an existing result is still answered


def test_rate_limits_per_client(active_model, settings):
    settings.PIENET_DEMO_RATES = {"upload": "2/hour", "render": "3/hour", "poll": ""}
    visitor = Client(REMOTE_ADDR="203.0.113.5")
    tokens = [upload(visitor, jpeg(seed=seed)).json()["token"] for seed in range(2)]
    refused = upload(visitor, jpeg(seed=5))
    assert refused.status_code == 429 and "limit" in refused.json()["detail"] and int(refused["Retry-After"]) > 0
    spoofed = upload(visitor, jpeg(seed=5), HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert spoofed.status_code == 429  # a forwarded-for header a visitor wrote is ignored
    assert upload(Client(REMOTE_ADDR="203.0.113.6"), jpeg(seed=5)).status_code == 201  # another client

    for style in ("warm", "bright", "warm"):
        assert render(visitor, tokens[0], style=style, strength=0.5 if style == "warm" else 1).status_code == 202
    assert render(visitor, tokens[0], style="bright", strength=0.3).status_code == 429

    settings.PIENET_TRUSTED_PROXIES = 1  # behind one proxy: its forwarded-for header names the client
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    assert upload(proxy, jpeg(seed=6), HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 201
    assert upload(proxy, jpeg(seed=6), HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 201
    assert upload(proxy, jpeg(seed=6), HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert upload(proxy, jpeg(seed=6), HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 201


def _demo_photo(seed: int = 11) -> Photo:
    photo, _ = core_services.photo_create(data=jpeg(400, 300, seed=seed), title=f"sample {seed}", is_demo=True)
    core_services.photo_make_thumbnail(photo_id=photo.pk)
    photo.refresh_from_db()
    return photo


def test_style_previews_landing_page_and_samples(client, active_model, django_capture_on_commit_callbacks):
    sample = _demo_photo()
    with django_capture_on_commit_callbacks() as queued:
        page = client.get("/")
        client.get("/")
    assert page.status_code == 200
    assert len(queued) == 1  # previews queued once, not on every page view
    assert services.style_previews_render(model_version_id=active_model.pk) == 2
    assert services.style_previews_render(model_version_id=active_model.pk) == 0  # cached
    assert services.style_previews_ensure(version=active_model) is False
    previews = StylePreview.objects.filter(model_version=active_model)
    assert sorted(previews.values_list("style", flat=True)) == ["bright", "warm"]
    for preview in previews:
        with default_storage.open(preview.image.name, "rb") as stored:
            assert max(decode(stored.read()).shape[:2]) == services.PREVIEW_SIZE

    html = client.get("/").content.decode()
    assert "Model tiny · 2 styles" in html and "As taken" in html and "Bright" in html
    assert previews.get(style="warm").image.url in html
    assert f'data-sample="{sample.pk}"' in html
    from_sample = client.post("/api/demo/uploads/", {"sample": sample.pk})
    assert from_sample.status_code == 201 and (from_sample.json()["width"], from_sample.json()["height"]) == (400, 300)
    token = from_sample.json()["token"]
    with django_capture_on_commit_callbacks() as queued:
        studio = client.get(from_sample.json()["page_url"]).content.decode()
    assert len(queued) == 1 and 'value="bright"' in studio  # the picker's thumbnails of this photo, queued
    assert previews.get(style="bright").image.url not in studio  # not the house's: the visitor's own photo
    thumbnail_url = f"/try/{token}/styles/bright.jpg"
    assert f'data-src="{thumbnail_url}"' in studio and client.get(thumbnail_url).status_code == 204  # not yet
    upload_row = Upload.objects.get(token=token)
    assert services.upload_previews_render(upload_id=upload_row.pk, model_version_id=active_model.pk) == 2
    thumbnail = client.get(thumbnail_url)
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"
    assert max(decode(b"".join(thumbnail.streaming_content)).shape[:2]) == services.PREVIEW_SIZE
    result = run(render(client, token, style="warm").json())
    assert result["status"] == "succeeded"
    assert Photo.objects.filter(pk=sample.pk).exists() and Photo.objects.count() == 1  # samples are not copied


def test_the_showcase_is_the_most_distinct_looks_as_measured(client, active_model):
    """The home page's looks are chosen by measuring the previews: a look that barely changes the photo comes
    last, and of two near-identical looks only one makes the top of the ranking."""
    sample = _demo_photo()
    source = np.asarray(Image.open(default_storage.open(sample.thumbnail.name)).convert("RGB"))
    source = source[: services.PREVIEW_SIZE, : services.PREVIEW_SIZE]
    red = np.zeros_like(source)
    red[..., 0] = 230
    looks = {"as_is": source, "negative": 255 - source, "red": red, "negative_too": np.clip(250 - source, 0, 255)}
    active_model.styles = list(looks)
    active_model.save()
    for name, pixels in looks.items():
        stored = default_storage.save(f"demo-styles/test_{name}.png", io.BytesIO(encode_png(pixels)))
        StylePreview.objects.create(model_version=active_model, style=name, image=stored)
    ranking = services.showcase_measure(version=active_model, source=source)
    assert sorted(ranking) == sorted(looks) and ranking[-1] == "as_is"
    assert {"negative", "negative_too"} - set(ranking[:2]) and "red" in ranking[:2]
    shown = re.findall(r"<figcaption>([^<]+)</figcaption>", client.get("/").content.decode())
    assert [services.style_label(name) for name in ranking[:3]] == shown[1:4]  # after "As taken"


def encode_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_result_page_and_download_name(client, active_model):
    token = upload(client, jpeg()).json()["token"]
    result = run(render(client, token, style="warm", blend_with="bright", mix=0.4, strength=1.2).json())
    page = client.get(result["page_url"])
    assert page.status_code == 200 and "noindex" in page.content.decode()
    assert "Warm 60% + Bright 40% · strength 120%" in page.content.decode()
    download = client.get(result["download_url"])
    assert download["Content-Disposition"] == 'attachment; filename="pienet-warm-60-bright-40-1.20.jpg"'
    assert client.get(f"/try/{token}/")["Cache-Control"].startswith(("max-age=0", "no-cache", "private"))


def test_a_shared_result_leads_nobody_to_the_original(client, active_model, media_root, private_root):
    """A result link is meant to be shared: its page names nothing that locates the upload, and no file
    under the media root (which SERVE_MEDIA=1 or a web server serves) holds the original or its tags."""
    data = jpeg_with_location()
    token = upload(client, data).json()["token"]
    result = run(render(client, token, style="warm").json())
    page = Client().get(result["page_url"]).content.decode()  # whoever the link was sent to
    assert token not in page
    for url in re.findall(r'(?:src|href)="(/[^"]*)"', page):
        assert token not in url
    before = Client().get(re.search(r'class="dm-before" src="([^"]+)"', page).group(1))
    assert before.status_code == 200 and not Image.open(io.BytesIO(b"".join(before.streaming_content))).getexif()
    served = [path for path in Path(media_root).rglob("*") if path.is_file()]
    assert served
    for path in served:
        assert path.read_bytes() != data, path
        exif = Image.open(path).getexif()
        assert ARTIST not in exif and not exif.get_ifd(GPS_IFD), path
    original = Path(Upload.objects.get(token=token).original.path)
    assert original.read_bytes() == data and Path(private_root) in original.parents  # kept for rendering only
    assert token not in original.name


def test_uploads_and_results_are_deleted_after_a_day(client, active_model, media_root):
    old_token = upload(client, jpeg(seed=1)).json()["token"]
    old_result = run(render(client, old_token, style="warm").json())
    young_token = upload(client, jpeg(seed=2)).json()["token"]
    folder = media_root / "demo" / old_token
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        ["before.jpg", f"{old_result['token']}.jpg", f"{old_result['token']}_screen.jpg"]
    )
    original = Path(Upload.objects.get(token=old_token).original.path)
    assert original.is_file()
    Upload.objects.filter(token=old_token).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))

    from webapp.demo.tasks import delete_expired

    assert delete_expired() == 1
    assert not folder.exists() and not original.exists()
    assert not Upload.objects.filter(token=old_token).exists() and not Result.objects.exists()
    assert not Job.objects.exists()  # nor its jobs
    assert client.get(old_result["page_url"]).status_code == 404
    assert Upload.objects.filter(token=young_token).exists()
    assert (media_root / "demo" / young_token / "before.jpg").exists()
    assert delete_expired() == 0

    schedule = {entry["task"]: entry["schedule"] for entry in celery_app.conf.beat_schedule.values()}
    assert schedule["demo.cpu.delete_expired"] <= 3600  # runs at least hourly
    router = celery_app.amqp.router
    assert router.route({}, "demo.cpu.delete_expired")["queue"].name == "cpu"
    assert router.route({}, "demo.gpu.render")["queue"].name == "gpu"


def test_nothing_of_a_visitors_photo_is_logged(client, active_model, caplog):
    data = jpeg(seed=21)
    with caplog.at_level(logging.DEBUG):
        body = upload(client, data, name="holiday-at-grandmas-house.jpg").json()
        result = run(render(client, body["token"], style="warm").json())
        client.get(result["download_url"])
        upload(client, b"broken" * 10, name="secret-name.png")
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    for secret in ("holiday-at-grandmas-house", "secret-name", hashlib.sha256(data).hexdigest()[:16],
                   body["token"], result["token"]):
        assert secret not in logged
    assert any(record.getMessage() == "demo_rendered" for record in caplog.records)
