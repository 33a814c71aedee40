"""The conditional objectives (K+1, AC-GAN) against values computed by hand."""

import math

import pytest
import torch

from gankit.config import build_config
from gankit.losses import build_loss
from gankit.objectives import Adversarial, AuxiliaryClassifier, KPlusOne, build_objective


def log_softmax(row, index):
    return row[index] - math.log(sum(math.exp(v) for v in row))


def test_k_plus_one_loss_on_a_tiny_hand_example():
    # K = 2 classes + "fake" (index 2); one real sample of class 1, one fake sample made as class 0
    real_logits, fake_logits = [0.0, 2.0, -1.0], [1.0, 0.0, 3.0]
    objective = KPlusOne(num_classes=2)
    terms = objective.d_terms(torch.tensor([real_logits]), torch.tensor([fake_logits]),
                              torch.tensor([1]), torch.tensor([0]))
    expected_real = -log_softmax(real_logits, 1)  # real to its class
    expected_fake = -log_softmax(fake_logits, 2)  # fake to "fake"
    assert terms.real.item() == pytest.approx(expected_real, rel=1e-6)
    assert terms.fake.item() == pytest.approx(expected_fake, rel=1e-6)
    assert terms.total.item() == pytest.approx((expected_real + expected_fake) / 2, rel=1e-6)
    g = objective.g_loss(torch.tensor([fake_logits]), torch.tensor([0]))
    assert g.item() == pytest.approx(-log_softmax(fake_logits, 0), rel=1e-6)  # G wants class 0


def test_k_plus_one_realness_is_one_minus_p_fake():
    logits = torch.tensor([[0.0, 2.0, -1.0], [1.0, 0.0, 3.0]])
    p_fake = torch.softmax(logits, 1)[:, 2]
    assert KPlusOne(2).realness(logits).item() == pytest.approx((1 - p_fake).mean().item(), rel=1e-6)


def test_k_plus_one_is_not_fooled_by_a_softmax_before_it():
    """Cross-entropy is taken on logits: feeding probabilities would give a different number."""
    logits = torch.tensor([[0.0, 2.0, -1.0]])
    on_logits = KPlusOne(2).d_terms(logits, logits, torch.tensor([1]), torch.tensor([1])).real
    on_probabilities = KPlusOne(2).d_terms(logits.softmax(1), logits, torch.tensor([1]), torch.tensor([1])).real
    assert on_logits.item() == pytest.approx(-log_softmax([0.0, 2.0, -1.0], 1), rel=1e-6)
    assert on_probabilities.item() != pytest.approx(on_logits.item(), rel=1e-3)


def test_acgan_adds_the_weighted_class_loss_to_every_term():
    score_real, score_fake = torch.tensor([0.5, -0.5]), torch.tensor([1.0, 0.0])
    classes_real = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    classes_fake = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    real_labels, fake_labels = torch.tensor([0, 1]), torch.tensor([1, 0])
    plain = build_loss("bce").d_terms(score_real, score_fake)
    ce_real = torch.nn.functional.cross_entropy(classes_real, real_labels)
    ce_fake = torch.nn.functional.cross_entropy(classes_fake, fake_labels)
    terms = AuxiliaryClassifier(build_loss("bce"), weight=0.5).d_terms(
        (score_real, classes_real), (score_fake, classes_fake), real_labels, fake_labels)
    assert terms.real.item() == pytest.approx((plain.real + 0.5 * ce_real).item(), rel=1e-6)
    assert terms.fake.item() == pytest.approx((plain.fake + 0.5 * ce_fake).item(), rel=1e-6)
    assert terms.total.item() == pytest.approx((plain.total + 0.5 * (ce_real + ce_fake)).item(), rel=1e-6)
    g = AuxiliaryClassifier(build_loss("bce"), weight=0.5).g_loss((score_fake, classes_fake), fake_labels)
    assert g.item() == pytest.approx((build_loss("bce").g_loss(score_fake) + 0.5 * ce_fake).item(), rel=1e-6)


@pytest.mark.parametrize("conditional, expected", [
    ("none", Adversarial), ("concat", Adversarial), ("projection", Adversarial),
    ("acgan", AuxiliaryClassifier), ("kplus1", KPlusOne),
])
def test_objective_follows_the_conditioning(conditional, expected):
    cfg = build_config("cgan-mnist", [f"model.conditional={conditional}"])
    assert type(build_objective(cfg, 10)) is expected
