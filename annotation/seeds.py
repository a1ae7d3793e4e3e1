"""The seed project: one task per video, one human-written instruction back.

Export writes each task's latest annotation into meta_expressions.json as the
video's seed (exp_id "0", kind "seed") with who wrote it and when, its quality
flags, and the Label Studio ids it came from. Those ids are also the resume
state: a task whose annotation id and time are already in the file is skipped,
so an export that was interrupted continues where it stopped, and one that
finished changes nothing when run again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable

from instrack.errors import UsageError
from instrack.dataset.model import SEED
from instrack_annotation import labelstudio as lsx
from instrack_annotation import meta as m
from instrack_annotation.render import RenderConfig

FLAGS = ("implicit", "unique_target", "needs_reasoning")
SKIP = "skip video"

LABEL_CONFIG = """\
<View>
  <Header value="$video: the target ($category) is outlined in red"/>
  <View style="display: flex; gap: 1em; flex-wrap: wrap">
    <View style="flex: 1; min-width: 320px"><Image name="first_frame" value="$first_frame" zoom="true"/></View>
    <View style="flex: 1; min-width: 320px"><Video name="clip" value="$clip"/></View>
  </View>
  <Header size="5" value="Write one instruction that points at the outlined target without naming what it is, e.g. Who will win the race?"/>
  <TextArea name="instruction" toName="first_frame" rows="2" maxSubmissions="1" editable="true" placeholder="instruction"/>
  <Choices name="flags" toName="first_frame" choice="multiple" showInline="true">
    <Choice value="implicit" hint="it does not name the target's category"/>
    <Choice value="unique_target" hint="only the outlined object fits it"/>
    <Choice value="needs_reasoning" hint="finding the target takes more than recognising it"/>
  </Choices>
  <Choices name="skip" toName="first_frame" choice="single" showInline="true">
    <Choice value="skip video" hint="no good instruction is possible for this video"/>
  </Choices>
  <TextArea name="skip_reason" toName="first_frame" rows="1" maxSubmissions="1" editable="true" placeholder="why skip"/>
</View>
"""


def default_title(meta: m.MetaFile) -> str:
    return f"InsTrack seeds: {meta.root.resolve().name}/{meta.split}"


def task_key(split: str, video: str) -> str:
    return f"seed/{split}/{video}"


def import_seed_tasks(
    conn: lsx.Connection, meta: m.MetaFile, files_root, title: str | None = None,
    render: RenderConfig = RenderConfig(), progress: bool = True,
) -> lsx.ImportReport:
    """Render every video's media and create one task per video not in the project yet."""
    from tqdm import tqdm

    m.require_videos(meta)
    files_root = Path(files_root)
    project = lsx.ensure_project(conn, title or default_title(meta), LABEL_CONFIG,
                                 description=f"Seed instructions for {meta.path}")
    tasks = []
    for name in tqdm(list(meta.videos), desc="render", unit="video", disable=not progress, file=sys.stderr):
        media = lsx.video_media(meta, name, render)
        tasks.append({
            lsx.KEY: task_key(meta.split, name),
            "video": name,
            "split": meta.split,
            "category": m.category_of(meta.videos[name]) or "object",
            **lsx.media_fields(files_root, media),
            "clip_frames": list(media.frames),
        })
    return lsx.import_media_tasks(conn, project, meta, tasks)


@dataclass
class ExportReport:
    written: int = 0
    skipped_videos: int = 0
    unchanged: int = 0
    unannotated: int = 0
    conflicts: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def summary(self) -> str:
        out = (f"{self.written} seeds written, {self.skipped_videos} videos skipped by annotators, "
               f"{self.unchanged} unchanged, {self.unannotated} tasks not annotated yet")
        if self.conflicts:
            out += f"; {len(self.conflicts)} videos keep a seed from elsewhere (--overwrite replaces it)"
        if self.unknown:
            out += f"; {len(self.unknown)} tasks name videos not in the split"
        return out


def _origin(project: int, task: Any, annotation: dict[str, Any]) -> dict[str, Any]:
    return {"project": project, "task": task.id, "annotation": annotation.get("id"),
            "updated_at": annotation.get("updated_at")}


def export_seeds(
    conn: lsx.Connection, meta: m.MetaFile, title: str | None = None, overwrite: bool = False,
    flush_every: int = 50, flush_s: float = 10.0,
    on_task: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write the annotated seeds into the split's meta file (see the module doc)."""
    project = lsx.find_project(conn, title or default_title(meta))
    report = ExportReport()
    pending, last = 0, time.monotonic()
    try:
        for n, task in enumerate(lsx.iter_tasks(conn, project)):
            if on_task is not None:
                on_task(n)
            name = (task.data or {}).get("video")
            if name not in meta.videos:
                report.unknown.append(str(name))
                continue
            annotation = lsx.latest_annotation(task)
            if annotation is None:
                report.unannotated += 1
                continue
            if _apply(conn, meta, project, name, task, annotation, overwrite, report):
                pending += 1
            if pending >= flush_every or (pending and time.monotonic() - last >= flush_s):
                meta.save()
                pending, last = 0, time.monotonic()
    finally:
        if pending:
            meta.save()  # an interrupted export keeps what it had done
    return report


def _apply(conn, meta, project, name, task, annotation, overwrite, report) -> bool:
    video = meta.videos[name]
    origin = _origin(project, task, annotation)
    expressions = m.expressions(video)
    current = m.seed_of(video)
    previous = (current[1].get("labelstudio") if current else None) or (video.get("seed_skipped") or {}).get("labelstudio")
    if previous == origin:
        report.unchanged += 1
        return False
    who = conn.email(annotation.get("completed_by"))
    when = lsx.annotation_time(annotation)
    text = lsx.result_value(annotation, "instruction") or ""
    skip = SKIP in (lsx.result_value(annotation, "skip") or [])
    if annotation.get("was_cancelled") or skip or not text:
        reason = lsx.result_value(annotation, "skip_reason") or (
            "skipped in Label Studio" if annotation.get("was_cancelled") else "no instruction written")
        video["seed_skipped"] = {"reason": reason, "by": who, "at": when, "labelstudio": origin}
        report.skipped_videos += 1
        return True
    if current is not None and current[1].get("labelstudio") is None and not overwrite:
        report.conflicts.append(name)
        return False
    seed_id = current[0] if current is not None else m.SEED_EXP_ID
    if current is None and seed_id in expressions:
        seed_id = m.free_exp_ids(video, 1)[0]
    flags = [f for f in (lsx.result_value(annotation, "flags") or []) if f in FLAGS]
    expressions[seed_id] = {
        "exp": text,
        "obj_id": m.object_ids(video),
        "kind": SEED,
        "annotator": who,
        "annotated_at": when,
        "flags": {flag: flag in flags for flag in FLAGS},
        "labelstudio": origin,
    }
    video.pop("seed_skipped", None)
    report.written += 1
    return True


def check_title(title: str | None) -> str | None:
    if title is not None and not title.strip():
        raise UsageError("--project: the title is empty")
    return title
