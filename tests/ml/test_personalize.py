import pytest
import torch
import torch.nn.functional as F

from ml.losses import triplet_loss
from ml.personalize import (PersonalizationError, blend, consistency, load_vector_file, mean_vector,
                            optimize_vector, save_vector_file)


def _embeddings(seed, count, centre):
    generator = torch.Generator().manual_seed(seed)
    return F.normalize(centre + 0.3 * torch.randn(count, centre.numel(), generator=generator), dim=1)


def test_scheme_2_is_the_renormalised_mean_of_the_embeddings():
    embeddings = _embeddings(0, 10, torch.ones(16))
    torch.testing.assert_close(mean_vector(embeddings), F.normalize(embeddings.mean(dim=0), dim=0))
    assert float(mean_vector(embeddings).norm()) == pytest.approx(1.0)


def test_scheme_1_lowers_the_triplet_loss_and_keeps_embeddings_fixed():
    positives = _embeddings(1, 8, torch.ones(16))
    negatives = _embeddings(2, 8, torch.ones(16) + 3 * torch.eye(16)[0])
    start = negatives.mean(dim=0)
    frozen = positives.clone()

    def loss(vector):
        pairs_p = positives.repeat_interleave(len(negatives), 0)
        pairs_n = negatives.repeat(len(positives), 1)
        return triplet_loss(vector.expand_as(pairs_p), pairs_p, pairs_n, 0.2).mean()

    vector = optimize_vector(positives, negatives, steps=100, initial=start)
    assert loss(vector) < 0.5 * loss(start)
    torch.testing.assert_close(positives, frozen)
    assert not vector.requires_grad


def test_scheme_1_rejects_mismatched_dimensions():
    with pytest.raises(PersonalizationError):
        optimize_vector(torch.randn(3, 8), torch.randn(3, 9))


def test_blend_is_a_renormalised_convex_combination():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    torch.testing.assert_close(blend([a, b], [1, 3]), F.normalize(torch.tensor([0.25, 0.75]), dim=0))
    torch.testing.assert_close(blend([a, b], [0, 2]), b)


@pytest.mark.parametrize("vectors, weights", [([torch.zeros(2)], [-1.0]), ([torch.zeros(2)], [0.0]),
                                              ([torch.zeros(2), torch.ones(2)], [1.0]), ([], [])])
def test_blend_rejects_bad_weights(vectors, weights):
    with pytest.raises(PersonalizationError):
        blend(vectors, weights)


def test_consistency_is_one_for_identical_picks_and_lower_for_spread_ones():
    same = F.normalize(torch.ones(5, 8), dim=1)
    assert consistency(same) == pytest.approx(1.0)
    assert consistency(torch.eye(8)) < 0.5


def test_empty_picks_are_rejected():
    with pytest.raises(PersonalizationError):
        mean_vector(torch.zeros(0, 8))


def test_vector_file_round_trip_and_bad_files(tmp_path):
    vector = torch.randn(512)
    save_vector_file(tmp_path / "v.json", vector, scheme="mean")
    torch.testing.assert_close(load_vector_file(tmp_path / "v.json"), vector)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PersonalizationError):
        load_vector_file(tmp_path / "bad.json")
    with pytest.raises(PersonalizationError):
        load_vector_file(tmp_path / "missing.json")
