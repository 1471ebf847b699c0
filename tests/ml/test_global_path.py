"""The closed-form start of PieNet's global colour path (ml/training/global_path.py)."""

import pytest
import torch

from ml.checkpoint import load_checkpoint
from ml.models.pienet import affine_delta
from ml.training.embedding import train_embedding
from ml.training.global_path import colour_coefficients, fit_linear_path
from ml.training.pienet import train_pienet

GREY = torch.tensor([0.299, 0.587, 0.114])


def test_a_users_global_look_is_recovered_from_its_pairs():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.rand(6, 3, 16, 16, generator=generator)
    matrix = torch.tensor([[1.2, 0.1, 0.0], [0.0, 0.9, 0.05], [-0.1, 0.0, 0.8]])
    offset = torch.tensor([0.02, -0.03, 0.05])
    targets = torch.einsum("ij,njhw->nihw", matrix, inputs) + offset[None, :, None, None]
    coefficients = colour_coefficients(inputs, targets)
    assert torch.allclose(coefficients[:9].view(3, 3), matrix - torch.eye(3), atol=0.01)
    assert torch.allclose(coefficients[9:], offset, atol=0.01)


def test_a_monochrome_look_fits_a_matrix_that_makes_any_photo_grey():
    generator = torch.Generator().manual_seed(1)
    inputs = torch.rand(6, 3, 16, 16, generator=generator)
    targets = torch.einsum("j,njhw->nhw", GREY, inputs)[:, None].expand(-1, 3, -1, -1)
    coefficients = colour_coefficients(inputs, targets)
    photo = torch.rand(1, 3, 8, 8, generator=generator)
    enhanced = photo + affine_delta(coefficients[None, :, None, None].expand(-1, -1, 8, 8), photo)
    assert (enhanced.max(dim=1).values - enhanced.min(dim=1).values).max() < 0.02


def _users(count: int, draws: int, dim: int, generator: torch.Generator):
    centres = torch.randn(count, dim, generator=generator)
    owners = torch.arange(count).repeat(draws)
    return centres[owners] + 0.3 * torch.randn(len(owners), dim, generator=generator), owners, centres


def test_the_vector_to_matrix_map_carries_over_to_users_it_was_not_fitted_on():
    generator = torch.Generator().manual_seed(2)
    vectors, owners, centres = _users(80, 6, 24, generator)
    truth = torch.randn(12, 24, generator=generator) * 0.05
    matrices = centres @ truth.T + 0.01 * torch.randn(80, 12, generator=generator)
    fit = fit_linear_path(vectors, matrices[owners], owners)
    assert fit.held_out_rms < 0.35 * fit.shared_rms, fit.summary()
    assert fit.weight.shape == (12, 24) and fit.bias.shape == (12,)


def test_matrices_unrelated_to_the_vectors_get_no_credit_from_them():
    generator = torch.Generator().manual_seed(3)
    vectors, owners, _ = _users(80, 6, 24, generator)
    matrices = torch.randn(80, 12, generator=generator) * 0.1
    fit = fit_linear_path(vectors, matrices[owners], owners)
    assert fit.held_out_rms > 0.95 * fit.shared_rms, fit.summary()


def test_one_user_is_not_enough_to_fit_the_map():
    with pytest.raises(ValueError, match="at least 2 users"):
        fit_linear_path(torch.randn(4, 8), torch.randn(4, 12), torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize("photos", [3, 0])
def test_a_fresh_stage_two_starts_from_the_fit_and_records_it(tmp_path, dataset_dir, embedding_recipe,
                                                               pienet_recipe, tiny_config, photos):
    stage1 = train_embedding(dataset_dir, tmp_path / "stage1", embedding_recipe(steps=1), tiny_config)
    stage2 = train_pienet(dataset_dir, tmp_path / "stage2", pienet_recipe(steps=1, global_path_photos=photos,
                                                                          learning_rate=1e-9),
                          embedding_checkpoint=stage1)
    loaded = load_checkpoint(stage2)
    fitted = loaded.metadata["global_path_fit"]
    path = loaded.pienet.vector_to_matrix
    if photos:
        assert set(fitted) == {"ridge", "held_out_rms", "zero_rms", "shared_rms"}
        assert path.bias.abs().max() > 1e-3  # the users' shared look, not the zero start
    else:
        assert fitted is None
        assert path.bias.abs().max() < 1e-6
