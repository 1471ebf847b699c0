"""Helpers for the demo tests: generated photos in every accepted form, and the API calls."""
import io
import struct
import zlib

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.webapp.helpers import wait_for


def photo_pixels(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A photo-like uint8 image: smooth colour ramps, a bright disc and a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width, y / height, 0.5 + 0.3 * np.sin(x / max(1, width) * 6)], axis=-1)
    disc = ((x - width * 0.6) ** 2 + (y - height * 0.4) ** 2) < (min(width, height) * 0.2) ** 2
    base[disc] = base[disc] * 0.3 + 0.7
    noisy = base * 0.85 + rng.normal(0, 0.02, base.shape)
    return (np.clip(noisy, 0, 1) * 255).astype(np.uint8)


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def jpeg(width: int = 320, height: int = 240, seed: int = 0, quality: int = 90, **options) -> bytes:
    return encode(Image.fromarray(photo_pixels(width, height, seed)), "JPEG", quality=quality, **options)


ARTIST, GPS_IFD = 0x013B, 0x8825


def jpeg_with_location(width: int = 320, height: int = 240, seed: int = 3) -> bytes:
    """A JPEG whose EXIF names the photographer and where it was taken (what a phone writes)."""
    exif = Image.Exif()
    exif[ARTIST] = "Jane Doe"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return encode(Image.fromarray(photo_pixels(width, height, seed)), "JPEG", quality=90, exif=exif)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` RGB pixels but carries almost no data (a pixel flood)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * min(width, 4096)) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def jpeg_with_size(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is patched to claim another size."""
    data = bytearray(jpeg(64, 48))
    marker = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, marker + 5, height, width)
    return bytes(data)


def upload(client, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg", **extra):
    return client.post(
        "/api/demo/uploads/", {"image": SimpleUploadedFile(name, data, content_type=content_type)}, **extra
    )


def render(client, token: str, **look):
    return client.post(f"/api/demo/uploads/{token}/renders/", look, content_type="application/json")


def wait_for_result(client, result: dict, timeout: float = 60, log_path=None) -> dict:
    """Poll the result API like the studio page does until the rendering succeeded or failed."""
    def finished():
        state = client.get(f"/api/demo/results/{result['token']}/").json()
        return state if state["status"] in ("succeeded", "failed") else None

    return wait_for(finished, timeout, "the demo rendering", log_path, interval=0.1)


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
