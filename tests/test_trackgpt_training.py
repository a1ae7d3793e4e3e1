"""Training: the data readers and sampler, the `instrack train` verb, and a real
optimisation that teaches the tiny model to segment a synthetic video."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from helpers import need_extra  # noqa: E402

need_extra("trackgpt", "torch", "segment_anything", "transformers", "peft")
import torch  # noqa: E402

from instrack.cli.main import main  # noqa: E402
from instrack.dataset.layout import read_split, write_meta  # noqa: E402
from instrack.masks import read_mask, write_mask  # noqa: E402
from instrack.tracking import track_video  # noqa: E402
from instrack.tracking.synthetic import write_synthetic_split  # noqa: E402
from trackgpt.data.readers import read_dataset  # noqa: E402
from trackgpt.data.samplers import ClipDataset, clip_indices  # noqa: E402
from trackgpt.tracker import build_tracker  # noqa: E402
from trackgpt.train import DataSpec, TrainConfig, parse_data_arg, parse_data_args, train  # noqa: E402

pytestmark = pytest.mark.torch


def _mean_iou(tracker, root: Path, split: str) -> float:
    video = next(iter(read_split(root, split).videos.values()))
    results = track_video(tracker, video, list(video.units())[:2])
    ious = []
    for result in results.values():
        for frame, pred in zip(video.frames, result.masks):
            gt = read_mask(video.mask_path(frame)) == 1
            union = (pred | gt).sum()
            ious.append(1.0 if union == 0 else (pred & gt).sum() / union)
    return float(np.mean(ious))


@pytest.mark.slow
def test_training_teaches_the_tiny_model_to_track(tmp_path: Path) -> None:
    # One thread: on a shared 2-core runner, two spinning threads are slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _learn(tmp_path)
    finally:
        torch.set_num_threads(threads)


def _learn(tmp_path: Path) -> None:
    root = write_synthetic_split(tmp_path / "data", "train", videos=1, frames=8, size=(64, 64), seed=3)
    before = _mean_iou(build_tracker("tiny"), root, "train")
    config = TrainConfig(preset="tiny", stage="instrack", data=(DataSpec("instrack", root),), out=tmp_path / "run",
                         epochs=1, steps_per_epoch=150, batch_size=2, grad_accum=1, lr=3e-3, warmup_steps=10,
                         device="cpu", progress=False)
    result = train(config)
    assert result.steps == 150
    after = _mean_iou(build_tracker("tiny", checkpoint=result.checkpoint), root, "train")
    assert before < 0.3, before
    assert after > 0.8, (before, after)
    first, last = result.history[0], result.history[-1]
    assert last["loss"] < first["loss"] and last["text"] < first["text"]
    saved = json.loads((tmp_path / "run" / "train_config.json").read_text())
    assert saved["stage"] == "instrack" and saved["grad_accum"] == 1


def test_train_verb_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    root = write_synthetic_split(tmp_path / "data", "train", videos=1, frames=3, size=(32, 32))
    out = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--stage", "instrack", "--data", f"instrack={root}", "--out", str(out),
                 "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "1", "--grad-accum", "2",
                 "--device", "cpu", "--no-progress"]) == 0
    assert (out / "trackgpt.safetensors").is_file()
    build_tracker("tiny", checkpoint=out / "trackgpt.safetensors")
    assert main(["train", "--stage", "nope", "--data", f"instrack={root}", "--out", str(out), "--device", "cpu"]) == 2
    assert main(["train", "--stage", "instrack", "--data", "instrack", "--out", str(out), "--device", "cpu"]) == 2
    assert main(["train", "--stage", "instrack", "--data", f"coco={root}", "--out", str(out), "--device", "cpu"]) == 2


def test_parse_data_arg(tmp_path: Path) -> None:
    assert parse_data_arg(f"refytvos={tmp_path}") == DataSpec("refytvos", tmp_path, "train", None)
    assert parse_data_arg(f"instrack={tmp_path}:val@0.5") == DataSpec("instrack", tmp_path, "val", 0.5)
    # several datasets in one value, as `--data ade20k=DIR,refcoco=DIR,llava_instruct=FILE`
    specs = parse_data_args([f"ade20k={tmp_path}/a,refcoco+={tmp_path}/r@2,llava_instruct={tmp_path}/l.json",
                             f"reasonseg={tmp_path}/rs"])
    assert [(s.kind, s.path.name, s.weight) for s in specs] == [
        ("ade20k", "a", None), ("refcoco+", "r", 2.0), ("llava_instruct", "l.json", None), ("reasonseg", "rs", None)]


def test_default_mix_is_lisas() -> None:
    # LISA: groups 9:3:3:1 (sem_seg, refer_seg, vqa, reason_seg), datasets uniform within a group
    from trackgpt.data.mix import default_weights

    kinds = ["ade20k", "cocostuff", "pascal_part", "refcoco", "refcoco+", "refcocog", "llava_instruct", "reasonseg"]
    assert default_weights(kinds) == [3.0, 3.0, 3.0, 1.0, 1.0, 1.0, 3.0, 1.0]
    assert default_weights(["instrack", "refytvos"]) == [1.0, 1.0]


def test_clip_indices() -> None:
    rng = random.Random(0)
    assert clip_indices(1, rng) == (0, 0, 0)
    assert clip_indices(2, rng) == (0, 0, 1)
    for _ in range(200):
        n = rng.randrange(3, 30)
        i0, t, t1 = clip_indices(n, rng)
        assert 0 <= i0 < t and t1 == t + 1 and t1 < n


def test_ref_youtube_vos_reader(tmp_path: Path) -> None:
    """The released layout: palette annotations with object ids, expressions in
    meta_expressions/train/, obj_id as a string."""
    root = tmp_path / "rytvos"
    frames = ["00000", "00005", "00010"]
    for frame in frames:
        (root / "train" / "JPEGImages" / "vidA").mkdir(parents=True, exist_ok=True)
        from PIL import Image

        Image.fromarray(np.full((8, 10, 3), 90, dtype=np.uint8)).save(root / "train" / "JPEGImages" / "vidA" / f"{frame}.jpg")
        ann = np.zeros((8, 10), dtype=np.uint8)
        ann[:4, :5] = 1
        ann[4:, 5:] = 2
        write_mask(root / "train" / "Annotations" / "vidA" / f"{frame}.png", ann, palette=True)
    write_meta({"videos": {"vidA": {"frames": frames, "expressions": {
        "0": {"exp": "a cat on the left", "obj_id": "1"}, "1": {"exp": "a dog", "obj_id": "2"}}}}},
        root / "meta_expressions" / "train" / "meta_expressions.json")
    items = read_dataset("refytvos", root)
    assert [i.text for i in items] == ["a cat on the left", "a dog"]
    assert items[0].style == "referring"
    assert items[1].target(0).sum() == 4 * 5 and items[1].target(0)[7, 9] == 1
    dataset = ClipDataset([(items, 1.0)], length=4, seed=1)
    clip = dataset[0]
    assert len(clip.images) == 3 and clip.images[0].shape == (8, 10, 3)
    assert dataset[0].indices == clip.indices  # deterministic per index


def test_instrack_reader_rephrasings_and_void(tmp_path: Path) -> None:
    root = write_synthetic_split(tmp_path / "d", "train", videos=1, frames=2, instructions=6)
    assert len(read_dataset("instrack", root)) == 6
    assert len(read_dataset("instrack", root, rephrasings=False)) == 1
    mask_path = root / "train" / "Annotations" / "vid000" / "00000.png"
    mask = read_mask(mask_path).copy()
    mask[0, 0] = 255
    write_mask(mask_path, mask)
    assert read_dataset("instrack", root)[0].target(0)[0, 0] == 255


def test_image_manifest_reader(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((6, 6, 3), dtype=np.uint8)).save(tmp_path / "a.jpg")
    write_mask(tmp_path / "a.png", np.eye(6, dtype=np.uint8))
    (tmp_path / "m.jsonl").write_text(json.dumps({"image": "a.jpg", "mask": "a.png", "text": "the diagonal"}) + "\n")
    items = read_dataset("images", tmp_path / "m.jsonl")
    assert len(items) == 1 and items[0].target(0).sum() == 6
    (tmp_path / "bad.jsonl").write_text("{\"image\": 1}\n")
    from instrack.errors import DataError

    with pytest.raises(DataError, match="bad.jsonl:1"):
        read_dataset("images", tmp_path / "bad.jsonl")


@pytest.mark.slow
@pytest.mark.parametrize("propagation", [True, False])
def test_two_process_training_on_cpu(tmp_path: Path, propagation: bool) -> None:
    """Data-parallel training through torchrun + gloo, as on GPUs (one process each)."""
    import os
    import subprocess
    import sys

    root = write_synthetic_split(tmp_path / "data", "train", videos=1, frames=3, size=(32, 32))
    out = tmp_path / "run"
    import socket

    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(port),
           "-m", "instrack.cli.main", "train", "--stage", "instrack", "--data", f"instrack={root}",
           "--out", str(out), "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "1", "--total-batch", "4",
           "--device", "cpu", "--no-progress", *([] if propagation else ["--no-propagation"])]
    try:
        res = subprocess.run(cmd, cwd=Path(__file__).parents[1], capture_output=True, text=True, timeout=180,
                             env=dict(os.environ, OMP_NUM_THREADS="1"))
    finally:
        # torchrun starts its workers in sessions of their own: when it is killed
        # (timeout, interrupted run) they would outlive the test. Their command
        # lines carry this test's unique output folder.
        subprocess.run(["pkill", "-f", "--", f"--out {out}"], check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["world_size"] == 2 and saved["grad_accum"] == 2
    build_tracker("tiny", checkpoint=out / "trackgpt.safetensors")
