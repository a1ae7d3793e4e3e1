"""`mevis` (SPEC §7): MeViS as released, scored as henghuiding/MeViS
tools/eval_mevis.py scores it.

One unit per (video, expression); its ground truth in a frame is the union of
its anno_ids' masks (empty where all are null: MeViS v2's no-target
expressions); J and F on every frame, no void; per expression the means over
its frames; `J-Mean` and `F-Mean` the means over expressions and `J&F-Mean`
their mean. Predictions: PRED/<video>/<exp_id>/<frame>.png (or a zip / RLE
JSON), any non-zero value the target.

Unlike the official script, every missing video, expression or frame is
listed before anything is scored (it prints "not found" and scores 0, or
crashes on a missing expression), and mask_dict.json is streamed, not loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from instrack.evaluation.protocols import register
from instrack.evaluation.protocols.base import (Plan, Protocol, add_per_frame, dataset_summary,
                                                expression_frame_paths, submission_source)

MEVIS_CSV_COLUMNS = ("video", "exp_id", "target", "n_frames", "J&F-Mean", "J-Mean", "F-Mean", "text")


class MevisProtocol(Protocol):
    name = "mevis"
    description = "MeViS: one unit per expression, target = union of its anno_ids; all frames; as tools/eval_mevis.py"
    default_split = "valid_u"
    submission_depth = 3
    unit_key = "exp_id"
    csv_columns = MEVIS_CSV_COLUMNS

    def plan(self, gt: Path, submission, split: str) -> Plan:
        from instrack.dataset.sources.mask_dict import MaskDictReader
        from instrack.dataset.sources.mevis_layout import read_mevis_split
        from instrack.errors import DataError
        from instrack.evaluation.protocols._mask_dict_gt import index_for, is_no_target, video_size
        from instrack.evaluation.validation import Expectation

        split_data = read_mevis_split(gt, split)
        index = index_for(split_data, split_data.mask_dict_path)
        expectation = Expectation()
        jobs, unit_info = [], {}
        n_frames = n_no_target = 0
        for video in split_data.videos:
            if not video.expressions:
                continue
            size = video_size(split_data, video, index)
            expectation.sizes[video.name] = size
            expectation.layout[video.name] = expression_frame_paths(
                video.name, [e.exp_id for e in video.expressions], video.frames)
            for expression in video.expressions:
                no_target = is_no_target(expression, index)
                n_no_target += no_target
                unit_info[(video.name, expression.exp_id)] = {
                    "target": "no-target" if no_target else "target", "text": expression.text}
            annos = {a for e in video.expressions for a in e.anno_ids}
            n_frames += len(video.frames) * len(video.expressions)
            jobs.append(MevisVideoJob(
                video=video.name,
                frames=video.frames,
                units=tuple((e.exp_id, e.anno_ids) for e in video.expressions),
                shape=size,
                masks=MaskDictReader(str(split_data.mask_dict_path),
                                     {a: (index[a].offset, index[a].length) for a in sorted(annos)}),
                reader=submission.reader_for(video.name),
                source=submission_source(submission),
            ))
        if not jobs:
            raise DataError(f"{split_data.meta_path}: no video with an expression to evaluate")
        dataset = dataset_summary(gt, split, "mevis", len(jobs), len(unit_info), n_frames, split_data.meta_path,
                                  n_no_target=n_no_target)
        return Plan(self, jobs, expectation, dataset, unit_info)

    def unit_record(self, scores, info: dict, per_frame: bool) -> dict:
        j_mean, f_mean = float(scores.j.mean()), float(scores.f.mean())
        record = {"video": scores.video, "exp_id": scores.unit, **info, "n_frames": len(scores.frames),
                  "J&F-Mean": (j_mean + f_mean) / 2, "J-Mean": j_mean, "F-Mean": f_mean}
        if per_frame:
            add_per_frame(record, scores)
        return record

    def global_metrics(self, units: list[dict]) -> dict:
        import numpy as np

        j = float(np.mean([u["J-Mean"] for u in units]))
        f = float(np.mean([u["F-Mean"] for u in units]))
        return {"J&F-Mean": (j + f) / 2, "J-Mean": j, "F-Mean": f}

    def summarise(self, units: list[dict], outcomes: list) -> dict:
        breakdowns = {"per_video": self.group(units, "video"), "by_target": self.group(units, "target")}
        return {"metrics": self.global_metrics(units), "breakdowns": breakdowns}


@dataclass(frozen=True)
class MevisVideoJob:
    """All expressions of one MeViS video; streams frame by frame."""

    video: str
    frames: tuple[str, ...]
    units: tuple[tuple[str, tuple[str, ...]], ...]  # (exp_id, anno_ids)
    shape: tuple[int, int]
    masks: object  # MaskDictReader
    reader: object  # FrameReader
    source: str

    def __call__(self):
        import numpy as np

        from instrack.errors import DataError
        from instrack.evaluation.metrics import PreparedMask, score_prepared
        from instrack.evaluation.protocols._mask_dict_gt import expression_targets
        from instrack.evaluation.scoring import GroundTruthError, JobOutcome, UnitScores, read_prediction

        outcome = JobOutcome(self.video)
        n = len(self.frames)
        scores = {exp_id: (np.zeros(n), np.zeros(n)) for exp_id, _ in self.units}
        try:
            for t, frame, targets in expression_targets(self.masks, self.frames, self.units, self.shape,
                                                        f"{self.masks.path}: video {self.video}"):
                prepared = {}  # expressions with the same anno_ids share one target, prepared once per frame
                for exp_id, annos in self.units:
                    pred = read_prediction(self.reader, f"{self.video}/{exp_id}/{frame}.png", self.shape,
                                           self.source, outcome)
                    if pred is None or outcome.problems:
                        continue
                    key = frozenset(annos)
                    if key not in prepared:
                        prepared[key] = PreparedMask(targets[exp_id])
                    scores[exp_id][0][t], scores[exp_id][1][t] = score_prepared(prepared[key], PreparedMask(pred))
        except DataError as err:
            raise GroundTruthError(str(err)) from None
        if not outcome.problems:
            for exp_id, _ in self.units:
                j, f = scores[exp_id]
                outcome.units.append(UnitScores(self.video, exp_id, list(self.frames), j, f))
        return outcome


MEVIS = register(MevisProtocol())
