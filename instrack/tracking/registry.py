"""Trackers found by name.

Entries are "module:attr" strings, imported only when that tracker is created, so
`instrack track --help` never imports torch and the core install can list trackers
whose extras are missing. `attr` is a Tracker subclass or a factory returning a
Tracker; either is called with the tracker options as keyword arguments.
A name the registry does not know may itself be "module:attr" or
"path/to/file.py:attr" (a plugin outside the project), and a miss suggests the
nearest names.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable, Generic, TypeVar

from instrack.errors import InsTrackError, UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> lazily imported object map with a type check and helpful misses."""

    def __init__(self, kind: str, base: type[T], entries: dict[str, str] | None = None):
        self.kind = kind
        self.base = base
        self._entries: dict[str, str | Callable[..., T]] = dict(entries or {})

    def register(self, name: str, target: str | Callable[..., T], *, replace: bool = False) -> None:
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = target

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def target(self, name: str) -> Callable[..., T]:
        """The class or factory behind `name` (imports its module)."""
        entry = self._entries.get(name)
        if entry is None:
            if ":" in name:
                entry = name  # a plugin given as module:attr
            else:
                close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
                hint = f" Did you mean: {', '.join(close)}?" if close else ""
                raise UsageError(
                    f"unknown {self.kind} {name!r}.{hint} (known: {', '.join(self.names())})"
                )
        if not isinstance(entry, str):
            return entry
        module_name, _, attr = entry.rpartition(":")
        if module_name.endswith(".py"):
            return getattr_or_refuse(self.kind, name, _import_file(self.kind, name, module_name), attr)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            # The entry's own package missing is a user-fixable install problem;
            # anything deeper (a bug inside the module) should surface as is.
            if err.name and module_name.startswith(err.name.split(".")[0]) and name in self._entries:
                raise InsTrackError(f"{self.kind} {name!r} is not installed ({err})") from err
            if err.name and module_name.startswith(err.name):
                raise UsageError(f"{self.kind} {name!r}: cannot import module {module_name!r}") from err
            raise
        return getattr_or_refuse(self.kind, name, module, attr)

    def create(self, name: str, **options: Any) -> T:
        target = self.target(name)
        obj = target(**options)
        if not isinstance(obj, self.base):
            raise TypeError(f"{self.kind} {name!r} built a {type(obj).__name__}, not a {self.base.__name__}")
        return obj


def getattr_or_refuse(kind: str, name: str, module: Any, attr: str) -> Any:
    try:
        return getattr(module, attr)
    except AttributeError as err:
        raise UsageError(f"{kind} {name!r}: module {module.__name__!r} has no {attr!r}") from err


def _import_file(kind: str, name: str, path_text: str) -> Any:
    """A plugin given as path/to/file.py:attr (your own tracker, not installed)."""
    import sys
    from importlib.util import module_from_spec, spec_from_file_location
    from pathlib import Path

    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"{kind} {name!r}: no such file {path_text!r}")
    module_name = f"_instrack_plugin_{path.stem}"
    spec = spec_from_file_location(module_name, path)
    module = module_from_spec(spec)
    sys.modules[module_name] = module  # so pickling (worker processes) finds its classes
    spec.loader.exec_module(module)
    return module
