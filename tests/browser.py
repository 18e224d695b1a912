"""A real browser for tests of the report page: Debian's chromium, headless, driven by selenium
through the system chromedriver (nothing downloaded at test time), its network switched off
before the page loads."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars")


@contextmanager
def chromium(width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A WebDriver on a fresh profile whose network is off (DevTools' offline emulation)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="bbc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: Any, page: Path) -> None:
    driver.get(page.resolve().as_uri())


def fetched(driver: Any) -> list[str]:
    """Every resource the page asked for after it loaded (none, for a self-contained page)."""
    return list(driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"))


def screenshot(page: Path, png: Path, *, width: int = 1400, height: int = 900, script: str = "") -> None:
    """A picture of `page` in a `width` x `height` window, after running `script` in it."""
    with chromium(width, height) as driver:
        open_page(driver, page)
        if script:
            driver.execute_script(script)
        driver.save_screenshot(str(png))
