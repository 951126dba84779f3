"""A headless Chromium (Debian's chromium + chromium-driver) driven by Selenium, for the
dashboard's browser tests. Selenium blocks, so every call runs in a worker thread:
`await browser.do(lambda d: d.get(url))`. The thread has its own limiter, never one of the
bot's (blocking.LIMITS): a page load waiting for the bot must not hold a token the bot needs.

Screenshots go to SCREENSHOT_DIR (FAMILYBOT_SCREENSHOT_DIR, default build/screenshots/dashboard
in the repository), one PNG per page, named by the test step.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = Path(os.environ.get("FAMILYBOT_SCREENSHOT_DIR",
                                     REPO / "build" / "screenshots" / "dashboard"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
INSTALL_HINT = ("browser tests need Debian's Chromium: apt-get install chromium chromium-driver "
                "(as root), then pip install selenium")


def wait_for_next_page(driver: Any, old: Any, timeout_s: float = 60) -> None:
    """Wait (blocking) until `old` (the previous page's <html> element) left the document.

    Selenium's `staleness_of` expects StaleElementReferenceException; while a navigation is
    under way chromedriver may answer the same question with "unknown error: ... Node with
    given id does not belong to the document" instead (seen when the machine is loaded),
    which means the same thing. Any other error is raised.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_driver: Any) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in (exc.msg or ""):
                return True
            raise
        return False

    WebDriverWait(driver, timeout_s).until(gone)


def require_browser() -> None:
    """Skip the calling test, with one line saying how to install, when there is no browser."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip(INSTALL_HINT)
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(INSTALL_HINT)


def page_source(driver: Any) -> str:
    """The loaded page's HTML. Under load, chromedriver's page source came back '' for a page
    whose document was complete and whole (seen 3 times in 4 runs beside 3 busy CPU loops:
    readyState "complete", outerHTML holding the page); the DOM's own serialization is then
    read instead."""
    source = driver.page_source
    if not source:
        source = driver.execute_script("return document.documentElement.outerHTML") or ""
    return source


class Browser:
    """One headless Chromium session. Build with `await Browser.start(profile_dir)`."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    @classmethod
    async def start(cls, profile: Path) -> Browser:
        def launch() -> Any:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service

            opts = webdriver.ChromeOptions()
            opts.binary_location = CHROMIUM
            for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--window-size=1280,1000",
                        "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}"):
                opts.add_argument(arg)
            driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
            driver.set_page_load_timeout(60)
            return driver
        browser = cls(None)
        browser.driver = await browser._thread(launch)
        return browser

    async def _thread(self, fn: Callable[..., T], *args: Any) -> T:
        if not hasattr(self, "_limiter"):
            self._limiter = trio.CapacityLimiter(1)
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def do(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(driver)` in a worker thread (Selenium's calls block)."""
        return await self._thread(fn, self.driver)

    async def get(self, url: str) -> str:
        """Open `url`; returns the page source."""
        def go(d: Any) -> str:
            d.get(url)
            return page_source(d)
        return await self.do(go)

    async def click(self, css: str) -> str:
        """Click the element matching `css` and wait for the next page; returns its source."""
        def press(d: Any) -> str:
            from selenium.webdriver.common.by import By

            old = d.find_element(By.TAG_NAME, "html")
            d.find_element(By.CSS_SELECTOR, css).click()
            wait_for_next_page(d, old)
            return page_source(d)
        return await self.do(press)

    async def fill(self, css: str, text: str) -> None:
        """Replace the text of an input."""
        def type_in(d: Any) -> None:
            from selenium.webdriver.common.by import By

            box = d.find_element(By.CSS_SELECTOR, css)
            box.clear()
            box.send_keys(text)
        await self.do(type_in)

    async def select(self, css: str, value: str) -> None:
        """Choose the option with this value in a <select>."""
        def choose(d: Any) -> None:
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import Select

            Select(d.find_element(By.CSS_SELECTOR, css)).select_by_value(value)
        await self.do(choose)

    async def texts(self, css: str) -> list[str]:
        """The visible text of every element matching `css`."""
        def read(d: Any) -> list[str]:
            from selenium.webdriver.common.by import By

            return [e.text for e in d.find_elements(By.CSS_SELECTOR, css)]
        return await self.do(read)

    async def screenshot(self, name: str) -> Path:
        """Save a PNG of the whole page as SCREENSHOT_DIR/<name>.png."""
        path = SCREENSHOT_DIR / f"{name}.png"

        def shoot(d: Any) -> Path:
            path.parent.mkdir(parents=True, exist_ok=True)
            d.set_window_size(1280, 800)
            height = d.execute_script("return document.documentElement.scrollHeight")
            d.set_window_size(1280, max(800, min(int(height) + 40, 4000)))
            d.save_screenshot(str(path))
            return path
        return await self.do(shoot)

    async def aclose(self) -> None:
        await self._thread(self.driver.quit)
