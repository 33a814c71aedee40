"""The training loop and the two ways into it: a new run, or resuming a run directory.

Everything a run needs (config, data, networks, checkpoint) is loaded and checked before
anything is written, so a mistake never leaves a half-made run or damages an existing one.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
import yaml
from tqdm.auto import tqdm  # a notebook widget in Jupyter, a text bar elsewhere

from gankit.config import READY_MADE_ARCH, RunConfig, build_config, load_run_config
from gankit.data import load_samples, resolved_settings, sample_spec
from gankit.data.batches import Batches
from gankit.engine import distributed
from gankit.engine.checkpoint import (GENERATOR_FILE, LAST, export_generator, generator_step, read_checkpoint,
                                      restore, rng_state, save_checkpoint)
from gankit.engine.health import (PROBABILITY_LOSSES, Event, HealthMonitor, divergence_message, nonfinite,
                                  read_interval)
from gankit.engine.device import resolve_device
from gankit.augment import build_augment
from gankit.engine.distributed import Processes, launched_processes
from gankit.engine.ema import WeightAverage
from gankit.engine.runner import iterations
from gankit.engine.optim import build_optimizer, decayed_lr, set_lr
from gankit.engine.speed import Speed, resolve_speed
from gankit.engine.stop import StopRequest, TrainingStopped
from gankit.engine.step import STAT_NAMES, Gan, Statistics, batch_spread, gradient_norm
from gankit.errors import TrainingDiverged, UserError, machine_error
from gankit.fsutil import TEMP_SUFFIX, atomic_write_text, make_folder, remove_stale_temps
from gankit.nets import build_networks, wrap_modules
from gankit.nets.layers import class_rows, inference
from gankit.objectives import build_objective
from gankit.priors import parse_prior
from gankit.regularize import build_regularizers
from gankit.runlock import LOCK_FILE, DirectoryLock, LockHeld
from gankit.spec import SampleSpec
from gankit.track import MetricsLog, TensorBoardLog, plot_losses, read_metrics, save_view, write_loss_table

# Evaluation during training: called with (G, device) at every eval.every steps and at the end;
# returns measurements with .name, .value and .protocol (gankit.metrics.evaluate.Evaluator).
Evaluator = Callable[[torch.nn.Module, torch.device], Sequence]
EvaluatorFactory = Callable[[RunConfig], Evaluator]  # raises UserError when no metric applies

FIXED_NOISE_SEED_OFFSET = 1  # the fixed grid noise comes from seed + this, apart from training noise
RANK_NOISE_STRIDE = 1_000_003  # process r draws its training noise from seed + r * this
MAX_NAME_BYTES = 240  # a run name leaves room for "-NNNN" within the usual 255-byte file-name limit
# What a run writes before its first checkpoint; a run resumed without one starts again from step 0.
STARTED_FILES = ("metrics.jsonl", "loss_curve.png", "loss_table.md", "loss_table.csv", GENERATOR_FILE)
STARTED_FOLDERS = ("samples", "eval")


@dataclass
class Session:
    """A run ready to train: its config, directory, data, networks and current step."""

    cfg: RunConfig
    run_dir: Path
    device: torch.device
    spec: SampleSpec
    batches: Batches
    gan: Gan
    step: int = 0
    evaluator: Optional["Evaluator"] = None  # measures G every eval.every steps
    processes: Processes = distributed.SINGLE
    lock: Optional[DirectoryLock] = None  # held by the process that writes the run directory
    saved_step: Optional[int] = None  # the step of the last checkpoint written or resumed from

    @property
    def speed(self) -> Speed:
        """How the loop runs (resolved ``speed.*``)."""
        return self.gan.speed


# Ready-made (G, D) modules handed to gankit.train, trained in place of model.arch's family.
Modules = Optional[tuple[torch.nn.Module, torch.nn.Module]]


def build_gan(cfg: RunConfig, device: torch.device, spec: SampleSpec, speed: Optional[Speed] = None,
              processes: Processes = distributed.SINGLE, modules: Modules = None) -> Gan:
    """Seed the global RNG from the config, then build networks (or wrap the ready-made
    ``modules``), optimizers, objective, regularisers and prior, laid out and wrapped as
    ``speed`` says."""
    speed = speed or Speed.plain(device.type)
    torch.manual_seed(cfg.seed)
    if modules is not None:
        generator, discriminator = wrap_modules(*modules, cfg.model, spec)
    else:
        generator, discriminator = build_networks(cfg.model, spec)
    for net in (generator, discriminator):
        net.to(device, memory_format=speed.memory_format)
    noise = torch.Generator(device=device)
    noise.manual_seed(cfg.seed + processes.rank * RANK_NOISE_STRIDE)
    # A recorded step reads its learning rate from a tensor, which the schedule updates in place.
    lr_on = device if speed.graph and cfg.optim.schedule != "constant" else None
    optimizer_options = {"fused": speed.fused_optimizer, "capturable": speed.graph, "lr_on": lr_on}
    if cfg.regularize.augment and spec.kind != "images":
        raise UserError(f"regularize.augment transforms images; this run's data are {spec.kind}")
    forwards = (torch.compile(generator), torch.compile(discriminator)) if speed.compile else (None, None)
    gan = Gan(generator=generator, discriminator=discriminator,
              g_optimizer=build_optimizer(generator.parameters(), cfg.optim.g, **optimizer_options),
              d_optimizer=build_optimizer(discriminator.parameters(), cfg.optim.d, **optimizer_options),
              objective=build_objective(cfg, spec.num_classes),
              regularizers=build_regularizers(cfg.regularize), prior=parse_prior(cfg.train.prior),
              z_dim=cfg.model.z_dim, num_classes=generator.num_classes, pack=cfg.model.pack, noise=noise,
              speed=speed, reuse_fake=cfg.train.g_noise == "reuse",
              sync_gradients=distributed.average_gradients if processes.distributed else None,
              ema=WeightAverage(generator, cfg.train.ema) if cfg.train.ema else None,
              augment=build_augment(cfg.regularize.augment), g_forward=forwards[0], d_forward=forwards[1])
    return gan


def prepare(cfg: RunConfig, processes: Processes = distributed.SINGLE,
            modules: Modules = None) -> tuple[torch.device, SampleSpec, Batches, Gan]:
    """Load the data (writing what it decided into ``cfg.data``), resolve ``cfg.speed`` and build the GAN."""
    device = resolve_device(cfg.train.device)
    if processes.distributed:
        if device.type == "cuda":
            device = torch.device("cuda", processes.local_rank if device.index is None else device.index)
            torch.cuda.set_device(device)
        distributed.start(processes, device.type)
    data = load_samples(cfg.data)
    for key, value in resolved_settings(cfg.data, data).items():
        setattr(cfg.data, key, value)
    spec = sample_spec(cfg.data)
    speed = resolve_speed(cfg, device, spec, processes.world_size, from_host=data.streamed and device.type != "cpu")
    batches = Batches(data, cfg.train.batch_size, cfg.seed, device, memory_format=speed.memory_format,
                      rank=processes.rank, world_size=processes.world_size)
    gan = build_gan(cfg, device, spec, speed, processes, modules)
    if processes.distributed:
        distributed.broadcast_weights(gan.generator)
        distributed.broadcast_weights(gan.discriminator)
        if gan.ema is not None:
            gan.ema = WeightAverage(gan.generator, gan.ema.decay)  # the average starts at the shared G
    return device, spec, batches, gan


def check_run_name(name: str) -> str:
    """``name`` if it can name a run directory, else a one-line UserError."""
    if not name or not name.strip():
        raise UserError("the run name is empty: give --name a name, or leave --name out")
    if "/" in name or "\0" in name or name in (".", ".."):
        raise UserError(f"run name '{name}' is not a plain folder name")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise UserError(f"run name is too long ({len(name.encode())} bytes; at most {MAX_NAME_BYTES})")
    return name


def create_run_dir(runs_root: Path, name: str) -> tuple[Path, DirectoryLock]:
    """Make a new, empty run directory ``runs_root/name`` (``name-2``, ``-3``... if taken) and
    lock it. A folder that a process killed before writing config.yaml left behind holds no run:
    its name is taken again."""
    check_run_name(name)
    make_folder(runs_root)
    for n in range(1, 10_000):
        candidate = runs_root / (name if n == 1 else f"{name}-{n}")
        created = False
        try:
            candidate.mkdir()  # atomic: fails if another run took the name
            created = True
        except FileExistsError:
            if not _abandoned(candidate):
                continue
        except OSError as err:
            raise machine_error(err, "create the run directory", candidate) from None
        try:
            lock = DirectoryLock(candidate).acquire()
        except LockHeld:  # another process is starting a run there right now
            continue
        except BaseException:
            if created:
                shutil.rmtree(candidate, ignore_errors=True)
            raise
        if _abandoned(candidate):
            remove_stale_temps(candidate)
            return candidate, lock
        lock.release()
    raise UserError(f"too many runs named '{name}' in {runs_root}")


def _abandoned(folder: Path) -> bool:
    """Whether ``folder`` holds nothing of a run: no config.yaml, only a lock and temporary files."""
    if not folder.is_dir() or (folder / "config.yaml").exists():
        return False
    return all(p.name == LOCK_FILE or p.name.endswith(TEMP_SUFFIX) for p in folder.iterdir())


def write_config(run_dir: Path, cfg: RunConfig) -> None:
    """Save the resolved config as ``config.yaml``."""
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def _evaluator(cfg: RunConfig, make_evaluator: Optional[EvaluatorFactory]) -> Optional[Evaluator]:
    return make_evaluator(cfg) if make_evaluator is not None and cfg.eval.every else None


def new_run(preset: Optional[str], overrides: list[str], *, name: Optional[str] = None,
            runs_root: Path = Path("runs"), make_evaluator: Optional[EvaluatorFactory] = None,
            processes: Optional[Processes] = None, modules: Modules = None) -> Session:
    """Validate a preset with overrides, load its data, set up evaluation (``make_evaluator``,
    when ``eval.every`` is set), then create its run directory (process 0 only). ``modules``:
    ready-made (G, D) to train instead of model.arch's (recorded as model.arch=modules)."""
    processes = processes or launched_processes()
    if name is not None:
        check_run_name(name)
    cfg = build_config(preset, overrides)
    if modules is not None:
        cfg.model.arch = READY_MADE_ARCH
    device, spec, batches, gan = prepare(cfg, processes, modules)
    evaluator = _evaluator(cfg, make_evaluator) if processes.writer else None
    run_dir, lock = None, None
    if processes.writer:
        run_dir, lock = create_run_dir(Path(runs_root), name if name is not None else cfg.name)
        try:
            cfg.name = run_dir.name
            write_config(run_dir, cfg)
        except BaseException:
            lock.release()
            shutil.rmtree(run_dir, ignore_errors=True)  # ours, and nothing is in it yet
            raise
    if processes.distributed:
        run_dir = Path(distributed.from_writer(None if run_dir is None else str(run_dir)))
    cfg.name = run_dir.name
    return Session(cfg, run_dir, device, spec, batches, gan, evaluator=evaluator, processes=processes, lock=lock)


