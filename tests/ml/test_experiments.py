import json

import numpy as np
import pytest
import torch
from PIL import Image

from ml.cli import main
from ml.config import EmbeddingRecipe, ModelConfig, PieNetRecipe
from ml.experiments import ExperimentSettings
from ml.experiments.protocol import ExperimentData
from ml.experiments.replication import (CardError, ReplicationSpec, build_subset, differences, measure, read_card,
                                        write_card)
from ml.experiments.report import add_simulated_study, write_report
from ml.experiments.targets import targets
from ml.images import load_image
from ml.metrics import psnr
from ml.styles import TEST_USERS
from ml.synthetic import make_synthetic_dataset
from ml.training.embedding import train_embedding
from ml.training.pienet import train_pienet

UNSEEN = ("cool", "contrast")
TRAINED = ("bright", "warm")


@pytest.fixture(scope="module")
def two_unseen_users(tmp_path_factory):
    """18 photos (12 train, 3 val, 3 test), 2 training and 2 unseen users, and a tiny model trained on them."""
    root = tmp_path_factory.mktemp("experiments")
    data = make_synthetic_dataset(root / "data", rows=18, height=48, width=64, train_users=TRAINED,
                                  test_users=UNSEEN)
    recipe = dict(steps=2, batch_size=4, learning_rate=1e-3, log_every=1, save_every=1000, random_users=2,
                  cache_size=48)
    stage1 = train_embedding(data, root / "stage1", EmbeddingRecipe(**recipe, users_per_batch=3, pool_size=4),
                             ModelConfig(embed_size=32))
    checkpoint = train_pienet(data, root / "stage2", PieNetRecipe(**recipe), embedding_checkpoint=stage1,
                              pienet_size=64)
    return data, checkpoint, stage1


