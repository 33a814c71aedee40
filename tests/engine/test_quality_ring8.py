"""A short training run on the 8-Gaussian ring must capture at least 7 of its 8 modes
(4,000 of the preset's 10,000 steps: 8/8 on seeds 0-3 with one thread, 15 s each)."""

from gankit.data.toys import ring8
from gankit.engine.train import fit, new_run
from gankit.metrics.modes import mode_coverage
from gankit.sampling import sample


def test_ring8_preset_captures_the_modes(tmp_path):
    session = new_run("ring8", ["train.steps=4000", "train.sample_steps=[]", "train.log_every=500"],
                      runs_root=tmp_path)
    run_dir = fit(session, show_progress=False)
    points, _ = sample(run_dir, 2500, seed=5)
    mixture = ring8()
    coverage = mode_coverage(points, mixture.means, mixture.std)
    print(coverage)
    assert coverage.modes_captured >= 7, str(coverage)
    assert coverage.high_quality > 0.1, str(coverage)
