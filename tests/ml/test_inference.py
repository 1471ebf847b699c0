import dataclasses
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ml.config import HEADS
from ml.images import ImageError
from ml.inference import Enhancer, UnknownStyleError
from ml.models import EmbeddingNet, PieNet
from ml.models.pienet import affine_delta
from ml.resampling import apply_enlarged_affine, guided_affine
from ml.synthetic import synthetic_photo
from tests.ml.helpers import active_pienet


@pytest.fixture
def enhancer(tiny_config, tiny_networks):
    styles = {"a": torch.randn(512, generator=torch.Generator().manual_seed(1)),
              "b": torch.randn(512, generator=torch.Generator().manual_seed(2))}
    return Enhancer(*tiny_networks, tiny_config, styles, device="cpu", precision="fp32")


def _photo(height, width, seed=0):
    return synthetic_photo(height, width, np.random.default_rng(seed))


def _direct(enhancer, image, vector, strength=1.0):
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
    with torch.no_grad():
        delta = enhancer.pienet(tensor, vector[None])
    return (tensor + strength * delta)[0].permute(1, 2, 0).clamp(0, 1).numpy()


def test_full_resolution_path_equals_direct_pienet_when_sizes_match(enhancer):
    image = _photo(48, 64)  # long side = network size: nothing is resized
    enhanced = enhancer.enhance(image, "a")
    assert enhanced.shape == image.shape and enhanced.dtype == np.float32
    np.testing.assert_allclose(enhanced, _direct(enhancer, image, enhancer.style_vector("a")), atol=1e-5)
    assert np.abs(enhanced - image).max() > 1e-3


