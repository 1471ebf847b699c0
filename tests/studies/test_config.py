"""Study configuration: the dashboard form, validation with clear messages, readiness before opening,
settings locked once people started, the quota, and the failed-checks path."""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from studies import selectors, services
from studies.models import Study, StudyMethod, StudyParticipant
from tests.participants.helpers import make_photos
from tests.studies.helpers import current, join, make_study, picked_and_ready, researcher, study_config, vote
from webapp.core.errors import ServiceError
from webapp.participants.models import PickingRound

pytestmark = pytest.mark.django_db


def test_the_dashboard_form_creates_a_study_with_its_picking_round(active_model):
    pool = make_photos(6, seed=300)
    for photo in pool:
        photo.collection = "pool"
        photo.save()
    voting = make_photos(5, seed=400)
    for photo in voting:
        photo.collection = "vote"
        photo.save()
    client = APIClient()
    client.force_login(researcher())
    form = {
        "slug": "cafe", "title": "Coffee photos", "consent_text": "We keep your votes.", "instructions": "Choose.",
        "min_picks": 3, "max_picks": 5, "set_size": 4, "scheme": "mean", "pool_styles": ["vivid", "sepia"],
        "pool_collections": ["pool"], "pool_count": 6, "voting_collections": ["vote"], "voting_count": 5,
        "model_version": active_model.pk,
        "methods": ["pienet_personal", "pienet_mean", "pienet_style:bright", "retouch:auto_levels"],
        "trials_per_participant": 4, "attention_checks": 1, "max_failed_checks": 0, "participant_quota": 30,
        "completion_code": "OK1", "completion_url": "https://app.prolific.com/submissions/complete?cc={code}",
        "failed_code": "NO1", "failed_url": "",
    }
    response = client.post("/studies/new/", form)
    assert response.status_code == 302 and response["Location"] == "/studies/cafe/", response.content.decode()[-2000:]
    study = Study.objects.get(slug="cafe")
    assert study.picking_round.studies_ref == "cafe" and study.picking_round.preview_count == 0
    assert set(study.picking_round.pool_photos.all()) == set(pool) and set(study.voting_photos.all()) == set(voting)
    assert [m.label for m in study.methods.all()] == [
        "PieNet (personal)", "PieNet (mean vector)", "PieNet (bright)", "auto_levels"]
    assert not study.is_open
    page = client.get("/studies/cafe/").content.decode()
    assert "Before it can open" in page and "prepare the pool" in page
    # Take-part lists it (with the study's link) once open; the round's own pages lead to the study.
    refused = client.post("/studies/cafe/action/", {"action": "open"}, follow=True)
    assert "cannot open yet" in refused.content.decode()
    assert client.get("/take-part/study-cafe/")["Location"] == "/study/cafe/"

    # Editing: a bad change is refused with the reason, on the form.
    form.update(voting_count=2)
    response = client.post("/studies/cafe/edit/", form)
    assert response.status_code == 400 and "need 5 voting photos" in response.content.decode()


@pytest.mark.parametrize("change,message", [
    ({"methods": [{"kind": "retouch", "style": "vivid", "label": ""}]}, "2 to 8 methods"),
    ({"methods": [{"kind": "retouch", "style": "nope"}, {"kind": "pienet_mean"}]}, "Unknown retouching style 'nope'"),
    ({"methods": [{"kind": "pienet_style", "style": "vivid"}, {"kind": "pienet_mean"}]}, "has no style 'vivid'"),
    ({"methods": [{"kind": "retouch", "style": "vivid", "label": "A"},
                  {"kind": "retouch", "style": "sepia", "label": "A"}]}, "labelled 'A'"),
    ({"model_version": None}, "PieNet methods need a model version"),
    ({"min_picks": 8, "max_picks": 4}, "pick range"),
    ({"trials_per_participant": 9}, "need 10 voting photos"),
    ({"max_failed_checks": 2}, "cannot exceed"),
    ({"pool_styles": ["vivid", "nope"]}, "Unknown retouching styles"),
    ({"slug": "new"}, "names a page of the dashboard"),
])
def test_bad_configurations_are_refused_with_a_reason(active_model, change, message):
    pool, voting = make_photos(3, seed=10), make_photos(4, seed=20)
    with pytest.raises(ServiceError, match=message):
        services.study_configure(config={**study_config(active_model, pool, voting), **change})
    assert not Study.objects.exists() and not PickingRound.objects.exists()


