import pytest
import torch

from ml.config import ConfigError, ModelConfig
from ml.models import EmbeddingNet, ModelInitError, PieNet
from ml.models.embedding import prepare_embedding_input


def test_embedding_gives_unit_norm_float32_features(tiny_config):
    features = EmbeddingNet(tiny_config).eval()(torch.rand(3, 3, 32, 32))
    assert features.shape == (3, 512) and features.dtype == torch.float32
    torch.testing.assert_close(features.norm(dim=1), torch.ones(3))


def test_embedding_projects_to_other_vector_sizes():
    features = EmbeddingNet(ModelConfig(embed_size=32, vector_dim=16)).eval()(torch.rand(2, 3, 32, 32))
    assert features.shape == (2, 16)


def test_prepare_embedding_input_squashes_to_square():
    assert prepare_embedding_input(torch.rand(2, 3, 40, 70), 32).shape == (2, 3, 32, 32)


def test_pienet_delta_has_input_shape_for_odd_sizes(tiny_config, tiny_networks):
    _, pienet = tiny_networks
    delta = pienet(torch.rand(2, 3, 45, 67), torch.randn(512))
    assert delta.shape == (2, 3, 45, 67) and delta.dtype == torch.float32


def test_untrained_pienet_is_the_identity(tiny_config):
    """The output convolution starts at zero, so training starts from I~ = I."""
    delta = PieNet(tiny_config).eval()(torch.rand(1, 3, 64, 64), torch.randn(1, 512))
    assert torch.count_nonzero(delta) == 0


def test_preference_vector_changes_the_delta(tiny_networks):
    _, pienet = tiny_networks
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        first, second = pienet(image, torch.randn(1, 512)), pienet(image, torch.randn(1, 512))
    assert (first - second).abs().max() > 1e-4


def test_default_model_fits_the_60_megabyte_fp16_budget():
    config = ModelConfig()
    total = sum(p.numel() for model in (EmbeddingNet(config), PieNet(config)) for p in model.parameters())
    assert total <= 30_000_000


def test_imagenet_init_fails_clearly_without_weights(tmp_path, monkeypatch):
    """torchvision looks in the (empty) hub cache, then tries to download; the failure must be explicit."""
    import urllib.error

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr("torch.hub.urlopen", offline)
    with pytest.raises(ModelInitError, match="ImageNet weights .* could not be obtained"):
        EmbeddingNet(ModelConfig(), init="imagenet")


def test_unknown_init_is_rejected():
    with pytest.raises(ValueError, match="Unknown init"):
        PieNet(ModelConfig(), init="resnet50")


@pytest.mark.parametrize("bad", [{"embed_size": 0}, {"pienet_size": 16}, {"decoder_channels": (1, 2)}])
def test_model_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError):
        ModelConfig(**bad)


def test_model_config_dict_round_trip():
    config = ModelConfig(embed_size=64, pienet_size=96)
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="Unknown"):
        ModelConfig.from_dict({**config.to_dict(), "depth": 50})


def test_vector_standardization_spreads_the_users_around_zero(tiny_config):
    """Vectors that share a large common part (like mean embeddings) reach the PUBs centred with RMS norm 1,
    and the delta depends on the vector only through that standardized form."""
    pienet = PieNet(tiny_config).eval()
    common = torch.nn.functional.normalize(torch.randn(512), dim=0)
    users = torch.nn.functional.normalize(common + 0.2 * torch.randn(6, 512) / 512 ** 0.5, dim=1)
    torch.testing.assert_close(pienet.standardize(users), users)  # identity until set
    pienet.set_vector_standardization(users)
    standardized = pienet.standardize(users)
    torch.testing.assert_close(standardized.mean(dim=0), torch.zeros(512), atol=1e-5, rtol=0)
    assert standardized.norm(dim=1).pow(2).mean().sqrt().item() == pytest.approx(1.0, rel=1e-4)
    assert float(pienet.vector_spread) < 0.3  # the users' differences were a small part of their norm


def test_affine_head_delta_is_its_colour_matrix_applied_to_the_image(tiny_config):
    pienet = PieNet(tiny_config).eval()
    torch.nn.init.normal_(pienet.to_delta.weight, std=0.05)
    image, vector = torch.rand(2, 3, 40, 56), torch.randn(2, 512)
    with torch.no_grad():
        coefficients, delta = pienet.head_output(image, vector), pienet(image, vector)
    assert coefficients.shape == (2, 12, 40, 56)
    matrix = coefficients[:, :9].reshape(2, 3, 3, 40, 56)
    expected = torch.einsum("nijhw,njhw->nihw", matrix, image) + coefficients[:, 9:]
    torch.testing.assert_close(delta, expected)


def test_the_vector_alone_can_set_a_global_colour_matrix(tiny_config):
    """The affine head's linear path from the vector: a grey mix for one vector, the identity for its opposite's
    zero, whatever the photo's content."""
    pienet = PieNet(tiny_config).eval()
    grey = torch.full((3, 3), 1 / 3) - torch.eye(3)  # A − 1 for A = the channel mean in every row
    vector = torch.zeros(512)
    vector[0] = 1.0
    with torch.no_grad():
        pienet.vector_to_matrix.weight[:9, 0] = grey.flatten()
        image = torch.rand(1, 3, 48, 48)
        enhanced = image + pienet(image, vector)
        unchanged = image + pienet(image, torch.zeros(512))
    torch.testing.assert_close(enhanced, image.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1))
    torch.testing.assert_close(unchanged, image)


def test_saved_configurations_without_a_head_are_v1_pixel_heads():
    """Checkpoints and registry rows written before the affine head describe the paper's ΔI head."""
    saved = {key: value for key, value in ModelConfig().to_dict().items() if key != "head"}
    assert ModelConfig().head == "affine" and ModelConfig.from_dict(saved).head == "pixel"
    with pytest.raises(ConfigError, match="head"):
        ModelConfig(head="lut")
