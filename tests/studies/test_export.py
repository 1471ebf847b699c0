"""Exports: tidy CSV and JSON of votes, picks and vectors, the whole study as a zip, and the round trip
of a configuration through export and import."""
import csv
import io
import json
import zipfile

import numpy as np
import pytest
from rest_framework.test import APIClient

from studies import selectors
from studies.models import Study, Vote
from tests.studies.helpers import join, picked_and_ready, researcher
from tests.studies.test_config import answer_all
from webapp.participants.models import PreferenceVector, SetItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_study(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        client = join(study.slug)
        picked_and_ready(client, study)
    answer_all(client, study, choose_degraded=False)
    return study


@pytest.fixture
def api():
    client = APIClient()
    client.force_login(researcher())
    return client


def test_votes_as_csv_and_json_say_the_same_as_the_database(finished_study, api):
    slug = finished_study.slug
    response = api.get(f"/api/studies/{slug}/export/votes.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="{slug}-votes.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    as_json = json.loads(api.get(f"/api/studies/{slug}/export/votes.json").content)
    assert len(rows) == len(as_json) == Vote.objects.count() == 4
    for row, record in zip(rows, as_json):
        assert row == {key: "" if value is None else str(value) for key, value in record.items()}
        vote = Vote.objects.get(trial__participant__participant__pseudonym=row["participant"],
                                trial__number=row["trial"])
        assert row["chosen_method"] == vote.option.method.label
        assert row[f"position_{vote.option.position + 1}"].endswith(vote.option.method.label)
        mapping = [row[f"position_{position}"] for position in range(1, 5)]
        options = vote.trial.options.order_by("position")
        expected = [("degraded:" if option.degraded else "") + option.method.label for option in options]
        assert mapping == expected
        assert int(row["response_ms"]) == vote.response_ms and row["photo"] == vote.trial.photo.content_hash
        assert row["is_check"] == str(vote.trial.is_check) and row["study"] == slug
    assert sum(record["is_check"] for record in as_json) == 1


def test_picks_and_vectors(finished_study, api):
    slug = finished_study.slug
    picks = list(csv.DictReader(io.StringIO(api.get(f"/api/studies/{slug}/export/picks.csv").content.decode())))
    items = SetItem.objects.filter(liked__isnull=False)
    assert len(picks) == items.count()
    assert sum(int(row["picked"]) for row in picks) == items.filter(liked=True).count() == 5
    vectors = json.loads(api.get(f"/api/studies/{slug}/export/vectors.json").content)
    stored = PreferenceVector.objects.get()
    assert len(vectors) == 1 and vectors[0]["model"] == "tiny" and vectors[0]["positives"] == 5
    np.testing.assert_allclose(vectors[0]["vector"], stored.vector_array(), rtol=1e-6)
    columns = next(csv.reader(io.StringIO(api.get(f"/api/studies/{slug}/export/vectors.csv").content.decode())))
    assert columns[-1] == "vector_15" and "vector" not in columns
    assert api.get(f"/api/studies/{slug}/export/secrets.csv").status_code == 404


def test_the_zip_holds_the_whole_study_and_its_configuration_imports_elsewhere(finished_study, api):
    archive = zipfile.ZipFile(io.BytesIO(api.get(f"/api/studies/{finished_study.slug}/export/study.zip").content))
    assert sorted(archive.namelist()) == sorted(["study.json", "tally.json", "votes.csv", "votes.json", "picks.csv",
                                                 "picks.json", "vectors.csv", "vectors.json", "participants.csv",
                                                 "participants.json"])
    tally = json.loads(archive.read("tally.json"))
    assert tally["votes"] == 3 and tally["progress"]["completed"] == 1
    exported = json.loads(archive.read("study.json"))
    assert exported == selectors.study_config(finished_study)

    # The same configuration under another name, via the dashboard's upload and via the API.
    from django.core.files.uploadedfile import SimpleUploadedFile

    copy = {**exported, "slug": "taste-again"}
    upload = SimpleUploadedFile("study.json", json.dumps(copy).encode(), content_type="application/json")
    response = api.post("/studies/import/", {"config": upload})
    assert response.status_code == 302 and response["Location"] == "/studies/taste-again/"
    imported = Study.objects.get(slug="taste-again")
    assert not imported.is_open
    assert {**selectors.study_config(imported), "slug": exported["slug"]} == exported
    again = api.post("/api/studies/", {**exported, "slug": "third"}, format="json")
    assert again.status_code == 201 and again.json()["methods"] == exported["methods"]
    duplicate = api.post("/api/studies/", {**exported, "slug": "third"}, format="json")
    assert duplicate.status_code == 400 and "exists already" in duplicate.json()["detail"]
    # The API edits a study too (labels here) and reports the new configuration.
    renamed = {**exported, "methods": [{**m, "label": m["label"].upper()} for m in exported["methods"]]}
    changed = api.put(f"/api/studies/{finished_study.slug}/", renamed, format="json")
    assert changed.status_code == 200 and changed.json()["methods"][2]["label"] == "VIVID"


def test_participants_export_gives_recruiters_what_they_approve_on(study, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        careful = join(study.slug, PROLIFIC_PID="pid-careful", STUDY_ID="st1", SESSION_ID="se1")
        careless = join(study.slug, workerId="mturk-careless", assignmentId="as2", hitId="hit2")
        join(study.slug, PROLIFIC_PID="pid-picking", STUDY_ID="st1", SESSION_ID="se3")
        picked_and_ready(careful, study)
        picked_and_ready(careless, study)
    answer_all(careful, study, choose_degraded=False)
    answer_all(careless, study, choose_degraded=True)
    response = api.get(f"/api/studies/{study.slug}/export/participants.csv")
    assert response["Content-Disposition"] == f'attachment; filename="{study.slug}-participants.csv"'
    rows = {row["recruitment_id"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["pid-careful"]["source"] == "prolific" and rows["pid-careful"]["status"] == "completed"
    assert (rows["pid-careful"]["recruitment_study"], rows["pid-careful"]["recruitment_session"]) == ("st1", "se1")
    assert rows["pid-careful"]["passed_checks"] == "True" and rows["pid-careful"]["code_shown"] == "C0DE-OK"
    failed = rows["mturk-careless"]
    assert (failed["source"], failed["status"], failed["failed_checks"], failed["checks"]) == (
        "mturk", "failed_checks", "1", "1")
    assert failed["code_shown"] == "C0DE-FAIL" and failed["recruitment_session"] == "as2"
    assert rows["pid-picking"]["status"] == "picking" and rows["pid-picking"]["code_shown"] == ""
    anonymous = APIClient().get(f"/api/studies/{study.slug}/export/participants.csv")
    assert anonymous.status_code == 403  # researchers only


def test_tally_and_configuration_download_like_the_other_exports(finished_study, api):
    for name, key in (("tally", "votes"), ("study", "methods")):
        response = api.get(f"/api/studies/{finished_study.slug}/export/{name}.json")
        assert response["Content-Disposition"] == f'attachment; filename="{finished_study.slug}-{name}.json"'
        assert key in json.loads(response.content)
    assert api.get(f"/api/studies/{finished_study.slug}/export/tally.csv").status_code == 404
