"""InsTrack: the instruction-tracking benchmark and its DAVIS-exact evaluator."""

__version__ = "0.1.0"

from instrack.errors import InsTrackError  # noqa: E402


def load(*args, **kwargs):
    """Iterate a dataset's units (frames, masks, instruction); see instrack.dataset.loading."""
    from instrack.dataset.loading import load as _load

    return _load(*args, **kwargs)


__all__ = ["InsTrackError", "__version__", "load"]
