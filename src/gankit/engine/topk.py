"""Top-k generator updates (Sinha et al. 2020, "Top-k Training of GANs"): G's step learns only
from the samples of its batch that D scores as most realistic.

A sample D rejects outright lies far from the data, and its gradient tends to push it towards
the wrong mode (or further from its own); dropping those gradients leaves G to sharpen what it
already places well. The share of G's batch that is kept starts at all of it, while D's scores
still say little, and shrinks by ``decay`` after each epoch of the data (a pass of D's real
batches) down to ``floor``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch


@dataclass(frozen=True)
class TopK:
    """Which of D's outputs on G's batch the G step learns from."""

    floor: float  # the smallest share of G's batch kept (the paper's nu)
    decay: float  # the share kept is multiplied by this after each epoch (the paper's gamma)
    batches_per_epoch: int  # D's real batches in one pass over the data
    d_steps: int  # D steps (real batches) per iteration

    def share(self, iteration: int) -> float:
        """The share of G's batch kept in iteration ``iteration`` (0-based)."""
        epoch = iteration * self.d_steps // max(1, self.batches_per_epoch)
        return max(self.floor, self.decay ** epoch)

    def kept(self, iteration: int, n: int) -> int:
        """How many of ``n`` outputs iteration ``iteration`` keeps (at least one)."""
        return max(1, min(n, math.ceil(self.share(iteration) * n - 1e-9)))

    def select(self, out, labels: Optional[torch.Tensor], score: Callable[..., torch.Tensor],
               iteration: int):
        """The outputs ``out`` (a tensor, or a tuple of tensors for heads with several outputs) and
        their ``labels``, cut to the ones ``score`` rates most real, in iteration ``iteration``."""
        first = out[0] if isinstance(out, tuple) else out
        k = self.kept(iteration, first.shape[0])
        if k == first.shape[0]:
            return out, labels
        with torch.no_grad():
            best = score(out).reshape(first.shape[0], -1).mean(1).topk(k).indices
        out = tuple(o[best] for o in out) if isinstance(out, tuple) else out[best]
        return out, (labels[best] if labels is not None else None)


def top_k_updates(floor: Optional[float], decay: float, batches_per_epoch: int, d_steps: int) -> Optional[TopK]:
    """The top-k rule of ``train.top_k`` (None: G learns from its whole batch)."""
    return None if floor is None else TopK(floor, decay, batches_per_epoch, d_steps)
