"""The model zoo end to end: WGAN clipping and its estimate, conditional grids and sampling,
sequence files, and the 2-D toys' pictures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from gankit.engine import fit, new_run, resume_run

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

FAST = ["train.log_every=1", "train.checkpoint_every=1000", "train.batch_size=16"]
DIGITS_16 = ["data.source=digits", "data.image_size=16", "data.root=null", "data.limit=256"]


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_wgan_clips_every_critic_parameter_and_logs_its_estimate(tmp_path):
    session = new_run("wgan-mnist", ["train.steps=4", *FAST, *DIGITS_16, "model.d_width=16"], runs_root=tmp_path)
    fit(session, show_progress=False)
    for name, parameter in session.gan.discriminator.named_parameters():
        assert parameter.abs().max().item() <= 0.01, name
    assert session.gan.d_optimizer.__class__.__name__ == "RMSprop"
    for record in records(session.run_dir):
        assert record["wasserstein"] == pytest.approx(-(record["d_real"] + record["d_fake"]), abs=2e-6)
        # no sigmoid: D(x) is the raw critic mean, -d_real
        assert record["d_x"] == pytest.approx(-record["d_real"], abs=2e-6)


def test_without_clipping_the_critic_leaves_the_bound(tmp_path):
    """The clipping test above can fail: the same run unclipped has weights beyond 0.01."""
    session = new_run("wgan-mnist", ["train.steps=4", *FAST, *DIGITS_16, "model.d_width=16",
                                     "regularize.clip=false"], runs_root=tmp_path)
    fit(session, show_progress=False)
    assert max(p.abs().max().item() for p in session.gan.discriminator.parameters()) > 0.01


@pytest.mark.parametrize("conditional", ["concat", "projection", "acgan", "kplus1"])
def test_conditional_runs_draw_one_row_per_class_and_sample_any_label(conditional, tmp_path, gankit):
    arch = "cgan-lab" if conditional == "kplus1" else "dcgan"
    session = new_run("cgan-mnist", ["train.steps=2", *FAST, *DIGITS_16, f"model.arch={arch}",
                                     f"model.conditional={conditional}", "train.sample_count=30",
                                     "train.sample_steps=[0]"], runs_root=tmp_path)
    run_dir = fit(session, show_progress=False)
    width, height = Image.open(run_dir / "samples" / "step_000002.png").size
    cell = 32 + 2  # 16x16 images shown at 32x32, 2 pixels apart
    assert (width, height) == (3 * cell + 2, 10 * cell + 2)  # 10 classes in rows of 3

    npys = {}
    for label in (3, 4):
        npy = tmp_path / f"label{label}.npy"
        code, _, err = gankit("sample", str(run_dir), "--n", "5", "--label", str(label), "--seed", "1",
                              "-o", str(tmp_path / f"label{label}.png"), "--npy", str(npy))
        assert code == 0, err
        npys[label] = np.load(npy)
        assert npys[label].shape == (5, 1, 16, 16)
    assert not np.allclose(npys[3], npys[4])
    generator = session.gan.sampler.eval()  # what `gankit sample` draws from (the preset's weight average)
    z = torch.randn(5, 100, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert np.allclose(npys[3], generator(z, torch.full((5,), 3)).numpy(), atol=1e-5)
    code, _, err = gankit("sample", str(run_dir), "--label", "10", "-o", str(tmp_path / "x.png"))
    assert code == 2 and "classes 0 to 9" in err


def test_sequence_file_run_records_its_shape_and_samples_in_data_units(tmp_path, gankit):
    t = np.linspace(0, 1, 32)
    rows = [100 + 20 * np.sin(2 * np.pi * (f * t + p)) for f, p in zip(np.linspace(1, 3, 40), np.linspace(0, 1, 40))]
    np.savetxt(tmp_path / "signals.csv", np.array(rows), delimiter=",")
    runs = tmp_path / "runs"
    code, _, err = gankit("train", "conv1d-sines", "data.source=sequences",
                          f"data.root={tmp_path / 'signals.csv'}", "train.steps=2", "train.d_steps=1",
                          "train.sample_steps=[0]", *FAST, "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    run_dir = runs / "conv1d-sines"
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())["data"]
    assert saved["length"] == 32 and saved["channels"] == 1
    assert saved["value_range"] == pytest.approx([80.0, 120.0], abs=0.1)
    assert Image.open(run_dir / "samples" / "step_000002.png").size[0] > 300  # a plot, not a 32-pixel strip
    npy = tmp_path / "fake.npy"
    code, _, err = gankit("sample", str(run_dir), "--n", "4", "-o", str(tmp_path / "fake.png"), "--npy", str(npy))
    assert code == 0, err
    fake = np.load(npy)
    assert fake.shape == (4, 1, 32)
    assert 80.0 - 1e-3 <= fake.min() and fake.max() <= 120.0 + 1e-3  # tanh output mapped back to the data's range
    resumed = resume_run(run_dir, ["train.steps=3"])
    assert resumed.cfg.data.value_range == tuple(saved["value_range"])
    fit(resumed, show_progress=False)


def test_toy_pictures_show_d_as_a_heat_map(tmp_path):
    session = new_run("ring8", ["train.steps=2", *FAST, "train.sample_steps=[0]"], runs_root=tmp_path)
    run_dir = fit(session, show_progress=False)
    picture = np.asarray(Image.open(run_dir / "samples" / "step_000002.png").convert("RGB"))
    assert picture.shape[0] > 300
    colours = {tuple(c) for c in picture.reshape(-1, 3)[::7]}
    assert len(colours) > 50  # a heat map, not points on white
