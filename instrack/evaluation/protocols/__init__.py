"""The evaluation protocols (SPEC §5, §7), one plugin module each, registered by name.

    from instrack.evaluation.protocols import get_protocol
    protocol = get_protocol("mevis")

Every module of this package is imported once, here; a plugin module calls
`register(SomeProtocol())` at import (see base.py for what a protocol defines).
Adding a benchmark is adding a module: no table elsewhere needs editing. The
modules import nothing heavy at import time, so `instrack --help` stays fast.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil

from instrack.errors import UsageError
from instrack.evaluation.protocols.base import Plan, Protocol

PROTOCOLS: dict[str, Protocol] = {}


def register(protocol: Protocol) -> Protocol:
    if not protocol.name or protocol.name in PROTOCOLS:
        raise ValueError(f"protocol name {protocol.name!r} is empty or already registered")
    PROTOCOLS[protocol.name] = protocol
    return protocol


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        close = difflib.get_close_matches(name.lower().replace("_", "-"), PROTOCOLS, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown protocol {name!r}{hint}; choose one of {', '.join(sorted(PROTOCOLS))}") from None


for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")

__all__ = ["PROTOCOLS", "Plan", "Protocol", "get_protocol", "register"]
