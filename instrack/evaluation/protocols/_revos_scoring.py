"""The scoring job of the ReVOS protocols: all expressions of one video.

Frames are streamed: per frame, the instances' RLEs, the foreground and each
expression's prediction are decoded, scored and dropped (the official scorer
holds whole videos as [frames, H, W] arrays). The official reading of a
prediction is `cv2.imread(path, cv2.IMREAD_GRAYSCALE)`; for 8-bit grayscale
PNGs that is exactly what our strict reader returns, and for the others
(palette, 1-bit, 16-bit) the bytes are decoded once more by OpenCV so that
`revos` sees the values the official A and R see."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from instrack.errors import DataError, Problem
from instrack.dataset.sources.mask_dict import MaskDictReader, decode_rle
from instrack.evaluation.protocols._revos_metrics import fixed_frame, official_frame
from instrack.evaluation.scoring import GroundTruthError, JobOutcome, UnitScores, read_prediction
from instrack.evaluation.submission.base import FrameReader


def _foreground(item, shape: tuple[int, int], where: str) -> tuple[int, int, bool]:
    """(pixels as the official sums them, pixels of the union, whether masks
    overlap) of one frame's foreground entry: one RLE, or a list of RLEs that
    the official decodes to [H, W, n] and sums over n, cast to uint8."""
    if isinstance(item, list):
        stack = np.stack([decode_rle(rle, shape, where) for rle in item], axis=2)
        total = stack.sum(axis=2)
        return (int(total.astype(np.uint8).sum(dtype=np.uint64)), int(np.count_nonzero(total)),
                bool((total > 1).any()))
    mask = decode_rle(item, shape, where)
    return int(mask.sum(dtype=np.uint64)), int(np.count_nonzero(mask)), False


def _is_8bit_gray_png(data: bytes) -> bool:
    # IHDR follows the 8-byte signature: length(4) type(4) width(4) height(4) depth(1) colour type(1)
    return len(data) > 25 and data[12:16] == b"IHDR" and data[24] == 8 and data[25] == 0


def _read_prediction(reader: FrameReader, relpath: str, shape: tuple[int, int], source: str, official: bool,
                     outcome: JobOutcome) -> np.ndarray | None:
    """The prediction's values (uint8 as cv2 reads them for `official`, else
    the strict reader's values), or None after recording a problem."""
    values = read_prediction(reader, relpath, shape, source, outcome)
    if values is None or not official:
        return values
    data = reader.read_bytes(relpath)
    if data is None:  # RLE JSON: binary masks, 0/1
        return values.astype(np.uint8, copy=False)
    if _is_8bit_gray_png(data):
        return values
    import cv2

    as_read = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if as_read is None or as_read.shape != shape:
        outcome.problems.append(Problem(f"{source}/{relpath}", "OpenCV cannot decode this PNG (the official "
                                        "scorer reads predictions with cv2.imread)"))
        return None
    return as_read


def _non_binary_as_read(reader: FrameReader, relpath: str, pred: np.ndarray, official: bool) -> bool:
    """Whether the official scorer reads values other than 0 and 1 in this
    prediction. `pred` holds them for `official`; otherwise it holds the strict
    reader's values, and a palette, 1-bit or 16-bit PNG with any foreground is
    read by OpenCV as other values (luminance, 255, value >> 8)."""
    if official or pred.max(initial=0) > 1:
        return bool(pred.max(initial=0) > 1)
    if not pred.any():
        return False
    data = reader.read_bytes(relpath)
    return data is not None and not _is_8bit_gray_png(data)


@dataclass(frozen=True)
class RevosVideoJob:
    """Every expression of one ReVOS video, for `revos` (official) or `revos-fixed`."""

    video: str
    frames: tuple[str, ...]
    size: tuple[int, int]
    units: tuple[tuple[str, int, tuple[str, ...]], ...]  # (exp_id, type_id, anno_ids)
    masks: MaskDictReader  # this video's anno_ids in mask_dict.json
    foreground: tuple  # per frame: RLE or list of RLEs (mask_dict_foreground.json)
    reader: FrameReader
    source: str
    official: bool = True
    foreground_file: str = "mask_dict_foreground.json"

    def __call__(self) -> JobOutcome:
        try:
            return self._score()
        except DataError as err:
            raise GroundTruthError(str(err)) from None

    def _score(self) -> JobOutcome:
        outcome = JobOutcome(self.video)
        instances = {a: self.masks.rles(a) for _, _, annos in self.units for a in annos}
        where = f"{self.masks.path}: video {self.video}"
        fg_where = f"{self.foreground_file}: video {self.video}"
        n = len(self.frames)
        scores = {exp_id: np.zeros((4, n)) for exp_id, _, _ in self.units}
        quirks: dict[str, set[str]] = {exp_id: set() for exp_id, _, _ in self.units}
        for t, frame in enumerate(self.frames):
            fg_official, fg_union, fg_overlap = _foreground(self.foreground[t], self.size, f"{fg_where}, frame {frame}")
            decoded: dict[str, np.ndarray] = {}
            for exp_id, type_id, anno_ids in self.units:
                pred = _read_prediction(self.reader, f"{self.video}/{exp_id}/{frame}.png", self.size, self.source,
                                        self.official, outcome)
                if pred is None or outcome.problems:
                    continue  # keep reading, to report every bad file; score nothing
                masks = []
                for anno in anno_ids:
                    rle = instances[anno][t]
                    if not rle:
                        continue  # null: absent in this frame (the official `if mask_rle:`)
                    if anno not in decoded:
                        decoded[anno] = decode_rle(rle, self.size, f"{where}: anno_id {anno}, frame {frame}")
                    masks.append(decoded[anno])
                if not masks:
                    gt_sum = gt_union = np.zeros(self.size, np.uint8)
                elif len(masks) == 1:
                    gt_sum = gt_union = masks[0]  # 0/1, read only: no copy
                else:
                    gt_sum = masks[0].copy()  # the official += in uint8 (overlaps hold 2, wrap at 256)
                    for mask in masks[1:]:
                        gt_sum += mask
                    # revos-fixed: the union (the sum's != 0 differs only past 255 overlapping instances)
                    gt_union = None if self.official else np.logical_or.reduce(masks)
                    if gt_sum.max(initial=0) > 1:
                        quirks[exp_id].add("overlapping-instances")
                if _non_binary_as_read(self.reader, f"{self.video}/{exp_id}/{frame}.png", pred, self.official):
                    quirks[exp_id].add("non-binary-prediction")
                if fg_overlap:
                    quirks[exp_id].add("overlapping-foreground")
                if type_id == 2:
                    quirks[exp_id].add("no-target-dropped")
                if self.official:
                    frame_scores = official_frame(gt_sum, pred.astype(np.uint8, copy=False), fg_official)
                else:
                    frame_scores = fixed_frame(gt_union.astype(bool, copy=False), pred != 0, fg_union)
                scores[exp_id][:, t] = (frame_scores.j, frame_scores.f, frame_scores.a, frame_scores.r)
        if not outcome.problems:
            for exp_id, type_id, _ in self.units:
                j, f, a, r = scores[exp_id]
                outcome.units.append(UnitScores(self.video, exp_id, list(self.frames), j, f,
                                                extra={"a": a, "r": r, "type_id": type_id,
                                                       "quirks": sorted(quirks[exp_id])}))
        return outcome
