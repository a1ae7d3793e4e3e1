"""`davis-semi` (SPEC §5): DAVIS-2017 semi-supervised, as
davisvideochallenge/davis2017-evaluation scores it: object k against predicted
id k; the first (given) and last frames skipped; void counts as background."""

from __future__ import annotations

from instrack.evaluation.protocols import register
from instrack.evaluation.protocols._davis import DavisProtocol


class DavisSemiProtocol(DavisProtocol):
    name = "davis-semi"
    description = "DAVIS-2017 semi-supervised: object k vs id k; first and last frames skipped"
    skip_first_last = True
    use_void = False
    hungarian = False


DAVIS_SEMI = register(DavisSemiProtocol())
