"""Evaluation of a generator: which metrics apply to a run's data, each number with its protocol.

2-D toys: mode coverage. MNIST-like images (MNIST, Fashion-MNIST, the embedded digits): the
domain classifier's Fréchet distance to the test split, the class histogram's KL to uniform and,
for conditional runs, the accuracy of the requested class. Stacked MNIST: modes captured and
KL over 26,000 samples. Any images, on request: Inception metrics through torch-fidelity.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from gankit.config import RunConfig, load_run_config
from gankit.data import load_samples, to_model_units
from gankit.data.toys import MIXTURES
from gankit.errors import UserError
from gankit.fsutil import atomic_write_text
from gankit.metrics.classes import class_histogram, kl_to_uniform, label_accuracy, stacked_modes
from gankit.metrics.classifier import CLASSIFIABLE, domain_classifier
from gankit.metrics.frechet import frechet_between
from gankit.metrics.inception import inception_metrics
from gankit.metrics.modes import STD_RADIUS, mode_coverage
from gankit.nets.layers import inference
from gankit.priors import parse_prior

TOY_SAMPLES = 2500  # the VEEGAN / PacGAN protocol
STACKED_SAMPLES = 26000  # the VEEGAN / PacGAN Stacked MNIST protocol
IMAGE_SAMPLES = 10000
REFERENCE_LIMIT = 10000
SAMPLE_SEED = 12345  # evaluation draws its own noise: it never touches the training RNGs
BATCH = 500

Progress = Optional[Callable[[str], None]]


@dataclass(frozen=True)
class Measurement:
    """One number and how it was measured."""

    name: str
    value: float
    protocol: str
    out_of: Optional[int] = None  # counts (modes): how many there are


def generate_samples(generator: torch.nn.Module, cfg: RunConfig, n: int,
                     device: torch.device = torch.device("cpu")) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``n`` samples (on the CPU) from the training prior, in inference mode, with a fixed seed;
    conditional generators make every class in turn. Returns (samples, requested labels)."""
    classes = getattr(generator, "num_classes", 0)
    labels = torch.arange(n) % classes if classes else None
    noise = torch.Generator().manual_seed(SAMPLE_SEED)
    z = parse_prior(cfg.train.prior).sample(n, cfg.model.z_dim, generator=noise)
    with inference(generator):
        parts = [generator(z[i:i + BATCH].to(device), None if labels is None else labels[i:i + BATCH].to(device))
                 .float().cpu() for i in range(0, n, BATCH)]
    return torch.cat(parts), labels


def _reference(cfg: RunConfig, split: str) -> torch.Tensor:
    """Real samples in model units from ``split`` (the first REFERENCE_LIMIT)."""
    data_cfg = cfg.data.model_copy(update={"split": split, "limit": REFERENCE_LIMIT, "download": False})
    return to_model_units(load_samples(data_cfg).samples)


