import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.cli import main
from ml.images import load_image

REPOSITORY = Path(__file__).resolve().parents[2]


def _fails_with_usage(argv, capsys, fragment):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize("argv, fragment", [
    ([], "required: COMMAND"),
    (["fly"], "invalid choice"),
    (["train-embedding", "--out", "x"], "--data"),
    (["train-embedding", "--data", "/nonexistent", "--out", "x"], "not a directory"),
    (["enhance", "--checkpoint", "/nonexistent.pt", "a.jpg", "--out", "b.jpg", "--style", "x"], "no such file"),
])
def test_bad_arguments_exit_2_with_a_message(argv, fragment, capsys):
    _fails_with_usage(argv, capsys, fragment)


def test_bad_numbers_exit_2(trained_checkpoint, dataset_dir, capsys):
    common = ["enhance", "--checkpoint", str(trained_checkpoint), str(dataset_dir / "input"), "--out", "o"]
    _fails_with_usage(common + ["--style", "warm", "--strength", "-1"], capsys, "finite number ≥ 0")
    _fails_with_usage(common + ["--style", "warm", "--network-size", "zero"], capsys, "positive integer")
    _fails_with_usage(common, capsys, "one of the arguments --style --vector --preferred is required")


def test_personalize_enhance_and_evaluate(trained_checkpoint, dataset_dir, tmp_path, capsys):
    checkpoint = str(trained_checkpoint)
    vector_file = tmp_path / "contrast.json"
    assert main(["personalize", "--checkpoint", checkpoint, "--preferred", str(dataset_dir / "contrast"),
                 "--out", str(vector_file)]) == 0
    payload = json.loads(vector_file.read_text())
    assert payload["dim"] == 512 and payload["scheme"] == "mean" and payload["images"] == 12

    photo = dataset_dir / "input" / "photo000.jpg"
    for style in (["--vector", str(vector_file)], ["--style", "warm"], ["--preferred", str(dataset_dir / "cool")]):
        out = tmp_path / "single.png"
        assert main(["enhance", "--checkpoint", checkpoint, str(photo), "--out", str(out), *style]) == 0
        assert load_image(out).shape == load_image(photo).shape
    out = tmp_path / "identity.png"
    assert main(["enhance", "--checkpoint", checkpoint, str(photo), "--out", str(out), "--style", "warm",
                 "--strength", "0"]) == 0
    assert np.abs(load_image(out) - load_image(photo)).max() <= 1 / 255 + 1e-6  # PNG of the decoded JPEG
    assert main(["enhance", "--checkpoint", checkpoint, str(dataset_dir / "input"), "--out", str(tmp_path / "all"),
                 "--style", "cool"]) == 0
    assert len(list((tmp_path / "all").glob("*.jpg"))) == 12

    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", checkpoint, "--data", str(dataset_dir), "--limit", "1",
                 "--scheme", "triplet", "--preferred-count", "3", "--out", str(tmp_path / "eval.json")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["users"]) == {"bright", "warm", "cool", "contrast"}
    assert summary["vector_source"]["warm"] == "trained"
    assert summary["vector_source"]["contrast"].startswith("scheme triplet")
    assert np.isfinite(summary["mpsnr"]) and 0 < summary["mssim"] <= 1
    assert json.loads((tmp_path / "eval.json").read_text()) == summary


def test_runtime_errors_exit_2_with_one_line(trained_checkpoint, dataset_dir, tmp_path, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    checkpoint = str(trained_checkpoint)
    cases = [
        (["enhance", "--checkpoint", checkpoint, str(broken), "--out", str(tmp_path / "o.jpg"), "--style", "warm"],
         "not an image"),
        (["enhance", "--checkpoint", str(broken), str(broken), "--out", str(tmp_path / "o.jpg"), "--style", "x"],
         "not a PieNet Studio checkpoint"),
        (["enhance", "--checkpoint", checkpoint, str(dataset_dir / "input" / "photo000.jpg"),
          "--out", str(tmp_path / "o.jpg"), "--style", "picasso"], "Unknown style 'picasso'"),
        (["enhance", "--checkpoint", checkpoint, str(dataset_dir / "input"), "--out", str(tmp_path / "o.jpg"),
          "--style", "warm"], "need an output folder"),
        (["train-pienet", "--data", str(dataset_dir), "--out", str(tmp_path / "run")], "needs --embedding"),
        (["personalize", "--checkpoint", checkpoint, "--preferred", str(tmp_path / "run"),
          "--out", str(tmp_path / "v.json")], "No images found"),
    ]
    (tmp_path / "run").mkdir()
    for argv, fragment in cases:
        assert main(argv) == 2, argv
        error = capsys.readouterr().err
        assert fragment in error and "Traceback" not in error


def test_training_commands_write_checkpoints_and_resume(dataset_dir, tmp_path):
    common = ["--data", str(dataset_dir), "--batch-size", "2", "--random-users", "2", "--cache-size", "48",
              "--log-every", "1"]
    stage1 = tmp_path / "stage1"
    assert main(["train-embedding", *common, "--out", str(stage1), "--steps", "1", "--embed-size", "32",
                 "--pool-size", "4"]) == 0
    stage2 = tmp_path / "stage2"
    pienet = ["train-pienet", *common, "--out", str(stage2), "--pienet-size", "32"]
    assert main([*pienet, "--steps", "1", "--embedding", str(stage1 / "checkpoint.pt")]) == 0
    assert main([*pienet, "--steps", "2", "--resume"]) == 0
    assert len((stage2 / "metrics.jsonl").read_text().splitlines()) == 2


def test_module_entry_point_reports_usage_errors():
    result = subprocess.run([sys.executable, "-m", "ml", "enhance"], cwd=REPOSITORY, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "the following arguments are required" in result.stderr
