"""``python -m ml <command>``: train-embedding, train-pienet, train, personalize, enhance, evaluate, experiments,
finetune, card.

Bad arguments and unreadable inputs end with a one-line message and exit status 2; Ctrl-C during training saves
a checkpoint and exits with 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number ≥ 0, got {text}")
    return value


def _existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"not a directory: {text}")
    return path


def _existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def _image_files(paths) -> list[Path]:
    """Files as given, and the images inside given folders (sorted)."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"No such file or directory: {path}")
    if not files:
        raise ValueError(f"No images found in {', '.join(map(str, paths))}.")
    return files


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _add_training_arguments(parser: argparse.ArgumentParser, steps: int, batch_size: int, batch_help: str) -> None:
    """Flags both stages share. Each ``dest`` is the name of a field of the stage's recipe (ml.config), which is
    also the key a recipe file uses for it."""
    parser.add_argument("--data", type=_existing_dir, required=True, help="dataset directory (FiveK layout)")
    parser.add_argument("--photos", type=_existing_dir,
                        help="photo folder the dataset was built from (default: the one its build.json names)")
    parser.add_argument("--out", type=Path, required=True, help="output directory for checkpoint and metrics")
    parser.add_argument("--recipe", help="recipe file or built-in name (cpu, paper, gpu-15min): its values "
                                         "become the defaults, flags given here override them")
    parser.add_argument("--steps", type=_positive_int, default=steps, help=f"mini-batches (default {steps})")
    parser.add_argument("--batch-size", type=_positive_int, default=batch_size,
                        help=f"{batch_help} (default {batch_size})")
    parser.add_argument("--lr", dest="learning_rate", type=float, default=1e-4,
                        help="Adam learning rate (default 1e-4)")
    parser.add_argument("--warmup-steps", type=int, default=0,
                        help="linear warm-up steps before the cosine decay (default 0)")
    parser.add_argument("--random-users", type=int, default=300,
                        help="parametric random users trained beside the named ones (default 300)")
    parser.add_argument("--named-share", type=_fraction, default=0.5,
                        help="how often a sampled user is a named one (default 0.5)")
    parser.add_argument("--real-input-share", type=_fraction, default=0.5,
                        help="how often a photo's real other-exposure shot is the input, where it has one (default 0.5)")
    parser.add_argument("--cache-size", type=_positive_int, default=192,
                        help="short side the training photos are kept at in RAM (default 192)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out (sizes and users come from its checkpoint)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--log-every", type=_positive_int, default=10)
    parser.add_argument("--save-every", type=_positive_int, default=1000)


