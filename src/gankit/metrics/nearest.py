"""Nearest-neighbour checks of generated images against real ones.

``nearest_report`` is gankit's simplest honest quality criterion for image GANs: the mean
Euclidean distance (pixels in [-1, 1]) from each generated image to its nearest real reference
image, compared with the same distance for held-out real images.  A generator that produces
noise or blobs is far from every real image; a good one is about as close as real images are.
The labels of the nearest neighbours also show how many classes the samples cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def nearest_indices_and_distances(samples: torch.Tensor, reference: torch.Tensor,
                                  chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """For each sample, the index of its nearest reference image and the Euclidean distance to it."""
    flat_ref = reference.flatten(1).float()
    indices, distances = [], []
    for start in range(0, len(samples), chunk):
        part = samples[start:start + chunk].flatten(1).float()
        dist = torch.cdist(part, flat_ref)
        best = dist.min(dim=1)
        indices.append(best.indices)
        distances.append(best.values)
    return torch.cat(indices), torch.cat(distances)


@dataclass
class NearestReport:
    """Mean nearest-neighbour distance of generated and of held-out real images, and coverage."""

    generated: float  # mean distance from a generated image to its nearest reference image
    real: float  # the same for held-out real images: what a perfect generator would score
    classes_covered: int  # distinct labels among the nearest neighbours of the generated images


def nearest_report(generated: torch.Tensor, reference: torch.Tensor, reference_labels: torch.Tensor,
                   held_out: torch.Tensor) -> NearestReport:
    """Compare generated images and held-out real images against one reference set."""
    gen_index, gen_dist = nearest_indices_and_distances(generated, reference)
    _, real_dist = nearest_indices_and_distances(held_out, reference)
    return NearestReport(generated=gen_dist.mean().item(), real=real_dist.mean().item(),
                         classes_covered=int(reference_labels[gen_index].unique().numel()))


def gap_closed(untrained: NearestReport, trained: NearestReport) -> float:
    """Share of the distance gap between an untrained generator and real images that training
    closed: 0 for no progress, 1 for samples as close to the reference as held-out real images."""
    return (untrained.generated - trained.generated) / (untrained.generated - trained.real)
