"""What davis-semi and davis-unsup share: the official DAVIS-2017 layout (or the
Ref-DAVIS17 layout as ReferFormer converts it), one unit per ground-truth
object, indexed-PNG predictions PRED/<seq>/<frame>.png holding object ids."""

from __future__ import annotations

from pathlib import Path

from instrack.errors import DataError
from instrack.evaluation.protocols.base import Plan, Protocol, probe_gt, submission_source


class DavisProtocol(Protocol):
    default_split = "val"
    submission_depth = 2
    reads_rle = False
    unit_key = "object"
    #: DAVIS semi-supervised skips the first (given) and last frame
    skip_first_last: bool = False
    #: whether GT value 255 is excluded from the metrics (else it is background)
    use_void: bool = True
    #: Hungarian matching of predicted ids to GT objects (DAVIS unsupervised)
    hungarian: bool = False
    #: GT folder under the DAVIS root
    annotations: str = "Annotations"
    max_proposals: int = 20

    def plan(self, gt: Path, submission, split: str) -> Plan:
        from instrack.dataset.sources.davis_layout import read_davis_layout
        from instrack.dataset.sources.refer_layout import is_refer_layout, read_refer_sequences
        from instrack.evaluation.scoring import DavisSequenceJob
        from instrack.evaluation.validation import Expectation

        if is_refer_layout(gt):
            sequences, split = read_refer_sequences(gt, split)
            layout = "refer-davis17"
        else:
            sequences = read_davis_layout(gt, subset=split, annotations=self.annotations)
            layout = "davis-2017"
        expectation = Expectation()
        jobs = []
        for seq in sequences:
            frames = seq.frames[1:-1] if self.skip_first_last else seq.frames
            if not frames:
                raise DataError(
                    f"{seq.mask_dir}: {len(seq.frames)} frame(s); {self.name} skips the first and last, "
                    "leaving nothing to evaluate"
                )
            expectation.sizes[seq.name] = probe_gt(seq.mask_path(seq.frames[0]))
            expectation.layout[seq.name] = {"*": [f"{seq.name}/{frame}.png" for frame in frames]}
            expectation.allowed.update(f"{seq.name}/{frame}.png" for frame in seq.frames)
            jobs.append(
                DavisSequenceJob(
                    video=seq.name,
                    mask_dir=str(seq.mask_dir),
                    frames=seq.frames,
                    skip_first_last=self.skip_first_last,
                    use_void=self.use_void,
                    hungarian=self.hungarian,
                    max_proposals=self.max_proposals,
                    reader=submission.reader_for(seq.name),
                    source=submission_source(submission),
                )
            )
        dataset = {
            "root": str(gt),
            "split": split,
            "layout": layout,
            "annotations": self.annotations if layout == "davis-2017" else "Annotations",
            "n_videos": len(jobs),
            "n_frames": sum(len(j.frames) for j in jobs),
        }
        return Plan(self, jobs, expectation, dataset, {})
