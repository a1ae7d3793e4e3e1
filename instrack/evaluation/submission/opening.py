"""Recognise the form of a submission and open it."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from instrack.errors import Problem, SubmissionError
from instrack.evaluation.submission.base import Submission, is_junk
from instrack.evaluation.submission.files import kind_of
from instrack.evaluation.submission.folder import FolderSubmission
from instrack.evaluation.submission.rle import RleSubmission
from instrack.evaluation.submission.zipped import ZIP_ERRORS, ZipSubmission, archive_problems, describe


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
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SubmissionError(source, [Problem(source, "does not exist")]) from None
    except OSError as err:
        raise SubmissionError(source, [Problem(source, f"cannot be examined ({err.strerror or err})")]) from None
    if stat.S_ISDIR(mode):
        submission = FolderSubmission(path, source)
        if submission.problems:
            raise SubmissionError(source, submission.problems)
        members = sorted(m for m in submission.members() if not is_junk(m))
        wrapper = _enclosing_folder(members, depth)
        return submission.unwrap(wrapper) if wrapper else submission
    if not stat.S_ISREG(mode):
        # a FIFO would block the reader for ever, a device never ends
        raise SubmissionError(source, [Problem(source, f"{kind_of(mode)}, not a regular file or folder")])
    if path.suffix.lower() == ".json":
        return RleSubmission(path, source)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        return open_zip(path, source, depth)
    raise SubmissionError(
        source, [Problem(source, "not a submission: expected a folder, a .zip of it, or an RLE .json file")]
    )


def open_zip(path: Path, source: str, depth: int) -> ZipSubmission:
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS as err:
        raise SubmissionError(source, [Problem(source, f"not a readable zip archive ({describe(err)})")]) from None
    with archive:
        problems = archive_problems(archive, source)
        if problems:
            raise SubmissionError(source, problems)
        files = [i.filename for i in archive.infolist() if not i.is_dir()]
    kept = sorted(f for f in files if not is_junk(f))
    wrapper = _enclosing_folder(kept, depth)
    names = {f[len(wrapper):]: f for f in kept if f.startswith(wrapper)}
    return ZipSubmission(str(path), names, source, unwrapped=wrapper)
