import csv
import json

import pytest

from ml.data.build import BuildError, build_dataset
from ml.images import load_image_uint8
from ml.styles import HELDOUT_RANDOM_USERS, STYLES, TEST_USERS, TRAIN_USERS

SIZE = 96


def read_manifest(out):
    with (out / "manifest.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def built(photo_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    summary = build_dataset(photo_root, out, size=SIZE, workers=1, progress=False)
    return out, summary


def test_layout_and_manifest(built):
    out, summary = built
    rows = read_manifest(out)
    assert list(rows[0]) == ["name", "target", "scene", "split", "collection", "source"]
    assert summary["photos"] == summary["rows"] == len(rows) == 9
    assert len({row["name"] for row in rows}) == len(rows)
    users = json.loads((out / "users.json").read_text())
    assert users["train_users"] == list(TRAIN_USERS) and users["test_users"] == list(TEST_USERS)
    assert set(users["users"]) == set(STYLES) | set(HELDOUT_RANDOM_USERS)
    for row in rows:
        source = load_image_uint8(out / "input" / f"{row['name']}.jpg")
        assert min(source.shape[:2]) == SIZE
        for user in STYLES:
            target = load_image_uint8(out / user / f"{row['target']}.jpg")
            assert target.shape == source.shape


def test_sice_sequence_pairs_real_exposures_with_the_best_shot(built):
    out, _ = built
    rows = {row["name"]: row for row in read_manifest(out)}
    assert rows["sice_seq_0"]["target"] == rows["sice_seq_2"]["target"] == "sice_seq_1"
    assert rows["sice_seq_1"]["target"] == "sice_seq_1"  # the best shot is also an input (degraded)
    assert rows["sice_seq_3"]["target"] == "sice_seq_3"  # shifted view: its own target
    assert rows["misc_img_0"]["target"] == "misc_img_0"
    assert rows["misc_img_0"]["source"] == "misc/img_0.jpg"


def test_no_scene_in_two_splits(built):
    out, _ = built
    split_of_scene = {}
    for row in read_manifest(out):
        assert split_of_scene.setdefault(row["scene"], row["split"]) == row["split"]
        assert row["split"] in ("train", "val", "test")


def test_rebuild_resumes_and_repairs(built, photo_root):
    out, _ = built
    stamp = {path: path.stat().st_mtime_ns for path in out.rglob("*.jpg")}
    summary = build_dataset(photo_root, out, size=SIZE, workers=1, progress=False)
    assert summary["scenes_resumed"] == summary["scenes"]
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*.jpg")} == stamp
    missing = out / "vivid" / "misc_img_2.jpg"
    missing.unlink()
    summary = build_dataset(photo_root, out, size=SIZE, workers=1, progress=False)
    assert missing.exists() and summary["scenes_resumed"] == summary["scenes"] - 1
    assert (out / "input" / "misc_img_2.jpg").stat().st_mtime_ns == stamp[out / "input" / "misc_img_2.jpg"]
    assert not list(out.rglob(".*.part.jpg"))


def test_other_settings_into_the_same_folder_are_refused(built, photo_root):
    out, _ = built
    with pytest.raises(BuildError, match="different settings"):
        build_dataset(photo_root, out, size=SIZE + 16, workers=1, progress=False)


def test_parallel_build_with_limit_matches_serial(photo_root, tmp_path, built):
    serial_out, _ = built
    summary = build_dataset(photo_root, tmp_path, size=SIZE, workers=2, limit=5, progress=False)
    assert summary["photos"] == 5
    parallel_rows = read_manifest(tmp_path)
    serial_rows = {row["name"]: row for row in read_manifest(serial_out)}
    for row in parallel_rows:
        assert row == serial_rows[row["name"]]
        assert (tmp_path / "input" / f"{row['name']}.jpg").read_bytes() == \
            (serial_out / "input" / f"{row['name']}.jpg").read_bytes()
