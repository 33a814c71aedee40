"""A run directory made by gankit 0.1 as released (tests/fixtures/release-0.1-run: digits, 40
steps, tiny networks, a weight average) still loads, samples, reports, serves and resumes."""

import shutil
from pathlib import Path

import pytest
import torch

import gankit
from gankit.rundir import RunDir

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

RELEASED = Path(__file__).parent / "fixtures" / "release-0.1-run"


@pytest.fixture
def released(tmp_path):
    """A copy of the released run in runs/ (the fixture itself is never written)."""
    run = tmp_path / "runs" / "release-0.1"
    shutil.copytree(RELEASED, run)
    return run


def test_it_loads_with_its_records_grids_and_generator(released):
    run = gankit.load(released)
    assert (run.step, run.status) == (40, "finished")
    assert sorted(run.grids) == [0, 20, 40]
    rows = RunDir(released).records()
    assert [r["step"] for r in rows if "d_real" in r][-1] == 40
    assert RunDir(released).exported_step() == 40
    samples = run.sample(6, seed=1)
    assert samples.shape == (6, 1, 16, 16) and torch.isfinite(samples).all()
    assert samples.abs().max() <= 1


def test_the_report_reads_it(released, tmp_path):
    page = gankit.load(released).report(tmp_path / "page.html").read_text()
    assert "release-0.1" in page and "digits, 16×16, 1 channel" in page


def test_the_web_lab_lists_and_samples_it(released):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from gankit.web.server import create_app

    app = create_app(released.parent, released.parent.parent / "studies", token="release-token")
    with TestClient(app, headers={"Authorization": "Bearer release-token"}) as client:
        runs = client.get("/api/runs").json()["runs"]
        assert [(r["id"], r["status"], r["step"]) for r in runs] == [("release-0.1", "finished", 40)]
        picture = client.get("/api/runs/release-0.1/samples.png", params={"count": 4})
        assert picture.status_code == 200 and picture.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_it_resumes_where_it_stopped(released):
    before = RunDir(released).records()
    run = gankit.train(resume=released, overrides={"train.steps": 60}, progress=False, say=lambda text: None)
    assert (run.step, run.status) == (60, "finished")
    after = RunDir(released).records()
    assert after[:len(before)] == before  # the released rows are kept as they were
    assert [r["step"] for r in after if "d_real" in r and r["step"] > 40] == [50, 60]
