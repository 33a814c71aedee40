"""A run ready to train, and the two ways to one: a new run, or resuming a run directory.

Everything a run needs (config, data, networks, checkpoint) is loaded and checked before
anything is written, so a mistake never leaves a half-made run or damages an existing one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch

from gankit.config import READY_MADE_ARCH, RunConfig, build_config, load_run_config
from gankit.data.batches import Batches
from gankit.engine import distributed
from gankit.engine.build import Modules, prepare
from gankit.engine.checkpoint import read_checkpoint, restore
from gankit.engine.distributed import Processes, launched_processes
from gankit.engine.gan import Gan
from gankit.engine.speed import Speed
from gankit.errors import UserError
from gankit.fsutil import remove_stale_temps
from gankit.rundir import RunDir
from gankit.rundir.make import check_run_name, clear_started, create_run_dir, write_config
from gankit.rundir.lock import DirectoryLock
from gankit.spec import SampleSpec
from gankit.track import MetricsLog

# Evaluation during training: called with (G, device) at every eval.every steps and at the end;
# returns measurements with .name, .value and .protocol (gankit.metrics.evaluate.Evaluator).
Evaluator = Callable[[torch.nn.Module, torch.device], Sequence]
EvaluatorFactory = Callable[[RunConfig], Evaluator]  # raises UserError when no metric applies


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
    evaluator: Optional[Evaluator] = None  # measures G every eval.every steps
    processes: Processes = distributed.SINGLE
    lock: Optional[DirectoryLock] = None  # held by the process that writes the run directory
    saved_step: Optional[int] = None  # the step of the last checkpoint written or resumed from

    @property
    def speed(self) -> Speed:
        """How the loop runs (resolved ``speed.*``)."""
        return self.gan.speed

    @property
    def run(self) -> RunDir:
        """The run directory's files."""
        return RunDir(self.run_dir)


def _evaluator(cfg: RunConfig, make_evaluator: Optional[EvaluatorFactory]) -> Optional[Evaluator]:
    return make_evaluator(cfg) if make_evaluator is not None and cfg.eval.every else None


def new_run(preset: Optional[str], overrides: list[str], *, name: Optional[str] = None,
            runs_root: Path = Path("runs"), make_evaluator: Optional[EvaluatorFactory] = None,
            processes: Optional[Processes] = None, modules: Modules = None,
            config: Optional[RunConfig] = None) -> Session:
    """Validate a preset with overrides, load its data, set up evaluation (``make_evaluator``,
    when ``eval.every`` is set), then create its run directory (process 0 only). ``modules``:
    ready-made (G, D) to train instead of model.arch's (recorded as model.arch=modules).
    ``config``: a validated config to train instead of the preset's (then no overrides)."""
    processes = processes or launched_processes()
    if name is not None:
        check_run_name(name)
    cfg = config.model_copy(deep=True) if config is not None else build_config(preset, overrides)
    if modules is not None:
        cfg.model.arch = READY_MADE_ARCH
    device, spec, batches, gan = prepare(cfg, processes, modules)
    evaluator = _evaluator(cfg, make_evaluator) if processes.writer else None
    run_dir, lock = None, None
    if processes.writer:
        run, lock = create_run_dir(Path(runs_root), name if name is not None else cfg.name)
        run_dir = run.path
        try:
            cfg.name = run.name
            write_config(run, cfg.to_dict())
        except BaseException:
            lock.release()
            shutil.rmtree(run_dir, ignore_errors=True)  # ours, and nothing is in it yet
            raise
    if processes.distributed:
        run_dir = Path(distributed.from_writer(None if run_dir is None else str(run_dir)))
    cfg.name = run_dir.name
    return Session(cfg, run_dir, device, spec, batches, gan, evaluator=evaluator, processes=processes, lock=lock)


def resume_run(run_dir: Path, overrides: list[str], make_evaluator: Optional[EvaluatorFactory] = None,
               processes: Optional[Processes] = None, modules: Modules = None,
               config: Optional[RunConfig] = None) -> Session:
    """Reload a run from its last checkpoint, with optional overrides (e.g. more steps).
    A run trained on ready-made modules needs fresh ``modules`` of the same classes.
    ``config``: a validated config to continue with instead of reading the run's config.yaml
    (then no overrides): what a caller checked is what trains."""
    processes = processes or launched_processes()
    run = RunDir(run_dir)
    cfg = config.model_copy(deep=True) if config is not None else load_run_config(run.path, overrides)
    lock = DirectoryLock(run.path).acquire() if processes.writer else None
    try:
        if processes.writer:
            remove_stale_temps(run.path)  # left by a process killed mid-write; we alone write here now
        started = run.is_file(run.last_checkpoint)
        payload = read_checkpoint(run.last_checkpoint) if started else None
        device, spec, batches, gan = prepare(cfg, processes, modules)
        step = restore(gan, payload, device, run.last_checkpoint, processes.rank, processes.world_size) if started else 0
        finishing = started and cfg.train.steps == step and not _generator_written(run, step)
        if started and cfg.train.steps <= step and not finishing:
            raise UserError(f"{run.path} is already at step {step}; set train.steps to more than that to continue")
        evaluator = _evaluator(cfg, make_evaluator) if processes.writer else None
        if processes.writer:
            if started:
                MetricsLog(run.path).truncate_after(step)
            else:
                clear_started(run)
            write_config(run, cfg.to_dict())
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return Session(cfg, run.path, device, spec, batches, gan, step, evaluator, processes, lock,
                   saved_step=step if started else None)


def _generator_written(run: RunDir, step: int) -> bool:
    """Whether the run's exported generator is the one of ``step`` (a run killed between its last
    checkpoint and the export has a checkpoint of the last step but no final generator)."""
    try:
        return run.exported_step() == step
    except UserError:  # a damaged export is written anew
        return False
