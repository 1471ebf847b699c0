"""Speed of the ML library on this machine (CPU unless --device cuda); prints one JSON object.

Measures, with random-initialized networks of the default size (speed does not depend on the weights):
- a 12-megapixel photo enhanced end to end from a decoded float32 array (JPEG decode/encode excluded), in the
  default inference precision and in fp32;
- PieNet run directly on the whole 12 MP photo, once, for the speed-up factor (peak memory about 6 GB;
  ``--direct-tile`` times a 2048×1536 tile instead and extrapolates linearly in the pixel count, and says so);
- a preference vector (scheme 2) from 20 decoded photos;
- the training step rates of a recipe's two stages (default ``cpu``) through the real training loops on a
  synthetic dataset, and the recipe's projected length.

Usage: python bench/ml_speed.py [--device cpu] [--skip-training] [--recipe cpu] [--direct-tile] [--head affine|pixel]
       [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.config import HEADS, EmbeddingRecipe, ModelConfig, PieNetRecipe  # noqa: E402
from ml.inference import Enhancer  # noqa: E402
from ml.models import EmbeddingNet, PieNet  # noqa: E402
from ml.personalize import mean_vector  # noqa: E402
from ml.synthetic import make_synthetic_dataset, synthetic_photo  # noqa: E402


def timed(function, repeats: int) -> tuple[float, float]:
    """(median, best) wall time of ``repeats`` calls after one warm-up call; the best is the least disturbed by
    other processes on a shared machine, the median is what a user would typically see."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 4), round(min(times), 4)


