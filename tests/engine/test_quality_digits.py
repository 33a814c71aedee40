"""The embedded default learns digits: a short run of the `digits` preset against a quality bar.

Same criterion as the MNIST test (gankit.metrics.nearest): generated 16x16 digits must close
most of the nearest-neighbour distance gap between the untrained generator and held-out real
digits (the last 297 of scikit-learn's 1,797), and cover at least 8 of the 10 classes.
"""

import torch

from gankit.config import DataConfig
from gankit.data import load_images
from gankit.data.batches import to_unit_range
from gankit.engine.train import fit, generate, new_run
from gankit.metrics.nearest import nearest_report


def test_default_preset_beats_the_untrained_generator(tmp_path):
    session = new_run(None, ["train.steps=1500", "train.log_every=500", "train.checkpoint_every=5000"],
                      runs_root=tmp_path)
    z = torch.randn(400, 100, generator=torch.Generator().manual_seed(7))
    untrained = generate(session.gan.generator, z)
    fit(session, show_progress=False)
    trained = generate(session.gan.generator, z)

    digits = load_images(DataConfig(source="digits", image_size=16))
    reference, labels = to_unit_range(digits.images[:1500]), digits.labels[:1500]
    held_out = to_unit_range(digits.images[1500:])
    before = nearest_report(untrained, reference, labels, held_out)
    after = nearest_report(trained, reference, labels, held_out)
    print(f"nearest-neighbour distance: untrained {before.generated:.2f}, trained {after.generated:.2f}, "
          f"real {after.real:.2f}; classes covered {after.classes_covered}")
    gap_closed = (before.generated - after.generated) / (before.generated - after.real)
    assert gap_closed > 0.6, f"only {gap_closed:.0%} of the gap to real digits closed"
    assert after.classes_covered >= 8