def resume_run(run_dir: Path, overrides: list[str], make_evaluator: Optional[EvaluatorFactory] = None,
               processes: Optional[Processes] = None, modules: Modules = None) -> Session:
    """Reload a run from its last checkpoint, with optional overrides (e.g. more steps).
    A run trained on ready-made modules needs fresh ``modules`` of the same classes."""
    processes = processes or launched_processes()
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir, overrides)
    lock = DirectoryLock(run_dir).acquire() if processes.writer else None
    try:
        if processes.writer:
            remove_stale_temps(run_dir)  # left by a process killed mid-write; we alone write here now
        started = (run_dir / LAST).is_file()
        payload = read_checkpoint(run_dir / LAST) if started else None
        device, spec, batches, gan = prepare(cfg, processes, modules)
        step = restore(gan, payload, device, run_dir / LAST, processes.rank, processes.world_size) if started else 0
        finishing = started and cfg.train.steps == step and not _generator_written(run_dir, step)
        if started and cfg.train.steps <= step and not finishing:
            raise UserError(f"{run_dir} is already at step {step}; set train.steps to more than that to continue")
        evaluator = _evaluator(cfg, make_evaluator) if processes.writer else None
        if processes.writer:
            if started:
                MetricsLog(run_dir).truncate_after(step)
            else:
                _clear_started(run_dir)
            write_config(run_dir, cfg)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return Session(cfg, run_dir, device, spec, batches, gan, step, evaluator, processes, lock,
                   saved_step=step if started else None)


