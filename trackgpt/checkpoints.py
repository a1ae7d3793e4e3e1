"""TrackGPT checkpoints: only what training changes, in safetensors.

That is LoRA's A/B matrices, the rows of <TK> and <PO> (embedding and head), the
two projections, the mask decoder and the propagation module: about 80 MB for
the 7B preset against 14 GB for the whole model. The file's metadata records the
preset and its architecture fingerprint, checked before anything loads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from trackgpt.model import CheckpointError, TrackGPT

FORMAT = "trackgpt-checkpoint"
VERSION = "1"


def trained_state(model: TrackGPT) -> dict[str, torch.Tensor]:
    """Everything training can change: the parameters that require grad."""
    return {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(model: TrackGPT, path: str | Path, extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.to("cpu").contiguous() for name, t in trained_state(model).items()}
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "preset": model.preset.name,
        "fingerprint": json.dumps(model.preset.fingerprint(), sort_keys=True),
        "extra": json.dumps(extra or {}, sort_keys=True),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)  # atomic: a crash mid-save keeps the previous checkpoint
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"--checkpoint {path}: file not found")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"--checkpoint {path}: not a safetensors file ({err})") from err


def load_checkpoint(model: TrackGPT, path: str | Path) -> dict[str, str]:
    """Load trained weights into `model`; every mismatch is a CheckpointError naming the file."""
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"--checkpoint {path}: not a TrackGPT checkpoint (no {FORMAT!r} metadata)")
    if meta.get("preset") != model.preset.name:
        raise CheckpointError(
            f"--checkpoint {path}: trained for preset {meta.get('preset')!r}, not {model.preset.name!r} "
            f"(use --preset {meta.get('preset')})"
        )
    if json.loads(meta.get("fingerprint", "{}")) != model.preset.fingerprint():
        raise CheckpointError(f"--checkpoint {path}: architecture differs from preset {model.preset.name!r} "
                              f"({meta.get('fingerprint')} vs {json.dumps(model.preset.fingerprint(), sort_keys=True)})")
    tensors = load_file(str(path))
    expected = dict(trained_state(model))
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"--checkpoint {path}: {len(missing)} missing and {len(unexpected)} unexpected "
                              f"tensors (first: {(missing or unexpected)[0]})")
    with torch.no_grad():
        for name, parameter in expected.items():
            value = tensors[name]
            if value.shape != parameter.shape:
                raise CheckpointError(f"--checkpoint {path}: {name} has shape {tuple(value.shape)}, "
                                      f"expected {tuple(parameter.shape)}")
            parameter.copy_(value.to(parameter.device, parameter.dtype))
    return meta
