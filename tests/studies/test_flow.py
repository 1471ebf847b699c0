"""A participant's whole study through the real pages and APIs (worker stages run in-process)."""
import pytest

from studies.models import StudyParticipant, Trial, Vote
from tests.studies.helpers import current, join, picked_and_ready, vote

pytestmark = pytest.mark.django_db


def test_consent_pick_vote_and_completion_code(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        client = join(study.slug, PROLIFIC_PID="abc123", STUDY_ID="s1", SESSION_ID="x9")
        page = client.get(f"/study/{study.slug}/pick/")
        assert page.status_code == 200 and "Tap the photos you like" in page.content.decode()
        assert f'data-preview-page="/study/{study.slug}/vote/"' in page.content.decode()
        assert client.get(f"/study/{study.slug}/vote/")["Location"] == f"/study/{study.slug}/pick/"
        entry = picked_and_ready(client, study)
        join_page = client.get(f"/study/{study.slug}/")
    assert "Continue where you left off" in join_page.content.decode()
    assert entry.participant.source == "prolific" and entry.participant.recruitment_id == "abc123"
    assert client.get(f"/take-part/{study.picking_round.slug}/pick/")["Location"] == f"/study/{study.slug}/pick/"

    assert client.get(f"/study/{study.slug}/vote/").status_code == 200
    state = current(client, study.slug)
    assert state["stage"] == "voting" and state["total"] == 4
    seen = []
    while state["stage"] == "voting":
        trial = state["trial"]
        assert len(trial["options"]) == 4
        seen.append(trial["number"])
        choice = trial["options"][0]
        degraded = Trial.objects.get(token=trial["token"]).options.get(token=choice["token"]).degraded
        if degraded:  # a careful participant never takes the damaged version
            choice = trial["options"][1]
        response = vote(client, study.slug, trial["token"], choice["token"], response_ms=1200)
        assert response.status_code == 200, response.content
        state = response.json()
    assert seen == [1, 2, 3, 4]
    assert state["stage"] == "done"
    assert state["done"] == {"passed": True, "code": "C0DE-OK",
                             "url": "https://app.prolific.com/submissions/complete?cc=C0DE-OK"}
    entry = StudyParticipant.objects.get(pk=entry.pk)
    assert entry.completed_at is not None and entry.failed_checks == 0
    votes = Vote.objects.filter(trial__participant=entry)
    assert votes.count() == 4 and all(v.response_ms == 1200 and v.server_ms is not None for v in votes)
    done = client.get(f"/study/{study.slug}/done/")
    assert done.status_code == 200 and "C0DE-OK" in done.content.decode()
    assert client.get(f"/study/{study.slug}/vote/")["Location"] == f"/study/{study.slug}/done/"
