"""Files on disk, safely: atomic writes (a reader never sees a half-written file, a crash never
leaves one, and a machine that refuses the write is one clear error), and reads below a folder
that follow no link (:func:`open_below`): what another account planted in a shared folder, a
link to a file of yours, is never read in its place."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path, PurePath
from typing import IO, BinaryIO, Iterator, Optional

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


class NotFollowed(FileNotFoundError):
    """A link, or something other than a regular file or folder, where a file or folder below
    an anchor folder was expected: it is not followed, and reads as missing."""


def _parts_below(anchor: PurePath, path: PurePath) -> tuple[str, ...]:
    """The names leading from ``anchor`` to ``path`` (a path at or below it, as written)."""
    try:
        parts = PurePath(path).relative_to(anchor).parts
    except ValueError:
        raise NotFollowed(errno.ENOENT, "not below its folder", str(path)) from None
    if any(part in ("..", "") for part in parts):
        raise NotFollowed(errno.ENOENT, "not below its folder", str(path))
    return parts


def _open_no_follow(name: str, flags: int, dir_fd: int, path: PurePath) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO):
            raise NotFollowed(errno.ENOENT, "a link or special file, not followed", str(path)) from None
        raise


def _folder_fd(anchor: PurePath, folders: tuple[str, ...], path: PurePath) -> int:
    """A descriptor of ``anchor/folders...``: the anchor as named (links followed), each folder
    below it opened without following a link."""
    fd = os.open(anchor, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in folders:
            child = _open_no_follow(name, os.O_RDONLY | os.O_DIRECTORY, fd, path)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_below(anchor: str | os.PathLike, path: str | os.PathLike) -> BinaryIO:
    """``path`` (a file at or below the folder ``anchor``) opened for reading, binary, walking
    from ``anchor`` one name at a time without following any link: a link or a special file
    (a FIFO, a device) anywhere below ``anchor`` raises :class:`NotFollowed`, a
    FileNotFoundError, as if nothing were there; a folder, IsADirectoryError. ``anchor`` itself
    may be reached through links."""
    anchor, path = PurePath(anchor), PurePath(path)
    parts = _parts_below(anchor, path)
    if not parts:
        raise NotFollowed(errno.ENOENT, "a folder, not a file", str(path))
    folder = _folder_fd(anchor, parts[:-1], path)
    try:
        fd = _open_no_follow(parts[-1], os.O_RDONLY, folder, path)
    finally:
        os.close(folder)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "a folder where a file should be", str(path))
        if not stat.S_ISREG(mode):
            raise NotFollowed(errno.ENOENT, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def stat_below(anchor: str | os.PathLike, path: str | os.PathLike) -> os.stat_result:
    """The status of ``path`` at or below ``anchor``, reached as :func:`open_below` reaches it
    (a link anywhere below ``anchor``: NotFollowed)."""
    anchor, path = PurePath(anchor), PurePath(path)
    parts = _parts_below(anchor, path)
    folder = _folder_fd(anchor, parts[:-1] if parts else (), path)
    try:
        if not parts:
            return os.fstat(folder)
        found = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False)
    finally:
        os.close(folder)
    if not (stat.S_ISREG(found.st_mode) or stat.S_ISDIR(found.st_mode)):
        raise NotFollowed(errno.ENOENT, "a link or special file, not followed", str(path))
    return found


def list_below(anchor: str | os.PathLike, folder: str | os.PathLike, files: bool = True,
               folders: bool = False) -> list[str]:
    """The names in ``folder`` (at or below ``anchor``, reached without following links) of its
    regular ``files`` and/or ``folders``; links and special files are left out. [] when the
    folder is missing or cannot be read."""
    anchor, folder = PurePath(anchor), PurePath(folder)
    try:
        fd = _folder_fd(anchor, _parts_below(anchor, folder), folder)
    except OSError:
        return []
    try:
        with os.scandir(fd) as entries:
            return [entry.name for entry in entries
                    if (files and entry.is_file(follow_symlinks=False))
                    or (folders and entry.is_dir(follow_symlinks=False))]
    except OSError:
        return []
    finally:
        os.close(fd)


def read_below(anchor: str | os.PathLike, path: str | os.PathLike, limit: Optional[int] = None) -> bytes:
    """The bytes of ``path`` (see :func:`open_below`); with ``limit``, a file larger than that
    many bytes is a ValueError instead of a read of it."""
    with open_below(anchor, path) as handle:
        if limit is not None and os.fstat(handle.fileno()).st_size > limit:
            raise ValueError(f"{PurePath(path).name} is larger than {limit} bytes")
        return handle.read()
