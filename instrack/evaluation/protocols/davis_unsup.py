"""`davis-unsup` (SPEC §5): DAVIS-2017 unsupervised, which is also the Ref-DAVIS17
protocol: up to 20 proposals matched to the ground-truth objects by the
Hungarian algorithm on (mean J + mean F) / 2; all frames; void excluded.

Reads the official layout (Annotations_unsupervised/480p) or Ref-DAVIS17 as
ReferFormer's tools/data/convert_davis_to_ytvos.py writes it (ROOT/valid/Annotations,
which holds the unsupervised annotations, and ROOT/meta_expressions/valid/)."""

from __future__ import annotations

from instrack.evaluation.protocols import register
from instrack.evaluation.protocols._davis import DavisProtocol


class DavisUnsupProtocol(DavisProtocol):
    name = "davis-unsup"
    description = "DAVIS-2017 unsupervised / Ref-DAVIS17: Hungarian matching of up to 20 proposals"
    skip_first_last = False
    use_void = True
    hungarian = True
    annotations = "Annotations_unsupervised"


DAVIS_UNSUP = register(DavisUnsupProtocol())
