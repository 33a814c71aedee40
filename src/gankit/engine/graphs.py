"""Running iterations: eagerly, or recorded once as a CUDA graph and replayed.

A replay launches the whole iteration (every D step, the G step, noise sampling, batch
gathering, both optimizer steps) with one call, so the GPU never waits on Python.  The graph
reads its batches through a small index buffer that the host refills before each replay; the
training noise generator is registered with the graph, so every replay draws new noise.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from gankit.config import RunConfig
from gankit.data.batches import Batches
from gankit.engine.gan import Gan, train_iteration
from gankit.engine.optim import decayed_lr, set_lr
from gankit.errors import UserError

Iteration = Callable[[int], torch.Tensor]  # 0-based iteration -> statistics (device tensor)

WARMUP_ITERATIONS = 3  # eager iterations before capture: optimizer state and allocator settle


def schedule_learning_rates(gan: Gan, cfg: RunConfig, step: int) -> None:
    """Set both learning rates for iteration ``step`` (optim.schedule; nothing when constant)."""
    optim = cfg.optim
    if optim.schedule != "constant":
        for optimizer, base_lr in ((gan.g_optimizer, optim.g.lr), (gan.d_optimizer, optim.d.lr)):
            set_lr(optimizer, decayed_lr(base_lr, optim.schedule, step, cfg.train.steps, optim.decay_from))


def advance(gan: Gan, cfg: RunConfig, iterate: Iteration, step: int) -> torch.Tensor:
    """Iteration ``step`` (1-based) as a run takes it: the learning rates of the schedule, k D
    steps and one G step, then the weight average's update (train.ema). Its packed statistics."""
    schedule_learning_rates(gan, cfg, step)
    stats = iterate(step - 1)
    if gan.ema is not None:
        gan.ema.update(gan.generator, step)
    return stats


def eager_iterations(gan: Gan, batches: Batches, d_steps: int) -> Iteration:
    """Each call runs one iteration as ordinary PyTorch code."""
    return lambda iteration: train_iteration(gan, batches.get, iteration, d_steps)


class CudaGraphRecorder:
    """Records a function once as a CUDA graph and replays it (torch.cuda.CUDAGraph)."""

    def __init__(self, noise: torch.Generator) -> None:
        """``noise``: a generator the function draws from; each replay draws new numbers."""
        self.noise = noise
        self.graph: Optional[torch.cuda.CUDAGraph] = None

    def warm_up(self, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Run ``fn`` eagerly on a side stream, as capture requires of the iterations before it."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            out = fn()
        torch.cuda.current_stream().wait_stream(side)
        return out

    def capture(self, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Record ``fn`` without running it; returns its output tensor, refreshed by each replay."""
        self.graph = torch.cuda.CUDAGraph()
        self.graph.register_generator_state(self.noise)
        with torch.cuda.graph(self.graph):
            return fn()

    def replay(self) -> None:
        """Run the recorded work once."""
        self.graph.replay()


class GraphedIterations:
    """Each call runs one iteration; from the fourth on, by replaying a recorded graph.

    The warm-up iterations are real training iterations; the capture records iteration
    ``WARMUP_ITERATIONS`` without running it, and the first replay runs it.
    """

    def __init__(self, gan: Gan, batches: Batches, d_steps: int, recorder=None) -> None:
        """Prepare the index buffer the graph reads its ``d_steps`` batches from."""
        self.gan, self.batches, self.d_steps = gan, batches, d_steps
        self.indices = torch.zeros(d_steps, batches.share, dtype=torch.long, device=batches.device)
        self.recorder = recorder or CudaGraphRecorder(gan.noise)
        self.stats: Optional[torch.Tensor] = None  # the captured iteration's output
        self.warm = 0

    def _batch(self, index: int):
        return self.batches.take(self.indices[index % self.d_steps])

    def _run(self) -> torch.Tensor:
        # The iteration number only selects batches, and those come from the index buffer.
        return train_iteration(self.gan, self._batch, 0, self.d_steps)

    def __call__(self, iteration: int) -> torch.Tensor:
        """Run iteration ``iteration``; returns its statistics (valid until the next call)."""
        for k in range(self.d_steps):
            self.indices[k].copy_(self.batches.indices(iteration * self.d_steps + k))
        if self.stats is None:
            if self.warm < WARMUP_ITERATIONS:
                self.warm += 1
                return self.recorder.warm_up(self._run)
            try:
                self.stats = self.recorder.capture(self._run)
            except RuntimeError as err:  # an operation that cannot be recorded
                detail = " ".join(str(err).split())[:200]
                raise UserError(f"speed.graph: this iteration could not be recorded as a CUDA graph "
                                f"({detail}); train with speed.graph=false") from None
        self.recorder.replay()
        return self.stats


def iterations(gan: Gan, batches: Batches, d_steps: int) -> Iteration:
    """The iteration runner ``gan.speed`` asks for."""
    if gan.speed.graph:
        return GraphedIterations(gan, batches, d_steps)
    return eager_iterations(gan, batches, d_steps)
