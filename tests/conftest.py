"""Fixtures any test folder may use: a headless Chromium page for end-to-end tests.

Chromium is Debian's package at /usr/bin/chromium (`make test` installs it); Playwright drives it
through `executable_path` and never downloads a browser of its own. Without it the e2e tests skip
locally and fail in CI.
"""
import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_browser():
    if not CHROMIUM.is_file():
        message = f"Chromium not found at {CHROMIUM} (make test installs Debian's chromium package)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; Django's ORM would refuse to run beside it.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium_browser):
    """A fresh page; console errors are collected in `page.console_errors`. Playwright's own waiting
    helpers evaluate strings, which the site's Content-Security-Policy forbids, so these pages bypass it;
    tests/webapp/test_csp_e2e.py loads the pages under the policy. (E2E tests making their own contexts
    pass bypass_csp=True for the same reason.)"""
    context = chromium_browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    yield page
    context.close()
