"""End to end in headless Chromium with a real worker: a phone uploads a photo, sees the result,
compares, moves the strength slider and downloads the full-resolution result; a laptop starts from
a sample. Set PIENET_SCREENSHOT_DIR to also save screenshots of each page at 390 px and 1280 px."""
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.demo.helpers import jpeg
from tests.webapp.helpers import wait_for
from webapp.core import services as core_services
from webapp.demo.models import Result, StylePreview

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
READY = "document.getElementById('studio').dataset.state === 'ready'"


def snapshot(page, name: str) -> None:
    folder = os.environ.get("PIENET_SCREENSHOT_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": PHONE["height"] if width == 390 else 900})
        page.wait_for_timeout(300)
        page.screenshot(path=f"{folder}/demo-{name}-{width}.png", full_page=True)
    page.set_viewport_size(size)


def no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_phone_uploads_compares_changes_strength_and_downloads(
    live_server, chromium_browser, celery_worker, many_styles_model, tmp_path
):
    sample, _ = core_services.photo_create(data=jpeg(600, 400, seed=30), title="harbour", is_demo=True)
    core_services.photo_make_thumbnail(photo_id=sample.pk)
    context = chromium_browser.new_context(bypass_csp=True, viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2,
                                           accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    try:
        page.goto(live_server.url + "/")
        assert "you like them" in page.locator("h1").inner_text()
        ranked = StylePreview.objects.filter(showcase_rank__isnull=False)  # rendered, then measured for the showcase
        wait_for(lambda: ranked.count() == 24, 60, "the style previews", celery_worker.log_path)
        page.reload()
        assert page.locator(".dm-showcase img").count() == 4 and no_sideways_scrolling(page)
        snapshot(page, "landing")

        # A refused file is explained on the page.
        text = {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"hello"}
        page.set_input_files("#upload-input", files=[text])
        page.wait_for_function("!document.getElementById('upload-error').hidden")
        assert "JPEG, PNG, WebP or TIFF" in page.locator("#upload-error").inner_text()
        snapshot(page, "landing-refused")

        photo = jpeg(1600, 1200, seed=31)
        page.set_input_files("#upload-input", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": photo}])
        page.wait_for_url("**/try/*/")
        page.wait_for_function(READY, timeout=90_000)
        assert page.locator("#look-label").inner_text() == "Bright · strength 100%"  # the model's first style
        assert page.locator("#after").evaluate("img => img.complete && img.naturalWidth") > 0
        assert no_sideways_scrolling(page)  # the 24 styles scroll within their own row
        assert page.locator("#styles").evaluate("row => row.scrollWidth > row.clientWidth")
        # Nothing of the comparison covers the controls under it (on a phone they follow it).
        assert page.locator("#blend").evaluate(
            "box => { box.scrollIntoView({block: 'center'}); const r = box.getBoundingClientRect();"
            " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === box; }"
        )
        page.locator("#split").fill("20")  # the comparison divider follows the slider
        assert page.locator("#compare").evaluate("node => node.style.getPropertyValue('--pos')") == "20%"
        snapshot(page, "studio")

        first = page.locator("#studio").get_attribute("data-result")
        page.locator("#strength").fill("150")
        page.wait_for_function(f"document.getElementById('studio').dataset.result !== '{first}' && {READY}",
                               timeout=90_000)
        assert "strength 150%" in page.locator("#look-label").inner_text()
        assert Result.objects.get(token=page.locator("#studio").get_attribute("data-result")).strength == 1.5

        with page.expect_download() as info:
            page.locator("#download").tap()
        download = info.value
        assert download.suggested_filename == "pienet-bright-1.50.jpg"
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        with Image.open(saved) as result:
            assert result.size == (1600, 1200)  # full resolution

        page.goto(page.locator("#share").input_value())  # the private link to the result
        page.locator("#after").wait_for()
        snapshot(page, "result")
        assert [error for error in errors if "400 (Bad Request)" not in error] == []  # only the refused file
    finally:
        context.close()


def test_laptop_starts_from_a_sample_and_blends_two_styles(live_server, browser_page, celery_worker, active_model):
    sample, _ = core_services.photo_create(data=jpeg(600, 400, seed=32), title="harbour", is_demo=True)
    core_services.photo_make_thumbnail(photo_id=sample.pk)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/#try")
    page.get_by_role("button", name="Try the sample photo harbour").click()
    page.wait_for_url("**/try/*/")
    page.wait_for_function(READY, timeout=90_000)
    page.get_by_label("Blend with a second style").check()
    page.locator("#mix").fill("30")
    page.wait_for_function("document.getElementById('look-label').textContent.includes('+')", timeout=90_000)
    page.wait_for_function(READY, timeout=90_000)
    assert page.locator("#look-label").inner_text() == "Bright 70% + Warm 30% · strength 100%"
    page.get_by_label("Blend with a second style").uncheck()
    page.wait_for_function("document.getElementById('look-label').textContent === 'Bright · strength 100%'",
                           timeout=90_000)
    assert no_sideways_scrolling(page) and page.console_errors == []
