"""`manage.py simulate_study` end to end: synthetic participants through the real pages and APIs, the
trial images rendered by a real Celery worker (Redis broker, cpu and gpu queues, test database)."""
import io
import json

import pytest
from django.core.management import CommandError, call_command

from studies.models import StudyParticipant, Vote
from tests.studies.helpers import make_study
from webapp.core.models import Job

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_synthetic_participants_run_the_study_on_a_real_worker(celery_worker, active_model, tmp_path,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the fixture's photos are made in-process
        study = make_study(active_model, voting_count=5)
    out = io.StringIO()
    call_command("simulate_study", study.slug, "--participants", "4", "--careless", "0.25", "--seed", "3",
                 "--bootstrap", "50", "--json", str(tmp_path / "tally.json"), stdout=out)
    text = out.getvalue()
    assert "4 synthetic participants" in text and "Counted votes:" in text and "Position bias" in text
    entries = StudyParticipant.objects.filter(study=study)
    assert entries.count() == 4 and all(entry.completed_at for entry in entries)
    careless = {line.split()[0] for line in text.splitlines() if "careless) picked" in line}
    careful = [entry for entry in entries if entry.participant.pseudonym not in careless]
    assert len(careful) == 3 and all(entry.failed_checks == 0 for entry in careful)
    assert Vote.objects.filter(trial__study=study).count() == 16
    assert set(Job.objects.filter(kind=Job.Kind.TRIALS).values_list("status", flat=True)) == {"succeeded"}
    tally = json.loads((tmp_path / "tally.json").read_text())
    assert tally["votes"] == 3 * (tally["progress"]["completed"])
    assert tally["progress"]["completed"] + tally["progress"]["excluded"]["failed_checks"] == 4
    assert sum(method["votes"] for method in tally["methods"]) == tally["votes"]


def test_careful_participants_of_any_taste_are_never_excluded(celery_worker, active_model, tmp_path,
                                                               django_capture_on_commit_callbacks):
    """No careless participant: nobody fails a check, so nobody is excluded (issue 16)."""
    with django_capture_on_commit_callbacks(execute=False):
        study = make_study(active_model, voting_count=5)
    call_command("simulate_study", study.slug, "--participants", "3", "--careless", "0", "--seed", "5",
                 "--bootstrap", "20", "--json", str(tmp_path / "tally.json"), stdout=io.StringIO())
    tally = json.loads((tmp_path / "tally.json").read_text())
    assert tally["progress"]["completed"] == 3 and tally["progress"]["excluded"]["failed_checks"] == 0
    assert all(entry.failed_checks == 0 for entry in StudyParticipant.objects.filter(study=study))


def test_simulation_refuses_closed_or_unknown_studies(active_model):
    study = make_study(active_model, open_it=False)
    with pytest.raises(CommandError, match="closed"):
        call_command("simulate_study", study.slug, "--participants", "1")
    with pytest.raises(CommandError, match="No study"):
        call_command("simulate_study", "nope")
