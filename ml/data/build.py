"""Build the expanded dataset: degraded inputs plus every user's rendering, in FiveK layout.

Layout (see the dataset contract): ``manifest.csv``, ``users.json``, ``input/<name>.jpg`` and
``<user>/<target>.jpg``, JPEG quality 95, short side = ``size``. Work is split by scene across
processes. Every file is written atomically (temporary name, then rename) and each finished scene
leaves a record in ``.done/``; a rerun skips finished scenes and existing files, so an interrupted
build resumes where it stopped. The manifest is written last: its presence means the build is
complete.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ml.data.degrade import degradation_for, degrade
from ml.data.parallel import run_tasks
from ml.data.photos import (
    EXPOSURE_COLLECTIONS, Photo, View, group_by_scene, pair_exposures, read_photo_index, split_for_scene,
)
from ml.images import ImageError, load_image, resize_image, resize_short_side, save_image
from ml.styles import DATASET_USERS, users_json

MANIFEST_COLUMNS = ("name", "target", "scene", "split", "collection", "source")
INPUT_DIR = "input"
DONE_DIR = ".done"
BUILD_FILE = "build.json"


class BuildError(ValueError):
    """The build cannot start or finish (incompatible output folder, duplicate names...)."""


@dataclass(frozen=True)
class BuildConfig:
    photos: str
    out: str
    size: int
    seed: int = 0
    exposure_collections: tuple[str, ...] = tuple(sorted(EXPOSURE_COLLECTIONS))

    def compatibility_key(self) -> dict:
        """Settings that change pixels: a resumed build must use the same ones."""
        return {"size": self.size, "seed": self.seed, "exposure_collections": list(self.exposure_collections)}


def write_atomically(path: Path, write) -> None:
    temporary = path.with_name(f".{path.stem}.part{path.suffix}")
    write(temporary)
    os.replace(temporary, path)


def save_jpeg(img: np.ndarray, path: Path) -> None:
    write_atomically(path, lambda tmp: save_image(img, tmp, quality=95))


def _done_record(out: Path, scene: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", scene)[:80]
    return out / DONE_DIR / f"{safe}-{hashlib.sha1(scene.encode()).hexdigest()[:8]}.json"


def _expected_files(out: Path, rows: list[dict]) -> list[Path]:
    files = [out / INPUT_DIR / f"{row['name']}.jpg" for row in rows]
    for target in {row["target"] for row in rows}:
        files += [out / user / f"{target}.jpg" for user in DATASET_USERS]
    return files


def _load(config: BuildConfig, photo: Photo) -> np.ndarray:
    return resize_short_side(load_image(Path(config.photos) / photo.file), config.size)


def _views(config: BuildConfig, photos: list[Photo], images: dict[str, np.ndarray]) -> list[View]:
    paired = [p for p in photos if p.collection in config.exposure_collections and p.file in images]
    views = [View(p) for p in photos if p not in paired and p.file in images]
    if len(paired) > 1:
        views += pair_exposures(paired, [images[p.file] for p in paired])
    else:
        views += [View(p) for p in paired]
    return views


def _render_view(config: BuildConfig, view: View, images: dict[str, np.ndarray], split: str) -> list[dict]:
    out = Path(config.out)
    target_image = images[view.target.file]
    height, width = target_image.shape[:2]
    for user, style in DATASET_USERS.items():
        path = out / user / f"{view.target.name}.jpg"
        if not path.exists():
            save_jpeg(style(target_image), path)
    rows = []
    for photo in [view.target, *view.exposures]:
        path = out / INPUT_DIR / f"{photo.name}.jpg"
        if not path.exists():
            if photo is view.target:
                shot = degrade(target_image, degradation_for(photo.file, config.seed))
            else:
                shot = resize_image(images[photo.file], (width, height))
            save_jpeg(shot, path)
        rows.append({"name": photo.name, "target": view.target.name, "scene": photo.scene, "split": split,
                     "collection": photo.collection, "source": photo.file})
    return rows


def build_scene(config: BuildConfig, scene: str, photos: list[Photo]) -> tuple[list[dict], list[str], bool]:
    """Render one scene; returns (manifest rows, unreadable files, whether it was already done)."""
    out = Path(config.out)
    record = _done_record(out, scene)
    if record.exists():
        rows = json.loads(record.read_text())["rows"]
        if all(path.exists() for path in _expected_files(out, rows)):
            return rows, [], True
    images, unreadable = {}, []
    for photo in photos:
        try:
            images[photo.file] = _load(config, photo)
        except (ImageError, OSError) as error:
            unreadable.append(f"{photo.file}: {error}")
    split = split_for_scene(scene, config.seed)
    rows = [row for view in _views(config, photos, images) for row in _render_view(config, view, images, split)]
    write_atomically(record, lambda tmp: tmp.write_text(json.dumps({"scene": scene, "rows": rows})))
    return rows, unreadable, False


def _build_scene_task(task: tuple[BuildConfig, str, list[Photo]]):
    return (*build_scene(*task), len(task[2]))


def _prepare_output(config: BuildConfig) -> None:
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out {out} is a file, not a folder")
    build_file = out / BUILD_FILE
    if build_file.exists():
        previous = json.loads(build_file.read_text()).get("settings")
        if previous != config.compatibility_key():
            raise BuildError(f"{out} holds a build with different settings {previous}; "
                             f"use another --out or delete it.")
    for folder in [INPUT_DIR, DONE_DIR, *DATASET_USERS]:
        (out / folder).mkdir(parents=True, exist_ok=True)
    write_atomically(build_file, lambda tmp: tmp.write_text(json.dumps(
        {"settings": config.compatibility_key(), "config": asdict(config)}, indent=2)))


def write_manifest(out: Path, rows: list[dict]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
            writer.writeheader()
            writer.writerows(sorted(rows, key=lambda row: row["name"]))

    write_atomically(out / "manifest.csv", write)


def write_users(out: Path, document: dict) -> None:
    write_atomically(out / "users.json", lambda tmp: tmp.write_text(json.dumps(document, indent=2)))


def build_dataset(photos: Path, out: Path, size: int = 512, workers: int = 2, limit: int | None = None,
                  seed: int = 0, progress: bool = True) -> dict:
    """Build (or resume) the dataset; returns a summary (counts per split, timings, problems)."""
    start = time.perf_counter()
    index = read_photo_index(Path(photos))[:limit]
    config = BuildConfig(str(Path(photos).resolve()), str(Path(out).resolve()), size, seed)
    _prepare_output(config)
    scenes = group_by_scene(index)
    tasks = sorted(((config, scene, members) for scene, members in scenes.items()), key=lambda t: -len(t[2]))
    rows, unreadable, resumed = [], [], 0
    results = run_tasks(_build_scene_task, tasks, workers, total=len(index), weight=lambda result: result[3],
                        desc="build", unit="photo", progress=progress)
    for scene_rows, scene_unreadable, was_done, _ in results:
        rows += scene_rows
        unreadable += scene_unreadable
        resumed += was_done
    names = [row["name"] for row in rows]
    if len(names) != len(set(names)):
        raise BuildError("Two photos produced the same dataset name; rename them or use a manifest.")
    write_manifest(Path(out), rows)
    write_users(Path(out), users_json())
    splits = {split: sum(row["split"] == split for row in rows) for split in ("train", "val", "test")}
    return {
        "out": config.out, "size": size, "workers": workers, "photos": len(index), "rows": len(rows),
        "targets": len({row["target"] for row in rows}), "users": len(DATASET_USERS), "scenes": len(scenes),
        "scenes_resumed": resumed, "rows_per_split": splits, "unreadable": unreadable,
        "seconds": round(time.perf_counter() - start, 1),
    }
