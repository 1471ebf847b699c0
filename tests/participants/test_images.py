"""What a picking image says about itself: its response carries no name, and the stored names of
renderings cannot be derived from their (public) photo hash, model hash and style without the secret."""
import hashlib

import pytest

from tests.participants.helpers import current_set, joined_client
from webapp.participants.models import Candidate

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
