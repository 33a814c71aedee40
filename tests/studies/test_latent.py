"""Where a prior's codes lie and what they do to G's first layer: known answers."""

import math

import pytest
import torch
from torch import nn

from gankit.config import build_config
from gankit.studies.latent import code_statistics, first_activation, first_layer_statistics


def test_codes_of_shifted_and_narrow_priors():
    cfg = build_config("digits", [])  # trained on normal(0,1), z of 100
    same = code_statistics(cfg, "normal(0,1)")
    assert same["z_offset"] < 0.5 and same["z_spread"] == pytest.approx(1.0, abs=0.05)
    assert same["typical_share"] == pytest.approx(0.99, abs=0.01)
    shifted = code_statistics(cfg, "normal(-10,1)")
    assert shifted["z_offset"] == pytest.approx(10 * math.sqrt(100), rel=0.01)  # 10 per coordinate
    assert shifted["typical_share"] == 0.0
    narrow = code_statistics(cfg, "uniform(0,1)")
    assert narrow["z_spread"] == pytest.approx(1 / math.sqrt(12), abs=0.01)
    assert narrow["z_offset"] == pytest.approx(0.5 * 10, rel=0.05)
    assert narrow["typical_share"] == 0.0  # |z| ~ 5.8, far inside the shell at radius ~10


class Toy(nn.Module):
    """z -> Linear(identity) -> ReLU -> tanh: the first layer's pre-activations are z itself."""

    num_classes = 0

    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, dim, bias=False)
        nn.init.eye_(self.linear.weight)
        self.act = nn.ReLU()

    def forward(self, z, labels=None):
        return torch.tanh(self.act(self.linear(z)))


def test_first_layer_of_an_identity_generator():
    cfg = build_config("digits", ["model.z_dim=8"])
    generator = Toy(8)
    assert first_activation(generator) is generator.act
    same = first_layer_statistics(generator, cfg, "normal(0,1)")
    assert same["preact_variation"] == pytest.approx(1.0) and same["units_dead"] == 0.0
    shifted = first_layer_statistics(generator, cfg, "normal(-10,1)")
    assert shifted["preact_offset"] == pytest.approx(10.0, rel=0.05)  # mean -10 against an RMS of 1
    assert shifted["units_dead"] == 1.0  # every unit off for every sample
    narrow = first_layer_statistics(generator, cfg, "uniform(0,1)")
    assert narrow["preact_variation"] == pytest.approx(1 / math.sqrt(12), rel=0.05)
    saturated = first_layer_statistics(generator, cfg, "normal(10,1)")
    assert saturated["output_saturated"] > 0.99
