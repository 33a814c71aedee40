"""Real data: the DCGAN on full MNIST learns digits in a few hundred CPU steps.

Criterion (see gankit.metrics.nearest): the mean distance from a generated image to its
nearest real MNIST training image (2,000 of them) must close most of the gap between the
untrained generator and held-out real test images, and the nearest neighbours of the samples
must cover at least 8 of the 10 digit classes (no mode collapse).
"""

import pytest
import torch

from gankit.config import DataConfig
from gankit.data import load_images
from gankit.data.batches import to_unit_range
from gankit.engine.train import fit, generate, new_run
from gankit.metrics.nearest import nearest_report

STEPS = 400


def test_dcgan_on_mnist_beats_the_untrained_generator(mnist_root, tmp_path):
    session = new_run("dcgan-mnist", [f"data.root={mnist_root}", f"train.steps={STEPS}",
                                      "train.log_every=100", "train.checkpoint_every=1000"],
                      runs_root=tmp_path)
    z = torch.randn(500, 100, generator=torch.Generator().manual_seed(123))
    untrained = generate(session.gan.generator, z)
    fit(session, show_progress=False)
    trained = generate(session.gan.generator, z)

    train_set = load_images(DataConfig(source="mnist", root=str(mnist_root), image_size=28, limit=2000))
    test_set = load_images(DataConfig(source="mnist", root=str(mnist_root), image_size=28, split="test",
                                      limit=500))
    reference = to_unit_range(train_set.images)
    held_out = to_unit_range(test_set.images)
    before = nearest_report(untrained, reference, train_set.labels, held_out)
    after = nearest_report(trained, reference, train_set.labels, held_out)
    print(f"nearest-neighbour distance: untrained {before.generated:.2f}, trained {after.generated:.2f}, "
          f"real {after.real:.2f}; classes covered {after.classes_covered}")
    gap_closed = (before.generated - after.generated) / (before.generated - after.real)
    assert gap_closed > 0.6, f"only {gap_closed:.0%} of the gap to real images closed"
    assert after.classes_covered >= 8
