"""The evaluation protocols (SPEC §5), registered by name."""

from __future__ import annotations

from dataclasses import dataclass

from instrack.errors import UsageError


@dataclass(frozen=True)
class Protocol:
    name: str
    #: "instrack" reads SPEC §1 (one unit per video and instruction);
    #: "davis" reads the official DAVIS layout (one unit per object)
    layout: str
    #: DAVIS semi-supervised skips the first (given) and last frame
    skip_first_last: bool
    #: whether GT value 255 is excluded from the metrics (else it is background)
    use_void: bool
    #: Hungarian matching of predicted ids to GT objects (DAVIS unsupervised)
    hungarian: bool
    #: GT folder under the DAVIS root
    annotations: str = "Annotations"
    max_proposals: int = 20
    description: str = ""

    @property
    def submission_depth(self) -> int:
        """Path components of one mask in the submission tree."""
        return 3 if self.layout == "instrack" else 2


PROTOCOLS: dict[str, Protocol] = {
    "instrack": Protocol(
        name="instrack",
        layout="instrack",
        skip_first_last=False,
        use_void=True,
        hungarian=False,
        description="one unit per (video, instruction); all frames; void excluded",
    ),
    "davis-semi": Protocol(
        name="davis-semi",
        layout="davis",
        skip_first_last=True,
        use_void=False,
        hungarian=False,
        description="DAVIS-2017 semi-supervised: object k vs id k; first and last frames skipped",
    ),
    "davis-unsup": Protocol(
        name="davis-unsup",
        layout="davis",
        skip_first_last=False,
        use_void=True,
        hungarian=True,
        annotations="Annotations_unsupervised",
        description="DAVIS-2017 unsupervised / Ref-DAVIS17: Hungarian matching of up to 20 proposals",
    ),
}


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UsageError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}") from None
