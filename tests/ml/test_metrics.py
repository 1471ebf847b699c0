import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ml import metrics
from ml.synthetic import synthetic_photo


def _pairs():
    rng = np.random.default_rng(1)
    photo = synthetic_photo(37, 53, rng)
    yield photo, np.clip(photo + rng.normal(0, 0.05, photo.shape), 0, 1)
    yield photo, np.clip(photo ** 0.7, 0, 1)
    noise = rng.random((24, 30, 3))
    yield noise, rng.random((24, 30, 3))


@pytest.mark.parametrize("index", range(3))
def test_ssim_agrees_with_scikit_image(index):
    prediction, target = list(_pairs())[index]
    expected = structural_similarity(prediction, target, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=1.0, channel_axis=-1)
    assert abs(metrics.ssim(prediction, target) - expected) < 1e-3


@pytest.mark.parametrize("index", range(3))
def test_psnr_and_delta_e_agree_with_scikit_image(index):
    prediction, target = list(_pairs())[index]
    assert metrics.psnr(prediction, target) == pytest.approx(peak_signal_noise_ratio(target, prediction,
                                                                                     data_range=1.0), abs=1e-6)
    expected = deltaE_ciede2000(rgb2lab(prediction), rgb2lab(target)).mean()
    assert metrics.delta_e(prediction, target) == pytest.approx(expected, abs=1e-4)


def test_batched_tensors_give_per_image_values():
    prediction, target = torch.rand(4, 3, 20, 20), torch.rand(4, 3, 20, 20)
    values = metrics.ssim(prediction, target)
    assert values.shape == (4,)
    assert float(values[2]) == pytest.approx(metrics.ssim(prediction[2], target[2]))


def test_identical_images_are_perfect():
    image = np.random.default_rng(0).random((16, 16, 3))
    assert metrics.psnr(image, image) == float("inf")
    assert metrics.ssim(image, image) == pytest.approx(1.0)
    assert metrics.delta_e(image, image) == pytest.approx(0.0, abs=1e-9)


def test_mismatched_or_tiny_images_are_rejected():
    with pytest.raises(ValueError, match="Shapes differ"):
        metrics.psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match="at least 11"):
        metrics.ssim(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))


def test_user_means_average_per_user_means():
    rng = np.random.default_rng(0)
    target = rng.random((16, 16, 3))
    tracker = metrics.UserMetrics()
    noisy = [np.clip(target + rng.normal(0, s, target.shape), 0, 1) for s in (0.01, 0.1, 0.2)]
    tracker.update("a", noisy[0], target)
    tracker.update("b", noisy[1], target)
    tracker.update("b", noisy[2], target)
    summary = tracker.summary()
    user_b = (metrics.psnr(noisy[1], target) + metrics.psnr(noisy[2], target)) / 2
    assert summary["users"]["b"]["images"] == 2
    assert summary["mpsnr"] == pytest.approx((metrics.psnr(noisy[0], target) + user_b) / 2)
    assert set(summary) >= {"mpsnr", "mssim", "mdelta_e"}


def test_detail_energy_agrees_with_scipy_laplace():
    from scipy.ndimage import laplace

    photo = synthetic_photo(31, 45, np.random.default_rng(2))
    expected = np.abs(laplace(photo.mean(axis=2))[1:-1, 1:-1]).mean()
    assert abs(metrics.detail_energy(photo) - expected) < 1e-9


def test_detail_kept_is_one_for_the_photo_itself_and_falls_when_it_is_blurred():
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(3)
    photo = np.clip(synthetic_photo(40, 60, rng) + rng.normal(0, 0.03, (40, 60, 3)), 0, 1)
    blurred = gaussian_filter(photo, sigma=(1.5, 1.5, 0))
    assert metrics.detail_kept(photo, photo) == pytest.approx(1.0)
    assert metrics.detail_kept(blurred, photo) < 0.5
    batch = torch.from_numpy(np.stack([photo, blurred])).permute(0, 3, 1, 2)
    source = torch.from_numpy(np.stack([photo, photo])).permute(0, 3, 1, 2)
    assert metrics.detail_kept(batch, source).shape == (2,)
