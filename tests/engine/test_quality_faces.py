"""faces-fast, the CPU faces preset, on the shared anime faces: a short run at a fixed number of
steps (not minutes, so that the bar is the same on every machine) must already be on its way to
faces by gankit's image measure.

The preset's own promise (benchmarks/RESULTS.md, "Faces on a laptop") is 30 minutes: about 4,700
steps on one core, FD 68-83, coverage 0.78-0.82. The guard takes the first STEPS steps of such a run
and measures 1,000 samples. Measured in fp32 on one thread, seeds 0 and 1: image FD 1,078 and 1,417,
precision 0.84 and 0.95, coverage 0.024 and 0.014. After 300 steps, seed 0 gives FD 2,013 and
coverage 0.005. The untrained generator scores an image FD near 12,000 with zero precision and
coverage. A preset that stops learning (a broken loss, a rate too high to hold, a collapse onto one
face) stays far above these bars.
"""

import pytest

import gankit

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

STEPS = 400
SAMPLES = 1000
FD_BAR = 2500
PRECISION_BAR = 0.5
COVERAGE_BAR = 0.005


def test_faces_fast_is_on_its_way_to_faces_after_a_few_hundred_steps(shared_data, tmp_path):
    folder = shared_data / "anime_faces"
    if not folder.is_dir():
        pytest.skip(f"anime faces not found under {shared_data}")
    run = gankit.train("faces-fast", {"data.root": str(folder), "train.steps": STEPS, "train.minutes": None,
                                      "train.sample_steps": [], "train.log_every": 100,
                                      "train.checkpoint_every": 100_000, "speed.precision": "fp32"},
                       runs_dir=tmp_path)
    measured = run.evaluate(samples=SAMPLES).as_dict()
    print(f"faces-fast, {STEPS} steps: " + ", ".join(f"{k} {v:.4g}" for k, v in measured.items()))
    assert measured["image_fd"] <= FD_BAR, measured
    assert measured["image_precision"] >= PRECISION_BAR, measured
    assert measured["image_coverage"] >= COVERAGE_BAR, measured
