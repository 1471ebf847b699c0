import shutil
from collections import Counter

import numpy as np
import pytest

from ml.data.degrade import degradation_for, degrade
from ml.data.photos import (
    Photo, PhotoIndexError, are_aligned, alignment_features, pair_exposures, read_photo_index, split_for_scene,
    well_exposedness,
)
from tests.data.synthetic import exposure, synthetic_photo

SCENE = synthetic_photo(128, 128, seed=5)


def test_degradation_is_seeded_by_the_file_name():
    assert degradation_for("sice/0001.jpg") == degradation_for("sice/0001.jpg")
    assert degradation_for("sice/0001.jpg") != degradation_for("sice/0002.jpg")
    assert degradation_for("sice/0001.jpg", seed=1) != degradation_for("sice/0001.jpg")
    out = degrade(SCENE, degradation_for("a.jpg"))
    np.testing.assert_array_equal(out, degrade(SCENE, degradation_for("a.jpg")))
    assert out.dtype == np.float32 and out.shape == SCENE.shape and 0 <= out.min() and out.max() <= 1


def test_degradations_cover_the_documented_ranges():
    params = [degradation_for(f"photo_{i}.jpg") for i in range(400)]
    under = sum(p.exposure_ev < 0 for p in params) / len(params)
    assert 0.6 < under < 0.8
    assert all(-1.6 <= p.exposure_ev <= 1.0 and abs(p.exposure_ev) >= 0.3 for p in params)
    assert all(0.8 <= p.gamma <= 1.25 and 0.65 <= p.contrast <= 0.95 for p in params)
    assert all(abs(p.temperature) <= 0.15 and abs(p.tint) <= 0.06 for p in params)


def test_degradation_flattens_contrast_and_moves_exposure():
    dark = next(p for i in range(50) if (p := degradation_for(f"x{i}")).exposure_ev < -1.0)
    out = degrade(SCENE, dark)
    assert out.mean() < SCENE.mean()
    assert np.percentile(out, 99) - np.percentile(out, 1) < np.percentile(SCENE, 99) - np.percentile(SCENE, 1)


def test_split_by_scene_is_deterministic_and_roughly_80_10_10():
    scenes = [f"scene-{i}" for i in range(3000)]
    splits = [split_for_scene(scene) for scene in scenes]
    assert splits == [split_for_scene(scene) for scene in scenes]
    counts = Counter(splits)
    assert 0.77 < counts["train"] / 3000 < 0.83
    assert 0.08 < counts["val"] / 3000 < 0.12 and 0.08 < counts["test"] / 3000 < 0.12
    assert [split_for_scene(s, seed=1) for s in scenes] != splits


def test_best_exposed_shot_is_the_middle_one():
    shots = [exposure(SCENE, stops) for stops in (-3, -1, 0, 2, 4)]
    scores = [well_exposedness(img) for img in shots]
    assert int(np.argmax(scores)) in (1, 2)
    assert scores[0] < max(scores) and scores[-1] < max(scores)


def test_alignment_accepts_exposures_and_rejects_a_shifted_view():
    reference = alignment_features(SCENE)
    assert are_aligned(reference, alignment_features(exposure(SCENE, -2.0)))
    assert are_aligned(reference, alignment_features(exposure(SCENE, 1.5)))
    assert not are_aligned(reference, alignment_features(np.roll(SCENE, (9, 14), axis=(0, 1))))
    assert not are_aligned(reference, alignment_features(synthetic_photo(128, 128, seed=6)))


def test_pairing_groups_exposures_under_the_best_shot():
    photos = [Photo(f"sice/{i}.jpg", "sice", "s") for i in range(4)]
    images = [exposure(SCENE, -2.5), SCENE, exposure(SCENE, 2.0), np.roll(SCENE, (20, 28), axis=(0, 1))]
    views = pair_exposures(photos, images)
    assert len(views) == 2
    main = next(view for view in views if view.exposures)
    assert main.target.file == "sice/1.jpg"
    assert [p.file for p in main.exposures] == ["sice/0.jpg", "sice/2.jpg"]


def test_photo_index_errors_are_clear(tmp_path):
    with pytest.raises(PhotoIndexError, match="does not exist"):
        read_photo_index(tmp_path / "missing")
    with pytest.raises(PhotoIndexError, match="No photos"):
        read_photo_index(tmp_path)
    (tmp_path / "manifest.csv").write_text("file,scene\na.jpg,s\n")
    with pytest.raises(PhotoIndexError, match="collection"):
        read_photo_index(tmp_path)


def test_folder_without_manifest_is_scanned(photo_root, tmp_path):
    (tmp_path / "a").mkdir()
    shutil.copy(photo_root / "misc" / "img_0.jpg", tmp_path / "a" / "one.jpg")
    shutil.copy(photo_root / "misc" / "img_1.jpg", tmp_path / "two.JPG")
    (tmp_path / "notes.txt").write_text("not a photo")
    photos = read_photo_index(tmp_path)
    assert [(p.file, p.collection, p.name) for p in photos] == [
        ("a/one.jpg", "a", "a_one"), ("two.JPG", tmp_path.name, "two")]
