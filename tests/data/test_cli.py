import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ml.data.__main__ import main
from ml.styles import HELDOUT_RANDOM_USERS, STYLES, TEST_USERS, TRAIN_USERS

ROOT = Path(__file__).resolve().parents[2]


def exit_code(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    return stop.value.code, capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["build", "--photos", "/nonexistent", "--out", "x"], "does not exist"),
    (["build", "--out", "x"], "--photos"),
    (["build", "--photos", ".", "--out", "x", "--size", "8"], "size must be at least 16"),
    (["build", "--photos", ".", "--out", "x", "--limit", "0"], "number must be at least 1"),
    (["build", "--photos", ".", "--out", "x", "--workers", "two"], "whole number"),
    (["unseen-report"], "one of the arguments"),
    (["unseen-report", "--data", ".", "--photos", "."], "not allowed"),
    (["prepare-fivek", "--src", ".", "--out", "x", "--split", "odd"], "invalid choice"),
    (["prepare-fivek", "--src", ".", "--out", "x", "--split", "standard"], "--test-list"),
    (["contact-sheet", "--photos", ".", "--out", "sheet.jpg"], ".png"),
    (["contact-sheet", "--photos", ".", "--out", "s.png", "--users", "vivid,nope"], "unknown user"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    code, err = exit_code(argv, capsys)
    assert code == 2 and message in err


def test_unusable_inputs_exit_2_without_traceback(tmp_path, capsys):
    assert main(["build", "--photos", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "No photos found" in capsys.readouterr().err
    assert main(["unseen-report", "--data", str(tmp_path)]) == 2
    assert "users.json" in capsys.readouterr().err
    assert main(["prepare-fivek", "--src", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no input/" in capsys.readouterr().err


def test_output_that_is_a_file_is_refused(photo_root, tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert main(["build", "--photos", str(photo_root), "--out", str(tmp_path / "taken")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_contact_sheet_has_a_tile_per_photo_and_user(photo_root, tmp_path):
    out = tmp_path / "sheet.png"
    assert main(["contact-sheet", "--photos", str(photo_root), "--out", str(out), "--n", "3", "--tile", "40"]) == 0
    width, height = Image.open(out).size
    rows = len(STYLES) + 2  # input and original
    blocks = -(-rows // 14)
    assert width == blocks * (230 + 3 * 40)
    assert height == -(-rows // blocks) * 40


def test_unseen_report_from_photos_and_from_a_build(photo_root, tmp_path, capsys):
    report_file = tmp_path / "report.json"
    code = main(["unseen-report", "--photos", str(photo_root), "--count", "4", "--size", "64",
                 "--json", str(report_file)])
    report = json.loads(report_file.read_text())
    assert code == (0 if report["ok"] else 1)
    assert report["photos"] == 4
    assert [row["test_user"] for row in report["rows"]] == list(TEST_USERS) + list(HELDOUT_RANDOM_USERS)
    assert "nearest training user" in capsys.readouterr().out
    data = tmp_path / "data"
    assert main(["build", "--photos", str(photo_root), "--out", str(data), "--size", "48", "--workers", "1"]) == 0
    capsys.readouterr()
    main(["unseen-report", "--data", str(data), "--count", "3", "--random-users", "5", "--json", str(report_file)])
    report = json.loads(report_file.read_text())
    assert report["photos"] == 3 and report["training_users"] == len(TRAIN_USERS) + 5


def test_module_entry_point_runs_as_a_command():
    result = subprocess.run([sys.executable, "-m", "ml.data", "build", "--photos", "/nonexistent", "--out", "x"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
