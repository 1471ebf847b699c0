"""The pages work under their own Content-Security-Policy (no bypass): the browser reports no violation,
and the studio's controls, whose inline handler moved to studio.js, still do not submit the page."""
import pytest

from tests.webapp.helpers import jpeg_bytes
from webapp.core import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_pages_run_under_the_content_security_policy(live_server, chromium_browser, tiny_checkpoint):
    services.model_version_register(checkpoint_path=tiny_checkpoint, name="tiny-demo", activate=True)
    photo, _ = services.photo_create(data=jpeg_bytes(seed=32), title="harbour", is_demo=True)
    services.photo_make_thumbnail(photo_id=photo.pk)
    context = chromium_browser.new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    try:
        for path in ("/", "/take-part/", "/studies/login/", "/api/docs/"):
            assert page.goto(live_server.url + path).status == 200, path
        page.locator(".swagger-ui .info .title").wait_for()  # Swagger UI ran from our own static files
        assert "PieNet Studio API" in page.locator(".swagger-ui .info .title").inner_text()
        page.goto(live_server.url + "/")
        page.locator(".dm-sample").first.click()
        page.wait_for_url("**/try/*/**")
        studio = page.url
        page.locator("#strength").press("Enter")
        page.wait_for_timeout(500)
        assert page.url == studio  # the submit handler in studio.js ran
        assert not [error for error in errors if "Content Security Policy" in error], errors
    finally:
        context.close()
