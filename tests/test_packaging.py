"""gankit as a user installs it: a wheel and an sdist built from the checkout, and the wheel
installed into a fresh virtual environment that already holds torch (as a Colab runtime does),
without pip touching that torch.

Offline and quick: the build runs without isolation (setuptools and build come from the test's
own environment), and the fresh venv (made without pip of its own) sees the test environment's
packages, pip included, through a folder of symlinks named in a .pth file, so pip finds torch &
co. already installed and only adds gankit.

``installed_wheel`` (the fixture) and ``run_in_fresh_venv`` (the helper) are meant for more
tests of the installed package: ``run_in_fresh_venv(installed_wheel, CODE)`` runs Python code
with the fresh venv's interpreter, from a folder outside the checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The whole module shares one build and one venv: keep it on one xdist worker.
pytestmark = [pytest.mark.xdist_group("packaging"), pytest.mark.slow]

BUILD_TIMEOUT = 180
STEP_TIMEOUT = 180


@dataclass(frozen=True)
class FreshVenv:
    """A venv with the built wheel installed, and what the tests need to know about it."""

    root: Path  # the venv
    site: Path  # its site-packages
    links: Path  # the folder of symlinks to the test environment's packages
    workdir: Path  # an empty folder outside the checkout to run commands in
    wheel: Path
    sdist: Path
    source: Path  # the copy of the checkout the artifacts were built from
    pip_output: str  # what `pip install WHEEL` printed
    torch_before: tuple[str, str]  # torch's version and real location, seen from the venv before the install

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.root / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for commands in the fresh venv: nothing that points Python at the checkout
    or at the test's own venv, one thread."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PYTHONNOUSERSITE="1", OMP_NUM_THREADS="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run_in_fresh_venv(venv: FreshVenv, code: str, *args: str, timeout: float = STEP_TIMEOUT,
                      check: bool = True) -> subprocess.CompletedProcess:
    """Run ``code`` (a Python program) with the fresh venv's interpreter, in ``venv.workdir``
    (outside the checkout, so nothing is imported from src/ by accident). ``check``: fail the test,
    showing both streams, unless it exits 0."""
    result = subprocess.run([str(venv.python), "-c", code, *args], cwd=venv.workdir, env=clean_env(),
                            capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    return result


def checkout_files(repo: Path) -> list[Path]:
    """The checkout's files as a clone would have them: tracked files, plus new files git does not
    ignore (work not yet committed), in their working-tree versions; never build output, venvs, runs."""
    try:
        listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                capture_output=True, check=True, timeout=60).stdout.decode()
        names = [n for n in listed.split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = []
    if names:
        return [Path(n) for n in names if (repo / n).is_file() or (repo / n).is_symlink()]
    # No git (or not a repository): everything but what building and running leave behind.
    skip = {".git", ".venv", "build", "dist", "runs", "__pycache__", ".pytest_cache"}
    return [p.relative_to(repo) for p in repo.rglob("*")
            if p.is_file() and not (skip & set(p.relative_to(repo).parts))
            and not any(part.endswith(".egg-info") for part in p.relative_to(repo).parts)]


def copy_checkout(repo: Path, dest: Path) -> Path:
    """Copy the checkout's files to ``dest``, so that building leaves no build/ or *.egg-info in the repo."""
    for name in checkout_files(repo):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target, follow_symlinks=False)
    return dest


def project_name(entry: str) -> str:
    """The normalised project name of a site-packages entry such as ``Foo_Bar-1.0.dist-info``."""
    return re.sub(r"[-_.]+", "-", entry.split("-")[0]).lower()


def is_gankits_own(entry: str) -> bool:
    """Whether a site-packages entry is the test environment's own gankit (its package, its
    metadata, or the files of an editable install), which the fresh venv must not see."""
    lowered = entry.lower()
    if lowered.startswith("__editable__") or lowered == "gankit":
        return True
    if lowered.endswith((".dist-info", ".egg-info", ".egg-link")) and project_name(entry) == "gankit":
        return True
    return lowered.endswith(".pth") and "gankit" in lowered


