"""Opening a submission's files: regular files only, of bounded size, and never
through a symbolic link inside the submission tree.

A FIFO would block a reader for ever, a link to /dev/zero never ends, and a link
out of the tree could point a unit at the ground truth (J = 1.0). Every file is
opened non-blocking and checked with fstat on the open descriptor, so what is
read is what was checked; inside a tree every path component is opened with
O_NOFOLLOW relative to its parent, so no component can be a link."""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

# A 480p mask PNG is a few kB; 64 MB for one mask file is already absurd.
from instrack.masks import MAX_MASK_BYTES, MaskError  # noqa: F401  (MAX_MASK_BYTES: shared with archives.py)

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _checked(fd: int, limit: int) -> BinaryIO:
    """A file object for fd if it is a regular file of at most `limit` bytes."""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise MaskError(f"{kind_of(info.st_mode)}, not a regular file (refused)")
        if info.st_size > limit:
            raise MaskError(f"{info.st_size} bytes (limit {limit})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _os_problem(err: OSError, path: str) -> MaskError:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = 0
    if stat.S_ISLNK(mode):
        return MaskError("a symbolic link (refused: links may point outside the submission)")
    return MaskError(f"cannot be opened ({err.strerror or err})")


def open_regular(path: str | os.PathLike, limit: int) -> BinaryIO:
    """Open a file named by the user (links followed): regular files only."""
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | _BINARY)
    except OSError as err:
        raise MaskError(f"cannot be opened ({err.strerror or err})") from None
    return _checked(fd, limit)


def open_inside(root: str | os.PathLike, relpath: str, limit: int = MAX_MASK_BYTES) -> BinaryIO:
    """Open root/relpath, refusing a link in any component below root."""
    parts = relpath.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise MaskError("path leaves the submission tree")
    if not (_NOFOLLOW and os.open in os.supports_dir_fd):
        # no openat (Windows): check the components with lstat instead
        path = os.path.join(root, *parts)
        for depth in range(1, len(parts) + 1):
            partial = os.path.join(root, *parts[:depth])
            if os.path.islink(partial):
                raise MaskError("a symbolic link (refused: links may point outside the submission)")
        try:
            fd = os.open(path, os.O_RDONLY | _BINARY)
        except OSError as err:
            raise MaskError(f"cannot be opened ({err.strerror or err})") from None
        return _checked(fd, limit)
    directory = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for depth, part in enumerate(parts[:-1], start=1):
            try:
                inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=directory)
            except OSError as err:
                raise _os_problem(err, os.path.join(root, *parts[:depth])) from None
            os.close(directory)
            directory = inner
        try:
            fd = os.open(parts[-1], os.O_RDONLY | _NONBLOCK | _NOFOLLOW | _CLOEXEC, dir_fd=directory)
        except OSError as err:
            raise _os_problem(err, os.path.join(root, *parts)) from None
    finally:
        os.close(directory)
    return _checked(fd, limit)


def read_limited(handle: BinaryIO, limit: int) -> bytes:
    """All of a file, or MaskError if it grew past `limit` since it was checked."""
    with handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise MaskError(f"more than {limit} bytes")
    return data
