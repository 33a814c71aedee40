"""The ``gankit`` command: parses arguments, calls one function, reports user errors in one line."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Optional

import click

from gankit.errors import EXIT_INTERRUPTED, EXIT_USER_ERROR, UserError, machine_error


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """gankit: train, sample and inspect generative adversarial networks."""


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
@click.option("--name", help="Name of the run directory (default: the preset's name, made unique).")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              show_default=True, help="Folder that holds the run directories.")
@click.option("--resume", type=click.Path(path_type=Path), help="Continue the run in this directory.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
@click.option("--config-fd", type=click.IntRange(min=3), hidden=True,
              help="Read the whole validated config as JSON from this inherited file descriptor (gankit serve "
                   "starts its trainings so: what it checked is what trains).")
def train(args: tuple[str, ...], name: Optional[str], runs_dir: Path, resume: Optional[Path],
          progress: Optional[bool], config_fd: Optional[int]) -> None:
    """Train a GAN: gankit train [PRESET|FILE.yaml] [key.sub=value ...]

    With no preset, trains the embedded default (scikit-learn's digits, offline, minutes on a CPU).
    Overrides set any config key, e.g. train.steps=600 optim.g.lr=1e-4.
    """
    from gankit import api

    overrides = [a for a in args if "=" in a]
    positional = [a for a in args if "=" not in a]
    if len(positional) > 1 or (resume and positional):
        raise UserError(f"unexpected argument '{positional[-1]}': give one preset, then key=value overrides")
    config = _config_from_fd(config_fd) if config_fd is not None else None
    run = api.train(positional[0] if positional else None, overrides, name=name, runs_dir=runs_dir,
                    resume=resume, progress=progress, config=config, say=_say)
    if run.stopped_at is not None:
        sys.exit(EXIT_INTERRUPTED)
    if run.wrote:
        click.echo(str(run.dir))


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--n", "count", type=int, default=64, show_default=True, help="Number of samples.")
@click.option("--prior", help='Latent prior, e.g. "normal(-10,1)" (default: the training prior).')
@click.option("--label", type=int, help="Class to generate (conditional runs).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent draw.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("samples.png"),
              show_default=True, help="Picture to write: an image grid, sequence plots or a scatter.")
@click.option("--npy", type=click.Path(dir_okay=False, path_type=Path), help="Also write the raw samples (N, ...) here, as float32 .npy.")
@click.option("--raw", is_flag=True, help="Runs with train.ema: sample the trained G, not its weight average.")
def sample(run: Path, count: int, prior: Optional[str], label: Optional[int], seed: int, out: Path,
           npy: Optional[Path], raw: bool) -> None:
    """Sample a trained generator: gankit sample RUN --n 64 --prior "normal(-10,1)" -o out.png"""
    from gankit import api

    api.load(run).save_samples(out, count, npy=npy, prior=prior, label=label, seed=seed, raw=raw)
    click.echo(str(out))


@cli.command(name="eval")
@click.argument("run", type=click.Path(path_type=Path), required=False)
@click.option("--samples", type=click.IntRange(min=2), help="Generated samples (default: each metric's protocol).")
@click.option("--inception", is_flag=True, help="Also FID, KID, IS and precision/recall (torch-fidelity).")
@click.option("--inception-weights", type=click.Path(dir_okay=False), help="Local Inception-v3 weights file (offline).")
@click.option("--images", type=click.Path(path_type=Path),
              help="Measure these images instead of a run's: a folder, a zip, or an .npy (uint8, or floats in [-1, 1]).")
@click.option("--against", type=click.Path(path_type=Path), help="With --images: the folder (or zip) of real images.")
@click.option("--size", type=click.IntRange(min=4, max=1024), default=64, show_default=True,
              help="With --images: the side both sets are decoded at.")
def evaluate(run: Optional[Path], samples: Optional[int], inception: bool, inception_weights: Optional[str],
             images: Optional[Path], against: Optional[Path], size: int) -> None:
    """Measure a run's generator: gankit eval RUN [--samples N] [--inception --inception-weights FILE]

    Prints a table (each number with how it was measured) and writes RUN/eval/step_NNNNNN.json.
    Images made anywhere (a folder, a zip, an .npy) are measured the same way against real ones:
    gankit eval --images DIR --against REAL_DIR.
    """
    from gankit import api

    if images is not None or against is not None:
        if run is not None or images is None or against is None or inception:
            raise UserError("measure either a run (gankit eval RUN) or images: gankit eval --images PATH --against "
                            "FOLDER (gankit's image measure; no --inception)")
        click.echo(repr(api.evaluate_images(images, against, samples=samples, size=size)))
        return
    if run is None:
        raise UserError("name a run (gankit eval RUN), or images to measure (gankit eval --images PATH --against FOLDER)")
    measurements = api.load(run).evaluate(samples=samples, inception=inception, inception_weights=inception_weights,
                                          say=_say)
    click.echo(repr(measurements))
    click.echo(f"written: {measurements.path}", err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: RUN/report.html, STUDY_DIR/report.html, or ./report.html for several runs).")
def report(paths: tuple[Path, ...], out: Optional[Path]) -> None:
    """One self-contained HTML page: gankit report RUN|STUDY_DIR [RUN ...] [-o FILE.html]

    One run: curves, loss table, grids under a slider, metrics, config. Several runs: side by
    side under one slider. A study: verdicts, the table of arms, curves by arm, figures, runs.
    """
    from gankit import api

    click.echo(str(api.report(paths, out)))


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Study directory (default: studies/NAME); run the same command again to continue it.")
@click.option("--seeds", type=int, help="Seeds per arm (0 .. N-1; default: the study's).")
@click.option("--steps", type=int, help="Training steps of every run (default: the study's).")
@click.option("--jobs", type=int, default=1, show_default=True, help="Trainings at once; the cores are divided between them.")
@click.option("--cores", type=int, help="Cores to divide between the jobs (default: all this process may use).")
@click.option("--executor", default="local", show_default=True,
              help="local, submitit-local (submitit on this machine) or slurm (submitit on a Slurm cluster).")
@click.option("--slurm", "slurm", multiple=True, metavar="KEY=VALUE",
              help="submitit parameter for the cluster jobs, e.g. slurm_partition=gpu, gpus_per_node=1, timeout_min=120.")
@click.option("--prior", "priors", multiple=True, help='Sampling studies: a prior to sample, e.g. "normal(-10,1)" (repeat).')
@click.option("--until-settled", is_flag=True,
              help="Add seeds in rounds (as many as the study starts with) until every claim is settled.")
@click.option("--max-seeds", type=int, help="The cap on seeds per arm when settling (default 15; implies --until-settled).")
def study(args: tuple[str, ...], out: Optional[Path], seeds: Optional[int], steps: Optional[int], jobs: int,
          cores: Optional[int], executor: str, slurm: tuple[str, ...], priors: tuple[str, ...], until_settled: bool,
          max_seeds: Optional[int]) -> None:
    """Run a study: gankit study NAME|FILE.yaml [RUN ...] [key=value ...]

    Trains every arm x seed of the study as an ordinary run under OUT/runs, measures each, judges
    the study's claims over the seeds and writes OUT/summary.json and OUT/report.html. Started
    again, it skips finished runs and resumes interrupted ones. --until-settled judges the claims
    after each round of seeds (the level spent over the rounds) and adds seeds while any is open.
    key=value sets a study key
    (base=conv1d-sines) or a config key of every arm (train.log_every=10). `gankit studies` lists them.
    """
    from gankit import api
    from gankit.config import parse_override
    from gankit.errors import StudyStopped

    name, rest = args[0], args[1:]
    overrides = [a for a in rest if "=" in a]
    runs = [Path(a) for a in rest if "=" not in a]
    parameters = {}
    for text in slurm:
        key, value = parse_override(text)
        parameters[".".join(key)] = value
    given = {"--out": out, "--seeds": seeds, "--steps": steps, "--jobs": jobs if jobs != 1 else None,
             "--cores": cores, "--executor": executor if executor != "local" else None, "--max-seeds": max_seeds}
    command = shlex.join(["gankit", "study", *args] + [str(part) for option, value in given.items()
                                                         if value is not None for part in (option, value)]
                         + [part for text in slurm for part in ("--slurm", text)]
                         + [part for prior in priors for part in ("--prior", prior)]
                         + (["--until-settled"] if until_settled else []))
    try:
        result = api.study(name, runs, overrides, out=out, seeds=seeds, steps=steps, jobs=jobs, cores=cores,
                           executor=executor, slurm=parameters, priors=priors, until_settled=until_settled,
                           max_seeds=max_seeds, say=_say)
    except StudyStopped:
        click.echo(f"gankit: study stopped; every training wrote its checkpoint. Continue with: {command}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    click.echo(result.table())
    click.echo(f"summary: {result.summary_path}", err=True)
    if result.report is not None:
        click.echo(f"report: {result.report}", err=True)


@cli.command()
def studies() -> None:
    """List the studies that ship with gankit, with the question each answers."""
    from gankit import api

    for name, question in api.studies().items():
        click.echo(f"{name:<16} {question}")


@cli.command()
def presets() -> None:
    """List the presets that ship with gankit."""
    from gankit import api

    for preset in api.presets():
        click.echo(preset)


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), required=True,
              help="onnx (needs the onnx and onnxscript packages) or torchscript (torch.jit.load).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write, e.g. generator.onnx or generator.pt.")
@click.option("--raw", is_flag=True, help="Runs with train.ema: export the trained G, not its weight average.")
def export(run: Path, fmt: str, out: Path, raw: bool) -> None:
    """Write a run's generator for use outside gankit: gankit export RUN --format onnx -o G.onnx

    Inputs: z (N, z_dim) float32 drawn from the run's prior [and labels (N,) int64 for
    conditional runs]; output: samples (N, ...) in model units, as `gankit sample` makes them.
    """
    from gankit import api

    click.echo(str(api.export(run, fmt, out, raw=raw)))


@cli.command()
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              show_default=True, help="Folder of the run directories shown (and where new runs go).")
@click.option("--studies-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("studies"),
              show_default=True, help="Folder of the study directories shown.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Loopback is not private on a shared machine: every account reaches it.")
@click.option("--token", envvar="GANKIT_TOKEN", show_envvar=True,
              help="The token every request must carry (default: a new random one each start, printed in the "
                   "address). The variable keeps it out of `ps`, which every account can read.")
@click.option("--no-token", is_flag=True,
              help="No token: only on loopback of a machine nobody else logs in to (every account could use the lab).")
@click.option("--allow-import", "allow_imports", multiple=True, metavar="PACKAGE",
              help="Let runs started or sampled here use model.arch=PACKAGE.module:Family (repeat for more).")
@click.option("--max-trainings", type=click.IntRange(min=1),
              help="Trainings started from the page that may run at once (default: the cores); more get a 429.")
def serve(runs_dir: Path, studies_dir: Path, port: int, host: str, token: Optional[str], no_token: bool,
          allow_imports: tuple[str, ...], max_trainings: Optional[int]) -> None:
    """A local web lab: gankit serve [--runs-dir runs] [--studies-dir studies] [--port 8000]

    Lists the runs and studies (also those trained from a terminal) with live curves, samples
    any generator under any prior, starts, stops and resumes trainings (each a `gankit train`
    process), and trains 2-D toy GANs step by step. Prints its address with the token; opens nothing.
    """
    from gankit import api

    source = click.get_current_context().get_parameter_source("token")
    if token is not None and source == click.core.ParameterSource.COMMANDLINE:
        _say("note: a --token on the command line is visible to every account (ps); GANKIT_TOKEN is not")
    api.serve(runs_dir, studies_dir, host=host, port=port, token=token, no_token=no_token,
              allow_imports=allow_imports, max_trainings=max_trainings, say=click.echo)


def _config_from_fd(fd: int):
    """The RunConfig written as JSON to the inherited descriptor ``fd`` (read once, then closed)."""
    import json
    import os

    from gankit.config import validate

    try:
        with os.fdopen(fd, "rb") as handle:
            data = json.loads(handle.read())
    except (OSError, ValueError, RecursionError) as err:
        raise UserError(f"--config-fd {fd}: no readable config ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"--config-fd {fd}: the config must be a JSON object")
    return validate(data)


def _say(text: str) -> None:
    click.echo(f"gankit: {text}", err=True)


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: run the command; a user error becomes one line on stderr and exit code 2, a
    machine's refusal (disk full, no permission, ...) exit code 3, a diverged training 4."""
    try:
        cli.main(args=argv, prog_name="gankit", standalone_mode=False)
    except UserError as err:
        click.echo(f"gankit: error: {err}", err=True)
        sys.exit(err.exit_code)
    except OSError as err:  # the machine refused something no narrower handler named
        failure = machine_error(err, "use")
        click.echo(f"gankit: error: {failure}", err=True)
        sys.exit(failure.exit_code)
    except click.ClickException as err:
        click.echo(f"gankit: error: {err.format_message()}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("gankit: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
