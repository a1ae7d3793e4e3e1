"""The Hugging Face `datasets` form of a dataset root, and back.

    OUT/README.md                                  dataset card; YAML `configs`, no loading script
    OUT/instructions/<split>-00000-of-00001.parquet   one row per (video, instruction)
    OUT/videos/<split>-0000k-of-0000n.parquet         one row per video: frames and masks as lists of images
    OUT/layout/...                                 meta_expressions.json, SHA256SUMS and any other
                                                   file of the root, verbatim (for a byte-identical import)

Parquet is written with pyarrow directly, one row group per video, with the
`huggingface` schema metadata that `datasets` reads to decode the image
columns; image cells hold the files' bytes (datasets' to_parquet does not
embed files given by path) and their file name. `datasets.load_dataset(OUT,
"videos")` works offline; `import_hf` writes the very bytes back.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator

from instrack.dataset.checksums import CHECKSUMS, dataset_files, format_checksums, read_checksums
from instrack.errors import DataError, require
from instrack.fileio import atomic_write_text
from instrack.dataset.layout import META, available_splits, read_split
from instrack.dataset.model import Video

INSTRUCTIONS, VIDEOS, LAYOUT = "instructions", "videos", "layout"
DEFAULT_SHARD_BYTES = 500 * 1024 * 1024
_SHARD = re.compile(r"^(?P<split>\w+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.parquet$")

_IMAGE = {"_type": "Image"}
VIDEO_FEATURES = {
    "video": {"dtype": "string", "_type": "Value"},
    "source": {"dtype": "string", "_type": "Value"},
    "source_sequence": {"dtype": "string", "_type": "Value"},
    "category": {"dtype": "string", "_type": "Value"},
    "height": {"dtype": "int32", "_type": "Value"},
    "width": {"dtype": "int32", "_type": "Value"},
    "n_frames": {"dtype": "int32", "_type": "Value"},
    "frame_names": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "List"},
    "frames": {"feature": _IMAGE, "_type": "List"},
    "masks": {"feature": _IMAGE, "_type": "List"},
    "meta": {"dtype": "string", "_type": "Value"},
}
INSTRUCTION_FEATURES = {
    "video": {"dtype": "string", "_type": "Value"},
    "exp_id": {"dtype": "string", "_type": "Value"},
    "instruction": {"dtype": "string", "_type": "Value"},
    "kind": {"dtype": "string", "_type": "Value"},
    "obj_id": {"feature": {"dtype": "int32", "_type": "Value"}, "_type": "List"},
    "source": {"dtype": "string", "_type": "Value"},
    "source_sequence": {"dtype": "string", "_type": "Value"},
    "category": {"dtype": "string", "_type": "Value"},
    "n_frames": {"dtype": "int32", "_type": "Value"},
    "height": {"dtype": "int32", "_type": "Value"},
    "width": {"dtype": "int32", "_type": "Value"},
    "licence": {"dtype": "string", "_type": "Value"},
    "extra": {"dtype": "string", "_type": "Value"},
}


def _schema(pa, features: dict[str, Any]):
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    types = {"string": pa.string(), "int32": pa.int32()}

    def arrow(feature: dict) -> Any:
        if feature["_type"] == "List":
            return pa.list_(arrow(feature["feature"]))
        if feature["_type"] == "Image":
            return image
        return types[feature["dtype"]]

    metadata = {"huggingface": json.dumps({"info": {"features": features}})}
    return pa.schema([(name, arrow(f)) for name, f in features.items()], metadata=metadata)


class _ShardWriter:
    """Parquet shards of at most `max_bytes` each, named <split>-0000k-of-0000n."""

    def __init__(self, pa, pq, folder: Path, split: str, schema, max_bytes: int):
        self.pa, self.pq, self.folder, self.split = pa, pq, folder, split
        self.schema, self.max_bytes = schema, max_bytes
        self.paths: list[Path] = []
        self.writer = None
        self.written = 0

    def write(self, rows: list[dict], nbytes: int) -> None:
        if self.writer is not None and self.written + nbytes > self.max_bytes:
            self._close()
        if self.writer is None:
            path = self.folder / f".{self.split}-{len(self.paths):05d}.parquet.tmp"
            self.paths.append(path)
            self.writer = self.pq.ParquetWriter(path, self.schema, compression="zstd")
            self.written = 0
        # One write = one row group; per-video row groups let readers fetch one video.
        self.writer.write_table(self.pa.Table.from_pylist(rows, schema=self.schema))
        self.written += nbytes

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def finish(self) -> list[Path]:
        self._close()
        if not self.paths:  # an empty split still gets a (row-less) shard
            path = self.folder / f".{self.split}-00000.parquet.tmp"
            self.pq.write_table(self.schema.empty_table(), path)
            self.paths.append(path)
        final = []
        for index, path in enumerate(self.paths):
            target = self.folder / f"{self.split}-{index:05d}-of-{len(self.paths):05d}.parquet"
            path.replace(target)
            final.append(target)
        return final


def _instruction_rows(video: Video, licence: str | None) -> list[dict]:
    rows = []
    for instruction in video.instructions:
        rows.append(
            {
                "video": video.name,
                "exp_id": instruction.exp_id,
                "instruction": instruction.text,
                "kind": instruction.kind,
                "obj_id": list(instruction.obj_ids),
                "source": video.source,
                "source_sequence": video.extra.get("source_sequence"),
                "category": video.extra.get("category"),
                "n_frames": len(video.frames),
                "height": video.height,
                "width": video.width,
                "licence": licence,
                "extra": json.dumps(instruction.extra, ensure_ascii=False, sort_keys=True)
                if instruction.extra
                else None,
            }
        )
    return rows


def _video_row(video: Video, folder: Path, raw_meta: dict) -> tuple[dict, int]:
    frames, masks, nbytes = [], [], 0
    for frame in video.frames:
        for target, sub, suffix in ((frames, "JPEGImages", ".jpg"), (masks, "Annotations", ".png")):
            path = folder / sub / video.name / f"{frame}{suffix}"
            try:
                data = path.read_bytes()
            except FileNotFoundError as err:
                raise DataError(f"{path}: missing (run `instrack check-data` first)") from err
            target.append({"bytes": data, "path": path.name})
            nbytes += len(data)
    row = {
        "video": video.name,
        "source": video.source,
        "source_sequence": video.extra.get("source_sequence"),
        "category": video.extra.get("category"),
        "height": video.height,
        "width": video.width,
        "n_frames": len(video.frames),
        "frame_names": list(video.frames),
        "frames": frames,
        "masks": masks,
        "meta": json.dumps(raw_meta, ensure_ascii=False),
    }
    return row, nbytes


def export_hf(
    root: str | Path,
    out: str | Path,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
    title: str = "InsTrack",
    progress: bool = True,
) -> dict[str, Any]:
    """Write the HF form of `root` into `out` (created; must be empty or absent)."""
    pa = require("pyarrow", "data")
    pq = require("pyarrow.parquet", "data")
    root, out = Path(root), Path(out)
    splits = available_splits(root)
    if not splits:
        raise DataError(f"{root}: no split folder with a {META}")
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out}: exists and is not empty; export into a new folder")
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)  # an interrupted earlier export
    for sub in (INSTRUCTIONS, VIDEOS, LAYOUT):
        (staging / sub).mkdir(parents=True)
    summary: dict[str, Any] = {"splits": {}, "sources": {}, "licences": {}, "sample": True, "selection": set()}
    frame_files: set[str] = set()
    from tqdm import tqdm

    for split in splits:
        data = read_split(root, split)
        raw = json.loads((root / split / META).read_text(encoding="utf-8"))["videos"]
        video_writer = _ShardWriter(pa, pq, staging / VIDEOS, split, _schema(pa, VIDEO_FEATURES), max_shard_bytes)
        instruction_rows: list[dict] = []
        counts = {"videos": 0, "instructions": 0, "frames": 0}
        for video in tqdm(
            list(data.videos.values()), desc=f"export {split}", unit="video", disable=not progress, file=sys.stderr
        ):
            licence = video.extra.get("licence")
            instruction_rows.extend(_instruction_rows(video, licence))
            row, nbytes = _video_row(video, root / split, raw[video.name])
            video_writer.write([row], nbytes)
            for frame in video.frames:
                frame_files.add(f"{split}/JPEGImages/{video.name}/{frame}.jpg")
                frame_files.add(f"{split}/Annotations/{video.name}/{frame}.png")
            counts["videos"] += 1
            counts["instructions"] += len(video.instructions)
            counts["frames"] += len(video.frames)
            summary["sources"][video.source or "unknown"] = summary["sources"].get(video.source or "unknown", 0) + 1
            if licence:
                summary["licences"].setdefault(video.source or "unknown", licence)
            summary["sample"] &= video.source == "sample"
            # import-release records where each video came from; curate records its resolved target
            if "release" in video.extra:
                summary["selection"].add("release")
            elif "source_ref" in video.extra:
                summary["selection"].add("manifest")
        video_writer.finish()
        pq.write_table(
            pa.Table.from_pylist(instruction_rows, schema=_schema(pa, INSTRUCTION_FEATURES)),
            staging / INSTRUCTIONS / f"{split}-00000-of-00001.parquet",
            compression="zstd",
        )
        summary["splits"][split] = counts
    # Everything else in the root (meta files, SHA256SUMS, a licence file...) travels verbatim.
    for rel in dataset_files(root) + ([CHECKSUMS] if (root / CHECKSUMS).is_file() else []):
        if rel not in frame_files:
            target = staging / LAYOUT / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, target)
    from instrack.dataset.hf_card import dataset_card

    atomic_write_text(staging / "README.md", dataset_card(title, splits, summary))
    if out.exists():
        out.rmdir()
    staging.replace(out)
    return summary


def _shards(folder: Path) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.parquet")):
        match = _SHARD.match(path.name)
        if match:
            out.setdefault(match["split"], []).append(path)
    return out


def iter_video_rows(export: Path, split: str, columns: list[str] | None = None) -> Iterator[dict]:
    """Rows of the videos config, one row group (one video) at a time."""
    pq = require("pyarrow.parquet", "data")
    for path in _shards(export / VIDEOS).get(split, []):
        handle = pq.ParquetFile(path)
        for group in range(handle.num_row_groups):
            yield from handle.read_row_group(group, columns=columns).to_pylist()


def export_splits(export: str | Path) -> list[str]:
    return sorted(_shards(Path(export) / VIDEOS))


def is_export(path: str | Path) -> bool:
    path = Path(path)
    return (path / VIDEOS).is_dir() and bool(_shards(path / VIDEOS))


def _write_plain(path: Path, data: bytes) -> None:
    # Inside a staging folder that is renamed into place at the end: no need
    # for a temporary file and an fsync per file (thousands of them).
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def import_hf(export: str | Path, out: str | Path, progress: bool = True) -> dict[str, int]:
    """Write the folder layout back from an export, byte for byte, and verify it
    against the exported SHA256SUMS when there is one. The layout is built in
    a hidden sibling folder and renamed to `out` only once it is complete."""
    export, out = Path(export), Path(out)
    if not is_export(export):
        raise DataError(f"{export}: not an InsTrack export ({VIDEOS}/<split>-*.parquet)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out}: exists and is not an empty folder; import into a new folder")
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)  # left by an interrupted import
    from tqdm import tqdm

    counts = {"videos": 0, "files": 0}
    written: dict[str, str] = {}
    metas: dict[str, dict[str, Any]] = {}
    for split in export_splits(export):
        metas[split] = {}
        for row in tqdm(
            iter_video_rows(export, split), desc=f"import {split}", unit="video", disable=not progress, file=sys.stderr
        ):
            name = row["video"]
            if not name or "/" in name or "\\" in name or name.startswith("."):
                raise DataError(f"{export}: video name {name!r} cannot be a folder name")
            for column, sub, suffix in (("frames", "JPEGImages", ".jpg"), ("masks", "Annotations", ".png")):
                if len(row[column]) != len(row["frame_names"]):
                    raise DataError(
                        f"{export}: video {name}: {len(row[column])} {column} for {len(row['frame_names'])} frame names"
                    )
                for frame, cell in zip(row["frame_names"], row[column], strict=True):
                    if "/" in frame or frame.startswith("."):
                        raise DataError(f"{export}: video {name}: frame name {frame!r} cannot be a file name")
                    rel = f"{split}/{sub}/{name}/{frame}{suffix}"
                    _write_plain(staging / rel, cell["bytes"])
                    written[rel] = hashlib.sha256(cell["bytes"]).hexdigest()
            metas[split][name] = json.loads(row["meta"]) if row.get("meta") else {"frames": row["frame_names"]}
            counts["videos"] += 1
    layout = export / LAYOUT
    if layout.is_dir():
        for path in sorted(p for p in layout.rglob("*") if p.is_file()):
            rel = path.relative_to(layout).as_posix()
            data = path.read_bytes()
            _write_plain(staging / rel, data)
            written[rel] = hashlib.sha256(data).hexdigest()
    for split, videos in metas.items():
        # An export edited outside instrack may lack layout/: rebuild meta from the rows.
        rel = f"{split}/{META}"
        if rel not in written:
            text = json.dumps({"videos": videos}, indent=2, ensure_ascii=False) + "\n"
            _write_plain(staging / rel, text.encode("utf-8"))
            written[rel] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if CHECKSUMS in written:
        expected = read_checksums(staging)
        bad = sorted(rel for rel, digest in expected.items() if written.get(rel) != digest)
        if bad:
            shutil.rmtree(staging)
            raise DataError(f"{export}: {bad[0]} differs from the exported {CHECKSUMS} ({len(bad)} file(s) differ)")
    else:
        _write_plain(staging / CHECKSUMS, format_checksums(written).encode("utf-8"))
    if out.exists():
        out.rmdir()
    staging.replace(out)
    counts["files"] = len(written)
    return counts
