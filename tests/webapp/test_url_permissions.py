"""Every URL pattern, requested as each role, answers the status this table expects.

A new URL without a row here fails `test_every_url_pattern_has_a_row`, so nobody adds an endpoint without
deciding who may use it. Paths use a real study (`{study}`) and its picking round (`{round}`); other ids
name nothing, so a role that is let in gets 404 or 400 where a role kept out gets 403 (APIs), or a
redirect to the login form (302, researcher pages).
"""
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve

from tests.participants.conftest import active_model  # noqa: F401  (re-used fixtures)
from tests.studies.helpers import join, make_study, researcher

ROLES = ("anonymous", "participant", "staff", "researcher", "admin")
ID, UUID, TOKEN = 999999, "00000000-0000-0000-0000-000000000000", "n0t-a-real-t0ken"

# Logging out ends every session, so it comes last.
# name: [(method, path, statuses for anonymous, participant, staff without research rights, researcher, admin)]
EXPECTED = {
    "admin": [("get", "/admin/", (302, 302, 200, 302, 200))],
    "api-schema": [("get", "/api/schema/", (200, 200, 200, 200, 200))],
    "api-docs": [("get", "/api/docs/", (200, 200, 200, 200, 200))],
    "healthz": [("get", "/healthz", (200, 200, 200, 200, 200))],
    "photo-original": [("get", f"/photos/{ID}/original", (403, 403, 403, 404, 404))],
    "api-photos": [
        ("get", "/api/photos/", (403, 403, 403, 200, 200)),
        ("post", "/api/photos/", (403, 403, 403, 415, 415)),
    ],
    "api-photo": [("get", f"/api/photos/{ID}/", (403, 403, 403, 404, 404))],
    "api-enhancements": [("post", "/api/enhancements/", (403, 403, 403, 400, 400))],
    "api-job": [("get", f"/api/jobs/{UUID}/", (403, 403, 403, 404, 404))],
    "api-models": [("get", "/api/models/", (200, 200, 200, 200, 200))],
    "api-model-active": [("get", "/api/models/active/", (200, 200, 200, 200, 200))],
    "participants:rounds": [("get", "/take-part/", (200, 200, 200, 200, 200))],
    "participants:consent": [("get", "/take-part/{round}/", (302, 302, 302, 302, 302))],
    "participants:pick": [("get", "/take-part/{round}/pick/", (302, 302, 302, 302, 302))],
    "participants:preview": [("get", "/take-part/{round}/preview/", (302, 302, 302, 302, 302))],
    "participants:image": [("get", f"/take-part/image/{TOKEN}/screen", (404, 404, 404, 404, 404))],
    "participants:api-join": [("post", "/api/rounds/{round}/join/", (400, 400, 400, 400, 400))],
    "participants:api-state": [("get", "/api/rounds/{round}/me/", (403, 200, 403, 403, 403))],
    "participants:api-current-set": [("post", "/api/rounds/{round}/sets/current/", (403, 200, 403, 403, 403))],
    "participants:api-submit-set": [("post", "/api/rounds/{round}/sets/99/submit/", (403, 400, 403, 403, 403))],
    "participants:api-item": [("put", f"/api/rounds/{{round}}/items/{TOKEN}/", (403, 400, 403, 403, 403))],
    "participants:api-finish": [("post", "/api/rounds/{round}/finish/", (403, 409, 403, 403, 403))],
    "participants:api-preview": [("get", "/api/rounds/{round}/preview/", (403, 200, 403, 403, 403))],
    "participants:api-labels": [("get", "/api/rounds/{round}/labels.csv", (403, 403, 403, 200, 200))],
    "participants:api-candidates": [("post", "/api/candidates/", (403, 403, 403, 202, 202))],
    "demo:home": [("get", "/", (200, 200, 200, 200, 200))],
    "demo:continue": [("get", "/try/", (302, 302, 302, 302, 302))],
    "demo:studio": [("get", f"/try/{TOKEN}/", (404, 404, 404, 404, 404))],
    "demo:before": [("get", f"/try/{TOKEN}/before.jpg", (404, 404, 404, 404, 404))],
    "demo:style-thumbnail": [("get", f"/try/{TOKEN}/styles/vivid.jpg", (404, 404, 404, 404, 404))],
    "demo:result": [("get", f"/r/{TOKEN}/", (404, 404, 404, 404, 404))],
    "demo:result-before": [("get", f"/r/{TOKEN}/before.jpg", (404, 404, 404, 404, 404))],
    "demo:result-screen": [("get", f"/r/{TOKEN}/after.jpg", (404, 404, 404, 404, 404))],
    "demo:result-download": [("get", f"/r/{TOKEN}/download", (404, 404, 404, 404, 404))],
    "demo:api-uploads": [("post", "/api/demo/uploads/", (415, 415, 415, 415, 415))],
    "demo:api-renders": [("post", f"/api/demo/uploads/{TOKEN}/renders/", (404, 404, 404, 404, 404))],
    "demo:api-result": [("get", f"/api/demo/results/{TOKEN}/", (404, 404, 404, 404, 404))],
    "retraining:api-runs": [
        ("get", "/api/retraining/runs/", (403, 403, 403, 403, 200)),
        ("post", "/api/retraining/runs/", (403, 403, 403, 403, 400)),
    ],
    "retraining:api-run": [("get", f"/api/retraining/runs/{UUID}/", (403, 403, 403, 403, 404))],
    "retraining:api-run-cancel": [("post", f"/api/retraining/runs/{UUID}/cancel/", (403, 403, 403, 403, 404))],
    "retraining:api-audit": [("get", "/api/retraining/audit/", (403, 403, 403, 403, 200))],
    "retraining:api-model-promote": [("post", f"/api/models/{ID}/promote/", (403, 403, 403, 403, 404))],
    "retraining:api-model-rollback": [("post", f"/api/models/{ID}/rollback/", (403, 403, 403, 403, 404))],
    "studies:consent": [("get", "/study/{study}/", (200, 200, 200, 200, 200))],
    "studies:pick": [("get", "/study/{study}/pick/", (302, 200, 302, 302, 302))],
    "studies:vote": [("get", "/study/{study}/vote/", (302, 302, 302, 302, 302))],
    "studies:done": [("get", "/study/{study}/done/", (302, 302, 302, 302, 302))],
    "studies:image": [("get", f"/study/image/{TOKEN}", (404, 404, 404, 404, 404))],
    "studies:login": [("get", "/studies/login/", (200, 200, 200, 200, 200))],
    "studies:dashboard": [("get", "/studies/", (302, 302, 403, 200, 200))],
    "studies:new": [("get", "/studies/new/", (302, 302, 403, 200, 200))],
    "studies:import": [("post", "/studies/import/", (302, 302, 403, 400, 400))],
    "studies:results": [("get", "/studies/{study}/", (302, 302, 403, 200, 200))],
    "studies:edit": [("get", "/studies/{study}/edit/", (302, 302, 403, 200, 200))],
    "studies:action": [("post", "/studies/{study}/action/", (302, 302, 403, 302, 302))],
    "studies:api-list": [
        ("get", "/api/studies/", (403, 403, 403, 200, 200)),
        ("post", "/api/studies/", (403, 403, 403, 400, 400)),
    ],
    "studies:api-detail": [
        ("get", "/api/studies/{study}/", (403, 403, 403, 200, 200)),
        ("put", "/api/studies/{study}/", (403, 403, 403, 400, 400)),
    ],
    "studies:api-open": [("post", "/api/studies/{study}/open/", (403, 403, 403, 400, 400))],
    "studies:api-prepare-pool": [("post", "/api/studies/{study}/prepare-pool/", (403, 403, 403, 202, 202))],
    "studies:api-tally": [("get", "/api/studies/{study}/tally/", (403, 403, 403, 200, 200))],
    "studies:api-progress": [("get", "/api/studies/{study}/progress/", (403, 403, 403, 200, 200))],
    "studies:api-archive": [("get", "/api/studies/{study}/export/study.zip", (403, 403, 403, 200, 200))],
    "studies:api-export": [("get", "/api/studies/{study}/export/votes.csv", (403, 403, 403, 200, 200))],
    "studies:api-state": [("get", "/api/studies/{study}/me/", (403, 200, 403, 403, 403))],
    "studies:api-current": [("post", "/api/studies/{study}/current/", (403, 409, 403, 403, 403))],
    "studies:api-vote": [("post", f"/api/studies/{{study}}/trials/{TOKEN}/vote/", (403, 400, 403, 403, 403))],
    "media": [("get", "/media/anything.jpg", (404, 404, 404, 404, 404))],
    "studies:logout": [("post", "/studies/logout/", (302, 302, 302, 302, 302))],
}


