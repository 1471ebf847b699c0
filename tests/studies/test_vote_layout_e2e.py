"""Voting shows every option at once, at one size, above the confirm bar, on laptop and phone screens
(issue 16: three portrait options in two columns put the third below the fold at 1280×800)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.participants.helpers import make_photos
from tests.studies.helpers import browser_pick_until_voting, make_study
from tests.webapp.helpers import jpeg_bytes
from webapp.core import services as core_services

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENS = [(1280, 800), (1280, 720), (390, 844)]
METHODS = [{"kind": "pienet_mean"}, {"kind": "retouch", "style": "vivid"}, {"kind": "retouch", "style": "sepia"}]
READY = "Array.from(document.querySelectorAll('.st-choice img')).every(i => i.complete && i.naturalWidth > 0)"


def portrait_photos(count: int) -> list:
    photos = []
    for index in range(count):
        photo, _ = core_services.photo_create(data=jpeg_bytes(600, 900, seed=900 + index), title=f"tall {index}")
        core_services.photo_make_thumbnail(photo_id=photo.pk)
        photo.refresh_from_db()
        photos.append(photo)
    return photos


SETTLED = """() => {
    const bar = document.querySelector('#actions').getBoundingClientRect();
    const options = [...document.querySelectorAll('.st-choice')].map(n => n.getBoundingClientRect());
    return options.length === 3 && options.every(o => o.bottom <= bar.top);
}"""


def settle(page) -> None:
    """Give vote.js's re-layout (it runs on resize observers, so later than the resize itself on a loaded
    machine) up to 5 s to finish; the assertions below then say what is wrong if it never does."""
    page.wait_for_timeout(300)
    try:
        page.wait_for_function(SETTLED, timeout=5_000)
    except PlaywrightTimeout:
        pass


# What the page looked like when an assertion fails: the parts of the trial page from top to bottom.
DESCRIBE = """() => ({scrollY: window.scrollY, innerHeight: window.innerHeight,
    parts: [...document.querySelectorAll('#voting > *')].map(n => {
        const box = n.getBoundingClientRect();
        return [n.id || n.className, Math.round(box.top), Math.round(box.height)];
    }),
    images: [...document.querySelectorAll('.st-choice img')].map(i => i.style.height)})"""


def boxes(page) -> list[dict]:
    return page.locator(".st-choice").evaluate_all("nodes => nodes.map(n => n.getBoundingClientRect().toJSON())")


@pytest.mark.parametrize("tall", [True, False], ids=["portrait", "landscape"])
def test_every_option_is_on_screen_at_the_same_size(
    live_server, chromium_browser, celery_worker, active_model, django_capture_on_commit_callbacks, tall
):
    with django_capture_on_commit_callbacks(execute=False):
        voting = portrait_photos(3) if tall else make_photos(3, seed=710)
        study = make_study(
            active_model,
            voting_count=0,
            methods=[{"style": "", "label": "", **m} for m in METHODS],
            voting_photos=voting,
            trials_per_participant=2,
            attention_checks=1,
        )
    context = chromium_browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        browser_pick_until_voting(page, live_server.url, study.slug)
        page.locator(".st-choice").first.wait_for(timeout=120_000)
        page.wait_for_function(READY)
        for width, height in SCREENS:
            page.set_viewport_size({"width": width, "height": height})
            settle(page)
            options = boxes(page)
            assert len(options) == 3
            bar = page.locator("#actions").bounding_box()
            for box in options:
                assert box["left"] >= 0 and box["top"] >= 0 and box["right"] <= width, (width, height, box)
                layout = (width, height, box, bar, page.evaluate(DESCRIBE))
                assert box["bottom"] <= bar["y"] and bar["y"] + bar["height"] <= height, layout
            sizes = {(round(box["width"]), round(box["height"])) for box in options}
            assert len(sizes) == 1, (width, height, sizes)
            ((option_width, option_height),) = sizes
            assert max(option_width / width, option_height / height) >= 0.25, sizes  # not shrunk to nothing
            if os.environ.get("PIENET_SCREENSHOT_DIR"):
                name = f"vote-{'portrait' if tall else 'landscape'}-{width}x{height}.png"
                page.screenshot(path=str(Path(os.environ["PIENET_SCREENSHOT_DIR"]) / name))
    finally:
        context.close()
