"""Real MIT-Adobe FiveK support: Lightroom exports -> the dataset layout, with the usual splits.

Expected source layout (what Lightroom exports give once each expert's renditions are exported to
their own folder)::

    SRC/input/a0001-jmac_DSC1459.tif      (or .jpg / .png; 8- or 16-bit)
    SRC/expertA/a0001-jmac_DSC1459.tif    one folder per user: expertA..expertE or any names
    ...

Photos are matched across folders by their FiveK id (``a0001``..``a5000``, the file-name prefix),
or by the whole file stem when a name has no id. Splits:

* ``a4501``: a0001-a4500 train, a4501-a5000 test (the split of HDRNet, PieNet's Sec. 4.1 and
  many others), defined by the id range;
* ``standard``: the 4,500 / 498 list used by DPE, 3D-LUT and AdaInt. That list is not shipped
  with this project (it comes with those projects' code, e.g. AdaInt's ``test.txt``); pass it
  with ``--test-list`` (one id or file name per line) and optionally ``--train-list``; without a
  train list every photo not in the test list trains.

Every image is resized to the requested short side (480 or 512 in those papers) and written as
JPEG 95; user renditions are resized to exactly the input's size. Users default to train users
except the last folder in name order (expertE, as in PieNet's Sec. 4.2), which is held out.
"""

from __future__ import annotations

import re
from pathlib import Path

from ml.data.build import INPUT_DIR, save_jpeg, write_manifest, write_users
from ml.data.parallel import run_tasks
from ml.data.photos import IMAGE_SUFFIXES
from ml.images import ImageError, load_image, resize_image, resize_short_side

_FIVEK_ID = re.compile(r"^(a\d{4})", re.IGNORECASE)


class FiveKError(ValueError):
    """The FiveK source folder or split lists are unusable."""


def photo_key(stem: str) -> str:
    """The FiveK id of a file stem ('a0042-IMG_0042' -> 'a0042'), or the stem when it has none."""
    match = _FIVEK_ID.match(stem)
    return match.group(1).lower() if match else stem


def _images_by_key(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
            key = photo_key(path.stem)
            if key in found:
                raise FiveKError(f"{found[key].name} and {path.name} in {folder} are the same photo {key}")
            found[key] = path
    return found


def read_list(path: Path) -> list[str]:
    """Ids from a split file: one per line, as an id, a file name or a path; blank lines ignored."""
    if not Path(path).is_file():
        raise FiveKError(f"split list {path} does not exist")
    return [photo_key(Path(line.strip()).stem) for line in Path(path).read_text().splitlines() if line.strip()]


def assign_splits(keys: list[str], split: str, test_list: Path | None = None,
                  train_list: Path | None = None) -> dict[str, str]:
    """key -> 'train' | 'test'; photos a split leaves out are absent from the result."""
    if split == "a4501":
        splits = {}
        for key in keys:
            if not _FIVEK_ID.match(key):
                raise FiveKError(f"split a4501 needs FiveK ids (a0001..a5000); {key!r} has none")
            number = int(key[1:])
            if 1 <= number <= 5000:
                splits[key] = "train" if number <= 4500 else "test"
        return splits
    if split != "standard":
        raise FiveKError(f"unknown split {split!r}")
    if test_list is None:
        raise FiveKError("the standard split needs its test list (--test-list)")
    test = set(read_list(test_list))
    train = set(read_list(train_list)) if train_list else set(keys) - test
    if test & train:
        raise FiveKError(f"{len(test & train)} photos are in both the train and the test list")
    return {key: "test" if key in test else "train" for key in keys if key in test or key in train}


def _convert(task: tuple[str, dict[str, str], str, int]) -> dict[str, str]:
    key, sources, out, size = task
    out = Path(out)
    image = resize_short_side(load_image(sources[INPUT_DIR]), size)
    height, width = image.shape[:2]
    for folder, source in sources.items():
        path = out / folder / f"{key}.jpg"
        if path.exists():
            continue
        rendition = image if folder == INPUT_DIR else resize_image(load_image(source), (width, height))
        save_jpeg(rendition, path)
    return {"key": key, "source": Path(sources[INPUT_DIR]).name}


def prepare_fivek(src: Path, out: Path, split: str = "a4501", test_list: Path | None = None,
                  train_list: Path | None = None, size: int = 512, test_users: list[str] | None = None,
                  workers: int = 1, progress: bool = True) -> dict:
    src, out = Path(src), Path(out)
    if not (src / INPUT_DIR).is_dir():
        raise FiveKError(f"{src} has no {INPUT_DIR}/ folder")
    users = sorted(p.name for p in src.iterdir() if p.is_dir() and p.name != INPUT_DIR and not p.name.startswith("."))
    if not users:
        raise FiveKError(f"{src} has no user folders next to {INPUT_DIR}/ (e.g. expertA..expertE)")
    test_users = test_users if test_users is not None else users[-1:] if len(users) > 1 else []
    unknown = sorted(set(test_users) - set(users))
    if unknown:
        raise FiveKError(f"test user(s) {', '.join(unknown)} have no folder in {src}")
    inputs = _images_by_key(src / INPUT_DIR)
    renditions = {user: _images_by_key(src / user) for user in users}
    complete = [key for key in inputs if all(key in renditions[user] for user in users)]
    splits = assign_splits(complete, split, test_list, train_list)
    tasks = [(key, {INPUT_DIR: str(inputs[key]), **{user: str(renditions[user][key]) for user in users}},
              str(out), size) for key in complete if key in splits]
    if not tasks:
        raise FiveKError("no photo has an input, every user's rendition and a split")
    for folder in [INPUT_DIR, *users]:
        (out / folder).mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for result in run_tasks(_convert, tasks, workers, total=len(tasks), desc="fivek", unit="photo",
                                progress=progress):
            key = result["key"]
            rows.append({"name": key, "target": key, "scene": key, "split": splits[key], "collection": "fivek",
                         "source": f"{INPUT_DIR}/{result['source']}"})
    except ImageError as error:
        raise FiveKError(f"unreadable image: {error}") from None
    write_manifest(out, rows)
    write_users(out, {
        "train_users": [user for user in users if user not in test_users],
        "test_users": list(test_users),
        "users": {user: {"family": "expert", "description": f"FiveK retouching exported from folder {user}/"}
                  for user in users},
    })
    return {"out": str(out), "photos": len(rows), "users": users, "test_users": list(test_users),
            "rows_per_split": {s: sum(r["split"] == s for r in rows) for s in ("train", "test")},
            "skipped_incomplete": len(inputs) - len(complete), "skipped_by_split": len(complete) - len(tasks)}
