"""gankit from Python: train, load, sample and evaluate runs from a notebook or a script.

    import gankit
    run = gankit.train("dcgan-mnist", {"train.steps": 600}, name="demo")
    run.metrics                       # the logged rows (a DataFrame when pandas is installed)
    x = run.sample(64, prior="normal(-10,1)", seed=0)
    run.evaluate()                    # what `gankit eval` measures
    run = gankit.load("runs/demo")    # any run directory, also one the command line made
    gankit.train(resume="runs/demo", overrides={"train.steps": 1200})
    result = gankit.study("noise", jobs=2)          # a study: result.summary, result.report
    gankit.export("runs/demo", "onnx", "G.onnx")    # the generator for use outside gankit
    gankit.serve()                                  # the web lab, until Ctrl-C

The ``gankit`` command is a thin layer over these functions. Every refusal raises
:class:`gankit.GankitError` (or a subclass), whose message is the command's one line.
"""

from __future__ import annotations

import base64
import html
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import torch

from gankit.config import Overrides, RunConfig, override_strings
from gankit.errors import UserError, machine_error
from gankit.rundir import RunDir

Say = Callable[[str], None]


def _say_on_stderr(text: str) -> None:
    print(f"gankit: {text}", file=sys.stderr, flush=True)


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (where progress shows as a notebook widget)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = shell.get_ipython()
    return ipython is not None and "IPKernelApp" in getattr(ipython, "config", {})


def train(preset: Optional[str] = None, overrides: Overrides = None, *, name: Optional[str] = None,
          runs_dir: Union[str, Path] = "runs", resume: Union[str, Path, None] = None,
          progress: Optional[bool] = None, generator: Optional[torch.nn.Module] = None,
          discriminator: Optional[torch.nn.Module] = None, config: Optional[RunConfig] = None,
          say: Say = _say_on_stderr) -> "Run":
    """Train a new run of ``preset`` (a name, a YAML file, or None for the embedded default)
    with ``overrides``, or continue the run directory ``resume``; returns the :class:`Run`.
    ``config``: a validated :class:`gankit.config.RunConfig` (e.g. from
    ``gankit.config.build_config``) to train instead of a preset and overrides, or, with
    ``resume``, to continue with instead of the run's config.yaml.

    ``progress``: a progress bar (default: in a notebook or on a terminal). Ctrl-C (a notebook's
    stop button) ends the current iteration and writes a checkpoint; the run is returned with
    ``stopped_at`` set. ``generator`` and ``discriminator``: ready-made modules to train instead
    of ``model.arch``'s networks (G maps z (N, z_dim) to samples, D samples to one score each);
    such a run resumes only here, given fresh modules of the same classes.
    """
    from gankit.engine import TrainingStopped, end_processes, fit, launched_processes, new_run, resume_run

    if (generator is None) != (discriminator is None):
        raise UserError("give both generator= and discriminator=, or neither")
    if resume is not None and name is not None:
        raise UserError("--name cannot be combined with --resume")
    if resume is not None and preset is not None:
        raise UserError(f"a resumed run keeps its preset: give {resume} without '{preset}'")
    modules = (generator, discriminator) if generator is not None else None
    strings = override_strings(overrides)
    if config is not None and (preset is not None or strings):
        raise UserError("a config replaces the preset and its overrides: give one or the other")
    progress = True if progress is None and in_notebook() else progress
    processes = launched_processes()
    try:
        try:
            if resume is not None:
                session = resume_run(Path(resume), strings, _evaluator_factory(say), processes, modules, config)
            else:
                session = new_run(preset, strings, name=name, runs_root=Path(runs_dir),
                                  make_evaluator=_evaluator_factory(say), processes=processes, modules=modules,
                                  config=config)
            if processes.writer:
                workers = f" x {processes.world_size} processes" if processes.distributed else ""
                say(f"run directory: {session.run_dir}")
                threads = f" ({torch.get_num_threads()} threads)" if session.device.type == "cpu" else ""
                say(f"speed: {session.device}{threads}{workers}, {session.speed.describe()}")
            stopped_at = None
            try:
                fit(session, show_progress=progress)
                if processes.writer and session.step < session.cfg.train.steps:
                    say(f"time budget of {session.cfg.train.minutes:g} minutes spent at step {session.step} of "
                        f"{session.cfg.train.steps}: checkpoint, grid and generator written; continue with: "
                        f"gankit train --resume {session.run_dir}")
            except TrainingStopped as stopped:
                if processes.writer:
                    say(str(stopped))
                stopped_at = stopped.step
        finally:
            end_processes(processes)
    except OSError as err:
        raise machine_error(err, "train") from None
    run = Run(session.run_dir, generator=generator)
    run.stopped_at = stopped_at
    run.wrote = processes.writer
    return run


