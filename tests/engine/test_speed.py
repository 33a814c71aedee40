"""The speed switches: the fast path computes what the plain eager path computes."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from gankit.config import build_config
from gankit.data import sample_spec
from gankit.engine.graphs import GraphedIterations, iterations
from gankit.engine.speed import bf16_supported, resolve_speed
from gankit.engine.gan import STAT_NAMES
from gankit.engine import fit, new_run, prepare, resume_run
from gankit.errors import UserError

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

PLAIN = ["speed.precision=fp32", "speed.channels_last=false", "speed.fused_optimizer=false", "speed.graph=false"]
FAST_FP32 = ["speed.precision=fp32", "speed.channels_last=true", "speed.fused_optimizer=true"]
STEPS = 50


def losses(tmp_path, name, overrides):
    """The per-step statistics of a short run, from its metrics.jsonl."""
    session = new_run(None, [f"train.steps={STEPS}", "train.log_every=1", "train.sample_steps=[]",
                             "train.checkpoint_every=1000", *overrides], name=name, runs_root=tmp_path)
    run_dir = fit(session, show_progress=False)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return torch.tensor([[r[k] for k in ("d_real", "d_fake", "d_loss", "g_loss")] for r in records[1:]],
                        dtype=torch.float64), run_dir


MODELS = pytest.mark.parametrize("model", [
    [],  # the embedded default: DCGAN on digits, BCE
    ["model.arch=cgan-lab", "model.conditional=kplus1", "model.d_width=16", "train.batch_size=32"],
    ["train.loss=wasserstein", "regularize.gradient_penalty=10"],
], ids=["dcgan", "cgan-kplus1", "wgan-gp"])
# Statistics computed before any weight moves in an iteration (G's loss follows D's update).
BEFORE_UPDATES = [STAT_NAMES.index(n) for n in ("d_real", "d_fake", "d_loss", "d_x", "d_g_z", "d_penalty")]
D_GRAD_NORM = STAT_NAMES.index("d_grad_norm")  # also before any update; norms run to tens: compared relatively


def copy_state(source, target):
    """Give ``target`` the networks, optimizer states and noise state of ``source``."""
    for name in ("generator", "discriminator", "g_optimizer", "d_optimizer"):
        getattr(target, name).load_state_dict(getattr(source, name).state_dict())
    target.noise.set_state(source.noise.get_state())


@MODELS
def test_fast_fp32_iteration_computes_what_the_eager_one_does(model):
    """From the same state, a fast fp32 iteration (channels_last, fused Adam) gives the eager
    iteration's D losses and outputs to 1e-5, at each of 50 states along a training run.

    Whole trajectories are compared to 1e-5 only for switches that keep the arithmetic (the
    test below): Adam turns one-ulp differences in near-zero gradients into lr-sized steps, so a
    change of rounding (fused vs for-each Adam, channels_last convolutions) grows to about 1e-3
    in 20 steps; benchmarks/RESULTS.md has the measurement.
    """
    plain, fast = compare_step_by_step(model, FAST_FP32, STEPS)
    assert fast.speed.channels_last and fast.speed.fused_optimizer and not plain.speed.channels_last


def compare_step_by_step(model, switches, steps, atol=1e-5):
    """Run ``steps`` iterations plainly and with ``switches``, each from the plain run's state,
    and check that the statistics computed before any update agree to ``atol`` (D's gradient
    norm to a relative 2e-4); returns both GANs."""
    gans, runners = [], []
    for overrides in (PLAIN, switches):
        cfg = build_config(None, [*overrides, *model])
        _, _, batches, gan = prepare(cfg)
        gans.append(gan)
        runners.append(iterations(gan, batches, cfg.train.d_steps))
    for iteration in range(steps):
        copy_state(gans[0], gans[1])
        expected, got = runners[0](iteration), runners[1](iteration)
        torch.testing.assert_close(got[BEFORE_UPDATES], expected[BEFORE_UPDATES], rtol=0, atol=atol)
        torch.testing.assert_close(got[D_GRAD_NORM], expected[D_GRAD_NORM], rtol=2e-4, atol=0)
    return gans


@MODELS
def test_fused_sgd_run_equals_the_eager_run_for_50_steps(tmp_path, model):
    """Switches that keep the arithmetic give the same 50-step trajectory to 1e-5: fused SGD."""
    sgd = ["optim.g.name=sgd", "optim.d.name=sgd", "optim.g.lr=0.005", "optim.d.lr=0.005", "optim.g.momentum=0.5",
           "optim.d.momentum=0.5"]
    plain, _ = losses(tmp_path, "plain", [*PLAIN, *sgd, *model])
    fast, fast_dir = losses(tmp_path, "fast", [*PLAIN[:-2], "speed.fused_optimizer=true", *sgd, *model])
    assert plain.shape == fast.shape == (STEPS, 4)
    torch.testing.assert_close(fast, plain, rtol=0, atol=1e-5)
    assert yaml.safe_load((fast_dir / "config.yaml").read_text())["speed"]["fused_optimizer"] is True


@pytest.mark.skipif(not bf16_supported(torch.device("cpu")),
                    reason="this CPU emulates bf16 (slowly), and auto never picks it here")
def test_bf16_stays_within_its_documented_tolerance(tmp_path):
    """bf16 rounds activations: the first losses agree to 2e-2, and training still moves the same way."""
    plain, _ = losses(tmp_path, "plain", PLAIN)
    bf16, _ = losses(tmp_path, "bf16", ["speed.precision=bf16"])
    assert (bf16[0] - plain[0]).abs().max() < 2e-2
    assert (bf16 - plain).abs().max() > 0  # it really ran in bf16
    # D wins early on either way: its loss falls by much the same amount over 50 steps.
    assert abs((bf16[-10:, 2].mean() - plain[-10:, 2].mean()).item()) < 0.15


def test_reused_fake_batch_skips_a_generator_pass(tmp_path, monkeypatch):
    """g_noise=reuse takes G's step on D's fake batch: one G forward per iteration instead of two."""
    calls = {"n": 0}
    from gankit.nets import Generator

    original = Generator.forward

    def counting(self, *args, **kwargs):
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Generator, "forward", counting)
    common = ["train.steps=3", "train.sample_steps=[]", "train.log_every=100"]
    for mode, per_iteration in (("fresh", 2), ("reuse", 1)):
        calls["n"] = 0
        session = new_run(None, [*common, f"train.g_noise={mode}"], name=mode, runs_root=tmp_path)
        fit(session, show_progress=False)
        pictures = 2  # the untrained G's statistics at step 0, the last step's grid
        assert calls["n"] - pictures == 3 * per_iteration


def test_compiled_networks_compute_what_the_eager_ones_do():
    """torch.compile'd G and D (inductor, fp32): the same statistics as eager, step by step."""
    model = ["model.arch=mlp", "data.image_size=8", "model.g_width=64", "model.d_width=64"]
    _, compiled = compare_step_by_step(model, [*PLAIN, "speed.compile=true"], 10)
    assert compiled.g_forward is not compiled.generator


