"""The isolated interpreters the web lab starts: no working folder on their path, the trusted
path of the server, allowed packages from their own location only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import gankit
from gankit.web.isolated import Isolation, trusted_path

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

PROBE = "gankit.web.isolated:child_main"  # any "module:function" works as an entry


def run_isolated(isolation: Isolation, code: str, cwd) -> subprocess.CompletedProcess:
    """``code`` (defining main()) run as an isolated entry from the folder ``cwd``."""
    (cwd / "probe_entry.py").write_text(code)
    argv, env = isolation.command("probe_entry:main", [])
    # the probe's own folder is allowed like a package would be, by its location
    env["GANKIT_ISOLATED_MODULES"] = json.dumps({"probe_entry": [str(cwd / "probe_entry.py"), None],
                                                 **json.loads(env["GANKIT_ISOLATED_MODULES"])})
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_trusted_path_has_no_working_folder_but_keeps_gankits(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", ["", ".", str(tmp_path), *sys.path])
    path = trusted_path()
    assert "" not in path and str(tmp_path) not in path and os.path.realpath(".") not in path
    gankit_folder = os.path.dirname(os.path.dirname(os.path.abspath(gankit.__file__)))
    assert os.path.realpath(gankit_folder) in path
    assert all(os.path.isabs(entry) for entry in path)


def test_a_child_sees_neither_its_working_folder_nor_modules_dropped_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dropped.py").write_text("raise SystemExit('imported the dropped module')\n")
    code = ("import sys, os, importlib.util\n"
            "def main():\n"
            "    print(sys.flags.isolated, importlib.util.find_spec('dropped') is None,\n"
            "          os.getcwd() in sys.path, '' in sys.path, 'GANKIT_ISOLATED_PATH' in os.environ)\n")
    done = run_isolated(Isolation(), code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True", "False", "False", "False"]


def test_an_allowed_package_in_the_working_folder_is_found_by_its_location_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ownlab").mkdir()
    (tmp_path / "ownlab" / "__init__.py").write_text("")
    (tmp_path / "ownlab" / "nets.py").write_text("VALUE = 42\n")
    (tmp_path / "neighbour.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))  # as `python -m gankit serve` would have it
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the finder Isolation installs goes again
    isolation = Isolation(["ownlab.nets"])
    assert isolation.allows("ownlab.nets") and isolation.allows("ownlab.nets.deeper")
    assert not isolation.allows("ownlab") and not isolation.allows("ownlab_other")
    code = ("import importlib.util\n"
            "def main():\n"
            "    import ownlab.nets\n"
            "    print(ownlab.nets.VALUE, importlib.util.find_spec('neighbour') is None)\n")
    done = run_isolated(isolation, code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["42", "True"]
    sys.modules.pop("ownlab", None)
    sys.modules.pop("ownlab.nets", None)


def test_an_allowed_package_that_does_not_exist_is_one_line(tmp_path):
    with pytest.raises(gankit.GankitError, match="--allow-import nosuchpackage_xyz: no module named"):
        Isolation(["nosuchpackage_xyz"])
    with pytest.raises(gankit.GankitError, match="is not a package name"):
        Isolation(["a b"])
