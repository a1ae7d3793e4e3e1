"""Scoring jobs: one picklable job per video, run in worker processes.

A job streams its frames (ground truth and predictions decoded one frame at a
time), so memory does not grow with video length or count; it returns the
per-frame J and F of each of its units, the problems it met while decoding,
and the SHA-256 of every submission file it read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from instrack.errors import Problem
from instrack.masks import MaskError, read_mask
from instrack.evaluation.metrics import score_frame
from instrack.evaluation.submission.base import FrameReader


@dataclass
class UnitScores:
    video: str
    unit: str  # exp_id (instrack) or object id (DAVIS) as a string
    frames: list[str]
    j: np.ndarray
    f: np.ndarray
    #: protocol-specific per-unit values (e.g. ReVOS's A and R), read by the protocol's unit_record
    extra: dict = field(default_factory=dict)


@dataclass
class JobOutcome:
    video: str
    units: list[UnitScores] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    #: protocol-specific facts about the job (e.g. which official quirks it triggered),
    #: read by the protocol's summarise; must not depend on worker scheduling
    notes: dict = field(default_factory=dict)


def _label_mask(labels: np.ndarray, ids: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of the pixels whose value is one of `ids`."""
    if len(ids) == 1:
        return labels == ids[0]
    return np.isin(labels, ids)


def read_prediction(reader: FrameReader, relpath: str, shape: tuple[int, ...], source: str,
                     outcome: JobOutcome) -> np.ndarray | None:
    """Decode one predicted mask, or record why it cannot be used (and return None)."""
    try:
        pred, digest = reader.read(relpath)
    except (MaskError, OSError) as err:
        outcome.problems.append(Problem(f"{source}/{relpath}", str(err)))
        return None
    if digest:
        outcome.digests[relpath] = digest
    if pred.shape != shape:
        outcome.problems.append(
            Problem(f"{source}/{relpath}", f"size {pred.shape[0]}x{pred.shape[1]}, ground truth is {shape[0]}x{shape[1]}")
        )
        return None
    return pred


def _read_gt(path: str) -> np.ndarray:
    try:
        return read_mask(path)
    except (MaskError, OSError) as err:
        # Ground truth is ours, not the submitter's: report it as a data problem.
        raise GroundTruthError(f"{path}: {err}") from err


class GroundTruthError(Exception):
    pass


@dataclass(frozen=True)
class InstrackVideoJob:
    """All instructions of one video of the instrack protocol."""

    video: str
    mask_dir: str
    frames: tuple[str, ...]
    units: tuple[tuple[str, tuple[int, ...]], ...]  # (exp_id, obj_ids)
    reader: FrameReader
    source: str

    def __call__(self) -> JobOutcome:
        outcome = JobOutcome(self.video)
        n = len(self.frames)
        scores = {exp_id: (np.zeros(n), np.zeros(n)) for exp_id, _ in self.units}
        for t, frame in enumerate(self.frames):
            gt = _read_gt(f"{self.mask_dir}/{frame}.png")
            void = gt == 255
            if not void.any():
                void = None
            targets: dict[tuple[int, ...], np.ndarray] = {}
            for exp_id, obj_ids in self.units:
                pred_values = read_prediction(self.reader, f"{self.video}/{exp_id}/{frame}.png", gt.shape,
                                               self.source, outcome)
                if pred_values is None:
                    continue
                if pred_values.dtype not in (np.uint8, np.bool_):
                    pred_values = pred_values != 0  # 16/32-bit PNGs: any non-zero value is the target
                if obj_ids not in targets:
                    targets[obj_ids] = _label_mask(gt, obj_ids)
                scores[exp_id][0][t], scores[exp_id][1][t] = score_frame(targets[obj_ids], pred_values, void)
        if not outcome.problems:
            for exp_id, _ in self.units:
                j, f = scores[exp_id]
                outcome.units.append(UnitScores(self.video, exp_id, list(self.frames), j, f))
        return outcome


