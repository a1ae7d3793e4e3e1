"""The selection manifest: which source video, which object, which split.

A versioned JSON file (instrack/dataset/data/manifest.json ships the reconstruction of
the paper's 183 videos). Per video:

    {"name": "pigs", "source": "davis2017", "source_sequence": "pigs",
     "target": {"obj_id": 2} | {"value": 6101} | {"rule": "top-candidate"},
     "split": "test", "frames": {"start": 0, "stop": null, "step": 1},
     "licence": "davis2017"}

`frames` slices the source's ordered frame list like Python's start:stop:step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from instrack.errors import DataError
from instrack.fileio import read_json

FORMAT = "instrack-manifest"
SUPPORTED_VERSIONS = (1,)
SOURCES = ("davis2017", "vipseg")
TARGET_RULES = ("top-candidate",)
_NAME_FORBIDDEN = set('/\\:*?"<>|') | {"\0"}


@dataclass(frozen=True)
class FrameRange:
    start: int = 0
    stop: int | None = None
    step: int = 1

    def select(self, frames: list[str]) -> list[str]:
        return frames[self.start : self.stop : self.step]

    def to_json(self) -> dict:
        return {"start": self.start, "stop": self.stop, "step": self.step}


@dataclass(frozen=True)
class Target:
    """A DAVIS object id, a VIPSeg panoptic value, or a rule resolved at curate time."""

    obj_id: int | None = None
    value: int | None = None
    rule: str | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in (("obj_id", self.obj_id), ("value", self.value), ("rule", self.rule)) if v is not None}


@dataclass(frozen=True)
class Entry:
    name: str
    source: str
    source_sequence: str
    target: Target
    split: str
    frames: FrameRange = FrameRange()
    licence: str | None = None
    source_split: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict:
        out = {
            "name": self.name,
            "source": self.source,
            "source_sequence": self.source_sequence,
            "source_split": self.source_split,
            "target": self.target.to_json(),
            "split": self.split,
            "frames": self.frames.to_json(),
            "licence": self.licence,
        }
        out.update(self.extra)
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Manifest:
    path: Path | None
    version: int
    dataset_version: str
    entries: tuple[Entry, ...]
    sources: dict[str, dict[str, Any]]
    raw: dict[str, Any] = field(compare=False, hash=False, default_factory=dict)

    def composition(self) -> dict[str, int]:
        """Counts in the vocabulary of the paper's composition block."""
        by_split = Counter(e.split for e in self.entries)
        by_source = Counter(e.source for e in self.entries)
        out = {"videos": len(self.entries)}
        out.update({split: n for split, n in sorted(by_split.items())})
        out.update({source: n for source, n in sorted(by_source.items())})
        return out

    def paper_composition(self) -> dict[str, int]:
        paper = self.raw.get("paper_composition", {})
        out = {k: paper[k] for k in ("videos", "train", "test") if k in paper}
        if "ref_davis17" in paper:
            out["davis2017"] = paper["ref_davis17"]["videos"]
        if "vipseg" in paper:
            out["vipseg"] = paper["vipseg"]["videos"]
        return out

    def select(self, names: list[str] | None = None, splits: list[str] | None = None) -> list[Entry]:
        entries = list(self.entries)
        if names:
            known = {e.name for e in entries}
            unknown = [n for n in names if n not in known]
            if unknown:
                raise DataError(f"{self.path}: no video named {unknown[0]!r} in the manifest")
            entries = [e for e in entries if e.name in names]
        if splits:
            entries = [e for e in entries if e.split in splits]
        return entries

    def licence_of(self, entry: Entry) -> str | None:
        key = entry.licence or entry.source
        return self.sources.get(key, {}).get("licence", entry.licence)


def default_manifest_path() -> Path:
    return Path(str(resources.files("instrack.dataset") / "data" / "manifest.json"))


