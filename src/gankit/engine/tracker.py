"""What the training loop writes into the run directory: metrics.jsonl, TensorBoard, the sample
pictures, the loss curve and table, and the progress on the console. Processes that do not
write get a :class:`QuietTracker`, which does nothing, so the loop never asks which it has."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from tqdm.auto import tqdm  # a notebook widget in Jupyter, a text bar elsewhere

from gankit import quantities
from gankit.config import RunConfig
from gankit.engine.build import FIXED_NOISE_SEED_OFFSET, generate, shown_scores
from gankit.engine.health import Event, HealthMonitor
from gankit.engine.session import Evaluator, Session
from gankit.nets.layers import class_rows
from gankit.priors import Prior
from gankit.registry import LOSSES
from gankit.track import MetricsLog, TensorBoardLog, plot_losses, read_metrics, save_view, write_loss_table


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


def fixed_inputs(cfg: RunConfig, prior: Prior, num_classes: int) -> SampleInputs:
    """The one noise batch (and labels) every picture of a run is drawn from (on the CPU), from
    the GAN's ``prior``.

    Conditional runs get ``ceil(sample_count / K)`` samples of each class, one class per row.
    """
    count, labels, nrow = cfg.train.sample_count, None, None
    if num_classes:
        labels, nrow = class_rows(count, num_classes)
        count = len(labels)
    generator = torch.Generator().manual_seed(cfg.seed + FIXED_NOISE_SEED_OFFSET)
    return SampleInputs(prior.sample(count, cfg.model.z_dim, generator=generator), labels, nrow)


class QuietTracker:
    """The tracker of a process that writes nothing (all but process 0 of several)."""

    def advanced(self) -> None:
        """One iteration done."""

    def log(self, step: int, values: dict, iterations: int, measurements: Sequence = (),
            events: Sequence[Event] = ()) -> None:
        """Nothing is logged here."""

    def evaluate(self, evaluator: Optional[Evaluator]) -> Sequence:
        """Nothing is measured here."""
        return ()

    def picture(self, step: int, inputs: SampleInputs) -> None:
        """Nothing is drawn here."""

    def summaries(self) -> None:
        """Nothing is redrawn here."""

    def export(self) -> None:
        """Nothing is exported here."""

    def close(self) -> None:
        """Nothing to close."""


class Tracker(QuietTracker):
    """Everything the loop writes: metrics.jsonl, TensorBoard, grids, curves, tables, progress."""

    def __init__(self, session: Session, show_progress: Optional[bool] = None):
        self.session = session
        self.run = session.run
        self.metrics = MetricsLog(session.run_dir)
        self.board = TensorBoardLog(session.run_dir, purge_step=session.step + 1 if session.step else None)
        interactive = sys.stderr.isatty() if show_progress is None else show_progress
        self.bar = tqdm(total=session.cfg.train.steps, initial=session.step, unit="it",
                        dynamic_ncols=True, disable=not interactive)
        self.interval_start = time.perf_counter()
        first = session.batches.order(0)[:session.cfg.train.sample_count]
        self.reference = session.batches.take(first)[0].cpu()  # real samples shown beside G's
        self.health = HealthMonitor(probabilities=LOSSES.get(session.cfg.train.loss).outputs_are_logits,
                                    steps=session.cfg.train.steps, loss=session.cfg.train.loss)
        for record in read_metrics(session.run_dir):  # a resumed run's monitor knows its history
            if record["step"] <= session.step:
                self.health.check(record["step"], record)

    def advanced(self) -> None:
        """One iteration done: the progress bar moves."""
        self.bar.update(1)

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
        self._show(step, record)
        for event in events:
            if event.kind != "diverged":  # that one ends the run with its own line
                self.bar.write(f"gankit: warning: step {step}: {event.message}", file=sys.stderr)
        return record

    def _show(self, step: int, record: dict) -> None:
        """The logged losses on the console: after the progress bar, or as a line of their own."""
        shown = [f"{quantities.describe(key).shown} {record[key]:.3f}" for key in quantities.table_keys(record)]
        shown.append(f"{record['img_per_s']:.0f} img/s")
        if self.bar.disable:
            print(f"step {step}: " + "  ".join(shown), file=sys.stderr, flush=True)
        else:
            self.bar.set_postfix_str("  ".join(shown), refresh=False)

    def evaluate(self, evaluator: Optional[Evaluator]) -> Sequence:
        """Measure G now (nothing without an evaluator); the time it takes is left out of the next img/s."""
        if evaluator is None:
            return ()
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
        picture = save_view(session.spec.kind, samples, self.run.grid(step), nrow=inputs.nrow,
                            reference=self.reference,
                            score_fn=(lambda points: shown_scores(gan, points.to(session.device))) if heat_map else None,
                            score_label="D(x)")
        self.board.image("samples", picture, step)

    def summaries(self) -> None:
        """Redraw the loss curve and the loss table from metrics.jsonl."""
        records = self.run.records()
        if records:
            plot_losses(records, self.run.loss_curve)
            write_loss_table(records, sorted(grid_steps(self.session.cfg)), self.run.loss_table_md,
                             self.run.loss_table_csv)

    def export(self) -> None:
        """Write the generator to share (its weight average with train.ema)."""
        from gankit.engine.checkpoint import export_generator

        session = self.session
        export_generator(session.run_dir, session.gan.sampler, session.step, averaged=session.gan.ema is not None)

    def close(self) -> None:
        """Flush and close the writers and the progress bar."""
        self.bar.close()
        self.board.close()
