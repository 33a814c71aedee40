"""Sampling a trained generator from a run directory, with any latent prior and, for
conditional runs, any class."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from gankit.config import RunConfig, load_run_config
from gankit.data import sample_spec
from gankit.data.sequences import to_data_units
from gankit.engine import EMA_KEY, import_generator, load_weights, read_checkpoint
from gankit.errors import UserError
from gankit.fsutil import atomic_write
from gankit.nets import build_networks, wrap_modules
from gankit.nets.layers import class_rows
from gankit.priors import Prior, parse_prior
from gankit.rundir import RunDir
from gankit.spec import SampleSpec
from gankit.track import save_view


def load_generator(run_dir: Path | RunDir, cfg: Optional[RunConfig] = None, raw: bool = False,
                   module: Optional[torch.nn.Module] = None) -> torch.nn.Module:
    """G of a run, in eval mode: from generator.safetensors (the weight average when the run
    has train.ema), else from its last checkpoint (its average when it has one). ``raw``: the
    trained G itself, not its average, from the last checkpoint. ``module``: for runs trained
    on a ready-made G, a fresh module of its class to load the weights into. ``run_dir`` may be
    a :class:`RunDir`, whose anchor the weights are then read from."""
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    run_dir = run.path
    cfg = cfg or load_run_config(run_dir)
    if module is not None:
        generator, _ = wrap_modules(module, None, cfg.model, sample_spec(cfg.data))
    else:
        generator, _ = build_networks(cfg.model, sample_spec(cfg.data))
    last = run.last_checkpoint
    if run.is_file(run.generator) and not raw:
        load_weights(generator, import_generator(run.generator, run.anchor), str(run.generator))
    elif run.is_file(last):
        payload = read_checkpoint(last, run.anchor)
        key = EMA_KEY if EMA_KEY in payload and not raw else "generator"
        load_weights(generator, payload[key], str(last))
    else:
        where = last.relative_to(run_dir)
        needs = where if raw else f"{run.generator.name} or {where}"
        raise UserError(f"{run_dir} has no trained generator yet ({needs})")
    return generator.eval()


def sample_labels(n: int, num_classes: int, label: Optional[int], run_dir: Path) -> Optional[torch.Tensor]:
    """The classes to generate: all ``label``, or (conditional runs, no label) every class in
    turn, in blocks; None for unconditional runs."""
    if not num_classes:
        if label is not None:
            raise UserError(f"--label {label}: run {run_dir} is not conditional (it was trained without labels)")
        return None
    if label is None:
        return class_rows(n, num_classes)[0][:n]
    if not 0 <= label < num_classes:
        raise UserError(f"--label {label}: run {run_dir} has classes 0 to {num_classes - 1}")
    return torch.full((n,), label, dtype=torch.long)


def sample_inputs(latent: Prior, n: int, z_dim: int, num_classes: int, *, label: Optional[int] = None,
                  seed: int = 0, run_dir: Path = Path(".")) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """What :func:`sample` feeds the generator: ``n`` latent codes (n, z_dim) drawn from
    ``latent`` with a torch generator seeded with ``seed``, and the labels of
    :func:`sample_labels` (None for unconditional runs; ``run_dir`` names the run in errors)."""
    labels = sample_labels(n, num_classes, label, Path(run_dir))
    z = latent.sample(n, z_dim, generator=torch.Generator().manual_seed(seed))
    return z, labels


def sample(run_dir: Path, n: int, *, prior: Optional[str] = None, label: Optional[int] = None,
           seed: int = 0, raw: bool = False,
           module: Optional[torch.nn.Module] = None) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``n`` samples (in model units) from a run's generator, and the labels they were made for.

    Latent codes are drawn from ``prior`` (default: the prior it was trained with); conditional
    runs make class ``label``, or every class in turn when it is None. ``raw``: from the
    trained G rather than its weight average (runs with train.ema). ``module``: see
    :func:`load_generator`.
    """
    if n < 1:
        raise UserError(f"--n must be at least 1 (got {n})")
    cfg = load_run_config(run_dir)
    latent = parse_prior(prior or cfg.train.prior)
    generator = load_generator(run_dir, cfg, raw=raw, module=module)
    z, labels = sample_inputs(latent, n, cfg.model.z_dim, generator.num_classes, label=label, seed=seed,
                              run_dir=Path(run_dir))
    with torch.no_grad():
        return generator(z, labels), labels


def write_samples(run_dir: Path, samples: torch.Tensor, labels: Optional[torch.Tensor],
                  out_png: Optional[Path], out_npy: Optional[Path]) -> None:
    """Write a picture of the samples (a grid with one row per class when conditional, sequence
    plots or a scatter) and/or the raw samples as float32 (N, ...) in the data's units."""
    cfg = load_run_config(run_dir)
    spec: SampleSpec = sample_spec(cfg.data)
    if out_png is not None:
        nrow = None
        if labels is not None and spec.kind == "images":
            nrow = int(torch.bincount(labels).max())
        save_view(spec.kind, samples, Path(out_png), nrow=nrow)
    if out_npy is not None:
        with atomic_write(out_npy, "wb") as handle:
            np.save(handle, in_data_units(cfg, samples).numpy().astype(np.float32))


def in_data_units(cfg: RunConfig, samples: torch.Tensor) -> torch.Tensor:
    """Samples in the data's own units, as `gankit sample --npy` writes them: sequences are
    scaled back from [-1, 1] to data.value_range; images and points are as G makes them."""
    if sample_spec(cfg.data).kind == "sequences":
        return to_data_units(samples, cfg.data.value_range)
    return samples
