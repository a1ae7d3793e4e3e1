"""`instrack curate`: build the dataset layout (SPEC §1) from DAVIS-2017 and VIPSeg.

For every manifest entry: the selected frames are copied byte-for-byte, the
target becomes a binary mask (1 target, 255 void, 0 background) at exactly the
frame's resolution, and meta_expressions.json records the resolution, the
source and the resolved target. Instructions are never invented here: they
come from the annotation work (written into the curated root's
meta_expressions.json, or given with --instructions) and are kept on re-runs.

Resumable and idempotent: each finished video leaves a record in
ROOT/.curate/<split>/<video>.json (what was asked, a fingerprint of the source
files, the SHA-256 of every output). A re-run skips videos whose record still
matches, so an interrupted run continues where it stopped and a second run
changes no byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from instrack.dataset.checksums import write_checksums
from instrack.errors import DataError, InsTrackError, UsageError
from instrack.fileio import atomic_write_json, read_json
from instrack.dataset.layout import META
from instrack.dataset.manifest import Entry, Manifest

RECORDS = ".curate"
RECORD_FORMAT = 1
TARGET, VOID = 1, 255


@dataclass
class CurateReport:
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    missing_source: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# -- one video ------------------------------------------------------------------


def open_source(kind: str, path: str | Path, davis_annotations: str | None = None):
    if kind == "davis2017":
        from instrack.dataset.sources.davis import REF_DAVIS_ANNOTATIONS, DavisSource

        return DavisSource(path, annotations=davis_annotations or REF_DAVIS_ANNOTATIONS)
    from instrack.dataset.sources.vipseg import VipsegSource

    return VipsegSource(path)


def encode_mask(mask: np.ndarray) -> bytes:
    """A mode-L PNG with fixed settings, so equal masks give equal bytes."""
    buffer = io.BytesIO()
    Image.fromarray(mask, mode="L").save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def write_replace(path: Path, data: bytes) -> None:
    """Write through a temporary name and rename: an interrupted run never
    leaves a half-written file under the real name. No fsync per file (there
    are thousands): a video counts as done only once its record is written,
    and a resumed run re-checks every output's size against the record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def fingerprint(paths: list[Path]) -> str:
    """Cheap identity of the source files (name, size, mtime): a changed source
    file makes the video rebuild; an unchanged one costs one stat() each."""
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def resolve_target(entry: Entry, source, frames: list[str]) -> tuple[int, dict[str, Any], str | None, list[str]]:
    """(value in the source annotation, source_ref for meta, category, warnings);
    a rule is resolved over the selected frames only."""
    warnings: list[str] = []
    if entry.source == "davis2017":
        obj = entry.target.obj_id
        if obj is None:  # the rule
            from instrack.dataset.candidates import rank_davis

            ranked = rank_davis(source, entry.source_sequence, frames)
            if not ranked:
                raise DataError(f"{source.annotation_dir(entry.source_sequence)}: no objects to choose from")
            obj = ranked[0].target
        category = source.category(entry.source_sequence, obj)
        where = f"{source.root / 'davis_semantics.json'}: {entry.source_sequence} object {obj}"
        warnings.extend(check_category(entry, category, where))
        return obj, {"obj_id": obj, "annotations": source.annotations}, category, warnings
    from instrack.dataset.sources.vipseg import decode_value

    value = entry.target.value
    if value is None:
        from instrack.dataset.candidates import rank_vipseg

        ranked = rank_vipseg(source, entry.source_sequence, frames)
        if not ranked:
            raise DataError(f"{source.masks / entry.source_sequence}: no thing instance to track")
        value = ranked[0].target
    segment, reason = decode_value(value, source.categories)
    if reason or segment is None or not segment.isthing:
        raise DataError(
            f"{source.masks / entry.source_sequence}: target value {value} cannot be a target "
            f"({reason or 'not a thing'})"
        )
    _, anomalies = source.segments(entry.source_sequence, frames)
    warnings.extend(str(a) for a in anomalies)
    ref = {"value": value, "category_id": segment.category.id, "instance": segment.instance}
    warnings.extend(check_category(entry, segment.category.name, f"{source.masks / entry.source_sequence}: value {value}"))
    return value, ref, segment.category.name, warnings


def check_category(entry: Entry, found: str | None, where: str) -> list[str]:
    """Refuse a target whose category in the source differs from the manifest's
    `category`: an id that points at another object (the kite, not the person)
    is caught here, not by a reader of the finished dataset. Returns warnings."""
    expected = entry.extra.get("category")
    if expected is None:
        return []
    if found is None:
        return [f"{where}: no category in the source; the manifest's {expected!r} is unchecked"]
    if found != expected:
        raise DataError(f"{where} is a {found!r}, but the manifest says {entry.name} tracks a {expected!r}")
    return []


def _record_path(out: Path, split: str, name: str) -> Path:
    return out / RECORDS / split / f"{name}.json"


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("format") == RECORD_FORMAT else None


