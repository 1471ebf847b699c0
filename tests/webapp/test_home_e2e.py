"""End to end: the home page in headless Chromium, served by a live server on the test database."""
import pytest

from tests.webapp.helpers import jpeg_bytes
from webapp.core import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [390, 1280])
def test_home_page_renders_in_chromium(live_server, browser_page, tiny_checkpoint, width):
    services.model_version_register(checkpoint_path=tiny_checkpoint, name="tiny-demo", activate=True)
    photo, _ = services.photo_create(data=jpeg_bytes(seed=31), title="sunset", is_demo=True)
    services.photo_make_thumbnail(photo_id=photo.pk)

    browser_page.set_viewport_size({"width": width, "height": 900})
    response = browser_page.goto(live_server.url + "/")
    assert response.status == 200
    assert browser_page.title() == "PieNet Studio"
    assert "you like them" in browser_page.locator("h1").inner_text()
    assert "Model tiny-demo · 2 styles" in browser_page.locator(".status-row").inner_text()
    # The stylesheet loaded (the brand mark is drawn by CSS) and the demo thumbnail decoded.
    assert browser_page.locator(".brand-mark").evaluate("node => getComputedStyle(node).borderRadius") == "50%"
    thumbnail = browser_page.locator(".grid img")
    thumbnail.scroll_into_view_if_needed()  # lazy-loaded below the fold of a phone; "load" did not wait for it
    thumbnail.evaluate("img => img.decode().catch(() => null)")
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") > 0
    assert browser_page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    assert browser_page.console_errors == []
