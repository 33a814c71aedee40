"""gankit: train, sample and inspect generative adversarial networks.

From Python: ``gankit.train``, ``gankit.load`` and the :class:`Run` they return,
``gankit.evaluate_images``, ``gankit.study``, ``gankit.report``, ``gankit.export``, ``gankit.serve``,
``gankit.presets`` and ``gankit.studies`` (see :mod:`gankit.api`: each command of the ``gankit`` CLI
is one of these functions); ``gankit.Family`` to bring networks of your own (``model.arch`` set to
``package.module:Family``); every refusal raises ``gankit.GankitError``.
"""

import sys
import types

__version__ = "0.1.0"

__all__ = ["train", "load", "Run", "evaluate_images", "study", "report", "export", "serve", "presets", "studies",
           "Family", "GankitError", "__version__"]

_PUBLIC = {**{name: "gankit.api" for name in ("train", "load", "Run", "evaluate_images", "study", "report", "export",
                                              "serve", "presets", "studies")},
           "Family": "gankit.nets", "GankitError": "gankit.errors"}


class _Gankit(types.ModuleType):
    """The package, whose public names stay the API's functions: importing the subpackage
    ``gankit.report`` (or ``gankit.export``, ``gankit.studies``) would otherwise replace the
    function of that name on the package, and ``gankit.report(...)`` would stop working after the
    first report. Those subpackages are reached with ``from gankit.report import ...``."""

    def __setattr__(self, name: str, value) -> None:
        if name in _PUBLIC and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Gankit


def __getattr__(name: str):
    # Imported on first use, so `gankit --help` and the like do not pay for torch.
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'gankit' has no attribute '{name}'")
