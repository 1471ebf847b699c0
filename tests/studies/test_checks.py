"""Attention checks catch careless participants only: the check option is the one nobody, whatever their
taste, finds closest to what they like (issue 16: a degraded photo was closest for extreme tastes)."""

import numpy as np
import pytest

from ml.images import load_image_uint8
from ml.styles.registry import STYLES
from studies.forms import DEFAULT_METHODS
from studies.rendering import check_image
from webapp.core.imaging import fit_within
from studies.simulation import colour_distance
from webapp.core.demo_photos import sample_photos

RETOUCH_METHODS = [method.split(":", 1)[1] for method in DEFAULT_METHODS if method.startswith("retouch:")]


def _render(style: str, source: np.ndarray) -> np.ndarray:
    return (np.clip(STYLES[style](source.astype(np.float32) / 255), 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.mark.parametrize("path", [path for path, _ in sample_photos(3)], ids=lambda path: path.stem)
def test_the_check_option_is_never_the_closest_to_any_taste(path):
    source = fit_within(load_image_uint8(path.read_bytes()), 320)
    check = (check_image(*source.shape[:2]) * 255 + 0.5).astype(np.uint8)
    assert check.shape == source.shape  # the same size as every other option of its trial
    options = {name: _render(name, source) for name in RETOUCH_METHODS}
    for taste in STYLES:
        ideal = _render(taste, source)
        to_check = colour_distance(check, ideal)
        closest = min(colour_distance(option, ideal) for option in options.values())
        assert to_check > closest + 20, (taste, to_check, closest)
        # farther even than the photo left as it is: no taste makes the check look like a version of it
        assert to_check > colour_distance(source, ideal) + 20, taste