class Evaluator:
    """Measures a generator of a run by the metrics that apply to its data (loaded once)."""

    def __init__(self, cfg: RunConfig, *, samples: Optional[int] = None, inception: Optional[bool] = None,
                 inception_weights: Optional[str] = None, progress: Progress = None):
        self.cfg = cfg
        self.samples = samples or cfg.eval.samples
        self.inception = cfg.eval.inception if inception is None else inception
        self.inception_weights = inception_weights or cfg.eval.inception_weights
        self.progress = progress
        self._classifier = None
        self._reference_features = None
        self._reference_images = None
        if not self.applicable():
            raise UserError(f"no metric applies to data.source={cfg.data.source} "
                            f"({', '.join(self.supported())} have them; any images: --inception)")

    @staticmethod
    def supported() -> list[str]:
        """Data sources with built-in metrics."""
        return [*MIXTURES, *CLASSIFIABLE, "stacked-mnist"]

    def applicable(self) -> bool:
        """Whether any metric applies to this run."""
        return self.cfg.data.source in self.supported() or self.inception

    def classifier(self, source: str):
        """The domain classifier (trained and cached on first use)."""
        if self._classifier is None:
            data = self.cfg.data
            self._classifier = domain_classifier(source, data.image_size, data.root, progress=self.progress)
        return self._classifier

    def __call__(self, generator: torch.nn.Module, device: torch.device = torch.device("cpu")) -> list[Measurement]:
        """Every applicable measurement of ``generator``."""
        source = self.cfg.data.source
        results: list[Measurement] = []
        if source in MIXTURES:
            results += self._modes(generator, device)
        elif source == "stacked-mnist":
            results += self._stacked(generator, device)
        elif source in CLASSIFIABLE and self.cfg.data.channels == 1:
            results += self._domain(generator, device)
        if self.inception:
            results += self._inception(generator, device)
        return results

    def _modes(self, generator, device) -> list[Measurement]:
        n = self.samples or TOY_SAMPLES
        points, _ = generate_samples(generator, self.cfg, n, device)
        mixture = MIXTURES[self.cfg.data.source]()
        coverage = mode_coverage(points, mixture.means, mixture.std)
        protocol = (f"VEEGAN/PacGAN protocol on {mixture.name}: {n} samples; high-quality = within "
                    f"{STD_RADIUS:g} std ({mixture.std}) of the nearest mode; a mode is captured by >= 1 "
                    "high-quality sample; reverse KL of the high-quality samples' mode histogram to uniform "
                    "(gankit.metrics.modes)")
        return [Measurement("modes", coverage.modes_captured, protocol + f"; out of {mixture.num_modes}",
                            mixture.num_modes),
                Measurement("high_quality", coverage.high_quality, protocol),
                Measurement("mode_kl", coverage.reverse_kl, protocol)]

    def _domain(self, generator, device) -> list[Measurement]:
        n = self.samples or IMAGE_SAMPLES
        source = self.cfg.data.source
        classifier = self.classifier(source)
        images, labels = generate_samples(generator, self.cfg, n, device)
        if self._reference_features is None:
            split = "train" if source == "digits" else "test"
            self._reference_features = classifier.features(_reference(self.cfg, split))
            self._reference_name = f"{source} {split} split ({len(self._reference_features)} images)"
        features = classifier.features(images)
        predicted = classifier.predict(images)
        basis = f"{n} samples; {classifier.describe()}"
        results = [
            Measurement("domain_fd", frechet_between(features, self._reference_features),
                        f"Fréchet distance of the classifier's {features.shape[1]} penultimate features, "
                        f"{basis}; reference {self._reference_name} (gankit.metrics.frechet)"),
            Measurement("class_kl", kl_to_uniform(class_histogram(predicted, 10)),
                        f"KL(predicted class histogram || uniform over 10), {basis}"),
        ]
        if labels is not None:
            results.append(Measurement("class_accuracy", label_accuracy(predicted, labels),
                                       f"share classified as the requested label, classes in turn, {basis}"))
        return results

    def _stacked(self, generator, device) -> list[Measurement]:
        n = self.samples or STACKED_SAMPLES
        classifier = self.classifier("mnist")
        images, _ = generate_samples(generator, self.cfg, n, device)
        per_channel = torch.stack([classifier.predict(images[:, c:c + 1]) for c in range(3)], 1)
        counts = class_histogram(stacked_modes(per_channel), 1000)
        protocol = f"Stacked MNIST: {n} samples, each channel classified by the {classifier.describe()}"
        return [Measurement("stacked_modes", int((counts > 0).sum()), protocol + "; modes out of 1000", 1000),
                Measurement("stacked_kl", kl_to_uniform(counts), protocol + "; KL(mode histogram || uniform)")]

    def _inception(self, generator, device) -> list[Measurement]:
        if self.cfg.data.channels not in (1, 3) or self.cfg.data.source in MIXTURES:
            raise UserError("Inception metrics need images")
        n = self.samples or IMAGE_SAMPLES
        if self._reference_images is None:
            split = "test" if self.cfg.data.source in ("mnist", "fashion-mnist", "cifar10", "stacked-mnist") else "train"
            self._reference_images = _reference(self.cfg, split)
            self._inception_reference = f"{self.cfg.data.source} {split} split ({len(self._reference_images)} images)"
        images, _ = generate_samples(generator, self.cfg, n, device)
        values = inception_metrics(images, self._reference_images, self.inception_weights)
        protocol = (f"torch-fidelity {_fidelity_version()}, Inception-v3 (2015-12-05 weights), {n} samples vs "
                    f"{self._inception_reference}, grey replicated to RGB, resized by torch-fidelity")
        return [Measurement(name, value, protocol) for name, value in values.items()]


def _fidelity_version() -> str:
    from importlib.metadata import version

    return version("torch-fidelity")


def format_table(measurements: list[Measurement]) -> str:
    """The measurements as an aligned text table, e.g. ``modes 24/25``-style lines."""
    lines = []
    shares = {"high_quality", "class_accuracy", "precision", "recall"}
    for m in measurements:
        if m.out_of is not None:
            shown = f"{int(m.value)}/{m.out_of}"
        elif m.name in shares:
            shown = f"{100 * m.value:.2f}%"
        else:
            shown = f"{m.value:.4f}"
        lines.append(f"{m.name:<15} {shown:>10}   {m.protocol}")
    return "\n".join(lines)


def evaluate_run(run_dir: Path, *, samples: Optional[int] = None, inception: bool = False,
                 inception_weights: Optional[str] = None, progress: Progress = None) -> tuple[Path, list[Measurement]]:
    """Evaluate a run's generator; write ``eval/step_NNNNNN.json`` in the run and return it
    with the measurements."""
    from gankit.engine.checkpoint import generator_step
    from gankit.sampling import load_generator

    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    evaluator = Evaluator(cfg, samples=samples, inception=inception or None,
                          inception_weights=inception_weights, progress=progress)
    generator = load_generator(run_dir, cfg)
    measurements = evaluator(generator)
    step = generator_step(run_dir)
    path = run_dir / "eval" / f"step_{step:06d}.json"
    payload = {"run": run_dir.name, "step": step, "measurements": [asdict(m) for m in measurements]}
    path.parent.mkdir(exist_ok=True)
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return path, measurements