def _clear_started(run_dir: Path) -> None:
    """Remove what a run killed before its first checkpoint wrote, so it starts again from step 0."""
    for name in STARTED_FILES:
        (run_dir / name).unlink(missing_ok=True)
    for events in run_dir.glob("events.out.tfevents.*"):
        events.unlink()
    for name in STARTED_FOLDERS:
        shutil.rmtree(run_dir / name, ignore_errors=True)


def _generator_written(run_dir: Path, step: int) -> bool:
    """Whether the run's exported generator is the one of ``step`` (a run killed between its last
    checkpoint and the export has a checkpoint of the last step but no final generator)."""
    if not (run_dir / GENERATOR_FILE).is_file():
        return False
    try:
        return generator_step(run_dir) == step
    except UserError:  # a damaged export is written anew
        return False


def grid_steps(cfg: RunConfig) -> set[int]:
    """The steps at which sample grids (and loss-table rows) are made: the chosen ones and the last."""
    return {s for s in cfg.train.sample_steps if s <= cfg.train.steps} | {cfg.train.steps}


@dataclass
class SampleInputs:
    """The fixed inputs every picture of a run is drawn from: one row per class when conditional."""

    z: torch.Tensor
    labels: Optional[torch.Tensor]
    nrow: Optional[int]  # images per grid row

    def to(self, device: torch.device) -> "SampleInputs":
        """The same inputs on ``device``."""
        labels = None if self.labels is None else self.labels.to(device)
        return SampleInputs(self.z.to(device), labels, self.nrow)


