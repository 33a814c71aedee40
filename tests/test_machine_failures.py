"""When the machine refuses (disk full, read-only, immutable, no permission, a file where a
folder should be, a name too long), every command ends with one line naming the path and the
cause, exit code 3 (2 for a name the user chose), no temporary file left and nothing that
existed changed. The failures are real: small and read-only tmpfs mounts, chattr +i, another
user, and real files in the way."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

TINY = ["model.g_width=16", "model.d_width=8", "train.batch_size=32", "train.log_every=10",
        "train.sample_steps=[0]", "speed.precision=fp32"]
MACHINE = 3


def gankit(*argv: str, user: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    """``gankit argv`` in a process of its own (as the user ``nobody`` with ``user``)."""
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if user else []
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([*prefix, sys.executable, "-m", "gankit", *argv], capture_output=True, text=True,
                          env=environment, timeout=300)


def one_line(result: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    """The one error line, checked: the exit code, no traceback, every fragment in it."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert lines[-1].startswith("gankit: error: ") and all(f in lines[-1] for f in fragments), lines[-1]
    assert not [line for line in lines if line.startswith("gankit: error")][:-1], result.stderr
    return lines[-1]


def no_temporary_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*.tmp")], "temporary files were left behind"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes under ``folder`` (but the lock's, which says who last wrote there)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


@contextlib.contextmanager
def tmpfs(where: Path, size: str, read_only: bool = False):
    """A real tmpfs of ``size`` mounted at ``where`` (skips where mounting is not allowed)."""
    where.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A small finished run (20 steps, a checkpoint at 10 and 20)."""
    runs = tmp_path_factory.mktemp("trained")
    result = gankit("train", *TINY, "train.steps=20", "train.checkpoint_every=10", "--runs-dir", str(runs),
                    "--name", "run", "--no-progress")
    assert result.returncode == 0, result.stderr
    return runs / "run"


def test_disk_full_while_writing_a_checkpoint_keeps_the_last_good_one(tmp_path, trained):
    checkpoint = (trained / "checkpoints" / "last.pt").stat().st_size
    used = sum(p.stat().st_size for p in trained.rglob("*") if p.is_file())
    # room for the run as it is and half a checkpoint more: the next checkpoint cannot be written
    with tmpfs(tmp_path / "disk", f"{(used + checkpoint // 2) // 1024 + 64}k") as disk:
        run = disk / "run"
        shutil.copytree(trained, run)
        before = (run / "checkpoints" / "last.pt").read_bytes()
        result = gankit("train", "--resume", str(run), "train.steps=40", "--no-progress")
        one_line(result, MACHINE, "no space left on the device", str(run))
        assert (run / "checkpoints" / "last.pt").read_bytes() == before
        no_temporary_files(run)


def test_disk_full_when_starting_a_run_leaves_no_half_made_run(tmp_path):
    with tmpfs(tmp_path / "disk", "8k") as disk:
        (disk / "filler").write_bytes(b"x" * 6000)
        result = gankit("train", *TINY, "train.steps=20", "--runs-dir", str(disk / "runs"), "--no-progress")
        one_line(result, MACHINE, "no space left on the device")
        no_temporary_files(disk)
        assert not (disk / "runs" / "digits").exists()  # the name is not taken by a half-made run


def test_a_read_only_file_system(tmp_path, trained):
    with tmpfs(tmp_path / "ro", "4m") as mount:
        run = mount / "run"
        shutil.copytree(trained, run)
        before = snapshot(run)
        remount_read_only(mount)
        one_line(gankit("train", *TINY, "--runs-dir", str(mount / "runs")), MACHINE,
                 str(mount / "runs"), "read-only")
        one_line(gankit("train", "--resume", str(run), "train.steps=40"), MACHINE, str(run), "read-only")
        one_line(gankit("eval", str(run), "--samples", "50"), MACHINE, str(run / "eval"), "read-only")
        one_line(gankit("report", str(run)), MACHINE, str(run / "report.html"), "read-only")
        one_line(gankit("sample", str(trained), "-o", str(mount / "x.png")), MACHINE, "x.png", "read-only")
        one_line(gankit("study", "latent-shift", str(trained), "--out", str(mount / "study")), MACHINE,
                 str(mount / "study"), "read-only")
        assert snapshot(run) == before


@pytest.mark.soak  # `make soak`: the suite keeps the full disk and the read-only file system
def test_an_immutable_folder(tmp_path, trained):
    folder = tmp_path / "frozen"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here")
    try:
        one_line(gankit("train", *TINY, "--runs-dir", str(folder)), MACHINE, str(folder), "not permitted")
        one_line(gankit("sample", str(trained), "-o", str(folder / "x.png")), MACHINE, "not permitted")
        one_line(gankit("report", str(trained), "-o", str(folder / "r.html")), MACHINE, "not permitted")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=False)
    assert list(folder.iterdir()) == []


@pytest.fixture
def foreign_folder():
    """A folder another user may enter but not write, with a cache and config home that user may write."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to act as another user")
    top = Path(tempfile.mkdtemp(prefix="gankit-perm-"))
    top.chmod(0o755)
    home = top / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    (top / "locked").mkdir(mode=0o755)
    yield top
    shutil.rmtree(top, ignore_errors=True)


