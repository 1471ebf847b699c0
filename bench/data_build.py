"""Time the expanded-dataset build and print JSON (issue 4 goal: 2,388 photos at 512 px <= 15 min).

Usage: python bench/data_build.py --photos ../shared/data/photos --out /tmp/bench_build
           [--size 512] [--workers 2] [--limit N] [--keep]

Builds into a fresh folder (deleted afterwards unless --keep) so that nothing is resumed, and
reports wall time, throughput, the load average seen (the machine may be shared) and, with
--limit, a projection to the full 2,388-photo collection. The projection is rough: the index
starts with SICE sequences, whose photos share one set of renderings per view and so are
cheaper than single photos; without --limit the number is the real one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.data.build import build_dataset  # noqa: E402

GOAL_SECONDS = 15 * 60
FULL_COLLECTION = 2388


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="scratch folder (must not exist)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the built dataset")
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"{args.out} exists; the benchmark needs a fresh folder")
    load_before = os.getloadavg()
    start = time.perf_counter()
    try:
        summary = build_dataset(args.photos, args.out, args.size, args.workers, args.limit)
    finally:
        if not args.keep:
            shutil.rmtree(args.out, ignore_errors=True)
    seconds = time.perf_counter() - start
    projected = seconds * FULL_COLLECTION / summary["photos"]
    print(json.dumps({
        "photos": summary["photos"], "targets": summary["targets"], "users": summary["users"],
        "size": args.size, "workers": args.workers, "cpus": os.cpu_count(),
        "seconds": round(seconds, 1), "photos_per_second": round(summary["photos"] / seconds, 2),
        "projected_full_seconds": round(projected, 1), "projection_is_rough": summary["photos"] < FULL_COLLECTION,
        "goal_seconds": GOAL_SECONDS,
        "meets_goal": projected <= GOAL_SECONDS,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }, indent=2))


if __name__ == "__main__":
    main()
