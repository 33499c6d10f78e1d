"""The dashboard in headless Chromium, after a real ``colony demo``: runs, a run's spans, a
memory's history, the graph. Screenshots go to ``test-artifacts/dashboard/``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped,
saying so, only where they are missing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from memory import HashEmbedder, MemoryService
from memory._duckdb import DuckDBStore
from orchestrator._dashboard import Dashboard, serving
from orchestrator.cli import app

pytestmark = pytest.mark.integration

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``colony demo`` into a fresh folder, then the dashboard on 127.0.0.1 over its files."""
    folder = tmp_path_factory.mktemp("demo")
    store = folder / "memory.duckdb"
    done = CliRunner().invoke(app, ["demo", "--store", str(store), "--embedder", "hash"])
    assert done.exit_code == 0, done.output
    memory = MemoryService(DuckDBStore.from_path(store, read_only=True), embedder=HashEmbedder())
    try:
        with serving(Dashboard(folder / "traces.duckdb", memory)) as url:
            yield url
    finally:
        memory.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (shutil.which(CHROMIUM) and shutil.which(DRIVER)):
        pytest.skip(f"{CHROMIUM} and {DRIVER} are needed (Debian: chromium, chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_from_the_runs_to_a_run_a_memory_and_the_graph(dashboard: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(dashboard + "/")
    runs = browser.find_elements(By.CSS_SELECTOR, "tr.run")
    assert len(runs) == 48  # the demo's 2 passes x 2 teams x 12 tasks, on one page
    assert "helpdesk" in runs[0].text and "done" in runs[0].text
    shot(browser, "runs")

    runs[0].find_element(By.TAG_NAME, "a").click()
    spans = browser.find_elements(By.CSS_SELECTOR, "tr.span")
    names = [row.find_element(By.TAG_NAME, "summary").text for row in spans]
    assert names[0] == "invoke_workflow helpdesk"
    assert {"invoke_agent desk", "invoke_agent scribe"} <= set(names)
    assert any(name.startswith("chat ") for name in names)
    chat = next(row for row, name in zip(spans, names, strict=True) if name.startswith("chat "))
    assert re.fullmatch(r"\d+ in / \d+ out", chat.find_element(By.CLASS_NAME, "tokens").text)
    spans[1].find_element(By.TAG_NAME, "summary").click()  # a span's attributes unfold
    assert "gen_ai.operation.name" in spans[1].text
    shot(browser, "run")

    browser.get(dashboard + "/memory?ns=team/demo")
    memories = browser.find_elements(By.CSS_SELECTOR, "tr.memory a")
    assert memories
    changed = None
    for index in range(len(memories)):
        browser.get(dashboard + "/memory?ns=team/demo")
        browser.find_elements(By.CSS_SELECTOR, "tr.memory a")[index].click()
        if len(browser.find_elements(By.CSS_SELECTOR, "tr.change")) > 1:
            changed = browser.current_url
            break
    assert changed is not None, "no memory of the demo has a history of changes"
    operations = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "tr.change")]
    assert any("UPDATE" in text and "heuristic" in text for text in operations)
    shot(browser, "memory-history")

    browser.find_element(By.ID, "graph").click()
    nodes = browser.find_elements(By.CSS_SELECTOR, "svg#graph a.node")
    assert len(nodes) >= 2
    shot(browser, "graph")

    browser.get(dashboard + "/policy")
    totals = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "tr.total")]
    assert any(text.startswith("ADD") for text in totals)
    shot(browser, "policy")
