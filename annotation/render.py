"""Task media for the annotators: the first frame with the target outlined, and
a short H.264 clip with the target highlighted and the rest dimmed.

The clip carries each frame's name burned into the picture: annotators can
say "from frame 00040 on" without relying on the player's frame counter
(Label Studio's video frame indexing is known to drift). H.264 because OpenCV's
default mp4v does not play in browsers; Debian's ffmpeg encodes it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from instrack.errors import DataError, InsTrackError
from instrack.fileio import atomic_write_bytes, atomic_write_json
from instrack.masks import MaskError, read_mask


@dataclass(frozen=True)
class RenderConfig:
    """max_frames: frames in the clip, spread evenly over the video.
    fps: clip frame rate. max_width: frames wider than this are scaled down.
    dim: brightness kept outside the target. outline: RGB colour of the contour."""

    max_frames: int = 48
    fps: int = 6
    max_width: int = 640
    dim: float = 0.35
    outline: tuple[int, int, int] = (255, 48, 48)


@dataclass(frozen=True)
class Media:
    first_frame: Path
    clip: Path
    frames: tuple[str, ...]  # the frames shown in the clip, in order


def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise InsTrackError("ffmpeg not found: install it (apt-get install ffmpeg) to render the task clips")
    return path


def clip_frames(frames: list[str], max_frames: int) -> list[str]:
    if len(frames) <= max_frames:
        return list(frames)
    picks = np.linspace(0, len(frames) - 1, max_frames).round().astype(np.int64)
    return [frames[i] for i in dict.fromkeys(picks.tolist())]


def _load(split_folder: Path, video: str, frame: str, obj_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    image_path = split_folder / "JPEGImages" / video / f"{frame}.jpg"
    mask_path = split_folder / "Annotations" / video / f"{frame}.png"
    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"{image_path}: missing or not a readable JPEG")
    try:
        mask = read_mask(mask_path)
    except FileNotFoundError as err:
        raise DataError(f"{mask_path}: missing") from err
    except MaskError as err:
        raise DataError(f"{mask_path}: {err}") from err
    if mask.shape != image.shape[:2]:
        raise DataError(f"{mask_path}: size {mask.shape[::-1]} differs from its frame's {image.shape[1::-1]}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), np.isin(mask, obj_ids)


def _scale(image: np.ndarray, target: np.ndarray, max_width: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = image.shape[:2]
    scale = min(1.0, max_width / w)
    # yuv420p needs even sizes.
    nw, nh = max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)
    if (nw, nh) != (w, h):
        image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        target = cv2.resize(target.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST).astype(bool)
    return image, target


def _outline(image: np.ndarray, target: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    contours, _ = cv2.findContours(target.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    thickness = max(2, round(max(image.shape[:2]) / 240))
    out = np.ascontiguousarray(image)
    cv2.drawContours(out, contours, -1, colour, thickness, lineType=cv2.LINE_AA)
    return out


def outlined(image: np.ndarray, target: np.ndarray, config: RenderConfig) -> np.ndarray:
    return _outline(image.copy(), target, config.outline)


def highlighted(image: np.ndarray, target: np.ndarray, config: RenderConfig, label: str) -> np.ndarray:
    out = image.astype(np.float32)
    out[~target] *= config.dim
    out = _outline(out.clip(0, 255).astype(np.uint8), target, config.outline)
    scale = max(0.3, out.shape[0] / 720)
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    if tw > out.shape[1] - 10:  # small frames: shrink the label to fit
        scale *= (out.shape[1] - 10) / tw
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(out, (0, 0), (tw + 10, th + base + 10), (0, 0, 0), thickness=-1)
    cv2.putText(out, label, (5, th + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _stamp(frames: list[str], obj_ids: list[int], config: RenderConfig) -> str:
    payload = json.dumps({"frames": frames, "obj_ids": obj_ids, "config": asdict(config)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def render_video(
    split_folder: Path,
    video: str,
    frames: list[str],
    obj_ids: list[int],
    out_dir: Path,
    config: RenderConfig = RenderConfig(),
    force: bool = False,
) -> Media:
    """Write out_dir/first.jpg and out_dir/clip.mp4 (skipped when already rendered
    from the same frames and settings)."""
    shown = clip_frames(frames, config.max_frames)
    media = Media(out_dir / "first.jpg", out_dir / "clip.mp4", tuple(shown))
    stamp_path = out_dir / "render.json"
    stamp = _stamp(shown, obj_ids, config)
    if not force and media.first_frame.is_file() and media.clip.is_file() and stamp_path.is_file():
        if json.loads(stamp_path.read_text()).get("stamp") == stamp:
            return media
    out_dir.mkdir(parents=True, exist_ok=True)

    image, target = _load(split_folder, video, frames[0], obj_ids)
    image, target = _scale(image, target, config.max_width)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(outlined(image, target, config), cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    atomic_write_bytes(media.first_frame, jpeg.tobytes())

    height, width = image.shape[:2]
    tmp = out_dir / ".clip.tmp.mp4"
    command = [
        ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{width}x{height}", "-r", str(config.fps), "-i", "-",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "23",
        "-movflags", "+faststart", str(tmp),
    ]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for i, frame in enumerate(shown):
            image, target = _load(split_folder, video, frame, obj_ids)
            image, target = _scale(image, target, config.max_width)
            if image.shape[:2] != (height, width):
                raise DataError(f"{split_folder / 'JPEGImages' / video / frame}.jpg: size differs from the first frame's")
            label = f"frame {frame} ({i + 1}/{len(shown)})"
            proc.stdin.write(highlighted(image, target, config, label).tobytes())
        proc.stdin.close()
        error = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0:
            raise InsTrackError(f"ffmpeg failed on {video}: {error.strip().splitlines()[-1] if error.strip() else proc.returncode}")
        tmp.replace(media.clip)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        tmp.unlink(missing_ok=True)
    atomic_write_json(stamp_path, {"stamp": stamp, "frames": shown})
    return media
