"""What the experiments evaluate on and how new users' vectors are made (Sec. 4.2 of the paper, at our scale).

- Test photos: the test split's rows (inputs), a seeded sample when limited; each user's rendering of the row's
  target is the ground truth.
- Preferred images of an unseen user: their renderings of *train-split* photos (one per distinct target), never
  the evaluated photos. A draw of N of them is a pure function of (seed, user, N, draw), so Table 1's
  "20 preferred" row is draw 0 of Fig. 6's N = 20 and both schemes see the same preferred images.
- Scheme 1's non-preferred images: 3 × N renderings by the *other* users (training and unseen, "the other
  methods" in the paper) of a fixed seeded set of train-split photos, so the embedding work stays bounded.
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
    sweep_photos: int = 8
    counts: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 500)
    draws: int = 10
    preferred: int = 20
    negatives_per_preferred: int = 3
    negative_pool_photos: int = 64
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


class ExperimentData:
    """The dataset seen through the protocol above."""

    def __init__(self, data_dir, settings: ExperimentSettings):
        self.layout = FiveKLayout.open(data_dir)
        self.settings = settings
        users_document = json.loads((self.layout.root / "users.json").read_text(encoding="utf-8"))
        self.families = {name: info.get("family", "") for name, info in users_document.get("users", {}).items()}
        self.train_users, self.test_users = self.layout.train_users, self.layout.test_users
        if not self.test_users:
            raise DatasetError(f"{self.layout.root}/users.json lists no test users; nothing to personalize for.")
        for user in self.train_users + self.test_users:
            if not (self.layout.root / user).is_dir():
                raise DatasetError(f"{self.layout.root} has no folder for user {user!r}.")
        test_rows = self.layout.split_rows("test")
        self.test_rows = self.draw(test_rows, settings.limit or len(test_rows), "test")
        self.sweep_rows = self.test_rows[:settings.sweep_photos]
        distinct_photos = {row["target"]: row for row in reversed(self.test_rows)}  # several inputs share one
        self.grid_rows = [row for row in self.test_rows if distinct_photos[row["target"]] is row][:settings.grid_photos]
        targets = {}
        for row in self.layout.split_rows("train"):
            targets.setdefault(row["target"], row)
        self.pool_rows = list(targets.values())
        self.train_rows = self.layout.split_rows("train")
        self.negative_rows = self.draw(self.pool_rows, settings.negative_pool_photos, "non-preferred photos")

    def draw(self, items: list, count: int, *labels) -> list:
        """``count`` of ``items`` (in order), the same for the same seed and labels on every run."""
        return sample_in_order(items, count, seeded_rng(self.settings.seed, *labels))

    def preferred_pool(self, user: str) -> list[Path]:
        return [self.layout.target_path(user, row) for row in self.pool_rows]

    def preferred_draw(self, user: str, count: int, draw: int) -> list[Path]:
        return self.draw(self.preferred_pool(user), count, "preferred", user, count, draw)

    def negative_draw(self, user: str, count: int, draw: int) -> list[Path]:
        others = [other for other in self.train_users + self.test_users if other != user]
        candidates = [self.layout.target_path(other, row) for other in others for row in self.negative_rows]
        return self.draw(candidates, count * self.settings.negatives_per_preferred, "non-preferred", user, draw)

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
    negatives = embeddings(data.negative_draw(user, len(positives), draw))
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
