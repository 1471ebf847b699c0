"""The photo collection: reading its index, splitting by scene, and pairing SICE exposure shots.

A photo root holds ``manifest.csv`` (columns ``file, collection, scene``, as in
``shared/data/photos``); a folder without one is scanned, and every image is its own scene.

**Exposure sequences** (collections ``sice`` and ``sice_test`` by default): the shots of one scene
are real under- to over-exposures of the same view. For each view we take the *best-exposed* shot
as the photo the users retouch and the other shots as real "in the wild" inputs for it.
Best-exposed = highest mean *well-exposedness* of luminance, exp(-(L - 0.5)^2 / (2 * 0.2^2)),
the exposure-quality weight of Mertens et al.'s exposure fusion (2007): it prefers the shot with
the most pixels near mid-grey and penalises both crushed shadows and blown highlights.

A manifest scene may join two neighbouring sequences shot from slightly different positions, so
before pairing we check that a shot is *aligned* with the chosen target: phase correlation of
log-luminance gradients (exposure-invariant edges) at 128 px must peak at zero shift. Shots that
do not align start a new view (greedily, best-exposed first).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}
EXPOSURE_COLLECTIONS = frozenset({"sice", "sice_test"})
SPLIT_FRACTIONS = (("train", 0.8), ("val", 0.1), ("test", 0.1))

_ALIGN_SIZE = 128
_ALIGN_MIN_PEAK = 0.2


class PhotoIndexError(ValueError):
    """The photo root is missing, empty or has a malformed manifest."""


@dataclass(frozen=True)
class Photo:
    file: str  # path relative to the photo root, with forward slashes
    collection: str
    scene: str

    @property
    def name(self) -> str:
        """Dataset row name: the relative path without suffix, '/' -> '_' (unique across collections)."""
        return str(Path(self.file).with_suffix("")).replace("\\", "/").replace("/", "_")


@dataclass
class View:
    """One retouched photo (``target``) and the photos used as inputs for it."""
    target: Photo
    exposures: list[Photo] = field(default_factory=list)  # real other-exposure shots, if any


def read_photo_index(root: Path) -> list[Photo]:
    root = Path(root)
    if not root.is_dir():
        raise PhotoIndexError(f"Photo folder {root} does not exist.")
    manifest = root / "manifest.csv"
    photos = _read_manifest(manifest) if manifest.is_file() else _scan(root)
    if not photos:
        raise PhotoIndexError(f"No photos found in {root}.")
    names = {}
    for photo in photos:
        if photo.name in names:
            raise PhotoIndexError(f"Photos {names[photo.name]} and {photo.file} map to the same name {photo.name}.")
        names[photo.name] = photo.file
    return photos


def _read_manifest(manifest: Path) -> list[Photo]:
    with manifest.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "collection", "scene"} - set(reader.fieldnames or [])
        if missing:
            raise PhotoIndexError(f"{manifest} lacks the column(s) {', '.join(sorted(missing))}.")
        return [Photo(row["file"], row["collection"], row["scene"]) for row in reader if row["file"]]


def _scan(root: Path) -> list[Photo]:
    photos = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            relative = path.relative_to(root).as_posix()
            collection = relative.split("/")[0] if "/" in relative else root.name
            photos.append(Photo(relative, collection, relative))
    return photos


def group_by_scene(photos: list[Photo]) -> dict[str, list[Photo]]:
    scenes: dict[str, list[Photo]] = {}
    for photo in photos:
        scenes.setdefault(photo.scene, []).append(photo)
    return scenes


def split_for_scene(scene: str, seed: int = 0) -> str:
    """train / val / test (80 / 10 / 10) from a seeded hash of the scene: stable, order-independent."""
    digest = hashlib.sha256(f"split-{seed}:{scene}".encode()).digest()
    position = int.from_bytes(digest[:8], "little") / 2.0 ** 64
    cumulative = 0.0
    for split, fraction in SPLIT_FRACTIONS:
        cumulative += fraction
        if position < cumulative:
            return split
    return SPLIT_FRACTIONS[-1][0]


def well_exposedness(img: np.ndarray) -> float:
    """Mean Mertens well-exposedness of luminance (sigma 0.2); 1 = everything at mid-grey."""
    luma = img[::2, ::2] @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    return float(np.exp(-((luma - 0.5) ** 2) / (2 * 0.2 ** 2)).mean())


def alignment_features(img: np.ndarray) -> np.ndarray:
    """Windowed gradient magnitude of log-luminance at 128 px: edges that survive exposure changes."""
    luma = (img @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)).astype(np.float32)
    small = np.asarray(Image.fromarray(luma).resize((_ALIGN_SIZE, _ALIGN_SIZE), Image.BOX))
    grad_y, grad_x = np.gradient(np.log(small + 0.02))
    magnitude = np.hypot(grad_x, grad_y)
    window = np.outer(np.hanning(_ALIGN_SIZE), np.hanning(_ALIGN_SIZE))
    return (magnitude - magnitude.mean()) * window


def are_aligned(features_a: np.ndarray, features_b: np.ndarray) -> bool:
    """True when the phase correlation of the two feature maps peaks clearly at zero shift."""
    cross = np.fft.fft2(features_a) * np.conj(np.fft.fft2(features_b))
    surface = np.real(np.fft.ifft2(cross / (np.abs(cross) + 1e-9)))
    peak = np.unravel_index(int(surface.argmax()), surface.shape)
    shift = [(p + _ALIGN_SIZE // 2) % _ALIGN_SIZE - _ALIGN_SIZE // 2 for p in peak]
    return max(abs(shift[0]), abs(shift[1])) == 0 and surface.max() >= _ALIGN_MIN_PEAK


def pair_exposures(photos: list[Photo], images: list[np.ndarray]) -> list[View]:
    """Split a scene's exposure shots into aligned views, each led by its best-exposed shot."""
    scores = [well_exposedness(img) for img in images]
    features = [alignment_features(img) for img in images]
    remaining = sorted(range(len(photos)), key=lambda i: (-scores[i], photos[i].file))
    views = []
    while remaining:
        best, rest = remaining[0], remaining[1:]
        members = [i for i in rest if are_aligned(features[best], features[i])]
        views.append(View(photos[best], [photos[i] for i in sorted(members, key=lambda i: photos[i].file)]))
        remaining = [i for i in rest if i not in members]
    return views


def _hash_order(text: str, seed: int) -> bytes:
    return hashlib.sha256(f"sample-{seed}:{text}".encode()).digest()


def sample_targets(root: Path, count: int, load, seed: int = 0) -> list[tuple[Photo, np.ndarray]]:
    """``count`` retouchable photos from distinct scenes, spread evenly over the collections.

    Scenes are taken round-robin across collections in a seeded hash order; from an exposure
    sequence the best-exposed shot is used (the photo users retouch). ``load(photo)`` returns the
    image (the caller decides its size).
    """
    by_collection: dict[str, list[list[Photo]]] = {}
    for members in group_by_scene(read_photo_index(Path(root))).values():
        by_collection.setdefault(members[0].collection, []).append(members)
    queues = [sorted(scenes, key=lambda m: _hash_order(m[0].scene, seed)) for _, scenes in sorted(by_collection.items())]
    chosen: list[list[Photo]] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    picked = []
    for members in chosen:
        if members[0].collection in EXPOSURE_COLLECTIONS and len(members) > 1:
            images = [load(photo) for photo in members]
            best = int(np.argmax([well_exposedness(img) for img in images]))
            picked.append((members[best], images[best]))
        else:
            picked.append((members[0], load(members[0])))
    return picked
