"""gankit: train, sample and inspect generative adversarial networks.

From Python: ``gankit.train``, ``gankit.load`` and the :class:`Run` they return,
``gankit.study``, ``gankit.export`` and ``gankit.serve`` (see :mod:`gankit.api`: each command of
the ``gankit`` CLI is one of these functions); ``gankit.Family`` to bring networks of your own (``model.arch`` set to
``package.module:Family``); every refusal raises ``gankit.GankitError``.
"""

__version__ = "0.1.0"

__all__ = ["train", "load", "Run", "study", "export", "serve", "Family", "GankitError", "__version__"]

_PUBLIC = {"train": "gankit.api", "load": "gankit.api", "Run": "gankit.api", "study": "gankit.api",
           "export": "gankit.api", "serve": "gankit.api", "Family": "gankit.nets", "GankitError": "gankit.errors"}


def __getattr__(name: str):
    # Imported on first use, so `gankit --help` and the like do not pay for torch.
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'gankit' has no attribute '{name}'")
