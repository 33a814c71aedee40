"""An exponential moving average of G's weights (as in ProGAN, StyleGAN and BigGAN).

After every G step, each floating-point weight of the average moves towards G's:
``ema = beta_t * ema + (1 - beta_t) * G`` with ``beta_t = min(decay, (1 + t) / (10 + t))`` at
step t (the warm-up of TensorFlow's ExponentialMovingAverage, so that a short run is not an
average dominated by the untrained G). Buffers (BatchNorm's running statistics) are copied from
G, as StyleGAN does. Sampling, grids, evaluation and the exported generator use the average;
the raw G keeps training and stays in the checkpoint.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_beta(decay: float, step: int) -> float:
    """The averaging weight of step ``step`` (1-based) for ``decay``."""
    return min(decay, (1.0 + step) / (10.0 + step))


class WeightAverage:
    """The moving average of a module's weights: a frozen copy of it, updated in place."""

    def __init__(self, module: nn.Module, decay: float):
        """Start the average at ``module``'s current weights."""
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module, step: int) -> None:
        """Move the average towards ``module``'s weights after step ``step`` (tensor operations
        only: one for-each lerp for the weights, no host sync)."""
        averaged = [p for p in self.module.parameters() if p.is_floating_point()]
        current = [p.detach() for p in module.parameters() if p.is_floating_point()]
        torch._foreach_lerp_(averaged, current, 1.0 - ema_beta(self.decay, step))
        self.copy_buffers(module)

    @torch.no_grad()
    def copy_buffers(self, module: nn.Module) -> None:
        """Take ``module``'s buffers (BatchNorm's running statistics) as they are."""
        for mine, theirs in zip(self.module.buffers(), module.buffers()):
            mine.copy_(theirs)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged weights, as a module state dict."""
        return self.module.state_dict()
