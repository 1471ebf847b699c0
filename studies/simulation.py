"""Synthetic participants for `manage.py simulate_study`: each has the taste of one unseen test user of
`ml.styles` and goes through the study like a browser would — consent page, picking API, trial API,
images fetched by token, CSRF tokens from cookies — through Django's test client (the real URL
configuration, views, sessions and middleware, in-process).

Their judgement is the only thing that looks behind the pages: to know what a photo would look like
in their own taste, they render the shown photo (found from the token, as a person recognizes a photo)
in their style and prefer what is closest to that, in CIELAB colour difference. They never look at
which method made an option.
"""
import io
import random
import time

import numpy as np
from django.test import Client
from PIL import Image
from skimage.color import rgb2lab

from ml.styles.registry import STYLES
from studies.models import Study, Trial
from studies.rendering import trial_source
from webapp.participants.models import SetItem

COMPARE_SIZE = 160


def _small(pixels: np.ndarray) -> np.ndarray:
    image = Image.fromarray(pixels)
    image.thumbnail((COMPARE_SIZE, COMPARE_SIZE), Image.Resampling.BILINEAR)
    return rgb2lab(np.asarray(image, dtype=np.float32) / 255)


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIELAB ΔE (1976) between two uint8 images of the same photo (compared at a small size)."""
    return float(np.linalg.norm(_small(a) - _small(b), axis=-1).mean())


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


class SimulationError(Exception):
    """A page or API answered something a browser could not go on from."""


class SyntheticParticipant:
    def __init__(self, study: Study, taste: str, rng: random.Random, careless: bool = False):
        self.study, self.taste, self.rng, self.careless = study, taste, rng, careless
        # Over HTTPS, Django's CSRF check also wants a same-origin Referer, as browsers send.
        self.client = Client(enforce_csrf_checks=True, HTTP_REFERER="https://testserver/")
        self.ideals: dict[int, np.ndarray] = {}
        self.pseudonym = ""
        self.outcome = None

    # -- a browser's requests ---------------------------------------------------------------

    def _check(self, response, *codes):
        if response.status_code not in codes:
            raise SimulationError(f"{response.request['PATH_INFO']} answered {response.status_code}: "
                                  f"{response.content[:300]!r}")
        return response

    def _csrf(self) -> str:
        return self.client.cookies["csrftoken"].value

    def get(self, path, *codes):
        return self._check(self.client.get(path, secure=True), *(codes or (200,)))

    def api(self, method, path, body=None, codes=(200,)):
        response = getattr(self.client, method)(
            path, body if body is not None else {}, content_type="application/json", secure=True,
            headers={"X-CSRFToken": self._csrf()},
        )
        return self._check(response, *codes).json()

    # -- taste --------------------------------------------------------------------------------

    def ideal(self, photo) -> np.ndarray:
        """What this participant would like the photo to look like: their style's own rendering."""
        if photo.pk not in self.ideals:
            source = trial_source(photo)
            self.ideals[photo.pk] = np.clip(STYLES[self.taste](source.astype(np.float32) / 255) * 255 + 0.5, 0, 255
                                            ).astype(np.uint8)
        return self.ideals[photo.pk]

    def closeness(self, image: np.ndarray, photo) -> float:
        """Distance to the ideal relative to the unretouched photo's: comparable across photos."""
        ideal = self.ideal(photo)
        return colour_distance(image, ideal) / (colour_distance(trial_source(photo), ideal) + 1.0)

    # -- the study ------------------------------------------------------------------------------

    def join_and_pick(self, recruitment_id: str) -> None:
        slug, round_slug = self.study.slug, self.study.picking_round.slug
        self.get(f"/study/{slug}/?PROLIFIC_PID={recruitment_id}&STUDY_ID=simulation&SESSION_ID={recruitment_id}")
        response = self.client.post(f"/study/{slug}/", {
            "csrfmiddlewaretoken": self._csrf(), "consent": "yes", "PROLIFIC_PID": recruitment_id,
            "STUDY_ID": "simulation", "SESSION_ID": recruitment_id,
        }, secure=True)
        self._check(response, 302)
        self.get(f"/study/{slug}/pick/")
        picking_round = self.study.picking_round
        per_set = max(1, round(picking_round.set_size / 3))
        picks = 0
        while picks < picking_round.max_picks:
            state = self.api("post", f"/api/rounds/{round_slug}/sets/current/")
            self.pseudonym = state["pseudonym"]
            current = state["current_set"]
            if current is None:
                break
            items = current["items"]
            if self.careless:
                chosen = self.rng.sample(items, min(per_set, len(items)))
            else:
                scored = []
                for item in items:
                    image = decode(self.get(item["image_url"]).getvalue())
                    photo = SetItem.objects.select_related("photo").get(token=item["token"]).photo
                    scored.append((self.closeness(image, photo), item["token"]))
                chosen = [{"token": token} for _, token in sorted(scored)[:per_set]]
            for item in chosen[: picking_round.max_picks - picks]:
                self.api("put", f"/api/rounds/{round_slug}/items/{item['token']}/", {"liked": True})
                picks += 1
            self.api("post", f"/api/rounds/{round_slug}/sets/{current['number']}/submit/")
        self.api("post", f"/api/rounds/{round_slug}/finish/", codes=(200, 202))

    def wait_until_voting(self, timeout: float) -> dict:
        self.get(f"/study/{self.study.slug}/vote/")
        deadline = time.monotonic() + timeout
        while True:
            state = self.api("post", f"/api/studies/{self.study.slug}/current/")
            if state["stage"] in ("voting", "done"):
                return state
            if state["stage"] == "failed":
                raise SimulationError(f"{self.pseudonym}: preparing the trials failed: {state['message']}")
            if time.monotonic() > deadline:
                raise SimulationError(
                    f"{self.pseudonym}: trials not ready after {timeout:.0f} s ({state['percent']}%)."
                )
            time.sleep(0.5)

    def vote_all(self, timeout: float) -> dict:
        state = self.wait_until_voting(timeout)
        while state["stage"] != "done":
            if state["stage"] != "voting":
                state = self.wait_until_voting(timeout)
                continue
            trial = state["trial"]
            options = trial["options"]
            if self.careless:
                choice = self.rng.choice(options)
            else:
                photo = Trial.objects.select_related("photo").get(token=trial["token"]).photo
                ideal = self.ideal(photo)
                choice = min(options, key=lambda option: colour_distance(
                    decode(self.get(option["image_url"]).getvalue()), ideal))
            state = self.api("post", f"/api/studies/{self.study.slug}/trials/{trial['token']}/vote/",
                             {"option": choice["token"], "response_ms": self.rng.randint(1500, 9000)})
        page = self.get(f"/study/{self.study.slug}/done/")
        code = state["done"]["code"]
        if code and code not in page.content.decode():
            raise SimulationError(f"{self.pseudonym}: the completion code is not on the last page.")
        self.outcome = state["done"]
        return state["done"]