def _record_matches(record: dict | None, job: "Job", source_fp: str, out: Path) -> bool:
    if record is None or record.get("source_fingerprint") != source_fp:
        return False
    if record.get("entry") != job.entry.to_json() or record.get("licence") != job.licence:
        return False
    if record.get("davis_annotations") != job.davis_annotations:
        return False
    for rel, size in record.get("sizes", {}).items():
        path = out / rel
        if not path.is_file() or path.stat().st_size != size:
            return False
    return True


@dataclass(frozen=True)
class Job:
    entry: Entry
    source_root: str
    out: str
    licence: str | None
    force: bool
    davis_annotations: str | None = None


def curate_video(job: Job) -> tuple[str, str, list[str]]:
    """Build one video. Returns (name, "built" | "skipped", warnings)."""
    entry, out = job.entry, Path(job.out)
    source = open_source(entry.source, job.source_root, job.davis_annotations)
    seq = entry.source_sequence
    all_frames = source.frames(seq)
    frames = entry.frames.select(all_frames)
    if not frames:
        raise DataError(
            f"{entry.name}: the frame range {entry.frames.to_json()} selects none of {len(all_frames)} frames"
        )
    inputs = [p for f in frames for p in (source.image_path(seq, f), source.annotation_path(seq, f))]
    for path in inputs:
        if not path.is_file():
            raise DataError(f"{path}: missing")
    source_fp = fingerprint(inputs)
    record_path = _record_path(out, entry.split, entry.name)
    if not job.force and _record_matches(_read_record(record_path), job, source_fp, out):
        return entry.name, "skipped", []

    value, ref, category, warnings = resolve_target(entry, source, frames)
    void_value = 255 if entry.source == "davis2017" else 0
    split_dir = out / entry.split
    image_dir, mask_dir = split_dir / "JPEGImages" / entry.name, split_dir / "Annotations" / entry.name
    sums: dict[str, str] = {}
    sizes: dict[str, int] = {}
    height = width = None
    visible = 0
    for frame in frames:
        data = source.image_path(seq, frame).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            size = (image.height, image.width)
        ann = source.read_annotation(seq, frame)
        if ann.shape != size:
            raise DataError(
                f"{source.annotation_path(seq, frame)}: mask is {ann.shape[1]}x{ann.shape[0]} "
                f"but its frame is {size[1]}x{size[0]}"
            )
        if height is None:
            height, width = size
        elif size != (height, width):
            raise DataError(
                f"{source.image_path(seq, frame)}: {size[1]}x{size[0]}, the video's first frame is {width}x{height}"
            )
        mask = np.zeros(size, dtype=np.uint8)
        mask[ann == void_value] = VOID
        hit = ann == value
        mask[hit] = TARGET
        visible += bool(hit.any())
        png = encode_mask(mask)
        for folder, suffix, payload in ((image_dir, ".jpg", data), (mask_dir, ".png", png)):
            path = folder / f"{frame}{suffix}"
            write_replace(path, payload)
            rel = path.relative_to(out).as_posix()
            sums[rel] = hashlib.sha256(payload).hexdigest()
            sizes[rel] = len(payload)
    if visible == 0:
        shutil.rmtree(image_dir, ignore_errors=True)
        shutil.rmtree(mask_dir, ignore_errors=True)
        where = getattr(source, "annotation_dir", lambda s: source.masks / s)(seq)
        raise DataError(f"{where}: target {ref} never appears in the selected frames")
    # Frames dropped from the range since the last run must not linger.
    for folder in (image_dir, mask_dir):
        for path in folder.iterdir():
            if path.relative_to(out).as_posix() not in sums and not path.name.startswith("."):
                path.unlink()
    meta = {
        "frames": frames,
        "height": height,
        "width": width,
        "source": entry.source,
        "source_sequence": seq,
        "source_split": entry.source_split,
        "source_ref": ref,
        "category": category,
        "licence": job.licence,
        "frame_range": entry.frames.to_json(),
    }
    if entry.source == "davis2017" and getattr(source, "expressions", None):
        refs = [e.to_json() for e in source.expressions.get(seq, []) if e.obj_id == value]
        if refs:
            meta["ref_davis17"] = refs  # explicit expressions: context for the annotators
    meta = {k: v for k, v in meta.items() if v is not None}
    atomic_write_json(
        record_path,
        {
            "format": RECORD_FORMAT,
            "entry": entry.to_json(),
            "licence": job.licence,
            "davis_annotations": job.davis_annotations,
            "source_fingerprint": source_fp,
            "meta": meta,
            "sha256": sums,
            "sizes": sizes,
            "visible_frames": visible,
            "warnings": warnings,
        },
    )
    return entry.name, "built", warnings


# -- the whole root -------------------------------------------------------------


