"""Image I/O and conversions shared by the ML library, the data builders and the web app.

Everything that reads a picture goes through :func:`load_image` (float) or :func:`load_image_uint8`
so that EXIF rotation, odd colour modes, high bit depths and hostile files are handled in one place.
Images travel as NumPy arrays ``H x W x 3``: float32 in [0, 1] or uint8.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = Union[str, os.PathLike, bytes, BinaryIO]

DEFAULT_MAX_PIXELS = 50_000_000
"""Largest image accepted by default; larger ones are refused before their pixels are decoded."""

_WHITE = (255, 255, 255)


class ImageError(ValueError):
    """An input that cannot be read as a photo. The message is meant for the person who supplied it."""


def _open(source: ImageSource) -> Image.Image:
    """Open lazily (header only) so that size checks happen before any pixel is decoded."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageError("The file is empty.")
        source = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"No such image file: {path}")
        if path.stat().st_size == 0:
            raise ImageError(f"The file is empty: {path}")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check only warns below 2x its limit; we apply our own limit instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source)
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise ImageError("The file is not an image in a supported format (JPEG, PNG, WebP, TIFF).") from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        # ValueError: metadata chunks (PNG iCCP, zTXt, iTXt) that would decompress beyond Pillow's bound.
        raise ImageError(f"The image could not be read: {error}") from error


def _check_size(image: Image.Image, max_pixels: int) -> None:
    """Refuse before decoding: the first frame's pixels and, for multi-page TIFFs, pages x pixels.

    Only the first page is ever decoded, but a file of many large pages is refused all the same: the
    bound stays a bound on the work that any reader of the file may be tempted to do.
    """
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError("The image has no pixels.")
    if width * height > max_pixels:
        raise ImageError(
            f"The image is too large: {width}x{height} = {width * height / 1e6:.1f} megapixels "
            f"(limit {max_pixels / 1e6:.0f} megapixels)."
        )
    if image.format == "TIFF":
        pages = image.n_frames  # walks the page directories only; no pixel is decoded
        if pages * width * height > max_pixels:
            raise ImageError(
                f"The TIFF holds {pages} pages of {width}x{height}: {pages * width * height / 1e6:.0f} megapixels "
                f"in all (limit {max_pixels / 1e6:.0f} megapixels); please upload a single photo."
            )


def _high_bit_depth_rgb(image: Image.Image, max_pixels: int) -> np.ndarray | None:
    """Pillow reduces 16-bit colour TIFFs to 8 bits or refuses them; tifffile keeps the precision.

    Reads the first page only, after checking that page's own shape against the pixel bound.
    """
    if image.format != "TIFF":
        return None
    import tifffile

    image.fp.seek(0)
    with tifffile.TiffFile(image.fp) as tiff:
        page = tiff.pages.first
        if page.dtype == np.uint8 or len(page.shape) != 3 or page.shape[-1] not in (3, 4):
            return None
        if page.shape[0] * page.shape[1] > max_pixels:
            raise ImageError(f"The image is too large (limit {max_pixels / 1e6:.0f} megapixels).")
        data = page.asarray()
    return _scale_to_unit(data[..., :3])


