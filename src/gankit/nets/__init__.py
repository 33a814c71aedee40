"""Generator and discriminator families, looked up by ``model.arch``.

Every family provides ``build(model_cfg, channels, image_size) -> (generator, discriminator)``;
a discriminator returns one raw output (logit) per sample, shape ``(N,)``.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from gankit.config import ModelConfig
from gankit.nets import dcgan, mlp

Builder = Callable[[ModelConfig, int, int], tuple[nn.Module, nn.Module]]

FAMILIES: dict[str, Builder] = {
    "dcgan": dcgan.build,
    "mlp": mlp.build,
}


def build_networks(model_cfg: ModelConfig, channels: int, image_size: int) -> tuple[nn.Module, nn.Module]:
    """Build (G, D) of the family ``model_cfg.arch`` for images of the given shape."""
    return FAMILIES[model_cfg.arch](model_cfg, channels, image_size)
