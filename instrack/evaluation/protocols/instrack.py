"""`instrack` (SPEC §5): one unit per (video, instruction), its target the union
of the instruction's object ids; all frames; void (255) excluded.

Ground truth is read from the InsTrack layout (SPEC §1: ROOT/<split>/meta.json
and palette Annotations/), or from the Ref-YouTube-VOS / Ref-DAVIS17 layout as
ReferFormer's converters write it (ROOT/meta_expressions/<split>/meta_expressions.json
and ROOT/<split>/Annotations/<video>/<frame>.png), one unit per expression."""

from __future__ import annotations

from pathlib import Path

from instrack.errors import DataError
from instrack.evaluation.protocols import register
from instrack.evaluation.protocols.base import (Plan, Protocol, dataset_summary, expression_frame_paths, probe_gt,
                                                submission_source)


class InstrackProtocol(Protocol):
    name = "instrack"
    description = "one unit per (video, instruction); all frames; void excluded"
    default_split = "test"
    submission_depth = 3
    unit_key = "exp_id"

    def plan(self, gt: Path, submission, split: str) -> Plan:
        from instrack.dataset.sources.refer_layout import is_refer_layout

        if is_refer_layout(gt):
            return self._plan_refer(gt, submission, split)
        return self._plan_instrack(gt, submission, split)

    def _plan_instrack(self, root: Path, submission, split: str) -> Plan:
        from instrack.dataset.layout import META, read_split
        from instrack.evaluation.scoring import InstrackVideoJob
        from instrack.evaluation.validation import Expectation

        data = read_split(root, split)
        expectation = Expectation()
        jobs, unit_info = [], {}
        n_frames = 0
        for video in data.videos.values():
            if not video.instructions:
                continue
            mask_dir = video.root / "Annotations" / video.name
            size = probe_gt(mask_dir / f"{video.frames[0]}.png")
            if video.height is not None and (video.height, video.width) != size:
                raise DataError(
                    f"{mask_dir / video.frames[0]}.png: size {size[0]}x{size[1]}, "
                    f"{META} says {video.height}x{video.width}"
                )
            expectation.sizes[video.name] = size
            expectation.layout[video.name] = expression_frame_paths(
                video.name, [i.exp_id for i in video.instructions], video.frames)
            for instruction in video.instructions:
                unit_info[(video.name, instruction.exp_id)] = {
                    "kind": instruction.kind,
                    "source": video.source or video.extra.get("source") or "unknown",
                    "text": instruction.text,
                }
            n_frames += len(video.frames) * len(video.instructions)
            jobs.append(
                InstrackVideoJob(
                    video=video.name,
                    mask_dir=str(mask_dir),
                    frames=video.frames,
                    units=tuple((i.exp_id, i.obj_ids) for i in video.instructions),
                    reader=submission.reader_for(video.name),
                    source=submission_source(submission),
                )
            )
        if not jobs:
            raise DataError(f"{root / split / META}: no video with an instruction to evaluate")
        dataset = dataset_summary(root, split, "instrack", len(jobs), len(unit_info), n_frames, root / split / META)
        return Plan(self, jobs, expectation, dataset, unit_info)

    def _plan_refer(self, root: Path, submission, split: str) -> Plan:
        from instrack.dataset.sources.refer_layout import read_refer_layout
        from instrack.evaluation.scoring import InstrackVideoJob
        from instrack.evaluation.validation import Expectation

        layout = read_refer_layout(root, split)
        expectation = Expectation()
        jobs, unit_info = [], {}
        n_frames = 0
        for video in layout.videos:
            if not video.expressions:
                continue
            expectation.sizes[video.name] = probe_gt(video.mask_path(video.frames[0]))
            expectation.layout[video.name] = expression_frame_paths(
                video.name, [e.exp_id for e in video.expressions], video.frames)
            for expression in video.expressions:
                unit_info[(video.name, expression.exp_id)] = {"text": expression.text}
            n_frames += len(video.frames) * len(video.expressions)
            jobs.append(
                InstrackVideoJob(
                    video=video.name,
                    mask_dir=str(video.mask_dir),
                    frames=video.frames,
                    units=tuple((e.exp_id, e.obj_ids) for e in video.expressions),
                    reader=submission.reader_for(video.name),
                    source=submission_source(submission),
                )
            )
        if not jobs:
            raise DataError(f"{layout.meta_path}: no video with an expression to evaluate")
        dataset = dataset_summary(root, layout.split, "refer-youtube-vos", len(jobs), len(unit_info), n_frames,
                                  layout.meta_path)
        return Plan(self, jobs, expectation, dataset, unit_info)

    def summarise(self, units: list[dict], outcomes: list) -> dict:
        from instrack.evaluation.results import robustness

        breakdowns = {
            "per_video": self.group(units, "video"),
            "by_kind": self.group(units, "kind"),
            "by_source": self.group(units, "source"),
            "robustness": robustness(units),
        }
        return {"metrics": self.global_metrics(units), "breakdowns": breakdowns}


INSTRACK = register(InstrackProtocol())