def _evaluator_factory(say: Say):
    def make_evaluator(cfg):
        from gankit.metrics.evaluate import Evaluator

        return Evaluator(cfg, progress=say)

    return make_evaluator


def load(run_dir: Union[str, Path], *, generator: Optional[torch.nn.Module] = None) -> "Run":
    """The run in ``run_dir`` (made here or by the command line). ``generator``: for runs
    trained on a ready-made G, a fresh module of its class, to sample and evaluate with."""
    return Run(Path(run_dir), generator=generator)


class Run:
    """One run directory, read from disk each time it is asked (so it follows a run that
    trains elsewhere): its config, metrics, grids, samples and measurements."""

    def __init__(self, run_dir: Path, generator: Optional[torch.nn.Module] = None):
        from gankit.config import load_run_config

        self.dir = Path(run_dir)
        self.config = load_run_config(self.dir)  # checks that it is a run directory
        self.stopped_at: Optional[int] = None  # set by gankit.train when Ctrl-C stopped it
        self.wrote = True  # False in the processes of a torchrun launch that left the writing to another
        self._module = generator

    @property
    def name(self) -> str:
        """The run directory's name."""
        return self.dir.name

    @property
    def files(self) -> RunDir:
        """The run directory's files (:class:`gankit.rundir.RunDir`)."""
        return RunDir(self.dir)

    @property
    def records(self) -> list[dict]:
        """The rows of metrics.jsonl, as plain dicts (one per logged step)."""
        return self.files.records()

    @property
    def metrics(self):
        """The logged rows: a pandas DataFrame indexed by step when pandas is installed, else
        the list of dicts of :attr:`records`."""
        records = self.records
        try:
            import pandas
        except ImportError:
            return records
        frame = pandas.DataFrame.from_records(records)
        return frame.set_index("step") if "step" in frame else frame

    @property
    def step(self) -> int:
        """The last logged step (0 before the first log)."""
        records = self.records
        return int(records[-1]["step"]) if records else 0

    @property
    def status(self) -> str:
        """running (a process writes it now), finished, diverged, or stopped."""
        return self.files.status(self.config.train.steps)

    @property
    def grids(self) -> dict[int, Path]:
        """The sample pictures by step (samples/step_NNNNNN.png)."""
        return self.files.grids()

    def sample(self, n: int = 64, *, prior: Optional[str] = None, label: Optional[int] = None, seed: int = 0,
               raw: bool = False) -> torch.Tensor:
        """``n`` samples (N, ...) in the data's units, as `gankit sample --npy` writes them:
        latent codes from ``prior`` (default: the training prior) drawn with ``seed``; class
        ``label`` for conditional runs (default: every class in turn); ``raw``: the trained G
        rather than its weight average."""
        from gankit.sampling import in_data_units

        samples, _ = self.sample_with_labels(n, prior=prior, label=label, seed=seed, raw=raw)
        return in_data_units(self.config, samples)

    def sample_with_labels(self, n: int = 64, *, prior: Optional[str] = None, label: Optional[int] = None,
                           seed: int = 0, raw: bool = False) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Samples in G's units (images and sequences in [-1, 1]) and the labels they were made for."""
        from gankit.sampling import sample

        return sample(self.dir, n, prior=prior, label=label, seed=seed, raw=raw, module=self._module)

    def save_samples(self, out: Union[str, Path, None] = "samples.png", n: int = 64, *, npy: Union[str, Path, None] = None,
                     prior: Optional[str] = None, label: Optional[int] = None, seed: int = 0,
                     raw: bool = False) -> None:
        """Write ``n`` samples as `gankit sample` does: a picture ``out`` (an image grid with a row
        per class when conditional, sequence plots or a scatter) and/or the raw samples as a
        float32 ``npy`` in the data's units; the latent draw as for :meth:`sample`."""
        from gankit.sampling import write_samples

        samples, labels = self.sample_with_labels(n, prior=prior, label=label, seed=seed, raw=raw)
        write_samples(self.dir, samples, labels, None if out is None else Path(out), None if npy is None else Path(npy))

    def evaluate(self, *, samples: Optional[int] = None, inception: bool = False,
                 inception_weights: Optional[str] = None, say: Optional[Say] = _say_on_stderr) -> "Measurements":
        """Measure the generator as `gankit eval` does (written to eval/step_NNNNNN.json too)."""
        from gankit.metrics.evaluate import evaluate_run

        path, measured = evaluate_run(self.dir, samples=samples, inception=inception,
                                      inception_weights=inception_weights, progress=say, module=self._module)
        return Measurements(measured, path)

    def report(self, out: Union[str, Path, None] = None) -> Path:
        """Write the run's HTML report (RUN/report.html unless ``out``) and return its path."""
        from gankit.report import build_report

        return build_report([self.dir], Path(out) if out is not None else None)

    def __repr__(self) -> str:
        stopped = f", stopped at {self.stopped_at}" if self.stopped_at is not None else ""
        return f"Run('{self.dir}', step {self.step}/{self.config.train.steps}, {self.status}{stopped})"

    def _repr_html_(self) -> str:
        """A notebook cell's view: the latest sample picture and the loss curves."""
        parts = [f"<p><b>{html.escape(self.name)}</b> — {html.escape(str(self.dir))}: step {self.step} of "
                 f"{self.config.train.steps}, {self.status}</p>"]
        grids = self.grids
        pictures = []
        if grids:
            last = max(grids)
            pictures.append((f"samples at step {last}", grids[last]))
        if self.files.loss_curve.is_file():
            pictures.append(("losses", self.files.loss_curve))
        cells = "".join(f'<figure style="display:inline-block;margin:0 1em 0 0;vertical-align:top">'
                        f'<img src="data:image/png;base64,{_base64(path)}" style="max-height:360px">'
                        f"<figcaption>{html.escape(caption)}</figcaption></figure>" for caption, path in pictures)
        return "".join(parts) + f"<div>{cells}</div>"


