"""No method identity reaches a participant: every response of a whole study — HTML, JSON, image bytes
and metadata, headers, URLs — is scanned for anything that names or distinguishes a method."""
import io
import json
import re

import pytest
from PIL import Image

from ml.styles.registry import STYLES
from studies.models import StudyMethod, Trial
from tests.studies.helpers import join, picked_and_ready, vote

pytestmark = pytest.mark.django_db

ALLOWED_TRIAL_KEYS = {"token", "number", "options"}
ALLOWED_OPTION_KEYS = {"token", "position", "image_url"}
ALLOWED_JPEG_INFO = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}


class RecordingClient:
    """Wraps a test client and keeps every request path and response."""

    def __init__(self, client):
        self.client, self.seen = client, []

    def __getattr__(self, name):
        method = getattr(self.client, name)
        if name not in ("get", "post", "put"):
            return method

        def call(path, *args, **kwargs):
            response = method(path, *args, **kwargs)
            self.seen.append((path, response))
            return response

        return call


def forbidden_words(study) -> list[str]:
    words = {"pienet_personal", "pienet_mean", "pienet_style", "retouch", "degraded", "is_check", "attention",
             "sequence", "gold", "personal", "mean vector", "bright", "warm"}
    for method in StudyMethod.objects.filter(study=study):
        words |= {method.label, method.kind, method.style, method.key}
    words |= set(STYLES)
    return sorted(word for word in words if word)


def leaks(text: str, words) -> list[str]:
    return [word for word in words if re.search(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", text, re.I)]


def test_participant_sees_nothing_that_identifies_a_method(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        plain = join(study.slug)
        client = RecordingClient(plain)
        client.get(f"/study/{study.slug}/")
        client.get(f"/study/{study.slug}/pick/")
        entry = picked_and_ready(client, study)
        client.get(f"/study/{study.slug}/vote/")
        state = client.post(f"/api/studies/{study.slug}/current/").json()
        images = []
        while state["stage"] == "voting":
            trial = state["trial"]
            assert set(trial) == ALLOWED_TRIAL_KEYS
            sizes, tables = set(), set()
            for option in trial["options"]:
                assert set(option) == ALLOWED_OPTION_KEYS
                response = client.get(option["image_url"])
                assert response.status_code == 200
                image = Image.open(io.BytesIO(response.content))
                sizes.add(image.size)
                tables.add(json.dumps(image.quantization, sort_keys=True))
                images.append((option["image_url"], response, image))
            assert len(sizes) == 1 and len(tables) == 1  # same size and encoder settings for every method
            client.get(f"/api/studies/{study.slug}/me/")
            state = vote(client, study.slug, trial["token"], trial["options"][-1]["token"]).json()
        client.get(f"/study/{study.slug}/done/")
    assert state["stage"] == "done" and len(images) == 16

    words = forbidden_words(study)
    for path, response in client.seen:
        assert not leaks(path, words), path
        headers = " ".join(f"{key}: {value}" for key, value in response.items())
        assert not leaks(headers, words), (path, headers)
        assert "Content-Disposition" not in response or not path.startswith("/study/image/")
        if response["Content-Type"].startswith("image/"):
            continue
        text = response.content.decode()
        assert not leaks(text, words), (path, leaks(text, words))
    for _url, response, image in images:
        assert set(image.info) <= ALLOWED_JPEG_INFO, image.info  # no EXIF, ICC profile, comment or XMP
        assert not image.getexif()
        header = response.content[: response.content.index(b"\xff\xda")]  # every segment before the pixel data
        assert not leaks(header.decode("latin-1"), words)
        assert "ETag" not in response and "Last-Modified" not in response
    # Tokens are per trial: the same method has a different address in every trial.
    assert len({url for url, _, _ in images}) == 16
    # A check's degraded option looks like any other option in the payload (it was checked above) but is different.
    assert Trial.objects.get(participant=entry, is_check=True).options.filter(degraded=True).count() == 1


def test_images_and_state_belong_to_their_participant_only(study, django_capture_on_commit_callbacks, client):
    with django_capture_on_commit_callbacks(execute=False):
        owner = join(study.slug)
        picked_and_ready(owner, study)
        trial = owner.post(f"/api/studies/{study.slug}/current/").json()["trial"]
    url = trial["options"][0]["image_url"]
    assert owner.get(url).status_code == 200
    assert client.get(url).status_code == 404  # anonymous
    other = join(study.slug)
    assert other.get(url).status_code == 404  # another participant
    assert client.get(f"/api/studies/{study.slug}/me/").status_code == 403
    assert vote(client, study.slug, trial["token"], trial["options"][0]["token"]).status_code == 403
    assert vote(other, study.slug, trial["token"], trial["options"][0]["token"]).status_code == 400
