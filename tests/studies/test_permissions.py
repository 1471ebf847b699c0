"""Researcher data (configuration, results, exports, dashboard) is for the researcher role only."""
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.studies.helpers import join, researcher

pytestmark = pytest.mark.django_db

RESEARCHER_PAGES = ["/studies/", "/studies/new/", "/studies/taste-test/", "/studies/taste-test/edit/"]
RESEARCHER_APIS = [
    "/api/studies/", "/api/studies/taste-test/", "/api/studies/taste-test/tally/", "/api/studies/taste-test/progress/",
    "/api/studies/taste-test/export/votes.csv", "/api/studies/taste-test/export/picks.json",
    "/api/studies/taste-test/export/vectors.csv", "/api/studies/taste-test/export/study.zip",
]


def test_anonymous_participants_and_staff_without_the_role_are_kept_out(study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        participant = join(study.slug)
    staff = APIClient()
    staff.force_login(User.objects.create_user("staff-only", is_staff=True))
    anonymous = APIClient()
    for path in RESEARCHER_PAGES:
        assert anonymous.get(path)["Location"].startswith("/studies/login/?next="), path
        assert participant.get(path).status_code == 302, path
        assert staff.get(path).status_code == 403, path
    for path in RESEARCHER_APIS:
        for client in (anonymous, participant, staff):
            assert client.get(path).status_code == 403, (path, client)
    for path, body in [("/api/studies/taste-test/open/", {"open": False}), ("/api/studies/", {}),
                       ("/api/studies/taste-test/prepare-pool/", {})]:
        for client in (anonymous, participant, staff):
            assert client.post(path, body, content_type="application/json").status_code == 403, path
    assert staff.post("/studies/taste-test/action/", {"action": "close"}).status_code == 403
    study.refresh_from_db()
    assert study.is_open


def test_researchers_reach_everything(study):
    client = APIClient()
    client.force_login(researcher())
    for path in RESEARCHER_PAGES:
        assert client.get(path).status_code == 200, path
    for path in RESEARCHER_APIS:
        assert client.get(path).status_code == 200, path
    assert "Studies" in client.get("/studies/").content.decode()
    superuser = APIClient()
    superuser.force_login(User.objects.create_superuser("root", password="pw"))
    assert superuser.get("/api/studies/taste-test/tally/").status_code == 200
    assert superuser.get("/admin/studies/study/").status_code == 200


def test_the_researcher_group_can_use_the_admin_for_studies(study):
    user = researcher()
    user.is_staff = True
    user.save()
    client = APIClient()
    client.force_login(user)
    assert client.get(f"/admin/studies/study/{study.pk}/change/").status_code == 200
    assert client.get("/admin/studies/vote/").status_code == 200


def test_the_api_schema_documents_the_study_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/studies/{slug}/trials/{token}/vote/", "/api/studies/{slug}/current/",
                 "/api/studies/{slug}/export/study.zip", "/api/studies/{slug}/tally/"):
        assert path in schema, path


def test_create_researcher_makes_a_login_for_the_study_pages(monkeypatch):
    monkeypatch.setenv("NEW_PASSWORD", "long-enough-passphrase-42")
    call_command("create_researcher", "ada", "--password-env", "NEW_PASSWORD", stdout=io.StringIO())
    client = Client()
    assert client.login(username="ada", password="long-enough-passphrase-42")
    assert client.get("/studies/").status_code == 200  # the researcher role, not only a login
    monkeypatch.setenv("NEW_PASSWORD", "123")
    with pytest.raises(CommandError, match="too short") as refused:
        call_command("create_researcher", "bob", "--password-env", "NEW_PASSWORD")
    assert refused.value.returncode == 2 and not User.objects.filter(username="bob").exists()
    monkeypatch.delenv("NEW_PASSWORD")
    with pytest.raises(CommandError, match="empty or unset"):
        call_command("create_researcher", "bob", "--password-env", "NEW_PASSWORD")
