"""Stage-1 conversation data (paper §4.1): LLaVA-Instruct-150k (visual question
answering, text loss only) and ReasonSeg (reasoning segmentation with
free-form answers), read in their released formats.

* `llava_instruct`: llava_instruct_150k.json, a list of {"id", "image":
  "000000215677.jpg", "conversations": [{"from": "human"|"gpt", "value"}...]};
  the first human turn holds "<image>". Images are COCO train2017 (FILE's
  folder's images/, or LISA's layout ../coco/train2017).
* `reasonseg`: ReasonSeg: ROOT/{train,val,test}/NAME.jpg beside NAME.json
  {"text": [queries], "is_sentence": bool, "shapes": [{"label", "points"}]}
  (LabelMe-style polygons: "target" = 1, "ignore" = void, "flag" skipped;
  larger polygons drawn first), and ROOT/explanatory/train.json, a list of
  {"image": NAME.jpg, "query", "outputs"}: the free-form answers.

ReasonSeg answers, as LISA draws them for images with an explanation:
10 % the explanation alone (a text-only turn), otherwise half "<TK>, <PO>"
alone and half "<TK>, <PO> {explanation}". These rates are LISA's
(`--explanatory 0.1`); the paper does not give them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrack.errors import DataError
from instrack.fileio import read_json
from trackgpt.data.readers import TrainItem

EXPLANATORY_TEXT_ONLY = 0.1  # LISA's --explanatory default


# ---- LLaVA-Instruct-150k -----------------------------------------------------


def read_llava_instruct(path: str | Path, split: str = "train", rephrasings: bool = True) -> list[TrainItem]:
    path = Path(path)
    if path.is_dir():
        path = path / "llava_instruct_150k.json"
    if not path.is_file():
        raise DataError(f"{path}: LLaVA-Instruct JSON not found")
    records = read_json(path)
    if not isinstance(records, list):
        raise DataError(f"{path}: expected a list of conversations")
    candidates = [path.parent / "images", path.parent.parent / "coco" / "train2017"]
    image_root = next((c for c in candidates if c.is_dir()), None)
    if image_root is None:
        raise DataError(f"{path}: COCO train2017 images not found (looked in {candidates[0]} and {candidates[1]})")
    roles = {"human": 0, "gpt": 1}
    items = []
    for number, record in enumerate(records):
        where = f"{path}: conversation {number}"
        try:
            messages = [(roles[m["from"]], str(m["value"])) for m in record["conversations"]]
            image = image_root / record["image"]
        except (KeyError, TypeError) as err:
            raise DataError(f"{where}: expected {{\"image\", \"conversations\": [{{\"from\": human|gpt, "
                            f"\"value\"}}]}} ({type(err).__name__}: {err})") from err
        if messages and messages[0][0] == 1:  # starts with the assistant: skipped, as LLaVA/LISA do
            messages = messages[1:]
        if any(role != k % 2 for k, (role, _) in enumerate(messages)):
            raise DataError(f"{where}: turns must alternate human, gpt")
        turns = tuple((messages[k][1], messages[k + 1][1]) for k in range(0, len(messages) - 1, 2))
        if not turns:
            continue
        items.append(TrainItem(f"llava_instruct:{record.get('id', number)}", (image,), (), (), turns[0][0], "vqa",
                               turns=turns, source="llava_instruct"))
    return items


# ---- ReasonSeg ----------------------------------------------------------------


@dataclass(frozen=True)
class PolygonTarget:
    """ReasonSeg's polygons rasterised: target 1, "ignore" 255, largest first."""

    shapes: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]
    height: int
    width: int

    def load(self, index: int) -> np.ndarray:
        return rasterise_polygons(self.shapes, self.height, self.width)


def _draw(canvas: np.ndarray, points, value: int) -> None:
    """Fill a polygon and its outline with OpenCV at integer vertices: the way
    ReasonSeg's masks are made by its authors' loader (LISA's
    utils/data_processing.py), so the pixels on slanted edges agree."""
    import cv2

    poly = np.array([points], dtype=np.int32)
    cv2.polylines(canvas, poly, True, value, 1)
    cv2.fillPoly(canvas, poly, value)


def rasterise_polygons(shapes, height: int, width: int) -> np.ndarray:
    kept = [(label, points) for label, points in shapes if label.lower() != "flag" and len(points) >= 1]
    areas = []
    for _, points in kept:
        scratch = np.zeros((height, width), np.uint8)
        _draw(scratch, points, 1)
        areas.append(int(scratch.sum()))
    # Larger polygons first, so a small "ignore" region inside a target stays void
    # (ties in the same order as the reference loader: a reversed argsort).
    order = np.argsort(areas)[::-1] if areas else []
    mask = np.zeros((height, width), np.uint8)
    for k in order:
        label, points = kept[int(k)]
        _draw(mask, points, 255 if "ignore" in label.lower() else 1)
    return mask


@dataclass(frozen=True)
class ReasonSegImage:
    image: Path
    queries: tuple[str, ...]
    is_sentence: bool
    target: PolygonTarget
    explanation: str | None

    def sample(self, rng: random.Random) -> TrainItem:
        query = self.queries[rng.randrange(len(self.queries))]
        name = f"reasonseg:{self.image.stem}"
        style = "instruction" if self.is_sentence else "referring"
        if self.explanation and rng.random() < EXPLANATORY_TEXT_ONLY:
            return TrainItem(name, (self.image,), (), (), query, "vqa", turns=((query, self.explanation),),
                             source="reasonseg")
        explanation = self.explanation if self.explanation and rng.random() < 0.5 else None
        return TrainItem(name, (self.image,), (), (), query, style, explanation=explanation,
                         target_source=self.target, source="reasonseg")


def read_reasonseg(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[ReasonSegImage]:
    from PIL import Image

    root = Path(root)
    folder = root / split
    if not folder.is_dir():
        raise DataError(f"{root}: no {split}/ folder (ReasonSeg layout: {split}/NAME.jpg + NAME.json)")
    explanations: dict[str, str] = {}
    explanatory = root / "explanatory" / f"{split}.json"
    if explanatory.is_file():
        try:
            for record in json.loads(explanatory.read_text(encoding="utf-8")):
                explanations[record["image"]] = str(record["outputs"])
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
            raise DataError(f"{explanatory}: expected a list of {{\"image\", \"query\", \"outputs\"}} ({err})") from err
    out = []
    for image in sorted(folder.glob("*.jpg")):
        ann_path = image.with_suffix(".json")
        try:
            raw = ann_path.read_bytes()
        except OSError as err:
            raise DataError(f"{image}: no annotation {ann_path.name} beside it") from err
        try:
            try:
                ann = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:  # some released files are cp1252 (LISA reads them so too)
                ann = json.loads(raw.decode("cp1252"))
            queries = tuple(str(t) for t in ann["text"])
            shapes = tuple((str(s["label"]), tuple((float(x), float(y)) for x, y in s["points"])) for s in ann["shapes"])
            is_sentence = bool(ann["is_sentence"])
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as err:
            raise DataError(f"{ann_path}: expected {{\"text\": [...], \"is_sentence\", \"shapes\": [{{\"label\", "
                            f"\"points\"}}]}} ({type(err).__name__}: {err})") from err
        if not queries:
            raise DataError(f"{ann_path}: no query in \"text\"")
        with Image.open(image) as im:
            width, height = im.size
        out.append(ReasonSegImage(image, queries, is_sentence, PolygonTarget(shapes, height, width),
                                  explanations.get(image.name)))
    return out
