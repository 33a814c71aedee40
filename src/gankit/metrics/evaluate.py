"""Evaluation of a generator: which metrics apply to a run's data, each number with its protocol.

2-D toys: mode coverage. MNIST-like images (MNIST, Fashion-MNIST, the embedded digits): the
domain classifier's Fréchet distance to the test split, the class histogram's KL to uniform and,
for conditional runs, the accuracy of the requested class. Stacked MNIST: modes captured and
KL over 26,000 samples. Sequences (sines, a sequence file): the Fréchet distance of signal
features and the squared MMD to real sequences. Any other images (a folder of faces, CIFAR-10):
Fréchet distance, KID, precision, recall, density and coverage in the features of gankit's fixed
random encoder, which needs no download. Any images, on request: Inception metrics through
torch-fidelity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import torch

from gankit.config import RunConfig, load_run_config
from gankit.data import load_samples, sample_spec, source_of, to_model_units
from gankit.data.sequences import DATA_SEED
from gankit.data.toys import MIXTURES
from gankit.errors import UserError
from gankit.fsutil import atomic_write_text
from gankit.metrics.classes import (channel_predictions, class_histogram, kl_to_uniform, label_accuracy,
                                    stacked_modes)
from gankit.metrics.classifier import domain_classifier
from gankit.metrics.diversity import DIVERSITY_SAMPLES, diversity_ratio
from gankit.metrics.diversity import protocol as diversity_protocol
from gankit.metrics.feature_sets import NEIGHBOURS, Pairs, fidelity_diversity, kernel_distance, standardized
from gankit.metrics.frechet import frechet_between
from gankit.metrics.inception import inception_metrics
from gankit.metrics.modes import STD_RADIUS, mode_coverage
from gankit.metrics.random_features import PROTOCOL as ENCODER_PROTOCOL
from gankit.metrics.random_features import image_features
from gankit.metrics.sequences import (MEDIAN_LIMIT, KernelReference, kernel_reference, mmd_against,
                                      sequence_features)
from gankit.nets.layers import inference
from gankit.priors import parse_prior
from gankit.quantities import describe
from gankit.registry import SOURCES
from gankit.rundir import Measurement, RunDir

TOY_SAMPLES = 2500  # the VEEGAN / PacGAN protocol
STACKED_SAMPLES = 26000  # the VEEGAN / PacGAN Stacked MNIST protocol
IMAGE_SAMPLES = 10000
SEQUENCE_SAMPLES = 2000
REFERENCE_LIMIT = 10000
FEATURE_SAMPLES = 5000  # generated images measured in the random encoder's features...
FEATURE_REFERENCE = 5000  # ...against the first this many real ones
SAMPLE_SEED = 12345  # evaluation draws its own noise: it never touches the training RNGs
BATCH = 500

Progress = Optional[Callable[[str], None]]


def generate_samples(generator: torch.nn.Module, cfg: RunConfig, n: int,
                     device: torch.device = torch.device("cpu"), prior: Optional[str] = None
                     ) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``n`` samples (on the CPU) from the training prior (or ``prior``), in inference mode, with
    a fixed seed; conditional generators make every class in turn. Returns (samples, requested labels)."""
    classes = getattr(generator, "num_classes", 0)
    labels = torch.arange(n) % classes if classes else None
    noise = torch.Generator().manual_seed(SAMPLE_SEED)
    z = parse_prior(prior or cfg.train.prior).sample(n, cfg.model.z_dim, generator=noise)
    with inference(generator):
        parts = [generator(z[i:i + BATCH].to(device), None if labels is None else labels[i:i + BATCH].to(device))
                 .float().cpu() for i in range(0, n, BATCH)]
    return torch.cat(parts), labels


def _reference(cfg: RunConfig, split: str) -> torch.Tensor:
    """Real samples in model units from ``split`` (the first REFERENCE_LIMIT)."""
    data_cfg = cfg.data.model_copy(update={"split": split, "limit": REFERENCE_LIMIT, "download": False})
    return to_model_units(load_samples(data_cfg).samples)


