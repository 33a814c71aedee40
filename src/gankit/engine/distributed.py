"""Several processes training one GAN (``torchrun --nproc_per_node N -m gankit train ...``).

Every process holds the same G and D and takes its share of each global batch; after every
backward pass the gradients are averaged over the processes, so the weights stay identical.
Process 0 is the only one that writes (logs, grids, checkpoints); the others compute.
BatchNorm running statistics (used only when sampling) are averaged before anything is drawn
or saved, and every process's random generators are stored in the checkpoint, so a resumed
run continues exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Optional

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from gankit.errors import UserError


@dataclass(frozen=True)
class Processes:
    """This process's place among those training together."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def writer(self) -> bool:
        """Whether this process writes the run directory."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process trains."""
        return self.world_size > 1


SINGLE = Processes()


def launched_processes() -> Processes:
    """What torchrun (or any launcher setting RANK / WORLD_SIZE / LOCAL_RANK) says about this process."""
    try:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise UserError("RANK, WORLD_SIZE and LOCAL_RANK must be integers") from None
    return Processes(rank, world_size, local_rank) if world_size > 1 else SINGLE


# Process 0 alone evaluates during training; the others wait for it at the next all-reduce.
COLLECTIVE_TIMEOUT = timedelta(hours=2)


def start(processes: Processes, device_type: str) -> None:
    """Join the process group (NCCL between GPUs, gloo between CPU processes)."""
    if processes.distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo", timeout=COLLECTIVE_TIMEOUT)


def stop(processes: Processes) -> None:
    """Leave the process group."""
    if processes.distributed and dist.is_initialized():
        dist.destroy_process_group()


def average(tensors: list[torch.Tensor]) -> None:
    """Replace each tensor in place by its mean over the processes (one all-reduce for all)."""
    if not tensors:
        return
    flat = _flatten_dense_tensors(tensors)
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for tensor, averaged in zip(tensors, _unflatten_dense_tensors(flat, tensors)):
        tensor.copy_(averaged)


def average_gradients(module: nn.Module) -> None:
    """Replace every gradient of ``module`` by its mean over the processes."""
    average([p.grad for p in module.parameters() if p.grad is not None])


def average_buffers(module: nn.Module) -> None:
    """Average the floating-point buffers (BatchNorm running statistics) over the processes."""
    average([b for b in module.buffers() if b.is_floating_point()])


def broadcast_weights(module: nn.Module) -> None:
    """Give every process process 0's parameters and buffers."""
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)


def mean(values: torch.Tensor) -> torch.Tensor:
    """``values`` averaged over the processes (a new tensor)."""
    values = values.clone()
    average([values])
    return values


def any_process(flag: bool, device: torch.device) -> bool:
    """True on every process when ``flag`` is true on any (e.g. a stop request)."""
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather(obj: Any) -> list[Any]:
    """Every process's ``obj``, in rank order, on every process."""
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def from_writer(obj: Optional[Any]) -> Any:
    """Process 0's ``obj`` on every process."""
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
