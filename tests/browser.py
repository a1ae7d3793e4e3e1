"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
Playwright's Python client (never a browser Playwright downloads itself).
Without Chromium a browser test is skipped with the reason, unless
INSTRACK_REQUIRE_SERVERS=1 (CI), where it fails instead. Screenshots go to
$INSTRACK_ARTIFACTS (default <repo>/out/artifacts/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import need

CHROMIUM = os.environ.get("INSTRACK_CHROMIUM", "/usr/bin/chromium")
# Flags that work on these machines: no sandbox as root, and no background
# networking, whose connections the closed network refuses.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(os.environ.get("INSTRACK_ARTIFACTS", Path(__file__).resolve().parent.parent / "out" / "artifacts"))


@pytest.fixture(scope="module")
def browser():
    need(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (Debian package 'chromium'; scripts/ci_browser.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the Python package 'playwright' is not installed (scripts/ci_browser.sh)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()
