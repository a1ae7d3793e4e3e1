"""What the board shows of what people typed or what failed: a link only if it
is http(s), a failure as one line (never a traceback: that is for the admin's
log, and it shows the server's paths and code)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from instrack.errors import UsageError

MAX_REASON = 500
_TRACEBACK = "Traceback (most recent call last):"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """A message as one line: a Python traceback becomes its last line (the
    exception and its message), other line breaks become ' / '."""
    text = str(text or "")
    if _TRACEBACK in text:
        head = text[:text.index(_TRACEBACK)].strip()
        lines = [ln.strip() for ln in text[text.index(_TRACEBACK):].splitlines() if ln.strip()]
        last = lines[-1] if lines else ""
        text = head or last
    text = " / ".join(part.strip() for part in text.splitlines() if part.strip())
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_http_link(url: str) -> bool:
    """True for an absolute http:// or https:// URL with a host, and nothing
    a browser could run or mis-parse (javascript:, data:, control characters)."""
    if not url or _CONTROL.search(url) or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def checked_link(url: str, field: str = "link") -> str:
    """`url` stripped, if it is empty or an http(s) link; else UsageError."""
    url = (url or "").strip()
    if url and not is_http_link(url):
        raise UsageError(f"{field} {url[:80]!r}: expected an http:// or https:// URL")
    return url