def fixed_inputs(cfg: RunConfig, num_classes: int) -> SampleInputs:
    """The one noise batch (and labels) every picture of a run is drawn from (on the CPU).

    Conditional runs get ``ceil(sample_count / K)`` samples of each class, one class per row.
    """
    count, labels, nrow = cfg.train.sample_count, None, None
    if num_classes:
        labels, nrow = class_rows(count, num_classes)
        count = len(labels)
    generator = torch.Generator().manual_seed(cfg.seed + FIXED_NOISE_SEED_OFFSET)
    return SampleInputs(parse_prior(cfg.train.prior).sample(count, cfg.model.z_dim, generator=generator),
                        labels, nrow)


def generate(generator: torch.nn.Module, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    """G's samples for ``z`` (and ``labels``) in inference mode (BatchNorm uses its running statistics)."""
    with inference(generator):
        return generator(z, labels)


def initial_statistics(session: Session) -> torch.Tensor:
    """The step-0 record, packed :class:`Statistics`: the untrained networks on the first batch
    (this process's share), in inference mode (BatchNorm on running statistics, no dropout),
    with noise from a generator of its own.

    ``d_grad_norm`` and ``g_grad_norm`` are the L2 norms of the gradients of D's loss with
    respect to D's weights and of G's loss with respect to G's weights, on this same forward
    pass. No penalty is evaluated (``d_penalty`` is 0, and D's loss and gradient are without
    it), and in inference mode BatchNorm nets can have far smaller gradients than in their
    first training step. Nothing changes: autograd returns the gradients without storing them
    on the parameters, no optimizer steps, and no weight, buffer or random generator moves.
    """
    gan = session.gan
    real, labels = session.batches.get(0)
    labels = labels if gan.num_classes else None
    noise = torch.Generator(real.device).manual_seed(session.cfg.seed + FIXED_NOISE_SEED_OFFSET)
    z = gan.prior.sample(real.shape[0], gan.z_dim, device=real.device, generator=noise)
    objective = gan.objective
    with inference(gan.generator, gradients=True), inference(gan.discriminator, gradients=True):
        real_out = gan.discriminator(real, labels)
        fake = gan.generator(z, labels)
        fake_out = gan.discriminator(fake, labels)
        terms = objective.d_terms(real_out, fake_out, labels, labels)
        g_loss = objective.g_loss(fake_out, labels)
        d_grad_norm = gradient_norm_of(terms.total, gan.discriminator, keep_graph=True)
        g_grad_norm = gradient_norm_of(g_loss, gan.generator)
    return Statistics(d_real=terms.real, d_fake=terms.fake, d_loss=terms.total, g_loss=g_loss,
                      d_x=objective.realness(real_out), d_g_z=objective.realness(fake_out),
                      d_penalty=torch.zeros((), device=real.device),
                      g_grad_norm=g_grad_norm, d_grad_norm=d_grad_norm,
                      fake_spread=batch_spread(fake, real)).pack()


def gradient_norm_of(loss: torch.Tensor, module: torch.nn.Module, keep_graph: bool = False) -> torch.Tensor:
    """The L2 norm of the gradient of ``loss`` with respect to ``module``'s weights, computed
    by autograd without storing it on the parameters (their ``.grad`` stay as they are)."""
    weights = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, weights, retain_graph=keep_graph, allow_unused=True)
    return gradient_norm([g for g in grads if g is not None], loss.device)


