"""Researcher commands: rounds, candidates, embeddings added after the fact, late vectors, labels."""
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.participants.helpers import build_pool, joined_client, make_photos, pick_until
from webapp.core import services as core_services
from webapp.core.models import Job
from webapp.participants import services
from webapp.participants.models import Candidate, Participant, PickingRound

pytestmark = pytest.mark.django_db


def test_create_round_and_its_bad_input(capsys):
    call_command("create_round", "spring", "--min-picks", "5", "--max-picks", "8", "--set-size", "4",
                 "--scheme", "triplet")
    picking_round = PickingRound.objects.get(slug="spring")
    assert (picking_round.min_picks, picking_round.max_picks, picking_round.scheme) == (5, 8, "triplet")
    assert "/take-part/spring/" in capsys.readouterr().out
    with pytest.raises(CommandError) as bad:
        call_command("create_round", "autumn", "--min-picks", "9", "--max-picks", "3")
    assert bad.value.returncode == 2 and "1 ≤ min ≤ max" in str(bad.value)
    with pytest.raises(CommandError) as taken:
        call_command("create_round", "spring")
    assert "exists already" in str(taken.value)


def test_make_candidates_queues_one_job_and_refuses_nonsense(django_capture_on_commit_callbacks, capsys):
    with pytest.raises(CommandError) as empty:
        call_command("make_candidates")
    assert empty.value.returncode == 2 and "import_photos" in str(empty.value)

    make_photos(2)
    with pytest.raises(CommandError, match="Unknown style 'no_such_look'"):
        call_command("make_candidates", "--styles", "vivid,no_such_look")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        call_command("make_candidates", "--styles", "train", "--photos", "1")
    job = Job.objects.get(kind=Job.Kind.CANDIDATES)
    assert len(queued) == 1 and len(job.params["photo_ids"]) == 1 and "vivid" in job.params["retouch_styles"]
    assert job.params["pienet_styles"] == []  # no active model: retouching users only
    assert "Queued job" in capsys.readouterr().out


def test_a_model_activated_later_serves_people_who_already_took_part(
    picking_round, tiny_checkpoint, django_capture_on_commit_callbacks, capsys
):
    build_pool(photo_count=8, retouch_styles=["vivid", "sepia"])
    client = joined_client("taste")
    with django_capture_on_commit_callbacks(execute=False):
        pick_until(client, "taste", picks=10, per_set=3)
        assert client.post("/api/rounds/taste/finish/").status_code == 200  # no model: picks kept
    with pytest.raises(CommandError, match="No model is active"):
        call_command("compute_preferences")

    version, _ = core_services.model_version_register(checkpoint_path=tiny_checkpoint, name="late", activate=True)
    call_command("embed_candidates")
    assert Candidate.objects.filter(embedding_model_version=version).count() == 16
    with django_capture_on_commit_callbacks(execute=False) as queued:
        call_command("compute_preferences", "--round", "taste")
    assert "for 1 participants" in capsys.readouterr().out and len(queued) == 1
    job = Job.objects.get(kind=Job.Kind.PREFERENCE)
    services.preference_compute(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert Participant.objects.get().vectors.get().model_version == version
    assert client.get("/api/rounds/taste/preview/").json()["status"] == "ready"


def test_seed_demo_adds_a_demo_round(tmp_path, django_capture_on_commit_callbacks, capsys):
    from tests.webapp.helpers import write_photo_dir

    photos_dir = write_photo_dir(tmp_path / "photos", ["kodak24", "bsd100"])
    arguments = ["--photos-dir", str(photos_dir), "--count", "2", "--checkpoint", str(tmp_path / "none.pt")]
    with django_capture_on_commit_callbacks(execute=False):
        call_command("seed_demo", *arguments)
        call_command("seed_demo", *arguments)  # again: still one round and one rendering job
    assert PickingRound.objects.filter(slug="demo").count() == 1
    assert "/take-part/demo/: rendering its images" in capsys.readouterr().out
    job = Job.objects.get(kind=Job.Kind.CANDIDATES)
    assert len(job.params["photo_ids"]) == 2 and len(job.params["retouch_styles"]) == 8
    services.candidates_render_retouch(job_id=str(job.pk))
    assert Candidate.objects.count() == 16
