"""``gankit study``: plan a study's runs, train what is missing, measure, judge, report.

Every step reads and writes only the study directory:

    DIR/study.yaml        the study as it was run (its file, with --steps, --seeds and overrides)
    DIR/plans/<run>.yaml  what each run is trained from
    DIR/runs/<run>/       ordinary run directories (gankit report, sample, eval and TensorBoard work on them)
    DIR/logs/<run>.log    each training's console output
    DIR/figures/          pictures the study draws (latent-shift: samples per prior, codes, G's first layer)
    DIR/summary.json      the table over seeds and the verdicts
    DIR/report.html       the page
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence


from gankit.config import names_a_file, parse_override
from gankit.errors import EXIT_DIVERGED, EXIT_INTERRUPTED, StudyStopped, UserError
from gankit.fsutil import atomic_write_text, make_folder
from gankit.rundir import RunDir, StudyDir, StudyRun
from gankit.rundir.lock import DirectoryLock, is_locked
from gankit.studies import plan as planning
from gankit.studies.executors import Job, make_executor
from gankit.studies.measures import Measurer, Metric, RunView, metric_info
from gankit.studies.study_file import StudySpec, dump_study, load_study, validate_study
from gankit.studies.summary import build_summary, open_claims, write_summary

Say = Callable[[str], None]


@dataclass
class StudyOptions:
    """How to run a study: where, how big, how many at once, on what."""

    out: Optional[Path] = None  # default: studies/<name>
    seeds: Optional[int] = None
    steps: Optional[int] = None
    jobs: int = 1
    cores: Optional[int] = None  # cores to divide between the jobs (default: all available)
    executor: str = "local"
    slurm: dict = field(default_factory=dict)
    overrides: Sequence[str] = ()  # study keys (base=...) or config overrides for every arm
    priors: Sequence[str] = ()  # sampling studies: replace the priors sampled
    until_settled: bool = False  # add seeds in rounds until every claim is settled
    max_seeds: Optional[int] = None  # the cap on seeds when settling (implies until_settled)
    report: bool = True


@dataclass
class StudyResult:
    """What a finished study leaves: its directory, summary and report."""

    study_dir: Path
    summary: dict[str, Any]
    report: Optional[Path]

    @property
    def summary_path(self) -> Path:
        """The summary.json the study wrote."""
        return StudyDir(self.study_dir).summary

    def table(self) -> str:
        """The table of arms and the verdicts as plain text, as `gankit study` prints them."""
        from gankit.studies.summary import format_summary

        return format_summary(self.summary)


def _prior_slug(prior: str) -> str:
    keep = "".join(c if c.isalnum() or c in ".-" else "_" for c in prior.lower()).strip("_")
    return keep.replace("__", "_") or "prior"


def resolve_spec(study: str, options: StudyOptions) -> tuple[StudySpec, Optional[Path]]:
    """The study file with the command line's changes applied, validated."""
    spec = load_study(study)
    study_file = Path(study).expanduser().resolve() if names_a_file(study) else None
    data = spec.to_dict()
    study_keys = set(StudySpec.model_fields) - {"arms", "sample", "claims", "set", "measure", "curves"}
    for text in options.overrides:
        path, value = parse_override(text)
        if len(path) == 1 and path[0] in study_keys:
            data[path[0]] = value
        else:
            data.setdefault("set", {})[".".join(path)] = value
    if options.seeds is not None:
        if options.seeds < 1:
            raise UserError(f"--seeds must be at least 1 (got {options.seeds})")
        data["seeds"] = list(range(options.seeds))
    if options.steps is not None:
        if options.steps < 1:
            raise UserError(f"--steps must be at least 1 (got {options.steps})")
        data["steps"] = options.steps
    if options.until_settled or options.max_seeds is not None:
        if not data.get("claims"):
            raise UserError(f"--until-settled: study {spec.name} makes no claims to settle")
        settle = dict(data.get("settle") or {})
        if options.max_seeds is not None:
            settle["max_seeds"] = options.max_seeds
        data["settle"] = settle
    if options.priors:
        if not data.get("sample"):
            raise UserError(f"--prior: study {spec.name} does not sample from priors")
        data["sample"] = [{"name": _prior_slug(p), "prior": p} for p in options.priors]
        data["claims"] = [c for c in data.get("claims", [])
                          if {c["arm"], c.get("other")} - {None} <= {_prior_slug(p) for p in options.priors}]
    return validate_study(data, f"study {spec.name}"), study_file


