"""Choosing the device a run trains on."""

from __future__ import annotations

import torch

from gankit.errors import UserError


def resolve_device(name: str) -> torch.device:
    """``auto`` → the first CUDA device if there is one, else the CPU; others are checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"train.device='{name}' is not a device (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"train.device='{name}' but no CUDA device is available here")
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"train.device='{name}': only cpu and cuda are supported")
    return device
