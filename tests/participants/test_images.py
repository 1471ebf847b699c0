"""What a picking image says about itself: its response carries no name, the stored names of renderings
cannot be derived from their (public) photo hash, model hash and style without the secret, and two
participants shown the same rendering get different bytes of the same-looking image."""
import hashlib

import pytest

from tests.participants.helpers import assert_same_looking_copies, build_pool, current_set, joined_client
from webapp.participants import services
from webapp.participants.models import Candidate, SetItem

pytestmark = pytest.mark.django_db


def unkeyed_names(candidate: Candidate) -> set[str]:
    """What anyone can compute for a candidate from public identities alone (the probe's guesses)."""
    photo = candidate.photo.content_hash
    guesses = [(photo, "retouch", candidate.style)]
    if candidate.model_version_id:
        guesses.append((photo, "pienet", candidate.model_version.sha256, candidate.style))
    return {hashlib.sha256("/".join(parts).encode()).hexdigest()[:24] for parts in guesses}


def test_picking_images_carry_no_name_and_names_need_the_secret(picking_round, pool):
    client = joined_client("taste")
    for item in current_set(client, "taste")["items"]:
        for url in (item["image_url"], item["thumbnail_url"]):
            response = client.get(url)
            assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
            assert not response.has_header("Content-Disposition"), response["Content-Disposition"]
    candidates = Candidate.objects.select_related("photo", "model_version")
    assert candidates.filter(kind=Candidate.Kind.PIENET).exists()
    for candidate in candidates:
        for guess in unkeyed_names(candidate):
            assert guess not in candidate.image.name and guess not in candidate.thumbnail.name


def test_two_participants_never_get_the_same_bytes_of_a_rendering():
    services.picking_round_create(slug="all", title="All of them", consent_text="-", min_picks=1, max_picks=4,
                                  set_size=4)
    build_pool(photo_count=4, retouch_styles=["vivid"], held_out=0)  # every set shows all four candidates
    served = []
    for client in (joined_client("all"), joined_client("all")):
        images = {}
        for item in current_set(client, "all")["items"]:
            candidate = SetItem.objects.get(token=item["token"]).candidate
            for url, field in ((item["image_url"], candidate.image), (item["thumbnail_url"], candidate.thumbnail)):
                data = client.get(url).content
                assert client.get(url).content == data  # the same bytes for the same viewer
                images[field.name] = data
        served.append(images)
    assert served[0].keys() == served[1].keys() and len(served[0]) == 8
    for name, mine in served[0].items():
        assert_same_looking_copies(mine, served[1][name], name)
