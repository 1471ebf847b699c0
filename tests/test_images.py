"""ml.images: every odd input becomes an upright RGB array, every unreadable one a clear ImageError."""

import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from ml import images


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture
def rgb8():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(12, 20, 3), dtype=np.uint8)


def test_png_round_trip_is_exact(tmp_path, rgb8):
    images.save_image(rgb8, tmp_path / "a.png")
    assert np.array_equal(images.load_image_uint8(tmp_path / "a.png"), rgb8)
    loaded = images.load_image(tmp_path / "a.png")
    assert loaded.dtype == np.float32 and loaded.shape == (12, 20, 3)
    assert np.allclose(loaded, rgb8 / 255.0, atol=1e-6)


def test_sixteen_bit_colour_tiff_keeps_precision(tmp_path):
    deep = np.random.default_rng(1).integers(0, 65536, size=(8, 9, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "deep.tif", deep)
    loaded = images.load_image(tmp_path / "deep.tif")
    assert np.abs(loaded - deep / 65535.0).max() < 1e-6


def test_sixteen_bit_greyscale_png_becomes_grey_rgb(tmp_path):
    grey = np.random.default_rng(2).integers(0, 65536, size=(8, 9), dtype=np.uint16)
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    loaded = images.load_image(tmp_path / "grey16.png")
    assert loaded.shape == (8, 9, 3)
    assert np.abs(loaded[..., 1] - grey / 65535.0).max() < 1e-6


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1"])
def test_other_modes_become_rgb(rgb8, mode):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    data = _encode(Image.fromarray(rgb8).convert(mode), fmt)
    assert images.load_image_uint8(data).shape == (12, 20, 3)


def test_transparency_is_composited_on_white():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)  # fully transparent black
    loaded = images.load_image_uint8(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert (loaded == 255).all()


def test_exif_orientation_is_applied():
    photo = Image.new("RGB", (20, 10))
    exif = photo.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    assert images.load_image(_encode(photo, "JPEG", exif=exif)).shape == (20, 10, 3)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "empty"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not an image"),
        (b"not an image at all", "not an image"),
    ],
)
def test_unreadable_bytes_raise_image_error(payload, message):
    with pytest.raises(images.ImageError, match=message):
        images.load_image(payload)


def test_truncated_jpeg_raises_image_error(rgb8):
    data = _encode(Image.fromarray(rgb8).resize((200, 200)), "JPEG")
    with pytest.raises(images.ImageError):
        images.load_image(data[: len(data) // 2])


def test_oversized_image_is_refused_before_decoding(rgb8):
    with pytest.raises(images.ImageError, match="too large"):
        images.load_image(_encode(Image.fromarray(rgb8), "PNG"), max_pixels=100)


def test_animated_image_is_refused():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(images.ImageError, match="Animated"):
        images.load_image(buffer.getvalue())


def test_missing_file_and_unknown_extension(tmp_path, rgb8):
    with pytest.raises(images.ImageError, match="No such image"):
        images.load_image(tmp_path / "missing.jpg")
    with pytest.raises(images.ImageError, match="Unsupported output format"):
        images.save_image(rgb8, tmp_path / "out.bmp")


def test_resize_keeps_dtype_and_aspect(rgb8):
    assert images.resize_image(rgb8, (10, 6)).dtype == np.uint8
    resized = images.resize_short_side(images.to_float(rgb8), 6)
    assert resized.shape == (6, 10, 3) and resized.dtype == np.float32


def test_tensor_round_trip(rgb8):
    tensor = images.image_to_tensor(rgb8)
    assert tensor.shape == (3, 12, 20)
    assert np.allclose(images.tensor_to_image(tensor), rgb8 / 255.0)


def _png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    """A small real PNG with one extra chunk before its pixel data (iCCP) or after it (text chunks)."""
    import struct
    import zlib

    data = _encode(Image.new("RGB", (40, 40), "teal"), "PNG")
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    at = data.index(b"IDAT") - 4 if kind == b"iCCP" else data.index(b"IEND") - 4
    return data[:at] + chunk + data[at:]


@pytest.mark.parametrize("kind, header", [
    (b"iCCP", b"icc\x00\x00"), (b"zTXt", b"Comment\x00\x00"), (b"iTXt", b"Comment\x00\x01\x00\x00\x00"),
])
def test_png_metadata_that_decompresses_too_far_is_an_image_error(kind, header):
    import zlib

    bomb = _png_with_chunk(kind, header + zlib.compress(b"\x00" * 50_000_000, 9))
    with pytest.raises(images.ImageError):
        images.load_image_uint8(bomb)


def test_mpo_from_a_camera_reads_its_primary_image():
    primary, second = Image.new("RGB", (48, 32), (200, 30, 30)), Image.new("RGB", (48, 32), (30, 30, 200))
    data = _encode(primary, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    pixels = images.load_image_uint8(data)
    assert pixels.shape == (32, 48, 3) and pixels[..., 0].mean() > 150 and pixels[..., 2].mean() < 80


def test_multi_page_tiff_reads_its_first_page_only(tmp_path):
    pages = np.random.default_rng(3).integers(0, 65536, size=(3, 8, 9, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "pages.tif", pages)  # one series of three pages
    loaded = images.load_image(tmp_path / "pages.tif")
    assert loaded.shape == (8, 9, 3) and np.abs(loaded - pages[0] / 65535.0).max() < 1e-6


def test_tiff_pages_times_pixels_is_bounded_before_decoding(tmp_path, monkeypatch):
    tifffile.imwrite(tmp_path / "many.tif", np.zeros((100, 64, 64, 3), dtype=np.uint16))
    monkeypatch.setattr(tifffile.TiffPage, "asarray", lambda *a, **k: pytest.fail("decoded a page"))
    with pytest.raises(images.ImageError, match="100 pages"):
        images.load_image(tmp_path / "many.tif", max_pixels=64 * 64 * 50)
