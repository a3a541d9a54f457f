"""Browser tests: Django's live server, a real Celery worker, and Debian's headless Chromium driven by Playwright.

Chromium comes from the system (`apt-get install chromium chromium-driver`),
never from `playwright install`; without it every browser test is skipped with
that reason. Screenshots of each page go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the test's own ORM
# calls (creating users, reading jobs) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The platform's per-test fixtures; its broker and worker (platform_runtime,
# celery_worker) come from tests/conftest.py, shared with the platform tests.
from tests.platform.fixtures import (  # noqa: E402,F401  (fixtures are found by name)
    platform_test_settings,
    private_media,
    user,
)

REPOSITORY = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPOSITORY / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"
CHROMIUM_ARGUMENTS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    folder = Path(__file__).parent
    for item in items:
        if folder in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium chromium-driver); browser tests need it"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGUMENTS)
        yield browser
        browser.close()


@pytest.fixture
def page_errors():
    return []


@pytest.fixture
def page(browser, live_server, page_errors):
    """A fresh browser tab at 1280x800 against the live server; any script error fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.on("pageerror", lambda error: page_errors.append(f"script error: {error}"))
    tab.on("console", lambda message: _record_console_error(message, page_errors))
    yield tab
    context.close()
    assert not page_errors, "the page reported errors:\n" + "\n".join(page_errors)


def _record_console_error(message, errors: list) -> None:
    # A refusal the page shows in words (a form error answered 400, a conflict
    # answered 409) is expected behaviour; missing files and server errors are not.
    if message.type != "error":
        return
    if re.search(r"status of (400|409) ", message.text):
        return
    errors.append(f"console {message.type}: {message.text}")


@pytest.fixture
def signed_in_page(page, user):  # noqa: F811  (the user fixture, imported above)
    """The tab after signing in through the login form."""
    page.goto("/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return page


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the page under test-artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # From the top, so that sticky panels sit where a person first sees them.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    return path
