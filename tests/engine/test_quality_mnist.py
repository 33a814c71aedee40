"""Real data: the DCGAN on full MNIST learns digits in a few hundred CPU steps.

Criterion (see gankit.metrics.nearest and quality.py): the mean distance from a generated image
to its nearest real MNIST training image (2,000 of them) must close most of the gap between the
untrained generator and held-out real test images, and the nearest neighbours of the samples
must cover at least 8 of the 10 digit classes (no mode collapse).
"""

from quality import assert_training_beats_untrained

from gankit.config import DataConfig
from gankit.data import load_samples
from gankit.data.batches import to_unit_range
from gankit.engine import new_run

STEPS = 400


def test_dcgan_on_mnist_beats_the_untrained_generator(mnist_root, tmp_path):
    session = new_run("dcgan-mnist", [f"data.root={mnist_root}", f"train.steps={STEPS}",
                                      "train.log_every=100", "train.checkpoint_every=1000"],
                      runs_root=tmp_path)
    train_set = load_samples(DataConfig(source="mnist", root=str(mnist_root), image_size=28, limit=2000))
    test_set = load_samples(DataConfig(source="mnist", root=str(mnist_root), image_size=28, split="test",
                                      limit=500))
    assert_training_beats_untrained(session, to_unit_range(train_set.samples), train_set.labels,
                                    to_unit_range(test_set.samples), samples=500, seed=123)