def link_packages(source_sites: list[Path], links: Path, already: set[str]) -> None:
    """Fill ``links`` with a symlink to every entry of ``source_sites`` but gankit's own, .pth
    files (never processed there), caches, and projects the fresh venv has itself (two copies
    of one project would confuse pip)."""
    links.mkdir()
    for site in source_sites:
        for entry in sorted(site.iterdir()):
            name = entry.name
            if is_gankits_own(name) or name.endswith(".pth") or name == "__pycache__":
                continue
            if name in already or project_name(name) in already:
                continue
            if not (links / name).exists():
                (links / name).symlink_to(entry)


def site_packages_of(python: Path) -> Path:
    """The purelib folder of the interpreter ``python``."""
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True, env=clean_env(), timeout=60)
    return Path(out.stdout.strip())


TORCH_WHERE = ("import importlib.metadata as m, importlib.util as u, os; "
               "print(m.version('torch')); print(os.path.realpath(u.find_spec('torch').origin))")


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    """Build the wheel and the sdist from a copy of the checkout, make a fresh venv that sees the
    test environment's packages (torch included, gankit excluded), and pip-install the wheel into it."""
    tmp = tmp_path_factory.mktemp("packaging")
    repo_litter_before = {p.name for p in (REPO / "build", REPO / "dist") if p.exists()}

    source = copy_checkout(REPO, tmp / "source")
    dist = tmp / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
                           cwd=source, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                           env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert built.returncode == 0, f"python -m build failed:\n{built.stdout[-4000:]}\n{built.stderr[-4000:]}"
    assert {p.name for p in (REPO / "build", REPO / "dist") if p.exists()} == repo_litter_before, \
        "building left build/ or dist/ in the repository"
    wheels, sdists = sorted(dist.glob("gankit-*.whl")), sorted(dist.glob("gankit-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, f"expected one wheel and one sdist in {sorted(dist.iterdir())}"

    root = tmp / "venv"
    # Without pip of its own: ensurepip's setuptools would be older than what torch requires. The
    # test environment's pip comes through the links (python -m pip), installing into this venv.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, capture_output=True,
                   timeout=120)
    site = site_packages_of(root / "bin" / "python")
    already = {e.name for e in site.iterdir()} | {project_name(e.name) for e in site.iterdir()}
    ours = {Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")}  # the test's own venv
    links = tmp / "links"
    link_packages(sorted(ours), links, already)
    (site / "_gankit_test_links.pth").write_text(f"{links}\n")
    workdir = tmp / "work"
    workdir.mkdir()

    def torch_seen() -> tuple[str, str]:
        out = subprocess.run([str(root / "bin" / "python"), "-c", TORCH_WHERE], cwd=workdir, env=clean_env(),
                             capture_output=True, text=True, check=True, timeout=60).stdout.split("\n")
        return out[0], out[1]

    torch_before = torch_seen()
    installed = subprocess.run([str(root / "bin" / "python"), "-m", "pip", "install", "--no-index", "--no-build-isolation",
                                str(wheels[0])],
                               cwd=workdir, env=clean_env(), capture_output=True, text=True, timeout=STEP_TIMEOUT)
    output = installed.stdout + installed.stderr
    assert installed.returncode == 0, f"pip install of the wheel failed:\n{output[-6000:]}"
    return FreshVenv(root=root, site=site, links=links, workdir=workdir, wheel=wheels[0], sdist=sdists[0],
                     source=source, pip_output=output, torch_before=torch_before)


def package_data_files(source: Path) -> list[str]:
    """Every file [tool.setuptools.package-data] names, as paths inside the package (gankit/...)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    patterns = tomllib.loads((source / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["gankit"]
    package = source / "src" / "gankit"
    found = []
    for pattern in patterns:
        matches = sorted(p for p in package.glob(pattern) if p.is_file())
        assert matches, f"package-data pattern {pattern!r} matches nothing in the source"
        found += [f"gankit/{p.relative_to(package).as_posix()}" for p in matches]
    return found


def test_wheel_and_sdist_hold_the_package_data(installed_wheel: FreshVenv) -> None:
    wanted = package_data_files(installed_wheel.source)
    assert any(name.startswith("gankit/presets/") for name in wanted)
    assert any(name.startswith("gankit/report/templates/") for name in wanted)
    assert any(name.startswith("gankit/studies/builtin/") for name in wanted)
    with zipfile.ZipFile(installed_wheel.wheel) as wheel:
        in_wheel = set(wheel.namelist())
    assert not [name for name in wanted if name not in in_wheel], "package data missing from the wheel"
    assert "gankit/cli.py" in in_wheel
    with tarfile.open(installed_wheel.sdist) as sdist:
        in_sdist = {"/".join(name.split("/")[1:]) for name in sdist.getnames()}
    assert not [name for name in wanted if f"src/{name}" not in in_sdist], "package data missing from the sdist"
    assert {"pyproject.toml", "README.md"} <= in_sdist


def test_wheel_requires_ranges_not_pins(installed_wheel: FreshVenv) -> None:
    with zipfile.ZipFile(installed_wheel.wheel) as wheel:
        meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [line.split(":", 1)[1].strip() for line in wheel.read(meta).decode().splitlines()
                    if line.startswith("Requires-Dist:")]
    core = [r for r in requires if "extra ==" not in r]
    torch_req = next(r for r in core if re.match(r"torch\b(?!-|vision)", r))
    assert ">=" in torch_req and "<3" in torch_req, torch_req
    assert not [r for r in requires if "==" in r.split(";")[0]], f"exact pins in the wheel's requirements: {requires}"
    extras = {r.split("extra ==")[1].strip().strip("'\"") for r in requires if "extra ==" in r}
    assert {"cluster", "export", "notebook", "test"} <= extras


def test_installing_the_wheel_keeps_the_torch_already_there(installed_wheel: FreshVenv) -> None:
    output = installed_wheel.pip_output
    assert "Successfully installed gankit-" in output, output[-3000:]
    assert "Uninstalling" not in output, output[-3000:]
    assert "Collecting torch" not in output, output[-3000:]
    assert not [line for line in output.splitlines() if line.startswith("Collecting")], output[-3000:]
    version, where = run_in_fresh_venv(installed_wheel, TORCH_WHERE).stdout.split("\n")[:2]
    assert (version, where) == installed_wheel.torch_before
    assert version == metadata.version("torch")  # the torch of the test's own environment, the locked one
    import torch
    assert where == os.path.realpath(torch.__file__)


def test_gankit_imports_from_the_fresh_venv(installed_wheel: FreshVenv) -> None:
    result = run_in_fresh_venv(installed_wheel, "import gankit, os; print(gankit.__version__); "
                                                "print(os.path.realpath(gankit.__file__))")
    version, where = result.stdout.split("\n")[:2]
    assert version == installed_wheel.wheel.name.split("-")[1]  # the version that was built
    assert Path(where).is_relative_to(installed_wheel.site.resolve()), where
    assert not Path(where).is_relative_to(REPO), where


def test_gankit_command_trains_a_few_steps(installed_wheel: FreshVenv) -> None:
    runs = installed_wheel.workdir / "runs"
    result = subprocess.run([str(installed_wheel.bin / "gankit"), "train", "train.steps=5", "train.sample_steps=[]",
                             "--runs-dir", str(runs), "--no-progress"],
                            cwd=installed_wheel.workdir, env=clean_env(), capture_output=True, text=True,
                            timeout=STEP_TIMEOUT)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    run_dirs = [p for p in runs.iterdir() if p.is_dir()]
    assert len(run_dirs) == 1, run_dirs
    assert (run_dirs[0] / "config.yaml").is_file()
    assert (run_dirs[0] / "generator.safetensors").is_file()


API_EXAMPLE = """
import sys, gankit
run = gankit.train(overrides={"train.steps": 6, "train.log_every": 3, "train.sample_steps": []},
                   name="demo", runs_dir=sys.argv[1], progress=False)
x = run.sample(8, prior="normal(-10,1)", seed=0)
print(run.step, tuple(x.shape), gankit.load(run.dir).step)
resumed = gankit.train(resume=run.dir, overrides={"train.steps": 9}, progress=False)
print(resumed.step, [r["step"] for r in run.records])
"""


def test_the_readme_api_example_runs_from_the_installed_wheel(installed_wheel: FreshVenv) -> None:
    result = run_in_fresh_venv(installed_wheel, API_EXAMPLE, str(installed_wheel.workdir / "api-runs"))
    assert result.stdout.split("\n")[:2] == ["6 (8, 1, 16, 16) 6", "9 [0, 3, 6, 9]"]