def _train_missing(spec: StudySpec, plans: list[planning.RunPlan], study_dir: Path, executor, jobs: int,
                   say: Say) -> None:
    """Train the planned runs not finished yet: skip finished ones, resume the rest."""
    queue, done = [], 0
    for plan in plans:
        run = planning.run_dir(study_dir, plan)
        state = planning.run_state(run, plan.steps)
        if state in (planning.State.FINISHED, planning.State.DIVERGED):
            done += 1
            continue
        holder = is_locked(run)
        if holder is not None:
            raise UserError(f"run {run} is in use: {holder} is writing it; wait for it to end or stop it first")
        path = planning.write_plan(study_dir, plan)
        if state is planning.State.NEW:
            argv = ["train", str(path), "--name", plan.name, "--runs-dir", str(StudyDir(study_dir).runs)]
        else:
            argv = ["train", "--resume", str(run), f"train.steps={plan.steps}"]
        queue.append(Job(plan.name, argv + ["--no-progress"], StudyDir(study_dir).log(plan.name)))
    say(f"study {spec.name}: {len(plans)} runs ({len(spec.arms)} arms x {len(spec.seeds)} seeds), "
        f"{done} finished, {len(queue)} to train" + (f", {jobs} at a time" if queue else ""))
    if queue:
        outcomes = executor.run(queue, lambda line: say(f"  {line}"))
        stopped = [o for o in outcomes if o.code == EXIT_INTERRUPTED]
        failed = [o for o in outcomes if o.code not in (0, EXIT_INTERRUPTED, EXIT_DIVERGED)]
        if stopped:
            raise StudyStopped()
        if failed:
            names = ", ".join(f"{o.job.name} ({o.detail or f'exit {o.code}'})" for o in failed)
            raise UserError(f"{len(failed)} run(s) failed: {names}; logs in {StudyDir(study_dir).logs}")


@dataclass(frozen=True)
class Unit:
    """A run the study measures: its name, training arm, seed (or position) and directory."""

    name: str
    arm: str
    seed: int
    path: Path


def _given_runs(spec: StudySpec, runs: Sequence[Path]) -> list[Unit]:
    """Runs named on the command line (sampling studies only), numbered in the order given."""
    if not spec.sample:
        raise UserError(f"study {spec.name} trains its own runs; give no run directories")
    from gankit.config import load_run_config

    given = []
    for index, run in enumerate(map(Path, runs)):
        load_run_config(run)
        if not RunDir(run).has_weights():
            raise UserError(f"{run} has no trained generator yet")
        given.append(Unit(run.name, spec.arms[0].name, index, run))
    return given


def _relative(path: Path, study_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(study_dir.resolve()))
    except ValueError:
        return str(path.resolve())


class RunMeasurer:
    """Each run measured once per command (under each sampling arm), however many rounds read it."""

    def __init__(self, spec: StudySpec, study_dir: Path, say: Say):
        self.spec, self.study_dir, self.say = spec, study_dir, say
        self.measurer = Measurer(progress=say)
        self.rows: dict[str, list[StudyRun]] = {}

    def __call__(self, units: list[Unit]) -> tuple[list[StudyRun], dict[str, Metric]]:
        """The rows of ``units`` and what each value is."""
        new = [unit for unit in units if unit.name not in self.rows]
        if new:
            self.say(f"measuring {len(new)} run(s): {', '.join(self.spec.measure)}")
        for unit in new:
            self.rows[unit.name] = self._measure(unit)
            self.say(f"  {unit.name}: measured")
        measured = [row for unit in units for row in self.rows[unit.name]]
        keys = list(dict.fromkeys(k for m in measured for k in m.values))
        return measured, {k: metric_info(k, self.measurer.protocols) for k in keys}

    def _measure(self, unit: Unit) -> list[StudyRun]:
        ways = [(arm.name, arm.prior) for arm in self.spec.sample] or [(unit.arm, None)]
        diverged = planning.diverged_at(unit.path) is not None
        rows = []
        for arm, prior in ways:
            view = RunView(unit.path, prior=prior)
            values = {} if diverged else self.measurer.measure(self.spec.measure, view)
            rows.append(StudyRun(unit.name, arm, unit.seed, _relative(unit.path, self.study_dir),
                                 *_status(unit.path, view), values))
        return rows


def _status(run: Path, view: RunView) -> tuple[str, Optional[int]]:
    from gankit.engine import checkpoint_step

    diverged = planning.diverged_at(run)
    if diverged is not None:
        return "diverged", diverged
    step = RunDir(run).exported_step()
    if step is None:
        step = checkpoint_step(run)
    finished = step is not None and step >= view.cfg.train.steps
    return ("finished" if finished else "in progress"), step


