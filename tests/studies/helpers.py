"""Helpers for the study tests: a study built through the services, and a participant driven through
the real pages and APIs with the worker stages run in-process (as the Celery tasks would)."""
from django.contrib.auth.models import Group, User
from django.test import Client

from studies import rendering, services
from studies.models import StudyParticipant
from studies.permissions import RESEARCHERS
from tests.participants.helpers import build_pool, make_photos, pick_until
from webapp.core.models import Job
from webapp.participants import services as participant_services

METHODS = [
    {"kind": "pienet_personal"}, {"kind": "pienet_mean"},
    {"kind": "retouch", "style": "vivid"}, {"kind": "retouch", "style": "sepia"},
]


def study_config(model_version, pool, voting, **overrides) -> dict:
    config = {
        "slug": "taste-test", "title": "Which version do you like best?", "consent_text": "We record your choices.",
        "instructions": "Choose the version you like best.", "min_picks": 4, "max_picks": 6, "set_size": 4,
        "scheme": "mean", "pool_styles": ["vivid", "sepia", "cool_blue"], "pool_photos": pool,
        "voting_photos": voting, "model_version": model_version,
        "methods": [{"style": "", "label": "", **method} for method in METHODS], "trials_per_participant": 3,
        "attention_checks": 1, "max_failed_checks": 0, "participant_quota": 20, "completion_code": "C0DE-OK",
        "completion_url": "https://app.prolific.com/submissions/complete?cc={code}", "failed_code": "C0DE-FAIL",
        "failed_url": "https://app.prolific.com/submissions/complete?cc=FAILED",
    }
    config.update(overrides)
    return config


def make_study(model_version, voting_count: int = 6, open_it: bool = True, **overrides):
    pool = build_pool(photo_count=8, retouch_styles=["vivid", "sepia", "cool_blue"], held_out=0)
    voting = make_photos(voting_count, seed=700)
    study = services.study_configure(config=study_config(model_version, pool, voting, **overrides))
    if open_it:
        study = services.study_set_open(study=study, is_open=True)
    return study


def researcher(username: str = "rita") -> User:
    user = User.objects.create_user(username, password="pw")
    user.groups.add(Group.objects.get(name=RESEARCHERS))
    return user


def run_preference(participant) -> None:
    """What the cpu worker does after picking: the preference vector (no previews in a study)."""
    job = Job.objects.get(kind=Job.Kind.PREFERENCE, params__participant=str(participant.pk))
    participant_services.preference_compute(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error


def run_render(entry: StudyParticipant) -> None:
    """What the workers do with a participant's render job: the cpu stage, then the gpu stage."""
    entry.refresh_from_db()
    if rendering.trials_render_cpu(job_id=str(entry.render_job_id)):
        rendering.trials_render_gpu(job_id=str(entry.render_job_id))
    entry.render_job.refresh_from_db()
    assert entry.render_job.status == Job.Status.SUCCEEDED, entry.render_job.error


def join(slug: str, **params) -> Client:
    client = Client()
    response = client.post(f"/study/{slug}/", {"consent": "yes", **params})
    assert response.status_code == 302 and response["Location"] == f"/study/{slug}/pick/", response.content
    return client


def picked_and_ready(client: Client, study, picks: int = 5) -> StudyParticipant:
    """Pick through the participant API, finish, and have the vector and trial images made."""
    round_slug = study.picking_round.slug
    pick_until(client, round_slug, picks=picks, per_set=2)
    assert client.post(f"/api/rounds/{round_slug}/finish/").status_code == 202
    entry = StudyParticipant.objects.get(participant__pk=client.session["participants"][round_slug])
    run_preference(entry.participant)
    state = client.post(f"/api/studies/{study.slug}/current/")
    assert state.status_code == 200 and state.json()["stage"] == "preparing", state.content
    run_render(entry)
    return entry


def current(client: Client, slug: str) -> dict:
    response = client.post(f"/api/studies/{slug}/current/")
    assert response.status_code == 200, response.content
    return response.json()


def vote(client: Client, slug: str, trial_token: str, option_token: str, response_ms: int = 1500):
    return client.post(f"/api/studies/{slug}/trials/{trial_token}/vote/",
                       {"option": option_token, "response_ms": response_ms}, content_type="application/json")


def browser_pick_until_voting(page, base_url: str, slug: str) -> None:
    """A participant in Chromium: consent, two picks in each of two sets (the test study's minimum of 4),
    finish, and on to the trial page."""
    page.goto(f"{base_url}/study/{slug}/?PROLIFIC_PID=e2e42&STUDY_ID=s&SESSION_ID=x")
    page.get_by_label("I have read the information above").check()
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(f"**/study/{slug}/pick/")
    for number in (1, 2):
        page.wait_for_function(f"document.getElementById('grid').dataset.set === '{number}'")
        items = page.locator(".pp-item[aria-pressed=false]")
        items.nth(0).click()
        items.nth(0).click()  # the first one is pressed now: nth(0) is the next unpressed image
        page.wait_for_function("document.getElementById('picking').dataset.pending === '0'")
        if number == 1:
            page.locator("#next-set").click()
    page.wait_for_function("!document.getElementById('finish').disabled")
    page.locator("#finish").click()
    page.wait_for_url(f"**/study/{slug}/vote/")

