"""The whole participant flow through Django's test client (services run in-process)."""
import csv
import io

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

from ml.styles.registry import STYLES
from tests.participants.helpers import choose, current_set, joined_client, pick_until, style_names_in
from tests.studies.helpers import researcher
from webapp.core import services as core_services
from webapp.core.models import Job
from webapp.participants import services
from webapp.participants.models import Candidate, Participant, PreferenceVector, SetItem

pytestmark = pytest.mark.django_db

ALL_STYLE_NAMES = list(STYLES) + ["bright", "warm"]


def run_preference_and_previews(participant: Participant) -> PreferenceVector:
    """What the workers do after finishing: the vector task, then each preview enhancement."""
    job = Job.objects.get(kind=Job.Kind.PREFERENCE, params__participant=str(participant.pk))
    services.preference_compute(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    for preview_job in job.result["preview_jobs"]:
        core_services.enhancement_job_run(job_id=preview_job)
    return PreferenceVector.objects.get(participant=participant)


def test_consent_page_records_prolific_parameters_and_starts_the_session(picking_round, pool):
    client = Client()
    query = "?PROLIFIC_PID=5f1a2b3c&STUDY_ID=study9&SESSION_ID=sess7"
    page = client.get(f"/take-part/taste/{query}")
    assert page.status_code == 200
    assert "You may stop anytime." in page.content.decode()
    assert 'value="5f1a2b3c"' in page.content.decode()  # carried through the consent form

    refused = client.post("/take-part/taste/", {"PROLIFIC_PID": "5f1a2b3c"})
    assert refused.status_code == 400 and "agree" in refused.content.decode()
    assert client.get("/take-part/taste/pick/").status_code == 302  # no session yet

    started = client.post("/take-part/taste/", {"PROLIFIC_PID": "5f1a2b3c", "STUDY_ID": "study9",
                                                "SESSION_ID": "sess7", "consent": "yes"})
    assert started.status_code == 302 and started["Location"] == "/take-part/taste/pick/"
    participant = Participant.objects.get()
    assert (participant.source, participant.recruitment_id) == ("prolific", "5f1a2b3c")
    assert participant.recruitment_params == {"STUDY_ID": "study9", "SESSION_ID": "sess7"}
    assert participant.pseudonym.startswith("P-")
    page = client.get("/take-part/taste/pick/")
    assert page.status_code == 200 and "Tap the photos you like" in page.content.decode()


def test_whole_flow_from_join_to_personalized_preview(picking_round, pool, django_capture_on_commit_callbacks):
    client = joined_client("taste", workerId="A1B2C3", assignmentId="ASG1", hitId="HIT1")
    participant = Participant.objects.get()
    assert participant.source == "mturk" and participant.recruitment_params == {"assignmentId": "ASG1", "hitId": "HIT1"}

    first = current_set(client, "taste")
    assert len(first["items"]) == 6
    assert current_set(client, "taste")["number"] == first["number"]  # a refresh gets the same set
    with django_capture_on_commit_callbacks(execute=False):
        sets = [first] + pick_until(client, "taste", picks=12, per_set=3)[1:]
        early = client.post("/api/rounds/taste/finish/")
    assert early.status_code == 202  # 12 picks: within 10–20
    state = client.get("/api/rounds/taste/me/").json()
    assert state["picks"] == 12 and state["finished"] and state["current_set"] is None
    again = client.get("/take-part/taste/").content.decode()  # finished: their result, no second participant
    assert "taken part already" in again and 'name="consent"' not in again and "/take-part/taste/preview/" in again

    # Every shown item is a label: picks are True, the rest False, each with its set and time.
    items = SetItem.objects.filter(pick_set__participant=participant)
    assert items.filter(liked=True).count() == 12
    assert items.filter(liked=False).count() == items.count() - 12
    assert not items.filter(liked__isnull=True).exists() and not items.filter(decided_at__isnull=True).exists()
    for pick_set in participant.sets.all():
        photos = list(pick_set.items.values_list("photo_id", flat=True))
        assert len(photos) == len(set(photos))  # no photo twice in a set
        kinds_and_styles = set(pick_set.items.values_list("candidate__style", flat=True))
        assert len(kinds_and_styles) > 1  # styles are mixed
    assert len(sets) == len({tuple(item["token"] for item in s["items"]) for s in sets})
    assert items.values("candidate").distinct().count() == items.count()  # nothing re-shown while the pool lasts

    preference = run_preference_and_previews(participant)
    picked = Candidate.objects.filter(set_items__pick_set__participant=participant, set_items__liked=True)
    expected = np.mean([candidate.embedding_array() for candidate in picked], axis=0)
    expected /= np.linalg.norm(expected)  # scheme 2 is the renormalised mean (ml.personalize.mean_vector)
    np.testing.assert_allclose(preference.vector_array(), expected, rtol=1e-5, atol=1e-6)
    assert preference.scheme == "mean" and preference.positives == 12 and preference.model_version.name == "tiny"
    assert 0 < preference.consistency <= 1

    preview = client.get("/api/rounds/taste/preview/").json()
    assert preview["status"] == "ready" and len(preview["items"]) == 3
    picked_photos = set(picked.values_list("photo_id", flat=True))
    assert not picked_photos & set(preference.previews.values_list("photo_id", flat=True))
    for item in preview["items"]:
        assert item["job"]["status"] == "succeeded" and item["job"]["result"]["image_url"].startswith("/media/")
        assert item["before_url"].startswith("/media/screens/")
    page = client.get("/take-part/taste/preview/")
    assert page.status_code == 200 and participant.pseudonym in page.content.decode()
    assert client.get("/take-part/taste/pick/")["Location"] == "/take-part/taste/preview/"


def test_the_browser_never_sees_a_style_name(picking_round, pool):
    client = joined_client("taste")
    pick_set = current_set(client, "taste")
    text = client.get("/api/rounds/taste/me/").content.decode() + client.get("/take-part/taste/pick/").content.decode()
    assert style_names_in(text, ALL_STYLE_NAMES) == []
    image = client.get(pick_set["items"][0]["image_url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert style_names_in(image["Content-Disposition"] if image.has_header("Content-Disposition") else "", ALL_STYLE_NAMES) == []
    assert Client().get(pick_set["items"][0]["image_url"]).status_code == 404  # not someone else's image


def test_picks_are_idempotent_and_the_range_is_enforced(picking_round, pool):
    client = joined_client("taste")
    items = current_set(client, "taste")["items"]
    for _ in range(3):  # a retried request (lost connection, double tap) records one pick
        response = choose(client, "taste", items[0]["token"])
        assert response.status_code == 200 and response.json()["picks"] == 1
    assert choose(client, "taste", items[0]["token"], liked=False).json()["picks"] == 0
    assert choose(client, "taste", items[0]["token"]).json()["picks"] == 1
    number = current_set(client, "taste")["number"]
    assert client.post(f"/api/rounds/taste/sets/{number}/submit/").status_code == 200
    assert client.post(f"/api/rounds/taste/sets/{number}/submit/").status_code == 200  # again: same result
    assert choose(client, "taste", items[0]["token"]).status_code == 200  # repeat of a final choice
    assert choose(client, "taste", items[1]["token"]).status_code == 409  # the set is closed
    assert client.post("/api/rounds/taste/finish/").status_code == 409  # fewer than 10 picks

    pick_until(client, "taste", picks=18, per_set=6)  # 19 with the first one
    items = current_set(client, "taste")["items"]
    assert choose(client, "taste", items[0]["token"]).json()["picks"] == 20
    refused = choose(client, "taste", items[1]["token"])
    assert refused.status_code == 409 and "maximum of 20" in refused.json()["detail"]
    assert client.post("/api/rounds/taste/me/").status_code == 405


def test_a_recruitment_id_joins_once(picking_round, pool, django_capture_on_commit_callbacks):
    first = joined_client("taste", PROLIFIC_PID="abc123")
    again = joined_client("taste", PROLIFIC_PID="abc123")  # a new browser resumes the unfinished session
    assert Participant.objects.count() == 1
    assert again.get("/api/rounds/taste/me/").json()["pseudonym"] == first.get("/api/rounds/taste/me/").json()["pseudonym"]
    with django_capture_on_commit_callbacks(execute=False):
        pick_until(first, "taste", picks=10, per_set=5)
        assert first.post("/api/rounds/taste/finish/").status_code == 202
        assert first.post("/api/rounds/taste/finish/").status_code == 202  # idempotent
    assert Job.objects.filter(kind=Job.Kind.PREFERENCE).count() == 1
    late = Client().post("/api/rounds/taste/join/", {"consent": True, "PROLIFIC_PID": "abc123"},
                         content_type="application/json")
    assert late.status_code == 403 and "already taken part" in late.json()["detail"]
    page = Client().post("/take-part/taste/", {"consent": "yes", "PROLIFIC_PID": "abc123"})
    assert page.status_code == 403
    assert Client().post("/api/rounds/taste/join/", {"consent": True, "PROLIFIC_PID": "x y;"},
                         content_type="application/json").status_code == 400
    preview = Client().post("/api/rounds/taste/join/", {"consent": True, "workerId": "W1",
                            "assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"}, content_type="application/json")
    assert preview.status_code == 400 and "accept the HIT" in preview.json()["detail"]


def test_scheme_one_uses_the_non_picks(picking_round, pool, django_capture_on_commit_callbacks):
    picking_round.scheme = "triplet"
    picking_round.save()
    client = joined_client("taste")
    with django_capture_on_commit_callbacks(execute=False):
        pick_until(client, "taste", picks=10, per_set=2)
        client.post("/api/rounds/taste/finish/")
    preference = run_preference_and_previews(Participant.objects.get())
    assert preference.scheme == "triplet" and preference.negatives > 0
    picked = Candidate.objects.filter(set_items__liked=True)
    mean = np.mean([candidate.embedding_array() for candidate in picked], axis=0)
    assert not np.allclose(preference.vector_array(), mean, atol=1e-4)


def test_label_matrix_export_for_researchers_only(picking_round, pool, tmp_path, django_capture_on_commit_callbacks):
    clients = [joined_client("taste") for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=False):
        for client in clients:
            pick_until(client, "taste", picks=10, per_set=2)
    pseudonyms = sorted(Participant.objects.values_list("pseudonym", flat=True))

    assert clients[0].get("/api/rounds/taste/labels.csv").status_code == 403
    admin = Client()
    admin.force_login(researcher())
    response = admin.get("/api/rounds/taste/labels.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["candidate", *pseudonyms]
    ones = sum(row.count("1") for row in rows[1:])
    zeros = sum(row.count("0") for row in rows[1:])
    assert ones == 20 and zeros == SetItem.objects.filter(liked=False).count()

    output = tmp_path / "labels.csv"
    call_command("export_labels", "--round", "taste", "-o", str(output))
    assert output.read_text().replace("\r\n", "\n") == response.content.decode().replace("\r\n", "\n")


def test_without_an_active_model_picking_still_works(picking_round, django_capture_on_commit_callbacks):
    from tests.participants.helpers import build_pool

    build_pool(photo_count=8, retouch_styles=["vivid", "sepia"])
    assert not Candidate.objects.filter(embedding__isnull=False).exists()
    client = joined_client("taste")
    page = client.get("/take-part/taste/pick/").content.decode()
    assert "no trained model" in page
    with django_capture_on_commit_callbacks(execute=False):
        pick_until(client, "taste", picks=10, per_set=3)
        finished = client.post("/api/rounds/taste/finish/")
    assert finished.status_code == 200 and "no model is active" in finished.json()["detail"]
    preview = client.get("/api/rounds/taste/preview/").json()
    assert preview["status"] == "no_model" and "picks are saved" in preview["message"]


def test_no_candidates_gives_a_clear_message(picking_round):
    client = joined_client("taste")
    response = client.post("/api/rounds/taste/sets/current/")
    assert response.status_code == 400 and "no images to show yet" in response.json()["detail"]


def test_api_writes_check_csrf_for_anonymous_participants(picking_round, pool):
    client = Client(enforce_csrf_checks=True)
    client.get("/take-part/taste/")
    token = client.cookies["csrftoken"].value
    assert client.post("/api/rounds/taste/join/", {"consent": True}, content_type="application/json").status_code == 403
    joined = client.post("/api/rounds/taste/join/", {"consent": True}, content_type="application/json",
                         headers={"X-CSRFToken": token})
    assert joined.status_code == 201


def test_schema_documents_the_participant_api(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/rounds/{slug}/join/", "/api/rounds/{slug}/sets/current/", "/api/rounds/{slug}/items/{token}/",
                 "/api/rounds/{slug}/finish/", "/api/rounds/{slug}/preview/", "/api/rounds/{slug}/labels.csv"):
        assert path in schema


def test_round_list_and_closed_rounds(picking_round, client):
    listing = client.get("/take-part/").content.decode()
    assert "Which photos do you like?" in listing and 'href="/take-part/taste/"' in listing
    assert 'href="/take-part/"' in client.get("/").content.decode()  # the site's navigation links here
    picking_round.is_open = False
    picking_round.save()
    assert "No study is open" in client.get("/take-part/").content.decode()
    page = client.get("/take-part/taste/")
    assert "This study is closed." in page.content.decode() and "<form" not in page.content.decode()
    assert client.post("/take-part/taste/", {"consent": "yes"}).status_code == 400
