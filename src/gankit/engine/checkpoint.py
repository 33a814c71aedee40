"""Checkpoints: everything needed to continue a run exactly, written atomically.

A checkpoint holds both networks, both optimizers, the step, and every random number
generator the loop draws from.  It is read with ``torch.load(weights_only=True)``, so loading
one never runs code from the file.  The generator alone is also exported as safetensors.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Optional

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as safetensors_bytes
from torch import nn

from gankit.engine.optim import load_optimizer_state
from gankit.engine.gan import Gan
from gankit.errors import UserError, machine_error
from gankit.fsutil import atomic_write_bytes, open_below, read_below
from gankit.rundir import RunDir
from gankit.rundir.run import weights_label

FORMAT = 1
EMA_KEY = "generator_ema"  # the moving average of G's weights, in checkpoints of runs with train.ema


def rng_state(gan: Gan, device: torch.device) -> dict[str, Any]:
    """The states of the global and the noise generators."""
    state = {"torch": torch.get_rng_state(), "noise": gan.noise.get_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def save_checkpoint(run_dir: Path, gan: Gan, step: int, device: torch.device,
                    rng_by_rank: Optional[list[dict[str, Any]]] = None, keep: int = 1) -> Path:
    """Write ``checkpoints/last.pt`` atomically and return its path.

    ``rng_by_rank``: when several processes train, the generator states of each, in rank order.
    ``keep`` > 1 also keeps the newest ``keep`` checkpoints as ``checkpoints/step_NNNNNN.pt``
    (last.pt is then a hard link to the newest: no extra space). The payload is serialised in
    memory first, so a full disk fails in one write and leaves the previous checkpoint as it was.
    """
    run = RunDir(run_dir)
    path = run.last_checkpoint
    payload = {
        "format": FORMAT,
        "step": step,
        "generator": gan.generator.state_dict(),
        "discriminator": gan.discriminator.state_dict(),
        "g_optimizer": gan.g_optimizer.state_dict(),
        "d_optimizer": gan.d_optimizer.state_dict(),
        "rng": rng_state(gan, device),
    }
    if gan.ema is not None:
        payload[EMA_KEY] = gan.ema.state_dict()
    if rng_by_rank is not None:
        payload["rng_by_rank"] = rng_by_rank
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    if keep <= 1:
        atomic_write_bytes(path, buffer.getbuffer())
        return path
    kept = run.kept_checkpoint(step)
    atomic_write_bytes(kept, buffer.getbuffer())
    _link_atomically(kept, path)
    for old in run.kept_checkpoints()[:-keep]:
        old.unlink(missing_ok=True)
    return path


def _link_atomically(target: Path, link: Path) -> None:
    """Make ``link`` a hard link to ``target``, replacing it in one step."""
    temporary = link.with_name(f".{link.name}.link.tmp")
    try:
        temporary.unlink(missing_ok=True)
        os.link(target, temporary)
        os.replace(temporary, link)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise machine_error(err, "write", link) from None


def read_checkpoint(path: Path, anchor: Optional[Path] = None) -> dict[str, Any]:
    """Load a checkpoint safely, turning any problem with the file into a UserError. It is
    reached from ``anchor`` (default: its folder) without following a link."""
    path = Path(path)
    try:
        with open_below(anchor or path.parent, path) as handle:
            payload = torch.load(handle, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"no checkpoint at {path}") from None
    except Exception as err:  # torch raises many types for a damaged file
        raise UserError(f"checkpoint {path} is corrupt or not a gankit checkpoint "
                        f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
    needed = {"format", "step", "generator", "discriminator", "g_optimizer", "d_optimizer", "rng"}
    if not isinstance(payload, dict) or not needed <= payload.keys():
        raise UserError(f"checkpoint {path} is not a gankit checkpoint (missing fields)")
    if payload["format"] != FORMAT:
        raise UserError(f"checkpoint {path} has format {payload['format']}, this gankit reads {FORMAT}")
    return payload


def load_weights(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Load a state dict, reporting a mismatch with the config as a UserError."""
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise UserError(f"{what} does not match the run's config: {detail[:300]}") from None


def restore(gan: Gan, payload: dict[str, Any], device: torch.device, path: Path,
            rank: int = 0, world_size: int = 1) -> int:
    """Put a checkpoint's state into ``gan`` and the global RNGs (process ``rank``'s of
    ``world_size``); return its step."""
    by_rank = payload.get("rng_by_rank")
    written_by = len(by_rank) if isinstance(by_rank, list) else 1
    if written_by != world_size:
        raise UserError(f"checkpoint {path} was written by {written_by} training process(es); "
                        f"resume it with the same number (this is {world_size})")
    load_weights(gan.generator, payload["generator"], f"checkpoint {path}")
    load_weights(gan.discriminator, payload["discriminator"], f"checkpoint {path}")
    if gan.ema is not None:
        if EMA_KEY in payload:
            load_weights(gan.ema.module, payload[EMA_KEY], f"checkpoint {path} (weight average)")
        else:  # train.ema switched on at this resume: the average starts at the checkpoint's G
            gan.ema.module.load_state_dict(gan.generator.state_dict())
    try:
        load_optimizer_state(gan.g_optimizer, payload["g_optimizer"])
        load_optimizer_state(gan.d_optimizer, payload["d_optimizer"])
        rng = by_rank[rank] if world_size > 1 else payload["rng"]
        gan.noise.set_state(rng["noise"])
        torch.set_rng_state(rng["torch"])
        if device.type == "cuda" and "cuda" in rng:
            torch.cuda.set_rng_state(rng["cuda"], device)
    except (ValueError, KeyError, RuntimeError, TypeError) as err:
        raise UserError(f"checkpoint {path} does not match the run's config: {err}") from None
    return int(payload["step"])


def export_generator(run_dir: Path, generator: nn.Module, step: int, averaged: bool = False) -> Path:
    """Write the generator's weights as ``generator.safetensors`` (atomically); ``averaged``
    says in its metadata that they are the moving average of G's weights."""
    path = RunDir(run_dir).generator
    tensors = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
    metadata = {"step": str(step), "format": json.dumps(FORMAT), "weights": weights_label(averaged, averaged)}
    atomic_write_bytes(path, safetensors_bytes(tensors, metadata=metadata))
    return path


def import_generator(path: Path, anchor: Optional[Path] = None) -> dict[str, torch.Tensor]:
    """Read generator weights from a safetensors file, reached from ``anchor`` (default: its
    folder) without following a link."""
    path = Path(path)
    try:
        return load_safetensors(read_below(anchor or path.parent, path))
    except Exception as err:
        raise UserError(f"generator weights {path} are corrupt ({type(err).__name__})") from None


def checkpoint_step(run_dir: Path) -> Optional[int]:
    """The step of a run's last checkpoint (None when it has none)."""
    path = RunDir(run_dir).last_checkpoint
    return int(read_checkpoint(path)["step"]) if path.is_file() else None


def weights_step(run_dir: Path) -> int:
    """The training step of the weights a run is sampled from: its exported generator's, or its
    last checkpoint's (a UserError when it has neither)."""
    exported = RunDir(run_dir).exported_step()
    return exported if exported is not None else int(read_checkpoint(RunDir(run_dir).last_checkpoint)["step"])
