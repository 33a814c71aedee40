"""Python processes the web lab starts (trainings, toy workers) in Python's isolated mode.

A process started with ``python -m`` or ``python -c`` puts its working folder first on
``sys.path``, and with it any ``.py`` file somebody dropped there (``numpy.py``, ``evilmod.py``):
it would run as the person who started ``gankit serve``. So every process the server starts
runs ``python -I -u -c BOOTSTRAP`` (isolated: no working folder, no user site, no ``PYTHON*``
variables on its path) and gets back exactly what gankit needs through the environment:

- ``GANKIT_ISOLATED_PATH``: the server's own ``sys.path`` without the working folder (and
  without the user site unless gankit's own modules were loaded from it), so packages found
  through ``PYTHONPATH`` or a cluster's module system are still found;
- ``GANKIT_ISOLATED_MODULES``: the packages the owner allowed with ``gankit serve
  --allow-import PACKAGE`` that live in a folder left off that path (the working folder, say),
  each by its own location, so that nothing else of that folder becomes importable.

:func:`strip_working_folder` applies the same path to the server process itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import site
import sys
from typing import Optional, Sequence

from gankit.errors import UserError

PATH_VARIABLE = "GANKIT_ISOLATED_PATH"
MODULES_VARIABLE = "GANKIT_ISOLATED_MODULES"
# Runs in the fresh interpreter before anything else: only the trusted path, then gankit's entry.
BOOTSTRAP = ("import json, os, sys; sys.path[:] = json.loads(os.environ.pop('GANKIT_ISOLATED_PATH')); "
             "from gankit.web.isolated import child_main; child_main()")


def _real(entry: str) -> str:
    return os.path.realpath(entry or os.curdir)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _user_site() -> Optional[str]:
    try:
        folder = site.getusersitepackages()
    except (AttributeError, OSError):
        return None
    return _real(folder) if folder else None


def _gankit_folder() -> str:
    import gankit

    return _real(os.path.dirname(os.path.dirname(os.path.abspath(gankit.__file__))))


def _loaded_from(folder: str) -> bool:
    """Whether a module this process has loaded comes from ``folder`` (then it is needed)."""
    for module in list(sys.modules.values()):
        origin = getattr(module, "__file__", None)
        if origin and _inside(_real(origin), folder):
            return True
    return False


def trusted_path(working_folder: Optional[str] = None) -> list[str]:
    """``sys.path`` as absolute folders, without the working folder (and the user site, unless
    something loaded here came from it); the folder gankit itself lives in is always kept."""
    working = _real(working_folder or os.getcwd())
    user_site = _user_site()
    keep_user_site = user_site is not None and _loaded_from(user_site)
    needed = _gankit_folder()
    path: list[str] = []
    for entry in sys.path:
        folder = _real(entry)
        if folder == working and folder != needed:
            continue
        if user_site is not None and not keep_user_site and _inside(folder, user_site):
            continue
        if folder not in path:
            path.append(folder)
    if needed not in path:
        path.append(needed)
    return path


def strip_working_folder() -> None:
    """Take the working folder off this process's own ``sys.path`` (``python -m gankit serve``
    puts it first), so that nothing the server imports later can come from a file dropped there."""
    sys.path[:] = trusted_path()


def allowed_locations(packages: Sequence[str], path: Sequence[str]) -> dict[str, list]:
    """For each allowed package whose top-level module is not found on ``path``: its name ->
    [file, package folders or None], found where this process finds it now. A package that
    cannot be found at all is a UserError (the owner mistyped ``--allow-import``)."""
    locations: dict[str, list] = {}
    for package in packages:
        top = package.split(".", 1)[0]
        if top in locations:
            continue
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            raise UserError(f"--allow-import {package}: no module named '{top}' can be found; install it, "
                            "put its folder on PYTHONPATH, or start gankit serve in the folder that holds it")
        if importlib.machinery.PathFinder.find_spec(top, list(path)) is not None:
            continue  # the trusted path finds it by itself
        if spec.origin is None or not os.path.isfile(spec.origin):
            raise UserError(f"--allow-import {package}: '{top}' is a namespace package outside the trusted "
                            "path; install it or give it an __init__.py")
        folders = list(spec.submodule_search_locations) if spec.submodule_search_locations is not None else None
        locations[top] = [os.path.abspath(spec.origin), folders]
    return locations


class FixedLocations(importlib.abc.MetaPathFinder):
    """Finds only the named top-level modules, each at its recorded location (consulted after
    the ordinary path, so it never hides an installed module)."""

    def __init__(self, locations: dict[str, list]):
        self.locations = locations

    def find_spec(self, name, path=None, target=None):
        """The spec of ``name`` if it is one of the recorded modules, else None."""
        location = self.locations.get(name)
        if location is None:
            return None
        origin, folders = location
        return importlib.util.spec_from_file_location(name, origin, submodule_search_locations=folders)


def install(locations: dict[str, list]) -> None:
    """Make the recorded modules importable in this process (once)."""
    if locations and not any(isinstance(f, FixedLocations) and f.locations == locations for f in sys.meta_path):
        sys.meta_path.append(FixedLocations(locations))


def check_package_names(packages: Sequence[str]) -> tuple[str, ...]:
    """``packages`` if each is a dotted package name, else a UserError naming the first that is not."""
    for package in packages:
        if not package or not all(part.isidentifier() for part in package.split(".")):
            raise UserError(f"--allow-import {package!r} is not a package name (e.g. mylab or mylab.nets)")
    return tuple(packages)


class Isolation:
    """What the processes of one ``gankit serve`` may import: the trusted path, the packages
    its owner allowed (``--allow-import``) and where those live. Made once when the server
    starts, before the working folder leaves its path."""

    def __init__(self, allow_imports: Sequence[str] = ()):
        self.allowed = check_package_names(allow_imports)
        self.path = trusted_path()
        self.locations = allowed_locations(self.allowed, self.path)
        install(self.locations)  # the server samples allowed families too

    def allows(self, module: str) -> bool:
        """Whether ``module`` lies in a package the owner allowed."""
        return any(module == p or module.startswith(p + ".") for p in self.allowed)

    def check(self, cfg, what: str) -> None:
        """A UserError if ``cfg`` names code to import outside the allowed packages; ``what``
        says whose config it is ("the request", "run X")."""
        from gankit.config import import_paths

        for key, target in import_paths(cfg).items():
            module = target.partition(":")[0]
            if not self.allows(module):
                top = module.split(".", 1)[0]
                raise UserError(f"{what} sets {key}={target}, an import path: the web lab imports no code a "
                                f"request names (its owner may allow a package: gankit serve --allow-import {top})")

    def command(self, entry: str, args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """The command line and environment that run ``entry`` ("module:function", called
        without arguments; it reads ``sys.argv[1:]`` = ``args``) in an isolated interpreter."""
        env = {k: v for k, v in os.environ.items() if k != "GANKIT_TOKEN"}  # trainings need no token
        env[PATH_VARIABLE] = json.dumps(self.path)
        env[MODULES_VARIABLE] = json.dumps(self.locations)
        return [sys.executable, "-I", "-u", "-c", BOOTSTRAP, entry, *args], env


def child_main() -> None:
    """In the isolated interpreter (after BOOTSTRAP set the path): make the allowed modules
    importable, then call the entry with the remaining arguments."""
    install(json.loads(os.environ.pop(MODULES_VARIABLE, "{}") or "{}"))
    entry = sys.argv.pop(1)
    sys.argv[0] = "gankit"
    module, _, function = entry.partition(":")
    result = getattr(importlib.import_module(module), function)()
    sys.exit(result if isinstance(result, int) else 0)
