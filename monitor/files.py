"""Writing a file so readers see the old or the new content, never half of it."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_text_file(path: str | os.PathLike, *, newline: str | None = None, fsync: bool = False) -> Iterator[IO[str]]:
    """`with atomic_text_file(p) as f: f.write(...)` — a temp file beside `p`, renamed over it on success
    and removed on any failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- where an export may write ------------------------------------------------------------------------------
STORE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


class OutputPathError(ValueError):
    """An export refuses its output path; the message is one line saying why and what to do."""


def check_output_path(path: str | os.PathLike, *, protect: str | os.PathLike | None = None,
                      force: bool = False) -> bool:
    """The one rule for every export (CLI and app): never write over the store `protect` (nor its -wal/-shm/
    -journal, also through a symlink or a hard link), never over an existing regular file unless `force`,
    never over a directory.  Returns True when `path` is a device, pipe or socket (e.g. /dev/stdout) that
    must be written through, not replaced by a regular file; False for a file written atomically."""
    shown = str(path)
    target = Path(os.path.realpath(path))
    if protect is not None:
        store = Path(os.path.realpath(protect))
        for side in STORE_SIDE_FILES:
            guarded = Path(str(store) + side)
            if target == guarded or (target.exists() and guarded.exists() and os.path.samefile(target, guarded)):
                raise OutputPathError(f"refusing to write {shown}: it is the store being read ({guarded}); "
                                      "choose another file")
    if _is_device_path(shown):
        return True
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise OutputPathError(f"can't write {shown}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"can't write {shown}: it is a directory")
    if not stat.S_ISREG(st.st_mode):
        return True
    if not force:
        raise OutputPathError(f"{shown} already exists; pass --force to overwrite it")
    return False


def _is_device_path(path: str) -> bool:
    """/dev/stdout, /dev/fd/1, /proc/self/fd/1 …: what the user named is the stream, even when it is
    redirected to a regular file."""
    p = os.path.abspath(path)
    return p.startswith(("/dev/", "/proc/self/fd/")) and os.path.exists(p)


@contextlib.contextmanager
def output_text_file(path: str | os.PathLike, *, protect: str | os.PathLike | None = None, force: bool = False,
                     newline: str | None = None) -> Iterator[IO[str]]:
    """`with output_text_file(p, protect=store.path, force=...) as f:` — check_output_path's rules, then an
    atomic write to the resolved path (a symlink stays a symlink), or a write straight through to a device."""
    if check_output_path(path, protect=protect, force=force):
        with open(path, "w", encoding="utf-8", newline=newline) as f:
            yield f
        return
    with atomic_text_file(os.path.realpath(path), newline=newline) as f:
        yield f
