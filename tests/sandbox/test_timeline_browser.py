"""The therapy timeline in a real browser: headless Chromium (Debian) driven by selenium,
against sekmet-fhir loaded with a demo patient. Saves a screenshot under test-artifacts/.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the PyPI package
``selenium``. Without them the test is skipped locally and fails when ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from cds_hooks.cli import main
from tests.peers import sekmet_server

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PATIENT = "demo-gist-progressed"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture
def browser() -> Iterator[object]:
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser test cannot run in CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--window-size=1280,1100",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.e2e
def test_timeline_shows_lines_dates_and_evidence(
    browser: object, served: Callable[..., str], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    with sekmet_server(tmp_path / "sekmet") as fhir:
        assert main(["demo", "load", "--fhir-server", fhir, "gist-progressed-on-imatinib"]) == 0
        base = served(fhir_allowlist=[fhir])
        # the card's smart link on an open server (no smart-configuration): straight to the page
        launch = requests.get(
            f"{base}/app/timeline/launch",
            params={"iss": fhir, "launch": "sandbox-launch", "patient": PATIENT},
            allow_redirects=False,
            timeout=10,
        )
        assert launch.status_code == 302
        assert launch.headers["Location"].startswith("/app/timeline?iss=")
        browser.get(f"{base}/app/timeline?iss={fhir}&patient={PATIENT}")

        heading = browser.find_element(By.CSS_SELECTOR, "[data-testid=patient]").text
        assert "Ingrid Demo" in heading and f"Patient/{PATIENT}" in heading
        assert "male, age 64" in heading  # born 1961-04-12, as of 2026-01-15
        legend = browser.find_element(By.CSS_SELECTOR, "[data-testid=legend]").text
        assert "progression" in legend and "toxicity" in legend and "ongoing" in legend

        rows = browser.find_elements(By.CSS_SELECTOR, "[data-testid=line-row]")
        cells = [[c.text for c in row.find_elements(By.TAG_NAME, "td")] for row in rows]
        assert cells == [
            ["1", "imatinib", "imatinib 400 mg/day", "2023-03-01", "2024-09-16", "progression"]
        ]

        svg = browser.find_element(By.CSS_SELECTOR, "[data-testid=timeline-svg]")
        bars = svg.find_elements(By.CSS_SELECTOR, "[data-testid=line-bar]")
        assert len(bars) == 1
        assert "2023-03-01 to 2024-09-16: progression" in bars[0].text
        assert bars[0].find_element(By.TAG_NAME, "rect").size["width"] > 100
        events = " | ".join(
            e.text for e in svg.find_elements(By.CSS_SELECTOR, "[data-testid=event]")
        )
        for text in (
            "Gastrointestinal stromal tumour (GIST) 2023-02-06",
            "KIT exon 11",
            "improved 2023-09-04",
            "stable 2024-03-11",
            "progression 2024-09-10",
        ):
            assert text in events, events
        step = svg.find_element(By.CSS_SELECTOR, "[data-testid=next-step]")
        assert "imatinib" in step.text.lower() or "sunitinib" in step.text.lower()
        # the next step is drawn at today, not at the left edge (under the first year)
        arrow = step.find_element(By.TAG_NAME, "path").rect
        assert arrow["x"] > svg.rect["x"] + svg.rect["width"] * 0.6

        # recommendations are open, evidence showing; a click folds one away
        recs = browser.find_elements(By.CSS_SELECTOR, "[data-testid=recommendation]")
        assert recs and all(r.get_attribute("open") is not None for r in recs)
        first = recs[0]
        assert "Evidence:" in first.text and "Why (patient facts)" in first.text
        assert "MedicationRequest/" in first.text or "Observation/" in first.text
        first.find_element(By.TAG_NAME, "summary").click()
        assert first.get_attribute("open") is None

        ARTIFACTS.mkdir(exist_ok=True)
        body = browser.find_element(By.TAG_NAME, "body")
        for width in (1280, 720):
            browser.set_window_size(width, 1100)
            svg = browser.find_element(By.CSS_SELECTOR, "[data-testid=timeline-svg]")
            # the chart uses the page width, and nothing is cut at its right edge
            assert svg.rect["width"] >= body.rect["width"] - 40
            for text in svg.find_elements(By.TAG_NAME, "text"):
                right = text.rect["x"] + text.rect["width"]
                assert right <= svg.rect["x"] + svg.rect["width"] + 1, text.text
            shot = ARTIFACTS / f"timeline-demo-gist-progressed-{width}.png"
            assert browser.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000

        # an unknown patient is a clear "not found" page
        missing = requests.get(
            f"{base}/app/timeline", params={"iss": fhir, "patient": "no-such-patient"}, timeout=30
        )
        assert missing.status_code == 404
        assert "Patient not found" in missing.text


def _unused() -> None:
    shutil.which("chromium")
