"""Training data from collected labels: people who picked the images they like from sets they were shown.

A *label dataset* is a folder::

    labels.json     users with their positives, negatives and (input, target) pairs, plus free-form details
    images/KEY.jpg  every image a user refers to, by key

Each user is a ``participant`` (picks are positives, shown-but-not-picked images are negatives, and the photo
behind a pick with the picked rendering is an (input, target) pair) or a ``style`` (a retouching user whose
renderings are ground truth: they keep the model's named styles from being forgotten while it learns the
participants). The folder is written by whoever collected the labels (the web platform's retraining run) and
read here without any database, so fine-tuning stays reproducible from the folder alone.

Held-out labels for evaluation are chosen per participant by hashing (seed, user, key), so the split is stable
whatever the order of the labels and is the same for every model evaluated on it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ml.data.datasets import DatasetError, ImageStore, _split_key, random_view
from ml.images import save_image

FORMAT_NAME = "pienet-studio-labels"
FORMAT_VERSION = 1
LABELS_NAME = "labels.json"
KINDS = ("participant", "style")


@dataclass
class UserLabels:
    """One user's labels: image keys of positives and negatives, and (input key, target key) pairs."""

    name: str
    kind: str = "participant"
    positives: list[str] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "positives": list(self.positives),
                "negatives": list(self.negatives), "pairs": [list(pair) for pair in self.pairs]}

    @classmethod
    def from_dict(cls, data: dict) -> "UserLabels":
        return cls(name=str(data["name"]), kind=str(data["kind"]), positives=list(data["positives"]),
                   negatives=list(data["negatives"]), pairs=[(str(a), str(b)) for a, b in data["pairs"]])


@dataclass
class LabelSplit:
    """The same users twice: labels to train on and labels held out (participants only) to evaluate on."""

    train: list[UserLabels]
    heldout: list[UserLabels]

    def counts(self) -> dict:
        def total(users, attribute):
            return sum(len(getattr(user, attribute)) for user in users)

        return {part: {"positives": total(users, "positives"), "negatives": total(users, "negatives"),
                       "pairs": total(users, "pairs")}
                for part, users in (("train", self.train), ("heldout", self.heldout))}


def _unit_hash(seed: int, user: str, key: str) -> float:
    digest = hashlib.sha256(f"{seed}:{user}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


class LabelDataset:
    """A label-dataset folder, validated on opening."""

    def __init__(self, root: Path, users: list[UserLabels], images: dict[str, str], details: dict):
        self.root, self.users, self.images, self.details = root, users, images, details

    @classmethod
    def open(cls, root) -> "LabelDataset":
        root = Path(root)
        path = root / LABELS_NAME
        if not path.is_file():
            raise DatasetError(f"{root} is not a label dataset: {LABELS_NAME} is missing.")
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            if payload.get("format") != FORMAT_NAME or payload.get("version") != FORMAT_VERSION:
                raise DatasetError(f"{path} is not a label dataset of version {FORMAT_VERSION}.")
            users = [UserLabels.from_dict(user) for user in payload["users"]]
            images, details = dict(payload["images"]), dict(payload.get("details", {}))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, DatasetError):
                raise
            raise DatasetError(f"{path} is damaged: {error}") from error
        dataset = cls(root, users, images, details)
        dataset.validate()
        return dataset

    def validate(self) -> None:
        names = [user.name for user in self.users]
        if len(set(names)) != len(names):
            raise DatasetError(f"{self.root}: user names must be unique.")
        for user in self.users:
            if user.kind not in KINDS:
                raise DatasetError(f"{self.root}: user {user.name!r} has unknown kind {user.kind!r}.")
            keys = [*user.positives, *user.negatives, *(key for pair in user.pairs for key in pair)]
            missing = sorted({key for key in keys if key not in self.images})
            if missing:
                raise DatasetError(f"{self.root}: user {user.name!r} refers to unknown images: {', '.join(missing[:5])}.")
            if not set(target for _, target in user.pairs) <= set(user.positives):
                raise DatasetError(f"{self.root}: user {user.name!r} has pairs whose target is not a positive.")

    def image_path(self, key: str) -> Path:
        return self.root / self.images[key]

    @property
    def participants(self) -> list[UserLabels]:
        return [user for user in self.users if user.kind == "participant"]

    @property
    def styles(self) -> list[UserLabels]:
        return [user for user in self.users if user.kind == "style"]

    def split(self, heldout_fraction: float, seed: int = 0) -> LabelSplit:
        """Hold out about ``heldout_fraction`` of every participant's positives and negatives (at least one of
        each when the participant has two or more, never all positives); pairs follow their target. Styles
        are never held out."""
        if not 0 <= heldout_fraction < 1:
            raise ValueError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}.")
        train, heldout = [], []
        for user in self.users:
            if user.kind != "participant" or heldout_fraction == 0:
                train.append(user)
                heldout.append(replace(user, positives=[], negatives=[], pairs=[]))
                continue
            kept_positives, held_positives = self._split_keys(user.name, user.positives, heldout_fraction, seed)
            kept_negatives, held_negatives = self._split_keys(user.name, user.negatives, heldout_fraction, seed)
            held = set(held_positives)
            train.append(replace(user, positives=kept_positives, negatives=kept_negatives,
                                 pairs=[pair for pair in user.pairs if pair[1] not in held]))
            heldout.append(replace(user, positives=held_positives, negatives=held_negatives,
                                   pairs=[pair for pair in user.pairs if pair[1] in held]))
        return LabelSplit(train=train, heldout=heldout)

    @staticmethod
    def _split_keys(user: str, keys: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
        ordered = sorted(keys, key=lambda key: _unit_hash(seed, user, key))
        held_count = sum(_unit_hash(seed, user, key) < fraction for key in keys)
        if len(keys) >= 2:
            held_count = min(max(held_count, 1), len(keys) - 1)
        else:
            held_count = 0
        held = set(ordered[:held_count])
        return [key for key in keys if key not in held], [key for key in keys if key in held]


class LabelDatasetWriter:
    """Builds a label-dataset folder: add images by key, then write the users."""

    def __init__(self, root):
        self.root = Path(root)
        (self.root / "images").mkdir(parents=True, exist_ok=True)
        self.images: dict[str, str] = {}

    def has_image(self, key: str) -> bool:
        return key in self.images

    def add_image(self, key: str, pixels: np.ndarray) -> None:
        if not key.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"Image keys are letters, digits, '-' and '_'; got {key!r}.")
        relative = f"images/{key}.jpg"
        save_image(pixels, self.root / relative)
        self.images[key] = relative

    def write(self, users: Sequence[UserLabels], details: dict | None = None) -> LabelDataset:
        dataset = LabelDataset(self.root, list(users), dict(self.images), dict(details or {}))
        dataset.validate()
        payload = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "images": dataset.images,
                   "users": [user.to_dict() for user in dataset.users], "details": dataset.details}
        (self.root / LABELS_NAME).write_text(json.dumps(payload, indent=1), encoding="utf-8")
        return dataset


