"""The server's own folder, ``RUNS/.gankit-serve``: a folder no other account can enter.

A runs folder may be shared (a lab's scratch space), so another account may have created
``.gankit-serve`` first, or put a link in it to a file of the server's owner, for the server to
append a training's output to. So the folder and each folder in it are opened without following
a link, must belong to this account (a folder of this account that others may enter is closed
to them: 0700), and every file is created anew, exclusively, readable by this account alone
(0600). All of it through descriptors: nothing is looked up by path a second time.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Optional

from gankit.errors import UserError, machine_error

FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class NotPrivate(UserError):
    """The folder belongs to another account, or is a link."""


def _opened_private(name: str, dir_fd: Optional[int], shown: Path) -> int:
    """A descriptor of the folder ``name`` (in ``dir_fd``), created 0700 when missing, checked
    to be a real folder of this account and closed to others."""
    try:
        os.mkdir(name, 0o700, dir_fd=dir_fd)
    except FileExistsError:
        pass
    except OSError as err:
        raise machine_error(err, "create the folder", shown) from None
    try:
        fd = os.open(name, FOLDER_FLAGS, dir_fd=dir_fd)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENOTDIR):
            raise NotPrivate(f"{shown} is a link or not a folder: gankit serve keeps its logs and launch records "
                             "there and uses no folder another account could have made; remove it") from None
        raise machine_error(err, "open the folder", shown) from None
    try:
        status = os.fstat(fd)
        if status.st_uid != os.geteuid():
            raise NotPrivate(f"{shown} belongs to another account (uid {status.st_uid}): gankit serve keeps its "
                             "logs and launch records there and uses no folder another account controls; remove "
                             "it, or choose another --runs-dir")
        if stat.S_IMODE(status.st_mode) & 0o077:
            os.fchmod(fd, 0o700)
    except BaseException:
        os.close(fd)
        raise
    return fd


class PrivateFolder:
    """``path``, made (0700) or checked at once: a UserError when another account owns it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        os.close(self._open())

    def _open(self, sub: Optional[str] = None) -> int:
        """A descriptor of the folder, or of its folder ``sub`` (each made or checked)."""
        parent = _parent_fd(self.path)
        try:
            fd = _opened_private(self.path.name, parent, self.path)
        finally:
            os.close(parent)
        if sub is None:
            return fd
        try:
            return _opened_private(sub, fd, self.path / sub)
        finally:
            os.close(fd)

    def create(self, sub: str, name: str, suffix: str, readable: bool = False) -> tuple[Path, int]:
        """A new file ``sub/NAME<suffix>`` (or ``NAME.2<suffix>``, ...: the first name free),
        created exclusively, 0600; its path and a descriptor open for writing (and reading,
        when ``readable``)."""
        flags = NEW_FILE_FLAGS & ~os.O_WRONLY | os.O_RDWR if readable else NEW_FILE_FLAGS
        folder = self._open(sub)
        try:
            for n in range(1, 10_000):
                candidate = f"{name}{suffix}" if n == 1 else f"{name}.{n}{suffix}"
                try:
                    return self.path / sub / candidate, os.open(candidate, flags, 0o600, dir_fd=folder)
                except FileExistsError:
                    continue
                except OSError as err:
                    raise machine_error(err, "create", self.path / sub / candidate) from None
            raise UserError(f"too many files named {name} in {self.path / sub}")
        finally:
            os.close(folder)

    def replace(self, sub: str, name: str, data: bytes) -> None:
        """Write ``sub/name`` anew: any old file of that name is removed first, the new one
        created exclusively (0600)."""
        folder = self._open(sub)
        try:
            try:
                os.unlink(name, dir_fd=folder)
            except FileNotFoundError:
                pass
            fd = os.open(name, NEW_FILE_FLAGS, 0o600, dir_fd=folder)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as err:
            raise machine_error(err, "write", self.path / sub / name) from None
        finally:
            os.close(folder)

    def read(self, sub: str, name: str, limit: int = 1 << 20, tail: bool = False) -> bytes:
        """The bytes of ``sub/name``, a regular file of at most ``limit`` bytes, or with ``tail``
        its last ``limit`` bytes (FileNotFoundError when it is missing or anything else)."""
        folder = self._open(sub)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
        except OSError:
            raise FileNotFoundError(errno.ENOENT, "not readable", str(self.path / sub / name)) from None
        finally:
            os.close(folder)
        with os.fdopen(fd, "rb") as handle:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode) or (status.st_size > limit and not tail):
                raise FileNotFoundError(errno.ENOENT, "not a small regular file", str(self.path / sub / name))
            handle.seek(max(0, status.st_size - limit))
            return handle.read(limit)


def _parent_fd(path: Path) -> int:
    """A descriptor of ``path``'s parent folder (the runs folder, chosen by the server's owner)."""
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise machine_error(err, "open the folder", parent) from None