@pytest.mark.parametrize("head", HEADS)
def test_large_photo_gets_the_upsampled_low_resolution_output(tiny_config, head):
    """ΔI ("pixel") or the colour-matrix map ("affine", refitted as a local function of the input) is computed on
    the network-size copy, enlarged bilinearly and applied to the full-resolution pixels."""
    config = dataclasses.replace(tiny_config, head=head)
    enhancer = Enhancer(EmbeddingNet(config).eval(), active_pienet(config), config, {}, device="cpu",
                        precision="fp32")
    image = _photo(131, 197)
    vector = torch.randn(512, generator=torch.Generator().manual_seed(2))
    full = torch.from_numpy(image).permute(2, 0, 1)[None]
    small = F.interpolate(full, size=(43, 64), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        output = enhancer.pienet.head_output(small, vector[None])
    if head == "affine":  # the colour matrices are first refitted on the input (ml.resampling.guided_affine)
        output = guided_affine(small, output)
    output = F.interpolate(output, size=(131, 197), mode="bilinear", align_corners=False)  # enlarging: no antialias
    delta = affine_delta(output, full) if head == "affine" else output
    expected = (full + delta)[0].permute(1, 2, 0).clamp(0, 1).numpy()
    np.testing.assert_allclose(enhancer.enhance(image, vector), expected, atol=1e-4)


def test_affine_head_keeps_a_monochrome_look_monochrome_at_full_resolution(tiny_config):
    """A grey look is one colour matrix everywhere: applied to the full-resolution pixels it leaves no colour at
    the photo's edges, where an up-sampled ΔI could only add a blurred correction."""
    enhancer = Enhancer(EmbeddingNet(tiny_config).eval(), PieNet(tiny_config).eval(), tiny_config, {},
                        device="cpu", precision="fp32")
    grey = torch.tensor([0.299, 0.587, 0.114]).repeat(3, 1) - torch.eye(3)
    with torch.no_grad():
        enhancer.pienet.to_delta.bias[:9] = grey.flatten()
    enhanced = enhancer.enhance(_photo(300, 450), torch.zeros(512))
    assert np.abs(enhanced - enhanced.mean(axis=2, keepdims=True)).max() < 1e-5


def _identity_through_offsets(small):
    """The map of a result equal to the network input carried entirely by the offsets (A = 0, b = the input),
    as a PieNet that smooths its inputs tends to make it: the look is "no change", but it lives in b."""
    minus_identity = (-torch.eye(3)).flatten()[None, :, None, None].expand(1, 9, *small.shape[-2:])
    return torch.cat([minus_identity, small], dim=1)


def test_refitted_matrices_bring_back_the_photos_own_detail_when_enlarged():
    blocks = torch.rand(24, 32, 3, generator=torch.Generator().manual_seed(4))  # 8-px colour tiles: sharp edges
    full = blocks.repeat_interleave(8, dim=0).repeat_interleave(8, dim=1).contiguous()
    small = F.interpolate(full.permute(2, 0, 1)[None], size=(48, 64), mode="bilinear", antialias=True,
                          align_corners=False)
    coefficients = _identity_through_offsets(small)
    enlarged = apply_enlarged_affine(full, coefficients)  # the input's 48x64 copy, enlarged: blurred
    refitted = apply_enlarged_affine(full, guided_affine(small, coefficients))
    blurred_error = (enlarged - full).abs().mean()
    assert blurred_error > 0.01
    assert (refitted - full).abs().mean() < 0.3 * blurred_error


def test_refitting_keeps_a_global_colour_transform_and_a_grey_look():
    small = torch.from_numpy(_photo(48, 64, seed=5)).permute(2, 0, 1)[None]
    matrix = torch.tensor([[1.1, 0.1, 0.0], [0.0, 0.8, 0.1], [0.05, 0.0, 0.9]])
    coefficients = torch.cat([(matrix - torch.eye(3)).flatten(), torch.tensor([0.02, 0.0, -0.03])])
    coefficients = coefficients[None, :, None, None].expand(1, 12, 48, 64)
    expected = small + affine_delta(coefficients, small)
    refitted = guided_affine(small, coefficients)
    assert (small + affine_delta(refitted, small) - expected).abs().max() < 0.02
    grey = torch.tensor([0.299, 0.587, 0.114]).repeat(3, 1) - torch.eye(3)
    grey = torch.cat([grey.flatten(), torch.zeros(3)])[None, :, None, None].expand(1, 12, 48, 64)
    result = small + affine_delta(guided_affine(small, grey), small)
    assert (result - result.mean(dim=1, keepdim=True)).abs().max() < 1e-4


def test_strength_zero_returns_the_input_exactly(enhancer):
    image = _photo(70, 50)
    result = enhancer.enhance(image, "a", strength=0.0)
    assert np.array_equal(result, image) and result is not image


def test_strength_scales_the_delta(enhancer):
    image = _photo(48, 64)
    np.testing.assert_allclose(enhancer.enhance(image, "a", strength=0.5),
                               _direct(enhancer, image, enhancer.style_vector("a"), 0.5), atol=1e-5)


def test_batch_equals_one_by_one(enhancer):
    images = [_photo(48, 64, 1), _photo(96, 128, 2), _photo(48, 64, 3), _photo(80, 40, 4)]
    vectors = ["a", "b", enhancer.style_vector("b"), "a"]
    batch = enhancer.enhance_batch(images, vectors)
    for image, vector, result in zip(images, vectors, batch):
        np.testing.assert_allclose(result, enhancer.enhance(image, vector), atol=1e-5)
    assert len(enhancer.enhance_batch(images[:2], "a")) == 2


def test_converts_grey_alpha_and_16_bit_arrays(enhancer):
    grey = (np.random.default_rng(0).random((40, 30)) * 255).astype(np.uint8)
    assert enhancer.enhance(grey, "a").shape == (40, 30, 3)
    rgba = np.zeros((40, 30, 4), np.float32)
    np.testing.assert_array_equal(enhancer.enhance(rgba, "a", strength=0), np.ones((40, 30, 3), np.float32))
    deep = (np.random.default_rng(0).random((40, 30, 3)) * 65535).astype(np.uint16)
    np.testing.assert_allclose(enhancer.enhance(deep, "a", strength=0), deep / 65535.0, atol=1e-6)


def test_reads_files_and_rejects_unreadable_ones(enhancer, tmp_path):
    buffer = io.BytesIO()
    Image.fromarray((_photo(40, 60) * 255).astype(np.uint8)).save(buffer, "PNG")
    assert enhancer.enhance(buffer.getvalue(), "a").shape == (40, 60, 3)
    (tmp_path / "photo.png").write_bytes(buffer.getvalue())
    assert enhancer.enhance(str(tmp_path / "photo.png"), "a").shape == (40, 60, 3)
    with pytest.raises(ImageError):
        enhancer.enhance(b"not an image", "a")
    with pytest.raises(ImageError):
        enhancer.enhance(np.zeros((4, 4, 5)), "a")


def test_bad_vectors_styles_and_strengths_are_rejected(enhancer):
    image = _photo(48, 64)
    with pytest.raises(UnknownStyleError, match="available: a, b"):
        enhancer.enhance(image, "nope")
    with pytest.raises(KeyError):
        enhancer.style_vector("nope")
    with pytest.raises(ValueError, match="512"):
        enhancer.enhance(image, torch.zeros(10))
    with pytest.raises(ValueError, match="strength"):
        enhancer.enhance(image, "a", strength=-1)
    with pytest.raises(ValueError, match="2 images but 1 vectors"):
        enhancer.enhance_batch([image, image], ["a"])


def test_embed_returns_unit_vectors(enhancer):
    embeddings = enhancer.embed([_photo(48, 64), _photo(100, 30)])
    assert embeddings.shape == (2, 512)
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(2))


