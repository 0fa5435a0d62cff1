"""Writing a file so readers see the old or the new content, never half of it."""
from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_text_file(path: str | os.PathLike, *, newline: str | None = None, fsync: bool = False,
                     shared: bool = False) -> Iterator[IO[str]]:
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
        if shared:                  # a file meant for others: the mode it had, else what the umask gives
            os.chmod(tmp, _mode_for(path))
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


_DESCRIPTOR_NAMES = re.compile(r"^/(dev/(stdout|stderr|stdin|fd/\d+)|proc/self/fd/\d+)$")


def _is_device_path(path: str) -> bool:
    """A device, FIFO or socket; or /dev/stdout, /dev/fd/1, /proc/self/fd/1 …, which name a descriptor (the
    stream the user meant) even when it is redirected to a regular file.  A regular file that merely lives
    under /dev (/dev/shm/x.json) is a file like any other."""
    p = os.path.abspath(path)
    if not os.path.exists(p):
        return False
    if _DESCRIPTOR_NAMES.match(p):
        return True
    mode = os.stat(p).st_mode
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISBLK(mode)


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:                                      # Linux says it without changing it (os.umask would, briefly)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def output_text_file(path: str | os.PathLike, *, protect: str | os.PathLike | None = None, force: bool = False,
                     newline: str | None = None) -> Iterator[IO[str]]:
    """`with output_text_file(p, protect=store.path, force=...) as f:` — check_output_path's rules, then an
    atomic write to the resolved path (a symlink stays a symlink), or a write straight through to a device."""
    if check_output_path(path, protect=protect, force=force):
        with open(path, "w", encoding="utf-8", newline=newline) as f:
            yield f
        return
    with atomic_text_file(os.path.realpath(path), newline=newline, shared=True) as f:
        yield f
