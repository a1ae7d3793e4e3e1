"""A selection manifest from an imported release, and the difference of two
manifests, so that the bundled reconstruction can be compared with the
authors' selection and `curate` can rebuild a release from raw DAVIS/VIPSeg.

From a release we know, per video: the source video (its name), the split, the
frames, and the release's own target reference. That reference is a DAVIS
object id only when the release numbers objects like the DAVIS annotation set
(Ref-DAVIS17 does: Annotations_unsupervised), which is assumed only when its
masks hold other objects too (a binary mask of the target alone does not say
which DAVIS object it is); a VIPSeg target is a panoptic
value only when the release kept VIPSeg's values (>= 125). Otherwise the entry
says so (`release_target`) and falls back to the top-candidate rule, and the
caller is told which entries those are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from instrack.dataset.layout import available_splits, read_split
from instrack.dataset.manifest import FORMAT, Manifest
from instrack.errors import DataError


def _frame_range(frames: list[str], source: str) -> tuple[dict[str, Any], str | None]:
    """DAVIS frames are named 00000, 00001, ...: a release's frames map to a
    slice when they are evenly spaced numbers; otherwise all frames, said so."""
    if source == "davis2017" and all(f.isdigit() for f in frames):
        numbers = [int(f) for f in frames]
        step = numbers[1] - numbers[0] if len(numbers) > 1 else 1
        if step > 0 and numbers == list(range(numbers[0], numbers[-1] + 1, step)):
            return {"start": numbers[0], "stop": numbers[-1] + 1, "step": step}, None
    return {"start": 0, "stop": None, "step": 1}, f"{len(frames)} frames in the release; the range is not derivable"


def manifest_from_release(root: str | Path) -> tuple[dict[str, Any], list[str]]:
    """(manifest JSON, notes on what could not be pinned down). DataError when a
    video's source cannot be told at all."""
    root = Path(root)
    splits = available_splits(root)
    if not splits:
        raise DataError(f"{root}: no split folder with a meta_expressions.json (import the release first)")
    videos, notes, problems = [], [], []
    for split in splits:
        for video in read_split(root, split).videos.values():
            source = video.source
            release = video.extra.get("release", {})
            sequence = video.extra.get("source_sequence", release.get("video", video.name))
            if source not in ("davis2017", "vipseg"):
                problems.append(f"{root / split}: video {video.name!r}: source unknown (not a DAVIS or VIPSeg name)")
                continue
            ids = release.get("obj_id")
            single = ids[0] if isinstance(ids, list) and len(ids) == 1 and isinstance(ids[0], int) else None
            # A palette holding only the target (a binary mask, as InsTrack's own
            # layout has) says nothing about the source's numbering of objects.
            if len(release.get("ids_in_masks", [])) < 2:
                single = None
            entry: dict[str, Any] = {"name": video.name, "source": source, "source_sequence": sequence}
            if release.get("split"):
                entry["source_split"] = release["split"]
            if source == "davis2017" and single:
                entry["target"] = {"obj_id": single}
            elif source == "vipseg" and single and single >= 125:
                entry["target"] = {"value": single}
            else:
                entry["target"] = {"rule": "top-candidate"}
                entry["release_target"] = {k: v for k, v in release.items() if k in ("obj_id", "anno_id", "folder")}
                notes.append(f"{video.name}: the release's target {entry['release_target']} cannot be read as a {source} id; "
                             f"entry falls back to the top-candidate rule")
            entry["split"] = split
            frames, note = _frame_range(list(video.frames), source)
            entry["frames"] = frames
            if note:
                entry["release_frames"] = len(video.frames)
            entry["licence"] = source
            if video.extra.get("category"):
                entry["category"] = video.extra["category"]
            videos.append(entry)
    if problems:
        raise DataError(f"{len(problems)} video(s) cannot be placed: " + "; ".join(problems))
    manifest = {
        "format": FORMAT,
        "version": 1,
        "dataset": "InsTrack",
        "dataset_version": "release",
        "selection": f"from the release imported at {root}",
        "sources": {
            "davis2017": {"licence": "DAVIS terms of use: research use; see davischallenge.org"},
            "vipseg": {"licence": "VIPSeg: released for non-commercial research purposes only"},
        },
        "videos": videos,
    }
    return manifest, notes


def diff_manifests(a: Manifest, b: Manifest) -> list[str]:
    """One line per difference, keyed by (source, source video, target): what
    only A selects, what only B selects, and what both select differently."""

    def key(entry):
        return (entry.source, entry.source_sequence)

    def by_key(manifest):
        out: dict[tuple[str, str], list] = {}
        for entry in manifest.entries:
            out.setdefault(key(entry), []).append(entry)
        return out

    left, right = by_key(a), by_key(b)
    lines = []
    for k in sorted(set(left) | set(right)):
        if k not in right:
            lines += [f"- {e.source} {e.source_sequence} {e.target.to_json()} {e.split} (only in {a.path})"
                      for e in left[k]]
        elif k not in left:
            lines += [f"+ {e.source} {e.source_sequence} {e.target.to_json()} {e.split} (only in {b.path})"
                      for e in right[k]]
        else:
            l_set = {(str(e.target.to_json()), e.split, str(e.frames.to_json())) for e in left[k]}
            r_set = {(str(e.target.to_json()), e.split, str(e.frames.to_json())) for e in right[k]}
            if l_set != r_set:
                lines.append(
                    f"~ {k[0]} {k[1]}: "
                    + "; ".join(f"target {t} split {s} frames {f}" for t, s, f in sorted(l_set))
                    + " -> "
                    + "; ".join(f"target {t} split {s} frames {f}" for t, s, f in sorted(r_set))
                )
    return lines