@dataclass(frozen=True)
class DavisSequenceJob:
    """All objects of one DAVIS sequence (semi-supervised or unsupervised)."""

    video: str
    mask_dir: str
    frames: tuple[str, ...]  # all ground-truth frames of the sequence
    skip_first_last: bool
    use_void: bool
    hungarian: bool
    max_proposals: int
    reader: FrameReader
    source: str

    def __call__(self) -> JobOutcome:
        outcome = JobOutcome(self.video)
        first = _read_gt(f"{self.mask_dir}/{self.frames[0]}.png")
        n_objects = int(np.max(np.where(first == 255, 0, first)))
        frames = self.frames[1:-1] if self.skip_first_last else self.frames
        n = len(frames)
        if self.hungarian:
            pair_scores = _ProposalScores(n_objects, n)
        else:
            j_scores, f_scores = np.zeros((n_objects, n)), np.zeros((n_objects, n))
        highest = 0
        for t, frame in enumerate(frames):
            gt = first if (t == 0 and not self.skip_first_last) else _read_gt(f"{self.mask_dir}/{frame}.png")
            void = gt == 255
            has_void = bool(void.any())
            relpath = f"{self.video}/{frame}.png"
            pred = read_prediction(self.reader, relpath, gt.shape, self.source, outcome)
            if pred is None:
                continue
            frame_max = int(pred.max())
            limit = self.max_proposals if self.hungarian else n_objects
            if frame_max > limit:
                what = f"at most {limit} proposals" if self.hungarian else f"{n_objects} object(s)"
                outcome.problems.append(
                    Problem(
                        f"{self.source}/{relpath}",
                        f"object id {frame_max}, but the sequence allows {what}"
                        + (" (a 0/255 mask? DAVIS protocols read pixel values as object ids)" if frame_max == 255 else ""),
                    )
                )
                continue
            highest = max(highest, frame_max)
            if outcome.problems:
                continue  # keep checking the rest, but stop computing
            void_mask = void if (self.use_void and has_void) else None
            gt_objects = [_label_mask(gt, (k,)) for k in range(1, n_objects + 1)]
            if self.hungarian:
                pair_scores.add_frame(t, gt_objects, pred, frame_max, void_mask)
            else:
                for k in range(n_objects):
                    j_scores[k, t], f_scores[k, t] = score_frame(gt_objects[k], _label_mask(pred, (k + 1,)), void_mask)
        if outcome.problems:
            return outcome
        if self.hungarian:
            j_scores, f_scores = pair_scores.match(highest)
        for k in range(n_objects):
            outcome.units.append(UnitScores(self.video, str(k + 1), list(frames), j_scores[k], f_scores[k]))
        return outcome


class _ProposalScores:
    """Per-frame J and F of every (proposal id, GT object) pair, streamed.

    Like the official code, the proposals are ids 1..max id found in the
    sequence (ids that never appear are empty proposals), padded with empty
    ones up to the number of GT objects. A proposal's frames before its id
    first appears are scored as empty, which needs only the GT of that frame."""

    def __init__(self, n_objects: int, n_frames: int):
        self.n_objects = n_objects
        self.j_empty = np.zeros((n_objects, n_frames))
        self.f_empty = np.zeros((n_objects, n_frames))
        self.j: dict[int, np.ndarray] = {}
        self.f: dict[int, np.ndarray] = {}

    def add_frame(self, t, gt_objects, pred, frame_max, void) -> None:
        empty = np.zeros(pred.shape, dtype=bool)
        for k, gt_k in enumerate(gt_objects):
            self.j_empty[k, t], self.f_empty[k, t] = score_frame(gt_k, empty, void)
        for proposal in range(1, frame_max + 1):
            if proposal not in self.j:
                self.j[proposal] = self.j_empty.copy()
                self.f[proposal] = self.f_empty.copy()
            pred_p = _label_mask(pred, (proposal,))
            if not pred_p.any():
                self.j[proposal][:, t] = self.j_empty[:, t]
                self.f[proposal][:, t] = self.f_empty[:, t]
                continue
            for k, gt_k in enumerate(gt_objects):
                self.j[proposal][k, t], self.f[proposal][k, t] = score_frame(gt_k, pred_p, void)
        # proposals seen earlier but absent in this frame
        for proposal in self.j:
            if proposal > frame_max:
                self.j[proposal][:, t] = self.j_empty[:, t]
                self.f[proposal][:, t] = self.f_empty[:, t]

    def match(self, highest: int) -> tuple[np.ndarray, np.ndarray]:
        n_proposals = max(highest, self.n_objects)
        # [proposal, object, frame], proposal-major as in the official code, so
        # that linear_sum_assignment breaks ties the same way.
        j_all = np.stack([self.j.get(p, self.j_empty) for p in range(1, n_proposals + 1)])
        f_all = np.stack([self.f.get(p, self.f_empty) for p in range(1, n_proposals + 1)])
        mean_jf = (np.mean(j_all, axis=2) + np.mean(f_all, axis=2)) / 2
        from scipy.optimize import linear_sum_assignment  # 0.3 s to import: only when needed

        rows, cols = linear_sum_assignment(-mean_jf)
        j_out = np.zeros((self.n_objects, j_all.shape[2]))
        f_out = np.zeros_like(j_out)
        for proposal, obj in zip(rows, cols):
            j_out[obj] = j_all[proposal, obj]
            f_out[obj] = f_all[proposal, obj]
        return j_out, f_out
