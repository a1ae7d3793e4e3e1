"""Submission readers for the three forms of SPEC §2: a folder, a zip of that
folder, and a COCO RLE JSON file. All give the same view: relative member paths
("video/exp_id/frame.png", or "seq/frame.png" for DAVIS layouts) and, per video,
a picklable reader that decodes masks inside worker processes."""

from __future__ import annotations

from instrack.evaluation.submission.base import FrameReader, Submission
from instrack.evaluation.submission.opening import open_submission

__all__ = ["FrameReader", "Submission", "open_submission"]
