import pytest

from ml.checkpoint import load_checkpoint
from ml.cli import _parse, build_parser, main
from ml.recipes import builtin_recipes, load_recipe

# The v2 reference model's training commands, flag by flag.
CPU_STAGE_1 = ("train-embedding --data D --out O --embed-size 64 --batch-size 8 --users-per-batch 8 --steps 1600 "
               "--lr 3e-4 --warmup-steps 200 --vector-lr-scale 10 --proxy-weight 1 --proxy-temperature 0.1 --random-users 300 --named-share 0.5 "
               "--cache-size 192 --pool-size 64 --save-every 100 --log-every 20 --seed 0")
CPU_STAGE_2 = ("train-pienet --data D --embedding E --out O --pienet-size 128 --batch-size 8 --steps 8000 "
               "--lr 3e-4 --warmup-steps 200 --random-users 300 --named-share 0.5 --cache-size 192 "
               "--max-subset 64 --global-path-lr-scale 10 --global-path-photos 24 --save-every 100 --log-every 20 --seed 0")


@pytest.fixture
def data_dirs(tmp_path):
    (tmp_path / "D").mkdir()
    (tmp_path / "E").write_bytes(b"")
    return tmp_path


def _argv(command_line: str, root) -> list[str]:
    return [str(root / part) if part in ("D", "O", "E") else part for part in command_line.split()]


def test_builtin_recipes_load_and_every_value_passes_its_flag(data_dirs):
    assert {"cpu", "paper", "gpu-15min"} <= set(builtin_recipes())
    for name in builtin_recipes():
        recipe = load_recipe(name)
        assert set(recipe.stages) == {"embedding", "pienet"} and recipe.description
        build_parser(recipe)  # raises RecipeError on any bad key or value


@pytest.mark.parametrize("command_line", [CPU_STAGE_1, CPU_STAGE_2])
def test_cpu_recipe_is_exactly_the_reference_training_run(command_line, data_dirs):
    explicit = _parse(_argv(command_line, data_dirs))[1]
    command = command_line.split()[0]
    embedding = " --embedding E" if command == "train-pienet" else ""
    from_recipe = _parse(_argv(f"{command} --recipe cpu --data D --out O{embedding}", data_dirs))[1]
    assert {**vars(from_recipe), "recipe": None} == {**vars(explicit), "recipe": None}


def test_paper_recipe_has_the_papers_settings(data_dirs):
    stage1 = _parse(_argv("train-embedding --recipe paper --data D --out O", data_dirs))[1]
    stage2 = _parse(_argv("train-pienet --recipe paper --data D --out O", data_dirs))[1]
    assert (stage1.embed_size, stage1.steps, stage1.learning_rate, stage1.margin) == (256, 25_000, 1e-4, 0.2)
    assert (stage2.pienet_size, stage2.steps, stage2.batch_size, stage2.lambda_perceptual, stage2.lambda_tv,
            stage2.vector_noise) == (512, 100_000, 8, 0.4, 0.01, 0.1)


def test_builtin_recipes_are_found_by_name_with_or_without_suffix():
    assert load_recipe("cpu").path == load_recipe("cpu.toml").path == load_recipe(load_recipe("cpu").path).path


def test_explicit_flags_override_the_recipe(data_dirs):
    args = _parse(_argv("train-embedding --steps 5 --recipe cpu --data D --out O --seed 3", data_dirs))[1]
    assert (args.steps, args.seed, args.embed_size, args.batch_size) == (5, 3, 64, 8)


@pytest.mark.parametrize("text, fragment", [
    ("[embedding\nsteps = 1", "not readable TOML"),
    ("[embeding]\nsteps = 1", "unknown top-level keys or tables embeding"),
    ("description = 'x'", "neither an [embedding] nor a [pienet] table"),
    ("[embedding]\nstepz = 1", "[embedding] stepz: unknown key; allowed:"),
    ("[embedding]\nsteps = -3", "[embedding] steps: expected a positive integer, got -3"),
    ("[embedding]\nsteps = 'many'", "[embedding] steps: expected a positive integer, got 'many'"),
    ("[embedding]\nsteps = true", "[embedding] steps: expected a number or a string"),
    ("[embedding]\nnamed_share = 2", "[embedding] named_share: expected a number from 0 to 1"),
    ("[embedding]\ninit = 'zeros'", "[embedding] init: 'zeros' is not one of random, imagenet"),
    ("[embedding]\ndata = '/elsewhere'", "[embedding] data: unknown key"),
    ("[embedding]\npienet_size = 64", "[embedding] pienet_size: unknown key"),
    ("[embedding]\nsteps = [1, 2]", "[embedding] steps must be a single value"),
    ("[pienet]\nsteps = 1", "has no [embedding] table"),
])
def test_bad_recipes_end_with_a_clear_error_and_exit_2(text, fragment, tmp_path, capsys):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    assert main(["train-embedding", "--recipe", str(recipe), "--data", str(tmp_path), "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert fragment in error and "Traceback" not in error


def test_a_missing_recipe_names_the_builtin_ones(tmp_path, capsys):
    assert main(["train", "--recipe", "gpu-1h", "--data", str(tmp_path), "--out", str(tmp_path / "run")]) == 2
    assert "no recipe file gpu-1h; built-in recipes: cpu, gpu-15min, paper" in capsys.readouterr().err


def _tiny_recipe(path, steps: int):
    path.write_text(f"""description = "tiny"
[embedding]
embed_size = 32
batch_size = 2
steps = {steps}
users_per_batch = 3
random_users = 2
pool_size = 4
cache_size = 48
log_every = 1
[pienet]
pienet_size = 32
batch_size = 2
steps = {steps}
random_users = 2
cache_size = 48
log_every = 1
""")
    return path


def test_train_runs_both_stages_skips_finished_ones_resumes_and_ships_fp16(dataset_dir, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "--data", str(dataset_dir), "--out", str(run), "--device", "cpu"]
    assert main([*argv, "--recipe", str(_tiny_recipe(tmp_path / "two.toml", 2))]) == 0
    shipped = load_checkpoint(run / "pienet-fp16.pt")
    assert shipped.metadata["step"] == 2 and shipped.metadata["embedding_stage"]["step"] == 2
    assert shipped.metadata["recipe_name"] == "two" and "steps = 2" in shipped.metadata["recipe_file"]
    assert shipped.pienet is not None and set(shipped.styles) == {"bright", "warm", "cool"}

    capsys.readouterr()
    assert main([*argv, "--recipe", str(tmp_path / "two.toml")]) == 0
    assert capsys.readouterr().out.count("already complete (2 steps)") == 2

    assert main([*argv, "--recipe", str(_tiny_recipe(tmp_path / "three.toml", 3))]) == 0
    logged = {stage: len((run / stage / "metrics.jsonl").read_text().splitlines()) for stage in ("stage1", "stage2")}
    assert logged == {"stage1": 2 + 1, "stage2": 2 + 3}  # stage 1 resumed; stage 2 restarted on the new stage 1
    shipped = load_checkpoint(run / "pienet-fp16.pt")
    assert shipped.metadata["step"] == 3 and shipped.metadata["embedding_stage"]["step"] == 3
