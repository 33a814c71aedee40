"""gankit's training iteration against the textbook GAN loop, in the same process.

    python benchmarks/speed.py                       # every case the device can run in minutes
    python benchmarks/speed.py --case dcgan64 --batch 64 128 256
    python benchmarks/speed.py --case dcgan64 --set speed.precision=bf16 --set speed.compile=true

Cases: ``dcgan64`` (the classic 64x64 DCGAN, z 100, ngf = ndf = 64, 3 channels, random
images), ``dcgan-mnist`` and ``cgan-mnist`` (the presets; real MNIST from ../shared/data when
it is there, random digits-shaped images otherwise).

The textbook loop is written in the style of the classic PyTorch DCGAN example: a DataLoader
over the images, eager fp32 NCHW, for-each Adam, one G forward whose fake batch serves both
steps, D's weights left trainable during G's step, and ``.item()`` on the losses every
iteration.  gankit's path is `gankit train`'s own iteration (data on the device, no host sync,
the device's ``auto`` speed settings plus any ``--set``), with ``train.g_noise=reuse`` so that
both compute the same thing with the same networks and batch (``--set train.g_noise=fresh``
times gankit's default, which draws new noise for G's step: one more G forward).  FLOPs per iteration are counted
with torch.utils.flop_counter on one eager iteration of each; TFLOP/s = FLOPs / time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from gankit.config import build_config
from gankit.data import load_samples
from gankit.data.batches import to_unit_range
from gankit.data.sampleset import SampleSet
from gankit.engine import Gan, Speed, TrainableGan
from gankit.errors import UserError

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

CASES = {
    # name: (preset, overrides, synthetic image shape)
    "dcgan64": ("dcgan-faces", ["data.channels=3", "optim.g.lr=2e-4", "optim.d.lr=2e-4", "model.pack=1", "train.ema=null"],
                (3, 64, 64)),
    "dcgan-mnist": ("dcgan-mnist", [], (1, 28, 28)),
    "cgan-mnist": ("cgan-mnist", [], (1, 28, 28)),
}


def case_config(case: str, batch: int, device: torch.device, settings: list[str]):
    """The run config of ``case`` at ``batch`` on ``device``, and its data (real MNIST when available)."""
    preset, overrides, shape = CASES[case]
    mnist = case.endswith("mnist") and (SHARED_DATA / "MNIST").is_dir()
    data_overrides = [f"data.root={SHARED_DATA}"] if mnist else []
    cfg = build_config(preset, [*overrides, *data_overrides, f"train.batch_size={batch}",
                                f"train.device={device}", "train.g_noise=reuse", *settings])
    if mnist:
        data = load_samples(cfg.data)
    else:
        generator = torch.Generator().manual_seed(0)
        count = max(4 * batch, 1024)
        labels = torch.randint(10, (count,), generator=generator) if case == "cgan-mnist" else None
        data = SampleSet(torch.randint(0, 256, (count, *shape), dtype=torch.uint8, generator=generator),
                         labels, 10 if labels is not None else None, "random images")
    return cfg, data


def gankit_iteration(cfg, data: SampleSet, device: torch.device, speed: Speed | None) -> tuple[Callable, Gan]:
    """gankit's own iteration for ``cfg`` (``speed=None``: the resolved ``cfg.speed``), built and
    stepped through the engine's public face."""
    trainable = TrainableGan(cfg, data=data, device=device, speed=speed)
    totals = torch.zeros(len(trainable.statistic_names()), device=device)

    def step(i: int) -> None:
        totals.add_(trainable.iterate())  # accumulated on the device, as the loop does

    return step, trainable.gan


def textbook_iteration(cfg, data: SampleSet, device: torch.device) -> tuple[Callable, Gan]:
    """The classic example's loop over the same networks, data and batch (and the GAN it trains)."""
    gan = TrainableGan(cfg, data=data, device=device, speed=Speed.plain(device.type)).gan
    g, d = gan.generator, gan.discriminator
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.optim.g.lr, betas=cfg.optim.g.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.optim.d.lr, betas=cfg.optim.d.betas)
    images = to_unit_range(data.samples)
    labels = data.labels if data.labels is not None else torch.zeros(len(images), dtype=torch.long)
    loader = DataLoader(TensorDataset(images, labels), batch_size=cfg.train.batch_size, shuffle=True, drop_last=True)
    stream = iter(())
    conditional = gan.num_classes > 0
    objective = gan.objective

    def step(_: int) -> None:
        nonlocal stream
        try:
            real, y = next(stream)
        except StopIteration:
            stream = iter(loader)
            real, y = next(stream)
        real, y = real.to(device), (y.to(device) if conditional else None)
        z = torch.randn(real.shape[0], cfg.model.z_dim, device=device)
        fake = g(z, y)
        d.zero_grad()
        terms = objective.d_terms(d(real, y), d(fake.detach(), y), y, y)
        terms.total.backward()
        opt_d.step()
        g.zero_grad()
        g_loss = objective.g_loss(d(fake, y), y)
        g_loss.backward()
        opt_g.step()
        terms.total.item(), g_loss.item()  # the example prints its losses every iteration

    return step, gan


