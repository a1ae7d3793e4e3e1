"""A JSON file of COCO RLE masks:
[{"video": V, "exp_id": E, "frame": F, "segmentation": {"size": [H, W], "counts": ...}}, ...]

Every entry is checked before anything is decoded, with the decoder that
scoring uses (coco_rle.py: pycocotools' semantics, 32-bit wrap included), so
what validation accepts is what gets scored. The file itself must be a regular
file of at most MAX_JSON_BYTES; JSON that Python cannot hold (nesting deeper
than the recursion limit, integers of more than 4300 digits) is a problem of
the file, like any other syntax error."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from instrack.errors import Problem, SubmissionError
from instrack.masks import MaskError
from instrack import coco_rle
from instrack.evaluation.submission.base import FrameReader, Submission
from instrack.evaluation.submission.files import open_regular, read_limited

# The test split's masks take tens of MB as RLE; parsing needs a few times the size.
MAX_JSON_BYTES = 1 << 30


def rle_counts(counts: Any, height: int, width: int) -> None:
    """Raise MaskError unless `counts` (compressed string or list of runs)
    describes exactly height * width pixels, as pycocotools would decode it."""
    coco_rle.runs_of(counts, height, width)


def _name(entry: dict, key: str) -> str:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MaskError(f"{key} must be a string")
    text = str(value)
    if not text or "/" in text or "\\" in text or text in (".", "..") or "\0" in text:
        raise MaskError(f"{key} {text[:80]!r} is not a file or folder name")
    return text


def relpath_of(video: str, exp_id: str, frame: str) -> str:
    return f"{video}/{exp_id}/{frame}.png"


@dataclass(frozen=True)
class RleReader(FrameReader):
    entries: dict[str, dict] = field(default_factory=dict)  # relpath -> segmentation

    def read_bytes(self, relpath: str) -> None:
        return None

    def read(self, relpath: str) -> tuple[np.ndarray, str]:
        segmentation = self.entries[relpath]
        height, width = coco_rle.check_size(segmentation["size"])
        runs = coco_rle.runs_of(segmentation["counts"], height, width)
        return coco_rle.decode(runs, height, width), ""


class RleSubmission(Submission):
    def __init__(self, path: Path, source: str):
        self.source = source
        self.entries: dict[str, dict] = {}
        problems: list[Problem] = []
        try:
            text = read_limited(open_regular(path, MAX_JSON_BYTES), MAX_JSON_BYTES)
        except MaskError as err:
            raise SubmissionError(source, [Problem(source, str(err))]) from None
        try:
            data = json.loads(text.decode("utf-8"))
        except RecursionError:
            raise SubmissionError(source, [Problem(source, "not usable JSON (nested too deeply)")]) from None
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, a 5000-digit integer
            reason = " ".join(str(err).split())[:200]
            raise SubmissionError(source, [Problem(source, f"not valid JSON ({reason})")]) from None
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
        height, width = coco_rle.check_size(segmentation["size"])
        rle_counts(segmentation["counts"], height, width)
        video, exp_id, frame = (_name(entry, k) for k in ("video", "exp_id", "frame"))
        return relpath_of(video, exp_id, frame), segmentation

    def members(self) -> set[str]:
        return set(self.entries)

    def reader_for(self, video: str) -> RleReader:
        prefix = video + "/"
        return RleReader({k: v for k, v in self.entries.items() if k.startswith(prefix)})

    def probe(self, relpath: str) -> tuple[int, int]:
        height, width = self.entries[relpath]["size"]
        return height, width
