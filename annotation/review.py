"""The review project: one task per rephrasing; a reviewer keeps, fixes or rejects it.

Export writes the decision back into meta_expressions.json:
  keep    status "kept"
  fix     the text replaced by the reviewer's, the model's text kept as "original",
          status "fixed"
  reject  the rephrasing leaves "expressions" for the video's "rejected_rephrasings";
          the next `instrack rephrase` run writes a new one and shows the model the
          rejected text as an example to avoid
Each carries "review": {decision, by, at, labelstudio ids}. A task is keyed by the
text it showed: if the rephrasing changed since, its review is stale and ignored.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from instrack_annotation import labelstudio as lsx
from instrack_annotation import meta as m
from instrack_annotation.categories import category_terms, names_category
from instrack_annotation.render import RenderConfig

DECISIONS = ("keep", "fix", "reject")

LABEL_CONFIG = """\
<View>
  <Header value="$video: the target ($category) is outlined in red"/>
  <View style="display: flex; gap: 1em; flex-wrap: wrap">
    <View style="flex: 1; min-width: 320px"><Image name="first_frame" value="$first_frame" zoom="true"/></View>
    <View style="flex: 1; min-width: 320px"><Video name="clip" value="$clip"/></View>
  </View>
  <Header size="5" value="Seed instruction: $seed"/>
  <Header size="6" value="Rephrasing to review (automatic checks: $problems):"/>
  <Text name="rephrasing" value="$rephrasing"/>
  <Choices name="decision" toName="rephrasing" choice="single" required="true" showInline="true">
    <Choice value="keep" hint="same target, implicit, fluent"/>
    <Choice value="fix" hint="write the corrected text below"/>
    <Choice value="reject" hint="a new one will be generated"/>
  </Choices>
  <TextArea name="fixed" toName="rephrasing" rows="2" maxSubmissions="1" editable="true" placeholder="corrected text (for fix)"/>
</View>
"""


def default_title(meta: m.MetaFile) -> str:
    return f"InsTrack rephrasing review: {meta.root.resolve().name}/{meta.split}"


def task_key(split: str, video: str, exp_id: str, text: str) -> str:
    return f"review/{split}/{video}/{exp_id}/{m.text_sha256(text)[:16]}"


def import_review_tasks(
    conn: lsx.Connection, meta: m.MetaFile, files_root: Path, title: str | None = None,
    include_all: bool = False, render: RenderConfig = RenderConfig(), progress: bool = True,
) -> lsx.ImportReport:
    """One task per rephrasing waiting for review (or, with include_all, per
    rephrasing not reviewed yet)."""
    from tqdm import tqdm

    project = lsx.ensure_project(conn, title or default_title(meta), LABEL_CONFIG,
                                 description=f"Review of the rephrasings in {meta.path}")
    tasks = []
    for name, video in tqdm(list(meta.videos.items()), desc="render", unit="video",
                            disable=not progress, file=sys.stderr):
        found = m.seed_of(video)
        if found is None:
            continue
        seed_id, seed = found
        todo = {
            exp_id: exp for exp_id, exp in m.rephrasings_of(video, seed_id).items()
            if exp.get("status") == m.NEEDS_REVIEW or (include_all and exp.get("status", m.ACCEPTED) == m.ACCEPTED)
        }
        if not todo:
            continue
        media = lsx.video_media(meta, name, render)
        for exp_id, exp in todo.items():
            tasks.append({
                lsx.KEY: task_key(meta.split, name, exp_id, exp["exp"]),
                "video": name,
                "exp_id": exp_id,
                "split": meta.split,
                "category": m.category_of(video) or "object",
                "seed": seed["exp"],
                "rephrasing": exp["exp"],
                "problems": "; ".join(exp.get("problems") or []) or "passed",
                **lsx.media_fields(files_root, media),
            })
    return lsx.import_media_tasks(conn, project, meta, tasks)


@dataclass
class ReviewReport:
    kept: int = 0
    fixed: int = 0
    rejected: int = 0
    unchanged: int = 0
    stale: int = 0
    unreviewed: int = 0
    invalid: list[str] = field(default_factory=list)

    def summary(self) -> str:
        out = (f"{self.kept} kept, {self.fixed} fixed, {self.rejected} rejected, {self.unchanged} unchanged, "
               f"{self.stale} stale (the rephrasing changed since), {self.unreviewed} not reviewed yet")
        if self.invalid:
            out += f"; {len(self.invalid)} reviews ignored (first: {self.invalid[0]})"
        return out


def export_reviews(conn: lsx.Connection, meta: m.MetaFile, title: str | None = None,
                   flush_every: int = 50) -> ReviewReport:
    project = lsx.find_project(conn, title or default_title(meta))
    report = ReviewReport()
    pending = 0
    try:
        for task in lsx.iter_tasks(conn, project):
            data = task.data or {}
            annotation = lsx.latest_annotation(task)
            if annotation is None or annotation.get("was_cancelled"):
                report.unreviewed += 1
                continue
            if _apply(conn, meta, project, data, task, annotation, report):
                pending += 1
            if pending >= flush_every:
                meta.save()
                pending = 0
    finally:
        if pending:
            meta.save()
    return report


def _apply(conn, meta, project, data, task, annotation, report) -> bool:
    name, exp_id, shown = data.get("video"), str(data.get("exp_id")), data.get("rephrasing")
    video = meta.videos.get(name)
    exp = m.expressions(video).get(exp_id) if video else None
    origin = {"project": project, "task": task.id, "annotation": annotation.get("id"),
              "updated_at": annotation.get("updated_at")}
    rejected = [r for r in (video or {}).get("rejected_rephrasings", []) if r.get("review", {}).get("labelstudio") == origin]
    if rejected or (exp is not None and (exp.get("review") or {}).get("labelstudio") == origin):
        report.unchanged += 1
        return False
    if exp is None or exp.get("kind") != "rephrase" or shown not in (exp["exp"], exp.get("original")):
        report.stale += 1
        return False
    decision = (lsx.result_value(annotation, "decision") or [None])[0]
    if decision not in DECISIONS:
        report.invalid.append(f"task {task.id}: no decision")
        return False
    review = {"decision": decision, "by": conn.email(annotation.get("completed_by")),
              "at": lsx.annotation_time(annotation), "labelstudio": origin}
    if decision == "keep":
        exp.update(status=m.KEPT, review=review)
        report.kept += 1
    elif decision == "fix":
        fixed = lsx.result_value(annotation, "fixed") or ""
        if not fixed:
            report.invalid.append(f"task {task.id}: 'fix' without a corrected text")
            return False
        exp.setdefault("original", shown)
        exp.update(exp=fixed, status=m.FIXED, review=review)
        category = m.category_of(video)
        # The human wins, but a fix that names the category is worth a look in the report.
        exp["names_category"] = bool(category and names_category(fixed, category_terms(category)))
        exp.pop("problems", None)
        report.fixed += 1
    else:
        m.expressions(video).pop(exp_id)
        video.setdefault("rejected_rephrasings", []).append(
            {"exp": exp["exp"], "exp_id": exp_id, "seed": exp.get("seed"),
             "provenance": exp.get("provenance"), "review": review})
        report.rejected += 1
    return True
