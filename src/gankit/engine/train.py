"""The training loop: iterate, and at their steps log, evaluate, draw and checkpoint.

A run is made ready by :mod:`gankit.engine.session` (``new_run``, ``resume_run``); :func:`fit`
trains it to ``train.steps``, writing through a :class:`~gankit.engine.tracker.Tracker`. What
happens at which step is :class:`Cadence`'s answer, ``due(step)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from gankit.config import RunConfig
from gankit.engine import distributed
from gankit.engine.build import FIXED_NOISE_SEED_OFFSET
from gankit.engine.checkpoint import rng_state, save_checkpoint
from gankit.engine.gan import STAT_NAMES, Gan, Statistics, batch_spread, gradient_norm
from gankit.engine.graphs import advance, iterations
from gankit.engine.health import Event, divergence_message, nonfinite, read_interval
from gankit.engine.session import Session
from gankit.engine.stop import StopRequest, TimeBudget, TrainingStopped
from gankit.engine.tracker import QuietTracker, SampleInputs, Tracker, fixed_inputs, grid_steps
from gankit.errors import TrainingDiverged
from gankit.nets.layers import inference


@dataclass(frozen=True)
class Due:
    """What a step does besides training: log (the one host transfer of the interval),
    evaluate, draw the sample pictures, save a checkpoint."""

    log: bool
    evaluate: bool
    draw: bool
    save: bool


@dataclass(frozen=True)
class Cadence:
    """At which steps a run logs, evaluates, draws and saves (from its config)."""

    total: int
    log_every: int
    eval_every: Optional[int]
    checkpoint_every: int
    grids: frozenset

    @classmethod
    def of(cls, cfg: RunConfig) -> "Cadence":
        """The cadence ``cfg`` sets."""
        return cls(cfg.train.steps, cfg.train.log_every, cfg.eval.every, cfg.train.checkpoint_every,
                   frozenset(grid_steps(cfg)))

    def due(self, step: int, stopping: bool = False, out_of_time: bool = False) -> Due:
        """What step ``step`` does: the last step, or one a stop or a spent time budget ends at,
        evaluates and saves; one a time budget ends at also draws, as a run's last step does.
        Every step that draws, evaluates or saves also logs, so nothing is kept unchecked."""
        last = step == self.total or stopping or out_of_time
        evaluate = self.eval_every is not None and (step % self.eval_every == 0 or last)
        draw = step in self.grids or out_of_time
        save = step % self.checkpoint_every == 0 or last
        return Due(step % self.log_every == 0 or draw or save or evaluate, evaluate, draw, save)


class Interval:
    """The statistics accumulated on the device since the last log, and how many iterations."""

    def __init__(self, device: torch.device):
        self.totals = torch.zeros(len(STAT_NAMES), device=device)
        self.iterations = 0

    def add(self, stats: torch.Tensor) -> None:
        """One iteration's packed statistics."""
        self.totals += stats
        self.iterations += 1

    def read(self, gan: Gan, processes: distributed.Processes) -> dict:
        """The interval's averaged values (averaged over processes too), then start anew."""
        totals = distributed.mean(self.totals) if processes.distributed else self.totals
        values = read_interval(totals, self.iterations, gan)  # the one host transfer of the interval
        self.totals.zero_()
        self.iterations = 0
        return values


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


def checkpoint(session: Session) -> None:
    """Write ``checkpoints/last.pt`` (process 0), with every process's random generators."""
    gan, processes = session.gan, session.processes
    rng_by_rank = distributed.gather(rng_state(gan, session.device)) if processes.distributed else None
    if processes.writer:
        save_checkpoint(session.run_dir, gan, session.step, session.device, rng_by_rank,
                        keep=session.cfg.train.keep_checkpoints)
    session.saved_step = session.step


def check_finite(session: Session, tracker: QuietTracker, step: int, values: dict, iterations: int) -> None:
    """Stop the run (TrainingDiverged) if a logged value is NaN or infinite, before anything
    is drawn, evaluated or saved from that state; the row is logged with a ``diverged`` event."""
    broken = nonfinite(values)
    if not broken:
        return
    message = divergence_message(step, broken, values, session.saved_step, session.run_dir)
    tracker.log(step, values, iterations, events=[Event("diverged", message)])
    raise TrainingDiverged(message)


