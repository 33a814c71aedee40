"""One writer per run (or study) directory: an advisory lock held while a process writes there.

The lock is ``fcntl.flock`` on ``DIR/.lock``: the kernel releases it when the holding process
ends, however it ends (SIGKILL included), so a lock left by a killed process never blocks. The
file also says who holds it (process id, host, command, start time) for the refusal message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from gankit.errors import UserError, machine_error
from gankit.rundir.names import LOCK as LOCK_FILE


# The lock file is never reached through a link: one planted in a shared folder would make the
# lock truncate and write a file of the account that trains there.
OPEN_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _holder(fd: int) -> str:
    """Who holds the lock open as ``fd``, in words, from what it wrote there."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another process"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    where = f" on {info['host']}" if info.get("host") and info["host"] != socket.gethostname() else ""
    return f"process {info['pid']}{where} ({info.get('command', 'gankit')}, since {started})"


class LockHeld(UserError):
    """Another process holds the lock."""


class DirectoryLock:
    """The exclusive right to write into one directory, for as long as this object holds it."""

    def __init__(self, folder: Path, what: str = "run"):
        """Prepare to lock ``folder`` (``what`` names it in the refusal: "run", "study")."""
        self.folder, self.what = Path(folder), what
        self.path = self.folder / LOCK_FILE
        self._fd: Optional[int] = None

    def acquire(self, waiting: Optional[Callable[[str], None]] = None) -> "DirectoryLock":
        """Take the lock now, or raise a one-line UserError naming the process that holds it.
        With ``waiting``, wait for it instead (after calling ``waiting`` with who holds it)."""
        if self._fd is not None:
            return self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | OPEN_FLAGS, 0o666)
        except OSError as err:
            raise machine_error(err, f"lock the {self.what}", self.folder) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if waiting is None:
                    raise
                waiting(_holder(fd))
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise LockHeld(f"{self.folder} is in use: {holder} is writing this {self.what}; "
                            "wait for it to end or stop it first") from None
        except OSError as err:
            os.close(fd)
            raise machine_error(err, f"lock the {self.what}", self.folder) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                "command": " ".join(["gankit", *sys.argv[1:]])[:300]}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except OSError as err:
            os.close(fd)
            raise machine_error(err, f"lock the {self.what}", self.folder) from None
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up (the file stays: removing it could let two processes lock two files)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> "DirectoryLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_locked(folder: Path) -> Optional[str]:
    """Who writes into ``folder`` now (in words), or None when nobody does."""
    try:
        fd = os.open(Path(folder) / LOCK_FILE, os.O_RDONLY | OPEN_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None
