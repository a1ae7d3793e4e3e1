"""End to end in a real headless Chromium (see tests/browser.py): open the
board, submit the bundled sample through the form, watch it get scored, see
the new row. The board's screenshot is kept as an artifact."""

from __future__ import annotations

import shutil

import pytest

from instrack.dataset.sample import example_submission
from helpers import need_extra  # noqa: E402

need_extra("leaderboard", "sqlalchemy", "fastapi", "uvicorn", "multipart", "jinja2")

from browser import ARTIFACTS
from instrack_leaderboard.testing import ServeProcess, free_port, zip_folder

pytestmark = pytest.mark.server


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