@dataclass(frozen=True)
class SequenceReference:
    """Real sequences for the sequence metrics, with their features and kernel statistics."""

    samples: torch.Tensor
    name: str  # what they are, for the protocol
    features: torch.Tensor
    kernel: KernelReference


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
        self._reference_sequences = None
        self._feature_reference = None
        self._diversity_reference = None
        self._prior: Optional[str] = None
        if not self.applicable():
            raise UserError(f"no metric applies to data.source={cfg.data.source} "
                            f"({', '.join(self.supported())} have them; any images: --inception)")

    @staticmethod
    def supported() -> list[str]:
        """Data sources with built-in metrics (any images have the random encoder's)."""
        return [name for name, source in SOURCES.items() if source.evaluation != "features"] + ["any images"]

    def evaluation(self) -> Optional[str]:
        """How this run's samples are measured: its source's evaluation ("modes", "stacked",
        "sequences", "classifier" for grey images, "features" for any images), or None."""
        data = self.cfg.data
        evaluation = source_of(data).evaluation
        if evaluation == "classifier" and data.channels != 1:
            evaluation = "features"
        if evaluation == "features" and sample_spec(data).kind != "images":
            return None
        return evaluation

    def applicable(self) -> bool:
        """Whether any metric applies to this run."""
        return self.evaluation() is not None or self.inception

    def classifier(self, source: str):
        """The domain classifier (trained and cached on first use)."""
        if self._classifier is None:
            data = self.cfg.data
            self._classifier = domain_classifier(source, data.image_size, data.root, progress=self.progress)
        return self._classifier

    def __call__(self, generator: torch.nn.Module, device: torch.device = torch.device("cpu"),
                 prior: Optional[str] = None) -> list[Measurement]:
        """Every applicable measurement of ``generator``, sampled from the training prior or ``prior``
        (a prior it was not trained with: the protocols then say so)."""
        self._prior = prior
        measures = {"modes": self._modes, "stacked": self._stacked, "sequences": self._sequences,
                    "classifier": self._domain, "features": self._features}
        evaluation = self.evaluation()
        results: list[Measurement] = measures[evaluation](generator, device) if evaluation else []
        results.append(self._diversity(generator, device))
        if self.inception:
            results += self._inception(generator, device)
        if prior is not None:
            results = [replace(m, protocol=f"{m.protocol}; G sampled from {prior}") for m in results]
        return results

    def _generate(self, generator, n: int, device) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``n`` evaluation samples from the prior being measured."""
        return generate_samples(generator, self.cfg, n, device, prior=self._prior)

    def _diversity(self, generator, device) -> Measurement:
        if self._diversity_reference is None:
            data_cfg = self.cfg.data.model_copy(update={"limit": DIVERSITY_SAMPLES, "download": False})
            self._diversity_reference = to_model_units(load_samples(data_cfg).samples)
        reference = self._diversity_reference
        samples, _ = self._generate(generator, len(reference), device)
        return Measurement("diversity", diversity_ratio(samples, reference),
                           diversity_protocol(len(reference), f"{len(reference)} real training samples"))

    def _modes(self, generator, device) -> list[Measurement]:
        n = self.samples or TOY_SAMPLES
        points, _ = self._generate(generator, n, device)
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
        images, labels = self._generate(generator, n, device)
        if self._reference_features is None:
            split = "test" if SOURCES.find(source).test_split else "train"
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

    def _comparison_split(self) -> str:
        """The split generated images are compared with: the test split where the source has one."""
        return "test" if source_of(self.cfg.data).test_split else "train"

    def feature_reference(self) -> tuple[torch.Tensor, str]:
        """The random encoder's features of the real images compared with (computed once), and
        what those images are: the test split where the data has one, else the first
        FEATURE_REFERENCE images the run trains on."""
        if self._feature_reference is None:
            split = self._comparison_split()
            data_cfg = self.cfg.data.model_copy(update={"split": split, "limit": FEATURE_REFERENCE, "download": False})
            data = load_samples(data_cfg)
            name = (f"{self.cfg.data.source} test split ({len(data)} images)" if split == "test"
                    else f"the first {len(data)} training images ({data.description})")
            self._feature_reference = (image_features(data.samples), name)
        return self._feature_reference

    def _features(self, generator, device) -> list[Measurement]:
        n = self.samples or FEATURE_SAMPLES
        reference, name = self.feature_reference()
        images, _ = self._generate(generator, n, device)
        return image_measurements(image_features(images), reference, f"{n} samples vs {name}")

    def _stacked(self, generator, device) -> list[Measurement]:
        n = self.samples or STACKED_SAMPLES
        classifier = self.classifier("mnist")
        images, _ = self._generate(generator, n, device)
        counts = class_histogram(stacked_modes(channel_predictions(classifier.predict, images)), 1000)
        protocol = f"Stacked MNIST: {n} samples, each channel classified by the {classifier.describe()}"
        return [Measurement("stacked_modes", int((counts > 0).sum()), protocol + "; modes out of 1000", 1000),
                Measurement("stacked_kl", kl_to_uniform(counts), protocol + "; KL(mode histogram || uniform)")]

    def sequence_reference(self) -> SequenceReference:
        """Real sequences to compare with, prepared once: held-out sines (SEQUENCE_SAMPLES of
        them), or the first REFERENCE_LIMIT sequences of the run's own file (its training data)."""
        if self._reference_sequences is None:
            held_out = SOURCES.find(self.cfg.data.source).held_out
            if held_out is not None:
                data = held_out(self.cfg.data, SEQUENCE_SAMPLES)
                name = f"{data.description}, not the training draw (seed {DATA_SEED})"
            else:
                data = load_samples(self.cfg.data.model_copy(update={"limit": REFERENCE_LIMIT}))
                name = f"the training data itself, not held out: the first {len(data)} of {data.description}"
            self._reference_sequences = SequenceReference(data.samples, name, sequence_features(data.samples),
                                                          kernel_reference(data.samples))
        return self._reference_sequences

    def _sequences(self, generator, device) -> list[Measurement]:
        n = self.samples or SEQUENCE_SAMPLES
        reference = self.sequence_reference()
        sequences, _ = self._generate(generator, n, device)
        if sequences.shape[1:] != reference.samples.shape[1:]:
            raise UserError(f"the generator makes sequences of shape {tuple(sequences.shape[1:])}, the data "
                            f"{tuple(reference.samples.shape[1:])}")
        count, channels, length = reference.samples.shape
        median_of = f"the reference's first {MEDIAN_LIMIT}" if count > MEDIAN_LIMIT else "the reference"
        basis = f"{n} samples vs {reference.name} (gankit.metrics.sequences)"
        return [
            Measurement("seq_fd", frechet_between(sequence_features(sequences), reference.features),
                        f"Fréchet distance of {reference.features.shape[1]} sequence features (per channel: rfft "
                        f"magnitudes / length, all {length // 2 + 1} bins; mean, std, mean |first difference|), "
                        f"{basis}"),
            Measurement("seq_mmd", mmd_against(sequences, reference.kernel),
                        f"unbiased squared MMD, Gaussian kernel exp(-|a-b|²/(2 sigma²)) on the flattened "
                        f"{channels}x{length} sequences, sigma = median pairwise Euclidean distance within "
                        f"{median_of} = {reference.kernel.sigma:.4g}, {basis}"),
        ]

    def _inception(self, generator, device) -> list[Measurement]:
        if sample_spec(self.cfg.data).kind != "images" or self.cfg.data.channels not in (1, 3):
            raise UserError("Inception metrics need images")
        n = self.samples or IMAGE_SAMPLES
        if self._reference_images is None:
            split = self._comparison_split()
            self._reference_images = _reference(self.cfg, split)
            self._inception_reference = f"{self.cfg.data.source} {split} split ({len(self._reference_images)} images)"
        images, _ = self._generate(generator, n, device)
        values = inception_metrics(images, self._reference_images, self.inception_weights)
        protocol = (f"torch-fidelity {_fidelity_version()}, Inception-v3 (2015-12-05 weights; precision/recall on its "
                    f"2048-d features), {n} samples vs "
                    f"{self._inception_reference}, grey replicated to RGB, resized by torch-fidelity")
        return [Measurement(name, value, protocol) for name, value in values.items()]


