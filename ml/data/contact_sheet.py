"""A contact sheet: N photos x every user in one labelled PNG, to eyeball the styles side by side.

Rows are the degraded input, the original, then every user grouped by family (train users first,
unseen test users marked ``[test]``); columns are photos. Long lists wrap into several blocks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ml.data.degrade import degradation_for, degrade
from ml.data.photos import sample_targets
from ml.images import load_image, resize_short_side, save_image, to_uint8
from ml.styles import STYLES, TEST_USERS

_LABEL_WIDTH = 230
_ROWS_PER_BLOCK = 14
_FAMILY_ORDER = {"preset": 0, "classical": 1, "photographer": 2}


def _square(img: np.ndarray, tile: int) -> np.ndarray:
    img = resize_short_side(img, tile)
    top, left = (img.shape[0] - tile) // 2, (img.shape[1] - tile) // 2
    return img[top:top + tile, left:left + tile]


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType
        return ImageFont.load_default()


def sheet_rows(users: list[str] | None = None) -> list[str]:
    names = users or sorted(STYLES, key=lambda n: (n in TEST_USERS, _FAMILY_ORDER[STYLES[n].family], n))
    return ["input", "original", *names]


def render_contact_sheet(photos: Path, out: Path, count: int = 6, tile: int = 160,
                         users: list[str] | None = None) -> Path:
    samples = sample_targets(photos, count, lambda photo: _square(load_image(Path(photos) / photo.file), tile))
    rows = sheet_rows(users)
    blocks = -(-len(rows) // _ROWS_PER_BLOCK)
    rows_per_block = -(-len(rows) // blocks)
    block_width = _LABEL_WIDTH + tile * len(samples)
    sheet = Image.new("RGB", (block_width * blocks, rows_per_block * tile), (24, 24, 24))
    draw, font = ImageDraw.Draw(sheet), _font(15)
    for position, row in enumerate(rows):
        x0, y0 = (position // rows_per_block) * block_width, (position % rows_per_block) * tile
        label = row + (" [test]" if row in TEST_USERS else "")
        family = STYLES[row].family if row in STYLES else "data"
        draw.text((x0 + 8, y0 + tile // 2 - 18), label, fill=(235, 235, 235), font=font)
        draw.text((x0 + 8, y0 + tile // 2 + 2), family, fill=(150, 150, 150), font=font)
        for column, (photo, image) in enumerate(samples):
            if row == "input":
                rendered = degrade(image, degradation_for(photo.file))
            elif row == "original":
                rendered = image
            else:
                rendered = STYLES[row](image)
            sheet.paste(Image.fromarray(to_uint8(rendered)), (x0 + _LABEL_WIDTH + column * tile, y0))
    out = Path(out)
    save_image(np.asarray(sheet), out)
    return out
