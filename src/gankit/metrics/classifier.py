"""The domain classifier: a small CNN that gankit trains itself on a labelled image set's train
split (MNIST, Fashion-MNIST, the embedded digits) and caches, to judge generated images.

The MNIST classifier at 28x28 (the size of every MNIST preset) ships with gankit in
``metrics/weights``: it is this module's own training (one thread, seed 0), so a first
evaluation does not spend minutes training it and every machine measures with the same network.
A shipped file is used only while its recipe key matches this module's (change the network or
its training and it is trained again, as every other size is); ``ship`` writes it anew.

Its 128 penultimate features give a domain Fréchet distance; its predictions give class
histograms, the accuracy of conditional samples and the modes of Stacked MNIST. Images are
classified in the model's units ([-1, 1]), exactly as G makes them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from gankit.config import DataConfig
from gankit.data import load_samples, to_unit_range
from gankit.data.sampleset import cache_dir
from gankit.errors import UserError
from gankit.fsutil import atomic_write
from gankit.rundir.lock import DirectoryLock

FEATURES = 128
EPOCHS = 4
BATCH = 128
LR = 1e-3
SEED = 0
VERSION = 3  # bump when the network or its training changes: old cache entries are then ignored
CLASSIFIABLE = ("mnist", "fashion-mnist", "digits")
SHIPPED = Path(__file__).parent / "weights"


class DigitClassifier(nn.Module):
    """(Conv 5x5 → ReLU → MaxPool) × 2 (32, 64 channels) → Dense 128 → ReLU → 10 logits."""

    def __init__(self, image_size: int, num_classes: int = 10):
        super().__init__()
        side = image_size // 4
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * side * side, FEATURES), nn.ReLU(True))
        self.classify = nn.Sequential(nn.Dropout(0.25), nn.Linear(FEATURES, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of images (N, 1, H, W) in [-1, 1]."""
        return self.classify(self.features(x))


@dataclass
class DomainClassifier:
    """A trained classifier with what it was trained on and how well it does."""

    network: DigitClassifier
    source: str
    image_size: int
    test_accuracy: float
    test_samples: int

    def describe(self) -> str:
        """One line for protocols: which classifier, and its accuracy."""
        return (f"gankit digit classifier v{VERSION} ({self.source} train split, {self.image_size}x{self.image_size}; "
                f"test accuracy {100 * self.test_accuracy:.2f}% on {self.test_samples})")

    @torch.no_grad()
    def _map(self, images: torch.Tensor, fn, batch: int = 1000) -> torch.Tensor:
        self.network.eval()
        if images.shape[1] != 1:
            raise ValueError(f"the digit classifier reads one channel, got {images.shape[1]}")
        return torch.cat([fn(images[i:i + batch].float().cpu()) for i in range(0, images.shape[0], batch)])

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The 128 penultimate features of each image."""
        return self._map(images, self.network.features)

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """The predicted class of each image."""
        return self._map(images, lambda x: self.network(x).argmax(1))

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """Each image's class probabilities (N, classes): the softmax of the logits."""
        return self._map(images, lambda x: self.network(x).softmax(1))


def _split(source: str, image_size: int, root: Optional[str], split: str) -> tuple[torch.Tensor, torch.Tensor]:
    cfg = DataConfig(source=source, root=root, image_size=image_size, channels=1, split=split, download=False)
    data = load_samples(cfg)
    if source == "digits":  # scikit-learn's digits have no split: the last 297 are held out
        cut = 1500
        data_images, labels = (data.samples[:cut], data.labels[:cut]) if split == "train" else \
            (data.samples[cut:], data.labels[cut:])
        return to_unit_range(data_images), labels
    return to_unit_range(data.samples), data.labels


def recipe_key(source: str, image_size: int) -> str:
    """What makes a trained classifier valid: the network's version and its training recipe."""
    return hashlib.sha256(json.dumps([VERSION, source, image_size, EPOCHS, BATCH, LR, SEED]).encode()).hexdigest()[:12]


def cache_path(source: str, image_size: int) -> Path:
    """Where the classifier for ``source`` at ``image_size`` is cached."""
    return cache_dir() / "classifiers" / f"{source}-{image_size}-{recipe_key(source, image_size)}.safetensors"


def shipped_path(source: str, image_size: int) -> Path:
    """Where gankit's own copy of the classifier for ``source`` at ``image_size`` would lie."""
    return SHIPPED / f"{source}-{image_size}.safetensors"


