import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# Shared fixtures (tests/browser.py: headless Chromium for the browser tests)
from browser import browser  # noqa: E402,F401