def image_measurements(fake_features: torch.Tensor, real_features: torch.Tensor, basis: str) -> list[Measurement]:
    """gankit's image measure of generated images against real ones, both as the random encoder's
    features: Fréchet distance, KID, precision, recall, density and coverage; ``basis`` says what
    was compared ("5000 samples vs ...") in each protocol."""
    real, fake = standardized(real_features, fake_features)
    pairs = Pairs.of(real, fake)
    basis = (f"{basis}; {ENCODER_PROTOCOL}; features standardised by the real images' mean and std "
             "(gankit.metrics.feature_sets)")
    knn = fidelity_diversity(pairs)
    knn_basis = f"k = {NEIGHBOURS} nearest-neighbour balls (Naeem et al. 2020), {basis}"
    return [
        Measurement("image_fd", frechet_between(fake, real), f"Fréchet distance of Gaussian fits, {basis}"),
        Measurement("image_kid", kernel_distance(pairs),
                    f"KID: unbiased squared MMD over all pairs, kernel (x·y/d + 1)³, {basis}"),
        Measurement("image_precision", knn["precision"],
                    f"precision: share of generated samples inside some real sample's ball, {knn_basis}"),
        Measurement("image_recall", knn["recall"],
                    f"recall: share of real samples inside some generated sample's ball, {knn_basis}"),
        Measurement("image_density", knn["density"],
                    f"density: mean number of real balls holding a generated sample, over k, {knn_basis}"),
        Measurement("image_coverage", knn["coverage"],
                    f"coverage: share of real samples whose ball holds a generated sample, {knn_basis}"),
    ]