def _latent_figures(spec: StudySpec, units: list[Unit], study_dir: Path) -> tuple[list[dict], list[dict]]:
    """Sampling studies: the first run's samples per prior, and where the codes lie and what
    they do to G's first layer."""
    from gankit.data import sample_spec
    from gankit.metrics.evaluate import generate_samples
    from gankit.studies.latent import draw_codes_figure, draw_first_layer_figure
    from gankit.track import save_view

    name, view = units[0].name, RunView(units[0].path)
    cfg, generator = view.cfg, view.generator
    priors = [(arm.shown, arm.prior) for arm in spec.sample]
    folder = StudyDir(study_dir).figures
    samples = []
    for arm in spec.sample:
        count = 64 if sample_spec(cfg.data).kind != "points" else 1000
        drawn, labels = generate_samples(generator, cfg, count, prior=arm.prior)
        path = folder / f"samples-{arm.name}.png"
        nrow = generator.num_classes or None
        save_view(sample_spec(cfg.data).kind, drawn, path, nrow=nrow)
        samples.append({"arm": arm.name, "path": f"{folder.name}/{path.name}",
                        "caption": f"{name} sampled from {arm.prior}"})
    figures = [
        {"path": f"{folder.name}/codes.png", "title": "Where each prior's codes lie",
         "caption": "Distance of each code from the training prior's mean; the grey band holds 99% of the "
                    "training prior's own codes. Codes outside it are inputs G never saw."},
        {"path": f"{folder.name}/first-layer.png", "title": "What the codes do to G's first layer",
         "caption": f"Pre-activations of G's first nonlinearity ({name}); a shifted prior moves them far from "
                    "where G was trained (units stuck on or off), a narrow one squeezes them together."},
    ]
    draw_codes_figure(cfg, priors, folder / "codes.png")
    draw_first_layer_figure(generator, cfg, priors, folder / "first-layer.png")
    return figures, samples


def run_study(study: str, runs: Sequence[Path] = (), options: Optional[StudyOptions] = None,
              say: Optional[Say] = None) -> StudyResult:
    """Run the study ``study`` (a built-in name or a study file) end to end and return its summary.

    Trains every arm x seed not yet finished in the study directory (or, for a sampling study,
    takes ``runs`` when given), measures each run, judges the claims, writes summary.json and
    the report. Raises StudyStopped when interrupted (the trainings wrote their checkpoints).
    """
    options = options or StudyOptions()
    say = say or (lambda text: None)
    spec, study_file = resolve_spec(study, options)
    study_dir = Path(options.out or Path("studies") / spec.name)
    if study_dir.exists() and not study_dir.is_dir():
        raise UserError(f"--out {study_dir} is a file, not a folder")
    if runs:
        if spec.settle is not None:
            raise UserError("--until-settled adds seeds by training runs; it cannot settle given runs")
        units = _given_runs(spec, runs)
    else:
        executor = make_executor(options.executor, options.jobs, options.cores, StudyDir(study_dir).submitit,
                                 options.slurm)
        rounds = _Rounds(spec, study_file, study_dir)
        rounds.plans(rounds.looks.most)  # every round's plans are checked before anything trains
    make_folder(study_dir)
    with DirectoryLock(study_dir, "study"):
        atomic_write_text(StudyDir(study_dir).spec, dump_study(spec))
        measure = RunMeasurer(spec, study_dir, say)
        if runs:
            measured, metrics = measure(units)
            summary = build_summary(spec, measured, metrics)
        else:
            units, summary = rounds.settle(executor, options.jobs, measure, say)
        if spec.sample:
            summary = build_summary(spec, *measure(units), *_latent_figures(spec, units, study_dir))
        write_summary(study_dir, summary)
        report = None
        if options.report:
            from gankit.report import build_report

            report = build_report([study_dir])
    return StudyResult(study_dir, summary, report)


class _Rounds:
    """A study's runs round by round: the first seeds, then (settling) more until the claims are
    settled or the cap is reached. One round without settling."""

    def __init__(self, spec: StudySpec, study_file: Optional[Path], study_dir: Path):
        self.spec, self.study_file, self.study_dir = spec, study_file, study_dir
        self.looks = spec.looks(len(spec.seeds))

    def plans(self, seeds: int) -> list[planning.RunPlan]:
        """The plans of the first ``seeds`` seeds, checked against the runs already there."""
        plans = planning.plan_runs(self.round_spec(seeds), self.study_file)
        for plan in plans:
            planning.check_compatible(self.study_dir, plan)
        return plans

    def round_spec(self, seeds: int) -> StudySpec:
        """The study with its first ``seeds`` seeds."""
        return self.spec.model_copy(update={"seeds": self.spec.seed_list(seeds)})

    def settle(self, executor, jobs: int, measure: RunMeasurer, say: Say) -> tuple[list[Unit], dict[str, Any]]:
        """Train, measure and judge look after look; returns the runs judged and the summary."""
        for look in range(1, self.looks.count + 1):
            seeds = self.looks.seeds_at(look)
            plans = self.plans(seeds)
            _train_missing(self.round_spec(seeds), plans, self.study_dir, executor, jobs, say)
            units = [Unit(p.name, p.arm.name, p.seed, planning.run_dir(self.study_dir, p)) for p in plans]
            summary = build_summary(self.spec, *measure(units))
            still_open = open_claims(summary)
            if self.spec.settle is None:
                return units, summary
            if not still_open:
                say(f"every claim settled with {seeds} seeds")
                return units, summary
            if look < self.looks.count:
                say(f"{len(still_open)} claim(s) open with {seeds} seeds; adding "
                    f"{self.looks.seeds_at(look + 1) - seeds} more")
        say(f"{len(still_open)} claim(s) still open at the cap of {seeds} seeds: " + "; ".join(still_open))
        return units, summary
