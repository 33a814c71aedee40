"""Run and study folders are read through :mod:`gankit.rundir` (and checkpoints through the
engine's face), never opened by a reader of its own: the report and the web lab are watched
with an audit hook while they read tiny runs and a study, and any file of those folders that
another gankit module opens for reading fails the test."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

import gankit

# the run directory's reader, checkpoints, and the web lab's own records (RUNS/.gankit-serve, no run's)
ALLOWED = ("gankit.rundir", "gankit.engine", "gankit.web.private")
HELPERS = ("gankit.fsutil",)  # opens on behalf of its caller, who is the one judged
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

_watch: dict = {"roots": None, "opened": []}


def _reads(mode, flags) -> bool:
    """Whether an open reads a file (a folder opened to walk or list it is not read)."""
    if isinstance(mode, str):
        return not any(c in mode for c in "wax+")
    return isinstance(flags, int) and not flags & (WRITE_FLAGS | os.O_DIRECTORY)


def _opener() -> str:
    """The gankit module that asked for the open now under way ('' when none did)."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("gankit") and not module.startswith(HELPERS):
            return module
        frame = frame.f_back
    return ""


def _hook(event: str, args: tuple) -> None:
    roots = _watch["roots"]
    if roots is None or event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path, mode, flags = args
    name = os.fsdecode(path)
    # a name without a folder is a step of a walk below an anchor (fsutil's openat): judged by its caller
    inside = not os.path.isabs(name) or any(name.startswith(root) for root in roots)
    if inside and _reads(mode, flags):
        module = _opener()
        if module and not module.startswith(ALLOWED):
            _watch["opened"].append((module, name))


sys.addaudithook(_hook)


@pytest.fixture
def watched(tmp_path, tiny_runs, study_dir):
    """A runs folder and a studies folder (copies of the tiny runs and the fake study), watched."""
    runs, studies = tmp_path / "runs", tmp_path / "studies"
    for name, run in tiny_runs.items():
        shutil.copytree(run, runs / name)
    shutil.copytree(study_dir, studies / study_dir.name)
    _watch.update(roots=(str(runs.resolve()), str(studies.resolve()), str(runs), str(studies)), opened=[])
    yield runs, studies
    _watch["roots"] = None


def test_the_report_reads_runs_and_studies_only_through_rundir(watched, tmp_path):
    runs, studies = watched
    gankit.report([runs / "plain"], tmp_path / "one.html")
    gankit.report([runs / "plain", runs / "wgan"], tmp_path / "two.html")
    gankit.report([studies / "losses"], tmp_path / "study.html")
    assert not _watch["opened"], "\n".join(sorted({f"{m}: {Path(p).name}" for m, p in _watch["opened"]}))


def test_the_web_lab_reads_runs_and_studies_only_through_rundir(watched):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from gankit.web.server import create_app

    runs, studies = watched
    token = "r" * 32
    app = create_app(runs, studies, token=token)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        listed = client.get("/api/runs").json()["runs"]
        assert {"plain", "wgan", "seed1"} <= {run["id"] for run in listed}
        assert client.get("/api/studies").json()["studies"][0]["verdicts"]
        for run in listed:
            base = f"/api/runs/{quote(run['id'], safe='')}"
            detail = client.get(base).json()
            assert client.get(base + "/metrics").status_code == 200
            for grid in detail.get("grids", [])[:1]:
                assert client.get(f"{base}/grid/{grid}.png").status_code == 200
            assert client.get(base + "/samples.png").status_code == 200
    assert not _watch["opened"], "\n".join(sorted({f"{m}: {Path(p).name}" for m, p in _watch["opened"]}))


def test_the_watch_sees_a_reader_of_its_own(watched):
    """The hook catches a gankit module that opens a run file itself (here a report helper
    reading metrics.jsonl with open())."""
    from gankit.report import text

    runs, _ = watched
    exec(compile("open(path).read()", text.__file__, "exec"), {"__name__": text.__name__, "path": runs / "plain" / "metrics.jsonl"})
    assert [module for module, _ in _watch["opened"]] == ["gankit.report.text"]
    _watch["opened"].clear()
