"""Making run directories and setting them back: a new run's folder (its name made unique and
locked), its config.yaml, and what a run killed before its first checkpoint leaves to clear."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from gankit.errors import UserError, machine_error
from gankit.fsutil import TEMP_SUFFIX, atomic_write_text, make_folder
from gankit.rundir import names
from gankit.rundir.run import RunDir
from gankit.rundir.lock import DirectoryLock, LockHeld

MAX_NAME_BYTES = 240  # a run name leaves room for "-NNNN" within the usual 255-byte file-name limit


def check_run_name(name: str) -> str:
    """``name`` if it can name a run directory, else a one-line UserError."""
    if not name or not name.strip():
        raise UserError("the run name is empty: give --name a name, or leave --name out")
    if "/" in name or "\0" in name or name in (".", ".."):
        raise UserError(f"run name '{name}' is not a plain folder name")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise UserError(f"run name is too long ({len(name.encode())} bytes; at most {MAX_NAME_BYTES})")
    return name


def create_run_dir(runs_root: Path, name: str) -> tuple[RunDir, DirectoryLock]:
    """Make a new, empty run directory ``runs_root/name`` (``name-2``, ``-3``... if taken) and
    lock it. A folder that a process killed before writing config.yaml left behind holds no run:
    its name is taken again."""
    from gankit.fsutil import remove_stale_temps

    check_run_name(name)
    make_folder(runs_root)
    for n in range(1, 10_000):
        candidate = runs_root / (name if n == 1 else f"{name}-{n}")
        created = False
        try:
            candidate.mkdir()  # atomic: fails if another run took the name
            created = True
        except FileExistsError:
            if not is_abandoned(candidate):
                continue
        except OSError as err:
            raise machine_error(err, "create the run directory", candidate) from None
        try:
            lock = DirectoryLock(candidate).acquire()
        except LockHeld:  # another process is starting a run there right now
            continue
        except BaseException:
            if created:
                shutil.rmtree(candidate, ignore_errors=True)
            raise
        if is_abandoned(candidate):
            remove_stale_temps(candidate)
            return RunDir(candidate), lock
        lock.release()
    raise UserError(f"too many runs named '{name}' in {runs_root}")


def is_abandoned(folder: Path) -> bool:
    """Whether ``folder`` holds nothing of a run: no config.yaml, only a lock and temporary files."""
    if not folder.is_dir() or RunDir(folder).config.exists():
        return False
    return all(p.name == names.LOCK or p.name.endswith(TEMP_SUFFIX) for p in folder.iterdir())


def write_config(run: RunDir, data: dict[str, Any]) -> None:
    """Save the resolved config (plain data) as config.yaml."""
    atomic_write_text(run.config, yaml.safe_dump(data, sort_keys=False))


def clear_started(run: RunDir) -> None:
    """Remove what a run killed before its first checkpoint wrote, so it starts again from step 0."""
    for name in names.STARTED_FILES:
        (run.path / name).unlink(missing_ok=True)
    for events in run.tensorboard_files():
        events.unlink()
    for name in names.STARTED_FOLDERS:
        shutil.rmtree(run.path / name, ignore_errors=True)
