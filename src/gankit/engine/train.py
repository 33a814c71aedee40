"""The training loop and the two ways into it: a new run, or resuming a run directory.

Everything a run needs (config, data, networks, checkpoint) is loaded and checked before
anything is written, so a mistake never leaves a half-made run or damages an existing one.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import yaml
from tqdm import tqdm

from gankit.config import RunConfig, build_config, load_run_config
from gankit.data import load_images
from gankit.data.batches import Batches
from gankit.engine.checkpoint import LAST, export_generator, read_checkpoint, restore, save_checkpoint
from gankit.engine.device import resolve_device
from gankit.engine.optim import build_optimizer
from gankit.engine.stop import StopRequest, TrainingStopped
from gankit.engine.step import STAT_NAMES, Gan, mean_probability, train_iteration
from gankit.errors import UserError
from gankit.fsutil import atomic_write_text
from gankit.losses import build_loss
from gankit.nets import build_networks
from gankit.priors import parse_prior
from gankit.track import MetricsLog, TensorBoardLog, plot_losses, read_metrics, save_grid, write_loss_table

FIXED_NOISE_SEED_OFFSET = 1  # the fixed grid noise comes from seed + this, apart from training noise


@dataclass
class Session:
    """A run ready to train: its config, directory, data, networks and current step."""

    cfg: RunConfig
    run_dir: Path
    device: torch.device
    batches: Batches
    gan: Gan
    step: int = 0


def build_gan(cfg: RunConfig, device: torch.device, channels: int, image_size: int) -> Gan:
    """Seed the global RNG from the config, then build networks, optimizers, loss and prior."""
    torch.manual_seed(cfg.seed)
    generator, discriminator = build_networks(cfg.model, channels, image_size)
    generator.to(device)
    discriminator.to(device)
    noise = torch.Generator(device=device)
    noise.manual_seed(cfg.seed)
    return Gan(generator=generator, discriminator=discriminator,
               g_optimizer=build_optimizer(generator.parameters(), cfg.optim.g),
               d_optimizer=build_optimizer(discriminator.parameters(), cfg.optim.d),
               loss=build_loss(cfg.train.loss), prior=parse_prior(cfg.train.prior),
               z_dim=cfg.model.z_dim, noise=noise)


def _prepare(cfg: RunConfig) -> tuple[torch.device, Batches, Gan]:
    device = resolve_device(cfg.train.device)
    batches = Batches(load_images(cfg.data), cfg.train.batch_size, cfg.seed, device)
    return device, batches, build_gan(cfg, device, cfg.data.channels, cfg.data.image_size)


def create_run_dir(runs_root: Path, name: str) -> Path:
    """Make a new, empty run directory ``runs_root/name`` (``name-2``, ``-3``... if taken)."""
    if not name or "/" in name or name in (".", ".."):
        raise UserError(f"run name '{name}' is not a plain folder name")
    runs_root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        candidate = runs_root / (name if n == 1 else f"{name}-{n}")
        try:
            candidate.mkdir()  # atomic: fails if another run took the name
            return candidate
        except FileExistsError:
            continue
    raise UserError(f"too many runs named '{name}' in {runs_root}")


def write_config(run_dir: Path, cfg: RunConfig) -> None:
    """Save the resolved config as ``config.yaml``."""
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def new_run(preset: Optional[str], overrides: list[str], *, name: Optional[str] = None,
            runs_root: Path = Path("runs")) -> Session:
    """Validate a preset with overrides, load its data, then create its run directory."""
    cfg = build_config(preset, overrides)
    device, batches, gan = _prepare(cfg)
    run_dir = create_run_dir(Path(runs_root), name or cfg.name)
    cfg.name = run_dir.name
    write_config(run_dir, cfg)
    return Session(cfg, run_dir, device, batches, gan)


def resume_run(run_dir: Path, overrides: list[str]) -> Session:
    """Reload a run from its last checkpoint, with optional overrides (e.g. more steps)."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir, overrides)
    payload = read_checkpoint(run_dir / LAST)
    device, batches, gan = _prepare(cfg)
    step = restore(gan, payload, device, run_dir / LAST)
    if cfg.train.steps <= step:
        raise UserError(f"{run_dir} is already at step {step}; set train.steps to more than that to continue")
    write_config(run_dir, cfg)
    MetricsLog(run_dir).truncate_after(step)
    return Session(cfg, run_dir, device, batches, gan, step)


def grid_steps(cfg: RunConfig) -> set[int]:
    """The steps at which sample grids (and loss-table rows) are made: the chosen ones and the last."""
    return {s for s in cfg.train.sample_steps if s <= cfg.train.steps} | {cfg.train.steps}


def fixed_noise(cfg: RunConfig) -> torch.Tensor:
    """The one noise batch every grid of a run is drawn from (on the CPU)."""
    generator = torch.Generator().manual_seed(cfg.seed + FIXED_NOISE_SEED_OFFSET)
    return parse_prior(cfg.train.prior).sample(cfg.train.sample_count, cfg.model.z_dim, generator=generator)