def _read_instructions(path: Path) -> dict[str, dict]:
    """{video: its meta entry} from a meta_expressions.json-like file, or {}."""
    if not path.is_file():
        return {}
    data = read_json(path)
    videos = data.get("videos") if isinstance(data, dict) else None
    if not isinstance(videos, dict):
        raise DataError(f'{path}: expected {{"videos": {{...}}}}')
    return videos


def _remove_recorded(out: Path, record_path: Path) -> None:
    record = _read_record(record_path) or {}
    for rel in record.get("sha256", {}):
        (out / rel).unlink(missing_ok=True)
    for rel in {str(Path(r).parent) for r in record.get("sha256", {})}:
        try:
            (out / rel).rmdir()
        except OSError:
            pass
    record_path.unlink(missing_ok=True)


def write_root_files(out: Path, manifest: Manifest, instructions: dict[str, dict], report: CurateReport) -> None:
    """meta_expressions.json per split (every recorded video, manifest order) and SHA256SUMS."""
    wanted = {(e.split, e.name) for e in manifest.entries}
    records_dir = out / RECORDS
    # Records of videos the manifest no longer has (or has in another split) are stale.
    if records_dir.is_dir():
        for record_path in sorted(records_dir.glob("*/*.json")):
            key = (record_path.parent.name, record_path.stem)
            if key not in wanted:
                _remove_recorded(out, record_path)
                report.removed.append(f"{key[0]}/{key[1]}")
    sums: dict[str, str] = {}
    splits = sorted({e.split for e in manifest.entries})
    for split in splits:
        meta_path = out / split / META
        existing = _read_instructions(meta_path)
        videos: dict[str, dict] = {}
        for entry in manifest.entries:
            if entry.split != split:
                continue
            record = _read_record(_record_path(out, split, entry.name))
            if record is None:
                continue
            video = dict(record["meta"])
            # Keep what the annotation work added: explicit --instructions first,
            # then what the curated root already had.
            old = existing.get(entry.name, {})
            given = instructions.get(entry.name, {})
            expressions = given.get("expressions") or old.get("expressions") or {}
            for key, value in old.items():
                if key not in video and key != "expressions":
                    video[key] = value
            video["expressions"] = expressions
            videos[entry.name] = video
            sums.update(record["sha256"])
        if not videos:
            continue
        atomic_write_json(meta_path, {"videos": videos})
        sums[meta_path.relative_to(out).as_posix()] = hashlib.sha256(meta_path.read_bytes()).hexdigest()
    write_checksums(out, sums)


def curate(
    manifest: Manifest,
    out: str | Path,
    davis: str | Path | None = None,
    vipseg: str | Path | None = None,
    names: list[str] | None = None,
    splits: list[str] | None = None,
    instructions: str | Path | None = None,
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    davis_annotations: str | None = None,
) -> CurateReport:
    """`davis_annotations`: the DAVIS annotation set the manifest's obj_ids refer
    to; default: the manifest's sources.davis2017.annotations, else
    Annotations_unsupervised (the set of Ref-DAVIS17 and davis_semantics.json)."""
    from instrack.dataset.sources.davis import REF_DAVIS_ANNOTATIONS

    out = Path(out)
    roots = {"davis2017": davis, "vipseg": vipseg}
    if davis is None and vipseg is None:
        raise UsageError("give --davis DIR and/or --vipseg DIR (the raw downloads)")
    davis_annotations = (
        davis_annotations or manifest.sources.get("davis2017", {}).get("annotations") or REF_DAVIS_ANNOTATIONS
    )
    for kind, root in roots.items():
        if root is not None:
            open_source(kind, root, davis_annotations)  # fail early on a wrong folder
    given = _read_instructions(Path(instructions)) if instructions else {}
    if instructions and not given:
        raise DataError(f"{instructions}: not found")
    report = CurateReport()
    known = {e.name for e in manifest.entries}
    report.warnings.extend(
        f"{name}: in {instructions} but not in the manifest; ignored" for name in given if name not in known
    )
    jobs = []
    for entry in manifest.select(names, splits):
        root = roots[entry.source]
        if root is None:
            report.missing_source.append(entry.name)
            continue
        jobs.append(Job(entry, str(root), str(out), manifest.licence_of(entry), force, davis_annotations))
    out.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="curate", unit="video", disable=not progress, file=sys.stderr)

    def done(name: str, status: str, warnings: list[str]) -> None:
        (report.built if status == "built" else report.skipped).append(name)
        report.warnings.extend(f"{name}: {w}" for w in warnings)
        bar.update(1)

    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(curate_video, job): job for job in jobs}
            for future, job in futures.items():
                try:
                    done(*future.result())
                except InsTrackError as err:
                    report.failed.append((job.entry.name, str(err)))
                    bar.update(1)
    else:
        for job in jobs:
            bar.set_postfix_str(job.entry.name)
            try:
                done(*curate_video(job))
            except InsTrackError as err:
                report.failed.append((job.entry.name, str(err)))
                bar.update(1)
    bar.close()
    write_root_files(out, manifest, given, report)
    return report


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))