def load_manifest(path: str | Path | None = None) -> Manifest:
    """Read and check a manifest; every problem is a DataError naming the file and the video."""
    path = Path(path) if path is not None else default_manifest_path()
    try:
        raw = read_json(path)
    except FileNotFoundError as err:
        raise DataError(f"{path}: manifest not found") from err
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise DataError(f'{path}: not an InsTrack manifest (expected "format": "{FORMAT}")')
    version = raw.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise DataError(
            f"{path}: manifest version {version!r} is not supported (this instrack reads {SUPPORTED_VERSIONS})"
        )
    videos = raw.get("videos")
    if not isinstance(videos, list):
        raise DataError(f'{path}: "videos" must be a list')
    entries = []
    seen: set[str] = set()
    for index, item in enumerate(videos):
        entry = _parse_entry(item, f"{path}: videos[{index}]")
        if entry.name in seen:
            raise DataError(f"{path}: video name {entry.name!r} appears twice")
        seen.add(entry.name)
        entries.append(entry)
    return Manifest(
        path=path,
        version=version,
        dataset_version=str(raw.get("dataset_version", "unversioned")),
        entries=tuple(entries),
        sources=raw.get("sources", {}),
        raw=raw,
    )


def _int(value: Any, where: str, key: str, allow_none: bool = False, minimum: int | None = None) -> int | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise DataError(f'{where}: "{key}" must be an integer{bound}, not {value!r}')
    return value


def _parse_entry(item: Any, where: str) -> Entry:
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected an object")
    for key in ("name", "source", "source_sequence", "target", "split"):
        if key not in item:
            raise DataError(f'{where}: missing "{key}"')
    name = item["name"]
    if not isinstance(name, str) or not name or name.startswith(".") or set(name) & _NAME_FORBIDDEN:
        raise DataError(f"{where}: {name!r} cannot be a video folder name")
    where = f"{where} ({name})"
    if item["source"] not in SOURCES:
        raise DataError(f"{where}: source must be one of {', '.join(SOURCES)}, not {item['source']!r}")
    split = item["split"]
    if not isinstance(split, str) or not split.isidentifier():
        raise DataError(f"{where}: split {split!r} must be a word such as train or test")
    target = item["target"]
    if not isinstance(target, dict) or len(target) != 1:
        raise DataError(f'{where}: target must be one of {{"obj_id": N}}, {{"value": N}}, {{"rule": "top-candidate"}}')
    if "obj_id" in target:
        if item["source"] != "davis2017":
            raise DataError(f'{where}: "obj_id" targets are DAVIS object ids; VIPSeg targets use "value"')
        parsed = Target(obj_id=_int(target["obj_id"], where, "obj_id", minimum=1))
    elif "value" in target:
        if item["source"] != "vipseg":
            raise DataError(f'{where}: "value" targets are VIPSeg panoptic values; DAVIS targets use "obj_id"')
        parsed = Target(value=_int(target["value"], where, "value", minimum=125))
    elif target.get("rule") in TARGET_RULES:
        parsed = Target(rule=target["rule"])
    else:
        raise DataError(f"{where}: unknown target {target!r}")
    frames = item.get("frames", {})
    if not isinstance(frames, dict):
        raise DataError(f'{where}: "frames" must be {{"start": N, "stop": N|null, "step": N}}')
    frame_range = FrameRange(
        start=_int(frames.get("start", 0), where, "frames.start", minimum=0),
        stop=_int(frames.get("stop"), where, "frames.stop", allow_none=True, minimum=1),
        step=_int(frames.get("step", 1), where, "frames.step", minimum=1),
    )
    known = {"name", "source", "source_sequence", "source_split", "target", "split", "frames", "licence"}
    return Entry(
        name=name,
        source=item["source"],
        source_sequence=str(item["source_sequence"]),
        target=parsed,
        split=split,
        frames=frame_range,
        licence=item.get("licence"),
        source_split=item.get("source_split"),
        extra={k: v for k, v in item.items() if k not in known},
    )
