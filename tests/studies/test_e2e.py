"""End to end in headless Chromium: a participant on a phone from consent through picking to the blind
trials (rendered by a real worker) and the completion code; then the researcher's results page.
Set PIENET_SCREENSHOT_DIR to also save screenshots of each page at 390 px and 1280 px wide."""
import os
from pathlib import Path

import pytest

from studies.models import TrialOption, Vote
from tests.studies.helpers import browser_pick_until_voting, make_study, researcher

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
IMAGES_LOADED = "Array.from(document.querySelectorAll('.st-choice img')).every(i => i.complete && i.naturalWidth > 0)"


def snapshot(page, name: str) -> None:
    folder = os.environ.get("PIENET_SCREENSHOT_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900 if width > 390 else PHONE["height"]})
        page.wait_for_timeout(300)
        page.screenshot(path=f"{folder}/study-{name}-{width}.png", full_page=True)
    page.set_viewport_size(size)


def test_phone_participant_votes_blind_and_gets_the_code(live_server, chromium_browser, celery_worker, active_model,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        study = make_study(active_model, voting_count=5)
    context = chromium_browser.new_context(bypass_csp=True, viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    try:
        page.goto(f"{live_server.url}/study/{study.slug}/?PROLIFIC_PID=e2e42&STUDY_ID=s&SESSION_ID=x")
        snapshot(page, "consent")
        browser_pick_until_voting(page, live_server.url, study.slug)
        page.locator(".st-choice").first.wait_for(timeout=120_000)  # the worker renders the trials meanwhile
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.wait_for_function(IMAGES_LOADED)
        snapshot(page, "trial")
        for number in range(1, 5):
            page.wait_for_function(f"document.getElementById('trial-count').textContent.startsWith('Photo {number} ')")
            page.wait_for_function(IMAGES_LOADED)
            tokens = page.locator(".st-choice").evaluate_all("nodes => nodes.map(n => n.dataset.token)")
            chosen = next(index for index, token in enumerate(tokens)
                          if not TrialOption.objects.get(token=token).degraded)
            page.locator(".st-choice").nth(chosen).tap()
            if number == 1:
                page.locator(".st-choice").nth(chosen).dblclick()  # a double tap changes nothing
            page.locator("#confirm").tap()
        page.wait_for_url(f"**/study/{study.slug}/done/")
        assert page.locator("#completion-code").inner_text() == "C0DE-OK"
        assert page.locator("#completion-link").get_attribute("href").endswith("cc=C0DE-OK")
        snapshot(page, "done")
        votes = Vote.objects.filter(trial__study=study)
        assert votes.count() == 4 and all(vote.response_ms > 0 for vote in votes)
        assert not errors, errors

        # The researcher's results page (a researcher needs no admin access).
        user = researcher()
        desk = chromium_browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900}).new_page()
        desk.goto(f"{live_server.url}/studies/{study.slug}/")  # sent to the researchers' login first
        desk.fill("#id_username", user.username)
        desk.fill("#id_password", "pw")
        desk.get_by_role("button", name="Log in").click()
        desk.wait_for_url(f"**/studies/{study.slug}/")
        assert "3 counted" in desk.locator("#results").inner_text()
        assert desk.locator("svg.st-chart rect").count() == 4
        snapshot(desk, "results")
        desk.goto(f"{live_server.url}/studies/{study.slug}/edit/")
        snapshot(desk, "form")
        desk.goto(f"{live_server.url}/studies/")
        snapshot(desk, "dashboard")
    finally:
        context.close()
