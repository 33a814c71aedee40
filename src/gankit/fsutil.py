"""Atomic file writes: a reader never sees a half-written file, a crash never leaves one, and a
machine that refuses the write (disk full, read-only, no permission) is one clear error."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from gankit import faults
from gankit.errors import machine_error

TEMP_SUFFIX = ".tmp"


def current_umask() -> int:
    """This process's umask (read without changing it where Linux shows it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_folder(path: str | os.PathLike) -> Path:
    """Create ``path`` and its parents if missing; the machine's refusal is a MachineError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise machine_error(err, "create the folder", path) from None
    return path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success fsync it and ``os.replace`` it onto ``path``.

    Parent folders are created. The file gets the permissions of any file the user creates
    (0666 less the umask). If the body raises, or the machine refuses (disk full, read-only,
    no permission), the temporary file is removed and ``path`` is left untouched; the machine's
    refusal is raised as a MachineError naming ``path``.
    """
    path = Path(path)
    make_folder(path.parent)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
        open_kwargs.setdefault("newline", "")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as err:
        raise machine_error(err, "write", path) from None
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            os.fchmod(fh.fileno(), 0o666 & ~current_umask())
            yield fh
            fh.flush()
            faults.crash_halfway(path.name, fh, os.fstat(fh.fileno()).st_size)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise machine_error(err, "write", path) from None
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that atomic writes of a killed process left under ``folder``
    (``.NAME.*.tmp``); returns what was removed. Call it only while no other process writes there."""
    removed = []
    for tmp in Path(folder).rglob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed
