"""Optimizers built from their config section."""

from __future__ import annotations

from typing import Iterable

import torch

from gankit.config import OptimizerConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimizerConfig, *, fused: bool = False,
                    capturable: bool = False) -> torch.optim.Optimizer:
    """Adam, RMSProp or SGD with the hyperparameters of ``cfg``.

    ``fused``: one fused kernel per step (Adam, SGD). ``capturable``: the step can be recorded
    in a CUDA graph (its step counters live on the device).
    """
    if cfg.name == "adam":
        extra = {"fused": True} if fused else {}
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
                                weight_decay=cfg.weight_decay, capturable=capturable, **extra)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay, capturable=capturable)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                           fused=True if fused else None)


def decayed_lr(base_lr: float, schedule: str, step: int, total_steps: int) -> float:
    """The learning rate of iteration ``step`` (1-based) under ``schedule``: ``constant``, or
    ``linear`` from ``base_lr`` down to zero at ``total_steps``. A pure function of the step,
    so a resumed run follows the same schedule."""
    if schedule == "linear":
        return base_lr * (1.0 - (step - 1) / total_steps)
    return base_lr


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate."""
    for group in optimizer.param_groups:
        group["lr"] = lr
