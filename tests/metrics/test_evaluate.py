"""Evaluation: known answers through the evaluator, `gankit eval`, and evaluation during training.

The MNIST classifier is gankit's shipped copy (checked here against the real test split); the
digits classifier is trained once per test session (the workers share a cache and a lock).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import build_config
from gankit.data import load_samples, to_model_units
from gankit.data.toys import grid25, ring8
from gankit.metrics.classifier import _split, read_classifier, cache_path, domain_classifier, shipped_path
from gankit.metrics.evaluate import Evaluator
from gankit.metrics.frechet import frechet_between
from stand_ins import FixedSamples

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

TINY = ["train.steps=2", "train.log_every=1", "train.sample_steps=[0]", "train.batch_size=16"]


@pytest.mark.parametrize("mixture", [ring8, grid25])
def test_true_mixture_samples_score_every_mode(mixture):
    m = mixture()
    points, _ = m.sample(2500, torch.Generator().manual_seed(0))
    results = {r.name: r for r in Evaluator(build_config(m.name, []))(FixedSamples(points))}
    assert results["modes"].value == m.num_modes
    assert results["high_quality"].value == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert "2500 samples" in results["modes"].protocol and "3 std" in results["modes"].protocol


def test_one_mode_scores_one():
    m = ring8()
    points = m.means[3] + m.std * torch.randn(2500, 2, generator=torch.Generator().manual_seed(2))
    results = {r.name: r.value for r in Evaluator(build_config("ring8", []))(FixedSamples(points))}
    assert results["modes"] == 1 and results["mode_kl"] == pytest.approx(math.log(8))


def test_gankit_eval_prints_modes_and_writes_json(tmp_path, gankit):
    runs = tmp_path / "runs"
    code, _, err = gankit("train", "ring8", *TINY, "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    code, out, err = gankit("eval", str(runs / "ring8"))
    assert code == 0, err
    assert "modes" in out and "/8" in out and "high_quality" in out
    payload = json.loads((runs / "ring8" / "eval" / "step_000002.json").read_text())
    assert payload["step"] == 2
    by_name = {m["name"]: m for m in payload["measurements"]}
    assert set(by_name) == {"modes", "high_quality", "mode_kl", "diversity"}
    assert all("VEEGAN/PacGAN protocol" in by_name[k]["protocol"] for k in ("modes", "high_quality", "mode_kl"))
    assert "mean pairwise Euclidean distance" in by_name["diversity"]["protocol"]


def test_evaluation_during_training_lands_in_metrics(tmp_path, gankit):
    runs = tmp_path / "runs"
    code, _, err = gankit("train", "ring8", "train.steps=4", "train.log_every=3", "eval.every=2",
                          "eval.samples=500", "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    records = [json.loads(line) for line in (runs / "ring8" / "metrics.jsonl").read_text().splitlines()]
    evaluated = {r["step"]: r for r in records if "eval_modes" in r}
    assert sorted(evaluated) == [2, 4]
    assert "500 samples" in evaluated[4]["eval_protocol"]["modes"]
    assert 0 <= evaluated[4]["eval_high_quality"] <= 1


def test_a_folder_of_images_is_measured_offline_and_eval_mistakes(tmp_path, gankit):
    runs, images = tmp_path / "runs", tmp_path / "images"
    images.mkdir()
    for i in range(16):
        Image.fromarray(np.full((20, 20), 15 * i, dtype=np.uint8)).save(images / f"{i:02d}.png")
    folder = ["data.source=folder", f"data.root={images}", *TINY]
    code, _, err = gankit("train", "digits", *folder, "--name", "folder", "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    code, out, err = gankit("eval", str(runs / "folder"), "--samples", "40")
    assert code == 0, err
    for name in ("image_fd", "image_kid", "image_precision", "image_recall", "image_density", "image_coverage",
                 "diversity"):
        assert name in out
    assert "random encoder" in out and "40 samples vs the first 16 training images" in out
    code, _, err = gankit("eval", str(tmp_path / "nothing"))
    assert code == 2 and "not a gankit run directory" in err
    code, _, err = gankit("train", "digits", *folder, "eval.every=1", "eval.samples=20", "--name", "during",
                          "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    records = [json.loads(line) for line in (runs / "during" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "eval_image_fd" in r] == [1, 2]


def test_conditional_digits_report_class_accuracy(tmp_path, gankit):
    runs = tmp_path / "runs"
    code, _, err = gankit("train", "cgan-mnist", *TINY, "data.source=digits", "data.image_size=16",
                          "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    code, out, err = gankit("eval", str(runs / "cgan-mnist"), "--samples", "300")
    assert code == 0, err
    for name in ("domain_fd", "class_kl", "class_accuracy"):
        assert name in out
    assert "gankit digit classifier" in out and "300 samples" in out


def test_the_shipped_mnist_classifier_is_todays_recipe_and_classifies_the_test_split(mnist_root):
    assert read_classifier(shipped_path("mnist", 28), "mnist", 28) is not None, \
        "the shipped MNIST classifier was made by another recipe: run `make classifiers`"
    classifier = domain_classifier("mnist", 28, str(mnist_root))
    images, labels = _split("mnist", 28, str(mnist_root), "test")
    measured = float((classifier.predict(images) == labels).float().mean())
    assert measured >= 0.99 and measured == pytest.approx(classifier.test_accuracy, abs=1e-6), classifier.describe()
    assert not cache_path("mnist", 28).exists()  # nothing was trained
    some = images[:500]
    probabilities = classifier.probabilities(some)
    assert probabilities.shape == (500, 10)
    assert torch.allclose(probabilities.sum(1), torch.ones(500), atol=1e-5)
    assert torch.equal(probabilities.argmax(1), classifier.predict(some))
    assert float((probabilities.max(1).values >= 0.9).float().mean()) >= 0.95  # real digits: confident


def test_a_shipped_classifier_of_another_recipe_is_not_used(tmp_path, monkeypatch):
    import gankit.metrics.classifier as classifiers

    monkeypatch.setattr(classifiers, "SHIPPED", tmp_path)
    trained = domain_classifier("digits", 8)  # trained (or read from this session's cache)
    classifiers._write(shipped_path("digits", 8), trained)
    assert domain_classifier("digits", 8).test_accuracy == trained.test_accuracy
    monkeypatch.setattr(classifiers, "VERSION", classifiers.VERSION + 1)
    assert read_classifier(shipped_path("digits", 8), "digits", 8) is None  # another recipe: trained anew


def test_the_mnist_classifier_features_give_a_domain_frechet(mnist_root):
    classifier = domain_classifier("mnist", 28, str(mnist_root))
    cfg = build_config("dcgan-mnist", [f"data.root={mnist_root}", "data.split=test", "data.limit=4000"])
    real = to_model_units(load_samples(cfg.data).samples)
    features = classifier.features(real)
    assert frechet_between(features[:2000], features[:2000]) == pytest.approx(0.0, abs=1e-6)
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(0))
    distances = [frechet_between(features[2000:], classifier.features((real[:2000] + level * noise[:2000]).clamp(-1, 1)))
                 for level in (0.0, 0.3, 1.0)]
    assert distances == sorted(distances) and distances[-1] > 5 * distances[0]


def test_stacked_mnist_real_images_cover_the_modes(mnist_root):
    # 10,000 real images (the protocol draws 26,000): about 10 per mode, enough to find them all
    cfg = build_config("stacked-mnist", [f"data.root={mnist_root}", "data.count=10000"])
    real = to_model_units(load_samples(cfg.data).samples)
    results = {r.name: r.value for r in Evaluator(cfg, samples=10000)(FixedSamples(real))}
    assert results["stacked_modes"] >= 995
    assert results["stacked_kl"] < 0.1
    one_mode = real[:1].repeat(2000, 1, 1, 1)
    results = {r.name: r.value for r in Evaluator(cfg, samples=2000)(FixedSamples(one_mode))}
    assert results["stacked_modes"] == 1
