"""Training data: every source becomes a :class:`SampleSet`.

Each source is registered in :data:`gankit.registry.SOURCES` (a source of your own:
``SOURCES.register("name", Source(load, kind, classes))``). ``load_samples(cfg)`` dispatches on
``cfg.source`` through it;
``sample_spec(cfg)`` says what one sample looks like without loading anything;
:class:`Batches` serves reproducible shuffled batches to the training loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Union

from gankit.config import DataConfig
from gankit.data import digits, image_folder, sequences, stacked_mnist, torchvision_sets, toys
from gankit.data.batches import Batches, to_model_units, to_unit_range
from gankit.data.sampleset import SampleSet
from gankit.errors import UserError
from gankit.registry import SOURCES
from gankit.spec import Kind, SampleSpec


@dataclass(frozen=True)
class Source:
    """A data source: its loader, the kind of sample it yields, its number of classes (a number,
    None, or a function of the config for sources whose classes depend on it), how its samples
    are evaluated (:class:`gankit.metrics.evaluate.Evaluator`: "modes" of a 2-D mixture,
    "stacked" MNIST modes, "sequences", a digit "classifier" for grey images, else "features"
    of gankit's random encoder), whether it has a test split to compare with, whether it reads
    nothing but ``data.root`` (a folder, a zip, a file: there is no default to fall back on), and
    for a synthetic source a fresh draw of n samples never trained on (``held_out(cfg, n)``)."""

    load: Callable[[DataConfig], SampleSet]
    kind: Kind
    num_classes: Union[int, None, Callable[[DataConfig], Optional[int]]]
    evaluation: str = "features"
    test_split: bool = False
    needs_root: bool = False
    held_out: Optional[Callable[[DataConfig, int], SampleSet]] = None

    def classes(self, cfg: DataConfig) -> Optional[int]:
        """The number of classes of ``cfg``'s data (None: unlabelled)."""
        return self.num_classes(cfg) if callable(self.num_classes) else self.num_classes


SOURCES.register("digits", Source(digits.load, "images", 10, "classifier"))
SOURCES.register("mnist", Source(torchvision_sets.load_mnist, "images", 10, "classifier", test_split=True))
SOURCES.register("fashion-mnist", Source(torchvision_sets.load_fashion_mnist, "images", 10, "classifier",
                                         test_split=True))
SOURCES.register("cifar10", Source(torchvision_sets.load_cifar10, "images", 10, "features", test_split=True))
SOURCES.register("folder", Source(image_folder.load, "images", image_folder.num_classes, "features", needs_root=True))
SOURCES.register("stacked-mnist", Source(stacked_mnist.load, "images", stacked_mnist.MODES, "stacked",
                                         test_split=True))
SOURCES.register("sines", Source(sequences.sines, "sequences", None, "sequences", held_out=sequences.held_out_sines))
SOURCES.register("sequences", Source(sequences.load_file, "sequences", None, "sequences", needs_root=True))
SOURCES.register("ring8", Source(toys.load, "points", 8, "modes"))
SOURCES.register("grid25", Source(toys.load, "points", 25, "modes"))

__all__ = ["Batches", "SampleSet", "SOURCES", "Source", "load_samples", "resolved_settings", "sample_spec",
           "source_of", "to_model_units", "to_unit_range"]


def source_of(cfg: DataConfig) -> Source:
    """The registered source ``cfg.source`` names."""
    return SOURCES.get(cfg.source)




def sample_spec(cfg: DataConfig) -> SampleSpec:
    """The kind and shape of one sample of ``cfg``'s data, from the config alone."""
    source = source_of(cfg)
    classes = source.classes(cfg)
    if source.kind == "images":
        if cfg.channels not in (1, 3):
            raise UserError(f"data.channels={cfg.channels}: images have 1 (grey) or 3 (RGB) channels")
        return SampleSpec("images", (cfg.channels, cfg.image_size, cfg.image_size), classes)
    if source.kind == "sequences":
        return SampleSpec("sequences", (cfg.channels, cfg.length or sequences.SINE_LENGTH), classes)
    return SampleSpec("points", (2,), classes)


def resolved_settings(cfg: DataConfig, data: SampleSet) -> dict[str, Any]:
    """Data settings the loaded data decided (a file's length, channels and value range; a
    folder's class names), to be written into the run's config so that it describes the run completely."""
    if data.classes is not None and cfg.source == "folder":
        return {"classes": list(data.classes)}
    if source_of(cfg).kind != "sequences":
        return {}
    settings: dict[str, Any] = {"channels": data.samples.shape[1], "length": data.samples.shape[2]}
    if data.value_range is not None:
        settings["value_range"] = data.value_range
    return settings


def load_samples(cfg: DataConfig) -> SampleSet:
    """Load the samples ``cfg`` describes, keeping the first ``cfg.limit``."""
    data = source_of(cfg).load(cfg)
    if cfg.limit is not None and len(data) > cfg.limit:
        labels = None if data.labels is None else data.labels[:cfg.limit]
        data = replace(data, samples=data.samples[:cfg.limit], labels=labels)
    return data
