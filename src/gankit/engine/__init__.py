"""The training engine, and its public face: what the layers above it (the API, sampling, the
metrics, the studies, the web lab, the benchmarks) may use. Nothing above imports an engine
module directly; tests/test_engine_face.py checks it.

    from gankit.engine import TrainableGan, new_run, resume_run, fit

- :class:`TrainableGan` (:mod:`~gankit.engine.build`): a GAN built from a config as a run builds
  it, stepped by hand (the web lab's toy, the speed benchmark); :class:`Gan` is what it steps,
  :class:`Speed` the speed switches it is built with, :class:`WeightAverage` a moving average of
  G's weights;
- :func:`new_run`, :func:`resume_run` (:mod:`~gankit.engine.session`): a run ready to train, made
  anew or read back from its run directory; :func:`fit` (:mod:`~gankit.engine.train`) trains it,
  ending with :class:`TrainingStopped` when asked to stop;
- reading a checkpoint (:mod:`~gankit.engine.checkpoint`): :func:`read_checkpoint`,
  :func:`load_weights`, :func:`import_generator`, the step of a checkpoint or of exported weights;
- several processes (:mod:`~gankit.engine.distributed`): :func:`launched_processes` says which
  this one is, :func:`end_processes` ends the group.

Inside: one iteration of the algorithm and the GAN it steps (:mod:`~gankit.engine.gan`), eager or
recorded as a CUDA graph (:mod:`~gankit.engine.graphs`), the loop and its cadence
(:mod:`~gankit.engine.train`), what the loop writes (:mod:`~gankit.engine.tracker`), checkpoints,
health checks, speed switches, several processes.
"""

from gankit.engine.build import FIXED_NOISE_SEED_OFFSET, TrainableGan, build_gan, generate, prepare, shown_scores
from gankit.engine.checkpoint import (EMA_KEY, checkpoint_step, import_generator, load_weights, read_checkpoint,
                                      weights_step)
from gankit.engine.distributed import Processes, launched_processes
from gankit.engine.distributed import stop as end_processes
from gankit.engine.ema import WeightAverage
from gankit.engine.gan import Gan
from gankit.engine.session import Session, new_run, resume_run
from gankit.engine.speed import Speed
from gankit.engine.stop import TrainingStopped
from gankit.engine.train import fit, initial_statistics

__all__ = ["EMA_KEY", "FIXED_NOISE_SEED_OFFSET", "Gan", "Processes", "Session", "Speed", "TrainableGan",
           "TrainingStopped", "WeightAverage", "build_gan", "checkpoint_step", "end_processes", "fit", "generate", "import_generator",
           "initial_statistics", "launched_processes", "load_weights", "new_run", "prepare", "read_checkpoint",
           "resume_run", "shown_scores", "weights_step"]
