"""The registries: every kind of unit gankit is built from, by name, with what the rest needs
to know of each (labels, units, what applies to it). Each unit registers itself in its own
module; config validation, error suggestions, the report, the web lab and the health checks read
the registry. Adding a loss, a prior, a data source or a measure is one unit and one
``REGISTRY.register(name, entry)``, from inside gankit or outside it:

    from gankit.registry import LOSSES
    LOSSES.register("squared-hinge", SquaredHinge)   # then: gankit train train.loss=squared-hinge

A registry fills itself with gankit's own units on first use (importing the module that holds
them), so reading one costs nothing until then and this module imports no torch.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from typing import Callable, Generic, Iterator, Optional, TypeVar

from gankit.errors import UserError

T = TypeVar("T")


def suggestion(word: str, choices: list[str], prefix: str = "") -> str:
    """`` (did you mean x or y?)`` for the close matches of ``word``, or ''."""
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    return " (did you mean " + " or ".join(prefix + c for c in close) + "?)" if close else ""


class Registry(Generic[T]):
    """Units of one kind by name. ``kind`` names it in messages ("loss"); ``plural`` in lists;
    ``home``: the module that registers gankit's own, imported on first use."""

    def __init__(self, kind: str, home: str, plural: Optional[str] = None,
                 on_register: Optional[Callable[[T], None]] = None):
        self.kind = kind
        self.on_register = on_register  # told of each entry as it is registered
        self.plural = plural or f"{kind}s"
        self.home = home
        self._entries: dict[str, T] = {}
        self._loaded = False
        self._lock = threading.RLock()

    def _load(self) -> None:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._loaded = True  # set first: the home module registers into this registry
                    try:
                        importlib.import_module(self.home)
                    except BaseException:
                        self._loaded = False
                        raise

    def register(self, name: str, entry: T, *, replace: bool = False) -> T:
        """Add ``entry`` under ``name`` (a name taken already is refused unless ``replace``)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} needs a name")
        with self._lock:
            if name in self._entries and not replace and self._entries[name] is not entry:
                raise ValueError(f"a {self.kind} named '{name}' is registered already")
            self._entries[name] = entry
        if self.on_register is not None:
            self.on_register(entry)
        return entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a unit registered for a while, e.g. by a test)."""
        with self._lock:
            self._entries.pop(name, None)

    def names(self) -> list[str]:
        """Every registered name, gankit's first, in registration order."""
        self._load()
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs."""
        self._load()
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def unknown(self, name: str) -> str:
        """The one line for a name nobody registered."""
        names = self.names()
        return f"unknown {self.kind} '{name}'{suggestion(str(name), names)}; {self.plural}: {', '.join(names)}"

    def get(self, name: str) -> T:
        """The entry of ``name``; a UserError naming the choices for an unknown one."""
        self._load()
        entry = self._entries.get(name)
        if entry is None:
            raise UserError(self.unknown(name))
        return entry

    def find(self, name: str) -> Optional[T]:
        """The entry of ``name``, or None."""
        self._load()
        return self._entries.get(name)

    def check(self, name: str) -> str:
        """``name`` if it is registered, else a ValueError (a config field's check)."""
        if name not in self:
            raise ValueError(self.unknown(name))
        return name


def _loss_registered(loss: object) -> None:
    """A loss brings the quantities it derives (the Wasserstein estimate, ...) with it."""
    from gankit.quantities import register_loss_quantities

    register_loss_quantities(loss)


LOSSES: Registry = Registry("loss", "gankit.losses", "losses", _loss_registered)  # adversarial losses (train.loss)
PRIORS: Registry = Registry("prior", "gankit.priors")  # latent distributions (train.prior)
FAMILIES: Registry = Registry("network family", "gankit.nets", "network families")  # model.arch
CONDITIONINGS: Registry = Registry("conditioning", "gankit.nets.heads")  # model.conditional: D's head
SOURCES: Registry = Registry("data source", "gankit.data")  # data.source
OPTIMIZERS: Registry = Registry("optimizer", "gankit.engine.optim")  # optim.g.name, optim.d.name
MEASURES: Registry = Registry("measure", "gankit.studies.measures")  # a study's measure:
QUANTITIES: Registry = Registry("quantity", "gankit.quantities", "quantities")  # logged statistics, evaluation metrics