def accuracy(network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``images`` whose predicted class is their label."""
    network.eval()
    with torch.no_grad():
        predicted = torch.cat([network(images[i:i + 1000]).argmax(1) for i in range(0, len(images), 1000)])
    return float((predicted == labels).float().mean())


def train_classifier(source: str, image_size: int, root: Optional[str]) -> DomainClassifier:
    """Train the classifier on ``source``'s train split and measure it on its test split.

    Adam, the last epoch at a tenth of the learning rate, random shifts of up to 2 pixels.
    The global RNG is left as it was (training may be running around it).
    """
    with torch.random.fork_rng(devices=[]):
        return _train(source, image_size, root)


def _train(source: str, image_size: int, root: Optional[str]) -> DomainClassifier:
    images, labels = _split(source, image_size, root, "train")
    test_images, test_labels = _split(source, image_size, root, "test")
    generator = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    network = DigitClassifier(image_size)
    optimizer = torch.optim.Adam(network.parameters(), lr=LR)
    epochs = EPOCHS if len(images) > 10_000 else EPOCHS * 10  # small sets need more passes
    for epoch in range(epochs):
        if epoch == epochs - 1:
            for group in optimizer.param_groups:
                group["lr"] = LR / 10
        network.train()
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), BATCH):
            picked = order[start:start + BATCH]
            batch = images[picked]
            shift = torch.randint(-2, 3, (2,), generator=generator).tolist()  # small translations
            batch = torch.roll(batch, shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(network(batch), labels[picked])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return DomainClassifier(network.eval(), source, image_size, accuracy(network, test_images, test_labels),
                            len(test_images))


def domain_classifier(source: str, image_size: int, root: Optional[str] = None,
                      progress=None) -> DomainClassifier:
    """The cached classifier for ``source`` images of side ``image_size``, trained on first use."""
    if source not in CLASSIFIABLE:
        raise UserError(f"no domain classifier for data.source={source}; gankit trains one for "
                        f"{', '.join(CLASSIFIABLE)}")
    shipped = read_classifier(shipped_path(source, image_size), source, image_size)
    if shipped is not None:
        return shipped
    path = cache_path(source, image_size)
    cached = read_classifier(path, source, image_size)
    if cached is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    # One process trains, the others wait for it and read what it wrote (studies and test workers
    # evaluate side by side).
    lock = DirectoryLock(path.parent, what="classifier cache")
    lock.acquire(waiting=lambda holder: progress and progress(f"waiting for {holder}, which trains a classifier"))
    try:
        cached = read_classifier(path, source, image_size)
        if cached is not None:
            return cached
        if progress is not None:
            progress(f"training the {source} domain classifier (once; cached in {path.parent})")
        trained = train_classifier(source, image_size, root)
        _write(path, trained)
        return trained
    finally:
        lock.release()


def ship(source: str, image_size: int, root: Optional[str] = None) -> Path:
    """Train the classifier on one thread (as shipped copies are made) and write gankit's own copy
    of it (``make classifiers``); returns its path."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trained = train_classifier(source, image_size, root)
    finally:
        torch.set_num_threads(threads)
    path = shipped_path(source, image_size)
    _write(path, trained)
    return path


def _write(path: Path, trained: DomainClassifier) -> None:
    """Write a trained classifier atomically, with its recipe key and measured accuracy."""
    tensors = {k: v.contiguous() for k, v in trained.network.state_dict().items()}
    metadata = {"key": recipe_key(trained.source, trained.image_size), "test_accuracy": repr(trained.test_accuracy),
                "test_samples": str(trained.test_samples)}
    with atomic_write(path, "wb") as handle:
        handle.write(safetensors_bytes(tensors, metadata=metadata))


def read_classifier(path: Path, source: str, image_size: int) -> Optional[DomainClassifier]:
    """The classifier written at ``path`` for today's recipe (None when there is none, it was made
    by another recipe, or it is damaged: then it is retrained, not trusted)."""
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), "pt") as handle:
            meta = handle.metadata()
        if meta.get("key", recipe_key(source, image_size)) != recipe_key(source, image_size):
            return None  # (cache files before the key was written hold it in their name)
        network = DigitClassifier(image_size)
        network.load_state_dict(load_file(str(path)))
        return DomainClassifier(network.eval(), source, image_size, float(meta["test_accuracy"]),
                                int(meta["test_samples"]))
    except Exception:
        return None
