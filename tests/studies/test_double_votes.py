"""One vote per trial against the real database (PostgreSQL): double submits, two tabs and the back
button, each request in its own thread and connection, released together."""
import pytest

from studies.models import Vote
from tests.concurrency import at_once, real_database, same_browser  # noqa: F401  (autouse fixture)
from tests.studies.helpers import current, join, picked_and_ready, vote

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_double_submits_and_two_tabs_never_add_a_second_vote(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        one = join(study.slug)
        entry = picked_and_ready(one, study)
    tabs = [one] + [same_browser(one) for _ in range(3)]
    trial = current(one, study.slug)["trial"]
    options = [option["token"] for option in trial["options"]]

    # The same choice sent four times at once (a double click, retries): one vote, every answer 200.
    answers = at_once(*[lambda tab=tab: vote(tab, study.slug, trial["token"], options[0]) for tab in tabs])
    assert [answer.status_code for answer in answers] == [200] * 4
    assert Vote.objects.filter(trial__token=trial["token"]).count() == 1

    # Two tabs choosing differently at the same moment: exactly one choice is kept, the other is refused.
    second = current(one, study.slug)["trial"]
    tokens = [option["token"] for option in second["options"]]
    answers = at_once(*[lambda tab=tab, token=token: vote(tab, study.slug, second["token"], token)
                        for tab, token in zip(tabs, tokens)])
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200, 409, 409, 409], [answer.content for answer in answers]
    kept = Vote.objects.get(trial__token=second["token"])
    winner = next(answer for answer in answers if answer.status_code == 200)
    assert winner.json()["trial"]["number"] == 3 and kept.option.token in tokens

    # The back button: the first trial again, another option: refused, nothing changes.
    again = vote(one, study.slug, trial["token"], options[1])
    assert again.status_code == 409 and "already has your vote" in again.json()["detail"]
    assert Vote.objects.get(trial__token=trial["token"]).option.token == options[0]
    # A later trial cannot be answered before the current one.
    entry.refresh_from_db()
    later = entry.trials.get(number=4)
    skipped = vote(one, study.slug, later.token, later.options.first().token)
    assert skipped.status_code == 409
    assert Vote.objects.filter(trial__participant=entry).count() == 2