@pytest.fixture(scope="module")
def experiment(two_unseen_users, tmp_path_factory):
    data, checkpoint, _ = two_unseen_users
    out = tmp_path_factory.mktemp("report")
    assert main(["experiments", "--checkpoint", str(checkpoint), "--data", str(data), "--out", str(out),
                 "--counts", "1,5,50", "--draws", "3", "--preferred", "5", "--sweep-photos", "3",
                 "--oracle-steps", "5", "--device", "cpu"]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def _row(results, system):
    return next(row for row in results["table1"] if row["system"] == system)


def test_writes_report_metrics_and_figures(experiment):
    out, results = experiment
    for name in results["figures"].values():
        picture = np.asarray(Image.open(out / name))
        assert picture.shape[0] > 100 and picture.std() > 0
    report = (out / "report.md").read_text()
    for figure in results["figures"].values():
        assert f"]({figure})" in report
    for target in results["targets"]:
        assert f"| {target['target']} | " in report and ("PASS" if target["passed"] else "FAIL") in report
    classical = [row for row in results["table1"] if row["system"].startswith("classical:")]
    assert len(classical) == 11 and all(row["unseen"] and row["training"] is None for row in classical)
    assert set(_row(results, "pienet:own")["training"]["users"]) == set(TRAINED)
    assert set(_row(results, "pienet:scheme1")["unseen"]["users"]) == set(UNSEEN)


def test_input_row_matches_an_independent_computation(experiment, two_unseen_users):
    _, results = experiment
    data = two_unseen_users[0]
    rows = [line.split(",") for line in (data / "manifest.csv").read_text().splitlines()[1:]]
    test_names = [row[0] for row in rows if row[3] == "test"]
    expected = np.mean([np.mean([psnr(load_image(data / "input" / f"{name}.jpg"),
                                      load_image(data / user / f"{name}.jpg")) for name in test_names])
                        for user in UNSEEN])
    assert _row(results, "input")["unseen"]["mpsnr"] == pytest.approx(expected, abs=1e-6)
    assert {key: results["photos"][key] for key in ("table1", "sweep", "preferred_pool", "training_users_scored",
                                                    "unseen_users")} == {
        "table1": 3, "sweep": 3, "preferred_pool": 12, "training_users_scored": 2, "unseen_users": 2}


def test_sweep_has_every_count_and_draw_and_agrees_with_table_1(experiment):
    _, results = experiment
    sweep = results["fig6"]["unseen"]
    for scheme in ("scheme2", "scheme1"):
        assert list(sweep[scheme]) == ["1", "5", "50"]
        assert all(len(entry["mpsnr"]) == 3 for entry in sweep[scheme].values())
    all_of_the_pool = sweep["scheme2"]["50"]
    assert all_of_the_pool["effective_count"] == 12
    assert max(all_of_the_pool["mpsnr"]) - min(all_of_the_pool["mpsnr"]) < 1e-9  # every draw is the whole pool
    # Table 1's scheme-2 row is draw 0 of the sweep at 5 preferred images (the sweep covers all 3 photos here).
    sweep_draw_0 = sweep["scheme2"]["5"]["mpsnr"][0]
    assert _row(results, "pienet:scheme2")["unseen"]["mpsnr"] == pytest.approx(sweep_draw_0)


def test_targets_are_computed_from_the_table(experiment):
    _, results = experiment
    unseen = {row["system"]: row["unseen"]["mpsnr"] for row in results["table1"] if row["unseen"]}
    training = {row["system"]: row["training"]["mpsnr"] for row in results["table1"] if row["training"]}
    by_name = {target["target"].split(" (")[0]: target for target in results["targets"]}
    best_classical = max(value for system, value in unseen.items() if system.startswith("classical:"))
    best = by_name["scheme 2 − best fixed method"]
    assert best["value"] == pytest.approx(unseen["pienet:scheme2"] - best_classical, abs=1e-3)
    assert best["passed"] == (best["value"] >= 2.0)
    gain = unseen["pienet:scheme2"] - unseen["pienet:mean"]
    assert by_name["scheme 2 − shared mean vector"]["value"] == pytest.approx(gain, abs=1e-3)
    share = by_name["personalization share"]["value"]
    assert share is None or share == pytest.approx(gain / (unseen["pienet:oracle"] - unseen["pienet:mean"]), abs=1e-3)
    seen = by_name["seen users: stored vector − scheme 2"]["value"]
    assert seen == pytest.approx(training["pienet:own"] - training["pienet:seen-scheme2"], abs=1e-3)
    assert results["style_fidelity"]["of"] == len(TRAINED)
    assert len(results["fig8"]["points"]) == 2 * 12 and results["fig8"]["silhouette_cosine"] is not None


def test_target_pass_and_fail():
    def table(scheme2, oracle):
        unseen = {"input": 20.0, "classical:clahe": 22.0, "pienet:mean": 22.5, "pienet:scheme2": scheme2,
                  "pienet:oracle": oracle}
        rows = [{"system": system, "unseen": {"mpsnr": value}} for system, value in unseen.items()]
        return rows + [{"system": "pienet:own", "training": {"mpsnr": 25.0}},
                       {"system": "pienet:seen-scheme2", "training": {"mpsnr": 24.7}}]

    sweep = {"unseen": {"scheme2": {"1": {"mpsnr": [22.0]}, "20": {"mpsnr": [24.5]}}}}
    fidelity = {"faithful": 2, "of": 2}
    passing = targets(table(24.5, 25.5), sweep, {}, fidelity, {}, 20)
    assert [t["passed"] for t in passing] == [True, True, True, True, True, True]
    failing = targets(table(23.9, 25.5), {"unseen": {"scheme2": {"1": {"mpsnr": [23.5]}, "20": {"mpsnr": [23.9]}}}},
                      {}, {"faithful": 1, "of": 2}, {"sepia": {"input": 20.0, "output": 9.0, "target": 1.0}}, 20)
    assert [t["passed"] for t in failing] == [False, False, False, True, False, False, False]


def test_preferred_images_come_from_train_photos_and_draws_are_repeatable(two_unseen_users):
    data = ExperimentData(two_unseen_users[0], ExperimentSettings(seed=4))
    train_targets = {row["target"] for row in data.layout.split_rows("train")}
    draw = data.preferred_draw("cool", 5, 1)
    assert len(draw) == 5 and {path.stem for path in draw} <= train_targets
    assert all(path.parent.name == "cool" for path in draw)
    assert draw == ExperimentData(two_unseen_users[0], ExperimentSettings(seed=4)).preferred_draw("cool", 5, 1)
    assert draw != data.preferred_draw("cool", 5, 2)
    negatives = data.negative_draw("cool", 5, 1)
    assert len(negatives) == 15 and all(path.parent.name != "cool" for path in negatives)


@pytest.mark.parametrize("extra, fragment", [
    (["--counts", "1,x"], "expected a positive integer"),
    (["--draws", "0"], "expected a positive integer"),
])
def test_bad_arguments_exit_2(two_unseen_users, tmp_path, extra, fragment, capsys):
    data, checkpoint, _ = two_unseen_users
    with pytest.raises(SystemExit) as exit_info:
        main(["experiments", "--checkpoint", str(checkpoint), "--data", str(data), "--out", str(tmp_path), *extra])
    assert exit_info.value.code == 2 and fragment in capsys.readouterr().err


def test_a_stage_1_checkpoint_is_refused_with_exit_2(two_unseen_users, tmp_path, capsys):
    data, _, stage1 = two_unseen_users
    assert main(["experiments", "--checkpoint", str(stage1), "--data", str(data), "--out", str(tmp_path)]) == 2
    assert "embedding network (stage 1)" in capsys.readouterr().err


def _photo_folder(root, count=30):
    """Random smooth photos, each its own scene (with these names, some fall in the test split)."""
    rng = np.random.default_rng(0)
    root.mkdir()
    for index in range(count):
        low = rng.uniform(0.1, 0.9, size=(4, 6, 3))
        picture = Image.fromarray((low * 255).astype(np.uint8)).resize((72, 48), Image.BICUBIC)
        picture.save(root / f"photo{index:02d}.jpg", quality=95)
    return root


def test_card_is_reproduced_and_a_changed_number_is_caught(two_unseen_users, tmp_path):
    checkpoint = two_unseen_users[1]
    photos = _photo_folder(tmp_path / "photos")
    spec = ReplicationSpec(photo_limit=30, size=32, limit=2, users_per_group=1)
    card = write_card(checkpoint, photos, tmp_path / "card.json", spec)
    assert card["replication"]["users"] == [TEST_USERS[0]]  # the tiny model's own users are not in this dataset
    loaded, loaded_spec = read_card(tmp_path / "card.json")
    measured = measure(checkpoint, build_subset(photos, tmp_path / "subset", loaded_spec), loaded_spec)
    assert differences(loaded, measured) == []
    loaded["replication"]["metrics"]["mpsnr"] += 0.2
    assert any(problem.startswith("mpsnr: card") for problem in differences(loaded, measured))
    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(CardError, match="not a readable model card"):
        read_card(tmp_path / "broken.json")


def test_card_command_writes_the_card(two_unseen_users, tmp_path, capsys):
    photos = _photo_folder(tmp_path / "photos")
    out = tmp_path / "card.json"
    assert main(["card", "--checkpoint", str(two_unseen_users[1]), "--photos", str(photos), "--out", str(out),
                 "--photo-limit", "30", "--size", "32"]) == 0
    card = json.loads(out.read_text())
    assert card["replication"]["metrics"]["mpsnr"] == pytest.approx(json.loads(capsys.readouterr().out)["mpsnr"])
    assert card["checkpoint"]["config"]["pienet_size"] == 64 and card["replication"]["precision"] == "fp32"
    assert torch.isfinite(torch.tensor(card["replication"]["metrics"]["mssim"]))


def test_a_simulated_study_joins_the_report_of_its_checkpoint(experiment, tmp_path):
    out, results = experiment
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(results))
    write_report(results, folder / "report.md")
    assert "Not run with this report" in (folder / "report.md").read_text()
    study = {"description": "20 synthetic participants, 10 trials each.", "methods": [
        {"label": "PieNet (personal)", "votes": 90, "share": 0.45, "holm_p": None},
        {"label": "auto_levels", "votes": 30, "share": 0.15, "holm_p": 0.0004},
    ]}
    add_simulated_study(folder, study)
    report = (folder / "report.md").read_text()
    assert "20 synthetic participants" in report and "| auto_levels | 30 | 15.0% | 0.0004 |" in report
    assert json.loads((folder / "metrics.json").read_text())["simulated_study"] == study
