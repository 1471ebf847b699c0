"""Training data of the v2 design: photos decoded once into RAM, retouched on the fly by every training user.

The expanded dataset on disk holds 28 named users; training also needs hundreds of random users
(:mod:`ml.styles.parametric`), which would not fit on disk at every size. So the photos of a split are decoded
once at ``cache_size`` (short side, uint8: about 0.3 GB for the training split at 192 px), and each batch crops
them, shrinks the crop to the training size and renders the users' looks on it — a few milliseconds per image
at 64–128 px, in the training process itself (no loader processes: on 2 cores they only compete with it).

Inputs: the real other-exposure shots of SICE scenes (half of the time where a photo has them) or a fresh
camera-like degradation of the clean photo (:func:`ml.data.degrade.camera_input`).

Every random choice of a batch comes from ``Generator([seed, step, stage])``: training is reproducible and
``--resume`` continues the exact sequence of batches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ml.data.datasets import DatasetError, FiveKLayout
from ml.data.degrade import camera_input
from ml.images import ImageError, load_image_uint8
from ml.styles import STYLES
from ml.styles.parametric import random_user

Renderer = Callable[[np.ndarray], np.ndarray]
GRID_STAGE, PAIR_STAGE, POOL_STAGE, USER_PAIR_STAGE = 1, 2, 3, 4


@dataclass
class BankPhoto:
    """One photo users retouch, uint8 H×W×3 arrays of one size: ``clean`` (the undegraded photo, when the
    dataset says where its photos are), real ``inputs`` (other-exposure shots; every input on disk when there is
    no clean photo) and the ``targets`` of users who exist only on disk (FiveK's experts, synthetic users)."""

    name: str
    clean: np.ndarray | None
    inputs: list[np.ndarray] = field(default_factory=list)
    targets: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingUser:
    """A user whose look is rendered on the fly (``render``) or read from disk (``render`` is None)."""

    name: str
    render: Renderer | None
    named: bool


def training_users(named: Sequence[str], random_count: int, renderable: bool = True) -> list[TrainingUser]:
    """The dataset's training users followed by ``random_count`` random users. With clean photos
    (``renderable``) a user with a renderer in :data:`ml.styles.STYLES` is rendered on the fly, every other
    user comes from its folder on disk."""
    if random_count and not renderable:
        raise DatasetError("random users need the undegraded photos, and this dataset does not say where they are "
                           "(no build.json); pass --photos or use --random-users 0.")
    users = [TrainingUser(name, STYLES[name] if renderable and name in STYLES else None, True) for name in named]
    users += [TrainingUser(user.name, user, False) for user in
              (random_user(f"random-{seed:05d}") for seed in range(random_count))]
    return users


def photos_root(layout: FiveKLayout, photos=None) -> Path | None:
    """The folder of the undegraded photos: ``photos`` if given, else the one the dataset's build.json names."""
    if photos is not None:
        return Path(photos)
    build_file = layout.root / "build.json"
    if not build_file.is_file():
        return None
    try:
        return Path(json.loads(build_file.read_text())["config"]["photos"])
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{build_file} is not readable ({error}); pass the photo folder (--photos).") from None


def _decode(path: Path, size: int, shape: tuple[int, int] | None = None) -> np.ndarray:
    """``path`` as uint8 with short side ``size``, or resized to ``shape`` (height, width) to match another."""
    try:
        image = load_image_uint8(path)
    except ImageError as error:
        raise DatasetError(f"{path}: {error}") from error
    height, width = shape or _short_side_shape(image.shape, size)
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def _short_side_shape(shape, size: int) -> tuple[int, int]:
    height, width = shape[:2]
    scale = size / min(height, width)
    return max(size, round(height * scale)), max(size, round(width * scale))


def load_bank_photos(data_dir, split: str = "train", cache_size: int = 192, photos=None,
                     disk_users: Sequence[str] = (), progress: bool = True) -> list[BankPhoto]:
    """The split's photos from a dataset in FiveK layout, one per distinct target: the undegraded source photo
    (from the photo folder the dataset was built from, or ``photos``) with its real exposure shots, and the
    targets of ``disk_users``. Without a photo folder the inputs on disk stand in for the clean photo."""
    layout = FiveKLayout.open(data_dir)
    root = photos_root(layout, photos)
    by_target: dict[str, list[dict]] = {}
    for row in layout.split_rows(split):
        by_target.setdefault(row["target"], []).append(row)
    bank = []
    for target, members in tqdm(sorted(by_target.items()), desc=f"decoding {split} photos", unit="photo",
                                disable=not progress):
        own = [row for row in members if row["name"] == target]
        if root is not None and not own:
            continue  # the target's own row (its clean photo) is in another split
        clean = _decode(root / own[0]["source"], cache_size) if root is not None else None
        inputs = [row for row in members if root is None or row["name"] != target]
        shape = clean.shape[:2] if clean is not None else None
        decoded_inputs = []
        for row in inputs:
            decoded_inputs.append(_decode(layout.input_path(row), cache_size, shape))
            shape = shape or decoded_inputs[0].shape[:2]
        targets = {user: _decode(layout.target_path(user, members[0]), cache_size, shape) for user in disk_users}
        bank.append(BankPhoto(target, clean, decoded_inputs, targets))
    if not bank:
        raise DatasetError(f"{layout.root} has no photos in split {split!r}.")
    return bank


def to_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / np.float32(255.0)


def _crop(image: np.ndarray, box: tuple[int, int, int], size: int, turns: int, flip: bool) -> np.ndarray:
    top, left, side = box
    crop = Image.fromarray(image[top:top + side, left:left + side])
    if side != size:
        crop = crop.resize((size, size), Image.BILINEAR)
    array = np.rot90(np.asarray(crop), turns)
    return np.ascontiguousarray(array[:, ::-1] if flip else array)


def _to_tensor(images: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


@dataclass
class GridBatch:
    """P photos × (input + K users): ``images`` (P·(K+1), 3, s, s), row p·(K+1) is photo p's input and row
    p·(K+1)+1+k user k's retouch of the same crop; ``users`` (K,) are indices into the bank's users."""

    images: torch.Tensor
    users: torch.Tensor
    photos: int

    def triplets(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(anchor users, positive rows, negative rows) of every triplet whose negative shares the positive's
        photo: another user's retouch or the input itself."""
        k = len(self.users)
        photo, user, other = torch.meshgrid(torch.arange(self.photos), torch.arange(k), torch.arange(k + 1),
                                            indexing="ij")
        keep = other != user + 1
        base = photo * (k + 1)
        return self.users[user][keep], (base + 1 + user)[keep], (base + other)[keep]


class StyleBank:
    """Photos in RAM and the users who retouch them; makes the batches of both stages."""

    def __init__(self, photos: list[BankPhoto], users: list[TrainingUser], named_share: float = 0.5,
                 crop_scale: tuple[float, float] = (0.6, 1.0), real_input_share: float = 0.5):
        if not photos or not users:
            raise DatasetError("a style bank needs photos and users.")
        self.photos, self.users = photos, users
        self.named = [index for index, user in enumerate(users) if user.named]
        self.unnamed = [index for index, user in enumerate(users) if not user.named]
        self.named_share = named_share if self.named and self.unnamed else float(bool(self.named))
        self.crop_scale = tuple(crop_scale)
        self.real_input_share = real_input_share

    @property
    def user_names(self) -> list[str]:
        return [user.name for user in self.users]

    def _rng(self, seed: int, step: int, stage: int, part: int = 0) -> np.random.Generator:
        return np.random.default_rng([seed, step, stage, part])

    def sample_users(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` user indices, each named with probability ``named_share`` (distinct within one call)."""
        named = int(rng.binomial(count, self.named_share))
        named = min(named, len(self.named))
        unnamed = min(count - named, len(self.unnamed))
        chosen = list(rng.choice(self.named, named, replace=False)) if named else []
        chosen += list(rng.choice(self.unnamed, unnamed, replace=False)) if unnamed else []
        return np.asarray(chosen, dtype=np.int64)

    def _views(self, photo: BankPhoto, rng: np.random.Generator, size: int):
        """A random aligned crop of ``photo``: (clean or None, input, crop) with float32 size×size×3 images."""
        reference = photo.clean if photo.clean is not None else photo.inputs[0]
        height, width = reference.shape[:2]
        low, high = self.crop_scale
        side = max(1, round(min(height, width) * rng.uniform(low, high)))
        box = (int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1)), side)
        crop = (box, size, int(rng.integers(4)), bool(rng.random() < 0.5))
        clean = to_float(_crop(photo.clean, *crop)) if photo.clean is not None else None
        if photo.inputs and (clean is None or rng.random() < self.real_input_share):
            return clean, to_float(_crop(photo.inputs[int(rng.integers(len(photo.inputs)))], *crop)), crop
        return clean, camera_input(clean, rng), crop

    def _retouch(self, user: int, photo: BankPhoto, clean: np.ndarray | None, crop) -> np.ndarray:
        trainee = self.users[user]
        if trainee.render is None:
            return to_float(_crop(photo.targets[trainee.name], *crop))
        return trainee.render(clean)

    def _pair(self, user: int, photo: BankPhoto, rng: np.random.Generator, size: int):
        """One stage-2 sample of ``photo``: a random view's input and ``user``'s retouch of the same crop."""
        clean, shot, crop = self._views(photo, rng, size)
        return shot, self._retouch(user, photo, clean, crop)

    def grid_batch(self, seed: int, step: int, photos: int, users: int, size: int, part: int = 0) -> GridBatch:
        """Stage 1's batch: ``photos`` distinct photos, each as its input and as retouched by ``users`` users
        (``part``: the process's share under DDP, drawn independently)."""
        rng = self._rng(seed, step, GRID_STAGE, part)
        chosen_users = self.sample_users(rng, users)
        images = []
        for photo_index in rng.choice(len(self.photos), min(photos, len(self.photos)), replace=False):
            photo = self.photos[photo_index]
            clean, shot, crop = self._views(photo, rng, size)
            images.append(shot)
            images += [self._retouch(user, photo, clean, crop) for user in chosen_users]
        return GridBatch(_to_tensor(images), torch.from_numpy(chosen_users), min(photos, len(self.photos)))

    def pair_batch(self, seed: int, step: int, batch_size: int, size: int, part: int = 0
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stage 2's batch: (inputs, targets, user indices), one random user and photo per item."""
        rng = self._rng(seed, step, PAIR_STAGE, part)
        inputs, targets, users = [], [], []
        for _ in range(batch_size):
            user = int(self.sample_users(rng, 1)[0])
            shot, target = self._pair(user, self.photos[int(rng.integers(len(self.photos)))], rng, size)
            inputs.append(shot)
            targets.append(target)
            users.append(user)
        return _to_tensor(inputs), _to_tensor(targets), torch.tensor(users)

    def user_pairs(self, user: int, count: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, targets) of ``count`` distinct photos as stage 2 would show them (random crops, real or
        camera-like inputs), retouched by ``user``: the sample a user's own global look is fitted on. The photos,
        crops and inputs depend on ``seed`` alone, so two users' samples differ only by their looks."""
        rng = self._rng(seed, 0, USER_PAIR_STAGE)
        inputs, targets = [], []
        for index in rng.choice(len(self.photos), min(count, len(self.photos)), replace=False):
            shot, target = self._pair(user, self.photos[int(index)], rng, size)
            inputs.append(shot)
            targets.append(target)
        return _to_tensor(inputs), _to_tensor(targets)

    def pool_images(self, user: int, count: int, seed: int) -> list[np.ndarray]:
        """``count`` whole photos (distinct, seeded) retouched by ``user``: the images a user of that taste would
        pick, from which its preference vectors are made."""
        rng = self._rng(seed, user, POOL_STAGE)
        chosen = rng.choice(len(self.photos), min(count, len(self.photos)), replace=False)
        trainee = self.users[user]
        if trainee.render is None:
            return [to_float(self.photos[index].targets[trainee.name]) for index in chosen]
        return [trainee.render(to_float(self.photos[index].clean)) for index in chosen]


def open_bank(data_dir, split: str = "train", random_users: int = 0, cache_size: int = 192,
              named_share: float = 0.5, crop_scale=(0.6, 1.0), photos=None, progress: bool = True,
              real_input_share: float = 0.5) -> StyleBank:
    """The bank of a dataset's ``split`` with its training users and ``random_users`` random ones."""
    layout = FiveKLayout.open(data_dir)
    renderable = photos_root(layout, photos) is not None
    users = training_users(layout.train_users, random_users, renderable)
    disk_users = [user.name for user in users if user.render is None]
    bank_photos = load_bank_photos(data_dir, split, cache_size, photos, disk_users, progress)
    return StyleBank(bank_photos, users, named_share, crop_scale, real_input_share)
