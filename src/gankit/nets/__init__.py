"""Generator and discriminator families, looked up by ``model.arch``, and the options they share.

A family provides G's core, which maps an input vector (z, joined to a one-hot label in
conditional runs) to one sample, and D's body, which maps a sample (with label channels,
packed samples) to a feature vector. :func:`build_networks` wraps them the same way for
every family: labels into G, labels / packing / minibatch std around D's body, the head that
``model.conditional`` asks for, and spectral normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.config import ModelConfig
from gankit.errors import UserError
from gankit.nets import cgan_lab, conv1d, dcgan, mlp
from gankit.nets.heads import HEADS
from gankit.nets.layers import MinibatchStd, label_channels, one_hot, pack_samples
from gankit.spec import SampleSpec


@dataclass(frozen=True)
class Family:
    """One network family: the sample kinds it handles and how to build its parts."""

    kinds: tuple[str, ...]
    generator: Callable[[int, SampleSpec, ModelConfig], nn.Module]  # (input size, spec, cfg) -> core
    discriminator_body: Callable[[tuple[int, ...], ModelConfig], tuple[nn.Module, int]]  # -> (body, features)
    init: Optional[Callable[[nn.Module], None]] = None  # applied to the whole of G and D


FAMILIES: dict[str, Family] = {
    "dcgan": Family(("images",), dcgan.generator, dcgan.discriminator_body, dcgan.init_weights),
    "mlp": Family(("images", "sequences", "points"), mlp.generator, mlp.discriminator_body),
    "cgan-lab": Family(("images",), cgan_lab.generator, cgan_lab.discriminator_body),
    "conv1d": Family(("sequences",), conv1d.generator, conv1d.discriminator_body, conv1d.init_weights),
}


class Generator(nn.Module):
    """z (N, z_dim) [and labels (N,)] -> samples (N, *shape)."""

    def __init__(self, core: nn.Module, num_classes: int):
        super().__init__()
        self.core = core
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Generate samples; conditional generators need the labels."""
        if self.num_classes:
            if labels is None:
                raise ValueError("this generator is conditional: give it labels")
            z = torch.cat([z, one_hot(labels, self.num_classes).to(z.dtype)], 1)
        return self.core(z)


class Discriminator(nn.Module):
    """samples (N, *shape) [and labels (N,)] -> D's outputs, as its head makes them."""

    def __init__(self, body: nn.Module, head: nn.Module, *, label_classes: int = 0, pack: int = 1,
                 minibatch_std: bool = False):
        super().__init__()
        self.body = body
        self.minibatch_std = MinibatchStd() if minibatch_std else None
        self.head = head
        self.label_classes = label_classes  # > 0: labels enter as extra input channels (concat)
        self.pack = pack

    def forward(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None):
        """D's outputs for a batch (with packing, for each group of ``pack`` samples)."""
        if self.label_classes:
            x = torch.cat([x, label_channels(labels, self.label_classes, x)], 1)
        h = self.body(pack_samples(x, self.pack))
        if self.minibatch_std is not None:
            h = self.minibatch_std(h)
        return self.head(h, labels)


def build_networks(cfg: ModelConfig, spec: SampleSpec) -> tuple[Generator, Discriminator]:
    """Build (G, D) of the family ``cfg.arch`` for samples described by ``spec``."""
    family = FAMILIES[cfg.arch]
    if spec.kind not in family.kinds:
        raise UserError(f"model.arch={cfg.arch} makes {' or '.join(family.kinds)}, but the data are "
                        f"{spec.kind}; use model.arch={_suggest_arch(spec.kind)}")
    classes = 0
    if cfg.conditional != "none":
        if not spec.num_classes:
            raise UserError(f"model.conditional={cfg.conditional} needs labelled data; this data "
                            "source has no labels")
        classes = spec.num_classes
    generator = Generator(family.generator(cfg.z_dim + classes, spec, cfg), classes)
    in_channels = spec.channels * cfg.pack + (classes if cfg.conditional == "concat" else 0)
    body, features = family.discriminator_body((in_channels, *spec.shape[1:]), cfg)
    head = HEADS[cfg.conditional](features + int(cfg.minibatch_std), classes)
    discriminator = Discriminator(body, head, label_classes=classes if cfg.conditional == "concat" else 0,
                                  pack=cfg.pack, minibatch_std=cfg.minibatch_std)
    if family.init is not None:
        generator.apply(family.init)
        discriminator.apply(family.init)
    if cfg.spectral_norm:
        for module in list(discriminator.modules()):
            if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding)):
                spectral_norm(module)
    return generator, discriminator


def _suggest_arch(kind: str) -> str:
    return " or ".join(name for name, family in FAMILIES.items() if kind in family.kinds)
