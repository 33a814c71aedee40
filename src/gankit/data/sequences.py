"""1-D sequences: source "sines" (synthetic) and source "sequences" (a user's .npy or .csv file).

Sequences are float32 (N, C, L) in [-1, 1]. A file's values are mapped linearly from the
data's (min, max) to [-1, 1]; that range is written into the run's config
(``data.value_range``) so samples can be mapped back to the data's units.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data.sampleset import SampleSet
from gankit.errors import UserError

DATA_SEED = 1207  # the synthetic sines are fixed: the same config always gives the same set
HELD_OUT_SEED = 7021  # held-out sines for evaluation: same distribution, never the training set
SINE_LENGTH = 64  # default time steps of a sine
FREQUENCY = (0.5, 3.0)  # cycles per sequence
AMPLITUDE = (0.2, 1.0)


def sines(cfg: DataConfig, seed: int = DATA_SEED) -> SampleSet:
    """``cfg.count`` sines of random frequency, phase and amplitude, one per channel, drawn with
    ``seed`` (the training set: DATA_SEED)."""
    length = cfg.length or SINE_LENGTH
    gen = torch.Generator().manual_seed(seed)
    shape = (cfg.count, cfg.channels, 1)
    frequency = FREQUENCY[0] + (FREQUENCY[1] - FREQUENCY[0]) * torch.rand(shape, generator=gen)
    phase = 2 * math.pi * torch.rand(shape, generator=gen)
    amplitude = AMPLITUDE[0] + (AMPLITUDE[1] - AMPLITUDE[0]) * torch.rand(shape, generator=gen)
    t = torch.arange(length, dtype=torch.float32) / length
    waves = amplitude * torch.sin(2 * math.pi * frequency * t + phase)
    name = "sines" if seed == DATA_SEED else f"sines (seed {seed})"
    text = (f"{name}: {cfg.count} x {cfg.channels} channel(s) x {length} steps, frequency "
            f"{FREQUENCY[0]}-{FREQUENCY[1]} cycles, amplitude {AMPLITUDE[0]}-{AMPLITUDE[1]}")
    return SampleSet(samples=waves.contiguous(), labels=None, num_classes=None, description=text)


def held_out_sines(cfg: DataConfig, n: int) -> SampleSet:
    """``n`` fresh sines of the training set's distribution, length and channels, drawn with
    HELD_OUT_SEED instead of DATA_SEED: real data the generator never saw, for evaluation."""
    data = sines(cfg.model_copy(update={"count": n}), seed=HELD_OUT_SEED)
    return SampleSet(data.samples, None, None, "held-out " + data.description)


def read_array(path: Path) -> np.ndarray:
    """The raw numbers of a .npy file or a .csv file (one sequence per row, optional header)."""
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        elif path.suffix.lower() == ".csv":
            array = _read_csv(path)
        else:
            raise UserError(f"sequence file {path} must end in .npy or .csv")
    except (ValueError, OSError, EOFError) as err:
        raise UserError(f"cannot read sequences from {path}: {str(err).splitlines()[0]}") from None
    if not np.issubdtype(array.dtype, np.number):
        raise UserError(f"sequence file {path} holds {array.dtype} values, not numbers")
    return array


def _read_csv(path: Path) -> np.ndarray:
    rows = [line for line in path.read_text().splitlines() if line.strip()]
    if rows and not _is_numeric_row(rows[0]):
        rows = rows[1:]  # a header line
    lengths = {len(row.split(",")) for row in rows}
    if len(lengths) > 1:
        raise UserError(f"sequences in {path} have different lengths ({sorted(lengths)[:5]} values per row)")
    return np.array([[float(v) for v in row.split(",")] for row in rows], dtype=np.float64)


def _is_numeric_row(row: str) -> bool:
    try:
        [float(v) for v in row.split(",")]
        return True
    except ValueError:
        return False


def load_file(cfg: DataConfig) -> SampleSet:
    """Sequences from ``cfg.root``: (N, L) or (N, C, L) numbers, mapped to [-1, 1]."""
    if not cfg.root:
        raise UserError("data.source=sequences needs data.root=<file.npy or file.csv>")
    path = Path(cfg.root).expanduser()
    if not path.is_file():
        raise UserError(f"sequence file not found: {path} (data.root)")
    array = read_array(path)
    if array.ndim == 2:
        array = array[:, None, :]
    if array.ndim != 3 or array.shape[0] < 2 or array.shape[2] < 8:
        raise UserError(f"{path} must hold at least 2 sequences of at least 8 steps, as (N, L) or "
                        f"(N, C, L); got shape {array.shape}")
    if not np.isfinite(array).all():
        raise UserError(f"{path} contains NaN or infinite values")
    _, channels, length = array.shape
    if cfg.length is not None and cfg.length != length:
        raise UserError(f"{path} holds sequences of {length} steps but data.length={cfg.length}")
    if channels != cfg.channels and cfg.value_range is not None:
        raise UserError(f"{path} holds {channels} channel(s) but the run was trained on {cfg.channels}")
    low, high = cfg.value_range or (float(array.min()), float(array.max()))
    if high <= low:
        raise UserError(f"{path}: every value is {low}; there is nothing to learn")
    scaled = torch.from_numpy(2 * (array - low) / (high - low) - 1).to(torch.float32)
    text = f"sequences from {path}: {array.shape[0]} x {channels} channel(s) x {length} steps, values {low:g}..{high:g}"
    return SampleSet(samples=scaled.contiguous(), labels=None, num_classes=None, description=text,
                     value_range=(low, high))


def to_data_units(sequences: torch.Tensor, value_range) -> torch.Tensor:
    """Map sequences in [-1, 1] back to the file's (min, max); unchanged without a range."""
    if value_range is None:
        return sequences
    low, high = value_range
    return (sequences + 1) / 2 * (high - low) + low
