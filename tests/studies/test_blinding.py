"""Blinding across sessions: what two participants (or one person with two sessions) can compare.

The same method's image of the same photo reaches each participant as different bytes (the pixels stay
the same to the eye), a study is entered only through its own page, and the pages a participant sees
do not name the platform (which would say which option is the platform's own method)."""
import pytest

from studies.models import StudyMethod, TrialOption
from tests.participants.helpers import assert_same_looking_copies
from tests.studies.helpers import join, picked_and_ready, vote
from webapp.participants.models import Participant

pytestmark = pytest.mark.django_db


def served_images(client, entry) -> dict[tuple[int, int], tuple[bytes, str]]:
    """(photo, method) -> (the bytes this participant is sent, the stored rendering) of every shared option."""
    options = TrialOption.objects.filter(trial__participant=entry, degraded=False).exclude(
        method__kind=StudyMethod.Kind.PIENET_PERSONAL
    ).select_related("trial")
    images = {}
    for option in options:
        response = client.get(f"/study/image/{option.token}")
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert client.get(f"/study/image/{option.token}").content == response.content  # stable for its viewer
        images[(option.trial.photo_id, option.method_id)] = (response.content, option.image.name)
    return images


def test_shared_options_reach_each_participant_as_different_bytes(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first, second = join(study.slug), join(study.slug)
        seen = [served_images(client, picked_and_ready(client, study)) for client in (first, second)]
    common = seen[0].keys() & seen[1].keys()
    assert len(common) >= 3  # 6 voting photos, 4 trials each: at least 2 photos, 3 shared methods each
    for key in common:
        (mine, stored), (theirs, _) = seen[0][key], seen[1][key]
        assert_same_looking_copies(mine, theirs, stored)


def test_a_study_is_entered_through_its_own_page_only(study, client):
    round_slug = study.picking_round.slug
    assert round_slug not in client.get("/take-part/").content.decode()  # not listed with the picking rounds
    response = client.post(f"/api/rounds/{round_slug}/join/", {"consent": True}, content_type="application/json")
    assert response.status_code == 400 and not Participant.objects.exists()
    browser = join(study.slug)
    again = browser.post(f"/study/{study.slug}/", {"consent": "yes"})  # a second session from the same browser
    assert again.status_code == 302 and Participant.objects.count() == 1
    join(study.slug, PROLIFIC_PID="someone-else")  # a recruitment link is somebody else's session
    assert Participant.objects.count() == 2


def test_pages_a_participant_sees_do_not_name_the_platform(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        client = join(study.slug)
        pages = [client.get(f"/study/{study.slug}/"), client.get(f"/study/{study.slug}/pick/")]
        picked_and_ready(client, study)
        pages.append(client.get(f"/study/{study.slug}/vote/"))
        state = client.post(f"/api/studies/{study.slug}/current/").json()
        while state["stage"] == "voting":
            trial = state["trial"]
            state = vote(client, study.slug, trial["token"], trial["options"][0]["token"]).json()
        pages.append(client.get(f"/study/{study.slug}/done/"))
    for page in pages:
        assert page.status_code == 200
        assert "pienet" not in page.content.decode().lower(), page.request["PATH_INFO"]
