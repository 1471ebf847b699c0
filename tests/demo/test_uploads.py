"""Uploads: every accepted kind of photo is converted, every bad file gets a clear 4xx answer."""
import importlib
import io
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from tests.demo.helpers import (
    decode, encode, jpeg, jpeg_with_location, jpeg_with_size, photo_pixels, png_header_only, upload,
)
from webapp.core.models import Photo
from webapp.demo.models import Upload

pytestmark = pytest.mark.django_db


def _animated(image_format: str) -> bytes:
    frames = [Image.fromarray(photo_pixels(64, 48, seed)) for seed in range(3)]
    return encode(frames[0], image_format, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _jpeg_html_polyglot() -> bytes:
    """A valid JPEG whose comment segment holds HTML, with more HTML after the end of the image."""
    payload = b"<html><script>alert('owned')</script></html>"
    data = jpeg(160, 120)
    comment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:2] + comment + data[2:] + payload


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" onload="alert(1)">'
       b'<rect width="100" height="100"/></svg>')
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"

# name -> (file name, bytes, expected status, words the answer must contain)
BAD_FILES = {
    "zero-byte": ("empty.jpg", b"", 400, "empty"),
    "truncated JPEG": ("cut.jpg", jpeg(640, 480)[:6000], 400, "truncated"),
    "truncated PNG": ("cut.png", encode(Image.fromarray(photo_pixels(400, 300)), "PNG")[:5000], 400, "truncated"),
    "text with a .jpg name": ("notes.jpg", b"just some text, not a photo\n" * 20, 400, "JPEG, PNG, WebP or TIFF"),
    "HTML with a .jpg name": ("page.jpg", HTML, 400, "JPEG, PNG, WebP or TIFF"),
    "SVG with a .png name": ("drawing.png", SVG, 400, "JPEG, PNG, WebP or TIFF"),
    "SVG": ("drawing.svg", SVG, 400, "JPEG, PNG, WebP or TIFF"),
    "static GIF": ("still.gif", encode(Image.fromarray(photo_pixels(64, 48)).convert("P"), "GIF"), 400,
                   "JPEG, PNG, WebP or TIFF"),
    "animated GIF": ("moving.gif", _animated("GIF"), 400, "JPEG, PNG, WebP or TIFF"),
    "animated PNG": ("moving.png", _animated("PNG"), 400, "Animated images are not supported"),
    "animated WebP": ("moving.webp", _animated("WEBP"), 400, "Animated images are not supported"),
    "BMP": ("old.bmp", encode(Image.fromarray(photo_pixels(64, 48)), "BMP"), 400, "JPEG, PNG, WebP or TIFF"),
    "pixel flood PNG, 64 MP": ("flood.png", png_header_only(8000, 8000), 400, "too large"),
    "pixel flood PNG, 10 GP": ("flood.png", png_header_only(100_000, 100_000), 400, "too large"),
    "JPEG claiming 65000 x 65000": ("huge.jpg", jpeg_with_size(65000, 65000), 400, "too large"),
    "tiny image": ("dot.png", encode(Image.new("RGB", (8, 8), "red"), "PNG"), 400, "too small"),
    "thin strip": ("strip.png", encode(Image.fromarray(photo_pixels(2000, 40)), "PNG"), 400, "too narrow"),
    "zlib data with a PNG signature": ("noise.png", b"\x89PNG\r\n\x1a\n" + zlib.compress(b"x" * 5000), 400,
                                       "JPEG, PNG, WebP or TIFF"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_get_a_clear_refusal(client, case):
    name, data, expected_status, words = BAD_FILES[case]
    response = upload(client, data, name=name)
    assert response.status_code == expected_status, (case, response.content)
    assert words in response.json()["detail"], (case, response.json())
    assert not Upload.objects.exists()


def test_a_file_over_the_byte_limit_is_refused_before_decoding(client, settings):
    settings.PIENET_MAX_UPLOAD_BYTES = 20_000
    data = jpeg(800, 600, quality=95)
    assert len(data) > 20_000
    response = upload(client, data)
    assert response.status_code == 413 and "larger than the limit" in response.json()["detail"]


def test_a_request_without_a_photo_is_refused(client):
    assert client.post("/api/demo/uploads/", {}).status_code == 400
    assert client.post("/api/demo/uploads/", {"sample": 999}).status_code == 404
    assert client.post("/api/demo/uploads/", {"sample": 10**30}).status_code == 400
    assert client.post("/api/demo/uploads/", {"sample": "one"}).status_code == 400
    garbled = client.post("/api/demo/uploads/", {}, CONTENT_LENGTH="many")
    assert garbled.status_code == 400
    json_body = client.post("/api/demo/uploads/", {"image": "x"}, content_type="application/json")
    assert json_body.status_code == 415


def _rgb_tiff_16bit() -> bytes:
    buffer = io.BytesIO()
    pixels = photo_pixels(120, 90).astype(np.uint16) * 257
    tifffile.imwrite(buffer, pixels, photometric="rgb")
    return buffer.getvalue()


def _cmyk_jpeg() -> bytes:
    cmyk = Image.new("CMYK", (120, 90), (0, 255, 255, 0))  # pure red in CMYK
    return encode(cmyk, "JPEG", quality=95)


def _palette_png_with_transparency() -> bytes:
    image = Image.new("P", (120, 90), 0)
    image.putpalette([0, 0, 255] + [255, 0, 0] * 255)
    image.paste(1, (60, 0, 120, 90))
    return encode(image, "PNG", transparency=0)  # left half (index 0, blue) is transparent


def _rgba_png() -> bytes:
    rgba = np.zeros((90, 120, 4), dtype=np.uint8)
    rgba[..., 1] = 200
    rgba[:, 60:, 3] = 255  # right half opaque green, left half fully transparent
    return encode(Image.fromarray(rgba, "RGBA"), "PNG")


def _rotated_jpeg() -> bytes:
    """Stored 160 x 120 with EXIF orientation 6: shown upright it is 120 x 160."""
    image = Image.fromarray(photo_pixels(160, 120))
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image, "JPEG", quality=90, exif=exif.tobytes())


def _grey_png_16bit() -> bytes:
    grey = (np.linspace(0, 65535, 120 * 90).reshape(90, 120)).astype(np.uint16)
    return encode(Image.fromarray(grey), "PNG")  # mode I;16


# name -> (file name, bytes, shown size (w, h), check of the 'before' pixels)
GOOD_FILES = {
    "JPEG": ("photo.jpg", jpeg(320, 240), (320, 240), None),
    "JPEG with a .png name": ("photo.png", jpeg(320, 240), (320, 240), None),
    "PNG": ("photo.png", encode(Image.fromarray(photo_pixels(200, 150)), "PNG"), (200, 150), None),
    "WebP": ("photo.webp", encode(Image.fromarray(photo_pixels(200, 150)), "WEBP", quality=90), (200, 150), None),
    "TIFF": ("photo.tif", encode(Image.fromarray(photo_pixels(200, 150)), "TIFF"), (200, 150), None),
    "16-bit RGB TIFF": ("deep.tif", _rgb_tiff_16bit(), (120, 90),
                        lambda px: abs(px.mean() - photo_pixels(120, 90).mean()) < 3),
    "16-bit grey PNG": ("grey.png", _grey_png_16bit(), (120, 90),
                        lambda px: px[0, 0].max() < 10 and px[-1, -1].min() > 240),
    "CMYK JPEG": ("print.jpg", _cmyk_jpeg(), (120, 90),
                  lambda px: px[45, 60, 0] > 200 and px[45, 60, 1:].max() < 60),
    "palette PNG with transparency": ("icon.png", _palette_png_with_transparency(), (120, 90),
                                      lambda px: px[45, 20].min() > 240 and px[45, 100, 0] > 200
                                      and px[45, 100, 2] < 60),
    "RGBA PNG": ("alpha.png", _rgba_png(), (120, 90), lambda px: px[45, 20].min() > 240 and px[45, 100, 0] < 40),
    "EXIF-rotated JPEG": ("rotated.jpg", _rotated_jpeg(), (120, 160), None),
    "JPEG/HTML polyglot": ("polyglot.jpg", _jpeg_html_polyglot(), (160, 120), None),
}


@pytest.mark.parametrize("case", list(GOOD_FILES))
def test_accepted_photos_are_converted_upright_to_rgb(client, case):
    name, data, size, check = GOOD_FILES[case]
    response = upload(client, data, name=name)
    assert response.status_code == 201, (case, response.content)
    body = response.json()
    assert (body["width"], body["height"]) == size
    before = client.get(body["before_url"])
    assert before.status_code == 200 and before["Content-Type"] == "image/jpeg"
    content = b"".join(before.streaming_content)
    assert b"<script" not in content and b"<html" not in content  # re-encoded pixels, never the uploaded bytes
    pixels = decode(content)
    assert (pixels.shape[1], pixels.shape[0]) == size
    if check is not None:
        assert check(pixels), case


def test_uploads_are_private_links_not_photos_of_the_platform(client):
    first = upload(client, jpeg(seed=1)).json()
    second = upload(client, jpeg(seed=1)).json()
    assert first["token"] != second["token"] and len(first["token"]) >= 32  # random, not derived from the content
    assert set(first) == {"token", "width", "height", "before_url", "page_url"}  # no sequential id anywhere
    assert not Photo.objects.exists()  # never listed by /api/photos/ nor reachable at /photos/<id>/original
    assert client.get(first["page_url"]).status_code == 200
    assert client.get("/try/" + "A" * 32 + "/").status_code == 404
    assert client.get("/try/" + "A" * 32 + "/before.jpg").status_code == 404
    page = client.get("/try/")  # the session's latest photo
    assert page.status_code == 302 and page["Location"] == second["page_url"]
    assert Client().get("/try/")["Location"] == "/#try"


def test_originals_stored_under_media_by_older_versions_move_to_private_storage(client, private_root):
    move_originals = importlib.import_module("webapp.demo.migrations.0002_private_originals").move_originals
    data = jpeg_with_location()
    token = upload(client, data).json()["token"]
    legacy = default_storage.save(f"demo/{token}/original.jpg", ContentFile(data))  # where they used to be
    Upload.objects.filter(token=token).update(original=legacy)
    move_originals(apps, None)
    moved = Upload.objects.get(token=token).original
    assert not default_storage.exists(legacy) and default_storage.exists(f"demo/{token}/before.jpg")
    assert Path(moved.path).read_bytes() == data and Path(private_root) in Path(moved.path).parents
    assert token not in moved.name


def test_uploads_need_the_pages_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    refused = upload(browser, jpeg())
    assert refused.status_code == 403 and "security token" in refused.json()["detail"]
    browser.get("/")
    allowed = upload(browser, jpeg(), HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert allowed.status_code == 201


def test_the_api_is_documented():
    from drf_spectacular.generators import SchemaGenerator

    from webapp.demo.urls import urlpatterns

    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    assert set(schema["paths"]) == {
        "/api/demo/uploads/", "/api/demo/uploads/{token}/renders/", "/api/demo/results/{token}/",
    }
    assert set(schema["components"]["schemas"]["DemoResult"]["properties"]) >= {"status", "progress", "download_url"}
