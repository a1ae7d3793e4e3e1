"""Recognise the form of a submission and open it."""

from __future__ import annotations

import zipfile
from pathlib import Path

from instrack.errors import Problem, SubmissionError
from instrack.evaluation.submission.base import Submission, is_junk
from instrack.evaluation.submission.folder import FolderSubmission
from instrack.evaluation.submission.rle import RleSubmission
from instrack.evaluation.submission.zipped import ZipSubmission, archive_problems


def _enclosing_folder(relpaths: list[str], depth: int) -> str:
    """The single top-level folder wrapping the whole tree, or "".

    `depth` is the number of path components a mask has in the expected layout
    (3 for video/exp_id/frame.png, 2 for seq/frame.png)."""
    if not relpaths:
        return ""
    tops = {p.split("/", 1)[0] for p in relpaths}
    if len(tops) != 1 or any(p.count("/") + 1 <= depth - 1 for p in relpaths):
        return ""
    if all(p.count("/") + 1 == depth + 1 for p in relpaths if p.endswith(".png")):
        return tops.pop() + "/"
    return ""


def open_submission(path: str | Path, depth: int = 3) -> Submission:
    """Open a folder, a .zip or an RLE .json submission (SPEC §2).

    Raises SubmissionError for anything that cannot be a submission; the
    contents are checked against the ground truth later (validation.py)."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise SubmissionError(source, [Problem(source, "does not exist")])
    if path.is_dir():
        submission = FolderSubmission(path, source)
        members = sorted(m for m in submission.members() if not is_junk(m))
        wrapper = _enclosing_folder(members, depth)
        if wrapper:
            submission = FolderSubmission(path / wrapper.rstrip("/"), source, unwrapped=wrapper)
        return submission
    if path.suffix.lower() == ".json":
        return RleSubmission(path, source)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as err:
            raise SubmissionError(source, [Problem(source, f"not a readable zip archive ({err})")]) from err
        with archive:
            problems = archive_problems(archive, source)
            if problems:
                raise SubmissionError(source, problems)
            files = [i.filename for i in archive.infolist() if not i.is_dir()]
        kept = sorted(f for f in files if not is_junk(f))
        wrapper = _enclosing_folder(kept, depth)
        names = {f[len(wrapper):]: f for f in kept if f.startswith(wrapper)}
        return ZipSubmission(str(path), names, source, unwrapped=wrapper)
    raise SubmissionError(
        source, [Problem(source, "not a submission: expected a folder, a .zip of it, or an RLE .json file")]
    )
