"""Ground truth of expression units stored in a mask_dict (MeViS, ReVOS):
planning helpers and the per-frame union of an expression's anno_ids, shared
by the protocols that read that layout."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from instrack.errors import DataError


def index_for(split, mask_dict_path: Path):
    """Index the anno_ids the split's expressions use; DataError naming every
    missing anno_id (first ten) and every frame-count mismatch (first ten)."""
    from instrack.dataset.sources.mask_dict import index_mask_dict

    wanted = {a for v in split.videos for e in v.expressions for a in e.anno_ids}
    index = index_mask_dict(mask_dict_path, wanted)
    missing = sorted(wanted - set(index), key=lambda a: (len(a), a))
    if missing:
        raise DataError(f"{mask_dict_path}: {len(missing)} anno_id(s) used by {split.meta_path.name} are missing "
                        f"(first: {', '.join(missing[:10])})")
    wrong = []
    for video in split.videos:
        for expression in video.expressions:
            for anno in expression.anno_ids:
                if index[anno].n_frames != len(video.frames):
                    wrong.append(f"anno_id {anno} of {video.name} has {index[anno].n_frames} masks for "
                                 f"{len(video.frames)} frames")
    if wrong:
        raise DataError(f"{mask_dict_path}: {'; '.join(sorted(set(wrong))[:10])}"
                        + (f" (and {len(set(wrong)) - 10} more)" if len(set(wrong)) > 10 else ""))
    return index


def video_size(split, video, index) -> tuple[int, int]:
    """(H, W) of a video: its first ground-truth mask's, else its first JPEG's."""
    for expression in video.expressions:
        for anno in expression.anno_ids:
            if index[anno].size is not None:
                return index[anno].size
    jpeg = split.jpeg_path(video.name, video.frames[0])
    try:
        from PIL import Image

        with Image.open(jpeg) as image:
            return image.size[1], image.size[0]
    except OSError as err:
        raise DataError(f"{jpeg}: no mask of this video gives its size and the frame cannot be read ({err})") \
            from None


def is_no_target(expression, index) -> bool:
    """No anno_id, or none of them has a mask in any frame (MeViS v2, ReVOS type_id 2)."""
    return all(index[a].n_present == 0 for a in expression.anno_ids)


def expression_targets(masks, frames, units, shape, where: str) -> Iterator[tuple[int, str, dict]]:
    """Per frame: (index, frame name, {unit: boolean ground truth}), each unit's
    target the union of its anno_ids' masks (empty where all are null). Every
    anno_id's RLE is decoded once per frame, whatever number of units share it.
    `units` is a sequence of (unit label, anno_ids); `masks` a MaskDictReader."""
    import numpy as np

    from instrack.dataset.sources.mask_dict import decode_rle

    per_anno = {a: masks.rles(a) for _, annos in units for a in annos}
    empty = np.zeros(shape, dtype=bool)
    for t, frame in enumerate(frames):
        decoded: dict[str, np.ndarray | None] = {}
        unions: dict[tuple, np.ndarray] = {}
        targets = {}
        for unit, annos in units:
            key = tuple(sorted(set(annos)))
            if key not in unions:
                union, shared = None, False
                for anno in key:
                    if anno not in decoded:
                        rle = per_anno[anno][t]
                        decoded[anno] = None if rle is None else decode_rle(
                            rle, shape, f"{where}: anno_id {anno}, frame {frame}").view(bool)  # 0/1 uint8
                    if decoded[anno] is None:
                        continue
                    if union is None:  # the first mask is used as it is; copied only to add a second
                        union, shared = decoded[anno], True
                    elif shared:
                        union, shared = np.logical_or(union, decoded[anno]), False
                    else:
                        np.logical_or(union, decoded[anno], out=union)
                unions[key] = empty if union is None else union
            targets[unit] = unions[key]
        yield t, frame, targets
