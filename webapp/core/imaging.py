"""Image utilities of the platform: the formats it reads and writes, JPEG encoding, per-person variants,
content-keyed storage and reading a photo's pixels from the rendition a use needs.

Pure helpers (no database writes); every app's services use them.
"""

import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from ml.images import load_image_uint8, resize_image, to_uint8
from webapp.core import selectors

# Pillow's format name -> the file suffixes it goes by (the first is the one written).
IMAGE_FORMATS = {
    "JPEG": (".jpg", ".jpeg"),
    "PNG": (".png",),
    "WEBP": (".webp",),
    "TIFF": (".tif", ".tiff"),
    "BMP": (".bmp",),
    "GIF": (".gif",),
}
UPLOAD_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")  # what visitors may upload to the demo
IMPORT_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")  # what `import_photos` picks up from a folder
IMPORT_SUFFIXES = frozenset(suffix for name in IMPORT_FORMATS for suffix in IMAGE_FORMATS[name])
VARIANT_BLOCK_SHARE = 0.05


def format_suffix(image_format: str | None, default: str = ".img") -> str:
    """The suffix a file of this Pillow format is stored under (".jpg" for "JPEG")."""
    return IMAGE_FORMATS.get(image_format, (default,))[0]


def data_format(data: bytes) -> str | None:
    """Pillow's name of the format of `data`, read from the header (no pixel is decoded)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.format


def encode_jpeg(pixels, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(pixels)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def jpeg_variant(data: bytes, seed: int, quality: int) -> bytes:
    """`data` (a JPEG) re-encoded at `quality` after a few 8×8 blocks chosen by `seed` moved one level
    towards mid-grey: the same image to the eye, other bytes for every seed (copies of one rendering
    sent to different people cannot be matched by comparing files)."""
    pixels = load_image_uint8(data).astype(np.int16)
    height, width = pixels.shape[:2]
    rows, columns = -(-height // 8), -(-width // 8)
    count = max(1, round(VARIANT_BLOCK_SHARE * rows * columns))
    for block in np.random.default_rng(seed).choice(rows * columns, size=count, replace=False):
        row, column = divmod(int(block), columns)
        area = pixels[8 * row : 8 * row + 8, 8 * column : 8 * column + 8]
        area += 1 if area.mean() < 128 else -1  # towards mid-grey, so clipping cannot undo it; brightness only
    return encode_jpeg(np.clip(pixels, 0, 255).astype(np.uint8), quality)


def stored_variant(name: str, seed: int, quality: int) -> bytes:
    """A stored JPEG as one person gets it (`jpeg_variant` of the file `name`)."""
    with default_storage.open(name, "rb") as handle:
        return jpeg_variant(handle.read(), seed, quality)


def store_once(name: str, data: bytes, storage=default_storage) -> str:
    """Save under a name derived from the content's key; a name already there is the same work."""
    if storage.exists(name):
        return name
    return storage.save(name, ContentFile(data))


def fit_within(pixels, longest_side: int):
    height, width = pixels.shape[:2]
    scale = longest_side / max(height, width)
    if scale >= 1:
        return pixels
    return resize_image(pixels, (max(1, round(width * scale)), max(1, round(height * scale))))


def stored_pixels(name: str) -> np.ndarray:
    """The uint8 pixels of a file in the media storage."""
    with default_storage.open(name, "rb") as handle:
        return load_image_uint8(handle.read())


def photo_pixels(photo, rendition: str = "screen") -> np.ndarray:
    """A photo's uint8 pixels from its `rendition` ("screen" or "thumbnail") when it has one (cheaper to
    decode), else from the original."""
    field = getattr(photo, rendition)
    if field:
        return stored_pixels(field.name)
    return load_image_uint8(selectors.photo_read_bytes(photo))
