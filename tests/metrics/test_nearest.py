"""The nearest-neighbour criterion on cases with known answers."""

import torch

from gankit.metrics.nearest import nearest_indices_and_distances, nearest_report


def test_distances_against_hand_values():
    reference = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    samples = torch.tensor([[0.0, 1.0], [3.0, 4.0], [6.0, 8.0]])
    index, dist = nearest_indices_and_distances(samples, reference, chunk=2)
    assert index.tolist() == [0, 1, 1]
    assert torch.allclose(dist, torch.tensor([1.0, 0.0, 5.0]))


def test_copies_of_the_reference_score_zero_and_noise_scores_worse():
    gen = torch.Generator().manual_seed(0)
    reference = torch.rand(200, 1, 8, 8, generator=gen) * 2 - 1
    labels = torch.arange(200) % 10
    held_out = reference[:50] + 0.05 * torch.randn(50, 1, 8, 8, generator=gen)
    perfect = nearest_report(reference[:100], reference, labels, held_out)
    assert perfect.generated < 0.01 and perfect.classes_covered == 10
    noise = nearest_report(torch.rand(100, 1, 8, 8, generator=gen) * 2 - 1, reference, labels, held_out)
    assert noise.generated > 5 * noise.real
    collapsed = nearest_report(reference[:1].repeat(100, 1, 1, 1), reference, labels, held_out)
    assert collapsed.classes_covered == 1


def test_gap_closed_against_hand_values():
    from gankit.metrics.nearest import NearestReport, gap_closed

    untrained = NearestReport(generated=26.0, real=10.0, classes_covered=3)
    assert gap_closed(untrained, NearestReport(generated=14.0, real=10.0, classes_covered=10)) == 0.75
    assert gap_closed(untrained, NearestReport(generated=10.0, real=10.0, classes_covered=10)) == 1.0
    assert gap_closed(untrained, NearestReport(generated=26.0, real=10.0, classes_covered=1)) == 0.0
