"""Generator and discriminator families, looked up by ``model.arch``, and the options they share.

A family provides G's core, which maps an input vector (z, joined to a one-hot label in
conditional runs) to one sample, and D's body, which maps a sample (with label channels,
packed samples) to a feature vector. :func:`build_networks` wraps them the same way for
every family: labels into G, labels / packing / minibatch std around D's body, the head that
``model.conditional`` asks for, and spectral normalisation.

``model.arch`` names a built-in family or gives the import path of one defined elsewhere
(``package.module:Family``, a :class:`Family` object). Ready-made G and D modules, handed to
``gankit.train``, are wrapped by :func:`wrap_modules` instead.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.config import READY_MADE_ARCH, ModelConfig
from gankit.errors import UserError
from gankit.nets import cgan_lab, conv1d, dcgan, mlp
from gankit.nets.layers import MinibatchStd, label_channels, one_hot, pack_samples
from gankit.registry import CONDITIONINGS, FAMILIES
from gankit.spec import SampleSpec


@dataclass(frozen=True)
class Family:
    """One network family: the sample kinds it handles and how to build its parts.

    ``kinds``: any of "images", "sequences", "points". ``generator(input_size, spec, cfg)``
    returns G's core: a module mapping (N, input_size) vectors (z, with the one-hot label
    joined in conditional runs) to samples (N, *spec.shape), in [-1, 1] for images and
    sequences. ``discriminator_body(input_shape, cfg)`` returns (body, features): a module
    mapping (N, *input_shape) inputs (channels include packed samples and label channels) to
    (N, features) vectors, which gankit's head turns into D's outputs. ``init``, when given,
    is applied to every submodule of G and D (``module.apply``).
    """

    kinds: tuple[str, ...]
    generator: Callable[[int, SampleSpec, ModelConfig], nn.Module]  # (input size, spec, cfg) -> core
    discriminator_body: Callable[[tuple[int, ...], ModelConfig], tuple[nn.Module, int]]  # -> (body, features)
    init: Optional[Callable[[nn.Module], None]] = None  # applied to the whole of G and D


FAMILIES.register("dcgan", Family(("images",), dcgan.generator, dcgan.discriminator_body, dcgan.init_weights))
FAMILIES.register("mlp", Family(("images", "sequences", "points"), mlp.generator, mlp.discriminator_body))
FAMILIES.register("cgan-lab", Family(("images",), cgan_lab.generator, cgan_lab.discriminator_body))
FAMILIES.register("conv1d", Family(("sequences",), conv1d.generator, conv1d.discriminator_body, conv1d.init_weights))


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


def family_of(arch: str) -> Family:
    """The family ``model.arch`` names: a registered one, or the :class:`Family` at the import
    path ``package.module:Name`` (any import problem is a one-line UserError)."""
    family = FAMILIES.find(arch)
    if family is not None:
        return family
    if arch == READY_MADE_ARCH:
        raise UserError("this run was trained on ready-made modules (gankit.train(generator=..., "
                        "discriminator=...)); nothing can rebuild them from config.yaml: load it with "
                        "gankit.load(RUN, generator=G), G a fresh module of the same class")
    module_name, _, name = arch.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        missing = "" if err.name == module_name else f" (it needs '{err.name}')"
        raise UserError(f"model.arch={arch}: no module named '{module_name}' can be imported{missing}; "
                        "install it or put its folder on PYTHONPATH") from None
    except Exception as err:
        raise UserError(f"model.arch={arch}: importing '{module_name}' failed: {type(err).__name__}: {err}") from None
    family = getattr(module, name, None)
    if family is None:
        raise UserError(f"model.arch={arch}: module '{module_name}' has no '{name}'")
    if not isinstance(family, Family):
        raise UserError(f"model.arch={arch}: '{name}' is a {type(family).__name__}, not a gankit.Family")
    return family


def build_networks(cfg: ModelConfig, spec: SampleSpec) -> tuple[Generator, Discriminator]:
    """Build (G, D) of the family ``cfg.arch`` for samples described by ``spec``."""
    family = family_of(cfg.arch)
    if spec.kind not in family.kinds:
        raise UserError(f"model.arch={cfg.arch} makes {' or '.join(family.kinds)}, but the data are "
                        f"{spec.kind}; use model.arch={_suggest_arch(spec.kind)}")
    conditioning = CONDITIONINGS.get(cfg.conditional)
    classes = 0
    if conditioning.conditional:
        if not spec.num_classes:
            raise UserError(f"model.conditional={cfg.conditional} needs labelled data; this data "
                            "source has no labels")
        classes = spec.num_classes
    generator = Generator(family.generator(cfg.z_dim + classes, spec, cfg), classes)
    label_channels = classes if conditioning.label_channels else 0
    in_channels = spec.channels * cfg.pack + label_channels
    body, features = family.discriminator_body((in_channels, *spec.shape[1:]), cfg)
    head = conditioning.head(features + int(cfg.minibatch_std), classes)
    discriminator = Discriminator(body, head, label_classes=label_channels,
                                  pack=cfg.pack, minibatch_std=cfg.minibatch_std)
    if family.init is not None:
        generator.apply(family.init)
        discriminator.apply(family.init)
    if cfg.spectral_norm:
        normalise_spectrally(discriminator)
    return generator, discriminator


def normalise_spectrally(discriminator: nn.Module) -> None:
    """Spectral normalisation of every linear, convolutional and embedding layer of D."""
    for module in list(discriminator.modules()):
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding)):
            spectral_norm(module)


class ScoreAsIs(nn.Module):
    """The head of a ready-made D: its own output is the score (N,)."""

    def forward(self, h: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """D's output, flattened to one score per sample."""
        return h.flatten()


def wrap_modules(generator: nn.Module, discriminator: Optional[nn.Module], cfg: ModelConfig,
                 spec: SampleSpec) -> tuple[Generator, Optional[Discriminator]]:
    """Ready-made modules as gankit's G and D: ``generator`` maps z (N, z_dim) to samples
    (N, *spec.shape); ``discriminator`` maps samples to one raw score each ((N,) or (N, 1)).
    Unconditional and unpacked only; spectral normalisation applies when asked for."""
    wrong = {"model.conditional=none": CONDITIONINGS.get(cfg.conditional).conditional, "model.pack=1": cfg.pack != 1,
             "model.minibatch_std=false": cfg.minibatch_std}
    if any(wrong.values()):
        settings = ", ".join(setting for setting, off in wrong.items() if off)
        raise UserError(f"ready-made modules train unconditional and unpacked: set {settings} "
                        "(or write a gankit.Family, which gets all of these)")
    wrapped_d = None
    if discriminator is not None:
        wrapped_d = Discriminator(discriminator, ScoreAsIs())
        if cfg.spectral_norm:
            normalise_spectrally(wrapped_d)
    return Generator(generator, 0), wrapped_d


def _suggest_arch(kind: str) -> str:
    return " or ".join(name for name, family in FAMILIES.items() if kind in family.kinds)
