"""A JSON file of COCO RLE masks:
[{"video": V, "exp_id": E, "frame": F, "segmentation": {"size": [H, W], "counts": ...}}, ...]

Every entry is checked before anything is decoded: pycocotools trusts its
input, and a malformed counts string can decode to garbage without an error."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from instrack.errors import Problem, SubmissionError
from instrack.masks import MaskError
from instrack.evaluation.submission.base import FrameReader, Submission


def rle_counts(counts: Any, height: int, width: int) -> None:
    """Raise MaskError unless `counts` (compressed string or list of runs)
    describes exactly height * width pixels."""
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise MaskError("uncompressed RLE counts must be non-negative integers")
        total = sum(counts)
    elif isinstance(counts, str):
        total = sum(_decode_compressed(counts))
    else:
        raise MaskError("RLE counts must be a string or a list of integers")
    if total != height * width:
        raise MaskError(f"RLE counts cover {total} pixels, size says {height}x{width} = {height * width}")


def _decode_compressed(counts: str) -> list[int]:
    """The LEB128-like string form of pycocotools (rleFrString), with checks."""
    runs: list[int] = []
    position = 0
    while position < len(counts):
        value = shift = 0
        more = True
        while more:
            if position >= len(counts):
                raise MaskError("RLE counts string ends inside a number")
            char = ord(counts[position]) - 48
            if not 0 <= char < 64:
                raise MaskError(f"RLE counts string has an invalid character {counts[position]!r}")
            value |= (char & 0x1F) << (5 * shift)
            more = bool(char & 0x20)
            position += 1
            shift += 1
            if not more and char & 0x10:
                value |= -1 << (5 * shift)
        if len(runs) > 2:
            value += runs[-2]
        if value < 0:
            raise MaskError("RLE counts decode to a negative run length")
        runs.append(value)
    return runs


def relpath_of(video: str, exp_id: str, frame: str) -> str:
    return f"{video}/{exp_id}/{frame}.png"


@dataclass(frozen=True)
class RleReader(FrameReader):
    entries: dict[str, dict] = field(default_factory=dict)  # relpath -> segmentation

    def read_bytes(self, relpath: str) -> None:
        return None

    def read(self, relpath: str) -> tuple[np.ndarray, str]:
        from pycocotools import mask as mask_utils

        segmentation = self.entries[relpath]
        height, width = segmentation["size"]
        counts = segmentation["counts"]
        if isinstance(counts, list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = {"size": [height, width], "counts": counts.encode("ascii")}
        return np.ascontiguousarray(mask_utils.decode(rle)), ""


class RleSubmission(Submission):
    def __init__(self, path: Path, source: str):
        self.source = source
        self.entries: dict[str, dict] = {}
        problems: list[Problem] = []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SubmissionError(source, [Problem(source, f"not valid JSON ({err})")]) from err
        if isinstance(data, dict) and isinstance(data.get("annotations"), list):
            data = data["annotations"]
        if not isinstance(data, list):
            raise SubmissionError(source, [Problem(source, "expected a JSON list of RLE entries")])
        for index, entry in enumerate(data):
            where = f"{source}[{index}]"
            try:
                relpath, segmentation = self._parse(entry)
            except MaskError as err:
                problems.append(Problem(where, str(err)))
                continue
            if relpath in self.entries:
                problems.append(Problem(where, f"duplicate entry for {relpath[:-4]}"))
                continue
            self.entries[relpath] = segmentation
        if problems:
            raise SubmissionError(source, problems)

    @staticmethod
    def _parse(entry: Any) -> tuple[str, dict]:
        if not isinstance(entry, dict):
            raise MaskError("entry is not an object")
        missing = [k for k in ("video", "exp_id", "frame", "segmentation") if k not in entry]
        if missing:
            raise MaskError(f"entry lacks {', '.join(missing)}")
        segmentation = entry["segmentation"]
        if not isinstance(segmentation, dict) or "size" not in segmentation or "counts" not in segmentation:
            raise MaskError('segmentation must be {"size": [H, W], "counts": ...}')
        size = segmentation["size"]
        if (
            not isinstance(size, list)
            or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
        ):
            raise MaskError("segmentation size must be [H, W] with positive integers")
        rle_counts(segmentation["counts"], size[0], size[1])
        video, exp_id, frame = (str(entry[k]) for k in ("video", "exp_id", "frame"))
        return relpath_of(video, exp_id, frame), segmentation

    def members(self) -> set[str]:
        return set(self.entries)

    def reader_for(self, video: str) -> RleReader:
        prefix = video + "/"
        return RleReader({k: v for k, v in self.entries.items() if k.startswith(prefix)})

    def probe(self, relpath: str) -> tuple[int, int]:
        height, width = self.entries[relpath]["size"]
        return height, width
