"""Tiny stage-1 datasets written in each release's own format (from each format's
documentation: ADEChallengeData2016, COCO-Stuff stuffthingmaps, PACO / VLPart /
PartImageNet COCO JSON, the refer toolkit's refs(*).p + instances.json,
llava_instruct_150k.json, ReasonSeg's image + JSON pairs), laid out as LISA's
README arranges them under one dataset folder. Every image is one flat colour
per dataset (JPEG keeps a flat colour within a level or two), every target a
known rectangle, so tests can check pixels."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

H, W = 24, 32
COLOURS = {"ade20k": 30, "cocostuff": 60, "paco_lvis": 90, "pascal_part": 120, "partimagenet": 150,
           "refcoco": 170, "refcoco+": 180, "refcocog": 190, "llava_instruct": 210, "reasonseg": 230}


def _jpeg(path: Path, value: int, size=(H, W)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, np.uint8)).save(path, quality=95)


def _png(path: Path, label: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(label.astype(np.uint8), mode="L").save(path)


def box_polygon(x0: int, y0: int, x1: int, y1: int) -> list[float]:
    """A COCO polygon around pixels x0..x1-1, y0..y1-1 (pixel edges)."""
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as coco_mask

    rle = coco_mask.encode(np.asfortranarray(mask))
    return {"size": rle["size"], "counts": rle["counts"].decode()}


def write_stage1(root: Path) -> dict[str, Path]:
    """All stage-1 sets under root (LISA's `dataset` layout); returns kind -> --data path."""
    paths: dict[str, Path] = {}

    # ADE20K: 0 = other (void), k = class k of objectInfo150.txt.
    ade = root / "ade20k"
    _jpeg(ade / "images" / "training" / "ADE_train_00000001.jpg", COLOURS["ade20k"])
    label = np.zeros((H, W), np.uint8)
    label[:, :16] = 3  # sky
    label[12:, 16:] = 13  # person
    _png(ade / "annotations" / "training" / "ADE_train_00000001.png", label)
    lines = ["Idx\tRatio\tTrain\tVal\tName"]
    names = {3: "sky", 13: "person, individual, someone, somebody, mortal, soul"}
    lines += [f"{i}\t0.01\t10\t1\t{names.get(i, f'thing{i}')}" for i in range(1, 151)]
    (ade / "objectInfo150.txt").write_text("\n".join(lines) + "\n")
    paths["ade20k"] = ade

    # COCO-Stuff: PNG value v = class v+1; "-" names void (LISA); images in ../coco/train2017.
    stuff = root / "cocostuff"
    label = np.full((H, W), 255, np.uint8)
    label[:8] = 0  # person
    label[8:16] = 95  # class 96, building-other: void
    label[16:] = 104  # class 105, dirt
    _png(stuff / "train2017" / "000000000009.png", label)
    (stuff / "labels.txt").write_text("0: unlabeled\n1: person\n96: building-other\n105: dirt\n")
    _jpeg(root / "coco" / "train2017" / "000000000009.jpg", COLOURS["cocostuff"])
    paths["cocostuff"] = stuff

    # PACO-LVIS: COCO JSON, "object" / "object:part" names with LVIS senses; COCO images.
    paco = root / "vlpart" / "paco"
    _jpeg(root / "coco" / "train2017" / "000000000025.jpg", COLOURS["paco_lvis"])
    (paco / "annotations").mkdir(parents=True)
    (paco / "annotations" / "paco_lvis_v1_train.json").write_text(json.dumps({
        "images": [{"id": 25, "file_name": "train2017/000000000025.jpg", "height": H, "width": W}],
        "categories": [{"id": 7, "name": "mug_(drinking_vessel):handle"}],
        "annotations": [{"id": 1, "image_id": 25, "category_id": 7, "segmentation": [box_polygon(2, 3, 10, 9)],
                         "area": 48, "bbox": [2, 3, 8, 6], "iscrowd": 0}],
    }))
    paths["paco_lvis"] = paco

    # PASCAL-Part (VLPart): train.json + VOCdevkit/VOC2010/JPEGImages; an RLE segmentation.
    pascal = root / "vlpart" / "pascal_part"
    _jpeg(pascal / "VOCdevkit" / "VOC2010" / "JPEGImages" / "2008_000002.jpg", COLOURS["pascal_part"])
    (pascal / "train.json").write_text(json.dumps({
        "images": [{"id": 2, "file_name": "2008_000002.jpg", "height": H, "width": W}],
        "categories": [{"id": 3, "name": "dog:head"}],
        "annotations": [{"id": 9, "image_id": 2, "category_id": 3, "segmentation": _rle(box(20, 0, 30, 5)),
                         "area": 50, "bbox": [20, 0, 10, 5], "iscrowd": 0}],
    }))
    paths["pascal_part"] = pascal

    # PartImageNet: COCO JSON, part names under an object super-category.
    part = root / "partimagenet"
    _jpeg(part / "images" / "train" / "n01440764_10.JPEG", COLOURS["partimagenet"])
    (part / "annotations").mkdir(parents=True)
    (part / "annotations" / "train.json").write_text(json.dumps({
        "images": [{"id": 0, "file_name": "n01440764_10.JPEG", "height": H, "width": W}],
        "categories": [{"id": 4, "name": "Fish Fin", "supercategory": "Fish"}],
        "annotations": [{"id": 0, "image_id": 0, "category_id": 4, "segmentation": [box_polygon(0, 20, 6, 24)],
                         "area": 24, "bbox": [0, 20, 6, 4], "iscrowd": 0}],
    }))
    paths["partimagenet"] = part

    # RefCOCO / RefCOCO+ / RefCOCOg: refs(unc|umd).p + instances.json; train2014 images.
    refer = root / "refer_seg"
    for kind, split_by in (("refcoco", "unc"), ("refcoco+", "unc"), ("refcocog", "umd")):
        image_id = {"refcoco": 1, "refcoco+": 2, "refcocog": 3}[kind]
        file_name = f"COCO_train2014_{image_id:012d}.jpg"
        _jpeg(refer / "images" / "mscoco" / "images" / "train2014" / file_name, COLOURS[kind])
        (refer / kind).mkdir(parents=True)
        (refer / kind / "instances.json").write_text(json.dumps({
            "images": [{"id": image_id, "file_name": file_name, "height": H, "width": W}],
            "annotations": [
                {"id": 100 + image_id, "image_id": image_id, "category_id": 1, "segmentation": [box_polygon(4, 4, 12, 20)],
                 "area": 128, "bbox": [4, 4, 8, 16], "iscrowd": 0},
                {"id": 200 + image_id, "image_id": image_id, "category_id": 1, "segmentation": [box_polygon(20, 4, 28, 20)],
                 "area": 128, "bbox": [20, 4, 8, 16], "iscrowd": 0}],
            "categories": [{"id": 1, "name": "person", "supercategory": "person"}],
        }))
        refs = [
            {"ref_id": 1, "ann_id": 100 + image_id, "image_id": image_id, "split": "train", "category_id": 1,
             "file_name": f"COCO_train2014_{image_id:012d}_{100 + image_id}.jpg", "sent_ids": [1],
             "sentences": [{"sent": f"left person {kind}", "raw": f"Left person {kind}.", "tokens": ["left"],
                            "sent_id": 1}]},
            {"ref_id": 2, "ann_id": 200 + image_id, "image_id": image_id, "split": "val", "category_id": 1,
             "file_name": f"COCO_train2014_{image_id:012d}_{200 + image_id}.jpg", "sent_ids": [2],
             "sentences": [{"sent": "right person", "raw": "Right person.", "tokens": ["right"], "sent_id": 2}]},
        ]
        (refer / kind / f"refs({split_by}).p").write_bytes(pickle.dumps(refs, protocol=2))
        paths[kind] = refer / kind

    # LLaVA-Instruct-150k: one JSON list; images are COCO train2017 (LISA: ../coco/train2017).
    llava = root / "llava_dataset" / "llava_instruct_150k.json"
    _jpeg(root / "coco" / "train2017" / "000000215677.jpg", COLOURS["llava_instruct"])
    llava.parent.mkdir(parents=True)
    llava.write_text(json.dumps([{"id": "000000215677", "image": "000000215677.jpg", "conversations": [
        {"from": "human", "value": "What colour is the picture?\n<image>"},
        {"from": "gpt", "value": "It is light grey."},
        {"from": "human", "value": "Is anything in it?"},
        {"from": "gpt", "value": "No, it is empty."}]}]))
    paths["llava_instruct"] = llava

    # ReasonSeg: train/NAME.jpg + NAME.json (LabelMe polygons), explanatory/train.json.
    reason = root / "reason_seg" / "ReasonSeg"
    _jpeg(reason / "train" / "img1.jpg", COLOURS["reasonseg"])
    (reason / "train" / "img1.json").write_text(json.dumps({
        "text": ["the thing you would sit on to rest"], "is_sentence": True,
        "shapes": [{"label": "target", "points": [[2, 2], [17, 2], [17, 17], [2, 17]], "shape_type": "polygon"},
                   {"label": "ignore", "points": [[5, 5], [8, 5], [8, 8], [5, 8]], "shape_type": "polygon"},
                   {"label": "flag", "points": [[0, 0], [31, 0], [31, 23], [0, 23]], "shape_type": "polygon"}],
    }))
    (reason / "explanatory").mkdir(parents=True)
    (reason / "explanatory" / "train.json").write_text(json.dumps([
        {"image": "img1.jpg", "query": "the thing you would sit on to rest", "outputs": "The chair has a seat."}]))
    paths["reasonseg"] = reason
    return paths
