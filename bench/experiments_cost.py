"""What `python -m ml experiments` will cost on this machine; prints one JSON object.

Times the unit operations of a run on a random-initialized model of the given sizes (speed does not depend on the
weights) and a random photo: one PieNet enhancement (batched), one embedding, PSNR/SSIM/ΔE of one pair, one
oracle step. Then multiplies by the counts of a run with the given flags (28 training and 10 unseen users,
11 classical methods, as in the expanded dataset) to estimate its minutes, so a run can be sized before it starts.

Usage: python bench/experiments_cost.py [--side 512] [--embed-size 128] [--pienet-size 256] [--limit 30]
       [--sweep-photos 8] [--counts 1,2,5,10,20,50,100,500] [--draws 10] [--pool 530]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.config import ModelConfig  # noqa: E402
from ml.experiments.scoring import METRICS, to_tensor  # noqa: E402
from ml.inference import Enhancer  # noqa: E402
from ml.models import EmbeddingNet, PieNet  # noqa: E402

TRAIN_USERS, UNSEEN_USERS, CLASSICAL = 28, 10, 11


def _seconds_per_item(function, items: int, repeats: int = 2) -> float:
    function()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / (repeats * items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=512, help="side of the dataset's photos (default 512)")
    parser.add_argument("--embed-size", type=int, default=128)
    parser.add_argument("--pienet-size", type=int, default=256)
    parser.add_argument("--limit", type=int, default=30, help="Table 1 test photos")
    parser.add_argument("--sweep-photos", type=int, default=8)
    parser.add_argument("--counts", default="1,2,5,10,20,50,100,500")
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--pool", type=int, default=530, help="train-split photos per user (expanded512: 530)")
    parser.add_argument("--oracle-steps", type=int, default=60)
    args = parser.parse_args()

    config = ModelConfig(embed_size=args.embed_size, pienet_size=args.pienet_size)
    enhancer = Enhancer(EmbeddingNet(config), PieNet(config), config, {}, device="cpu")
    photo = np.random.default_rng(0).random((args.side, args.side, 3), dtype=np.float32)
    vectors = torch.randn(8, config.vector_dim)
    pair = to_tensor(photo, "cpu").unsqueeze(0).repeat(4, 1, 1, 1)
    unit = {
        "enhance": _seconds_per_item(lambda: enhancer.enhance_batch([photo] * 8, list(vectors)), 8),
        "embed": _seconds_per_item(lambda: enhancer.embed([photo] * 16), 16),
        **{name: _seconds_per_item(lambda function=function: function(pair, pair.flip(-1)), 4)
           for name, function in METRICS.items()},
    }
    small = torch.rand(8, 3, min(128, args.pienet_size), min(128, args.pienet_size))

    def oracle_step():
        vector = torch.zeros(8, config.vector_dim, requires_grad=True)
        torch.autograd.grad((small + enhancer.pienet(small, vector)).square().mean(), vector)

    unit["oracle_step"] = _seconds_per_item(oracle_step, 1)

    full_pair = unit["psnr"] + unit["ssim"] + unit["delta_e"]
    sweep_vectors = 2 * len(args.counts.split(",")) * args.draws * UNSEEN_USERS
    table_pairs = 2 * (TRAIN_USERS + UNSEEN_USERS) + CLASSICAL * UNSEEN_USERS + TRAIN_USERS + 3 * UNSEEN_USERS
    estimate = {
        "embedding": (UNSEEN_USERS * args.pool + (TRAIN_USERS + UNSEEN_USERS) * 64) * unit["embed"],
        "oracle": UNSEEN_USERS * args.oracle_steps * unit["oracle_step"],
        "table1": args.limit * ((1 + TRAIN_USERS + 3 * UNSEEN_USERS) * unit["enhance"] + table_pairs * full_pair),
        "fig6": args.sweep_photos * sweep_vectors * (unit["enhance"] + unit["psnr"] + unit["ssim"]),
    }
    print(json.dumps({
        "threads": torch.get_num_threads(), "photo_side": args.side, "precision": str(enhancer.autocast_dtype),
        "seconds_per_item": {name: round(value, 4) for name, value in unit.items()},
        "estimated_minutes": {**{name: round(value / 60, 1) for name, value in estimate.items()},
                              "total": round(sum(estimate.values()) / 60, 1)},
    }, indent=2))


if __name__ == "__main__":
    main()
