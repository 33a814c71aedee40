"""Each loss against values computed by hand from its formula."""

import math

import pytest
import torch

from gankit.losses import build_loss
from gankit.registry import LOSSES

# D's logits on two real and two fake samples, and the probabilities they stand for.
REAL = torch.tensor([0.0, 2.0])
FAKE = torch.tensor([-1.0, 3.0])


def sig(v):
    return 1 / (1 + math.exp(-v))


def mean(values):
    return sum(values) / len(values)


EXPECTED_D_REAL = mean([-math.log(sig(0.0)), -math.log(sig(2.0))])  # BCE(D(x), 1)
EXPECTED_D_FAKE = mean([-math.log(1 - sig(-1.0)), -math.log(1 - sig(3.0))])  # BCE(D(G(z)), 0)


@pytest.mark.parametrize("name", ["minimax", "non-saturating"])
def test_goodfellow_discriminator_loss_is_the_negated_value_function(name):
    terms = build_loss(name).d_terms(REAL, FAKE)
    assert terms.real.item() == pytest.approx(EXPECTED_D_REAL, rel=1e-6)
    assert terms.fake.item() == pytest.approx(EXPECTED_D_FAKE, rel=1e-6)
    assert terms.total.item() == pytest.approx(EXPECTED_D_REAL + EXPECTED_D_FAKE, rel=1e-6)


def test_bce_discriminator_loss_is_the_mean_of_both_terms():
    terms = build_loss("bce").d_terms(REAL, FAKE)
    assert terms.real.item() == pytest.approx(EXPECTED_D_REAL, rel=1e-6)
    assert terms.fake.item() == pytest.approx(EXPECTED_D_FAKE, rel=1e-6)
    assert terms.total.item() == pytest.approx((EXPECTED_D_REAL + EXPECTED_D_FAKE) / 2, rel=1e-6)


def test_minimax_generator_minimises_log_one_minus_d():
    expected = mean([math.log(1 - sig(-1.0)), math.log(1 - sig(3.0))])
    assert build_loss("minimax").g_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", ["non-saturating", "bce"])
def test_non_saturating_generator_minimises_minus_log_d(name):
    expected = mean([-math.log(sig(-1.0)), -math.log(sig(3.0))])
    assert build_loss(name).g_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_losses_are_stable_for_extreme_logits():
    huge = torch.tensor([-200.0, 200.0])
    for name in LOSSES:
        loss = build_loss(name)
        terms = loss.d_terms(huge, huge)
        assert torch.isfinite(terms.total) and torch.isfinite(loss.g_loss(huge))
    # -log D(G(z)) for a fake D rejects with logit -200 is 200, not inf
    assert build_loss("bce").g_loss(torch.tensor([-200.0])).item() == pytest.approx(200.0)


def test_minimax_saturates_where_non_saturating_does_not():
    """The textbook reason for the non-saturating loss: tiny gradient when D rejects fakes."""
    logit = torch.tensor([-8.0], requires_grad=True)
    build_loss("minimax").g_loss(logit).backward()
    saturating = logit.grad.abs().item()
    logit.grad = None
    build_loss("non-saturating").g_loss(logit).backward()
    assert saturating < 1e-3 < logit.grad.abs().item()


def test_wasserstein_critic_and_generator_losses():
    loss = build_loss("wasserstein")
    terms = loss.d_terms(REAL, FAKE)
    # critic: -(mean D(x) - mean D(G(z))) = -(1.0 - 1.0) = 0, split as -1.0 and +1.0
    assert terms.real.item() == pytest.approx(-1.0)
    assert terms.fake.item() == pytest.approx(1.0)
    assert terms.total.item() == pytest.approx(0.0)
    assert loss.g_loss(FAKE).item() == pytest.approx(-1.0)
    assert loss.derived({"d_real": -2.5, "d_fake": 0.5}) == {"wasserstein": 2.0}
    assert not loss.outputs_are_logits


def test_hinge_values_by_hand():
    loss = build_loss("hinge")
    terms = loss.d_terms(REAL, FAKE)
    # real: mean(max(0, 1 - 0), max(0, 1 - 2)) = (1 + 0) / 2; fake: mean(max(0, 1 - 1), max(0, 1 + 3)) = 2
    assert terms.real.item() == pytest.approx(0.5)
    assert terms.fake.item() == pytest.approx(2.0)
    assert terms.total.item() == pytest.approx(2.5)
    assert loss.g_loss(FAKE).item() == pytest.approx(-1.0)


def test_least_squares_values_by_hand():
    loss = build_loss("least-squares")
    terms = loss.d_terms(REAL, FAKE)
    # real: 0.5 * mean((0-1)^2, (2-1)^2) = 0.5; fake: 0.5 * mean(1, 9) = 2.5
    assert terms.real.item() == pytest.approx(0.5)
    assert terms.fake.item() == pytest.approx(2.5)
    # G: 0.5 * mean((-1-1)^2, (3-1)^2) = 2
    assert loss.g_loss(FAKE).item() == pytest.approx(2.0)
