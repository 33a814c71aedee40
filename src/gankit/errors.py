"""The exceptions that end a gankit command with one line instead of a traceback, and the exit
code each ends with."""

from __future__ import annotations

import errno
import os
from typing import Optional

EXIT_USER_ERROR = 2  # the user asked for something wrong
EXIT_MACHINE_ERROR = 3  # the machine refused: disk full, no permission, read-only, name too long
EXIT_DIVERGED = 4  # training became non-finite and stopped; the last finite checkpoint is kept
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM: stopped cleanly after writing a checkpoint


class UserError(Exception):
    """A problem with the user's input: reported as one line, exit code 2, no traceback."""

    exit_code = EXIT_USER_ERROR


GankitError = UserError  # the public name: every gankit refusal is one (gankit.GankitError)


class MachineError(UserError):
    """The machine refused an operation on a path (disk full, no permission, read-only file
    system, a name too long, a file where a folder should be): one line, exit code 3."""

    exit_code = EXIT_MACHINE_ERROR


class TrainingDiverged(UserError):
    """A training statistic or weight became NaN or infinite: one line, exit code 4."""

    exit_code = EXIT_DIVERGED


class StudyStopped(Exception):
    """A study was interrupted (Ctrl-C or SIGTERM); its trainings wrote their checkpoints."""


_CAUSES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file is larger than this process may write",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted (an immutable or protected file?)",
    errno.ENAMETOOLONG: "the name is too long for the file system",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "a file of that name is in the way",
    errno.ENOENT: "no such file or folder",
    errno.EIO: "the device reported an input/output error",
    errno.EMFILE: "too many open files",
}


def cause(err: OSError) -> str:
    """The reason an operating-system call failed, in words."""
    return _CAUSES.get(err.errno, err.strerror or str(err) or type(err).__name__)


def machine_error(err: OSError, action: str, path: Optional[os.PathLike | str] = None) -> MachineError:
    """A one-line MachineError for ``err``: ``cannot <action> <path>: <cause>``."""
    where = path if path is not None else (err.filename if err.filename is not None else "")
    return MachineError(f"cannot {action} {os.fspath(where)}: {cause(err)}".replace("  ", " "))