def _pattern_names(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                yield "admin"
            else:
                yield from _pattern_names(pattern.url_patterns, pattern.namespace or namespace)
        else:
            name = pattern.name or pattern.callback.__name__.removeprefix("serve_")
            yield f"{namespace}:{name}" if namespace else name


def test_every_url_pattern_has_a_row():
    assert sorted(set(_pattern_names(get_resolver().url_patterns))) == sorted(EXPECTED)


@pytest.fixture
def clients(active_model):  # noqa: F811
    study = make_study(active_model)
    staff = User.objects.create_user("sam", password="pw", is_staff=True)
    admin = User.objects.create_superuser("ada", password="pw")
    logged_in = {}
    for role, user in (("staff", staff), ("researcher", researcher()), ("admin", admin)):
        logged_in[role] = Client()
        logged_in[role].force_login(user)
    return study, {"anonymous": Client(), "participant": join(study.slug), **logged_in}


@pytest.mark.django_db
def test_each_role_gets_the_expected_status_everywhere(clients, settings):
    settings.SERVE_MEDIA = True
    study, by_role = clients
    wrong = []
    for name, requests in EXPECTED.items():
        for method, template, expected in requests:
            path = template.format(study=study.slug, round=study.picking_round.slug)
            if name not in ("admin", "media"):
                assert resolve(path).view_name == name, path
            statuses = tuple(
                getattr(by_role[role], method)(path, content_type="application/json").status_code for role in ROLES
            )
            if statuses != expected:
                wrong.append(f"{method.upper()} {path}: expected {expected}, got {statuses}")
    assert not wrong, "\n".join(wrong)
