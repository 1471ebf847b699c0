"""End to end in headless Chromium on a phone: consent, 12 picks by touch and keyboard, the
personalized preview rendered by a real worker. Set PIENET_SCREENSHOT_DIR to also save screenshots
of each page at 390 px and 1280 px wide."""
import os
from pathlib import Path

import pytest

from tests.webapp.helpers import wait_for
from webapp.participants.models import Participant, SetItem

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def snapshot(page, name: str) -> None:
    folder = os.environ.get("PIENET_SCREENSHOT_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900 if width > 390 else PHONE["height"]})
        page.wait_for_timeout(300)
        page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)
    page.set_viewport_size(PHONE)


def test_phone_participant_picks_twelve_and_sees_the_preview(
    live_server, chromium_browser, celery_worker, picking_round, pool
):
    context = chromium_browser.new_context(bypass_csp=True, viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    try:
        page.goto(f"{live_server.url}/take-part/taste/?PROLIFIC_PID=e2e123&STUDY_ID=s1&SESSION_ID=x1")
        snapshot(page, "consent")
        page.get_by_label("I have read the information above").check()
        page.get_by_role("button", name="Start").tap()
        page.wait_for_url("**/take-part/taste/pick/")
        page.locator(".pp-item").first.wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
        snapshot(page, "pick")

        picked = 0
        while picked < 12:
            page.wait_for_function("document.querySelectorAll('.pp-item[aria-pressed=false]').length > 0")
            items = page.locator(".pp-item[aria-pressed=false]")
            first, second, third = items.nth(0), items.nth(1), items.nth(2)
            if picked == 0:  # the connection drops during the first tap: the pick waits and is sent later
                context.set_offline(True)
                first.tap()
                page.wait_for_function("document.getElementById('status').textContent.includes('Connection lost')")
                context.set_offline(False)
                wait_for(lambda: SetItem.objects.filter(liked=True).count() == 1, 30, "the queued pick to arrive")
            else:
                first.tap()
            second.focus()
            page.keyboard.press("Space")  # keyboard picking
            third.tap()
            picked += 3
            page.wait_for_function(f"document.getElementById('pick-count').textContent === '{picked}'")
            if picked == 3:
                snapshot(page, "pick-selected")
            if picked == 6:  # once the picks are saved, a refresh shows the same set and count
                number = page.locator("#grid").get_attribute("data-set")
                page.wait_for_function("document.getElementById('picking').dataset.pending === '0'")
                page.reload()
                page.wait_for_function(f"document.getElementById('grid').dataset.set === '{number}'")
                assert page.locator("#pick-count").inner_text() == "6"
                assert page.locator(".pp-item[aria-pressed=true]").count() == 3
            if picked < 12:
                number = page.locator("#grid").get_attribute("data-set")
                page.get_by_role("button", name="Next set").tap()
                page.wait_for_function(f"document.getElementById('grid').dataset.set !== '{number}'")
        page.wait_for_function("!document.getElementById('finish').disabled")
        page.get_by_role("button", name="Finish").tap()

        page.wait_for_url("**/take-part/taste/preview/")
        page.wait_for_function(
            "document.querySelectorAll('.pp-after img').length === 3 && "
            "[...document.querySelectorAll('.pp-pair img')].every(img => img.complete && img.naturalWidth > 0)",
            timeout=120_000,
        )
        assert "enhanced the way you like" in page.locator("#preview-message").inner_text()
        snapshot(page, "preview")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert [error for error in errors if "ERR_INTERNET_DISCONNECTED" not in error] == []  # only the offline tap
    finally:
        context.close()

    participant = Participant.objects.get()
    assert participant.recruitment_id == "e2e123" and participant.finished_at is not None
    assert SetItem.objects.filter(pick_set__participant=participant, liked=True).count() == 12
