"""The page of a 242-image generated tree (bench/gen.py's scenario g) in headless Chromium, with
the network off: every image has its box and its row, a subtree folds and unfolds, and finding
an image inside a folded subtree unfolds the way to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import bbc, ok

pytestmark = pytest.mark.docker  # the plan asks the engine what is built

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gen.py"


def test_a_242_image_tree_folds_and_finds(tmp_path: Path, docker_client: object) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser import chromium, fetched, open_page

    tree = tmp_path / "g242"
    subprocess.run([sys.executable, str(BENCH), str(tree), "--images", "242", "--depth", "4", "--fanout", "3",
                    "--roots", "2", "--tiny"], check=True, capture_output=True)
    page = tmp_path / "report.html"
    ok(bbc(tree, "report", "--offline", "--html", "-o", str(page)))
    units = [line.split()[0] for line in (tree / "order.txt").read_text().splitlines()]
    assert len(units) == 242
    with chromium() as driver:
        open_page(driver, page)
        shown = driver.execute_script(
            "return Array.from(document.querySelectorAll('#graph .node')).filter(n => n.style.display !== 'none')"
            ".map(n => n.dataset.unit)")
        assert sorted(shown) == sorted(units)  # nothing is up to date: nothing folded
        rows = driver.execute_script("return Array.from(document.querySelectorAll('#images tbody tr'))"
                                     ".map(r => r.dataset.unit)")
        assert rows == units
        below = [u for u in units if u.startswith("r-1-")]
        driver.find_element(By.CSS_SELECTOR, '[id="node-r-1"] .toggle').click()
        assert not any(driver.find_element(By.ID, f"node-{u}").is_displayed() for u in below)
        assert driver.find_element(By.CSS_SELECTOR, '[id="node-r-1"] .count').text == f"+{len(below)}"
        find = driver.find_element(By.ID, "find")
        find.send_keys("r-1-2-3-1")
        driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", find)
        assert driver.find_element(By.ID, "node-r-1-2-3-1").is_displayed()
        assert "found" in (driver.find_element(By.ID, "node-r-1-2-3-1").get_attribute("class") or "")
        driver.find_element(By.ID, "expand-all").click()
        assert all(driver.find_element(By.ID, f"node-{u}").is_displayed() for u in units)
        assert fetched(driver) == []
