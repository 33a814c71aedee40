"""Layers every network family shares (label inputs, minibatch standard deviation, packing),
and helpers for running networks in inference mode and laying out labels by class."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Labels (N,) as float one-hot rows (N, num_classes)."""
    return F.one_hot(labels, num_classes).to(torch.float32)


def label_channels(labels: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """One-hot labels broadcast to extra channels of ``like`` (N, C, *rest) -> (N, K, *rest);
    for points (N, D) they become K extra coordinates."""
    code = one_hot(labels, num_classes).to(like.dtype)
    rest = like.shape[2:]
    return code.view(*code.shape, *([1] * len(rest))).expand(-1, -1, *rest)


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether a 4-D tensor is laid out NHWC (and not also NCHW, as 1x1 or 1-channel ones are)."""
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def in_layout_of(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x`` in the memory layout of the convolution ``weight`` it is headed for (speed.channels_last):
    elementwise layers between them then see one layout, forward and backward."""
    return x.contiguous(memory_format=torch.channels_last) if is_channels_last(weight) else x


class _FlattenKeepingLayout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.shape, ctx.channels_last = x.shape, is_channels_last(x)
        return x.reshape(x.shape[0], -1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.reshape(ctx.shape)
        return grad.contiguous(memory_format=torch.channels_last) if ctx.channels_last else grad


class Flatten(nn.Module):
    """``nn.Flatten`` (N, C, H, W) -> (N, C·H·W) in NCHW order whose gradient goes back in the
    input's layout: with channels_last the elementwise backward kernels before it would
    otherwise mix two layouts and fall off their fast path."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flatten all but the batch dimension."""
        return _FlattenKeepingLayout.apply(x)


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """PacGAN: stack each run of ``pack`` consecutive samples along the channel axis,
    (N, C, *rest) -> (N / pack, pack * C, *rest)."""
    if pack == 1:
        return x
    n = x.shape[0]
    if n % pack:
        raise ValueError(f"a batch of {n} samples cannot be packed in groups of {pack}")
    return x.reshape(n // pack, pack * x.shape[1], *x.shape[2:])


class MinibatchStd(nn.Module):
    """Progressive GAN's minibatch standard deviation, on D's feature vectors.

    Samples are split into groups of ``group_size`` (the whole batch when it does not divide);
    the standard deviation of every feature over a group, averaged over the features, is
    appended to each member's features: (N, F) -> (N, F + 1). A collapsed G, whose samples
    all look alike, shows a telltale small value that D can learn to reject.
    """

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Append the group's mean feature standard deviation."""
        n, width = features.shape
        group = self.group_size if n % self.group_size == 0 else n
        grouped = features.view(group, n // group, width)  # sample i is in group i % (n // group)
        std = (grouped.var(0, unbiased=False) + 1e-8).sqrt().mean(1)  # (n // group,)
        return torch.cat([features, std.repeat(group).view(n, 1)], 1)


@contextmanager
def inference(module: nn.Module, gradients: bool = False) -> Iterator[nn.Module]:
    """Run ``module`` in eval mode (BatchNorm on running statistics, no dropout), without
    gradients unless ``gradients``, then restore the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        with torch.set_grad_enabled(gradients):
            yield module
    finally:
        module.train(was_training)


def class_rows(count: int, num_classes: int) -> tuple[torch.Tensor, int]:
    """Labels for a grid with one row per class: ``ceil(count / K)`` of each class, in order;
    returns (labels, samples per row)."""
    per_row = -(-count // num_classes)
    return torch.arange(num_classes).repeat_interleave(per_row), per_row
