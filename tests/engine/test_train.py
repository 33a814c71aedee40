"""The training loop end to end: run directory contents, presets, and exact resume."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from gankit.config import preset_names
from gankit.engine import fit, new_run, resume_run
from gankit.errors import UserError

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

FAST = ["train.log_every=1", "train.sample_steps=[0]", "train.checkpoint_every=1000"]


def run_files(run_dir):
    return {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}


def preset_data_overrides(preset, request):
    """Point each preset at offline data: the shared real sets, or a folder of images."""
    if preset in ("digits", "conv1d-sines", "wgan-sines", "ring8", "grid25"):
        return []  # embedded or synthetic data
    shared_data = request.getfixturevalue("shared_data")
    if preset in ("dcgan-mnist", "goodfellow-mnist", "wgan-mnist", "cgan-mnist", "stacked-mnist"):
        return [f"data.root={shared_data}", "data.limit=512"]
    if preset in ("dcgan-faces", "wgan-faces", "faces-fast"):
        return [f"data.root={shared_data / 'orl_faces'}", "data.channels=1"]
    if preset == "dcgan-cifar10":
        return ["data.source=folder", f"data.root={shared_data / 'cifar10_sample' / 'train'}"]
    if preset == "dcgan-fashion-mnist":
        return ["data.source=mnist", f"data.root={shared_data}", "data.limit=512"]
    raise AssertionError(f"no offline data for preset {preset}: add it here")


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_trains_two_steps(preset, request, tmp_path):
    overrides = ["train.steps=2", "train.batch_size=16", *FAST, *preset_data_overrides(preset, request)]
    session = new_run(preset, overrides, runs_root=tmp_path)
    run_dir = fit(session, show_progress=False)
    assert run_dir == tmp_path / preset
    files = run_files(run_dir)
    expected = {"config.yaml", "metrics.jsonl", "samples/step_000000.png", "samples/step_000002.png",
                "checkpoints/last.pt", "generator.safetensors", "loss_curve.png", "loss_table.md",
                "loss_table.csv"}
    assert expected <= files
    assert any(f.startswith("events.out.tfevents") for f in files)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1, 2]
    for record in records:
        for key in ("d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z", "img_per_s"):
            assert isinstance(record[key], float) and record[key] == record[key]
        for key in ("g_grad_norm", "d_grad_norm"):
            assert isinstance(record[key], float) and 0 < record[key] < float("inf"), (record["step"], key)


def test_run_names_are_never_reused(tmp_path):
    first = new_run(None, ["train.steps=1"], runs_root=tmp_path).run_dir
    second = new_run(None, ["train.steps=1"], runs_root=tmp_path).run_dir
    named = new_run(None, ["train.steps=1"], name="mine", runs_root=tmp_path).run_dir
    assert (first.name, second.name, named.name) == ("digits", "digits-2", "mine")


def test_untrained_step_zero_record_is_log_two(tmp_path):
    """At initialisation D outputs about 1/2, so each BCE term is about log 2."""
    run_dir = fit(new_run(None, ["train.steps=1", *FAST], runs_root=tmp_path), show_progress=False)
    first = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])
    assert first["step"] == 0
    assert first["d_real"] == pytest.approx(0.693, abs=0.05)
    assert first["d_fake"] == pytest.approx(0.693, abs=0.05)
    assert first["d_x"] == pytest.approx(0.5, abs=0.05)


def state_of(session):
    gan = session.gan
    return {"g": gan.generator.state_dict(), "d": gan.discriminator.state_dict(),
            "g_opt": gan.g_optimizer.state_dict()["state"], "d_opt": gan.d_optimizer.state_dict()["state"]}


def assert_same_state(a, b):
    for part in ("g", "d"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key} differs"
    for part in ("g_opt", "d_opt"):
        for index, slots in a[part].items():
            for name, value in slots.items():
                assert torch.equal(value, b[part][index][name]), f"{part}[{index}].{name} differs"


@pytest.mark.parametrize("preset, extra, steps", [
    (None, [], 60),
    (None, ["train.d_steps=2", "model.arch=mlp", "model.d_dropout=0.3"], 60),
    (None, ["model.conditional=acgan", "train.sample_count=20"], 60),
    (None, ["speed.precision=bf16", "train.g_noise=reuse"], 40),  # bf16 is emulated (slow) on CPUs without it
    (None, ["train.ema=0.99", "regularize.augment=[color,translation,cutout]"], 60),
    ("ring8", ["train.d_steps=2", "model.pack=2", "model.minibatch_std=true", "model.spectral_norm=true",
               "regularize.gradient_penalty=1", "regularize.r1=0.5", "train.batch_size=64",
               "train.top_k=0.5", "train.top_k_decay=0.9",
               "data.count=1024"], 60),  # an epoch is 16 steps: top-k decays across the stop
    ("ring8", ["train.loss=wasserstein", "regularize.clip=true", "optim.d.name=rmsprop",
               "train.batch_size=64"], 60),
])
def test_resume_continues_exactly(tmp_path, preset, extra, steps):
    """Stopped halfway and resumed equals an uninterrupted run of ``steps``."""
    common = ["train.log_every=10", "train.checkpoint_every=1000", "model.g_width=32", *extra]
    straight = new_run(preset, [f"train.steps={steps}", *common], name="straight", runs_root=tmp_path)
    fit(straight, show_progress=False)

    first_half = new_run(preset, [f"train.steps={steps // 2}", *common], name="halves", runs_root=tmp_path)
    fit(first_half, show_progress=False)
    resumed = resume_run(first_half.run_dir, [f"train.steps={steps}"])
    assert resumed.step == steps // 2
    fit(resumed, show_progress=False)

    assert_same_state(state_of(straight), state_of(resumed))
    logged = [json.loads(line)["step"] for line in (resumed.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert logged == sorted(set(logged)) and logged[-1] == steps
    straight_log = (straight.run_dir / "metrics.jsonl").read_text().splitlines()
    resumed_log = (resumed.run_dir / "metrics.jsonl").read_text().splitlines()
    losses = lambda lines, step: {k: v for k, v in json.loads(lines[step]).items() if k != "img_per_s"}
    assert losses(straight_log, -1) == losses(resumed_log, -1)


def test_a_constant_rate_run_resumed_with_a_late_decay_equals_a_run_that_had_it_from_the_start(tmp_path):
    """optim.decay_from holds the base rates until its step, so a finished run at a constant rate
    is the first part of a longer run whose rates fall from there: resuming it with the decay
    (the weight average and the optimizers' moments carried over) must end where a run that had
    the schedule from step 1 ends; resumed without the decay it ends elsewhere."""
    common = ["train.log_every=50", "train.checkpoint_every=1000", "model.g_width=32", "train.ema=0.99",
              "train.batch_size=64"]
    decay = ["train.steps=200", "optim.schedule=linear", "optim.decay_from=120"]
    straight = new_run("ring8", [*common, *decay], name="straight", runs_root=tmp_path)
    fit(straight, show_progress=False)

    def constant_then(overrides: list[str], name: str):
        fit(new_run("ring8", [*common, "train.steps=120"], name=name, runs_root=tmp_path), show_progress=False)
        resumed = resume_run(tmp_path / name, overrides)
        fit(resumed, show_progress=False)
        return resumed

    assert_same_state(state_of(straight), state_of(constant_then(decay, "decayed")))
    undecayed = state_of(constant_then(["train.steps=200"], "undecayed"))["g"]
    assert any(not torch.equal(undecayed[key], value) for key, value in state_of(straight)["g"].items())


def test_a_run_killed_before_its_final_export_is_finished_by_resuming(tmp_path):
    """A checkpoint of the last step without generator.safetensors (a kill between the two):
    resuming with the same steps writes the generator and the summaries, training nothing."""
    session = new_run(None, ["train.steps=4", "train.log_every=1", "train.sample_steps=[0]"], runs_root=tmp_path)
    fit(session, show_progress=False)
    run = session.run_dir
    exported = load_file(run / "generator.safetensors")
    rows = (run / "metrics.jsonl").read_text()
    for name in ("generator.safetensors", "loss_table.md", "loss_table.csv", "loss_curve.png"):
        (run / name).unlink()
    resumed = resume_run(run, [])
    assert resumed.step == 4
    fit(resumed, show_progress=False)
    again = load_file(run / "generator.safetensors")
    assert again.keys() == exported.keys() and all(torch.equal(again[k], exported[k]) for k in exported)
    assert (run / "metrics.jsonl").read_text() == rows  # no step trained twice
    assert all((run / name).is_file() for name in ("loss_table.md", "loss_table.csv", "loss_curve.png"))
    with pytest.raises(UserError, match="already at step 4"):  # a finished run is not resumed again
        resume_run(run, [])


def test_a_time_budget_ends_the_run_cleanly_and_it_resumes_exactly(tmp_path):
    """train.minutes: the run ends as a run's last step ends (checkpoint, grid, generator of the
    step it reached), far short of its steps; resumed without the budget to a few steps more, its
    G equals that of a run trained straight to that step."""
    common = ["model.g_width=8", "model.d_width=8", "train.log_every=50", "train.sample_steps=[0]",
              "train.checkpoint_every=100000"]
    budgeted = new_run(None, [*common, "train.steps=1000000", "train.minutes=0.05"], name="budget", runs_root=tmp_path)
    fit(budgeted, show_progress=False)
    reached = budgeted.step
    run = budgeted.run_dir
    assert 0 < reached < 1_000_000
    assert (run / "samples" / f"step_{reached:06d}.png").is_file() and (run / "checkpoints" / "last.pt").is_file()
    assert budgeted.run.exported_step() == reached and budgeted.run.status(1_000_000) == "stopped"
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] == reached

    resumed = resume_run(run, [f"train.steps={reached + 6}", "train.minutes=null"])
    assert resumed.step == reached
    fit(resumed, show_progress=False)
    straight = new_run(None, [*common, f"train.steps={reached + 6}"], name="straight", runs_root=tmp_path)
    fit(straight, show_progress=False)
    assert_same_state(state_of(straight), state_of(resumed))
