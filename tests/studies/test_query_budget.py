"""What a participant's busiest requests cost in SQL: the web load benchmark's goal rests on these
staying small (each query is a round trip and ORM work on a 2-core machine), so a change that makes
them grow fails here, not only in a benchmark nobody ran. Counts include the transaction's savepoint
statements."""
import pytest

from tests.studies.helpers import current, join, picked_and_ready, vote

pytestmark = pytest.mark.django_db


def test_picking_requests_stay_within_their_query_budget(study, django_assert_max_num_queries):
    client = join(study.slug)
    with django_assert_max_num_queries(3):
        assert client.get(f"/study/{study.slug}/pick/").status_code == 200
    round_slug = study.picking_round.slug
    items = client.post(f"/api/rounds/{round_slug}/sets/current/").json()["current_set"]["items"]
    with django_assert_max_num_queries(9):
        assert client.post(f"/api/rounds/{round_slug}/sets/current/").status_code == 200  # the open set again
    with django_assert_max_num_queries(10):
        response = client.put(f"/api/rounds/{round_slug}/items/{items[0]['token']}/", {"liked": True},
                              content_type="application/json")
    assert response.status_code == 200 and response.json()["picks"] == 1


def test_a_vote_stays_within_its_query_budget(study, django_assert_max_num_queries):
    client = join(study.slug)
    picked_and_ready(client, study)
    trial = current(client, study.slug)["trial"]
    with django_assert_max_num_queries(15):
        response = vote(client, study.slug, trial["token"], trial["options"][1]["token"])
    assert response.status_code == 200
    state = response.json()
    assert state["stage"] == "voting" and state["trial"]["number"] == 2 and len(state["trial"]["options"]) == 4