def count_flops(step: Callable) -> float:
    """FLOPs of one call of ``step``."""
    counter = FlopCounterMode(display=False)
    with counter:
        step(0)
    return float(counter.get_total_flops())


def milliseconds(steps: dict[str, Callable], device: torch.device, warmup: int, iters: int,
                 rounds: int = 5) -> dict[str, float]:
    """Median ms per call of each step, timed in alternating rounds so that both see the same
    machine (the device is synchronised around every round)."""
    calls = {name: 0 for name in steps}

    def run(name: str, count: int) -> None:
        for _ in range(count):
            steps[name](calls[name])
            calls[name] += 1

    for name in steps:
        run(name, warmup)
    per_round = max(1, iters // rounds)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name in steps:
            synchronize(device)
            start = time.perf_counter()
            run(name, per_round)
            synchronize(device)
            times[name].append((time.perf_counter() - start) / per_round * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device``."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device) -> float:
    """Measured bf16 matmul rate of ``device`` in TFLOP/s (8192^3 on a GPU, 2048^3 on a CPU)."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    reps = 20 if device.type == "cuda" else 5
    seconds = milliseconds({"matmul": lambda _: a @ b}, device, 2, reps)["matmul"] / 1000
    return 2 * n ** 3 / seconds / 1e12


def device_name(device: torch.device) -> str:
    """The accelerator's name, or the CPU's with its thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {torch.get_num_threads()} threads"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen cases and print one table row per case and batch."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", nargs="+", choices=sorted(CASES), default=None)
    parser.add_argument("--batch", nargs="+", type=int, default=None,
                        help="batch sizes for dcgan64 (MNIST cases always use 64); default 64 128 256 on "
                             "a GPU, 64 on a CPU")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="config override for gankit's path, e.g. speed.precision=bf16")
    parser.add_argument("--iters", type=int, default=None,
                        help="timed iterations of each loop, in 5 alternating rounds (default 100 GPU, 10 CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed iterations first (default 20 GPU, 2 CPU)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    cases = args.case or sorted(CASES)
    batches = args.batch or ([64, 128, 256] if gpu else [64])
    iters, warmup = args.iters or (100 if gpu else 10), args.warmup or (20 if gpu else 2)

    peak = matmul_peak(device)
    print(f"device: {device_name(device)}; torch {torch.__version__}; bf16 matmul {peak:.1f} TFLOP/s measured")
    print(f"command: python benchmarks/speed.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print("| case | batch | textbook ms/it | textbook img/s | gankit ms/it | gankit img/s | speed-up | "
          "GFLOP/it (textbook / gankit) | gankit TFLOP/s | % of bf16 matmul | gankit settings |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for case in cases:
        for batch in (batches if case == "dcgan64" else [64]):
            try:
                cfg, data = case_config(case, batch, device, args.settings)
                fast, fast_gan = gankit_iteration(cfg, data, device, None)
            except UserError as err:
                print(f"error: {err}", file=sys.stderr)
                return 2
            textbook, _ = textbook_iteration(cfg, data, device)
            counted, _ = gankit_iteration(cfg, data, device, Speed.plain(device.type))  # flop_counter needs eager
            flops_textbook, flops_gankit = count_flops(textbook), count_flops(counted)
            timed = milliseconds({"textbook": textbook, "gankit": fast}, device, warmup, iters)
            textbook_ms, fast_ms = timed["textbook"], timed["gankit"]
            tflops = flops_gankit / (fast_ms / 1000) / 1e12
            settings = fast_gan.speed.describe()
            print(f"| {case} | {batch} | {textbook_ms:.1f} | {batch / textbook_ms * 1000:,.0f} | {fast_ms:.1f} | "
                  f"{batch / fast_ms * 1000:,.0f} | {textbook_ms / fast_ms:.2f}x | "
                  f"{flops_textbook / 1e9:.1f} / {flops_gankit / 1e9:.1f} | {tflops:.2f} | {100 * tflops / peak:.1f}% | "
                  f"{settings} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