def photo(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth synthetic photo with fine noise, made at low resolution and enlarged (fast for 12 MP)."""
    rng = np.random.default_rng(seed)
    small = torch.from_numpy(synthetic_photo(height // 8, width // 8, rng)).permute(2, 0, 1)[None]
    large = torch.nn.functional.interpolate(small, size=(height, width), mode="bilinear")[0].permute(1, 2, 0)
    noise = torch.rand(height, width, 3, generator=torch.Generator().manual_seed(seed)) * 0.04 - 0.02
    return (large + noise).clamp_(0, 1).contiguous().numpy()


def active_enhancer(config: ModelConfig, device: str, precision: str) -> Enhancer:
    torch.manual_seed(0)
    pienet = PieNet(config)
    torch.nn.init.normal_(pienet.to_delta.weight, std=0.01)
    vector = torch.nn.functional.normalize(torch.randn(config.vector_dim), dim=0)
    return Enhancer(EmbeddingNet(config), pienet, config, {"style": vector}, device=device, precision=precision)


def bench_enhance(device: str, direct_tile: bool, head: str) -> dict:
    config = ModelConfig(head=head)
    image = photo(3000, 4000, 0)
    results = {"photo": "4000x3000 float32 array (12.0 MP)", "network_long_side": config.pienet_size, "head": head}
    enhancers = {precision: active_enhancer(config, device, precision) for precision in ("auto", "fp32")}
    default = enhancers["auto"]
    results["default_precision"] = str(default.autocast_dtype or torch.float32).replace("torch.", "")
    for precision, enhancer in enhancers.items():
        median, best = timed(lambda: enhancer.enhance(image, "style"), 5)
        results[f"end_to_end_s_{precision}"], results[f"end_to_end_best_s_{precision}"] = median, best
    difference = np.abs(default.enhance(image, "style") - enhancers["fp32"].enhance(image, "style")).max()
    results["max_abs_difference_default_vs_fp32"] = float(difference)

    tile_height, tile_width = (1536, 2048) if direct_tile else image.shape[:2]
    tile = torch.from_numpy(image[:tile_height, :tile_width]).permute(2, 0, 1)[None].to(default.device)
    vector = default.style_vector("style")[None]

    def direct():
        with torch.inference_mode(), default._autocast():
            default.pienet(tile.contiguous(memory_format=torch.channels_last), vector)

    start = time.perf_counter()
    direct()  # measured once: it is slow, and a single run is what a user of the naive approach would wait
    seconds = time.perf_counter() - start
    results["direct_pienet_input"] = f"{tile_width}x{tile_height}, same precision as end_to_end_s_auto"
    if direct_tile:
        scale = image.shape[0] * image.shape[1] / (tile_height * tile_width)
        results["direct_pienet_tile_s"] = round(seconds, 3)
        results["direct_extrapolation"] = f"linear in pixel count (x{scale:.2f})"
        seconds *= scale
    results["direct_pienet_full_res_s"] = round(seconds, 3)
    results["speedup_vs_direct"] = round(seconds / results["end_to_end_s_auto"], 1)
    return results


def bench_preference_vector(device: str) -> dict:
    enhancer = active_enhancer(ModelConfig(), device, "auto")
    images = [photo(768, 1024, seed) for seed in range(20)]
    median, best = timed(lambda: mean_vector(enhancer.embed(images)), 5)
    return {"preference_vector_images": "20 decoded 1024x768 float32 arrays", "preference_vector_s": median,
            "preference_vector_best_s": best}


def _steady_seconds_per_step(run_dir: Path, images_per_step: int) -> float:
    """Median seconds per step over the logged steps, skipping the first (warm-up) step."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return round(statistics.median(images_per_step / record["images_per_s"] for record in records[1:]), 3)


def bench_training(device: str, steps: int, recipe_name: str) -> dict:
    """Both stages with a recipe's sizes and batches (its step counts replaced by ``steps``) on a synthetic
    dataset, in the real training loops; the recipe's full length is projected from the step rate."""
    from ml.cli import _recipe_from_args, build_parser
    from ml.recipes import load_recipe
    from ml.training.embedding import train_embedding
    from ml.training.pienet import train_pienet

    recipe = load_recipe(recipe_name)
    parser = build_parser(recipe)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data = make_synthetic_dataset(scratch / "data", rows=12, height=256, width=384)
        stage_args = {stage: parser.parse_args([command, "--data", str(data), "--out", str(scratch / stage)])
                      for stage, command in (("embedding", "train-embedding"), ("pienet", "train-pienet"))}
        one = _recipe_from_args(EmbeddingRecipe, stage_args["embedding"])
        two = _recipe_from_args(PieNetRecipe, stage_args["pienet"])
        full = {"embedding": one.steps, "pienet": two.steps}
        overrides = dict(steps=steps, log_every=1, save_every=10 ** 9, random_users=min(one.random_users, 8))
        one = dataclasses.replace(one, **overrides, pool_size=4)
        two = dataclasses.replace(two, **overrides)
        config = ModelConfig(embed_size=stage_args["embedding"].embed_size)
        stage1 = train_embedding(data, scratch / "stage1", one, config, device=device)
        train_pienet(data, scratch / "stage2", two, embedding_checkpoint=stage1,
                     pienet_size=stage_args["pienet"].pienet_size, device=device)
        images_one = one.batch_size * (one.users_per_batch + 1)
        seconds_one = _steady_seconds_per_step(scratch / "stage1", images_one)
        seconds_two = _steady_seconds_per_step(scratch / "stage2", two.batch_size)
        return {
            "training_recipe": recipe.name,
            "embedding_training": f"{config.embed_size}px, {one.batch_size} photos x (input + {one.users_per_batch} "
                                  f"users) = {images_one} images per step, rendered on the fly",
            "embedding_seconds_per_step": seconds_one,
            "pienet_training": f"{stage_args['pienet'].pienet_size}px crops, batch {two.batch_size} pairs rendered on "
                               "the fly (perceptual loss included)",
            "pienet_seconds_per_step": seconds_two,
            "recipe_projected_hours": round((seconds_one * full["embedding"] + seconds_two * full["pienet"]) / 3600, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--direct-tile", action="store_true",
                        help="time direct PieNet on a 2048x1536 tile and extrapolate (the whole photo needs ~6 GB)")
    parser.add_argument("--training-steps", type=int, default=8)
    parser.add_argument("--head", choices=HEADS, default=ModelConfig().head,
                        help="PieNet's output head for the enhancement timings (default: new models')")
    parser.add_argument("--recipe", default="cpu", help="recipe whose training step rates are measured (default cpu)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    report = {"device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "cpu": platform.processor() or platform.machine(), "load_average_before": os.getloadavg()}
    report.update(bench_enhance(args.device, args.direct_tile, args.head))
    report.update(bench_preference_vector(args.device))
    if not args.skip_training:
        report.update(bench_training(args.device, args.training_steps, args.recipe))
    report["load_average_after"] = os.getloadavg()
    report["goals"] = {"end_to_end_s_auto <= 0.6": report["end_to_end_s_auto"] <= 0.6,
                       "speedup_vs_direct >= 20": report["speedup_vs_direct"] >= 20,
                       "preference_vector_s <= 1.5": report["preference_vector_s"] <= 1.5}
    if "recipe_projected_hours" in report:
        report["goals"]["recipe_projected_hours <= 2.5"] = report["recipe_projected_hours"] <= 2.5
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
