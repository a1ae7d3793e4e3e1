"""RefCOCO, RefCOCO+ and RefCOCOg (paper §4.1's referring sets [19, 33]) as the
`refer` toolkit releases them:

    ROOT/refs(unc).p     (refcocog: refs(umd).p, or refs(google).p)
    ROOT/instances.json  COCO-format images / annotations / categories

refs(*).p is a pickled list of dicts {ref_id, ann_id, image_id, split,
category_id, sentences: [{sent, raw, tokens, sent_id}]}. It is read with an
unpickler that accepts plain containers only, so a crafted file cannot run code.
Images are COCO train2014 (ROOT/images, or LISA's layout
ROOT/../images/mscoco/images/train2014).

Each draw picks an image of the split, then one sentence of its refs (LISA
picks up to three per image for one batch row; we train one per row).
"""

from __future__ import annotations

import io
import pickle
import random
from dataclasses import dataclass
from pathlib import Path

from instrack.errors import DataError
from instrack.fileio import read_json
from trackgpt.data.image_sets import CocoTarget
from trackgpt.data.readers import TrainItem

SPLIT_BY = {"refcoco": ("unc", "google"), "refcoco+": ("unc",), "refcocog": ("umd", "google")}


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refuses {module}.{name}: refs files hold plain lists and dicts only")


def load_refs(path: Path) -> list[dict]:
    try:
        data = path.read_bytes()
        try:
            refs = _PlainUnpickler(io.BytesIO(data)).load()
        except UnicodeDecodeError:  # written by Python 2
            refs = _PlainUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as err:
        raise DataError(f"{path}: not a refer refs file ({err})") from err
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise DataError(f"{path}: expected a pickled list of ref dicts")
    return refs


@dataclass(frozen=True)
class RefImage:
    source: str
    image: Path
    height: int
    width: int
    sentences: tuple[tuple[str, object], ...]  # (sentence, segmentation of its annotation)

    def sample(self, rng: random.Random) -> TrainItem:
        sentence, segmentation = self.sentences[rng.randrange(len(self.sentences))]
        return TrainItem(f"{self.source}:{self.image.stem}", (self.image,), (), (), sentence, "referring",
                         target_source=CocoTarget(segmentation, self.height, self.width), source=self.source)

    __hash__ = object.__hash__


def read_refer(kind: str, root: str | Path, split: str = "train") -> list[RefImage]:
    root = Path(root)
    refs_path = next((root / f"refs({by}).p" for by in SPLIT_BY[kind] if (root / f"refs({by}).p").is_file()), None)
    if refs_path is None:
        wanted = " or ".join(f"refs({by}).p" for by in SPLIT_BY[kind])
        raise DataError(f"{root}: no {wanted} ({kind} as the refer toolkit releases it)")
    instances_path = root / "instances.json"
    if not instances_path.is_file():
        raise DataError(f"{root}: no instances.json beside {refs_path.name}")
    instances = read_json(instances_path)
    candidates = [root / "images", root.parent / "images" / "mscoco" / "images" / "train2014",
                  root.parent / "images" / "train2014"]
    image_root = next((c for c in candidates if c.is_dir()), None)
    if image_root is None:
        raise DataError(f"{root}: COCO train2014 images not found (looked in {', '.join(map(str, candidates))})")
    try:
        images = {int(i["id"]): i for i in instances["images"]}
        anns = {int(a["id"]): a for a in instances["annotations"]}
        by_image: dict[int, list] = {}
        for ref in load_refs(refs_path):
            if ref["split"] != split:
                continue
            segmentation = anns[int(ref["ann_id"])]["segmentation"]
            for sentence in ref["sentences"]:
                by_image.setdefault(int(ref["image_id"]), []).append((sentence["sent"].strip(), segmentation))
        out = []
        for image_id, sentences in sorted(by_image.items()):
            info = images[image_id]
            out.append(RefImage(kind, image_root / info["file_name"], int(info["height"]), int(info["width"]),
                                tuple(sentences)))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise DataError(f"{refs_path}: refs and instances.json do not fit together "
                        f"({type(err).__name__}: {err})") from err
    return out


def read_refcoco(root, split="train", rephrasings=True):
    return read_refer("refcoco", root, split)


def read_refcoco_plus(root, split="train", rephrasings=True):
    return read_refer("refcoco+", root, split)


def read_refcocog(root, split="train", rephrasings=True):
    return read_refer("refcocog", root, split)