def test_voting_photos_must_not_be_in_the_pool(active_model):
    pool = make_photos(4, seed=10)
    with pytest.raises(ServiceError, match="must not be in the picking pool"):
        services.study_configure(config=study_config(active_model, pool, pool + make_photos(2, seed=50)))


def test_import_api_reports_missing_photos_and_models(active_model):
    client = APIClient()
    client.force_login(researcher())
    config = {**study_config(None, [], [], methods=[]), "pool_photos": ["a" * 64], "voting_photos": [],
              "model": {"name": "elsewhere", "sha256": "b" * 64}, "methods": [{"kind": "pienet_mean"}]}
    config.pop("model_version")
    response = client.post("/api/studies/", config, format="json")
    assert response.status_code == 400
    assert "not on this installation" in str(response.json()["pool_photos"])
    bad_format = client.post("/api/studies/", {**config, "format": "other/9"}, format="json")
    assert "Unknown format" in str(bad_format.json())
    garbage = client.post("/studies/import/", {"config": _upload(b"{not json")})
    assert garbage.status_code == 400 and "not JSON" in garbage.content.decode()


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("study.json", data, content_type="application/json")


def test_structural_settings_lock_once_someone_started(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        join(study.slug)
    config = selectors.study_config(study)
    base = {**study_config(study.model_version, list(study.picking_round.pool_photos.all()),
                           list(study.voting_photos.all())), "slug": study.slug}
    with pytest.raises(ServiceError, match="trials_per_participant"):
        services.study_configure(study=study, config={**base, "trials_per_participant": 2})
    renamed = [{**method, "label": method["label"] + " ✓"} for method in config["methods"]]
    services.study_configure(study=study, config={**base, "title": "New title", "participant_quota": 3,
                                                  "methods": renamed})
    study.refresh_from_db()
    assert study.title == "New title" and study.picking_round.title == "New title" and study.participant_quota == 3
    assert StudyMethod.objects.get(study=study, order=0).label == "PieNet (personal) ✓"


def test_closed_studies_refuse_joins_and_open_needs_readiness(study, client):
    services.study_set_open(study=study, is_open=False)
    page = client.get(f"/study/{study.slug}/")
    assert "This study is closed." in page.content.decode()
    refused = client.post(f"/study/{study.slug}/", {"consent": "yes"})
    assert refused.status_code == 400
    assert client.post(f"/study/{study.slug}/", {}).status_code == 400
    services.study_set_open(study=study, is_open=True)
    study.voting_photos.set(list(study.voting_photos.all())[:3])
    with pytest.raises(ServiceError, match="voting photos"):
        services.study_set_open(study=study, is_open=True)


def answer_all(client, study, choose_degraded: bool):
    from studies.models import Trial

    state = current(client, study.slug)
    while state["stage"] == "voting":
        trial = state["trial"]
        options = Trial.objects.get(token=trial["token"]).options
        degraded = options.filter(degraded=True).first()
        if choose_degraded and degraded is not None:
            token = degraded.token
        else:
            token = options.filter(degraded=False).first().token
        state = vote(client, study.slug, trial["token"], token).json()
    return state


def test_failing_the_checks_gives_the_failed_code_and_excludes(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        careless, careful = join(study.slug), join(study.slug)
        picked_and_ready(careless, study)
        picked_and_ready(careful, study)
    assert answer_all(careless, study, choose_degraded=True)["done"] == {
        "passed": False, "code": "C0DE-FAIL", "url": "https://app.prolific.com/submissions/complete?cc=FAILED"}
    assert answer_all(careful, study, choose_degraded=False)["done"]["passed"]
    tally = selectors.study_tally(study, bootstrap=20)
    assert tally["votes"] == 3  # only the careful participant's counted trials
    assert tally["progress"]["completed"] == 1 and tally["progress"]["excluded"]["failed_checks"] == 1
    rows = {row["status"]: row for row in tally["participants"]}
    assert rows["failed_checks"]["failed_checks"] == 1 and not rows["failed_checks"]["included"]
    assert rows["completed"]["included"] and rows["completed"]["votes"] == 3


def test_the_quota_closes_the_study(active_model, django_capture_on_commit_callbacks):
    study = make_study(active_model, participant_quota=1)
    with django_capture_on_commit_callbacks(execute=False):
        first = join(study.slug)
        join(study.slug)  # a second participant, still picking when the quota is reached
        picked_and_ready(first, study)
    answer_all(first, study, choose_degraded=False)
    study.refresh_from_db()
    assert not study.is_open and not study.picking_round.is_open
    late = join_refused(study)
    assert late.status_code == 400 and "This study is closed." in late.content.decode()
    study.is_open = True  # reopened by hand: the quota still refuses newcomers
    study.save()
    late = join_refused(study)
    assert late.status_code == 400 and "all the participants it needs" in late.content.decode()
    assert StudyParticipant.objects.filter(study=study).count() == 2  # the one in progress may still finish


def join_refused(study):
    from django.test import Client

    return Client().post(f"/study/{study.slug}/", {"consent": "yes"})


def test_without_a_failed_code_the_form_warns_and_the_end_page_says_so(active_model, django_capture_on_commit_callbacks):
    study = make_study(active_model, failed_code="", failed_url="")
    desk = Client()
    desk.force_login(researcher())
    assert "get no code and no link back to the recruiter" in desk.get(f"/studies/{study.slug}/").content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        careless = join(study.slug)
        picked_and_ready(careless, study)
    assert answer_all(careless, study, choose_degraded=True)["done"] == {"passed": False, "code": "", "url": ""}
    page = careless.get(f"/study/{study.slug}/done/").content.decode()
    assert 'id="failed-checks"' in page and 'id="no-code"' in page and "completion-link" not in page


def test_the_form_never_draws_fewer_photos_than_asked(active_model):
    for index, photo in enumerate(make_photos(5, seed=830)):
        photo.collection = "few" if index < 3 else ""
        photo.save()
    desk = Client()
    desk.force_login(researcher())
    page = desk.get("/studies/new/").content.decode()
    assert "few · 3 photos" in page and "(no collection) · 2 photos" in page
    form = {"slug": "short", "title": "T", "consent_text": "C", "instructions": "I", "min_picks": 2, "max_picks": 4,
            "set_size": 2, "scheme": "mean", "pool_styles": ["vivid"], "pool_collections": ["few"], "pool_count": 3,
            "voting_collections": ["few", ""], "voting_count": 4, "methods": ["retouch:vivid", "retouch:sepia"],
            "trials_per_participant": 1, "attention_checks": 0, "max_failed_checks": 0, "participant_quota": 5}
    response = desk.post("/studies/new/", form)
    text = response.content.decode()
    assert response.status_code == 400 and not Study.objects.exists()
    assert "asks for 4 photos, but the chosen collections have 2 outside the picking pool" in text
    assert "manage.py import_photos" in text
    response = desk.post("/studies/new/", {**form, "voting_count": 2})
    assert response.status_code == 302, response.content.decode()[-1500:]
    study = Study.objects.get(slug="short")
    assert study.picking_round.pool_photos.count() == 3 and study.voting_photos.count() == 2


def test_preparing_the_pool_shows_its_job_and_retries_after_a_failure(study, django_capture_on_commit_callbacks):
    from webapp.core import services as core_services

    desk = Client()
    desk.force_login(researcher())
    with django_capture_on_commit_callbacks() as queued:
        desk.post(f"/studies/{study.slug}/action/", {"action": "prepare"})
        desk.post(f"/studies/{study.slug}/action/", {"action": "prepare"})  # while it runs: the same job
    job = selectors.pool_job(study)
    assert len(queued) == 1 and job.status == "queued"
    page = desk.get(f"/studies/{study.slug}/").content.decode()
    assert f'data-job="/api/jobs/{job.pk}/"' in page and 'role="progressbar"' in page
    core_services.job_fail(job_id=job.pk, error=RuntimeError("worker lost"))
    assert 'id="pool-retry"' in desk.get(f"/studies/{study.slug}/").content.decode()
    with django_capture_on_commit_callbacks() as queued:
        desk.post(f"/studies/{study.slug}/action/", {"action": "prepare"})
    retried = selectors.pool_job(study)
    assert len(queued) == 1 and retried.pk != job.pk and retried.status == "queued"
