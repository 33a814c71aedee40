"""Deliberate crashes, for the tests and benchmarks that prove a run survives any kill.

``GANKIT_CRASH=PATTERN[:N]`` (a file-name pattern such as ``last.pt``, ``step_*.png``,
``metrics.jsonl`` or ``generator.safetensors``; N defaults to 1) makes the process kill itself
with SIGKILL the N-th time it writes a file whose name matches, halfway through that write: the
temporary file of an atomic write holds half its bytes, a metrics line is cut in two. Unset, it
costs one environment lookup per file written.
"""

from __future__ import annotations

import fnmatch
import os
import signal
from typing import IO

VARIABLE = "GANKIT_CRASH"
_writes: dict[str, int] = {}


def _armed(name: str) -> bool:
    """Whether writing the file ``name`` now is the write to crash in."""
    setting = os.environ.get(VARIABLE)
    if not setting:
        return False
    pattern, _, count = setting.rpartition(":") if ":" in setting else (setting, "", "1")
    if not fnmatch.fnmatch(name, pattern):
        return False
    _writes[pattern] = _writes.get(pattern, 0) + 1
    return _writes[pattern] == int(count or 1)


def crash_halfway(name: str, handle: IO, size: int) -> None:
    """Kill this process now if ``GANKIT_CRASH`` asks for it at this write of ``name``, after
    keeping only the first half of the ``size`` bytes written to ``handle``."""
    if not _armed(name):
        return
    handle.flush()
    os.ftruncate(handle.fileno(), size // 2)
    os.fsync(handle.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


def crash_halfway_line(name: str, handle: IO, line: str) -> None:
    """Kill this process now if ``GANKIT_CRASH`` asks for it at this append to ``name``, after
    writing the first half of ``line``."""
    if not _armed(name):
        return
    handle.write(line[: len(line) // 2])
    handle.flush()
    os.fsync(handle.fileno())
    os.kill(os.getpid(), signal.SIGKILL)
