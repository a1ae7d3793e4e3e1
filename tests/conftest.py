import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# Shared fixtures (tests/browser.py: headless Chromium for the browser tests)
from browser import browser  # noqa: E402,F401

# In CI (INSTRACK_REQUIRE_SERVERS=1, set by .ci/run) every extra, server and browser
# is installed, so a skip means something is broken: the run fails for any skip whose
# reason is not on this short, named list of skips that are expected even in CI.
ALLOWED_SKIPS_IN_CI = {
    # the paper's full text is not shipped with the repository; the tables are still
    # checked against the verbatim excerpt in tests/data
    "paper-text": "the paper's text is not here",
    # conformance tests against upstream repositories run only when a person points
    # INSTRACK_UPSTREAM at checkouts of them (docs/baselines.md); CI has none
    "upstream": "conformance tests against",
}
_unexpected_skips: list[str] = []


def _require_servers() -> bool:
    return os.environ.get("INSTRACK_REQUIRE_SERVERS") == "1"


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _note_skip(report) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not _require_servers():
        return
    reason = _skip_reason(report)
    if not any(marker in reason for marker in ALLOWED_SKIPS_IN_CI.values()):
        _unexpected_skips.append(f"{report.nodeid}: {reason}")


def pytest_runtest_logreport(report):
    _note_skip(report)


def pytest_collectreport(report):
    _note_skip(report)


def pytest_sessionfinish(session, exitstatus):
    if _unexpected_skips and exitstatus in (0, 5):  # 5: everything was skipped
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if _unexpected_skips:
        terminalreporter.section("skips not allowed with INSTRACK_REQUIRE_SERVERS=1", red=True)
        for line in _unexpected_skips:
            terminalreporter.line(line)
        terminalreporter.line(f"allowed: {', '.join(sorted(ALLOWED_SKIPS_IN_CI))} (tests/conftest.py)")