def agreed(session: Session, flag: bool, step: int) -> bool:
    """Whether to end after this step because of ``flag`` (a stop request, read once since a
    signal may arrive any time; a spent time budget), agreed between several processes at the
    log steps only, so that they end together."""
    if session.processes.distributed:
        return step % session.cfg.train.log_every == 0 and distributed.any_process(flag, session.device)
    return flag


def share_buffers(gan: Gan) -> None:
    """Average BatchNorm's running statistics over the processes (what G samples and what is
    saved in inference mode)."""
    distributed.average_buffers(gan.generator)
    distributed.average_buffers(gan.discriminator)
    if gan.ema is not None:
        gan.ema.copy_buffers(gan.generator)


def train_until_done(session: Session, tracker: QuietTracker, inputs: SampleInputs, stop: StopRequest,
                     budget: TimeBudget) -> None:
    """The loop: iterate, and at the steps the cadence names log, evaluate, draw and checkpoint;
    stop when asked (after the iteration in progress, with a checkpoint), or end early, as a
    run's last step ends, once the time budget is spent."""
    cfg, gan = session.cfg, session.gan
    cadence = Cadence.of(cfg)
    iterate = iterations(gan, session.batches, cfg.train.d_steps)
    interval = Interval(session.device)
    budget.start()
    for step in range(session.step + 1, cfg.train.steps + 1):
        interval.add(advance(gan, cfg, iterate, step))
        session.step = step
        tracker.advanced()
        stopping = agreed(session, stop.requested, step)
        out_of_time = agreed(session, budget.spent(), step) and not stopping
        due = cadence.due(step, stopping, out_of_time)
        if due.draw or due.save or due.evaluate:
            if session.processes.distributed:
                share_buffers(gan)
            gan.measure_average_statistics(session.device)
        if due.log:
            iterations_done = interval.iterations
            values = interval.read(gan, session.processes)
            check_finite(session, tracker, step, values, iterations_done)
            measured = tracker.evaluate(session.evaluator) if due.evaluate else ()
            tracker.log(step, values, iterations_done, measured)
        if due.draw:
            tracker.picture(step, inputs)
        if due.save:
            checkpoint(session)
            tracker.summaries()
        if stopping:
            raise TrainingStopped(str(session.run_dir), step)
        if out_of_time:
            return


def fit(session: Session, show_progress: Optional[bool] = None) -> Path:
    """Train from ``session.step`` to ``train.steps`` (or, with ``train.minutes``, until that many
    minutes of training are spent: ``session.step`` then says where it ended), writing the run
    directory as it goes.

    With an evaluator, G is measured every ``eval.every`` steps and at the end, into
    metrics.jsonl and TensorBoard. Ctrl-C ends the current iteration, writes a
    checkpoint and raises TrainingStopped. Only process 0 writes.
    """
    inputs = fixed_inputs(session.cfg, session.gan.prior, session.gan.num_classes).to(session.device)
    try:
        tracker = Tracker(session, show_progress) if session.processes.writer else QuietTracker()
        try:
            if session.step == 0:
                values = read_interval(initial_statistics(session), 0, session.gan)
                check_finite(session, tracker, 0, values, 0)
                tracker.log(0, values, 0)
                if 0 in grid_steps(session.cfg):
                    tracker.picture(0, inputs)
            finishing = session.step == session.cfg.train.steps  # resumed only to write what the end writes
            with StopRequest() as stop:
                train_until_done(session, tracker, inputs, stop, TimeBudget(session.cfg.train.minutes))
            if finishing:
                _finish_pictures(session, tracker, inputs)
            tracker.export()
        finally:
            tracker.close()
    finally:
        if session.lock is not None:
            session.lock.release()
    return session.run_dir


def _finish_pictures(session: Session, tracker: QuietTracker, inputs: SampleInputs) -> None:
    """A run resumed at its last step: write what the end of a run writes besides the generator
    (G is the checkpoint's, so the final grid comes out as it would have)."""
    if not session.run.grid(session.step).is_file():
        tracker.picture(session.step, inputs)
    tracker.summaries()