def _scale_to_unit(data: np.ndarray) -> np.ndarray:
    """Map integer samples to [0, 1] by their bit depth; float samples are assumed to be in [0, 1]."""
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(np.float32) / float(np.iinfo(data.dtype).max)
    return np.clip(data.astype(np.float32), 0.0, 1.0)


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to RGB, uint8 for 8-bit sources and float32 for deeper ones."""
    mode = image.mode
    if mode == "RGB":
        return np.array(image)  # a writable copy: callers may edit pixels in place
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        gray = np.asarray(image).astype(np.float32) / 65535.0
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "I":
        # 32-bit integer images come from 16-bit PNG/TIFF greyscale; treat their range as 16 bit.
        gray = np.clip(np.asarray(image).astype(np.float32) / 65535.0, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        gray = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=2)
    if "A" in mode or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return np.array(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.array(image.convert("RGB"))


def _decode(source: ImageSource, max_pixels: int) -> np.ndarray:
    image = _open(source)
    try:
        _check_size(image, max_pixels)
        # TIFF pages are separate pictures (the first is read) and an MPO's extra frames are a camera's
        # previews or second eye: its first frame is the photo. Anything else with frames is animated.
        if getattr(image, "n_frames", 1) > 1 and image.format not in ("TIFF", "MPO"):
            raise ImageError("Animated images are not supported; please upload a still photo.")
        try:
            deep = _high_bit_depth_rgb(image, max_pixels)
            if deep is not None:
                return deep
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            if isinstance(error, ImageError):
                raise
            raise ImageError(f"The image is damaged or truncated and could not be decoded ({error}).") from error
    finally:
        image.close()


def load_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a photo as float32 ``H x W x 3`` in [0, 1], upright and in RGB whatever the file held."""
    return to_float(_decode(source, max_pixels))


def load_image_uint8(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a photo as uint8 ``H x W x 3``; cheaper than :func:`load_image` for 8-bit datasets."""
    return to_uint8(_decode(source, max_pixels))


def to_float(array: np.ndarray) -> np.ndarray:
    """uint8 → float32 in [0, 1]; float input is returned as float32 unchanged."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) * np.float32(1.0 / 255.0)
    return np.ascontiguousarray(array, dtype=np.float32)


def to_uint8(array: np.ndarray) -> np.ndarray:
    """float in [0, 1] → uint8 with rounding and clipping; uint8 input is returned unchanged."""
    if array.dtype == np.uint8:
        return array
    return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


_SAVE_OPTIONS = {
    ".jpg": ("JPEG", True),
    ".jpeg": ("JPEG", True),
    ".webp": ("WEBP", True),
    ".png": ("PNG", False),
    ".tif": ("TIFF", False),
    ".tiff": ("TIFF", False),
}


def save_image(array: np.ndarray, path: str | os.PathLike, quality: int = 95) -> None:
    """Write an ``H x W x 3`` image; the format follows the file extension."""
    path = Path(path)
    try:
        fmt, lossy = _SAVE_OPTIONS[path.suffix.lower()]
    except KeyError:
        raise ImageError(f"Unsupported output format '{path.suffix}'; use .jpg, .png, .webp or .tif.") from None
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"Expected an H x W x 3 image, got shape {array.shape}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"quality": quality} if lossy else {}
    Image.fromarray(to_uint8(array), "RGB").save(path, fmt, **options)


def image_to_tensor(array: np.ndarray) -> torch.Tensor:
    """``H x W x 3`` array → float32 tensor ``3 x H x W`` in [0, 1]."""
    return torch.from_numpy(to_float(array)).permute(2, 0, 1).contiguous()


def tensor_to_image(tensor: torch.Tensor) -> np.ndarray:
    """``3 x H x W`` tensor → float32 ``H x W x 3`` array clipped to [0, 1]."""
    return tensor.detach().float().clamp(0.0, 1.0).permute(1, 2, 0).cpu().numpy()


def resize_image(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size = (width, height)`` with antialiasing, keeping the array's dtype."""
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"Invalid target size {size}.")
    if array.shape[1] == width and array.shape[0] == height:
        return array
    if not array.flags.writeable:
        array = array.copy()
    tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0)
    if array.dtype != np.uint8:
        tensor = tensor.float()
    resized = F.interpolate(tensor, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    out = resized.squeeze(0).permute(1, 2, 0)
    if array.dtype == np.uint8:
        return out.contiguous().numpy()
    return out.clamp(0.0, 1.0).contiguous().numpy()


def resize_short_side(array: np.ndarray, short_side: int) -> np.ndarray:
    """Scale so that the shorter side equals ``short_side``, keeping the aspect ratio."""
    height, width = array.shape[:2]
    scale = short_side / min(height, width)
    return resize_image(array, (max(1, round(width * scale)), max(1, round(height * scale))))
