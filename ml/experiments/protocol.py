"""What the experiments evaluate on and how new users' vectors are made (Sec. 4.2 of the paper, at our scale).

- User groups: the **unseen named users** (the dataset's test users), the **held-out random users** (a second
  unseen group, ``ml.styles.parametric``, when the dataset has them) and the **seen** training users, whose
  scheme-2 vectors are compared with their stored ones.
- Test photos: the test split's rows (inputs), drawn in turn from every collection when limited; each user's
  rendering of the row's target is the ground truth. Fig. 6 uses the first ``sweep_photos`` distinct photos.
- Preferred images: a user's renderings of *distinct* train-split photos (SICE exposures share a photo: one
  each), never the evaluated photos. A draw of N of them is a pure function of (seed, user, N, draw), so Table 1's
  "20 preferred" row is draw 0 of Fig. 6's N = 20 and both schemes see the same preferred images.
- Scheme 1's non-preferred images: ``negatives_per_preferred`` other users' renderings of each preferred photo —
  the same photos in other looks, as when a participant picks among versions of one photo.
- Oracle vector (our definition; the paper has none): the vector minimizing the MSE of PieNet's output against
  the user's own retouches of train-split photos, found by Adam through the frozen PieNet, starting from the
  scheme-2 mean of all the user's preferred images. It bounds what any vector can reach with this PieNet.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ml.data.datasets import DatasetError, FiveKLayout
from ml.images import load_image
from ml.inference import Enhancer
from ml.personalize import mean_vector, optimize_vector
from ml.resampling import shrink


@dataclass(frozen=True)
class ExperimentSettings:
    limit: int | None = None
    sweep_photos: int = 24
    counts: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100)
    draws: int = 5
    preferred: int = 20
    pool_photos: int = 150
    negatives_per_preferred: int = 3
    tsne_images: int = 100
    oracle_pairs: int = 32
    oracle_steps: int = 60
    oracle_size: int = 128
    grid_photos: int = 3
    grid_users: int = 4
    batch_size: int = 16
    seed: int = 0


def seeded_rng(seed: int, *labels) -> random.Random:
    return random.Random(json.dumps([seed, *labels]))


def sample_in_order(items: list, count: int, rng: random.Random) -> list:
    """``count`` items in their original order (all of them when there are fewer)."""
    if count >= len(items):
        return list(items)
    return [items[index] for index in sorted(rng.sample(range(len(items)), count))]


def round_robin_by_collection(rows: list[dict], rng: random.Random) -> list[dict]:
    """All ``rows`` reordered so the collections take turns (each collection's rows shuffled by ``rng``): any
    prefix then draws from every collection."""
    by_collection: dict[str, list[dict]] = {}
    for row in rows:
        by_collection.setdefault(row.get("collection", ""), []).append(row)
    queues = [rng.sample(members, len(members)) for _, members in sorted(by_collection.items())]
    ordered = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


class ExperimentData:
    """The dataset seen through the protocol above."""

    def __init__(self, data_dir, settings: ExperimentSettings):
        self.layout = FiveKLayout.open(data_dir)
        self.settings = settings
        users_document = json.loads((self.layout.root / "users.json").read_text(encoding="utf-8"))
        self.families = {name: info.get("family", "") for name, info in users_document.get("users", {}).items()}
        self.train_users, self.test_users = self.layout.train_users, self.layout.test_users
        self.heldout_users = self.layout.heldout_users
        if not self.test_users:
            raise DatasetError(f"{self.layout.root}/users.json lists no test users; nothing to personalize for.")
        for user in self.train_users + self.test_users + self.heldout_users:
            if not (self.layout.root / user).is_dir():
                raise DatasetError(f"{self.layout.root} has no folder for user {user!r}.")
        self.groups = {"unseen": self.test_users, "heldout": self.heldout_users, "training": self.train_users}
        self.personalized_users = self.test_users + self.heldout_users
        ordered = round_robin_by_collection(self.layout.split_rows("test"), seeded_rng(settings.seed, "test"))
        self.test_rows = ordered[:settings.limit or len(ordered)]
        distinct_photos = list({row["target"]: row for row in reversed(self.test_rows)}.values())[::-1]
        self.sweep_rows = distinct_photos[:settings.sweep_photos]
        self.grid_rows = distinct_photos[:settings.grid_photos]
        # A seeded sample of the distinct train photos: every user's preferred images come from it, so the
        # embedding work stays bounded (each pool image is embedded once for all uses).
        self.pool_rows = self.draw(self.layout.distinct_rows("train"), settings.pool_photos, "pool")
        self.train_rows = self.layout.split_rows("train")

    def draw(self, items: list, count: int, *labels) -> list:
        """``count`` of ``items`` (in order), the same for the same seed and labels on every run."""
        return sample_in_order(items, count, seeded_rng(self.settings.seed, *labels))

    def preferred_pool(self, user: str) -> list[Path]:
        return [self.layout.target_path(user, row) for row in self.pool_rows]

    def preferred_rows(self, user: str, count: int, draw: int) -> list[dict]:
        return self.draw(self.pool_rows, count, "preferred", user, count, draw)

    def preferred_draw(self, user: str, count: int, draw: int) -> list[Path]:
        return [self.layout.target_path(user, row) for row in self.preferred_rows(user, count, draw)]

    def negative_draw(self, user: str, count: int, draw: int) -> list[Path]:
        """Other named users' renderings of the same photos as the preferred draw."""
        others = [other for other in self.train_users + self.test_users if other != user]
        rng = seeded_rng(self.settings.seed, "non-preferred", user, count, draw)
        return [self.layout.target_path(other, row) for row in self.preferred_rows(user, count, draw)
                for other in rng.sample(others, min(self.settings.negatives_per_preferred, len(others)))]

    def oracle_pairs(self, user: str) -> list[tuple[Path, Path]]:
        rows = self.draw(self.train_rows, self.settings.oracle_pairs, "oracle", user)
        return [(self.layout.input_path(row), self.layout.target_path(user, row)) for row in rows]

    def grid_users(self) -> list[str]:
        """Unseen users for the picture grid, taking the families in turn so the looks differ (like Fig. 7)."""
        by_family: dict[str, list[str]] = {}
        for user in self.test_users:
            by_family.setdefault(self.families.get(user, ""), []).append(user)
        chosen = []
        while len(chosen) < min(self.settings.grid_users, len(self.test_users)):
            for members in by_family.values():
                if members and len(chosen) < self.settings.grid_users:
                    chosen.append(members.pop(0))
        return chosen


class EmbeddingCache:
    """Every image is embedded once; later requests for the same file are served from memory."""

    def __init__(self, enhancer: Enhancer, batch_size: int = 32):
        self.enhancer, self.batch_size = enhancer, batch_size
        self._embeddings: dict[Path, torch.Tensor] = {}

    def prefetch(self, paths, desc: str = "embedding") -> None:
        missing = list(dict.fromkeys(path for path in paths if path not in self._embeddings))
        for start in tqdm(range(0, len(missing), self.batch_size), desc=desc, unit="batch", disable=not missing):
            chunk = missing[start:start + self.batch_size]
            for path, embedding in zip(chunk, self.enhancer.embed(chunk, batch_size=self.batch_size).cpu()):
                self._embeddings[path] = embedding

    def __call__(self, paths) -> torch.Tensor:
        paths = list(paths)
        self.prefetch(paths)
        return torch.stack([self._embeddings[path] for path in paths])

    def __len__(self) -> int:
        return len(self._embeddings)


def scheme_vectors(data: ExperimentData, embeddings: EmbeddingCache, user: str, count: int,
                   draw: int) -> dict[str, torch.Tensor]:
    """Scheme 2 (mean of the preferred) and scheme 1 (triplet fit with 3 × N non-preferred) for one draw."""
    positives = embeddings(data.preferred_draw(user, count, draw))
    negatives = embeddings(data.negative_draw(user, count, draw))
    return {"scheme2": mean_vector(positives), "scheme1": optimize_vector(positives, negatives)}


def oracle_vector(enhancer: Enhancer, data: ExperimentData, embeddings: EmbeddingCache, user: str) -> torch.Tensor:
    """Fit the vector to the user's ground truth (see the module docstring); PieNet runs in fp32 on squashed
    ``oracle_size``² copies (at most the network size), since a preference vector sets a global look that small
    copies show as well."""
    settings, device = data.settings, enhancer.device
    size = min(settings.oracle_size, enhancer.network_size)
    inputs, targets = [], []
    for input_path, target_path in data.oracle_pairs(user):
        inputs.append(shrink(torch.from_numpy(load_image(input_path)).to(device), size, size))
        targets.append(shrink(torch.from_numpy(load_image(target_path)).to(device), size, size))
    inputs, targets = torch.cat(inputs), torch.cat(targets)
    vector = mean_vector(embeddings(data.preferred_pool(user))).to(device).requires_grad_(True)
    optimizer = torch.optim.Adam([vector], lr=0.01)
    generator = torch.Generator().manual_seed(settings.seed)
    batch = min(8, len(inputs))
    with torch.enable_grad():
        for _ in range(settings.oracle_steps):
            chosen = torch.randperm(len(inputs), generator=generator)[:batch].to(device)
            delta = enhancer.pienet(inputs[chosen], vector.expand(batch, -1))
            loss = F.mse_loss((inputs[chosen] + delta).clamp(0.0, 1.0), targets[chosen])
            vector.grad, = torch.autograd.grad(loss, vector)
            optimizer.step()
    return vector.detach()