def test_auto_resolves_per_device():
    cpu = torch.device("cpu")
    native_bf16 = bf16_supported(cpu)
    cfg = build_config(None, [])
    speed = resolve_speed(cfg, cpu, sample_spec(cfg.data))
    assert (speed.bf16, speed.channels_last, speed.graph) == (native_bf16, True, False)
    assert cfg.speed.precision == ("bf16" if native_bf16 else "fp32")  # written back, no "auto" left
    assert cfg.speed.graph is False
    mlp = build_config(None, ["model.arch=mlp", "optim.d.name=rmsprop"])
    speed = resolve_speed(mlp, cpu, sample_spec(mlp.data))
    # No convolutions: fp32 and no channels_last; RMSProp has no fused kernel.
    assert (speed.bf16, speed.channels_last, speed.fused_optimizer) == (False, False, False)


@pytest.mark.parametrize("override, message", [
    pytest.param("speed.graph=true", "speed.graph=true cannot be used here: it needs a CUDA device",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
    ("speed.precision=fp16", "speed.precision"),
])
def test_impossible_switches_are_one_line_errors(gankit, tmp_path, override, message):
    code, _, err = gankit("train", "train.steps=1", override, "--runs-dir", str(tmp_path))
    assert code == 2 and message in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing was created


def test_fused_optimizer_refused_for_rmsprop(gankit, tmp_path):
    code, _, err = gankit("train", "train.steps=1", "optim.d.name=rmsprop", "speed.fused_optimizer=true",
                          "--runs-dir", str(tmp_path))
    assert code == 2 and "fused kernels only for adam and sgd" in err


class ReplayingRecorder:
    """Stands in for a CUDA graph on the CPU: capture only remembers the function (as a real
    capture records without running), and each replay runs it into the same output tensor."""

    def warm_up(self, fn):
        return fn()

    def capture(self, fn):
        self.fn, self.out = fn, torch.full((len(STAT_NAMES),), float("nan"))
        return self.out

    def replay(self):
        self.out.copy_(self.fn())


@pytest.mark.parametrize("d_steps, model", [
    (1, []),
    (2, []),
    (1, ["model.arch=cgan-lab", "model.conditional=kplus1", "model.d_width=16", "train.g_noise=reuse"]),
    (2, ["train.loss=wasserstein", "regularize.gradient_penalty=10", "model.spectral_norm=true"]),
], ids=["k1", "k2", "cgan-kplus1-reuse", "wgan-gp-sn-k2"])
def test_graphed_iterations_feed_the_same_batches_and_noise_as_eager(d_steps, model):
    """The graph runner's plumbing (warm-up, capture, batch index buffer across epochs, returned
    statistics) reproduces the eager run exactly; checked on the CPU with a replaying stand-in."""
    runs = []
    for graphed in (False, True):
        cfg = build_config(None, [*PLAIN, f"train.d_steps={d_steps}", "data.limit=300", *model])
        _, _, batches, gan = prepare(cfg)
        runner = GraphedIterations(gan, batches, d_steps, ReplayingRecorder()) if graphed else \
            iterations(gan, batches, d_steps)
        stats = torch.stack([runner(i).clone() for i in range(STEPS)])  # 300 images: 4 batches an epoch
        runs.append((stats, gan))
    (eager_stats, eager), (graph_stats, graphed) = runs
    assert torch.equal(graph_stats, eager_stats)
    for a, b in zip(eager.generator.state_dict().values(), graphed.generator.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_graph_run_equals_the_eager_run_for_50_steps(tmp_path, monkeypatch, precision):
    """On a GPU: the whole iteration as one CUDA graph gives the eager run's losses to 1e-5."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)  # no atomics in conv backward
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    common = [f"speed.precision={precision}", "train.device=cuda", "data.limit=600"]
    eager, _ = losses(tmp_path, "eager", [*common, "speed.graph=false"])
    again, _ = losses(tmp_path, "again", [*common, "speed.graph=false"])
    assert torch.equal(eager, again), "eager runs on this GPU are not reproducible; the comparison means nothing"
    graphed, graph_dir = losses(tmp_path, "graphed", [*common, "speed.graph=true"])
    torch.testing.assert_close(graphed, eager, rtol=0, atol=1e-5)
    assert yaml.safe_load((graph_dir / "config.yaml").read_text())["speed"]["graph"] is True


def test_a_run_from_before_the_speed_switches_resumes_as_it_ran(tmp_path):
    session = new_run(None, ["train.steps=2", "train.sample_steps=[]", *PLAIN], runs_root=tmp_path)
    run_dir = fit(session, show_progress=False)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    del config["speed"]
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    resumed = resume_run(run_dir, ["train.steps=4"])
    assert (resumed.speed.bf16, resumed.speed.channels_last, resumed.speed.fused_optimizer) == (False, False, False)
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["speed"]["channels_last"] is False


def test_train_prints_how_it_runs(gankit, tmp_path):
    code, _, err = gankit("train", "train.steps=1", "train.sample_steps=[]", "train.device=cpu",
                          "--runs-dir", str(tmp_path))
    assert code == 0
    precision = "bf16" if bf16_supported(torch.device("cpu")) else "fp32"
    threads = torch.get_num_threads()
    assert f"speed: cpu ({threads} threads), {precision}, channels_last, fused optimizers" in err


def test_a_failed_capture_is_one_clear_error():
    class FailingRecorder(ReplayingRecorder):
        def capture(self, fn):
            raise RuntimeError("operation not permitted when stream is capturing")

    cfg = build_config(None, [*PLAIN, "data.limit=300"])
    _, _, batches, gan = prepare(cfg)
    runner = GraphedIterations(gan, batches, 1, FailingRecorder())
    for i in range(3):
        runner(i)  # the eager warm-up
    with pytest.raises(UserError, match="could not be recorded as a CUDA graph .* speed.graph=false"):
        runner(3)
