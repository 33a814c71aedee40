"""`gankit study` end to end at a tiny scale: every built-in study leaves ordinary run
directories, a strict-JSON summary and a report; a study started again continues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gankit.config import load_run_config
from gankit.studies.plan import State, run_state

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

TINY = ["--steps", "4", "--seeds", "2", "--cores", "1", "train.log_every=1", "eval.samples=200"]


def run_study(gankit, name: str, out: Path, *extra: str):
    code, stdout, err = gankit("study", name, "--out", str(out), *TINY, *extra)
    assert code == 0, err
    return stdout, err


def read_summary(out: Path) -> dict:
    text = (out / "summary.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    return json.loads(text)


def check_study(out: Path, summary: dict, arms: int, metrics: set[str]) -> None:
    assert summary["format"] == 1 and len(summary["arms"]) == arms
    runs = {r["name"] for r in summary["runs"]}
    for name in runs:
        run = out / "runs" / name
        assert run_state(run, 4) is State.FINISHED
        assert load_run_config(run).train.steps == 4
        assert (run / "generator.safetensors").is_file() and (run / "metrics.jsonl").is_file()
    keys = {m["key"] for m in summary["metrics"]}
    assert metrics <= keys, keys
    for key in metrics:
        assert any(row["values"][key]["n"] >= 1 for row in summary["table"]), key
    assert {v["verdict"] for v in summary["verdicts"]} <= {"supported", "contradicted", "inconclusive"}
    report = (out / "report.html").read_text()
    assert summary["title"] in report and "http://" not in report


SOAK = pytest.mark.soak  # every study at a tiny scale: `make soak`; the suite keeps one of each kind


@pytest.mark.parametrize("name, arms, seeds, metrics", [  # one seed but g-loss (the verdicts: test_verdicts)
    ("noise", 3, 1, {"convergence_step", "loss_spread", "loss_swing", "seq_fd", "seq_mmd"}),
    ("g-loss", 2, 2, {"g_grad_early", "g_grad_start", "domain_fd", "fd_closed"}),
    pytest.param("lr-sensitivity", 4, 1, {"domain_fd", "fd_closed", "diversity", "d_g_z_end"}, marks=SOAK),
    pytest.param("mode-collapse", 12, 1, {"modes", "high_quality", "class_kl", "collapsed", "modes_lost", "diversity"},
                 marks=SOAK),
])
def test_each_training_study_at_a_tiny_scale(gankit, tmp_path, name, arms, seeds, metrics):
    out = tmp_path / name
    stdout, err = run_study(gankit, name, out, "--seeds", str(seeds), "--jobs", "2", "--cores", "2")
    summary = read_summary(out)
    check_study(out, summary, arms, metrics)
    assert len(summary["runs"]) == arms * seeds
    assert f"{arms * seeds} to train" in err
    for verdict in summary["verdicts"]:
        assert verdict["claim"] in stdout


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    """A tiny folder of random "faces"."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    for i in range(48):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    return folder


@pytest.mark.parametrize("name, arms, metrics", [
    pytest.param("lr-sensitivity-faces", 4, {"image_fd", "fd_closed", "image_coverage", "diversity", "d_g_z_end"},
                 marks=SOAK),
    ("mode-collapse-faces", 6, {"collapsed", "coverage_lost", "image_coverage", "diversity", "d_x_end"}),
])
def test_the_faces_studies_at_a_tiny_scale(gankit, tmp_path, faces, name, arms, metrics):
    out = tmp_path / name
    tiny_faces = [f"data.root={faces}", "data.image_size=16", "train.batch_size=16", "eval.every=2",
                  "train.sample_steps=[0]"]
    stdout, err = run_study(gankit, name, out, "--seeds", "1", "--jobs", "2", "--cores", "2", *tiny_faces)
    summary = read_summary(out)
    check_study(out, summary, arms, metrics)
    assert all(r["status"] == "finished" for r in summary["runs"])
    for verdict in summary["verdicts"]:
        assert verdict["claim"] in stdout


def test_a_faces_study_without_a_folder_is_one_line(gankit, tmp_path):
    code, _, err = gankit("study", "lr-sensitivity-faces", "--out", str(tmp_path / "s"))
    assert code == 2 and "give it data.root=FOLDER" in err and len(err.strip().splitlines()) == 1
    code, _, err = gankit("study", "lr-sensitivity-faces", f"data.root={tmp_path / 'nope'}", "--out", str(tmp_path / "s"))
    assert code == 2 and "data folder not found" in err
    assert not (tmp_path / "s" / "runs").exists()