def shown_scores(gan: Gan, points: torch.Tensor) -> torch.Tensor:
    """D's output as shown (a probability, or a critic's score) at arbitrary points, each judged
    alone (with packing: as a pack of copies of the point), in inference mode."""
    with inference(gan.discriminator):
        return gan.objective.as_shown(gan.score(points.repeat_interleave(gan.pack, 0)))


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
        first = session.batches.order(0)[:session.cfg.train.sample_count]
        self.reference = session.batches.take(first)[0].cpu()  # real samples shown beside G's
        self.health = HealthMonitor(probabilities=session.cfg.train.loss in PROBABILITY_LOSSES,
                                    steps=session.cfg.train.steps, loss=session.cfg.train.loss)
        for record in read_metrics(session.run_dir):  # a resumed run's monitor knows its history
            if record["step"] <= session.step:
                self.health.check(record["step"], record)

    def log(self, step: int, values: dict, iterations: int, measurements: Sequence = (),
            events: Sequence[Event] = ()) -> dict:
        """Record one log step: the interval's ``values`` (:func:`read_interval`, averaged over
        ``iterations``; 0 for the untrained networks at step 0), any evaluation ``measurements``
        (as ``eval_<name>``, protocols in ``eval_protocol``) and the health events, given and
        found now (in ``events``, also in TensorBoard as text and printed)."""
        now = time.perf_counter()
        record = {"step": step, **values}
        seconds = now - self.interval_start
        record.update(self.session.gan.objective.derived(record))
        if measurements:
            record.update({f"eval_{m.name}": round(float(m.value), 6) for m in measurements})
            record["eval_protocol"] = {m.name: m.protocol for m in measurements}
        record["img_per_s"] = round(iterations * self.session.cfg.train.batch_size / seconds, 1) if iterations else 0.0
        events = [*events, *self.health.check(step, record)]
        if events:
            record["events"] = [event.to_dict() for event in events]
        self.interval_start = now
        self.metrics.append(record)
        self.board.scalars(step, record)
        for event in events:
            self.board.text(f"health/{event.kind}", event.message, step)
        summary = {"D real": record["d_real"], "D fake": record["d_fake"], "D": record["d_loss"],
                   "G": record["g_loss"], "D(x)": record["d_x"], "D(G(z))": record["d_g_z"]}
        if "wasserstein" in record:
            summary["W"] = record["wasserstein"]
        shown = [f"{k} {v:.3f}" for k, v in summary.items()] + [f"{record['img_per_s']:.0f} img/s"]
        if self.bar.disable:
            print(f"step {step}: " + "  ".join(shown), file=sys.stderr, flush=True)
        else:
            self.bar.set_postfix_str("  ".join(shown), refresh=False)
        for event in events:
            if event.kind != "diverged":  # that one ends the run with its own line
                self.bar.write(f"gankit: warning: step {step}: {event.message}", file=sys.stderr)
        return record

    def evaluate(self, evaluator: Evaluator) -> Sequence:
        """Measure G now; the time it takes is left out of the next img/s."""
        start = time.perf_counter()
        measurements = evaluator(self.session.gan.sampler, self.session.device)
        self.interval_start += time.perf_counter() - start
        return measurements

    def picture(self, step: int, inputs: SampleInputs) -> None:
        """Save the picture of G's samples for the fixed inputs at this step: an image grid,
        sequence plots, or a scatter over D's heat map."""
        session = self.session
        gan = session.gan
        samples = generate(gan.sampler, inputs.z, inputs.labels).float().cpu()
        heat_map = session.spec.kind == "points" and not gan.num_classes
        picture = save_view(session.spec.kind, samples, session.run_dir / "samples" / f"step_{step:06d}.png",
                            nrow=inputs.nrow, reference=self.reference,
                            score_fn=(lambda points: shown_scores(gan, points.to(session.device))) if heat_map else None,
                            score_label="D(x)")
        self.board.image("samples", picture, step)

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


