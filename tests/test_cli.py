"""The `gankit` command: training, sampling, and one clear line with exit code 2 for every
user mistake, leaving existing run directories untouched."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.config import load_run_config

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

TINY = ["train.steps=2", "train.log_every=1", "train.sample_steps=[0]", "train.batch_size=16"]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its bytes (but the lock's, which says who last
    wrote there)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A finished two-step run of the embedded default, in a runs folder of its own."""
    runs = tmp_path_factory.mktemp("runs")
    main_args = ["train", *TINY, "--runs-dir", str(runs), "--progress"]  # the bar path, too
    try:
        main(main_args)
    except SystemExit as exit_:
        assert exit_.code == 0
    return runs / "digits"


@pytest.fixture
def runs(trained_run):
    """The runs folder, checked after the test to be exactly as it was."""
    root = trained_run.parent
    before = snapshot(root)
    yield root
    assert snapshot(root) == before, "a failed command changed the runs folder"


@pytest.fixture
def copy(trained_run, tmp_path) -> Path:
    """A copy of the trained run that a test may damage."""
    destination = tmp_path / "copy"
    shutil.copytree(trained_run, destination)
    return destination


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gankit: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_train_then_sample_with_a_shifted_prior(trained_run, tmp_path, gankit):
    png, npy = tmp_path / "fakes.png", tmp_path / "fakes.npy"
    code, out, err = gankit("sample", str(trained_run), "--n", "10", "--prior", "normal(-10,1)",
                            "--seed", "3", "-o", str(png), "--npy", str(npy))
    assert code == 0, err
    samples = np.load(npy)
    assert samples.shape == (10, 1, 16, 16) and samples.dtype == np.float32
    assert samples.min() >= -1 and samples.max() <= 1
    assert Image.open(png).size[0] > 16
    again = tmp_path / "again.npy"
    gankit("sample", str(trained_run), "--n", "10", "--prior", "normal(-10,1)", "--seed", "3",
           "-o", str(tmp_path / "again.png"), "--npy", str(again))
    assert np.array_equal(np.load(again), samples)
    other = tmp_path / "other.npy"
    gankit("sample", str(trained_run), "--n", "10", "--prior", "uniform(0,1)", "--seed", "3",
           "-o", str(tmp_path / "other.png"), "--npy", str(other))
    assert not np.array_equal(np.load(other), samples)


@pytest.mark.parametrize("argv, fragments", [
    (["train", "dcgan-mnis"], ["unknown preset 'dcgan-mnis'", "did you mean dcgan-mnist"]),
    (["train", "train.stepz=3"], ["unknown config key 'train.stepz'", "did you mean train.steps"]),
    (["train", "train.steps=lots"], ["train.steps", "integer"]),
    (["train", "train.batch_size=-4"], ["train.batch_size", "greater than or equal to 1"]),
    (["train", "train.batch_size=5000"], ["train.batch_size=5000", "1797 images"]),
    (["train", "data.image_size=20"], ["image_size=20"]),
    (["train", "--bogus"], ["--bogus"]),
    (["train", "model.pack=2", "model.conditional=concat"], ["model.pack > 1", "conditional=none"]),
    (["train", "model.pack=3"], ["batch_size=64", "multiple of model.pack=3"]),
    (["train", "model.conditional=kplus1", "train.loss=hinge"], ["kplus1", "got hinge"]),
    (["train", "model.arch=conv1d"], ["model.arch=conv1d makes sequences", "data are images"]),
    (["train", "data.source=sines", "model.arch=mlp", "model.conditional=acgan"], ["needs labelled data"]),
    (["train", "data.source=sequences", "model.arch=conv1d"], ["data.root"]),
    (["train", "data.channels=2"], ["1 (grey) or 3 (RGB)"]),
    (["train", "regularize.clip=-1"], ["regularize.clip", "greater than 0"]),
])
def test_config_mistakes(runs, gankit, argv, fragments):
    code, _, err = gankit(*argv, "--runs-dir", str(runs))
    assert_one_line_error(code, err, *fragments)


def test_missing_data_folder(runs, tmp_path, gankit):
    missing = tmp_path / "no-such-faces"
    code, _, err = gankit("train", "dcgan-faces", f"data.root={missing}", "--runs-dir", str(runs))
    assert_one_line_error(code, err, str(missing))


