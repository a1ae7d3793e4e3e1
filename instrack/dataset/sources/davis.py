"""Reading DAVIS-2017 and the Ref-DAVIS17 expression files as downloaded.

    DAVIS/JPEGImages/480p/<seq>/00000.jpg
    DAVIS/Annotations_unsupervised/480p/<seq>/00000.png   palette PNG: 0 background, 1..N objects
    DAVIS/Annotations/480p/<seq>/00000.png      the semi-supervised set (other ids for some sequences)
    DAVIS/ImageSets/2017/{train,val}.txt        one sequence per line
    DAVIS/davis_semantics.json                  {seq: {"1": "bike", ...}} (DAVIS-2017_semantics-480p.zip)
    davis_text_annotations/Davis17_annot{1,2}[_full_video].txt   (Ref-DAVIS17)

Which annotation set: Ref-DAVIS17's object ids and davis_semantics.json's ids
are those of `Annotations_unsupervised`. The Ref-DAVIS17 tooling everyone uses
(wjn922/ReferFormer, commit 06fc218) downloads only
DAVIS-2017-Unsupervised-trainval-480p.zip and DAVIS-2017_semantics-480p.zip
(docs/data.md), pairs each expression's obj_id with the palette ids of
Annotations_unsupervised (tools/data/convert_davis_to_ytvos.py), names them with
davis_semantics.json over the same ids, and scores Ref-DAVIS17 with
task="unsupervised" (eval_davis.py, davis2017/davis.py). So a manifest's
`obj_id` is read in that set by default; `Annotations` can still be chosen.

The expression files have one line per object, `video obj_id "text"`.
Annotator 2's files are latin-1, not UTF-8, and spell three sequence names
differently from DAVIS; every public loader maps them, and so do we.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from instrack.errors import DataError
from instrack.fileio import read_json
from instrack.masks import MaskError, read_mask

RESOLUTION = "480p"
VOID = 255
#: The annotation set whose ids Ref-DAVIS17 and davis_semantics.json follow (see above).
REF_DAVIS_ANNOTATIONS = "Annotations_unsupervised"
ANNOTATION_SETS = ("Annotations_unsupervised", "Annotations")
# Annotator 2's spellings -> the DAVIS sequence names.
VIDEO_NAME_FIXES = {
    "clasic-car": "classic-car",
    "dog-scale": "dogs-scale",
    "motor-bike": "motorbike",
}
EXPRESSION_FILES = {
    # file stem -> (annotator, full_video, encoding)
    "Davis17_annot1": (1, False, "utf-8"),
    "Davis17_annot1_full_video": (1, True, "utf-8"),
    "Davis17_annot2": (2, False, "latin-1"),
    "Davis17_annot2_full_video": (2, True, "latin-1"),
}
_LINE = re.compile(r"^(?P<video>\S+)\s+(?P<obj>\d+)\s+(?P<text>.*?)\s*$")


@dataclass(frozen=True)
class Expression:
    """One Ref-DAVIS17 referring expression (explicit, unlike InsTrack's instructions)."""

    video: str
    obj_id: int
    text: str
    annotator: int
    full_video: bool

    def to_json(self) -> dict:
        return {"obj_id": self.obj_id, "text": self.text, "annotator": self.annotator, "full_video": self.full_video}


class DavisSource:
    """A DAVIS-2017 folder. `root` is the folder holding JPEGImages/ (the
    `DAVIS` folder of the trainval archive); the Ref-DAVIS17 text files are
    looked for in `root/davis_text_annotations`, `root/../davis_text_annotations`
    or wherever `expressions_dir` says."""

    name = "davis2017"

    def __init__(
        self,
        root: str | Path,
        expressions_dir: str | Path | None = None,
        annotations: str = REF_DAVIS_ANNOTATIONS,
    ):
        if annotations not in ANNOTATION_SETS:
            raise DataError(f"DAVIS annotation set must be one of {', '.join(ANNOTATION_SETS)}, not {annotations!r}")
        self.annotations = annotations
        self.root = Path(root)
        if not (self.root / "JPEGImages" / RESOLUTION).is_dir():
            nested = self.root / "DAVIS"
            if (nested / "JPEGImages" / RESOLUTION).is_dir():
                self.root = nested  # the archive unpacks into DAVIS/
            else:
                raise DataError(f"{self.root}: not a DAVIS-2017 folder (expected JPEGImages/{RESOLUTION}/ inside it)")
        self.expressions_dir = Path(expressions_dir) if expressions_dir else None
        if not (self.root / annotations / RESOLUTION).is_dir():
            hint = (
                " (Ref-DAVIS17 object ids and davis_semantics.json follow this set: download "
                "DAVIS-2017-Unsupervised-trainval-480p.zip; the semi-supervised Annotations/ numbers some "
                "sequences' objects differently)"
                if annotations == REF_DAVIS_ANNOTATIONS
                else ""
            )
            raise DataError(f"{self.root / annotations / RESOLUTION}: missing{hint}")

    # -- sequences and frames ------------------------------------------------

    def image_dir(self, seq: str) -> Path:
        return self.root / "JPEGImages" / RESOLUTION / seq

    def annotation_dir(self, seq: str) -> Path:
        return self.root / self.annotations / RESOLUTION / seq

    def split_file(self, split: str) -> Path:
        return self.root / "ImageSets" / "2017" / f"{split}.txt"

    def splits(self) -> dict[str, list[str]]:
        """{"train": [...], "val": [...]} from ImageSets/2017 (the files present)."""
        out = {}
        for split in ("train", "val", "test-dev", "test-challenge"):
            path = self.split_file(split)
            if path.is_file():
                out[split] = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        return out

    def split_of(self, seq: str) -> str | None:
        for split, names in self.splits().items():
            if seq in names:
                return split
        return None

    def sequences(self, split: str | None = None) -> list[str]:
        if split is not None:
            path = self.split_file(split)
            if not path.is_file():
                raise DataError(f"{path}: missing (DAVIS-2017 lists its {split} sequences there)")
            return [s for s in self.splits()[split]]
        folder = self.root / "JPEGImages" / RESOLUTION
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def require(self, seq: str) -> None:
        if not self.image_dir(seq).is_dir():
            raise DataError(f"{self.image_dir(seq)}: DAVIS sequence {seq!r} not found")

    def frames(self, seq: str) -> list[str]:
        """Frame names (file stems) in order."""
        self.require(seq)
        names = sorted(p.stem for p in self.image_dir(seq).glob("*.jpg"))
        if not names:
            raise DataError(f"{self.image_dir(seq)}: no .jpg frames")
        return names

    def image_path(self, seq: str, frame: str) -> Path:
        return self.image_dir(seq) / f"{frame}.jpg"

    def annotation_path(self, seq: str, frame: str) -> Path:
        return self.annotation_dir(seq) / f"{frame}.png"

    def read_annotation(self, seq: str, frame: str) -> np.ndarray:
        """Object ids of one frame (palette indices; 255 void), as uint8."""
        path = self.annotation_path(seq, frame)
        if not path.is_file():
            raise DataError(f"{path}: missing annotation (DAVIS-2017 trainval annotates every frame)")
        try:
            ids = read_mask(path)
        except (MaskError, OSError) as err:
            raise DataError(f"{path}: {err}") from err
        if ids.dtype != np.uint8:
            raise DataError(f"{path}: {ids.dtype} PNG; DAVIS annotations are 8-bit palette PNGs")
        return ids

    def object_ids(self, seq: str, frame: str | None = None) -> list[int]:
        """Object ids present (in one frame, or in the first annotated frame as DAVIS defines the objects)."""
        ids = self.read_annotation(seq, frame or self.frames(seq)[0])
        return [int(v) for v in np.unique(ids) if v not in (0, VOID)]

    @cached_property
    def semantics(self) -> dict[str, dict[str, str]]:
        """Category names per object from davis_semantics.json, or {} when absent."""
        path = self.root / "davis_semantics.json"
        if not path.is_file():
            return {}
        return read_json(path)

    def category(self, seq: str, obj_id: int) -> str | None:
        return self.semantics.get(seq, {}).get(str(obj_id))

    # -- Ref-DAVIS17 ----------------------------------------------------------

    def _expression_dirs(self) -> list[Path]:
        if self.expressions_dir is not None:
            return [self.expressions_dir]
        return [self.root / "davis_text_annotations", self.root.parent / "davis_text_annotations"]

    @cached_property
    def expressions(self) -> dict[str, list[Expression]]:
        """All Ref-DAVIS17 expressions found, by (fixed) sequence name; {} if none."""
        out: dict[str, list[Expression]] = {}
        for folder in self._expression_dirs():
            for stem in EXPRESSION_FILES:
                path = folder / f"{stem}.txt"
                if path.is_file():
                    for expression in read_expression_file(path):
                        out.setdefault(expression.video, []).append(expression)
            if out:
                break
        return out


def read_expression_file(path: str | Path, encoding: str | None = None) -> list[Expression]:
    """Parse one Ref-DAVIS17 file. The annotator, the full-video flag and the
    encoding come from the file name (annotator 2 wrote latin-1)."""
    path = Path(path)
    annotator, full_video, default_encoding = EXPRESSION_FILES.get(path.stem, (0, "full_video" in path.stem, "utf-8"))
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding or default_encoding)
    except UnicodeDecodeError:
        # Some mirrors re-saved annotator 1 as latin-1 too; latin-1 decodes any bytes.
        text = raw.decode("latin-1")
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line.strip())
        if not match:
            raise DataError(f'{path}:{number}: expected `video obj_id "text"`, got {line.strip()[:80]!r}')
        video = VIDEO_NAME_FIXES.get(match["video"], match["video"])
        sentence = match["text"]
        if len(sentence) >= 2 and sentence[0] == sentence[-1] == '"':
            sentence = sentence[1:-1]
        out.append(Expression(video, int(match["obj"]), sentence.strip(), annotator, full_video))
    return out