@pytest.mark.soak  # `make soak`: the suite keeps the full disk and the read-only file system
def test_no_permission(foreign_folder, trained):
    shutil.copytree(trained, foreign_folder / "run")
    for path in [foreign_folder / "run", *(foreign_folder / "run").rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    env = {"HOME": str(foreign_folder / "home"), "GANKIT_CACHE": str(foreign_folder / "home" / "cache"),
           "MPLCONFIGDIR": str(foreign_folder / "home" / "mpl"), "PYTHONDONTWRITEBYTECODE": "1"}
    locked, run = foreign_folder / "locked", foreign_folder / "run"
    before = snapshot(run)
    one_line(gankit("train", *TINY, "--runs-dir", str(locked), user=True, env=env), MACHINE,
             str(locked), "permission denied")
    one_line(gankit("train", "--resume", str(run), "train.steps=40", user=True, env=env), MACHINE,
             str(run), "permission denied")
    one_line(gankit("sample", str(run), "-o", str(locked / "x.png"), user=True, env=env), MACHINE,
             "permission denied")
    assert snapshot(run) == before and list(locked.iterdir()) == []


@pytest.mark.soak  # `make soak`: the suite keeps the full disk and the read-only file system
def test_a_file_where_a_folder_should_be(tmp_path, trained):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    one_line(gankit("train", *TINY, "--runs-dir", str(blocker / "runs")), MACHINE, str(blocker), "is a file")
    one_line(gankit("sample", str(trained), "-o", str(blocker / "x.png")), MACHINE, str(blocker))
    one_line(gankit("study", "latent-shift", str(trained), "--out", str(blocker / "s")), MACHINE, str(blocker))
    assert blocker.read_text() == "not a folder"


@pytest.mark.soak  # `make soak`: the suite keeps the full disk and the read-only file system
def test_a_folder_where_a_file_should_be(tmp_path, trained):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").mkdir()
    before = snapshot(run)
    one_line(gankit("train", "--resume", str(run), "train.steps=40"), MACHINE, str(run / "metrics.jsonl"), "folder")
    assert snapshot(run) == before


@pytest.mark.soak  # `make soak`: the suite keeps the full disk and the read-only file system
def test_names_too_long_or_empty(tmp_path):
    one_line(gankit("train", *TINY, "--runs-dir", str(tmp_path), "--name", "x" * 300), 2, "too long")
    one_line(gankit("train", *TINY, "--runs-dir", str(tmp_path), "--name", ""), 2, "empty")
    one_line(gankit("train", *TINY, "--runs-dir", str(tmp_path / ("y" * 300))), MACHINE, "too long")
    assert list(tmp_path.iterdir()) == []
