"""How two sets of feature vectors compare: the kernel inception distance's MMD and the
k-nearest-neighbour fidelity and diversity measures of Naeem et al. 2020 (precision, recall,
density, coverage), computed exactly from the sets' dot products, which are computed once.

Precision and density say how many generated samples look real (lie inside the real samples'
k-NN balls); recall and coverage say how much of the real data the generated samples reach: a
generator that repeats a few sharp faces keeps its precision and loses its recall and coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

NEIGHBOURS = 5  # k of the k-NN balls (Naeem et al. 2020)
CHUNK = 1024


def standardized(reference: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Each set with the reference's per-feature mean subtracted and std divided out (features
    with no spread in the reference are dropped), so that every feature counts alike."""
    mean, std = reference.mean(0), reference.std(0)
    keep = std > 1e-12 * std.max().clamp(min=1e-300)
    return [((x - mean) / std.clamp(min=1e-300))[:, keep] for x in (reference, *others)]


def _gram(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All dot products a_i·b_j, in float32 (features are standardised: ample precision) as float64."""
    a32, b32 = a.float(), b.float()
    return torch.cat([a32[i:i + CHUNK] @ b32.T for i in range(0, len(a32), CHUNK)]).double()


def _distances(gram: torch.Tensor, norms_a: torch.Tensor, norms_b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances from a Gram matrix and the rows' squared norms."""
    return (norms_a[:, None] + norms_b[None, :] - 2 * gram).clamp(min=0).sqrt()


@dataclass
class Pairs:
    """The dot products within and between a real and a generated feature set, computed once
    for every measure here."""

    real_real: torch.Tensor
    fake_fake: torch.Tensor
    real_fake: torch.Tensor
    dims: int

    @classmethod
    def of(cls, real: torch.Tensor, fake: torch.Tensor) -> "Pairs":
        """The three Gram matrices of ``real`` (N, D) and ``fake`` (M, D)."""
        return cls(_gram(real, real), _gram(fake, fake), _gram(real, fake), real.shape[1])


def fidelity_diversity(pairs: Pairs, k: int = NEIGHBOURS) -> dict[str, float]:
    """Precision, recall, density and coverage of the generated set against the real one."""
    n, m = len(pairs.real_real), len(pairs.fake_fake)
    if n <= k or m <= k:
        raise ValueError(f"need more than k={k} real and generated samples")
    real_norms, fake_norms = pairs.real_real.diagonal(), pairs.fake_fake.diagonal()
    real_radii = _distances(pairs.real_real, real_norms, real_norms).kthvalue(k + 1, dim=1).values  # 1st: itself
    fake_radii = _distances(pairs.fake_fake, fake_norms, fake_norms).kthvalue(k + 1, dim=1).values
    between = _distances(pairs.real_fake, real_norms, fake_norms)  # (N, M)
    inside_real = (between <= real_radii[:, None]).sum(0).double()  # real balls holding each fake
    return {"precision": float((inside_real > 0).double().mean()),
            "recall": float((between <= fake_radii[None, :]).any(1).double().mean()),
            "density": float(inside_real.mean() / k),
            "coverage": float((between.min(1).values <= real_radii).double().mean())}


def kernel_distance(pairs: Pairs) -> float:
    """KID: the unbiased squared MMD between the two sets with the kernel (x·y/d + 1)³, over all
    pairs (torch-fidelity averages it over random subsets instead, to bound a GPU's memory)."""
    n, m = len(pairs.real_real), len(pairs.fake_fake)
    if n < 2 or m < 2:
        raise ValueError("need at least 2 samples of each set")
    kxx, kyy, kxy = ((g / pairs.dims + 1.0) ** 3 for g in (pairs.real_real, pairs.fake_fake, pairs.real_fake))
    within = ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)))
    return float(within - 2 * kxy.mean())
