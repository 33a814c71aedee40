"""Quality of generated 1-D sequences (N, C, L): a Fréchet distance of phase-invariant signal
features and a kernel two-sample statistic (squared MMD) on the raw values.

Features (:func:`sequence_features`), per sequence, in this order:

1. for each channel c (channel-major), the magnitude of the real FFT over time divided by the
   length L, for every rfft bin k = 0 .. L // 2: ``|rfft(x[c])[k]| / L`` (C * (L // 2 + 1) values);
2. for each channel, the mean over time (C values);
3. for each channel, the standard deviation over time, population form (divides by L) (C values);
4. for each channel, the roughness: the mean absolute first difference ``mean_t |x[t+1] - x[t]|``
   (C values).

D = C * (L // 2 + 4). The spectrum's magnitudes ignore a circular shift, so a sine of a whole
number of cycles has the same spectrum, mean and standard deviation at any phase; its roughness,
taken over L - 1 differences (not a whole number of periods), varies with the phase by about 1/L.

MMD (:func:`sequence_mmd`): the unbiased estimate of squared MMD (Gretton et al. 2012, eq. 3),
Gaussian kernel ``k(a, b) = exp(-|a - b|² / (2 sigma²))`` on the sequences flattened to C * L
values, sigma by the median heuristic on the reference set (:func:`median_bandwidth`). All in
float64, kernel sums taken in blocks of rows so that no full N x M matrix is held.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gankit.metrics.frechet import frechet_between

BLOCK = 1024  # rows per block of a kernel sum
MEDIAN_LIMIT = 2000  # the bandwidth's median is taken over the pairs of the first MEDIAN_LIMIT references


def _as_sequences(x: torch.Tensor) -> torch.Tensor:
    """``x`` as float64 (N, C, L) on the CPU; (N, L) is read as one channel."""
    x = x.detach().to("cpu", torch.float64)
    if x.dim() == 2:
        x = x[:, None, :]
    if x.dim() != 3 or x.shape[2] < 2:
        raise ValueError(f"sequences must be (N, C, L) with L >= 2, got shape {tuple(x.shape)}")
    return x


def sequence_features(x: torch.Tensor) -> torch.Tensor:
    """Phase-invariant signal features of sequences (N, C, L): (N, C * (L // 2 + 4)) float64.

    Per channel: the rfft magnitudes divided by L (all L // 2 + 1 bins), then per channel the mean,
    the standard deviation (population) and the mean absolute first difference (see the module
    docstring for the exact order)."""
    x = _as_sequences(x)
    n, _, length = x.shape
    spectrum = torch.fft.rfft(x, dim=2).abs() / length
    mean = x.mean(2)
    std = x.std(2, correction=0)
    roughness = x.diff(dim=2).abs().mean(2)
    return torch.cat([spectrum.reshape(n, -1), mean, std, roughness], dim=1)


def sequence_fd(generated: torch.Tensor, reference: torch.Tensor) -> float:
    """The Fréchet distance between the Gaussian fits of the two sets' :func:`sequence_features`."""
    _check_shapes(generated, reference)
    return frechet_between(sequence_features(generated), sequence_features(reference))


def _check_shapes(a: torch.Tensor, b: torch.Tensor) -> None:
    if tuple(a.shape[1:]) != tuple(b.shape[1:]):
        raise ValueError(f"generated sequences {tuple(a.shape[1:])} and reference {tuple(b.shape[1:])} differ in shape")


def _rows(x: torch.Tensor) -> torch.Tensor:
    """Sequences flattened to float64 rows (N, C * L)."""
    x = _as_sequences(x)
    return x.reshape(len(x), -1)


def _squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a_i - b_j|² for rows a (n, D) and b (m, D), clamped at 0 against rounding."""
    return (a.pow(2).sum(1)[:, None] + b.pow(2).sum(1)[None, :] - 2 * a @ b.T).clamp(min=0)


def median_bandwidth(reference: torch.Tensor) -> float:
    """The median heuristic: sigma = the median of the Euclidean distances |r_i - r_j|, i < j,
    within the reference's flattened sequences (the first MEDIAN_LIMIT of them when there are
    more). With an even number of pairs, the lower of the two middle values (torch.median)."""
    rows = _rows(reference)[:MEDIAN_LIMIT]
    if len(rows) < 2:
        raise ValueError("the median bandwidth needs at least 2 reference sequences")
    upper = torch.triu_indices(len(rows), len(rows), offset=1)
    distances = _squared_distances(rows, rows)[upper[0], upper[1]].sqrt()
    sigma = float(distances.median())
    if sigma <= 0:
        raise ValueError("the reference sequences are all equal: no bandwidth")
    return sigma


def kernel_sum(a: torch.Tensor, b: torch.Tensor, sigma: float, *, same: bool = False) -> float:
    """Sum of k(a_i, b_j) = exp(-|a_i - b_j|² / (2 sigma²)) over float64 rows a (n, D) and b (m, D),
    in blocks of BLOCK rows; ``same=True`` (a is b) leaves out the diagonal i == j."""
    total = torch.zeros((), dtype=torch.float64)
    for start in range(0, len(a), BLOCK):
        block = torch.exp(-_squared_distances(a[start:start + BLOCK], b) / (2 * sigma ** 2))
        if same:
            index = torch.arange(len(block))
            block[index, start + index] = 0
        total += block.sum()
    return float(total)


@dataclass(frozen=True)
class KernelReference:
    """A reference set ready for MMD: its float64 rows, the median bandwidth sigma, and the mean
    kernel value over its distinct pairs (computed once, reused for every generated set)."""

    rows: torch.Tensor
    sigma: float
    within: float


def kernel_reference(reference: torch.Tensor) -> KernelReference:
    """Prepare ``reference`` sequences (N >= 2) for :func:`mmd_against`."""
    rows = _rows(reference)
    sigma = median_bandwidth(reference)
    n = len(rows)
    return KernelReference(rows, sigma, kernel_sum(rows, rows, sigma, same=True) / (n * (n - 1)))


def mmd_against(generated: torch.Tensor, reference: KernelReference) -> float:
    """The unbiased squared MMD between ``generated`` (M >= 2) and a prepared reference Y (N):
    sum_{i!=j} k(x_i,x_j) / (M(M-1)) + sum_{i!=j} k(y_i,y_j) / (N(N-1)) - 2 sum_{i,j} k(x_i,y_j) / (MN).
    It can be slightly negative when the two sets come from one distribution."""
    rows = _rows(generated)
    if rows.shape[1] != reference.rows.shape[1]:
        raise ValueError(f"generated sequences have {rows.shape[1]} values each, "
                         f"the reference {reference.rows.shape[1]}")
    m, n = len(rows), len(reference.rows)
    if m < 2:
        raise ValueError("the unbiased MMD needs at least 2 generated sequences")
    within = kernel_sum(rows, rows, reference.sigma, same=True) / (m * (m - 1))
    between = kernel_sum(rows, reference.rows, reference.sigma) / (m * n)
    return within + reference.within - 2 * between


def sequence_mmd(generated: torch.Tensor, reference: torch.Tensor) -> float:
    """The unbiased squared MMD between two sets of sequences, Gaussian kernel on the flattened
    sequences with sigma = the median pairwise Euclidean distance within ``reference``."""
    _check_shapes(generated, reference)
    return mmd_against(generated, kernel_reference(reference))
