"""Rendered plots, kept until what they show changes.

Drawing a figure costs tens of milliseconds of CPU; reading the numbers it
shows costs a query. So a plot is keyed by a digest of exactly the data it
draws: requests for an unchanged board reuse the PNG (and its ETag, so a
browser's If-None-Match gets a 304 without a body), and concurrent requests
for the same missing key draw it once while the others wait for it. Anyone
could otherwise make the server draw without limit (60 unauthenticated plot
requests raised the board's median latency from 13 to 114 ms)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Callable


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


class PlotCache:
    def __init__(self, max_items: int = 128):
        self.max_items = max_items
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._drawing: dict[str, threading.Lock] = {}
        self.rendered = 0  # how many figures were actually drawn (shown by /healthz)

    def get(self, key: str, draw: Callable[[], bytes]) -> bytes:
        """The PNG for `key`, drawn by `draw` only if not cached (once, even
        when many threads ask at the same time)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            gate = self._drawing.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            png = draw()
            with self._lock:
                self.rendered += 1
                self._items[key] = png
                self._drawing.pop(key, None)
                while len(self._items) > self.max_items:
                    self._items.popitem(last=False)
            return png
