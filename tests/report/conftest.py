"""Tiny real runs and a fake study directory (per the summary.json contract) for the report tests."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main

TINY = ["train.steps=4", "train.log_every=1", "train.sample_steps=[0,1,2,3]", "train.batch_size=16", "--no-progress"]
RUNS = {  # name -> overrides
    "plain": [],
    "wgan": ["train.loss=wasserstein", "regularize.clip=0.01"],
    "seed1": ["seed=1"],
}


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its bytes (but the lock's, which says who last
    wrote there)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def train(runs_dir: Path, name: str, overrides: list[str]) -> Path:
    """Train one tiny run of the embedded default in-process, as the `gankit` fixture does."""
    try:
        main(["train", *TINY, *overrides, "--name", name, "--runs-dir", str(runs_dir)])
    except SystemExit as exit_:
        assert exit_.code in (0, None), f"training {name} failed with {exit_.code}"
    return runs_dir / name


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> dict[str, Path]:
    """Three finished 4-step runs with grids at steps 0..4: plain BCE, WGAN with clipping, another seed."""
    root = tmp_path_factory.mktemp("runs")
    return {name: train(root, name, overrides) for name, overrides in RUNS.items()}


def write_png(path: Path, seed: int, size: tuple[int, int] = (96, 64)) -> None:
    """A small random RGB picture."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def decorate(run: Path) -> None:
    """Give a copied run what evaluation and newer loops add: eval files, eval_* values, NaN and null gaps."""
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for record in lines:
        record["g_grad_norm"] = 1.0 + record["step"]
        record["d_grad_norm"] = 2.0 + record["step"]
    lines[1]["g_loss"] = math.nan
    lines[2]["d_real"] = None
    lines[3]["d_fake"] = math.inf
    lines[2]["eval_domain_fd"], lines[4]["eval_domain_fd"] = 12.5, 7.25
    lines[4]["eval_class_kl"] = 0.125
    protocol = {"domain_fd": "Fréchet distance, 100 samples", "class_kl": "KL to uniform, 100 samples"}
    lines[2]["eval_protocol"] = lines[4]["eval_protocol"] = protocol
    text = "\n".join(json.dumps(r) for r in lines) + "\n"  # json.dumps writes NaN and Infinity tokens
    (run / "metrics.jsonl").write_text(text + '{"step": 5, "d_real": 0.5, "trunc')
    (run / "eval").mkdir()
    (run / "eval" / "step_000004.json").write_text(json.dumps({"run": run.name, "step": 4, "measurements": [
        {"name": "domain_fd", "value": 7.25, "protocol": "domain classifier features, 100 samples", "out_of": None},
        {"name": "modes", "value": 7, "protocol": "ring8 protocol, 2500 samples", "out_of": 8}]}))


@pytest.fixture(scope="session")
def decorated_run(tiny_runs, tmp_path_factory) -> Path:
    """A copy of the plain run with eval results, gradient norms, NaN/Infinity/null values and a cut-off line."""
    run = tmp_path_factory.mktemp("decorated") / "evaluated"
    shutil.copytree(tiny_runs["plain"], run)
    (run / "report.html").unlink(missing_ok=True)
    decorate(run)
    return run


