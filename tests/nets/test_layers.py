"""Shared layers whose behaviour is not covered through the networks."""

from __future__ import annotations

import torch
from torch import nn

from gankit.nets.layers import Flatten, in_layout_of, is_channels_last


def test_flatten_matches_nn_flatten_and_returns_gradients_in_the_input_layout():
    x = torch.randn(3, 4, 5, 5, dtype=torch.float64)
    for layout in (torch.contiguous_format, torch.channels_last):
        a = x.clone().contiguous(memory_format=layout).requires_grad_(True)
        b = x.clone().contiguous(memory_format=layout).requires_grad_(True)
        weights = torch.randn(100, dtype=torch.float64)
        (Flatten()(a) @ weights).sum().backward()
        (nn.Flatten()(b) @ weights).sum().backward()
        assert torch.equal(Flatten()(a), nn.Flatten()(b))  # NCHW order whatever the layout
        assert torch.equal(a.grad, b.grad)
        assert is_channels_last(a.grad) == (layout == torch.channels_last)


def test_flatten_has_correct_second_derivatives():
    """Gradient penalties differentiate through D's gradient, so Flatten's backward must be differentiable."""
    x = torch.randn(2, 3, 2, 2, dtype=torch.float64).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: Flatten()(t).pow(2).sum(1), (x,))
    assert torch.autograd.gradgradcheck(lambda t: Flatten()(t).pow(3).sum(1), (x,))


def test_in_layout_of_follows_the_weight():
    x = torch.randn(2, 8, 4, 4)
    nhwc = torch.randn(8, 4, 3, 3).contiguous(memory_format=torch.channels_last)
    assert is_channels_last(in_layout_of(x, nhwc))
    assert in_layout_of(x, torch.randn(8, 4, 3, 3)) is x
