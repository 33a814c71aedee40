"""gankit: train, sample and inspect generative adversarial networks.

From Python: ``gankit.train``, ``gankit.load`` and the :class:`Run` they return,
``gankit.evaluate_images``, ``gankit.study``, ``gankit.report``, ``gankit.export``, ``gankit.serve``,
``gankit.presets`` and ``gankit.studies`` (see :mod:`gankit.api`: each command of the ``gankit`` CLI
is one of these functions); ``gankit.Family`` to bring networks of your own (``model.arch`` set to
``package.module:Family``); every refusal raises ``gankit.GankitError``.
"""

__version__ = "0.1.0"

__all__ = ["train", "load", "Run", "evaluate_images", "study", "report", "export", "serve", "presets", "studies",
           "Family", "GankitError", "__version__"]

_PUBLIC = {**{name: "gankit.api" for name in ("train", "load", "Run", "evaluate_images", "study", "report", "export",
                                              "serve", "presets", "studies")},
           "Family": "gankit.nets", "GankitError": "gankit.errors"}


def __getattr__(name: str):
    # Imported on first use, so `gankit --help` and the like do not pay for torch.
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'gankit' has no attribute '{name}'")