def _base64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def evaluate_images(images: Union[str, Path], against: Union[str, Path], *, samples: Optional[int] = None,
                    size: int = 64) -> "Measurements":
    """gankit's image measure (Fréchet distance, KID, precision, recall, density, coverage in its
    random encoder's features) of images it did not make, as `gankit eval --images` does:
    ``images`` a folder, a zip or an .npy (uint8 0..255, or floats in [-1, 1]), its first
    ``samples`` (default 5,000) against the first 5,000 images of the folder or zip ``against``,
    both decoded at ``size`` x ``size``: the protocol a run of images is measured with."""
    from gankit.metrics.evaluate import evaluate_images as measure

    return Measurements(measure(Path(images), Path(against), samples=samples, size=size), None)


def study(name: str, runs: Sequence[Union[str, Path]] = (), overrides: Overrides = None, *,
          out: Union[str, Path, None] = None, seeds: Optional[int] = None, steps: Optional[int] = None,
          jobs: int = 1, cores: Optional[int] = None, executor: str = "local",
          slurm: Optional[Mapping[str, Any]] = None, priors: Sequence[str] = (),
          until_settled: bool = False, max_seeds: Optional[int] = None, say: Optional[Say] = _say_on_stderr):
    """Run the study ``name`` (built-in or a study file) as `gankit study` does: train every arm x
    seed not yet finished in ``out`` (default studies/NAME), measure, judge the claims, write
    summary.json and report.html. ``runs``: trained runs for a sampling study; ``overrides``: study
    keys or config keys of every arm. ``until_settled``: add seeds in rounds until every claim is
    settled or ``max_seeds`` (the study's settle.max_seeds, 15 by default) is reached. Returns the result (``.summary``, ``.study_dir``, ``.report``);
    an interrupted study raises :class:`gankit.errors.StudyStopped`, its checkpoints kept."""
    from gankit.studies.run import StudyOptions, run_study

    options = StudyOptions(out=None if out is None else Path(out), seeds=seeds, steps=steps, jobs=jobs,
                           cores=cores, executor=executor, slurm=dict(slurm or {}),
                           overrides=override_strings(overrides), priors=tuple(priors),
                           until_settled=until_settled, max_seeds=max_seeds)
    return run_study(name, [Path(r) for r in runs], options, say=say)


