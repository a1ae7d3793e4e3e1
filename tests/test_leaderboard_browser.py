"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven
by Playwright's Python client; never a browser Playwright downloads itself):
open the board, submit the bundled sample through the form, watch it get
scored, see the new row. The board's screenshot is kept as an artifact in
$INSTRACK_ARTIFACTS (default <repo>/out/artifacts/).

Without Chromium the test is skipped with the reason, unless
INSTRACK_REQUIRE_SERVERS=1 (CI), where it fails instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from instrack.sample import example_submission
from instrack_leaderboard.testing import ServeProcess, free_port, zip_folder

pytestmark = pytest.mark.server

CHROMIUM = os.environ.get("INSTRACK_CHROMIUM", "/usr/bin/chromium")
# Flags that work on these machines: no sandbox as root, and no background
# networking, whose connections the closed network refuses.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(os.environ.get("INSTRACK_ARTIFACTS", Path(__file__).resolve().parent.parent / "out" / "artifacts"))


def _need(reason: str) -> None:
    if os.environ.get("INSTRACK_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason} (INSTRACK_REQUIRE_SERVERS=1: run scripts/ci_browser.sh first)")
    pytest.skip(f"{reason}; scripts/ci_browser.sh installs it")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        _need(f"no Chromium at {CHROMIUM} (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("the Python package 'playwright' is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def test_submit_the_sample_through_the_form(tmp_path, browser):
    token = "browser-test-admin-token"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # `instrack serve` as a user runs it: web and worker, embedded SQLite, the bundled sample
    server = ServeProcess(["--port", str(port), "--data-dir", str(tmp_path / "data"), "--poll-s", "0.2"],
                          tmp_path / "serve.log", env={"INSTRACK_ADMIN_TOKEN": token}).start()
    upload = zip_folder(example_submission(), tmp_path / "my-tracker.zip")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        server.wait_http(base)
        # the paper's numbers are on the InsTrack board; the bundled sample has a board of
        # its own, so nothing scored on the sample is ever ranked beside them
        page.goto(base + "/?benchmark=instrack")
        assert page.locator("#board tbody tr").count() == 10
        assert "TrackGPT-13B (IT)" in page.locator("#board tbody tr").first.inner_text()

        page.click("text=Submit")
        page.fill("#token", token)
        page.fill("#method", "Browser Tracker")
        page.fill("#variant", "e2e")
        page.set_input_files("#file", str(upload))
        page.click("#submit-button")
        page.wait_for_url("**/submission/*")
        # the page refreshes itself (meta refresh) until the worker is done
        page.wait_for_selector("#status.done", timeout=60_000)
        page.click("#entry-link")
        assert page.locator("h2").first.inner_text().startswith("Browser Tracker (e2e)")
        assert page.locator("text=Per unit (30)").count() == 1

        page.goto(base + "/")
        assert "bundled sample" in page.content()
        rows = page.locator("#board tbody tr")
        assert rows.count() == 1
        top = rows.first.inner_text()
        assert "Browser Tracker (e2e)" in top and "submitted" in top and "83.6" in top
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "leaderboard-board.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        # the origin filter is a plain link
        page.click("a[data-origin=submitted]")
        assert page.locator("#board tbody tr").count() == 1
    finally:
        page.close()
        server.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "serve.log", ARTIFACTS / "leaderboard-serve.log")  # for a failed run's autopsy