def test_bf16_inference_stays_close_to_fp32(tiny_config, tiny_networks, enhancer):
    fast = Enhancer(*tiny_networks, tiny_config, enhancer.styles, device="cpu", precision="bf16")
    image = _photo(48, 64)
    assert np.abs(fast.enhance(image, "a") - enhancer.enhance(image, "a")).max() < 0.02


def test_from_checkpoint_and_embedding_only_checkpoints(trained_checkpoint, tmp_path, tiny_networks, tiny_config):
    loaded = Enhancer.from_checkpoint(trained_checkpoint, device="cpu")
    assert set(loaded.styles) == {"bright", "warm", "cool"} and loaded.device == torch.device("cpu")
    assert loaded.enhance(_photo(30, 90), "warm").shape == (30, 90, 3)
    stage1 = Enhancer(tiny_networks[0], None, tiny_config, {}, device="cpu")
    with pytest.raises(ValueError, match="only the embedding network"):
        stage1.enhance(_photo(30, 90), torch.zeros(512))


def test_exif_rotated_files_are_enhanced_upright(enhancer, tmp_path):
    pixels = (_photo(40, 60) * 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(pixels).save(tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    assert enhancer.enhance(tmp_path / "rotated.jpg", "a").shape == (60, 40, 3)


@pytest.mark.parametrize("size, target", [((131, 197), (43, 64)), ((50, 30), (64, 38)), ((7, 5), (3, 2)),
                                          ((64, 64), (64, 64))])
def test_resampling_matches_torch_interpolate(size, target):
    from ml.resampling import add_enlarged, apply_enlarged_affine, shrink

    photo = torch.rand(*size, 3, generator=torch.Generator().manual_seed(0))
    as_batch = photo.permute(2, 0, 1)[None]
    expected = F.interpolate(as_batch, size=target, mode="bilinear", antialias=True, align_corners=False)
    torch.testing.assert_close(shrink(photo, *target), expected, atol=1e-6, rtol=0)
    delta = torch.rand(1, 3, *target) - 0.5
    resized = F.interpolate(delta, size=size, mode="bilinear", antialias=True, align_corners=False)
    expected = (as_batch + resized)[0].permute(1, 2, 0).clamp(0, 1)
    torch.testing.assert_close(add_enlarged(photo, delta), expected, atol=1e-5, rtol=0)
    coefficients = (torch.rand(1, 12, *target, generator=torch.Generator().manual_seed(1)) - 0.5) / 4
    resized = F.interpolate(coefficients, size=size, mode="bilinear", antialias=True, align_corners=False)
    expected = (as_batch + affine_delta(resized, as_batch))[0].permute(1, 2, 0).clamp(0, 1)
    torch.testing.assert_close(apply_enlarged_affine(photo, coefficients), expected, atol=1e-5, rtol=0)


def test_embed_matches_the_training_preprocessing(enhancer):
    from ml.models.embedding import prepare_embedding_input

    image = _photo(90, 70)
    with torch.no_grad():
        expected = enhancer.embedding_net(prepare_embedding_input(torch.from_numpy(image).permute(2, 0, 1)[None], 32))
    torch.testing.assert_close(enhancer.embed([image]), expected, atol=1e-5, rtol=1e-4)
