import csv
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from ml.data.fivek import FiveKError, assign_splits, photo_key, prepare_fivek, read_list
from ml.images import load_image
from tests.data.synthetic import synthetic_photo

IDS = ["a0007", "a4500", "a4501", "a5000"]


def write_export(path, img, kind):
    """Lightroom export formats: 8-bit JPEG, 8-bit TIFF, 16-bit TIFF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "jpg":
        Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(path.with_suffix(".jpg"), quality=95)
    elif kind == "tif8":
        tifffile.imwrite(path.with_suffix(".tif"), (img * 255 + 0.5).astype(np.uint8))
    else:
        tifffile.imwrite(path.with_suffix(".tif"), (img * 65535 + 0.5).astype(np.uint16))


@pytest.fixture
def fivek_src(tmp_path):
    src = tmp_path / "fivek"
    for index, key in enumerate(IDS):
        photo = synthetic_photo(60, 90, seed=index)
        kinds = ["tif16", "tif8", "jpg", "tif16"]
        write_export(src / "input" / f"{key}-IMG_{index}", photo * 0.6, kinds[index])
        for expert, gain in (("expertA", 1.1), ("expertB", 0.9), ("expertC", 1.0)):
            write_export(src / expert / f"{key}-IMG_{index}", np.clip(photo * gain, 0, 1), kinds[(index + 1) % 4])
    return src


def read_rows(out):
    with (out / "manifest.csv").open(newline="") as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


def test_a4501_split_layout_and_bit_depths(fivek_src, tmp_path):
    out = tmp_path / "out"
    summary = prepare_fivek(fivek_src, out, split="a4501", size=48, progress=False)
    rows = read_rows(out)
    assert {name: row["split"] for name, row in rows.items()} == {
        "a0007": "train", "a4500": "train", "a4501": "test", "a5000": "test"}
    assert rows["a0007"]["target"] == "a0007" and rows["a0007"]["source"] == "input/a0007-IMG_0.tif"
    users = json.loads((out / "users.json").read_text())
    assert users["train_users"] == ["expertA", "expertB"] and users["test_users"] == ["expertC"]
    assert users["users"]["expertA"]["family"] == "expert"
    assert summary["rows_per_split"] == {"train": 2, "test": 2}
    for key in IDS:
        source = load_image(out / "input" / f"{key}.jpg")
        assert source.shape == (48, 72, 3)
        expert = load_image(out / "expertA" / f"{key}.jpg")
        assert expert.shape == source.shape
        assert expert.mean() > source.mean() + 0.1  # expertA is the bright one; 16-bit TIFF read right


def test_standard_split_from_list_files(fivek_src, tmp_path):
    test_list = tmp_path / "test.txt"
    test_list.write_text("a4501\n\na0007-IMG_0.tif\n")
    train_list = tmp_path / "train.txt"
    train_list.write_text("a4500\n")
    prepare_fivek(fivek_src, tmp_path / "out", split="standard", test_list=test_list, train_list=train_list,
                  size=32, test_users=["expertA"], progress=False)
    rows = read_rows(tmp_path / "out")
    assert {name: row["split"] for name, row in rows.items()} == {
        "a0007": "test", "a4500": "train", "a4501": "test"}


def test_split_helpers():
    assert photo_key("a0042-jmac_DSC1459") == "a0042" and photo_key("holiday") == "holiday"
    assert assign_splits(["a4500", "a4501", "a5001"], "a4501") == {"a4500": "train", "a4501": "test"}
    with pytest.raises(FiveKError, match="needs FiveK ids"):
        assign_splits(["holiday"], "a4501")
    with pytest.raises(FiveKError, match="test list"):
        assign_splits(["a0001"], "standard")
    with pytest.raises(FiveKError, match="does not exist"):
        read_list("/nonexistent/list.txt")


def test_missing_folders_and_users_are_clear_errors(fivek_src, tmp_path):
    with pytest.raises(FiveKError, match="no input/"):
        prepare_fivek(tmp_path, tmp_path / "out", progress=False)
    with pytest.raises(FiveKError, match="expertZ"):
        prepare_fivek(fivek_src, tmp_path / "out", test_users=["expertZ"], progress=False)


def test_photo_missing_from_one_expert_is_skipped(fivek_src, tmp_path):
    next((fivek_src / "expertB").glob("a4500-*")).unlink()
    summary = prepare_fivek(fivek_src, tmp_path / "out", size=32, progress=False)
    assert summary["skipped_incomplete"] == 1 and "a4500" not in read_rows(tmp_path / "out")
