"""The dashboard in a real headless browser (Debian's Chromium, driven by Selenium with
its ChromeDriver; nothing downloaded): what a person sees, a running run followed live,
no secret in any page, the token beyond this machine. Screenshots are kept in
``.test-artifacts/dashboard/``."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from dashboardkit import SECRET, Dashboard

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the test extra)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / ".test-artifacts" / "dashboard"
#: Seconds a page may take to show what the test waits for.
PATIENCE = 20


@pytest.fixture(scope="module")
def browser(services_required: bool) -> Iterator[object]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        message = "Chromium and ChromeDriver: scripts/services/browser.sh install"
        if services_required:
            pytest.fail(message)
        pytest.skip(message)
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield chrome
    chrome.quit()


def _wait(browser: object, condition: object) -> object:
    return WebDriverWait(browser, PATIENCE, poll_frequency=0.1).until(condition)


def _rows(browser: object) -> dict[str, list[str]]:
    """The runs table, read in one step (the page replaces its rows as it refreshes)."""
    return dict(browser.execute_script(  # type: ignore[attr-defined]
        "return [...document.querySelectorAll('#runs tbody tr')]"
        ".map(row => [row.dataset.run, [...row.cells].map(cell => cell.textContent)])"))


def _texts(browser: object, selector: str, attribute: str = "textContent") -> list[str]:
    """The text (or an attribute) of every element ``selector`` finds, in one step."""
    return list(browser.execute_script(  # type: ignore[attr-defined]
        "return [...document.querySelectorAll(arguments[0])].map(node => "
        "arguments[1] === 'textContent' ? node.textContent : node.getAttribute(arguments[1]))",
        selector, attribute))


def _state(browser: object) -> str:
    return "".join(_texts(browser, "#state"))


def test_the_runs_page_shows_every_run_in_its_state(browser: object,
                                                    dashboard: Dashboard) -> None:
    browser.get(dashboard.url)  # type: ignore[attr-defined]
    _wait(browser, lambda page: len(_rows(page)) == 4)
    rows = _rows(browser)
    assert {run: cells[1] for run, cells in rows.items()} == {
        "1": "success", "2": "failed", "3": "running", "4": "crashed"}
    assert rows["2"][2] == "reduce_all"
    assert (rows["2"][7], rows["2"][8]) == ("3", "1")  # items, failed
    browser.save_screenshot(str(ARTIFACTS / "runs.png"))  # type: ignore[attr-defined]
    assert SECRET not in browser.page_source  # type: ignore[attr-defined]
    state = browser.find_element(By.NAME, "state")  # type: ignore[attr-defined]
    state.send_keys("crashed")
    _wait(browser, lambda page: list(_rows(page)) == ["4"])


def test_a_failed_runs_page_shows_its_graph_items_and_traceback(browser: object,
                                                                dashboard: Dashboard) -> None:
    browser.get(dashboard.base + "/runs/2")  # type: ignore[attr-defined]
    _wait(browser, lambda page: page.find_elements(By.CSS_SELECTOR, "#graph svg g.node"))
    blocks = {node.get_attribute("data-block"): node.get_attribute("data-state")
              for node in browser.find_elements(By.CSS_SELECTOR, "#graph svg g.node")}  # type: ignore[attr-defined]
    assert blocks == {"files": "success", "reduction": "failed"}
    assert browser.find_element(By.ID, "state").text == "failed"  # type: ignore[attr-defined]
    items = browser.find_elements(By.CSS_SELECTOR, "#maps .item")  # type: ignore[attr-defined]
    assert [item.get_attribute("class") for item in items] == [
        "item success", "item success", "item failed"]
    failure = browser.find_element(By.CSS_SELECTOR, "#failures .failure")  # type: ignore[attr-defined]
    assert "task reduce (item 2)" in failure.text
    traceback = failure.find_element(By.CSS_SELECTOR, "pre.traceback").text
    assert traceback.startswith("Traceback (most recent call last):")
    assert traceback.endswith("ValueError: cannot read {'name': 'f2.fits', 'key': '******'}")
    inputs = [item.text for item in failure.find_elements(By.CSS_SELECTOR, "li.input")]
    assert inputs == ["file = {'key': '******', 'name': 'f2.fits'}"]
    assert '"api_token": "******"' in browser.find_element(By.ID, "configuration").text  # type: ignore[attr-defined]
    assert "run 2 failed" in browser.find_element(By.ID, "log").text  # type: ignore[attr-defined]
    browser.save_screenshot(str(ARTIFACTS / "failed-run.png"))  # type: ignore[attr-defined]
    assert SECRET not in browser.page_source  # type: ignore[attr-defined]


def test_a_running_run_is_followed_live(browser: object, dashboard: Dashboard,
                                        pipeline: Path) -> None:
    browser.get(dashboard.base + "/runs/3")  # type: ignore[attr-defined]
    _wait(browser, lambda page: _state(page) == "running")
    assert len(_texts(browser, "#maps .item.running")) == 1
    browser.save_screenshot(str(ARTIFACTS / "running-run.png"))  # type: ignore[attr-defined]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with sqlite3.connect(pipeline / "outflow.db") as connection:  # the run ends meanwhile
        connection.execute("UPDATE block SET state = 'success', end_time = ? "
                           "WHERE run_id = 3 AND state = 'running'", (now,))
        connection.execute("UPDATE run SET state = 'success', end_time = ? WHERE id = 3",
                           (now,))
    connection.close()
    _wait(browser, lambda page: _state(page) == "success")
    assert _texts(browser, "#maps .item.running") == []
    browser.get(dashboard.url)  # type: ignore[attr-defined]
    _wait(browser, lambda page: _rows(page).get("3", [None, None])[1] == "success")


def test_a_crashed_run_is_shown_as_such(browser: object, dashboard: Dashboard) -> None:
    browser.get(dashboard.base + "/runs/4")  # type: ignore[attr-defined]
    _wait(browser, lambda page: _state(page) == "crashed")
    browser.save_screenshot(str(ARTIFACTS / "crashed-run.png"))  # type: ignore[attr-defined]


def test_without_the_token_the_browser_is_refused(browser: object, pipeline: Path) -> None:
    served = Dashboard(pipeline, "--host", "0.0.0.0")
    try:
        browser.get(served.base + "/")  # type: ignore[attr-defined]
        assert "token is required" in browser.page_source  # type: ignore[attr-defined]
        browser.get(served.url)  # type: ignore[attr-defined]
        _wait(browser, lambda page: len(_rows(page)) == 4)
        browser.get(served.base + "/runs/1")  # the cookie carries the token now
        _wait(browser, lambda page: _state(page) == "success")
        browser.save_screenshot(str(ARTIFACTS / "with-token.png"))  # type: ignore[attr-defined]
    finally:
        served.stop()
