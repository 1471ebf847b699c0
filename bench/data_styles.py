"""Time every retouching user on a 512 x 512 photo-like image; prints JSON (ms per call, median).

Usage: python bench/data_styles.py [--size 512] [--repeats 7] [--photo PATH]
The goal (issue 4) is <= 50 ms per style on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.images import load_image, resize_image  # noqa: E402
from ml.styles import STYLES  # noqa: E402

BUDGET_MS = 50.0


def synthetic_photo(size: int) -> np.ndarray:
    """Smooth gradients plus texture: exercises histograms and filters like a real photo does."""
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = np.stack([0.2 + 0.6 * xs, 0.3 + 0.5 * ys, 0.6 - 0.4 * xs * ys], axis=2)
    return np.clip(base + 0.08 * rng.standard_normal((size, size, 3)), 0, 1).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--photo", type=Path, help="optional real photo to time on (resized to size x size)")
    args = parser.parse_args()
    image = resize_image(load_image(args.photo), (args.size, args.size)) if args.photo else synthetic_photo(args.size)
    timings = {}
    for name, style in STYLES.items():
        style(image)  # warm caches (look-up tables, masks)
        samples = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            style(image)
            samples.append((time.perf_counter() - start) * 1000.0)
        timings[name] = round(statistics.median(samples), 2)
    slowest = max(timings, key=timings.get)
    print(json.dumps({
        "size": args.size, "repeats": args.repeats, "budget_ms": BUDGET_MS,
        "styles": len(timings), "slowest": slowest, "slowest_ms": timings[slowest],
        "over_budget": sorted(name for name, ms in timings.items() if ms > BUDGET_MS),
        "ms": timings,
    }, indent=2))


if __name__ == "__main__":
    main()
