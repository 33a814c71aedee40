"""The speed switches of a run (``speed.*``), resolved for the device it trains on.

``auto`` becomes a definite value here, and the resolved values are written back into the
config, so a run's config.yaml says exactly how it was executed.  A switch the user turned on
that cannot work on this device or with this config is a UserError, never quietly ignored.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import ContextManager

import torch

from gankit.config import RunConfig
from gankit.errors import UserError
from gankit.registry import OPTIMIZERS
from gankit.spec import SampleSpec

CONV_IMAGE_ARCHS = ("dcgan", "cgan-lab")  # families whose image nets are 2-D convolutions


@dataclass(frozen=True)
class Speed:
    """How the loop runs: resolved, device-specific, no ``auto`` left."""

    device_type: str
    bf16: bool
    channels_last: bool
    fused_optimizer: bool
    graph: bool
    compile: bool

    @classmethod
    def plain(cls, device_type: str) -> "Speed":
        """Eager fp32, NCHW, for-each optimizers: the reference every switch is compared with."""
        return cls(device_type, bf16=False, channels_last=False, fused_optimizer=False, graph=False, compile=False)

    def autocast(self) -> ContextManager:
        """The context the forward passes and losses run in (bf16 autocast, or nothing)."""
        if not self.bf16:
            return nullcontext()
        # Autocast's cache of bf16 weight copies must be off while a CUDA graph is recorded.
        return torch.autocast(self.device_type, dtype=torch.bfloat16, cache_enabled=not self.graph)

    @property
    def memory_format(self) -> torch.memory_format:
        """The layout of image batches and conv weights."""
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def describe(self) -> str:
        """One line for the console, e.g. ``bf16, channels_last, fused optimizers, CUDA graph``."""
        parts = ["bf16" if self.bf16 else "fp32"]
        parts += [name for name, on in (("channels_last", self.channels_last),
                                        ("fused optimizers", self.fused_optimizer),
                                        ("CUDA graph", self.graph), ("torch.compile", self.compile)) if on]
        return ", ".join(parts)


def bf16_supported(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively (Ampere or newer; a CPU with AVX-512 BF16 or AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return torch.backends.mkldnn.is_available() and native


def graph_obstacle(cfg: RunConfig, device: torch.device, world_size: int, from_host: bool = False) -> str:
    """Why the whole iteration cannot be one CUDA graph here ('' when it can)."""
    if device.type != "cuda":
        return "it needs a CUDA device"
    if from_host:
        return "the images stream from the host (the set is larger than data.memory_gb)"
    if cfg.speed.compile:
        return "speed.compile is on"
    if world_size > 1:
        return "several processes train together"
    if cfg.train.top_k is not None:
        return "train.top_k changes how many fakes G learns from as the run goes"
    return ""


def resolve_speed(cfg: RunConfig, device: torch.device, spec: SampleSpec, world_size: int = 1,
                  from_host: bool = False) -> Speed:
    """Turn ``cfg.speed`` into definite switches for ``device`` and write them back into ``cfg``
    (``from_host``: each batch is sent from the host, as for a streamed set on a GPU)."""
    wanted = cfg.speed
    conv_images = spec.kind == "images" and cfg.model.arch in CONV_IMAGE_ARCHS

    if wanted.precision == "auto":
        # On a CPU bf16 pays off for convolutions; small matrix products get slower.
        bf16 = bf16_supported(device) and (device.type == "cuda" or conv_images)
    else:
        bf16 = wanted.precision == "bf16"
        if bf16 and device.type == "cuda" and not bf16_supported(device):
            raise UserError("speed.precision=bf16 but this GPU has no bf16; use speed.precision=fp32")

    channels_last = conv_images if wanted.channels_last == "auto" else bool(wanted.channels_last)

    fusable = OPTIMIZERS.get(cfg.optim.g.name).fused and OPTIMIZERS.get(cfg.optim.d.name).fused
    if wanted.fused_optimizer == "auto":
        fused = fusable
    else:
        fused = bool(wanted.fused_optimizer)
        if fused and not fusable:
            fused = [name for name, kind in OPTIMIZERS.items() if kind.fused]
            raise UserError("speed.fused_optimizer=true but torch has fused kernels only for "
                            f"{' and '.join(fused)} (optim.g.name={cfg.optim.g.name}, "
                            f"optim.d.name={cfg.optim.d.name})")

    obstacle = graph_obstacle(cfg, device, world_size, from_host)
    if wanted.graph == "auto":
        graph = not obstacle
    else:
        graph = bool(wanted.graph)
        if graph and obstacle:
            raise UserError(f"speed.graph=true cannot be used here: {obstacle}; set speed.graph=false")

    speed = Speed(device.type, bf16, channels_last, fused, graph, wanted.compile)
    cfg.speed.precision = "bf16" if bf16 else "fp32"
    cfg.speed.channels_last = channels_last
    cfg.speed.fused_optimizer = fused
    cfg.speed.graph = graph
    return speed
