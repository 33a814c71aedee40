"""Optimizers built from their config section, each registered in
:data:`gankit.registry.OPTIMIZERS` with how it is built and whether torch has a fused kernel for it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import torch

from gankit.config import OptimizerConfig
from gankit.registry import OPTIMIZERS


@dataclass(frozen=True)
class OptimizerKind:
    """One optimizer: ``build(params, lr, cfg, fused, capturable)`` and what it can do."""

    label: str
    build: Callable[..., torch.optim.Optimizer]
    fused: bool  # torch has one fused kernel per step for it (speed.fused_optimizer)


def _adam(params, lr, cfg: OptimizerConfig, fused: bool, capturable: bool) -> torch.optim.Optimizer:
    extra = {"fused": True} if fused else {}
    return torch.optim.Adam(params, lr=lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay,
                            capturable=capturable, **extra)


def _rmsprop(params, lr, cfg: OptimizerConfig, fused: bool, capturable: bool) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay, capturable=capturable)


def _sgd(params, lr, cfg: OptimizerConfig, fused: bool, capturable: bool) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                           fused=True if fused else None)


OPTIMIZERS.register("adam", OptimizerKind("Adam", _adam, fused=True))
OPTIMIZERS.register("rmsprop", OptimizerKind("RMSProp", _rmsprop, fused=False))
OPTIMIZERS.register("sgd", OptimizerKind("SGD", _sgd, fused=True))


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimizerConfig, *, fused: bool = False,
                    capturable: bool = False, lr_on: Optional[torch.device] = None) -> torch.optim.Optimizer:
    """The optimizer ``cfg.name`` registers, with the hyperparameters of ``cfg``.

    ``fused``: one fused kernel per step (where torch has one). ``capturable``: the step can be
    recorded in a CUDA graph (its step counters live on the device). ``lr_on``: keep the learning
    rate as a tensor on that device, so that a recorded step reads the rate :func:`set_lr` writes.
    """
    lr = cfg.lr if lr_on is None else torch.tensor(cfg.lr, dtype=torch.float32, device=lr_on)
    return OPTIMIZERS.get(cfg.name).build(params, lr, cfg, fused, capturable)


def decayed_lr(base_lr: float, schedule: str, step: int, total_steps: int, decay_from: int = 0) -> float:
    """The learning rate of iteration ``step`` (1-based) under ``schedule``: ``constant``;
    ``linear`` from ``base_lr`` down to zero at ``total_steps``; ``cosine`` from ``base_lr``
    along half a cosine to zero there; either holds ``base_lr`` for the first ``decay_from``
    iterations (all of them when ``decay_from >= total_steps``) and falls over the rest. A pure
    function of the step, so a resumed run follows the same schedule."""
    if step - 1 <= decay_from:
        return base_lr
    progress = (step - 1 - decay_from) / (total_steps - decay_from)
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