def _add_training_commands(commands, recipe) -> None:
    from ml.recipes import stage_defaults

    embedding = commands.add_parser("train-embedding", help="stage 1: embedding network + preference vectors")
    _add_training_arguments(embedding, steps=25_000, batch_size=8, batch_help="photos per batch")
    embedding.add_argument("--init", choices=("random", "imagenet"), default="random",
                           help="ResNet-18 initialization (imagenet needs torchvision's cached weights)")
    embedding.add_argument("--embed-size", type=_positive_int, default=256, help="input side (default 256)")
    embedding.add_argument("--users-per-batch", type=_positive_int, default=8,
                           help="users retouching every photo of a batch (default 8)")
    embedding.add_argument("--margin", type=float, default=0.2, help="triplet margin α (default 0.2)")
    embedding.add_argument("--vector-lr-scale", type=float, default=10.0,
                           help="learning rate of the vectors relative to the network's (default 10)")
    embedding.add_argument("--proxy-weight", type=float, default=1.0,
                           help="weight of the proxy loss that gathers each user's looks across photos (default 1; "
                                "0 is the triplets alone)")
    embedding.add_argument("--proxy-temperature", type=float, default=0.1,
                           help="softmax temperature of the proxy loss over cosines (default 0.1)")
    embedding.add_argument("--pool-size", type=_positive_int, default=64,
                           help="retouched photos per user embedded after training, for stage 2 (default 64)")

    pienet = commands.add_parser("train-pienet", help="stage 2: PieNet with the frozen embedding network")
    _add_training_arguments(pienet, steps=100_000, batch_size=8, batch_help="global batch size")
    pienet.add_argument("--init", choices=("embedding", "random", "imagenet"), default="embedding",
                        help="encoder initialization (default: the stage-1 embedding trunk)")
    pienet.add_argument("--embedding", type=_existing_file, help="stage-1 checkpoint (not needed with --resume)")
    pienet.add_argument("--pienet-size", type=_positive_int, default=None, help="crop side (default 512)")
    pienet.add_argument("--lambda-p", dest="lambda_perceptual", type=float, default=0.4,
                        help="perceptual weight λp (default 0.4)")
    pienet.add_argument("--lambda-t", dest="lambda_tv", type=float, default=0.01,
                        help="total-variation weight λt (default 0.01)")
    pienet.add_argument("--global-path-lr-scale", type=float, default=10.0,
                        help="learning rate of the affine head's vector-to-matrix path relative to the rest (default 10)")
    pienet.add_argument("--global-path-photos", type=int, default=24,
                        help="crops per user the global colour path's closed-form start is fitted on (default 24; "
                             "0 starts it at zero)")
    pienet.add_argument("--noise", dest="vector_noise", type=float, default=0.1,
                        help="norm of the vector perturbation (default 0.1)")
    pienet.add_argument("--warm-start", type=_existing_file,
                        help="start PieNet from this trained checkpoint's weights (a second phase with another recipe)")
    pienet.add_argument("--min-subset", type=_positive_int, default=1,
                        help="smallest subset of a user's embeddings averaged into a training vector (default 1)")
    pienet.add_argument("--max-subset", type=_positive_int, default=64,
                        help="largest subset of a user's embeddings averaged into a training vector (default 64)")
    for stage, stage_parser in (("embedding", embedding), ("pienet", pienet)):
        if recipe is not None and stage in recipe.stages:
            stage_parser.set_defaults(**stage_defaults(recipe, stage, stage_parser))

    train = commands.add_parser("train", help="both stages from a recipe (resuming), then the fp16 model to ship")
    train.add_argument("--recipe", required=True, help="recipe file or built-in name (cpu, paper, gpu-15min)")
    train.add_argument("--data", type=_existing_dir, required=True, help="dataset directory (FiveK layout)")
    train.add_argument("--photos", type=_existing_dir, help="photo folder (default: the dataset's build.json)")
    train.add_argument("--out", type=Path, required=True,
                       help="run directory: stage1/, stage2/ and the shipped model pienet-fp16.pt")
    train.add_argument("--device", help="override the recipe's device (auto, cpu or cuda)")


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=_existing_file, required=True, help="model checkpoint (.pt)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--network-size", type=_positive_int, default=None,
                        help="long side PieNet runs at (default: the training size)")


def _count_list(text: str) -> tuple[int, ...]:
    counts = tuple(_positive_int(part.strip()) for part in text.split(",") if part.strip())
    if not counts:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return tuple(sorted(set(counts)))


