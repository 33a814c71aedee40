"""Optimizers built from their config section."""

from __future__ import annotations

import math
from typing import Iterable, Optional

import torch

from gankit.config import OptimizerConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimizerConfig, *, fused: bool = False,
                    capturable: bool = False, lr_on: Optional[torch.device] = None) -> torch.optim.Optimizer:
    """Adam, RMSProp or SGD with the hyperparameters of ``cfg``.

    ``fused``: one fused kernel per step (Adam, SGD). ``capturable``: the step can be recorded
    in a CUDA graph (its step counters live on the device). ``lr_on``: keep the learning rate
    as a tensor on that device, so that a recorded step reads the rate :func:`set_lr` writes.
    """
    lr = cfg.lr if lr_on is None else torch.tensor(cfg.lr, dtype=torch.float32, device=lr_on)
    if cfg.name == "adam":
        extra = {"fused": True} if fused else {}
        return torch.optim.Adam(params, lr=lr, betas=cfg.betas, eps=cfg.eps,
                                weight_decay=cfg.weight_decay, capturable=capturable, **extra)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay, capturable=capturable)
    return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                           fused=True if fused else None)


def decayed_lr(base_lr: float, schedule: str, step: int, total_steps: int) -> float:
    """The learning rate of iteration ``step`` (1-based) under ``schedule``: ``constant``;
    ``linear`` from ``base_lr`` down to zero at ``total_steps``; ``cosine`` from ``base_lr``
    along half a cosine to zero there. A pure function of the step, so a resumed run follows
    the same schedule."""
    progress = (step - 1) / total_steps
    if schedule == "linear":
        return base_lr * (1.0 - progress)
    if schedule == "cosine":
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    return base_lr


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate (in place where it is a tensor)."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict) -> None:
    """``optimizer.load_state_dict(state)`` for the moments and step counts, keeping the
    hyperparameters this optimizer was built with (the run's config, overrides included: a run
    resumed with ``optim.g.lr=...`` trains on at that rate), and each learning rate in the form
    it was built in (a float, or its own tensor, refilled in place)."""
    built = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, settings in zip(optimizer.param_groups, built):
        group.update(settings)
