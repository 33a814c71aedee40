"""Why a generator fails on a prior it never saw: where the codes lie, what G's first layer does.

G learned its first layer for codes from the training prior. Codes from another prior can lie
far from all of them (N(-10,1) for a G trained on N(0,1): its codes' mean is 10 standard
deviations per coordinate away), or bunch together in a corner (U(0,1): every coordinate
positive, a spread of 0.29). The first layer turns an offset into a constant push on every
unit (units stuck on or off, outputs saturated) and a small spread into small differences
between samples (samples alike). These functions measure both, and draw them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from gankit.config import RunConfig
from gankit.data import sample_spec
from gankit.priors import Prior, parse_prior

CODE_SAMPLES = 2000
TRAINING_DRAWS = 10000
TYPICAL_QUANTILES = (0.005, 0.995)
STUCK_SHARE = 0.99
SATURATION = 0.99
CODE_SEED = 4242
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid)


def draw(prior: Prior, n: int, dim: int, seed: int = CODE_SEED) -> torch.Tensor:
    """``n`` codes of ``prior`` with a fixed seed."""
    return prior.sample(n, dim, generator=torch.Generator().manual_seed(seed))


def distances_from_training_mean(codes: torch.Tensor, training: Prior) -> torch.Tensor:
    """Each code's distance from the training prior's mean, in training standard deviations."""
    return (codes.double() - training.mean).norm(dim=1) / training.std


def code_statistics(cfg: RunConfig, prior: str) -> dict[str, float]:
    """Offset, spread and typical-set share of ``prior``'s codes against the training prior."""
    training, sampled = parse_prior(cfg.train.prior), parse_prior(prior)
    dim = cfg.model.z_dim
    codes = draw(sampled, CODE_SAMPLES, dim).double()
    reference = distances_from_training_mean(draw(training, TRAINING_DRAWS, dim, CODE_SEED + 1), training)
    low, high = torch.quantile(reference, torch.tensor(TYPICAL_QUANTILES, dtype=torch.float64))
    distances = distances_from_training_mean(codes, training)
    return {
        "z_offset": float((codes.mean(0) - training.mean).norm() / training.std),
        "z_spread": float(codes.std(0).mean() / training.std),
        "typical_share": float(((distances >= low) & (distances <= high)).double().mean()),
    }


def first_activation(generator: nn.Module) -> nn.Module:
    """G's first nonlinearity in module order (its input is the first layer's pre-activation)."""
    for module in generator.modules():
        if isinstance(module, ACTIVATIONS):
            return module
    raise ValueError("the generator has no nonlinearity to inspect")


@torch.no_grad()
def first_layer_inputs(generator: nn.Module, codes: torch.Tensor,
                       labels: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(pre-activations of G's first nonlinearity (N, units), G's outputs) for ``codes``, in eval mode."""
    captured: list[torch.Tensor] = []
    hook = first_activation(generator).register_forward_pre_hook(
        lambda module, args: captured.append(args[0].detach().float().clone()))
    try:
        was_training = generator.training
        generator.eval()
        outputs = generator(codes, labels).float()
        generator.train(was_training)
    finally:
        hook.remove()
    return captured[0].flatten(1), outputs  # conv maps: a unit per channel and position


def _labels(generator: nn.Module, n: int) -> Optional[torch.Tensor]:
    classes = getattr(generator, "num_classes", 0)
    return torch.arange(n) % classes if classes else None


def first_layer_statistics(generator: nn.Module, cfg: RunConfig, prior: str) -> dict[str, float]:
    """What ``prior``'s codes do to G's first layer and output, against the training prior's."""
    dim = cfg.model.z_dim
    labels = _labels(generator, CODE_SAMPLES)
    train_units, _ = first_layer_inputs(generator, draw(parse_prior(cfg.train.prior), CODE_SAMPLES, dim), labels)
    units, outputs = first_layer_inputs(generator, draw(parse_prior(prior), CODE_SAMPLES, dim), labels)
    scale = train_units.pow(2).mean().sqrt()
    positive = (units > 0).double().mean(0)
    stuck = ((positive >= STUCK_SHARE) | (positive <= 1 - STUCK_SHARE)).double().mean()
    values = {
        "preact_offset": float(units.mean(0).pow(2).mean().sqrt() / scale),
        "preact_variation": float(units.std(0).mean() / train_units.std(0).mean()),
        "units_dead": float(stuck),
    }
    if sample_spec(cfg.data).kind != "points":  # a tanh output: images and sequences
        values["output_saturated"] = float((outputs.abs() > SATURATION).double().mean())
    return values


def draw_codes_figure(cfg: RunConfig, priors: list[tuple[str, str]], path: Path) -> Path:
    """Histograms of each prior's codes' distance from the training mean, with the training
    prior's typical range shaded: where the codes lie."""
    from matplotlib.figure import Figure

    from gankit.fsutil import atomic_write

    training = parse_prior(cfg.train.prior)
    dim = cfg.model.z_dim
    reference = distances_from_training_mean(draw(training, TRAINING_DRAWS, dim, CODE_SEED + 1), training)
    low, high = (float(q) for q in torch.quantile(reference, torch.tensor(TYPICAL_QUANTILES, dtype=torch.float64)))
    fig = Figure(figsize=(8, 3.6), dpi=100, layout="constrained")
    ax = fig.subplots()
    all_distances = [distances_from_training_mean(draw(parse_prior(p), CODE_SAMPLES, dim), training) for _, p in priors]
    top = max(float(d.max()) for d in all_distances + [reference])
    bins = torch.logspace(math.log10(max(1e-2, min(float(d.min()) for d in all_distances + [reference]) * 0.8)),
                          math.log10(top * 1.2), 80).numpy()
    ax.axvspan(low, high, color="0.85", label=f"training prior {training}: central 99%")
    for (label, _), distances in zip(priors, all_distances):
        ax.hist(distances.numpy(), bins=bins, histtype="step", linewidth=1.6, label=label)
    ax.set_xscale("log")
    ax.set_xlabel(f"distance of a code from the training mean (training std units; z has {dim} dimensions)")
    ax.set_ylabel(f"codes (of {CODE_SAMPLES})")
    ax.set_title("Where each prior's codes lie")
    ax.legend(fontsize=8)
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png")
    return path


def draw_first_layer_figure(generator: nn.Module, cfg: RunConfig, priors: list[tuple[str, str]], path: Path) -> Path:
    """Histograms of G's first-layer pre-activations under each prior: what the codes do to G."""
    from matplotlib.figure import Figure

    from gankit.fsutil import atomic_write

    dim = cfg.model.z_dim
    labels = _labels(generator, CODE_SAMPLES)
    fig = Figure(figsize=(8, 3.6), dpi=100, layout="constrained")
    ax = fig.subplots()
    everything = [first_layer_inputs(generator, draw(parse_prior(p), CODE_SAMPLES, dim), labels)[0].flatten()
                  for _, p in priors]
    limit = max(float(v.abs().quantile(0.999)) if v.numel() < 16_000_000 else float(v.abs().max()) for v in everything)
    for (label, _), values in zip(priors, everything):
        sample = values[torch.randperm(len(values), generator=torch.Generator().manual_seed(0))[:200_000]]
        ax.hist(sample.numpy(), bins=120, range=(-limit, limit), histtype="step", linewidth=1.6, density=True,
                label=label)
    ax.set_yscale("log")
    ax.set_xlabel("pre-activation of G's first nonlinearity (after its normalisation)")
    ax.set_ylabel("density")
    ax.set_title("What the codes do to G's first layer")
    ax.legend(fontsize=8)
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png")
    return path