def build_parser(recipe=None) -> argparse.ArgumentParser:
    """The command line; with a :class:`ml.recipes.Recipe` its stage tables become the training defaults."""
    parser = argparse.ArgumentParser(prog="python -m ml", description="PieNet: personalized image enhancement.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_training_commands(commands, recipe)
    _add_use_commands(commands)
    _add_evaluation_commands(commands)
    _add_retraining_commands(commands)
    return parser


def _add_use_commands(commands) -> None:
    """What a user of a trained model runs: a preference vector from picks, enhanced photos."""
    personalize = commands.add_parser("personalize", help="folder of preferred images → preference vector file")
    _add_model_arguments(personalize)
    personalize.add_argument("--preferred", type=_existing_dir, required=True, help="folder of preferred images")
    personalize.add_argument("--negatives", type=_existing_dir,
                             help="folder of non-preferred images: use scheme 1 (triplet optimization)")
    personalize.add_argument("--out", type=Path, required=True, help="vector file to write (.json)")

    enhance = commands.add_parser("enhance", help="enhance photos in a style")
    _add_model_arguments(enhance)
    enhance.add_argument("inputs", nargs="+", help="image files or folders")
    enhance.add_argument("--out", type=Path, required=True,
                         help="output file (one input) or folder (several); format from the extension")
    style = enhance.add_mutually_exclusive_group(required=True)
    style.add_argument("--style", help="name of a training user's style in the checkpoint")
    style.add_argument("--vector", type=_existing_file, help="preference-vector file from `personalize`")
    style.add_argument("--preferred", type=_existing_dir, help="folder of preferred images (scheme 2)")
    enhance.add_argument("--strength", type=_non_negative_float, default=1.0, help="scale of the delta (default 1)")
    enhance.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality (default 95)")


def _add_evaluation_commands(commands) -> None:
    """Numbers about a model: per-user metrics, the paper's experiments."""
    evaluate = commands.add_parser("evaluate", help="PSNR/SSIM/ΔE per user and their means, as JSON")
    _add_model_arguments(evaluate)
    evaluate.add_argument("--data", type=_existing_dir, required=True, help="dataset directory (FiveK layout)")
    evaluate.add_argument("--split", choices=("train", "val", "test"), default="test")
    evaluate.add_argument("--users", nargs="+", help="users to evaluate (default: train and test users)")
    evaluate.add_argument("--scheme", choices=("mean", "triplet"), default="mean",
                          help="how new users' vectors are made (Sec. 3.4)")
    evaluate.add_argument("--preferred-count", type=_positive_int, default=10)
    evaluate.add_argument("--limit", type=_positive_int, help="evaluate only the first N photos")
    evaluate.add_argument("--out", type=Path, help="also write the JSON here")

    experiments = commands.add_parser("experiments",
                                      help="the paper's Table 1 and Figs. 6-8 at our scale: report, JSON, PNGs")
    _add_model_arguments(experiments)
    experiments.add_argument("--data", type=_existing_dir, required=True, help="dataset directory (FiveK layout)")
    experiments.add_argument("--out", type=Path, required=True, help="folder for report.md, metrics.json, PNGs")
    experiments.add_argument("--limit", type=_positive_int, help="test photos for Table 1 (default: all)")
    experiments.add_argument("--sweep-photos", type=_positive_int, default=24,
                             help="distinct test photos for the Fig. 6 sweep, collections in turn (default 24; it "
                                  "enhances each once per scheme, count, draw and new user)")
    experiments.add_argument("--draws", type=_positive_int, default=5, help="random draws per count (default 5)")
    experiments.add_argument("--counts", type=_count_list, default=(1, 2, 5, 10, 20, 50, 100),
                             help="numbers of preferred images (default 1,2,5,10,20,50,100)")
    experiments.add_argument("--preferred", type=_positive_int, default=20,
                             help="preferred images of the Table 1 rows and the targets (default 20)")
    experiments.add_argument("--pool-photos", type=_positive_int, default=150,
                             help="distinct train photos the preferred images are drawn from (default 150)")
    experiments.add_argument("--oracle-steps", type=_positive_int, default=60,
                             help="Adam steps of the oracle vector fit (default 60)")
    experiments.add_argument("--seed", type=int, default=0)


def _add_retraining_commands(commands) -> None:
    """Retraining on collected labels, and the shipped model's replication card."""
    finetune = commands.add_parser("finetune", help="retrain on collected labels (a label dataset): both stages "
                                                    "from a checkpoint or from scratch, then held-out AUC/PSNR")
    finetune.add_argument("--labels", type=_existing_dir, required=True, help="label dataset (ml/data/labels.py)")
    finetune.add_argument("--out", type=Path, required=True, help="output directory for checkpoint and metrics")
    finetune.add_argument("--base", type=_existing_file,
                          help="checkpoint to fine-tune; from scratch it only gives the sizes and named styles")
    finetune.add_argument("--from-scratch", action="store_true", help="fresh networks instead of the base's weights")
    finetune.add_argument("--recipe-json", default="{}",
                          help='recipe overrides as JSON, e.g. \'{"pienet": {"steps": 2000}}\'')
    finetune.add_argument("--device", default="auto", help="auto, cpu or cuda")

    card = commands.add_parser("card", help="replication numbers of a checkpoint on a small fixed photo subset")
    card.add_argument("--checkpoint", type=_existing_file, required=True, help="model checkpoint (.pt)")
    card.add_argument("--photos", type=_existing_dir, required=True, help="photo root (shared/data/photos)")
    card.add_argument("--out", type=Path, required=True, help="card JSON to write")
    card.add_argument("--photo-limit", type=_positive_int, default=40,
                      help="build the dataset from the first N photos of the index (default 40)")
    card.add_argument("--size", type=_positive_int, default=256, help="short side of the subset (default 256)")
    card.add_argument("--experiments", type=_existing_file,
                      help="metrics.json of `experiments` to include in the card")


def _report_checkpoint(path: Path) -> None:
    if os.environ.get("RANK", "0") == "0":  # one line, not one per torchrun process
        print(f"checkpoint: {path}")


def _recipe_from_args(recipe_class, args):
    """The stage recipe whose fields are the parsed flags of the same names (see _add_training_arguments)."""
    import dataclasses

    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(recipe_class)
              if hasattr(args, field.name)}
    recipe = recipe_class(**values)
    recipe.validate(args.command)
    return recipe


