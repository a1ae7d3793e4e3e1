"""Label Studio through label-studio-sdk 2.x: connection, projects, local media
storage, idempotent task import, and reading annotations back.

Tasks carry our own key in `data["instrack_key"]`; an import first lists the
keys already in the project and creates only the missing tasks, so running it
twice creates no duplicates.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from instrack.errors import InsTrackError, UsageError, require
from instrack_annotation.render import Media, RenderConfig, render_video
from instrack_annotation import meta as m

KEY = "instrack_key"
IMPORT_CHUNK = 200  # tasks per import request: keeps each request small
PAGE_SIZE = 100  # tasks per listing page


class LabelStudioError(InsTrackError):
    """A request to the Label Studio server failed."""


@dataclass
class Connection:
    url: str
    client: Any  # label_studio_sdk.LabelStudio
    _emails: dict[int, str]

    @contextlib.contextmanager
    def calling(self, what: str):
        """Turn SDK and transport errors into one-line LabelStudioErrors."""
        from label_studio_sdk.core.api_error import ApiError
        import httpx

        try:
            yield
        except ApiError as err:
            body = err.body if isinstance(err.body, str) else str(err.body)
            raise LabelStudioError(f"{self.url}: {what} failed (HTTP {err.status_code}: {body[:300]})") from err
        except httpx.HTTPError as err:
            raise LabelStudioError(f"{self.url}: {what} failed ({type(err).__name__}: {err})") from err

    def email(self, user_id: int | None) -> str | None:
        """The e-mail of a user id (who wrote an annotation), looked up once."""
        if user_id is None:
            return None
        if user_id not in self._emails:
            with self.calling(f"looking up user {user_id}"):
                user = self.client.users.get(id=user_id)
            self._emails[user_id] = user.email or user.username or str(user_id)
        return self._emails[user_id]


def connect(url: str, token: str) -> Connection:
    sdk = require("label_studio_sdk", "annotation")
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    if not token:
        raise UsageError("no Label Studio API token: give --token, set LABEL_STUDIO_API_KEY, or use --server-dir")
    client = sdk.LabelStudio(base_url=url.rstrip("/"), api_key=token, timeout=120)
    try:
        client.users.whoami()
    except httpx.HTTPError as err:
        raise LabelStudioError(f"{url}: no Label Studio server answers ({type(err).__name__}); "
                               "start one with `instrack annotate serve`") from err
    except ApiError as err:
        if err.status_code in (401, 403):
            raise UsageError(f"{url}: the API token was refused (HTTP {err.status_code})") from err
        raise LabelStudioError(f"{url}: whoami failed (HTTP {err.status_code})") from err
    return Connection(url=url.rstrip("/"), client=client, _emails={})


def ensure_project(conn: Connection, title: str, label_config: str, description: str = "") -> int:
    """The id of the project with this exact title, created (or its labelling
    view updated) as needed."""
    with conn.calling(f"finding project {title!r}"):
        for project in conn.client.projects.list(title=title):
            if project.title == title:
                if project.label_config != label_config:
                    conn.client.projects.update(id=project.id, label_config=label_config)
                return project.id
    with conn.calling(f"creating project {title!r}"):
        project = conn.client.projects.create(
            title=title, label_config=label_config, description=description, show_skip_button=True
        )
    return project.id


def find_project(conn: Connection, title: str) -> int:
    with conn.calling(f"finding project {title!r}"):
        for project in conn.client.projects.list(title=title):
            if project.title == title:
                return project.id
    raise UsageError(f"{conn.url}: no project titled {title!r}; run the matching import first")


def ensure_local_storage(conn: Connection, project_id: int, folder: Path) -> None:
    """Label Studio serves /data/local-files/ only below a Local Files storage of the
    project; we never sync it (tasks are created by import), it only grants access."""
    folder = folder.resolve()
    with conn.calling("listing local storages"):
        for storage in conn.client.import_storage.local.list(project=project_id):
            if storage.path and Path(storage.path).resolve() == folder:
                return
    with conn.calling(f"adding local storage {folder} (is it below the server's files root?)"):
        conn.client.import_storage.local.create(
            project=project_id, path=str(folder), title="instrack media", use_blob_urls=False
        )


def media_url(files_root: Path, path: Path) -> str:
    try:
        relative = path.resolve().relative_to(files_root.resolve())
    except ValueError as err:
        raise UsageError(f"{path}: not below the server's files root {files_root}") from err
    return "/data/local-files/?d=" + urllib.parse.quote(relative.as_posix())


def iter_tasks(conn: Connection, project_id: int) -> Iterator[Any]:
    with conn.calling(f"listing the tasks of project {project_id}"):
        yield from conn.client.tasks.list(project=project_id, fields="all", page_size=PAGE_SIZE)


def import_tasks(conn: Connection, project_id: int, tasks: list[dict[str, Any]]) -> tuple[int, int]:
    """Create the tasks whose key is not in the project yet: (created, already there)."""
    existing = {(task.data or {}).get(KEY) for task in iter_tasks(conn, project_id)}
    new = [t for t in tasks if t[KEY] not in existing]
    for start in range(0, len(new), IMPORT_CHUNK):
        with conn.calling(f"importing tasks into project {project_id}"):
            conn.client.projects.import_tasks(id=project_id, request=new[start:start + IMPORT_CHUNK])
    return len(new), len(tasks) - len(new)


def latest_annotation(task: Any) -> dict[str, Any] | None:
    """The most recently updated annotation of a task (a skip counts: it is an answer)."""
    annotations = [a for a in (task.annotations or []) if isinstance(a, dict)]
    if not annotations:
        return None
    return max(annotations, key=lambda a: (a.get("updated_at") or a.get("created_at") or "", a.get("id", 0)))


def result_value(annotation: dict[str, Any], from_name: str) -> Any:
    """The text (TextArea) or choices (Choices) of one control in a result."""
    for item in annotation.get("result") or []:
        if item.get("from_name") != from_name:
            continue
        value = item.get("value") or {}
        if "text" in value:
            texts = value["text"]
            return " ".join(t.strip() for t in texts if isinstance(t, str)).strip() if isinstance(texts, list) else str(texts).strip()
        if "choices" in value:
            return list(value["choices"])
    return None


def annotation_time(annotation: dict[str, Any]) -> str:
    raw = annotation.get("updated_at") or annotation.get("created_at") or ""
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).isoformat(timespec="seconds")
    except ValueError:
        return raw


def video_media(meta: m.MetaFile, name: str, config: RenderConfig, force: bool = False) -> Media:
    """Render (or reuse) the media of one video under ROOT/.annotation/media/<split>/<video>/."""
    video = meta.videos[name]
    out_dir = meta.work_dir() / "media" / meta.split / name
    return render_video(meta.folder, name, list(video["frames"]), m.object_ids(video), out_dir, config, force)


def media_folder(meta: m.MetaFile) -> Path:
    return meta.work_dir() / "media" / meta.split


def media_fields(files_root: Path, media: Media) -> dict[str, str]:
    """The task fields the labelling views show: the outlined first frame and the clip."""
    return {"first_frame": media_url(files_root, media.first_frame), "clip": media_url(files_root, media.clip)}


@dataclass
class ImportReport:
    project: int
    created: int
    existing: int

    def summary(self) -> str:
        return f"project {self.project}: {self.created} tasks created, {self.existing} already there"


def import_media_tasks(conn: Connection, project_id: int, meta: m.MetaFile, tasks: list[dict[str, Any]]) -> ImportReport:
    """Make the split's media servable, then create the tasks not in the project yet."""
    ensure_local_storage(conn, project_id, media_folder(meta))
    created, existing = import_tasks(conn, project_id, tasks)
    return ImportReport(project_id, created, existing)
