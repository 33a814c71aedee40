"""A run of a study that diverges is a result, not a failure: the study finishes, the run is
marked diverged, its values are left out, and started again the study does not retrain it."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out


def test_a_diverging_arm_is_measured_as_diverged(gankit, tmp_path):
    study = tmp_path / "lr.yaml"
    study.write_text(
        "base: digits\nsteps: 30\nseeds: 1\n"
        "set: {model.g_width: 16, model.d_width: 8, train.batch_size: 32, train.log_every: 5,\n"
        "      train.sample_steps: [0], speed.precision: fp32, optim.g.name: sgd, optim.d.name: sgd}\n"
        "arms:\n  - {name: sane, set: {optim.g.lr: 0.01, optim.d.lr: 0.01}}\n"
        "  - {name: huge, set: {optim.g.lr: 1.0e+6, optim.d.lr: 1.0e+6}}\n"
        "measure: [outputs]\n")
    out = tmp_path / "out"
    code, _, err = gankit("study", str(study), "--out", str(out), "--cores", "1")
    assert code == 0, err
    assert "huge-s0: diverged" in err
    summary = json.loads((out / "summary.json").read_text())
    runs = {r["name"]: r for r in summary["runs"]}
    assert runs["huge-s0"]["status"] == "diverged" and not any(
        v is not None for v in runs["huge-s0"]["values"].values())
    assert runs["sane-s0"]["status"] == "finished" and runs["sane-s0"]["values"]["d_x_end"] is not None
    code, _, err = gankit("study", str(study), "--out", str(out), "--cores", "1")
    assert code == 0 and "2 finished, 0 to train" in err