def _train_embedding(args) -> None:
    from ml.config import EmbeddingRecipe, ModelConfig
    from ml.training.embedding import train_embedding

    path = train_embedding(args.data, args.out, _recipe_from_args(EmbeddingRecipe, args),
                           ModelConfig(embed_size=args.embed_size), init=args.init, device=args.device,
                           resume=args.resume, photos=args.photos)
    _report_checkpoint(path)


def _train_pienet(args) -> None:
    from ml.config import PieNetRecipe
    from ml.training.pienet import train_pienet

    if not args.resume and args.embedding is None:
        raise ValueError("train-pienet needs --embedding CHECKPOINT (the stage-1 result) unless --resume is given.")
    path = train_pienet(args.data, args.out, _recipe_from_args(PieNetRecipe, args),
                        embedding_checkpoint=args.embedding, pienet_size=args.pienet_size, init=args.init,
                        device=args.device, resume=args.resume, photos=args.photos, warm_start=args.warm_start)
    _report_checkpoint(path)


def _completed_steps(run_dir: Path) -> int:
    """Steps a stage's run directory has saved (0 when it has no checkpoint and training state yet)."""
    from ml.checkpoint import load_checkpoint
    from ml.training.common import CHECKPOINT_NAME, TRAINING_STATE_NAME

    if not (run_dir / CHECKPOINT_NAME).is_file() or not (run_dir / TRAINING_STATE_NAME).is_file():
        return 0
    return int(load_checkpoint(run_dir / CHECKPOINT_NAME).metadata.get("step", 0))


