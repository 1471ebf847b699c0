"""Management commands: registering and switching models, seeding the demo."""
import pytest
from django.core.management import CommandError, call_command

from webapp.core import selectors
from webapp.core.models import ModelVersion, Photo

pytestmark = pytest.mark.django_db


def test_register_model_command(tiny_checkpoint, second_checkpoint, capsys):
    call_command("register_model", str(tiny_checkpoint), "--name", "first", "--activate")
    call_command("register_model", str(second_checkpoint), "--name", "second")
    assert "Registered first (active)" in capsys.readouterr().out
    call_command("activate_model", "second")
    assert selectors.active_model_version().name == "second"
    call_command("list_models")
    listing = capsys.readouterr().out
    assert "active    second" in listing and "retired   first" in listing


def test_commands_refuse_bad_input_with_exit_code_2(tmp_path):
    with pytest.raises(CommandError, match="No checkpoint file") as raised:
        call_command("register_model", str(tmp_path / "missing.pt"))
    assert raised.value.returncode == 2
    with pytest.raises(CommandError, match="No model version named 'ghost'") as raised:
        call_command("activate_model", "ghost")
    assert raised.value.returncode == 2
    with pytest.raises(CommandError, match="not a directory"):
        call_command("seed_demo", "--photos-dir", str(tmp_path / "nowhere"))


def test_seed_demo_imports_showcase_photos_in_place_and_the_model(photo_dir, tiny_checkpoint, capsys):
    call_command("seed_demo", "--photos-dir", str(photo_dir), "--count", "3", "--checkpoint", str(tiny_checkpoint))
    photos = Photo.objects.order_by("source_path")
    assert [photo.collection for photo in photos] == ["bsd100", "kodak24", "kodak24"]  # SICE is not a showcase
    assert all(photo.is_demo and photo.source_path.startswith(str(photo_dir)) and not photo.image for photo in photos)
    assert selectors.active_model_version().checkpoint_path == str(tiny_checkpoint)
    call_command("seed_demo", "--photos-dir", str(photo_dir), "--count", "3", "--checkpoint", str(tiny_checkpoint))
    assert Photo.objects.count() == 3 and ModelVersion.objects.count() == 1
    assert "0 new, 3 already there" in capsys.readouterr().out


def test_seed_demo_without_photo_dir_or_checkpoint_uses_packaged_samples(tmp_path, capsys):
    call_command("seed_demo", "--photos-dir", "", "--count", "2", "--study-photos", "1",
                 "--checkpoint", str(tmp_path / "none.pt"))
    assert list(Photo.objects.order_by("pk").values_list("collection", "is_demo")) == [
        ("samples", True), ("samples", True), ("samples", False)]
    assert selectors.active_model_version() is None
    assert "runs without an active model" in capsys.readouterr().out