class _LabelImages(Dataset):
    def __init__(self, labels: LabelDataset, users: Sequence[UserLabels], size: int, crop_scale, augment: bool,
                 in_memory: bool, device):
        self.labels, self.users = labels, list(users)
        self.size, self.crop_scale, self.augment = size, tuple(crop_scale), augment
        keys = {key for user in self.users
                for key in [*user.positives, *user.negatives, *(k for pair in user.pairs for k in pair)]}
        self.store = ImageStore([labels.image_path(key) for key in sorted(keys)], in_memory=in_memory, device=device)

    def _image(self, key: str) -> torch.Tensor:
        return self.store[self.labels.image_path(key)]


class LabelTripletDataset(_LabelImages):
    """Triplets ``(user_index, positive, negative)`` like :class:`ml.data.datasets.TripletDataset`: one item per
    (user, positive); the negative is one of that user's own negatives, drawn from the item's key."""

    def __init__(self, labels: LabelDataset, users: Sequence[UserLabels], size: int = 256, crop_scale=(0.6, 1.0),
                 augment: bool = True, in_memory: bool = False, device="cpu"):
        super().__init__(labels, users, size, crop_scale, augment, in_memory, device)
        self.items = [(index, key) for index, user in enumerate(self.users) if user.negatives
                      for key in user.positives]
        if not self.items:
            raise DatasetError("No user has both positives and negatives to make triplets from.")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key):
        index, seed = _split_key(key)
        user_index, positive_key = self.items[index]
        negatives = self.users[user_index].negatives
        generator = torch.Generator().manual_seed(seed)
        negative_key = negatives[int(torch.randint(0, len(negatives), (), generator=generator))]
        positive, = random_view([self._image(positive_key)], self.size, self.crop_scale, generator, self.augment)
        negative, = random_view([self._image(negative_key)], self.size, self.crop_scale, generator, self.augment)
        return user_index, positive, negative


class LabelPairDataset(_LabelImages):
    """PieNet pairs ``(input, target, user_index)``, the same crop and rotation applied to both."""

    def __init__(self, labels: LabelDataset, users: Sequence[UserLabels], size: int = 512, crop_scale=(0.6, 1.0),
                 augment: bool = True, in_memory: bool = False, device="cpu"):
        super().__init__(labels, users, size, crop_scale, augment, in_memory, device)
        self.items = [(index, source, target) for index, user in enumerate(self.users) for source, target in user.pairs]
        if not self.items:
            raise DatasetError("No (input, target) pairs to train PieNet on.")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key):
        index, seed = _split_key(key)
        user_index, source_key, target_key = self.items[index]
        generator = torch.Generator().manual_seed(seed)
        source, target = random_view([self._image(source_key), self._image(target_key)], self.size, self.crop_scale,
                                     generator, self.augment)
        return source, target, user_index
