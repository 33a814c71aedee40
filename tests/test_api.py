"""The Python API: gankit.train / gankit.load / Run, and the command line as a layer over it."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import gankit
from gankit.config import override_strings

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

TINY = {"train.steps": 30, "train.log_every": 10, "train.sample_steps": [0, 20], "train.sample_count": 16,
        "model.g_width": 16, "model.d_width": 8}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run on the embedded digits, trained through the API."""
    runs = tmp_path_factory.mktemp("runs")
    return gankit.train(overrides=TINY, name="demo", runs_dir=runs)


def test_a_trained_run_holds_its_rows_grids_and_state(trained):
    assert trained.dir.name == "demo" and trained.stopped_at is None
    assert trained.step == 30 and trained.status == "finished"
    rows = trained.records
    assert [row["step"] for row in rows] == [0, 10, 20, 30]
    metrics = trained.metrics  # pandas is a test dependency: a DataFrame indexed by step
    assert list(metrics.index) == [0, 10, 20, 30]
    assert np.allclose(metrics["d_loss"].to_numpy(), [row["d_loss"] for row in rows])
    assert sorted(trained.grids) == [0, 20, 30]


def test_samples_are_what_gankit_sample_npy_writes(trained, command, tmp_path):
    x = trained.sample(12, prior="normal(-10,1)", seed=3)
    assert x.shape == (12, 1, 16, 16)
    code, _, _ = command("sample", str(trained.dir), "--n", "12", "--prior", "normal(-10,1)", "--seed", "3",
                        "-o", str(tmp_path / "s.png"), "--npy", str(tmp_path / "s.npy"))
    assert code == 0
    assert np.array_equal(np.load(tmp_path / "s.npy"), x.numpy())
    assert not torch.equal(trained.sample(12, seed=3), x)  # the prior is used


def test_evaluate_measures_what_gankit_eval_measures(trained, command):
    measured = trained.evaluate(samples=200)
    written = json.loads(measured.path.read_text())
    assert [m["name"] for m in written["measurements"]] == [m.name for m in measured]
    assert measured.as_dict() == {m["name"]: m["value"] for m in written["measurements"]}
    assert "class_accuracy" in measured.as_dict() or "domain_fd" in measured.as_dict()
    code, out, _ = command("eval", str(trained.dir), "--samples", "200")
    assert code == 0 and out.strip() == repr(measured).strip()  # same generator, same protocol: same numbers


def test_load_reads_a_run_the_command_line_made_and_resume_continues_it(command, tmp_path):
    runs = tmp_path / "runs"
    code, out, _ = command("train", *override_strings(TINY), "--name", "cli", "--runs-dir", str(runs), "--no-progress")
    assert code == 0 and out.strip() == str(runs / "cli")
    run = gankit.load(runs / "cli")
    assert run.step == 30 and run.config.model.g_width == 16
    resumed = gankit.train(resume=runs / "cli", overrides={"train.steps": 50}, progress=False)
    assert resumed.dir == run.dir and resumed.step == 50 and run.step == 50  # a Run reads the disk afresh
    assert [r["step"] for r in run.records] == [0, 10, 20, 30, 40, 50]


def test_errors_are_one_exception_with_the_command_lines_message(command, tmp_path):
    with pytest.raises(gankit.GankitError) as raised:
        gankit.train(overrides={"train.stpes": 5}, runs_dir=tmp_path)
    code, _, err = command("train", "train.stpes=5", "--runs-dir", str(tmp_path))
    assert code == 2 and err.strip() == f"gankit: error: {raised.value}"
    with pytest.raises(gankit.GankitError, match="not a gankit run directory"):
        gankit.load(tmp_path / "nothing")
    assert not any(tmp_path.iterdir())  # nothing was written


def test_mapping_values_reach_the_config_as_given(tmp_path):
    strings = override_strings({"data.root": "~/data", "train.sample_steps": [0, 5], "optim.g.lr": 1e-4,
                                "train.prior": "normal(0,1)", "train.ema": None, "model.spectral_norm": "true"})
    assert strings == ["data.root=~/data", "train.sample_steps=[0, 5]", "optim.g.lr=0.0001",
                       "train.prior=normal(0,1)", "train.ema=null", "model.spectral_norm='true'"]
    with pytest.raises(gankit.GankitError, match="mapping or a list"):
        override_strings("train.steps=5")


def test_a_run_shows_its_latest_grid_and_curves_in_a_notebook(trained):
    page = trained._repr_html_()
    assert "step 30 of 30, finished" in page
    assert page.count("data:image/png;base64,") == 2  # the grid of step 30 and the loss curves
    assert "samples at step 30" in page
    assert repr(trained) == f"Run('{trained.dir}', step 30/30, finished)"


STOPPABLE = """
import sys, gankit
run = gankit.train(overrides={"train.steps": 100000, "train.log_every": 5, "model.g_width": 16,
                              "model.d_width": 8, "train.sample_steps": []}, runs_dir=sys.argv[1], name="long")
print("RESULT", run.stopped_at, run.status, flush=True)
"""


def test_ctrl_c_ends_the_iteration_with_a_checkpoint_and_returns_the_run(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", STOPPABLE, str(tmp_path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    metrics = tmp_path / "long" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not metrics.is_file() or metrics.read_text().count("\n") < 3):
        time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    stopped_at, status = out.split("RESULT")[1].split()
    assert status == "stopped" and int(stopped_at) > 0
    checkpoint = torch.load(tmp_path / "long" / "checkpoints" / "last.pt", weights_only=True)
    assert checkpoint["step"] == int(stopped_at)
    assert "continue with: gankit train --resume" in err


def test_the_api_functions_keep_their_names_after_their_subpackages_are_imported():
    """gankit.report, gankit.export and gankit.studies are functions, and stay functions once
    the subpackages of the same names (which they use) are imported."""
    import importlib

    import gankit

    for name in ("report", "export", "studies"):
        importlib.import_module(f"gankit.{name}")
        assert callable(getattr(gankit, name)) and getattr(gankit, name).__module__ == "gankit.api", name
    assert "ring8" in gankit.presets() and "noise" in gankit.studies()