def _train(args) -> None:
    """Stage 1 into OUT/stage1, stage 2 into OUT/stage2 (finished stages are skipped, interrupted ones resumed,
    a stage 2 built on an older stage 1 restarted), then OUT/pienet-fp16.pt: the final model in fp16 with the
    recipe recorded in its metadata."""
    import torch

    from ml.checkpoint import load_checkpoint, save_checkpoint
    from ml.recipes import STAGE_COMMANDS, load_recipe
    from ml.training.common import CHECKPOINT_NAME
    from ml.training.embedding import USER_EMBEDDINGS_NAME

    recipe = load_recipe(args.recipe)
    for stage in STAGE_COMMANDS:
        recipe.stage(stage)
    parser = build_parser(recipe)
    device = ["--device", args.device] if args.device else []
    device += ["--photos", str(args.photos)] if args.photos else []
    stage_dirs = {"embedding": args.out / "stage1", "pienet": args.out / "stage2"}
    extra = {"embedding": [], "pienet": ["--embedding", str(stage_dirs["embedding"] / CHECKPOINT_NAME)]}
    earlier_stage_trained = False
    for stage, command in STAGE_COMMANDS.items():
        stage_args = parser.parse_args([command, "--data", str(args.data), "--out", str(stage_dirs[stage]),
                                        *extra[stage], *device])
        # Stage 2 copies stage 1's network when it starts: if stage 1 just changed, stage 2 starts over.
        done = 0 if earlier_stage_trained else _completed_steps(stage_dirs[stage])
        pools_missing = stage == "embedding" and not (stage_dirs[stage] / USER_EMBEDDINGS_NAME).is_file()
        if done >= stage_args.steps and not pools_missing:
            print(f"{command}: already complete ({done} steps) in {stage_dirs[stage]}")
            continue
        stage_args.resume = done > 0
        COMMANDS[command](stage_args)
        earlier_stage_trained = True
    final = load_checkpoint(stage_dirs["pienet"] / CHECKPOINT_NAME)
    stage1 = load_checkpoint(stage_dirs["embedding"] / CHECKPOINT_NAME).metadata
    metadata = {**final.metadata, "embedding_stage": stage1, "recipe_name": recipe.name,
                "recipe_sha256": recipe.sha256, "recipe_file": recipe.path.read_text(encoding="utf-8")}
    shipped = args.out / "pienet-fp16.pt"
    save_checkpoint(shipped, final.embedding_net, final.pienet, final.config, list(final.styles),
                    torch.stack(list(final.styles.values())), metadata, half=True)
    print(f"model: {shipped} ({shipped.stat().st_size / 2 ** 20:.1f} MiB)")


def _enhancer(args):
    from ml.inference import Enhancer

    return Enhancer.from_checkpoint(args.checkpoint, device=args.device, network_size=args.network_size)


def _personalize(args) -> None:
    from ml.checkpoint import file_sha256
    from ml.personalize import consistency, mean_vector, optimize_vector, save_vector_file

    enhancer = _enhancer(args)
    preferred = _image_files([args.preferred])
    positives = enhancer.embed(tqdm(preferred, desc="embedding", unit="img"))
    if args.negatives:
        negatives = enhancer.embed(tqdm(_image_files([args.negatives]), desc="embedding negatives", unit="img"))
        vector, scheme = optimize_vector(positives, negatives), "triplet"
    else:
        vector, scheme = mean_vector(positives), "mean"
    details = {"scheme": scheme, "images": len(preferred), "consistency": round(consistency(positives), 4)}
    save_vector_file(args.out, vector, checkpoint_sha256=file_sha256(args.checkpoint), **details)
    print(json.dumps({"out": str(args.out), **details}))


def _enhance(args) -> None:
    from ml.images import load_image, save_image
    from ml.personalize import load_vector_file, mean_vector

    inputs = _image_files(args.inputs)
    single_output = len(inputs) == 1 and args.out.suffix.lower() in IMAGE_SUFFIXES
    if len(inputs) > 1 and args.out.suffix.lower() in IMAGE_SUFFIXES:
        raise ValueError(f"{len(inputs)} inputs need an output folder, not the file name {args.out}.")
    enhancer = _enhancer(args)
    if args.style:
        vector = enhancer.style_vector(args.style)
    elif args.vector:
        vector = load_vector_file(args.vector)
    else:
        vector = mean_vector(enhancer.embed(tqdm(_image_files([args.preferred]), desc="embedding", unit="img")))
    for path in tqdm(inputs, desc="enhancing", unit="img", disable=len(inputs) == 1):
        enhanced = enhancer.enhance(load_image(path), vector, strength=args.strength)
        destination = args.out if single_output else args.out / f"{path.stem}.jpg"
        save_image(enhanced, destination, quality=args.quality)
        print(destination)


