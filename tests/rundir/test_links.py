"""Run and study folders are read without following links below their anchor: a link that
another account planted in a shared folder reads as a missing file, never as the file it names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gankit.fsutil import NotFollowed, list_below, open_below, read_below, stat_below
from gankit.rundir import MetricsTail, RunDir, StudyDir
from gankit.rundir.lock import DirectoryLock, is_locked
from gankit.track import MetricsLog


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file of the owner's, outside every run folder."""
    path = tmp_path / "home" / "secret.txt"
    path.parent.mkdir()
    path.write_text("the owner's secret\n")
    return path


def a_run(folder: Path) -> Path:
    """A run folder by hand: a config, two metrics rows, one grid, one eval file."""
    (folder / "samples").mkdir(parents=True)
    (folder / "eval").mkdir()
    (folder / "config.yaml").write_text("train:\n  steps: 4\n")
    (folder / "metrics.jsonl").write_text('{"step": 0, "d_loss": 1.0}\n{"step": 4, "d_loss": 0.5}\n')
    (folder / "samples" / "step_000000.png").write_bytes(b"\x89PNG grid of step 0")
    (folder / "eval" / "step_000004.json").write_text(json.dumps({"step": 4, "measurements": [
        {"name": "modes", "value": 7, "protocol": "p", "out_of": 8}]}))
    return folder


def test_reads_below_the_anchor_follow_no_link(tmp_path, secret):
    runs = tmp_path / "runs"
    run = a_run(runs / "real")
    assert read_below(runs, run / "config.yaml") == b"train:\n  steps: 4\n"
    (run / "linked.yaml").symlink_to(secret)
    (runs / "linked-run").symlink_to(run)  # a run folder that is a link
    (run / "fifo").parent.mkdir(exist_ok=True)
    os.mkfifo(run / "fifo")  # would block a plain open
    for path in (run / "linked.yaml", runs / "linked-run" / "config.yaml", run / "fifo", run / ".." / "real" / "x",
                 tmp_path / "elsewhere"):
        with pytest.raises(NotFollowed):
            open_below(runs, path)
    assert isinstance(NotFollowed(), FileNotFoundError)
    with pytest.raises(NotFollowed):
        stat_below(runs, run / "linked.yaml")
    assert stat_below(runs, run / "config.yaml").st_size == 18
    assert sorted(list_below(runs, runs, files=False, folders=True)) == ["real"]
    assert sorted(list_below(runs, run)) == ["config.yaml", "metrics.jsonl"]
    with pytest.raises(ValueError, match="larger than"):
        read_below(runs, run / "metrics.jsonl", limit=10)
    # the anchor itself may be reached through a link (the owner's choice of folder)
    (tmp_path / "runs-link").symlink_to(runs)
    assert read_below(tmp_path / "runs-link", tmp_path / "runs-link" / "real" / "config.yaml").startswith(b"train")


def test_a_run_folder_with_planted_links_reads_as_missing_files(tmp_path, secret):
    runs = tmp_path / "runs"
    run = a_run(runs / "planted")
    intact = RunDir(run, runs)
    assert intact.exists() and len(intact.records()) == 2 and list(intact.grids()) == [0]
    assert [m.name for m in intact.eval_results()] == ["modes"]
    for path in (run / "config.yaml", run / "metrics.jsonl", run / "samples" / "step_000000.png",
                 run / "eval" / "step_000004.json"):
        path.unlink()
        path.symlink_to(secret)
    (run / "samples" / "step_000200.png").symlink_to(secret)
    for files in (RunDir(run, runs), RunDir(run)):
        assert not files.exists() and files.records() == [] and files.grids() == {}
        assert files.eval_results() == [] and files.readable_records() == ([], 1)
        with pytest.raises(FileNotFoundError):
            files.read_bytes(run / "samples" / "step_000200.png")
        with pytest.raises(Exception, match="not a gankit run directory"):
            files.config_text()
    # the whole run folder swapped for a link to a real run of the owner's
    own = a_run(tmp_path / "home" / "own-run")
    (runs / "swapped").symlink_to(own)
    assert not RunDir(runs / "swapped", runs).exists() and RunDir(runs / "swapped", runs).records() == []
    assert RunDir(own).exists()


def test_a_study_folder_with_planted_links(tmp_path, secret):
    studies = tmp_path / "studies"
    study = studies / "s"
    a_run(study / "runs" / "a-s0")
    (study / "runs" / "b-s0").symlink_to(a_run(tmp_path / "home" / "own"))
    (study / "summary.json").symlink_to(secret)
    (study / "study.yaml").symlink_to(secret)
    files = StudyDir(study, studies)
    assert files.run_names() == ["a-s0"] and files.spec_text() == "" and files.spec_data() == {}
    with pytest.raises(Exception, match="is missing"):
        files.summary_data()
    assert files.run("a-s0").exists() and not files.run("b-s0").exists()


def test_writers_never_write_through_a_planted_link(tmp_path, secret):
    """A lock file or a metrics log planted as a link to a file of the owner's: the training that
    resumes there refuses it instead of truncating or appending to the owner's file."""
    run = a_run(tmp_path / "runs" / "planted")
    (run / ".lock").symlink_to(secret)
    with pytest.raises(Exception):
        DirectoryLock(run).acquire()
    assert is_locked(run) is None
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").symlink_to(secret)
    with pytest.raises(Exception):
        MetricsLog(run).append({"step": 5})
    assert secret.read_text() == "the owner's secret\n"


def test_the_tail_reads_only_whole_appended_lines_and_notices_a_rewrite(tmp_path, secret):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 0}\n{"step": 5')
    tail = MetricsTail(RunDir(tmp_path))
    assert tail.read() == ([{"step": 0}], False)
    with open(path, "a") as handle:
        handle.write(', "d_loss": 1.0}\n{"step": 10}\n')
    assert tail.read() == ([{"step": 5, "d_loss": 1.0}, {"step": 10}], False)
    assert tail.read() == ([], False)
    replaced = tmp_path / "new.jsonl"
    replaced.write_text('{"step": 0}\n{"step": 5}\n')
    os.replace(replaced, path)  # as a resume's truncate_after does
    new, reset = tail.read()
    assert reset and tail.rows == [{"step": 0}, {"step": 5}]
    path.unlink()
    path.symlink_to(secret)  # swapped for a link: as if the file were gone
    assert tail.read() == ([], True) and tail.rows == []
