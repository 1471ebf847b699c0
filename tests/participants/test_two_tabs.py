"""Two tabs of one participant picking at the same moment, against the real database (PostgreSQL
in CI): each request runs in its own thread and database connection, started together."""
import pytest

from tests.concurrency import at_once, real_database, same_browser  # noqa: F401  (autouse fixture)
from tests.participants.helpers import joined_client
from webapp.core.models import Job
from webapp.participants.models import Participant, PickSet, SetItem

pytestmark = [pytest.mark.django_db(transaction=True)]


def put(tab, token, liked=True):
    return lambda: tab.put(f"/api/rounds/taste/items/{token}/", {"liked": liked}, content_type="application/json")


def test_two_tabs_lose_nothing_and_duplicate_nothing(picking_round, pool, django_capture_on_commit_callbacks):
    one = joined_client("taste")
    two = same_browser(one)
    participant = Participant.objects.get()

    sets = at_once(lambda: one.post("/api/rounds/taste/sets/current/"), lambda: two.post("/api/rounds/taste/sets/current/"))
    numbers = {response.json()["current_set"]["number"] for response in sets}
    assert numbers == {1} and PickSet.objects.filter(participant=participant).count() == 1
    tokens = [item["token"] for item in sets[0].json()["current_set"]["items"]]

    # Both tabs pick overlapping images at the same time, each request possibly retried.
    calls = [put(one, tokens[0]), put(two, tokens[0]), put(one, tokens[1]), put(two, tokens[2]),
             put(two, tokens[1]), put(one, tokens[2]), put(one, tokens[3]), put(two, tokens[3])]
    assert {response.status_code for response in at_once(*calls)} == {200}
    assert SetItem.objects.filter(pick_set__participant=participant, liked=True).count() == 4

    submits = at_once(lambda: one.post("/api/rounds/taste/sets/1/submit/"), lambda: two.post("/api/rounds/taste/sets/1/submit/"))
    assert [response.status_code for response in submits] == [200, 200]
    assert SetItem.objects.filter(pick_set__number=1, liked=False).count() == len(tokens) - 4

    # One pick left before the maximum: of two tabs picking different images at once, exactly one wins.
    picking_round.min_picks, picking_round.max_picks = 5, 5
    picking_round.save()
    tokens = [item["token"] for item in one.post("/api/rounds/taste/sets/current/").json()["current_set"]["items"]]
    codes = sorted(response.status_code for response in at_once(put(one, tokens[0]), put(two, tokens[1])))
    assert codes == [200, 409]
    assert SetItem.objects.filter(pick_set__participant=participant, liked=True).count() == 5

    with django_capture_on_commit_callbacks(execute=False):
        finishes = at_once(lambda: one.post("/api/rounds/taste/finish/"), lambda: two.post("/api/rounds/taste/finish/"))
    assert [response.status_code for response in finishes] == [202, 202]
    assert len({response.json()["id"] for response in finishes}) == 1
    assert Job.objects.filter(kind=Job.Kind.PREFERENCE).count() == 1
