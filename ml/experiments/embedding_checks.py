"""Does the embedding see style? Numbers rather than hope, for stage 1 alone (no PieNet needed).

- **Identification**: for each unseen user, the mean embedding of N picks (distinct train-split photos) is
  matched to the nearest centroid of the users of its group (each centroid made from the user's *other*
  pictures). Chance is 1 / (users in the group).
- **Style or content**: the mean cosine between one photo in two users' looks, against one user's look on two
  photos. An embedding of taste must put the second above the first (v1: 0.78 against 0.65, the wrong way).
- **Silhouette** of the users' clusters, on the embeddings (cosine) and on their 2-D t-SNE map (Fig. 8).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
import torch.nn.functional as F

from ml.data.datasets import FiveKLayout


def distinct_pool(layout: FiveKLayout, user: str, rows: list[dict] | None = None) -> list[Path]:
    """The user's retouches of ``rows`` (default: every distinct train-split photo)."""
    return [layout.target_path(user, row) for row in (rows if rows is not None else layout.distinct_rows("train"))]


def _rng(seed: int, *labels) -> random.Random:
    return random.Random(json.dumps([seed, *labels]))


def identification(embed, layout: FiveKLayout, users: list[str], picks: int = 20, draws: int = 5,
                   seed: int = 0, rows: list[dict] | None = None) -> dict:
    """Nearest-centroid identification of ``users`` from ``picks`` picks; ``embed(paths)`` returns (N, D)."""
    pools = {user: embed(distinct_pool(layout, user, rows)) for user in users}
    correct, trials = 0, 0
    confusions: dict[str, dict[str, int]] = {user: {} for user in users}
    for draw in range(draws):
        queries, centroids = {}, {}
        for user, pool in pools.items():
            order = list(range(len(pool)))
            _rng(seed, "identify", user, draw).shuffle(order)
            chosen, rest = order[:picks], order[picks:] or order
            queries[user] = F.normalize(pool[chosen].mean(dim=0), dim=0)
            centroids[user] = F.normalize(pool[rest].mean(dim=0), dim=0)
        matrix = torch.stack([centroids[user] for user in users])
        for user in users:
            guess = users[int((matrix @ queries[user]).argmax())]
            confusions[user][guess] = confusions[user].get(guess, 0) + 1
            correct += guess == user
            trials += 1
    return {"accuracy": correct / trials, "chance": 1 / len(users), "picks": picks, "draws": draws,
            "users": len(users), "confusions": confusions}


def style_or_content(embed, layout: FiveKLayout, users: list[str], photos: int = 24, seed: int = 0,
                     rows: list[dict] | None = None) -> dict:
    """Mean cosine of same photo / other user pairs and of same user / other photo pairs."""
    rows = rows if rows is not None else layout.distinct_rows("train")
    rows = _rng(seed, "style-or-content").sample(rows, min(photos, len(rows)))
    features = torch.stack([embed([layout.target_path(user, row) for row in rows]) for user in users])  # U×P×D
    users_count, photos_count = features.shape[:2]
    by_photo = torch.einsum("upd,vpd->puv", features, features)  # same photo, users u and v
    by_user = torch.einsum("upd,uqd->upq", features, features)  # same user, photos p and q
    off_users = ~torch.eye(users_count, dtype=torch.bool)
    off_photos = ~torch.eye(photos_count, dtype=torch.bool)
    return {"same_photo_other_user": float(by_photo[:, off_users].mean()),
            "same_user_other_photo": float(by_user[:, off_photos].mean()),
            "photos": photos_count, "users": users_count}


def silhouettes(embed, layout: FiveKLayout, users: list[str], images_per_user: int = 100, seed: int = 0,
                rows: list[dict] | None = None) -> dict:
    """Silhouette of the users' clusters on the embeddings (cosine) and on the t-SNE map; returns the map too."""
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_score

    labels, features = [], []
    for user in users:
        pool = distinct_pool(layout, user, rows)
        chosen = sorted(_rng(seed, "t-SNE", user).sample(range(len(pool)), min(images_per_user, len(pool))))
        features.append(embed([pool[index] for index in chosen]))
        labels += [user] * len(chosen)
    matrix = torch.cat(features).numpy()
    perplexity = float(min(30.0, max(2.0, (len(labels) - 1) / 3)))
    points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(matrix)
    return {"silhouette_cosine": float(silhouette_score(matrix, labels, metric="cosine")),
            "silhouette_tsne": float(silhouette_score(points, labels)),
            "labels": labels, "points": points.tolist(), "perplexity": perplexity,
            "images_per_user": len(labels) // len(users)}


def embedding_checks(embed, data_dir, picks: int = 20, draws: int = 5, seed: int = 0,
                     rows: list[dict] | None = None) -> dict:
    """All three checks for the unseen named users and, where the dataset has them, the held-out random users,
    on the retouches of ``rows`` (default: every distinct train-split photo)."""
    layout = FiveKLayout.open(data_dir)
    groups = {"unseen named users": layout.test_users}
    if layout.heldout_users:
        groups["held-out random users"] = layout.heldout_users
    result = {}
    for group, users in groups.items():
        result[group] = {"identification": identification(embed, layout, users, picks, draws, seed, rows),
                         "style_or_content": style_or_content(embed, layout, users, seed=seed, rows=rows),
                         "silhouette": silhouettes(embed, layout, users, seed=seed, rows=rows)}
    return result


def summary_lines(checks: dict) -> list[str]:
    lines = []
    for group, values in checks.items():
        ident, cosines, silhouette = values["identification"], values["style_or_content"], values["silhouette"]
        lines.append(f"{group}: identification {ident['accuracy']:.0%} from {ident['picks']} picks "
                     f"(chance {ident['chance']:.0%}); cosine same photo/other user "
                     f"{cosines['same_photo_other_user']:.2f} vs same user/other photo "
                     f"{cosines['same_user_other_photo']:.2f}; silhouette {silhouette['silhouette_cosine']:.2f} "
                     f"(embeddings), {silhouette['silhouette_tsne']:.2f} (t-SNE)")
    return lines
