"""The engine has one public face: nothing above it (the API, the CLI, sampling, the metrics, the
studies, the report, the web lab, the benchmarks, the examples) imports an engine module, only
the names `gankit.engine` exports."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import gankit
import gankit.engine

PACKAGE = Path(gankit.__file__).parent
REPO = PACKAGE.parents[1]
ENGINE = PACKAGE / "engine"
ABOVE = [PACKAGE, REPO / "benchmarks", REPO / "examples"]
ENGINE_MODULES = {path.stem for path in ENGINE.glob("*.py") if path.stem != "__init__"}
# the building blocks the engine stands on never reach up into it (docs/architecture.md)
BELOW = ["nets", "losses.py", "objectives.py", "regularize.py", "priors.py", "augment.py", "data", "track",
         "registry.py", "quantities.py", "config.py", "rundir", "errors.py", "fsutil.py"]


def engine_reaches(paths: list[Path]) -> list[str]:
    """Every import, in the files under ``paths``, of an engine module rather than the engine's face:
    ``import gankit.engine.X``, ``from gankit.engine.X import ...`` or ``from gankit.engine import X``
    where X is one of its modules."""
    found = []
    for path in (p for root in paths for p in ([root] if root.is_file() else sorted(root.rglob("*.py")))):
        if ENGINE in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path}:{node.lineno}" if hasattr(node, "lineno") else str(path)
            if isinstance(node, ast.Import):
                found += [f"{where}: import {a.name}" for a in node.names if a.name.startswith("gankit.engine.")]
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("gankit.engine."):
                    found.append(f"{where}: from {node.module} import ...")
                elif node.module == "gankit.engine":
                    found += [f"{where}: from gankit.engine import {a.name} (a module)" for a in node.names
                              if a.name in ENGINE_MODULES]
    return found


def engine_imports(paths: list[Path]) -> list[str]:
    """Every import of the engine at all in the files under ``paths``."""
    found = []
    for path in (p for root in paths for p in ([root] if root.is_file() else sorted(root.rglob("*.py")))):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path}:{node.lineno}: {name}" for name in names if name.startswith("gankit.engine")]
    return found


def test_nothing_above_the_engine_imports_its_modules():
    assert engine_reaches(ABOVE) == []


def test_the_building_blocks_do_not_import_the_engine():
    assert engine_imports([PACKAGE / name for name in BELOW]) == []


def test_the_face_names_what_it_exports_and_each_is_there():
    for name in gankit.engine.__all__:
        assert getattr(gankit.engine, name) is not None, name
    assert {"new_run", "resume_run", "fit", "read_checkpoint", "TrainableGan", "TrainingStopped"} <= set(
        gankit.engine.__all__)


def test_the_check_sees_each_kind_of_reach(tmp_path):
    (tmp_path / "a.py").write_text("import gankit.engine.gan\n")
    (tmp_path / "b.py").write_text("from gankit.engine.checkpoint import read_checkpoint\n")
    (tmp_path / "c.py").write_text("from gankit.engine import distributed, fit\n")
    (tmp_path / "d.py").write_text("from gankit.engine import fit, read_checkpoint\nimport gankit.engine\n")
    found = engine_reaches([tmp_path])
    assert len(found) == 3 and not any("d.py" in line for line in found), found
    assert importlib.import_module("gankit.engine.distributed")  # "distributed" is a module of the engine
