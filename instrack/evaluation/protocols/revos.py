"""`revos` and `revos-fixed` (SPEC §7): ReVOS as released, scored as
cilinyan/VISA tools/eval_revos.py scores it (`revos`, its quirks included for
comparability with published numbers), or with the quirks corrected
(`revos-fixed`). The quirks are listed in _revos_metrics.py and docs/protocols.md.

One unit per (video, expression); its ground truth in a frame is made of its
anno_ids' masks (empty where all are null: type_id 2, no target); J, F, A
(pixel accuracy) and R (robustness: 1 - false-positive pixels / foreground
pixels of the video) on every frame; per expression the means over frames.
`metrics` holds the overall J&F, J, F, A, R as the official script reports
them (the mean of the referring and the reasoning group values) plus `groups`
for referring, reasoning and no-target (which the official script computes but
never reports). `quirks` lists the official quirks this submission triggered.

Unlike the official script, every missing video, expression or frame is listed
before anything is scored (it scores them 0 in a bare `except`), the mask_dict
is streamed rather than copied into a multiprocessing Manager, and the result
does not depend on the number of workers.
"""

from __future__ import annotations

from pathlib import Path

from instrack.evaluation.protocols import register
from instrack.evaluation.protocols.base import (Plan, Protocol, dataset_summary, expression_frame_paths,
                                                submission_source)

REVOS_CSV_COLUMNS = ("video", "exp_id", "type", "type_id", "n_frames", "J&F-Mean", "J-Mean", "F-Mean", "A-Mean",
                     "R-Mean", "quirks", "text")


class RevosProtocol(Protocol):
    name = "revos"
    description = ("ReVOS: J, F, A, R per expression; referring / reasoning / overall as tools/eval_revos.py "
                   "reports them, its quirks included; plus no-target")
    default_split = "valid"
    submission_depth = 3
    unit_key = "exp_id"
    csv_columns = REVOS_CSV_COLUMNS
    #: reproduce eval_revos.py's quirks (revos) or correct them (revos-fixed)
    official = True

    def plan(self, gt: Path, submission, split: str) -> Plan:
        from instrack.dataset.sources.mask_dict import MaskDictReader
        from instrack.dataset.sources.revos_layout import check_foreground, load_foreground, read_revos_split
        from instrack.errors import DataError
        from instrack.evaluation.protocols._mask_dict_gt import index_for
        from instrack.evaluation.protocols._revos_metrics import TYPE_NAMES
        from instrack.evaluation.protocols._revos_scoring import RevosVideoJob
        from instrack.evaluation.validation import Expectation

        split_data = read_revos_split(gt, split)
        index = index_for(split_data, split_data.mask_dict_path)
        foreground = load_foreground(split_data.foreground_path, {v.name for v in split_data.videos})
        expectation = Expectation()
        jobs, unit_info = [], {}
        n_frames = 0
        counts = {name: 0 for name in TYPE_NAMES.values()}
        for video in split_data.videos:
            size = _video_size(split_data, video, index)
            size = check_foreground(split_data.foreground_path, video, foreground.get(video.name), size)
            if size is None:
                raise DataError(f"{split_data.meta_path}: video {video.name!r}: no mask gives its size")
            expectation.sizes[video.name] = size
            expectation.layout[video.name] = expression_frame_paths(
                video.name, [e.exp_id for e in video.expressions], video.frames)
            for expression in video.expressions:
                counts[TYPE_NAMES[expression.type_id]] += 1
                unit_info[(video.name, expression.exp_id)] = {
                    "type": TYPE_NAMES[expression.type_id], "type_id": expression.type_id, "text": expression.text}
            annos = sorted({a for e in video.expressions for a in e.anno_ids})
            n_frames += len(video.frames) * len(video.expressions)
            jobs.append(RevosVideoJob(
                video=video.name,
                frames=video.frames,
                size=size,
                units=tuple((e.exp_id, e.type_id, e.anno_ids) for e in video.expressions),
                masks=MaskDictReader(str(split_data.mask_dict_path),
                                     {a: (index[a].offset, index[a].length) for a in annos}),
                foreground=tuple(foreground[video.name]["masks_rle"]),
                reader=submission.reader_for(video.name),
                source=submission_source(submission),
                official=self.official,
                foreground_file=str(split_data.foreground_path),
            ))
        dataset = dataset_summary(gt, split, "revos", len(jobs), len(unit_info), n_frames, split_data.meta_path,
                                  n_units_by_type=counts)
        return Plan(self, jobs, expectation, dataset, unit_info)

    def unit_record(self, scores, info: dict, per_frame: bool) -> dict:
        from instrack.evaluation.protocols._revos_metrics import expression_values

        extra = scores.extra
        record = {"video": scores.video, "exp_id": scores.unit, **info, "n_frames": len(scores.frames),
                  **expression_values(scores.j, scores.f, extra["a"], extra["r"]),
                  "quirks": list(extra["quirks"])}
        if per_frame:
            record["frames"] = list(scores.frames)
            for key, values in (("J", scores.j), ("F", scores.f), ("A", extra["a"]), ("R", extra["r"])):
                record[f"{key}-per-frame"] = values.tolist()
        return record

    def overall_and_groups(self, units: list[dict]) -> tuple[dict, dict]:
        from instrack.evaluation.protocols._revos_metrics import fixed_groups, official_groups

        return official_groups(units) if self.official else fixed_groups(units)

    def global_metrics(self, units: list[dict]) -> dict:
        """For breakdowns (per video): plain means over the units, at full precision."""
        from instrack.evaluation.protocols._revos_metrics import fixed_groups

        return fixed_groups(units)[0]

    def summarise(self, units: list[dict], outcomes: list) -> dict:
        from instrack.evaluation.protocols._revos_metrics import quirk_report

        overall, groups = self.overall_and_groups(units)
        by_type = {name: group for name, group in groups.items() if group["n_units"]}
        return {
            "metrics": {**overall, "groups": groups},
            "breakdowns": {"by_type": by_type, "per_video": self.group(units, "video")},
            "quirks": quirk_report(units, official=self.official),
        }


class RevosFixedProtocol(RevosProtocol):
    name = "revos-fixed"
    description = ("ReVOS with eval_revos.py's quirks corrected: binary masks, no rounding, "
                   "overall over every expression (no-target included)")
    official = False


def _video_size(split_data, video, index) -> tuple[int, int] | None:
    """(H, W) from the meta file, checked against the masks' size; else the masks'."""
    from instrack.errors import DataError

    sizes = {index[a].size for e in video.expressions for a in e.anno_ids if index[a].size is not None}
    meta = None if video.height is None else (video.height, video.width)
    for size in sizes:
        if meta is not None and size != meta:
            raise DataError(f"{split_data.mask_dict_path}: video {video.name!r} has {size[0]}x{size[1]} masks, "
                            f"{split_data.meta_path.name} says {meta[0]}x{meta[1]}")
    if len(sizes) > 1:
        raise DataError(f"{split_data.mask_dict_path}: video {video.name!r} has masks of several sizes")
    return meta or (next(iter(sizes)) if sizes else None)


REVOS = register(RevosProtocol())
REVOS_FIXED = register(RevosFixedProtocol())
