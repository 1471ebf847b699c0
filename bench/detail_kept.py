"""How much of a full-size photo's fine detail a checkpoint's looks keep; prints one JSON object.

Every score the experiments report is computed at the dataset's 256 px, where PieNet's output is enlarged
little or not at all. A visitor uploads a larger photo, and a look that is smooth at 128 px can blur it once its
colour matrices are enlarged (a v2 model kept 15 % of a 768-px photo's detail and no metric showed it). This
measures what the visitor sees: photos of the 768-px collections (Urban100, Sun-Hays 80, Kodak24; the first
``--per-collection`` files of each by name) enhanced at full size in every look stored in the checkpoint,
scored by `ml.metrics.detail_kept` (mean Laplacian energy of the result over the photo's: 1 keeps all,
below 1 blurs, above 1 sharpens or adds contrast).

Usage: python bench/detail_kept.py [--checkpoint checkpoints/pienet.pt] [--photos ../shared/data/photos]
       [--per-collection 2] [--out FILE]
Exit 2: bad arguments or inputs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from bench.output import print_and_save  # noqa: E402
from ml.data.photos import PhotoIndexError, read_photo_index  # noqa: E402
from ml.images import ImageError, load_image  # noqa: E402
from ml.inference import Enhancer  # noqa: E402
from ml.metrics import detail_kept  # noqa: E402

FULL_SIZE_COLLECTIONS = ("urban100", "sunhays80", "kodak24")


def full_size_photos(root: Path, per_collection: int) -> list[str]:
    """The files (relative to ``root``) measured: the first ``per_collection`` of each 768-px collection."""
    photos = sorted(read_photo_index(root), key=lambda photo: photo.file)
    chosen = []
    for collection in FULL_SIZE_COLLECTIONS:
        files = [photo.file for photo in photos if photo.collection == collection][:per_collection]
        if not files:
            raise PhotoIndexError(f"{root} has no photos of the {collection} collection.")
        chosen += files
    return chosen


def measure(checkpoint: Path, root: Path, files: list[str]) -> dict:
    enhancer = Enhancer.from_checkpoint(checkpoint, device="cpu")
    images = {file: load_image(root / file) for file in files}
    started = time.perf_counter()
    by_look = {
        look: round(statistics.fmean(detail_kept(enhancer.enhance(image, look), image) for image in images.values()), 3)
        for look in sorted(enhancer.styles)
    }
    return {
        "checkpoint": str(checkpoint),
        "photos": {name: f"{image.shape[1]}x{image.shape[0]}" for name, image in images.items()},
        "detail_kept_mean": round(statistics.fmean(by_look.values()), 3),
        "detail_kept_min": min(by_look.values()),
        "least_detail_look": min(by_look, key=by_look.get),
        "detail_kept_by_look": by_look,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=PROJECT_ROOT / "checkpoints" / "pienet.pt")
    parser.add_argument("--photos", type=Path, default=PROJECT_ROOT.parent / "shared" / "data" / "photos")
    parser.add_argument("--per-collection", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.per_collection < 1:
        parser.error("--per-collection must be at least 1")
    if not args.checkpoint.is_file():
        parser.error(f"checkpoint {args.checkpoint} does not exist")
    try:
        result = measure(args.checkpoint, args.photos, full_size_photos(args.photos, args.per_collection))
    except (PhotoIndexError, ImageError) as error:
        parser.error(str(error))
    print_and_save(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
