"""Fresh samples of a run's generator as pictures and numbers, for the page's sliders.

Loaded generators are kept in a small LRU keyed by the run folder and the weights file's
mtime, so moving a slider costs one forward pass and one PNG encoding; image grids are
drawn with torchvision's make_grid and PIL directly (matplotlib only for points and sequences).
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from gankit.config import RunConfig
from gankit.rundir import RunDir
from gankit.errors import UserError
from gankit.priors import Prior, parse_prior
from gankit.web.launcher import Conflict

MAX_SAMPLES = 256
MAX_FRAMES = 64
REAL_POINTS = 1000  # real points drawn under generated ones


class Generators:
    """The generators of the runs sampled lately (an LRU of ``size``)."""

    def __init__(self, size: int = 4):
        self.size = size
        self._items: OrderedDict[tuple, torch.nn.Module] = OrderedDict()
        self._real: dict[tuple, torch.Tensor] = {}
        self.lock = threading.RLock()  # one sampling at a time: modules are shared between requests

    def get(self, run: RunDir, cfg: RunConfig, raw: bool, name: str) -> torch.nn.Module:
        """G of the run (the weight average unless ``raw``), loaded once per version of its
        weights file, read without following links below the run's anchor."""
        from gankit.sampling import load_generator

        last = run.last_checkpoint.relative_to(run.path)
        source = run.generator if run.is_file(run.generator) and not raw else run.last_checkpoint
        try:
            stat = run.stat(source)
        except FileNotFoundError:
            needs = last if raw else f"{run.generator.name} or {last}"
            raise Conflict(f"run {name} has no trained generator yet ({needs})") from None
        folder = str(run.path.absolute())
        key = (folder, raw, source.name, stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self.lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            generator = load_generator(run, cfg, raw=raw)
            for old in [k for k in self._items if k[0] == folder and k[1] == raw]:
                del self._items[old]
            self._items[key] = generator
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return generator

    def real_points(self, run: RunDir, cfg: RunConfig) -> Optional[torch.Tensor]:
        """Some of a points run's training data (drawn under its samples); None for other kinds."""
        from gankit.data import load_samples, sample_spec

        if sample_spec(cfg.data).kind != "points":
            return None
        key = (str(run.path.absolute()), cfg.data.source, cfg.data.count, cfg.data.limit)
        with self.lock:
            if key not in self._real:
                if len(self._real) > 16:
                    self._real.clear()
                self._real[key] = load_samples(cfg.data).samples[:REAL_POINTS].float()
            return self._real[key]


@dataclass(frozen=True)
class SampleRequest:
    """The query of samples.png / samples.json, checked."""

    prior: Optional[str]
    seed: int
    label: Optional[int]
    n: int
    raw: bool


def _int(query, key: str, default: Optional[int], low: int, high: int) -> Optional[int]:
    text = query.get(key)
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise UserError(f"{key} must be a whole number (got '{text}')") from None
    if not low <= value <= high:
        raise UserError(f"{key} must lie in {low}..{high} (got {value})")
    return value


def _flag(query, key: str) -> bool:
    text = (query.get(key) or "0").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise UserError(f"{key} must be 0 or 1 (got '{text}')")


def sample_request(query) -> SampleRequest:
    """Read prior, seed, label, n and raw from a query string (a mapping of str)."""
    prior = (query.get("prior") or "").strip() or None
    if prior is not None:
        parse_prior(prior)
    return SampleRequest(prior=prior, seed=_int(query, "seed", 0, 0, 2**63 - 1),
                         label=_int(query, "label", None, 0, 1_000_000),
                         n=_int(query, "n", 64, 1, MAX_SAMPLES), raw=_flag(query, "raw"))


def draw(cache: Generators, run: RunDir, cfg: RunConfig, request: SampleRequest,
         name: str) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``n`` samples (model units) of the run's G and their labels, as `gankit sample` draws them."""
    from gankit.sampling import sample_inputs

    latent = parse_prior(request.prior or cfg.train.prior)
    with cache.lock:
        generator = cache.get(run, cfg, request.raw, name)
        with _query_words():
            z, labels = sample_inputs(latent, request.n, cfg.model.z_dim, generator.num_classes,
                                      label=request.label, seed=request.seed, run_dir=Path(name))
        with torch.inference_mode():
            samples = generator(z, labels).float()
    return samples, labels


def png(cache: Generators, run: RunDir, cfg: RunConfig, request: SampleRequest, name: str) -> bytes:
    """samples.png: an image grid (one row per class when conditional and no label), sequence
    plots, or a scatter over real points."""
    from gankit.data import sample_spec

    samples, labels = draw(cache, run, cfg, request, name)
    kind = sample_spec(cfg.data).kind
    if kind == "images":
        # every class in turn: one row per class; one class (or none): a square grid
        nrow = int(torch.bincount(labels).max()) if labels is not None and request.label is None else None
        return image_grid_png(samples, nrow)
    return view_png(kind, samples, cache.real_points(run, cfg) if kind == "points" else None)


def samples_json(cache: Generators, run: RunDir, cfg: RunConfig, request: SampleRequest, name: str) -> dict:
    """samples.json: the samples in the data's units (as `gankit sample --npy`), and their labels."""
    from gankit.data import sample_spec
    from gankit.sampling import in_data_units

    samples, labels = draw(cache, run, cfg, request, name)
    values = np.round(in_data_units(cfg, samples).numpy().astype(np.float64), 5)
    values[~np.isfinite(values)] = np.nan
    return {"kind": sample_spec(cfg.data).kind, "samples": _nested(values),
            "labels": None if labels is None else labels.tolist()}


def _nested(values: np.ndarray):
    out = values.tolist()

    def clean(x):
        if isinstance(x, list):
            return [clean(v) for v in x]
        return None if isinstance(x, float) and not math.isfinite(x) else x

    return clean(out)


def interpolation_png(cache: Generators, run: RunDir, cfg: RunConfig, query, name: str) -> bytes:
    """G's samples along the way between the latent codes of two seeds: spherical for normal
    priors (around the prior's mean), straight for the others; one strip of ``frames``."""
    from gankit.data import sample_spec
    from gankit.sampling import sample_labels

    seed_a = _int(query, "seed_a", 0, 0, 2**63 - 1)
    seed_b = _int(query, "seed_b", 1, 0, 2**63 - 1)
    frames = _int(query, "frames", 16, 2, MAX_FRAMES)
    label = _int(query, "label", None, 0, 1_000_000)
    raw = _flag(query, "raw")
    prior_text = (query.get("prior") or "").strip() or cfg.train.prior
    latent = parse_prior(prior_text)
    with cache.lock:
        generator = cache.get(run, cfg, raw, name)
        if generator.num_classes and label is None:
            label = 0
        with _query_words():
            labels = sample_labels(frames, generator.num_classes, label, Path(name))
        z = path_between(latent, cfg.model.z_dim, seed_a, seed_b, frames)
        with torch.inference_mode():
            samples = generator(z, labels).float()
    kind = sample_spec(cfg.data).kind
    if kind == "images":
        return image_grid_png(samples, frames)
    return view_png(kind, samples, cache.real_points(run, cfg) if kind == "points" else None)


@contextlib.contextmanager
def _query_words():
    """gankit's sampling refusals name the command's options (--label 3: ...); here they are
    query parameters (label 3: ...)."""
    try:
        yield
    except UserError as err:
        raise UserError(str(err).removeprefix("--")) from None


def path_between(latent: Prior, z_dim: int, seed_a: int, seed_b: int, frames: int) -> torch.Tensor:
    """``frames`` codes from seed_a's code to seed_b's (each drawn as one code of the prior)."""
    a = latent.sample(1, z_dim, generator=torch.Generator().manual_seed(seed_a))[0].double()
    b = latent.sample(1, z_dim, generator=torch.Generator().manual_seed(seed_b))[0].double()
    t = torch.linspace(0, 1, frames, dtype=torch.float64)[:, None]
    if latent.kind != "normal":
        return ((1 - t) * a + t * b).float()
    mean = latent.params[0]
    a, b = a - mean, b - mean
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))
    if float(omega) < 1e-6:
        path = (1 - t) * a + t * b
    else:
        path = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    return (path + mean).float()


def image_grid_png(images: torch.Tensor, nrow: Optional[int]) -> bytes:
    """Images in [-1, 1] tiled as the run's grids are (gankit.track.make_grid), as PNG bytes."""
    from PIL import Image

    from gankit.track.grids import grid_to_uint8, make_grid

    pixels = grid_to_uint8(make_grid(images, nrow=nrow)).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def view_png(kind: str, samples: torch.Tensor, reference: Optional[torch.Tensor]) -> bytes:
    """A sequence plot or a point scatter drawn by gankit.track.save_view, as PNG bytes."""
    from gankit.track import save_view

    with tempfile.TemporaryDirectory(prefix="gankit-serve-") as folder:
        path = Path(folder) / "view.png"
        save_view(kind, samples, path, reference=reference)
        return path.read_bytes()