def _evaluate(args) -> None:
    from ml.evaluation import evaluate

    summary = evaluate(_enhancer(args), args.data, split=args.split, users=args.users, scheme=args.scheme,
                       preferred_count=args.preferred_count, limit=args.limit)
    text = json.dumps(summary, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)


def _experiments(args) -> None:
    from ml.experiments import ExperimentSettings, run_experiments

    settings = ExperimentSettings(limit=args.limit, sweep_photos=args.sweep_photos, draws=args.draws,
                                  counts=args.counts, preferred=args.preferred, pool_photos=args.pool_photos,
                                  oracle_steps=args.oracle_steps,
                                  seed=args.seed)
    results = run_experiments(_enhancer(args), args.checkpoint, args.data, args.out, settings)
    print(json.dumps({"report": str(args.out / "report.md"), "targets": results["targets"]}, indent=2))


def _finetune(args) -> None:
    from ml.data.labels import LabelDataset
    from ml.inference import Enhancer
    from ml.label_evaluation import evaluate_heldout
    from ml.training.finetune import FinetuneRecipe, finetune

    overrides = json.loads(args.recipe_json)
    if not isinstance(overrides, dict):
        raise ValueError("--recipe-json must be a JSON object.")
    recipe = FinetuneRecipe.from_dict({**overrides, "from_scratch": args.from_scratch})
    result = finetune(args.labels, args.out, recipe, base_checkpoint=args.base, device=args.device)
    metrics = evaluate_heldout(Enhancer.from_checkpoint(result.checkpoint, device=args.device),
                               LabelDataset.open(args.labels), result.split)
    metrics.pop("per_participant")
    print(json.dumps({"checkpoint": str(result.checkpoint), "styles": result.styles, "heldout": metrics}, indent=2))


def _card(args) -> None:
    from ml.experiments.replication import ReplicationSpec, write_card

    spec = ReplicationSpec(photo_limit=args.photo_limit, size=args.size)
    card = write_card(args.checkpoint, args.photos, args.out, spec, experiments=args.experiments)
    print(json.dumps(card["replication"]["metrics"], indent=2))


COMMANDS = {"train-embedding": _train_embedding, "train-pienet": _train_pienet, "train": _train,
            "personalize": _personalize, "enhance": _enhance, "evaluate": _evaluate, "experiments": _experiments,
            "finetune": _finetune, "card": _card}


def _parse(argv) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Parse once; if a training command names a recipe, parse again with the recipe's values as defaults."""
    from ml.recipes import STAGE_COMMANDS, load_recipe

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in STAGE_COMMANDS.values() and args.recipe:
        recipe = load_recipe(args.recipe)
        stage = next(stage for stage, command in STAGE_COMMANDS.items() if command == args.command)
        recipe.stage(stage)
        parser = build_parser(recipe)
        args = parser.parse_args(argv)
    return parser, args


def main(argv=None) -> int:
    from ml.models import ModelInitError
    from ml.recipes import RecipeError
    from ml.training.common import TrainingInterrupted

    try:
        parser, args = _parse(argv)
    except RecipeError as error:
        print(f"python -m ml: error: {error}", file=sys.stderr)
        return 2
    try:
        COMMANDS[args.command](args)
    except TrainingInterrupted as interrupted:
        print(str(interrupted), file=sys.stderr)
        return 130
    except (ValueError, OSError, ModelInitError) as error:
        # ImageError, CheckpointError, DatasetError, ConfigError, PersonalizationError are ValueErrors.
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0
