"""Sampling a trained generator from a run directory, with any latent prior."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from gankit.config import RunConfig, load_run_config
from gankit.engine.checkpoint import GENERATOR_FILE, LAST, import_generator, load_weights, read_checkpoint
from gankit.errors import UserError
from gankit.fsutil import atomic_write
from gankit.nets import build_networks
from gankit.priors import parse_prior
from gankit.track import save_grid


def load_generator(run_dir: Path, cfg: Optional[RunConfig] = None) -> torch.nn.Module:
    """G of a run, from generator.safetensors, else from its last checkpoint; in eval mode."""
    run_dir = Path(run_dir)
    cfg = cfg or load_run_config(run_dir)
    generator, _ = build_networks(cfg.model, cfg.data.channels, cfg.data.image_size)
    weights_file = run_dir / GENERATOR_FILE
    if weights_file.is_file():
        load_weights(generator, import_generator(weights_file), str(weights_file))
    elif (run_dir / LAST).is_file():
        load_weights(generator, read_checkpoint(run_dir / LAST)["generator"], str(run_dir / LAST))
    else:
        raise UserError(f"{run_dir} has no trained generator yet ({GENERATOR_FILE} or {LAST})")
    return generator.eval()


def sample(run_dir: Path, n: int, *, prior: Optional[str] = None, label: Optional[int] = None,
           seed: int = 0) -> torch.Tensor:
    """``n`` images in [-1, 1] from a run's generator, latent codes drawn from ``prior``
    (default: the prior it was trained with)."""
    if n < 1:
        raise UserError(f"--n must be at least 1 (got {n})")
    cfg = load_run_config(run_dir)
    if label is not None:
        raise UserError(f"--label {label}: run {run_dir} is not conditional (it was trained without labels)")
    latent = parse_prior(prior or cfg.train.prior)
    generator = load_generator(run_dir, cfg)
    z = latent.sample(n, cfg.model.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return generator(z)


def write_samples(images: torch.Tensor, out_png: Optional[Path], out_npy: Optional[Path]) -> None:
    """Write a grid PNG and/or the raw samples as a float32 array of shape (N, C, H, W)."""
    if out_png is not None:
        save_grid(images, Path(out_png))
    if out_npy is not None:
        with atomic_write(out_npy, "wb") as handle:
            np.save(handle, images.numpy().astype(np.float32))