def test_latent_shift_on_a_given_run_and_on_its_own(gankit, tmp_path):
    code, _, err = gankit("train", "train.steps=4", "train.sample_steps=[0]", "--runs-dir", str(tmp_path / "r"))
    assert code == 0, err
    run = tmp_path / "r" / "digits"
    out = tmp_path / "shift"
    stdout, _ = run_study(gankit, "latent-shift", out, str(run))
    summary = read_summary(out)
    assert [a["name"] for a in summary["arms"]] == ["n01", "n-10", "u01"]
    assert {r["arm"] for r in summary["runs"]} == {"n01", "n-10", "u01"} and len(summary["runs"]) == 3
    values = {r["arm"]: r["values"] for r in summary["runs"]}
    assert values["n-10"]["z_offset"] == pytest.approx(100, rel=0.02)
    assert values["u01"]["z_spread"] == pytest.approx(0.289, abs=0.01)
    assert values["n01"]["typical_share"] > 0.95 and values["n-10"]["typical_share"] == 0
    for item in summary["figures"] + summary["samples"]:
        assert (out / item["path"]).is_file()
    assert not (out / "runs").exists()  # nothing trained
    # --prior replaces the priors; claims about priors no longer sampled are dropped
    run_study(gankit, "latent-shift", tmp_path / "two", str(run), "--prior", "normal(0,1)", "--prior", "normal(5,2)")
    two = read_summary(tmp_path / "two")
    assert [a["name"] for a in two["arms"]] == ["normal_0_1", "normal_5_2"] and two["verdicts"] == []
    # without runs it trains its own, one per seed
    run_study(gankit, "latent-shift", tmp_path / "own")
    own = read_summary(tmp_path / "own")
    assert len(own["runs"]) == 6 and (tmp_path / "own" / "runs" / "trained-s1").is_dir()


def test_a_users_study_file_and_a_second_start(gankit, tmp_path):
    study = tmp_path / "k-steps.yaml"
    study.write_text(
        "title: k D steps per G step\nquestion: Does k = 5 train differently from k = 1?\nbase: ring8\n"
        "arms:\n  - {name: k1, set: {train.d_steps: 1}}\n  - {name: k5, set: {train.d_steps: 5}}\n"
        "measure: [quality, outputs]\n"
        "claims:\n  - {claim: k = 5 covers more modes, kind: better, metric: modes, arm: k5, other: k1}\n")
    out = tmp_path / "k"
    run_study(gankit, str(study), out)
    first = (out / "summary.json").read_bytes()
    assert json.loads(first)["study"] == "k-steps"
    plans = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    _, err = run_study(gankit, str(study), out)
    assert "4 finished, 0 to train" in err
    assert (out / "summary.json").read_bytes() == first
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == plans
    # more steps: every run is resumed to them, none restarted
    code, _, err = gankit("study", str(study), "--out", str(out), *TINY[2:], "--steps", "6", "train.log_every=1")
    assert code == 0, err
    assert "4 to train" in err
    assert all(json.loads(line)["step"] <= 6 for line in (out / "runs" / "k5-s0" / "metrics.jsonl").open())
    assert run_state(out / "runs" / "k5-s0", 6) is State.FINISHED
    # other settings for the same folder are refused, and nothing changes
    before = (out / "summary.json").read_bytes()
    code, _, err = gankit("study", str(study), "--out", str(out), *TINY[2:], "--steps", "6", "train.batch_size=32")
    assert code == 2 and "trained with other settings" in err and len(err.strip().splitlines()) == 1
    assert (out / "summary.json").read_bytes() == before


@pytest.mark.parametrize("argv, fragment", [
    (["study", "nois"], "unknown study 'nois' (did you mean noise?)"),
    (["study", "noise", "train.stepz=3"], "unknown config key 'train.stepz'"),
    (["study", "noise", "some/run"], "trains its own runs"),
    (["study", "noise", "--jobs", "0"], "--jobs must be at least 1"),
    (["study", "noise", "--executor", "ray"], "unknown executor 'ray'"),
    (["study", "noise", "--prior", "normal(0,1)"], "does not sample from priors"),
    (["study", "latent-shift", "--prior", "normal(0)"], "normal(mu,sigma) needs two numbers"),
    (["study", "noise", "--slurm", "slurm_partition=gpu"], "--slurm options need --executor slurm"),
])
def test_mistakes_are_one_line_and_train_nothing(gankit, tmp_path, argv, fragment):
    out = tmp_path / "s"
    code, _, err = gankit(*argv, "--out", str(out))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gankit: error: ") and fragment in lines[0], err
    assert not (out / "runs").exists()


def test_a_bare_name_is_a_built_in_study_never_a_file_in_the_working_folder(gankit, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "noise").write_text("name: evil\nbase: ring8\n")
    (tmp_path / "mine").write_text("name: evil\nbase: ring8\n")
    for argv, fragment in ((["noise", "--prior", "normal(0,1)"], "study noise does not sample from priors"),
                           (["mine"], "unknown study 'mine'")):
        code, _, err = gankit("study", *argv, "--out", "s")
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and fragment in lines[0], err
    assert lines[0].endswith("(to use the file ./mine, write ./mine)")
    assert not (tmp_path / "s").exists()