@torch.no_grad()
def generate(generator: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G's images for ``z`` in inference mode (BatchNorm uses its running statistics)."""
    was_training = generator.training
    generator.eval()
    try:
        return generator(z)
    finally:
        generator.train(was_training)


@torch.no_grad()
def initial_statistics(session: Session, z: torch.Tensor) -> torch.Tensor:
    """The losses of the untrained networks on the first batch, in inference mode (step 0)."""
    gan = session.gan
    real, _ = session.batches.get(0)
    gan.discriminator.eval()
    try:
        real_out = gan.discriminator(real)
        fake_out = gan.discriminator(generate(gan.generator, z[: real.shape[0]]))
    finally:
        gan.discriminator.train()
    terms = gan.loss.d_terms(real_out, fake_out)
    return torch.stack([terms.real, terms.fake, terms.total, gan.loss.g_loss(fake_out),
                        mean_probability(gan.loss, real_out), mean_probability(gan.loss, fake_out)])


class Tracker:
    """Everything the loop writes: metrics.jsonl, TensorBoard, grids, curves, tables, progress."""

    def __init__(self, session: Session, show_progress: Optional[bool] = None):
        self.session = session
        self.metrics = MetricsLog(session.run_dir)
        self.board = TensorBoardLog(session.run_dir, purge_step=session.step + 1 if session.step else None)
        interactive = sys.stderr.isatty() if show_progress is None else show_progress
        self.bar = tqdm(total=session.cfg.train.steps, initial=session.step, unit="it",
                        dynamic_ncols=True, disable=not interactive)
        self.interval_start = time.perf_counter()

    def log(self, step: int, totals: torch.Tensor, iterations: int) -> dict:
        """Average ``iterations`` accumulated statistics (one host transfer) and record them.

        ``iterations=0`` records ``totals`` as they are (the untrained networks at step 0).
        """
        now = time.perf_counter()
        values = (totals / max(iterations, 1)).tolist()
        record = {"step": step, **{k: round(v, 6) for k, v in zip(STAT_NAMES, values)}}
        seconds = now - self.interval_start
        record["img_per_s"] = round(iterations * self.session.cfg.train.batch_size / seconds, 1) if iterations else 0.0
        self.interval_start = now
        self.metrics.append(record)
        self.board.scalars(step, record)
        summary = {"D real": record["d_real"], "D fake": record["d_fake"], "D": record["d_loss"],
                   "G": record["g_loss"], "D(x)": record["d_x"], "D(G(z))": record["d_g_z"]}
        shown = [f"{k} {v:.3f}" for k, v in summary.items()] + [f"{record['img_per_s']:.0f} img/s"]
        if self.bar.disable:
            print(f"step {step}: " + "  ".join(shown), file=sys.stderr, flush=True)
        else:
            self.bar.set_postfix_str("  ".join(shown), refresh=False)
        return record

    def grid(self, step: int, z: torch.Tensor) -> None:
        """Save the grid of G's images for the fixed noise at this step."""
        images = generate(self.session.gan.generator, z).float().cpu()
        grid = save_grid(images, self.session.run_dir / "samples" / f"step_{step:06d}.png")
        self.board.image("samples", grid, step)

    def summaries(self) -> None:
        """Redraw the loss curve and the loss table from metrics.jsonl."""
        run_dir = self.session.run_dir
        records = read_metrics(run_dir)
        if records:
            plot_losses(records, run_dir / "loss_curve.png")
            write_loss_table(records, sorted(grid_steps(self.session.cfg)),
                             run_dir / "loss_table.md", run_dir / "loss_table.csv")

    def close(self) -> None:
        """Flush and close the writers and the progress bar."""
        self.bar.close()
        self.board.close()


def train_until_done(session: Session, tracker: Tracker, z_grid: torch.Tensor, stop: StopRequest) -> None:
    """The loop: iterate, and at their steps log, draw grids and checkpoint; stop when asked."""
    cfg, gan, device, batches = session.cfg, session.gan, session.device, session.batches
    at_grid = grid_steps(cfg)
    totals = torch.zeros(len(STAT_NAMES), device=device)
    iterations = 0
    for step in range(session.step + 1, cfg.train.steps + 1):
        totals += train_iteration(gan, batches.get, step - 1, cfg.train.d_steps)
        iterations += 1
        session.step = step
        tracker.bar.update(1)
        stopping = stop.requested  # read once: a signal may arrive at any point below
        last = step == cfg.train.steps or stopping
        if step % cfg.train.log_every == 0 or step in at_grid or last:
            tracker.log(step, totals, iterations)
            totals.zero_()
            iterations = 0
        if step in at_grid:
            tracker.grid(step, z_grid)
        if step % cfg.train.checkpoint_every == 0 or last:
            save_checkpoint(session.run_dir, gan, step, device)
            tracker.summaries()
        if stopping:
            raise TrainingStopped(str(session.run_dir), step)


def fit(session: Session, show_progress: Optional[bool] = None) -> Path:
    """Train from ``session.step`` to ``train.steps``, writing the run directory as it goes.

    Ctrl-C ends the current iteration, writes a checkpoint and raises TrainingStopped.
    """
    z_grid = fixed_noise(session.cfg).to(session.device)
    tracker = Tracker(session, show_progress)
    try:
        if session.step == 0:
            tracker.log(0, initial_statistics(session, z_grid), 0)
            if 0 in grid_steps(session.cfg):
                tracker.grid(0, z_grid)
        with StopRequest() as stop:
            train_until_done(session, tracker, z_grid, stop)
        export_generator(session.run_dir, session.gan.generator, session.step)
    finally:
        tracker.close()
    return session.run_dir