def checkpoint(session: Session) -> None:
    """Write ``checkpoints/last.pt`` (process 0), with every process's random generators."""
    gan, processes = session.gan, session.processes
    rng_by_rank = distributed.gather(rng_state(gan, session.device)) if processes.distributed else None
    if processes.writer:
        save_checkpoint(session.run_dir, gan, session.step, session.device, rng_by_rank,
                        keep=session.cfg.train.keep_checkpoints)
    session.saved_step = session.step


def check_finite(session: Session, tracker: Optional[Tracker], step: int, values: dict, iterations: int) -> None:
    """Stop the run (TrainingDiverged) if a logged value is NaN or infinite, before anything
    is drawn, evaluated or saved from that state; the row is logged with a ``diverged`` event."""
    broken = nonfinite(values)
    if not broken:
        return
    message = divergence_message(step, broken, values, session.saved_step, session.run_dir)
    if tracker is not None:
        tracker.log(step, values, iterations, events=[Event("diverged", message)])
    raise TrainingDiverged(message)


def train_until_done(session: Session, tracker: Optional[Tracker], inputs: SampleInputs, stop: StopRequest) -> None:
    """The loop: iterate, and at their steps log, draw grids and checkpoint; stop when asked.

    ``tracker`` is None on the processes that do not write. Several processes agree on a stop
    request at the log steps only, so they all stop after the same iteration.
    """
    cfg, gan, device, batches, processes = session.cfg, session.gan, session.device, session.batches, session.processes
    at_grid = grid_steps(cfg)
    iterate = iterations(gan, batches, cfg.train.d_steps)
    totals = torch.zeros(len(STAT_NAMES), device=device)
    iterations_done = 0
    for step in range(session.step + 1, cfg.train.steps + 1):
        if cfg.optim.schedule != "constant":
            set_lr(gan.g_optimizer, decayed_lr(cfg.optim.g.lr, cfg.optim.schedule, step, cfg.train.steps))
            set_lr(gan.d_optimizer, decayed_lr(cfg.optim.d.lr, cfg.optim.schedule, step, cfg.train.steps))
        totals += iterate(step - 1)
        if gan.ema is not None:
            gan.ema.update(gan.generator, step)
        iterations_done += 1
        session.step = step
        if tracker is not None:
            tracker.bar.update(1)
        stopping = stop.requested  # read once: a signal may arrive at any point below
        if processes.distributed:
            stopping = step % cfg.train.log_every == 0 and distributed.any_process(stopping, device)
        last = step == cfg.train.steps or stopping
        evaluating = cfg.eval.every is not None and (step % cfg.eval.every == 0 or last)
        drawing = step in at_grid
        saving = step % cfg.train.checkpoint_every == 0 or last
        logging = step % cfg.train.log_every == 0 or drawing or saving or evaluating  # each one checked first
        if processes.distributed and (drawing or saving or evaluating):
            distributed.average_buffers(gan.generator)  # what G samples with in inference mode
            distributed.average_buffers(gan.discriminator)
            if gan.ema is not None:
                gan.ema.copy_buffers(gan.generator)
        if logging:
            if processes.distributed:
                totals = distributed.mean(totals)
            values = read_interval(totals, iterations_done, gan)  # the one host transfer of the interval
            check_finite(session, tracker, step, values, iterations_done)
            if tracker is not None:
                measurements = tracker.evaluate(session.evaluator) if evaluating and session.evaluator else ()
                tracker.log(step, values, iterations_done, measurements)
            totals.zero_()
            iterations_done = 0
        if drawing and tracker is not None:
            tracker.picture(step, inputs)
        if saving:
            checkpoint(session)
            if tracker is not None:
                tracker.summaries()
        if stopping:
            raise TrainingStopped(str(session.run_dir), step)


