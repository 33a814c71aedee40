"""Shared fixtures: where the real test data lives, and a private cache for each session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One thread per worker: pytest -n 2 on 2 cores with 2 threads each is 4x oversubscribed.
    torch.set_num_threads(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--soak``: also run the exhaustive variants (marked ``soak``) that one representative
    of each stands for in the everyday suite (`make soak`)."""
    parser.addoption("--soak", action="store_true", help="also run the tests marked soak (make soak)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the soak variants out unless --soak asks for them."""
    if config.getoption("--soak"):
        return
    kept = [item for item in items if item.get_closest_marker("soak") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("soak") is not None])
        items[:] = kept


def shared_data_dir() -> Path:
    """Real datasets for tests: $GANKIT_DATA_DIR, by default ../shared/data beside the repo."""
    return Path(os.environ.get("GANKIT_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder, or a skip saying why it is missing."""
    root = shared_data_dir()
    if not root.is_dir():
        pytest.skip(f"real test data not found at {root} (set GANKIT_DATA_DIR)")
    return root


@pytest.fixture(scope="session")
def mnist_root(shared_data: Path) -> Path:
    """A data.root holding MNIST in torchvision's layout (compressed raw files)."""
    if not (shared_data / "MNIST" / "raw").is_dir():
        pytest.skip(f"MNIST not found under {shared_data}")
    return shared_data


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep decompressed datasets and trained classifiers out of the user's home during tests.
    The workers of one `pytest -n` run share it, so each classifier is trained once per run."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "gankit-cache"  # this run's folder, beside the workers'
        shared.mkdir(exist_ok=True)
        os.environ["GANKIT_CACHE"] = str(shared)
    else:
        os.environ["GANKIT_CACHE"] = str(tmp_path_factory.mktemp("gankit-cache"))


@pytest.fixture
def gankit(capsys):
    """The `gankit` command run in-process: ``gankit(*argv) -> (exit code, stdout, stderr)``."""
    from gankit.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            main(list(argv))
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def command(gankit):
    """The same as ``gankit``, for test modules that import the gankit package by that name."""
    return gankit


CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: `make test` installs it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module, driven by Playwright (a skip saying why when either is missing)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get, as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
