"""The example notebook runs headless from top to bottom (a short run), so it cannot rot."""

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "dcgan_homework.ipynb"


def test_the_dcgan_homework_notebook_runs_end_to_end(tmp_path, monkeypatch, shared_data):
    steps = 40
    monkeypatch.setenv("GANKIT_EXAMPLE_STEPS", str(steps))
    monkeypatch.setenv("GANKIT_EXAMPLE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GANKIT_DATA_DIR", str(shared_data))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert f"dcgan-mnist: {steps} steps" in text  # the shared MNIST, not the embedded fallback
    pictures = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(pictures) == 4  # grids of steps 0 and 40, the loss curves, the three priors side by side
    rich = [out["data"]["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    assert any("dcgan-homework" in page and "data:image/png;base64," in page for page in rich)  # the run's own view
    assert any("D loss (real)" in page for page in rich)  # the loss table
    assert any("application/vnd.jupyter.widget-view+json" in out.get("data", {}) for out in outputs)  # the progress bar
    run_dir = tmp_path / "runs" / "dcgan-homework"
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step_000000.png", f"step_{steps:06d}.png"]
