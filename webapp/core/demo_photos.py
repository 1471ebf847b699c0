"""Where demo photos come from: the configured photo directory, else samples shipped by scikit-image.

The photo directory (PIENET_PHOTOS_DIR, ../shared/data/photos when present) is read in place and
never copied. A fresh machine without it still gets a working demo from the few colour photos
that the installed scikit-image package carries on disk.
"""
import csv
from itertools import zip_longest
from pathlib import Path

# Scene-like collections first; SICE exposure sequences are training material, not showcase photos.
SHOWCASE_COLLECTIONS = ("kodak24", "mcmaster18", "sunhays80", "urban100", "bsd100")
SKIMAGE_SAMPLES = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "retina.jpg")


def photos_from_directory(photos_dir: Path, count: int) -> list[tuple[Path, str]]:
    """Up to `count` (path, collection) pairs, alternating between showcase collections."""
    manifest = photos_dir / "manifest.csv"
    by_collection: dict[str, list[Path]] = {}
    if manifest.is_file():
        with manifest.open(newline="") as handle:
            for row in csv.DictReader(handle):
                by_collection.setdefault(row["collection"], []).append(photos_dir / row["file"])
    else:
        for path in sorted(photos_dir.rglob("*.jpg")):
            by_collection.setdefault(path.parent.name, []).append(path)
    ordered = [name for name in SHOWCASE_COLLECTIONS if name in by_collection] or sorted(by_collection)
    columns = [[(path, name) for path in sorted(by_collection[name])] for name in ordered]
    interleaved = [item for row in zip_longest(*columns) for item in row if item is not None]
    return interleaved[:count]


def sample_photos(count: int) -> list[tuple[Path, str]]:
    import skimage

    data_dir = Path(skimage.__file__).parent / "data"
    found = [data_dir / name for name in SKIMAGE_SAMPLES if (data_dir / name).is_file()]
    return [(path, "samples") for path in found[:count]]


def demo_photo_sources(photos_dir: str, count: int) -> list[tuple[Path, str]]:
    if photos_dir and Path(photos_dir).is_dir():
        return photos_from_directory(Path(photos_dir), count)
    return sample_photos(count)