def test_image_that_cannot_be_decoded(runs, tmp_path, gankit):
    faces = tmp_path / "faces"
    faces.mkdir()
    Image.new("L", (70, 80), 128).save(faces / "good.png")
    (faces / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    code, _, err = gankit("train", "dcgan-faces", f"data.root={faces}", "data.channels=1",
                          "train.batch_size=1", "model.pack=1", "--runs-dir", str(runs))
    assert_one_line_error(code, err, "broken.jpg")


def test_corrupt_checkpoint(copy, gankit):
    (copy / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint at all")
    before = snapshot(copy)
    code, _, err = gankit("train", "--resume", str(copy), "train.steps=4")
    assert_one_line_error(code, err, "last.pt", "corrupt")
    assert snapshot(copy) == before


def test_truncated_checkpoint(copy, gankit):
    ckpt = copy / "checkpoints" / "last.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:5000])
    before = snapshot(copy)
    code, _, err = gankit("train", "--resume", str(copy), "train.steps=4")
    assert_one_line_error(code, err, "last.pt")
    assert snapshot(copy) == before


def test_checkpoint_that_does_not_match_the_config(runs, trained_run, gankit):
    code, _, err = gankit("train", "--resume", str(trained_run), "train.steps=4", "model.g_width=48")
    assert_one_line_error(code, err, "does not match")


def test_resume_needs_more_steps(runs, trained_run, gankit):
    code, _, err = gankit("train", "--resume", str(trained_run), "train.steps=2")
    assert_one_line_error(code, err, "already at step 2")


def test_resume_of_a_folder_that_is_not_a_run(runs, tmp_path, gankit):
    code, _, err = gankit("train", "--resume", str(tmp_path))
    assert_one_line_error(code, err, "not a gankit run directory")


def test_sample_with_mismatched_weights(copy, tmp_path, gankit):
    config = copy / "config.yaml"
    config.write_text(config.read_text().replace("g_width: 64", "g_width: 40"))
    code, _, err = gankit("sample", str(copy), "-o", str(tmp_path / "x.png"))
    assert_one_line_error(code, err, "generator.safetensors", "does not match")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("argv, fragments", [
    (["--prior", "cauchy(0,1)"], ["cauchy"]),
    (["--label", "3"], ["not conditional"]),
    (["--n", "0"], ["--n"]),
])
def test_sample_mistakes(runs, trained_run, tmp_path, gankit, argv, fragments):
    code, _, err = gankit("sample", str(trained_run), *argv, "-o", str(tmp_path / "x.png"))
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "x.png").exists()


def test_console_command_exits_two_in_a_real_process(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gankit", "train", "no-such-preset",
                             "--runs-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("gankit: error: unknown preset 'no-such-preset'")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_checkpoints_and_the_run_resumes(tmp_path):
    """Interrupting a run writes a checkpoint at the step reached; --resume continues from it."""
    import signal

    from gankit.engine import read_checkpoint

    command = [sys.executable, "-m", "gankit", "train", "train.steps=100000", "train.log_every=5",
               "model.g_width=16", "--runs-dir", str(tmp_path), "--no-progress"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if line.startswith("step 10:"):
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, rest
    assert "continue with: gankit train --resume" in rest and "Traceback" not in rest
    run_dir = tmp_path / "digits"
    step = read_checkpoint(run_dir / "checkpoints" / "last.pt")["step"]
    assert step >= 10
    resumed = subprocess.run([sys.executable, "-m", "gankit", "train", "--resume", str(run_dir),
                              f"train.steps={step + 3}", "--no-progress"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert read_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == step + 3
    assert (run_dir / "generator.safetensors").is_file()


def test_a_file_in_the_working_folder_is_no_preset(tmp_path, monkeypatch, gankit):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits").write_text("name: evil\ntrain: {stepz: 3}\n")
    code, _, err = gankit("train", "digits", *TINY, "--runs-dir", "runs")
    assert code == 0, err
    cfg = load_run_config(tmp_path / "runs" / "digits")
    assert (cfg.name, cfg.data.source, cfg.train.steps) == ("digits", "digits", 2)
    code, _, err = gankit("train", "./digits", *TINY, "--runs-dir", "runs")
    assert_one_line_error(code, err, "unknown config key 'train.stepz'")
    (tmp_path / "mine").write_text("name: evil\n")
    code, _, err = gankit("train", "mine", *TINY, "--runs-dir", "runs")
    assert_one_line_error(code, err, "unknown preset 'mine'", "(to use the file ./mine, write ./mine)")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["digits"]
