"""Torch datasets over the "FiveK layout" (see coord contract): PieNet pairs and metric-learning triplets.

Items are addressed by ``(index, seed)`` keys so that every random choice (crop, rotation, negative) is a pure
function of the key: :class:`StepBatchSampler` derives keys from ``(seed, step)``, which makes training
reproducible across worker processes, DDP ranks and ``--resume``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from tqdm import tqdm

from ml.images import ImageError, load_image_uint8

MANIFEST_COLUMNS = ("name", "target", "scene", "split", "collection", "source")
SPLITS = ("train", "val", "test")


class DatasetError(ValueError):
    """A dataset directory that does not follow the FiveK layout."""


@dataclass
class FiveKLayout:
    """The manifest rows and user lists of one dataset directory (paths come from the manifest only)."""

    root: Path
    rows: list[dict[str, str]]
    train_users: list[str]
    test_users: list[str]
    heldout_users: list[str] = field(default_factory=list)
    """Held-out random users (a second unseen group, ml.styles.parametric); optional in users.json."""

    @classmethod
    def open(cls, root) -> "FiveKLayout":
        root = Path(root)
        manifest, users_file = root / "manifest.csv", root / "users.json"
        for required in (manifest, users_file):
            if not required.is_file():
                raise DatasetError(f"{root} is not a dataset directory: {required.name} is missing.")
        with open(manifest, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in MANIFEST_COLUMNS if column not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{manifest} lacks the columns: {', '.join(missing)}.")
            rows = list(reader)
        bad_split = {row["split"] for row in rows} - set(SPLITS)
        if bad_split:
            raise DatasetError(f"{manifest} has unknown splits: {', '.join(sorted(bad_split))}.")
        try:
            users = json.loads(users_file.read_text(encoding="utf-8"))
            train_users, test_users = list(users["train_users"]), list(users["test_users"])
            heldout_users = list(users.get("heldout_users", []))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise DatasetError(f"{users_file} is not valid: {error}") from error
        return cls(root=root, rows=rows, train_users=train_users, test_users=test_users, heldout_users=heldout_users)

    def split_rows(self, split: str) -> list[dict[str, str]]:
        rows = [row for row in self.rows if row["split"] == split]
        if not rows:
            raise DatasetError(f"{self.root} has no rows in split {split!r}.")
        return rows

    def distinct_rows(self, split: str) -> list[dict[str, str]]:
        """One row per distinct target photo of ``split`` (SICE's exposures of a scene share one target), its own
        row where it has one: N preferred images are then N different pictures."""
        rows: dict[str, dict[str, str]] = {}
        for row in self.split_rows(split):
            if row["target"] not in rows or row["name"] == row["target"]:
                rows[row["target"]] = row
        return list(rows.values())

    def input_path(self, row: dict[str, str]) -> Path:
        return self.root / "input" / f"{row['name']}.jpg"

    def target_path(self, user: str, row: dict[str, str]) -> Path:
        return self.root / user / f"{row['target']}.jpg"


class ImageStore:
    """Decodes images as uint8 (3, H, W) tensors; with ``in_memory`` every image is decoded once up front and
    kept (on ``device``, e.g. the GPU) so that training never waits for JPEG decoding."""

    def __init__(self, paths: Sequence[Path], in_memory: bool = False, device="cpu"):
        self.device = torch.device(device)
        self._cache: dict[Path, torch.Tensor] | None = None
        if in_memory:
            unique = sorted(set(paths))
            self._cache = {path: self._decode(path) for path in tqdm(unique, desc="decoding dataset", unit="img")}

    def _decode(self, path: Path) -> torch.Tensor:
        try:
            array = load_image_uint8(path)
        except ImageError as error:
            raise DatasetError(f"{path}: {error}") from error
        return torch.from_numpy(array).permute(2, 0, 1).contiguous().to(self.device)

    def __getitem__(self, path: Path) -> torch.Tensor:
        if self._cache is not None:
            return self._cache[path]
        return self._decode(path)


def random_view(images: Sequence[torch.Tensor], size: int, crop_scale: tuple[float, float],
                generator: torch.Generator, augment: bool = True) -> list[torch.Tensor]:
    """Cut the same square crop (side a random fraction ``crop_scale`` of the short side), apply the same
    random multiple-of-90° rotation (Sec. 4.1) and resize to size×size; returns float tensors in [0, 1].
    Without ``augment`` the central square of full short side is used and nothing is rotated."""
    height, width = images[0].shape[-2:]
    for image in images[1:]:
        if image.shape[-2:] != (height, width):
            raise DatasetError(f"Input and target sizes differ: {tuple(image.shape[-2:])} vs {(height, width)}.")
    short = min(height, width)
    if augment:
        low, high = crop_scale
        fraction = low + (high - low) * torch.rand((), generator=generator).item()
        side = max(1, round(short * fraction))
        top = int(torch.randint(0, height - side + 1, (), generator=generator))
        left = int(torch.randint(0, width - side + 1, (), generator=generator))
        turns = int(torch.randint(0, 4, (), generator=generator))
    else:
        side, top, left, turns = short, (height - short) // 2, (width - short) // 2, 0
    views = []
    for image in images:
        crop = image[:, top:top + side, left:left + side].unsqueeze(0).float().div_(255.0)
        if side != size:
            crop = F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        views.append(torch.rot90(crop[0], turns, dims=(1, 2)).clamp_(0.0, 1.0).contiguous())
    return views


def _split_key(key) -> tuple[int, int]:
    if isinstance(key, tuple):
        return int(key[0]), int(key[1])
    return int(key), int(key)


class _LayoutDataset(Dataset):
    def __init__(self, root, split: str, users: Sequence[str] | None, size: int, crop_scale, augment: bool,
                 in_memory: bool, device):
        self.layout = FiveKLayout.open(root)
        self.rows = self.layout.split_rows(split)
        self.users = list(users) if users is not None else list(self.layout.train_users)
        if not self.users:
            raise DatasetError("No users selected.")
        for user in self.users:
            if not (self.layout.root / user).is_dir():
                raise DatasetError(f"{self.layout.root} has no folder for user {user!r}.")
        self.size, self.crop_scale, self.augment = size, tuple(crop_scale), augment
        self.items = [(row_index, user_index) for row_index in range(len(self.rows))
                      for user_index in range(len(self.users))]
        paths = [self.layout.input_path(row) for row in self.rows]
        paths += [self.layout.target_path(user, row) for row in self.rows for user in self.users]
        self.store = ImageStore(paths, in_memory=in_memory, device=device)

    def __len__(self) -> int:
        return len(self.items)

    def _image(self, row_index: int, source: str | None) -> torch.Tensor:
        row = self.rows[row_index]
        path = self.layout.input_path(row) if source is None else self.layout.target_path(source, row)
        return self.store[path]


class PairDataset(_LayoutDataset):
    """PieNet training pairs: ``(input, target, user_index)`` for every manifest row of ``split`` and user."""

    def __init__(self, root, split: str = "train", users: Sequence[str] | None = None, size: int = 512,
                 crop_scale=(0.6, 1.0), augment: bool = True, in_memory: bool = False, device="cpu"):
        super().__init__(root, split, users, size, crop_scale, augment, in_memory, device)

    def __getitem__(self, key):
        index, seed = _split_key(key)
        row_index, user_index = self.items[index]
        generator = torch.Generator().manual_seed(seed)
        source, target = random_view([self._image(row_index, None), self._image(row_index, self.users[user_index])],
                                     self.size, self.crop_scale, generator, self.augment)
        return source, target, user_index


class TripletDataset(_LayoutDataset):
    """Metric-learning triplets ``(user_index, positive, negative)`` (Sec. 4.1).

    Positives are user k's retouched images; negatives are the input images and the other selected users'
    retouches. One item per (row, user).
    """

    def __init__(self, root, split: str = "train", users: Sequence[str] | None = None, size: int = 256,
                 crop_scale=(0.6, 1.0), matched_negative_fraction: float = 0.5, augment: bool = True,
                 in_memory: bool = False, device="cpu"):
        super().__init__(root, split, users, size, crop_scale, augment, in_memory, device)
        self.matched_negative_fraction = matched_negative_fraction

    def negative_source(self, key) -> tuple[int, str | None]:
        """The negative's (row index, user name or None for the input image) for this key."""
        index, seed = _split_key(key)
        row_index, user_index = self.items[index]
        generator = torch.Generator().manual_seed(seed + 1)
        matched = torch.rand((), generator=generator).item() < self.matched_negative_fraction
        negative_row = row_index if matched else int(torch.randint(0, len(self.rows), (), generator=generator))
        candidates = [None] + [user for position, user in enumerate(self.users) if position != user_index]
        return negative_row, candidates[int(torch.randint(0, len(candidates), (), generator=generator))]

    def __getitem__(self, key):
        index, seed = _split_key(key)
        row_index, user_index = self.items[index]
        negative_row, negative_user = self.negative_source(key)
        generator = torch.Generator().manual_seed(seed)
        positive, = random_view([self._image(row_index, self.users[user_index])], self.size, self.crop_scale,
                                generator, self.augment)
        negative, = random_view([self._image(negative_row, negative_user)], self.size, self.crop_scale,
                                generator, self.augment)
        return user_index, positive, negative


class StepBatchSampler:
    """Endless batch sampler: batch ``step`` is drawn (with replacement) from ``Generator(seed, step)``, and rank
    ``r`` of ``world_size`` takes its slice, so the global batch is ``batch_size`` and resuming at a step
    reproduces the exact sequence of batches."""

    def __init__(self, num_items: int, batch_size: int, seed: int, start_step: int = 0, rank: int = 0,
                 world_size: int = 1):
        if batch_size % world_size:
            raise ValueError(f"batch size {batch_size} is not divisible by the {world_size} processes.")
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        self.start_step, self.rank, self.world_size = start_step, rank, world_size

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start_step
        per_rank = self.batch_size // self.world_size
        while True:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
            indices = torch.randint(0, self.num_items, (self.batch_size,), generator=generator).tolist()
            seeds = torch.randint(0, 2 ** 62, (self.batch_size,), generator=generator).tolist()
            start = self.rank * per_rank
            yield list(zip(indices[start:start + per_rank], seeds[start:start + per_rank]))
            step += 1