def fit(session: Session, show_progress: Optional[bool] = None) -> Path:
    """Train from ``session.step`` to ``train.steps``, writing the run directory as it goes.

    With an evaluator, G is measured every ``eval.every`` steps and at the end, into
    metrics.jsonl and TensorBoard. Ctrl-C ends the current iteration, writes a
    checkpoint and raises TrainingStopped. Only process 0 writes.
    """
    inputs = fixed_inputs(session.cfg, session.gan.num_classes).to(session.device)
    try:
        tracker = Tracker(session, show_progress) if session.processes.writer else None
        try:
            if session.step == 0:
                values = read_interval(initial_statistics(session), 0, session.gan)
                check_finite(session, tracker, 0, values, 0)
                if tracker is not None:
                    tracker.log(0, values, 0)
                    if 0 in grid_steps(session.cfg):
                        tracker.picture(0, inputs)
            finishing = session.step == session.cfg.train.steps  # resumed only to write what the end writes
            with StopRequest() as stop:
                train_until_done(session, tracker, inputs, stop)
            if tracker is not None:
                if finishing:
                    _finish_pictures(session, tracker, inputs)
                export_generator(session.run_dir, session.gan.sampler, session.step,
                                 averaged=session.gan.ema is not None)
        finally:
            if tracker is not None:
                tracker.close()
    finally:
        if session.lock is not None:
            session.lock.release()
    return session.run_dir


def _finish_pictures(session: Session, tracker: Tracker, inputs: SampleInputs) -> None:
    """A run resumed at its last step: write what the end of a run writes besides the generator
    (G is the checkpoint's, so the final grid comes out as it would have)."""
    final = session.run_dir / "samples" / f"step_{session.step:06d}.png"
    if not final.is_file():
        tracker.picture(session.step, inputs)
    tracker.summaries()
