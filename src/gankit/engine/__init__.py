"""The training engine, and its public face.

    from gankit.engine import TrainableGan, new_run, resume_run, fit

- :class:`TrainableGan` (:mod:`~gankit.engine.build`): a GAN built from a config as a run builds
  it, stepped by hand (the web lab's toy, the speed benchmark);
- :func:`new_run`, :func:`resume_run` (:mod:`~gankit.engine.session`): a run ready to train, made
  anew or read back from its run directory; :func:`fit` (:mod:`~gankit.engine.train`) trains it.

Inside: one iteration of the algorithm and the GAN it steps (:mod:`~gankit.engine.gan`), eager or
recorded as a CUDA graph (:mod:`~gankit.engine.graphs`), the loop and its cadence
(:mod:`~gankit.engine.train`), what the loop writes (:mod:`~gankit.engine.tracker`), checkpoints,
health checks, speed switches, several processes.
"""

_PUBLIC = {
    "TrainableGan": "gankit.engine.build", "build_gan": "gankit.engine.build", "prepare": "gankit.engine.build",
    "generate": "gankit.engine.build", "shown_scores": "gankit.engine.build",
    "FIXED_NOISE_SEED_OFFSET": "gankit.engine.build",
    "Session": "gankit.engine.session", "new_run": "gankit.engine.session", "resume_run": "gankit.engine.session",
    "fit": "gankit.engine.train", "initial_statistics": "gankit.engine.train",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    # Imported on first use: the engine's modules import each other through this package.
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'gankit.engine' has no attribute '{name}'")