def evaluate_images(images: Path, against: Path, *, samples: Optional[int] = None,
                    size: int = 64) -> list[Measurement]:
    """gankit's image measure of images it did not make (a folder, a zip or an .npy: the first
    ``samples``, by default FEATURE_SAMPLES) against the first FEATURE_REFERENCE images of the
    folder (or zip) ``against``, both decoded at ``size`` x ``size``: the protocol a run of
    images is measured with (:meth:`Evaluator._features`)."""
    from gankit.data.image_sets import load_image_set

    n = samples or FEATURE_SAMPLES
    generated, what = load_image_set(images, size, n)
    real, real_name = load_image_set(against, size, FEATURE_REFERENCE)
    if min(len(generated), len(real)) <= NEIGHBOURS:
        raise UserError(f"the image measure needs more than {NEIGHBOURS} images on each side (got {len(generated)} "
                        f"and {len(real)})")
    basis = f"{len(generated)} images ({what}) vs the first {len(real)} images of {real_name}"
    return image_measurements(image_features(generated), image_features(real), basis)


def _fidelity_version() -> str:
    from importlib.metadata import version

    return version("torch-fidelity")


def format_table(measurements: list[Measurement]) -> str:
    """The measurements as an aligned text table, e.g. ``modes 24/25``-style lines."""
    lines = []
    for m in measurements:
        quantity = describe(m.name)
        if m.out_of is not None:
            shown = f"{int(m.value)}/{m.out_of}"
        elif quantity.share:
            shown = f"{100 * m.value:.2f}%"
        elif quantity.small:
            shown = f"{m.value:.4g}"
        else:
            shown = f"{m.value:.4f}"
        lines.append(f"{m.name:<15} {shown:>10}   {m.protocol}")
    return "\n".join(lines)


def evaluate_run(run_dir: Path, *, samples: Optional[int] = None, inception: bool = False,
                 inception_weights: Optional[str] = None, progress: Progress = None,
                 module: Optional[torch.nn.Module] = None) -> tuple[Path, list[Measurement]]:
    """Evaluate a run's generator; write ``eval/step_NNNNNN.json`` in the run and return it
    with the measurements. ``module``: for runs trained on a ready-made G, a fresh one of its class."""
    from gankit.engine import weights_step
    from gankit.sampling import load_generator

    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    evaluator = Evaluator(cfg, samples=samples, inception=inception or None,
                          inception_weights=inception_weights, progress=progress)
    generator = load_generator(run_dir, cfg, module=module)
    measurements = evaluator(generator)
    step = weights_step(run_dir)
    path = RunDir(run_dir).eval_file(step)
    payload = {"run": run_dir.name, "step": step, "measurements": [m.to_dict() for m in measurements]}
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return path, measurements
