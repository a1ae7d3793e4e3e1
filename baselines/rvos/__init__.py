"""Adapters for the referring-VOS baselines of Table 2 (ReferFormer, SgMg,
R²-VOS, OnlineRefer): export a split in the Ref-YouTube-VOS layout, run the
user's checkout of the official code, convert its outputs into a SPEC §2
submission, or convert prediction folders someone else produced.

    python -m instrack_baselines.rvos export --data ROOT --split test --out YTVOS
    python -m instrack_baselines.rvos run onlinerefer --data ROOT --repo CHECKOUT --checkpoint W.pth --work DIR --out PRED
    python -m instrack_baselines.rvos convert PRED_FOLDER_OR_ZIP --data ROOT --out PRED
"""

from instrack_baselines.rvos.convert import binarize, convert_predictions, find_prediction_root
from instrack_baselines.rvos.export import export_ytvos
from instrack_baselines.rvos.run import run_baseline
from instrack_baselines.rvos.specs import BASELINES, RvosBaseline, get_baseline

__all__ = ["BASELINES", "RvosBaseline", "binarize", "convert_predictions", "export_ytvos", "find_prediction_root",
           "get_baseline", "run_baseline"]