ARMS = [
    {"name": "bce", "label": "BCE loss", "overrides": ["train.loss=bce"], "group": "digits"},
    {"name": "wgan", "label": "WGAN with clipping", "overrides": ["train.loss=wasserstein", "regularize.clip=0.01"],
     "group": "digits"},
    {"name": "resampled", "label": "BCE, resampled", "overrides": ["sample.prior=uniform(-1,1)"], "group": "other"},
]
METRICS = [
    {"key": "convergence_step", "label": "convergence", "unit": "steps", "better": "lower",
     "protocol": "first step after which G loss stays within 10% of its final value"},
    {"key": "final_g_loss", "label": "final G loss", "unit": "nats", "better": None, "protocol": ""},
    {"key": "score", "label": "score", "unit": "", "better": "higher", "protocol": "a made-up score"},
]
TABLE = [
    {"arm": "bce", "values": {"convergence_step": {"mean": 350.0, "std": 40.0, "min": 300.0, "max": 400.0, "n": 2},
                              "final_g_loss": {"mean": 0.6542, "std": 0.0123, "min": 0.64, "max": 0.67, "n": 2},
                              "score": {"mean": 0.25, "std": 0.05, "min": 0.2, "max": 0.3, "n": 2}}},
    {"arm": "wgan", "values": {"convergence_step": {"mean": 275.5, "std": None, "min": 275.5, "max": 275.5, "n": 1},
                               "final_g_loss": None,
                               "score": {"mean": 0.75, "std": None, "min": 0.75, "max": 0.75, "n": 1}}},
    {"arm": "resampled", "values": {"convergence_step": {"mean": None, "std": None, "min": None, "max": None, "n": 0},
                                    "final_g_loss": {"mean": 1.5, "std": 0.0, "min": 1.5, "max": 1.5, "n": 1},
                                    "score": {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5, "n": 1}}},
]


def summary(runs: dict[str, str]) -> dict:
    """A summary.json (format 1) naming the study's runs (run name -> arm)."""
    return {
        "format": 1, "study": "losses", "title": "BCE against WGAN on digits",
        "question": "Which loss converges faster on the embedded digits?",
        "description": "A fake study for the tests.\n\nIts second paragraph & <b>markup</b> stay text.",
        "base": "digits", "steps": 4, "seeds": [0, 1], "arms": ARMS, "metrics": METRICS,
        "runs": [{"name": name, "arm": arm, "seed": 1 if name.endswith("s1") else 0, "dir": f"runs/{name}",
                  "status": "finished", "step": 4,
                  "values": {"convergence_step": 300.0 + i, "final_g_loss": None, "score": 0.5}}
                 for i, (name, arm) in enumerate(runs.items())]
                + [{"name": "bce-s0", "arm": "resampled", "seed": 0, "dir": "runs/bce-s0", "status": "finished",
                    "step": 4, "values": {"convergence_step": None, "final_g_loss": 1.5, "score": 0.5}}],
        "table": TABLE,
        "verdicts": [
            {"claim": "WGAN converges faster", "verdict": "supported", "evidence": "275.5 against 350 steps."},
            {"claim": "BCE scores higher", "verdict": "contradicted", "evidence": "0.25 against 0.75."},
            {"claim": "resampling changes nothing", "verdict": "inconclusive", "evidence": "one seed only."}],
        "curves": ["d_real", "g_loss", "d_x"],
        "figures": [{"path": "figures/codes.png", "title": "Where the codes lie", "caption": "A random picture."}],
        "samples": [{"arm": "bce", "path": "figures/samples-bce.png", "caption": "BCE samples."},
                    {"arm": "wgan", "path": "figures/samples-wgan.png", "caption": "WGAN samples."}],
    }


def make_study(folder: Path, tiny_runs: dict[str, Path]) -> Path:
    """A study directory: study.yaml, summary.json, figures/ and runs/ copied from the tiny runs."""
    members = {"bce-s0": ("bce", tiny_runs["plain"]), "bce-s1": ("bce", tiny_runs["seed1"]),
               "wgan-s0": ("wgan", tiny_runs["wgan"])}
    for name, (_, source) in members.items():
        shutil.copytree(source, folder / "runs" / name)
        (folder / "runs" / name / "report.html").unlink(missing_ok=True)
    for i, name in enumerate(["codes", "samples-bce", "samples-wgan"]):
        write_png(folder / "figures" / f"{name}.png", i)
    (folder / "study.yaml").write_text("study: losses\nbase: digits\nsteps: 4\nseeds: [0, 1]\n")
    (folder / "summary.json").write_text(json.dumps(summary({n: arm for n, (arm, _) in members.items()}), indent=2))
    return folder


@pytest.fixture(scope="session")
def study_dir(tiny_runs, tmp_path_factory) -> Path:
    """The fake study (do not modify it; copy it first)."""
    return make_study(tmp_path_factory.mktemp("study") / "losses", tiny_runs)
