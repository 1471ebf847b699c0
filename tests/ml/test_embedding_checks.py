"""The stage-1 checks on a toy embedding whose answers are known: one that sees only style, one only content."""

import zlib

import pytest
import torch

from ml.data.datasets import FiveKLayout
from ml.experiments.embedding_checks import embedding_checks, identification, style_or_content
from ml.synthetic import make_synthetic_dataset

USERS = ["bright", "warm", "cool", "contrast"]


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    root = make_synthetic_dataset(tmp_path_factory.mktemp("checks"), rows=30, train_users=[], test_users=USERS)
    return FiveKLayout.open(root)


def _embedder(by: str):
    """Embeds a path by its user folder (style) or by its file name (content), plus a little noise."""
    def embed(paths):
        rows = []
        for path in paths:
            key = USERS.index(path.parent.name) if by == "style" else int(path.stem[-3:])
            generator = torch.Generator().manual_seed(zlib.crc32(f"{path.parent.name}/{path.stem}".encode()))
            row = torch.zeros(64)
            row[key % 64] = 1.0
            rows.append(torch.nn.functional.normalize(row + 0.05 * torch.randn(64, generator=generator), dim=0))
        return torch.stack(rows)
    return embed


def test_an_embedding_of_style_identifies_users_and_one_of_content_does_not(layout):
    assert identification(_embedder("style"), layout, USERS, picks=5, draws=3)["accuracy"] == 1.0
    content = identification(_embedder("content"), layout, USERS, picks=5, draws=3)
    assert content["accuracy"] < 0.75 and content["chance"] == 0.25


def test_style_or_content_tells_the_two_embeddings_apart(layout):
    style = style_or_content(_embedder("style"), layout, USERS, photos=8)
    content = style_or_content(_embedder("content"), layout, USERS, photos=8)
    assert style["same_user_other_photo"] > style["same_photo_other_user"]
    assert content["same_photo_other_user"] > content["same_user_other_photo"]


def test_all_checks_for_the_unseen_group(layout):
    checks = embedding_checks(_embedder("style"), layout.root, picks=5, draws=2)
    silhouette = checks["unseen named users"]["silhouette"]
    assert silhouette["silhouette_cosine"] > 0.5 and silhouette["silhouette_tsne"] > 0.2
    assert len(silhouette["points"]) == len(silhouette["labels"]) == 4 * silhouette["images_per_user"]