def report(paths: Sequence[Union[str, Path]], out: Union[str, Path, None] = None) -> Path:
    """One self-contained HTML page, as `gankit report` writes it: a run, several runs side by
    side, or a study directory; ``out`` by default RUN/report.html, STUDY/report.html, or
    ./report.html for several runs. Returns the page's path."""
    from gankit.report import build_report

    return build_report([Path(p) for p in paths], None if out is None else Path(out))


def studies() -> dict[str, str]:
    """The studies that ship with gankit, each with the question it answers."""
    from gankit.studies.study_file import builtin_names, load_study

    return {name: load_study(name).question for name in builtin_names()}


def presets() -> list[str]:
    """The names of the presets that ship with gankit."""
    from gankit.config import preset_names

    return list(preset_names())


def export(run: Union[str, Path, "Run"], format: str, out: Union[str, Path], *, raw: bool = False) -> Path:
    """Write a run's generator for use outside gankit, as `gankit export` does: ``format`` onnx or
    torchscript; inputs z (N, z_dim) from the run's prior [and labels]; returns the file written."""
    from gankit.export import export_generator_file

    folder = run.dir if isinstance(run, Run) else Path(run)
    return export_generator_file(folder, format, Path(out), raw=raw)


def serve(runs_dir: Union[str, Path] = "runs", studies_dir: Union[str, Path] = "studies", *,
          host: str = "127.0.0.1", port: int = 8000, token: Optional[str] = None, no_token: bool = False,
          allow_imports: Sequence[str] = (), max_trainings: Optional[int] = None,
          say: Optional[Say] = None) -> None:
    """The web lab, as `gankit serve` runs it, until Ctrl-C: every request needs ``token`` (or one
    generated per start, printed in the address); ``no_token`` only on loopback; at most
    ``max_trainings`` trainings started from the page run at once (default: the cores)."""
    try:
        import uvicorn  # noqa: F401  (checked here, so a missing one is one line)

        from gankit.web.server import serve as serve_lab
    except ImportError as err:
        raise UserError(f"gankit serve needs starlette and uvicorn ({err.name} is missing): "
                        "pip install 'gankit[web]'") from None
    serve_lab(Path(runs_dir), Path(studies_dir), host=host, port=port, token=token, no_token=no_token,
              allow_imports=tuple(allow_imports), max_trainings=max_trainings, say=say)


class Measurements(list):
    """What :meth:`Run.evaluate` or :func:`evaluate_images` measured: a list of measurements
    (name, value, protocol), shown as `gankit eval`'s table, with the JSON file they were written
    to (None when nothing was written)."""

    def __init__(self, measurements: Sequence, path: Optional[Path]):
        super().__init__(measurements)
        self.path = path

    def as_dict(self) -> dict[str, float]:
        """Values by metric name."""
        return {m.name: m.value for m in self}

    def __repr__(self) -> str:
        from gankit.metrics.evaluate import format_table

        return format_table(list(self))
