"""Running trainings: the cores are divided between concurrent jobs, a failure is named with its
log, and the same study runs through submitit's local executor."""

from __future__ import annotations

import json

import pytest

from gankit.studies.executors import LocalExecutor, Job, threads_per_job

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

STUDY = ("base: ring8\nseeds: 1\narms:\n  - {name: a}\n  - {name: b, set: {train.d_steps: 2}}\n"
         "measure: [quality]\n")


@pytest.mark.parametrize("jobs, cores, threads", [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 16, 8), (4, 16, 4)])
def test_threads_per_job_divide_the_cores(jobs, cores, threads):
    assert threads_per_job(jobs, cores) == threads


def test_concurrent_trainings_get_a_share_of_the_cores(gankit, tmp_path):
    study = tmp_path / "two.yaml"
    study.write_text(STUDY)
    code, _, err = gankit("study", str(study), "--out", str(tmp_path / "s"), "--steps", "3", "--jobs", "2",
                          "--cores", "2", "--executor", "local")
    assert code == 0, err
    for name in ("a-s0", "b-s0"):
        log = (tmp_path / "s" / "logs" / f"{name}.log").read_text()
        assert "speed: cpu (1 threads)" in log and f"--name {name}" in log


def test_a_failed_training_is_named_with_its_log(tmp_path):
    report = []
    job = Job("broken", ["train", str(tmp_path / "missing.yaml")], tmp_path / "logs" / "broken.log")
    (outcome,) = LocalExecutor(jobs=1, threads=1).run([job], report.append)
    assert outcome.code == 2 and "preset file not found" in outcome.detail
    assert report == [f"broken: failed (exit 2): {outcome.detail}"]


@pytest.mark.soak  # `make soak`: the local executor is the suite's
def test_the_same_study_through_submitit(gankit, tmp_path):
    pytest.importorskip("submitit")
    study = tmp_path / "two.yaml"
    study.write_text(STUDY)
    code, _, err = gankit("study", str(study), "--out", str(tmp_path / "s"), "--steps", "3", "--jobs", "2",
                          "--cores", "2", "--executor", "submitit-local")
    assert code == 0, err
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert {r["name"] for r in summary["runs"]} == {"a-s0", "b-s0"}
    assert all(r["status"] == "finished" for r in summary["runs"])
    assert any((tmp_path / "s" / "submitit").iterdir())
    log = (tmp_path / "s" / "logs" / "a-s0.log").read_text()
    assert "speed: cpu (1 threads)" in log
