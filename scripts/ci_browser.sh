#!/usr/bin/env bash
# What the leaderboard's browser test needs in CI: Debian's Chromium and the
# Python Playwright client pointed at it (tests/test_leaderboard_browser.py
# launches /usr/bin/chromium itself). Never `playwright install`: a test tool's
# own browser download fails on these machines and is not needed.
#
# Usage: scripts/ci_browser.sh [PYTHON]     (default: <repo>/.venv/bin/python)
# Re-running with everything installed is a no-op. Prints the time taken.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${1:-$repo/.venv/bin/python}"
start=$(date +%s)

if [[ ! -x /usr/bin/chromium ]]; then
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
# The wrapper script /usr/bin/chromium prints a harmless shell warning on some
# hosts; the version line is what matters.
/usr/bin/chromium --version 2>/dev/null | head -n 1

if ! "$python" -c "import playwright.sync_api" 2>/dev/null; then
    "$python" -m pip install --quiet "playwright>=1.45"
fi
"$python" - <<'PY'
from playwright.sync_api import sync_playwright

flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=flags)
    page = browser.new_page()
    page.set_content("<p id=ok>ok</p>")
    assert page.inner_text("#ok") == "ok"
    browser.close()
print("playwright drives /usr/bin/chromium")
PY
echo "browser test prerequisites ready: $(( $(date +%s) - start )) s"
