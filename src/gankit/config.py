"""RunConfig: the validated description of one training run, its presets and overrides.

A run is described by a preset (a YAML file in ``gankit/presets`` or a path to one) plus
``a.b=value`` overrides.  Everything is validated by pydantic; any mistake becomes a
:class:`~gankit.errors.UserError` whose one-line message names the key and, for unknown
names, suggests close matches.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Sequence, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gankit.errors import UserError
from gankit.registry import CONDITIONINGS, FAMILIES, LOSSES, OPTIMIZERS, SOURCES, suggestion

Overrides = Union[Mapping[str, Any], Sequence[str], None]  # {"train.steps": 600} or ["train.steps=600"]

DEFAULT_PRESET = "digits"
DEFAULT_CLIP = 0.01  # the WGAN paper's clipping bound
READY_MADE_ARCH = "modules"  # a run trained on modules handed to gankit.train(generator=, discriminator=)


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _registered(registry, *fields: str):
    """A field check: the value must be a name in ``registry`` (gankit's units and any registered
    since); the error names the choices and the close ones."""
    return field_validator(*fields)(classmethod(lambda cls, name: registry.check(name)))


class DataConfig(Section):
    """Where the training samples come from and how they are shaped.

    Images: digits, mnist, fashion-mnist, cifar10, folder, stacked-mnist (``image_size``, ``channels``).
    Sequences: sines (synthetic) and sequences (a .npy or .csv file; ``length``, ``channels``).
    Points: ring8 and grid25, the 2-D Gaussian mixtures.
    """

    source: str = "digits"  # a name in gankit.registry.SOURCES
    root: Optional[str] = None  # dataset folder (torchvision sets: torchvision's layout); sequences: the file
    download: bool = True  # torchvision sets: download into `root` when missing
    split: Literal["train", "test"] = "train"
    image_size: int = Field(16, ge=4, le=1024)
    channels: int = Field(1, ge=1, le=1024)  # images: 1 or 3; sequences: values per time step
    # sequences: time steps (sines default 64; files: read from the file)
    length: Optional[int] = Field(None, ge=8, le=1_000_000)
    # synthetic sources (sines, ring8, grid25, stacked-mnist): samples drawn
    count: int = Field(10000, ge=1, le=100_000_000)
    value_range: Optional[tuple[float, float]] = None  # sequence files: the data's (min, max), mapped to [-1, 1]
    limit: Optional[int] = Field(None, ge=1)  # keep only the first N samples
    labels: Literal["none", "folders"] = "none"  # folder: "folders" = each image's class is its first folder
    classes: Optional[list[str]] = None  # folder with labels=folders: the class names (written when it loads)
    cache: Optional[str] = None  # folder: where decoded images are cached (default $GANKIT_CACHE/images)
    memory_gb: Optional[float] = Field(None, gt=0)  # folder: larger sets stream from the cache (default: half the RAM)

    _source_known = _registered(SOURCES, "source")


class ModelConfig(Section):
    """The networks: one family (``arch``) for G and D, sized by the fields below, plus the
    options every family shares (conditioning, D's output head, D's regularising layers)."""

    # A registered family (gankit.registry.FAMILIES), or an import path "package.module:Family" to
    # a gankit.Family defined elsewhere, or "modules" (recorded by gankit.train for ready-made G and D).
    arch: str = "dcgan"
    # gankit.registry.CONDITIONINGS: none | concat: one-hot label joined to z and to D's input |
    # projection: label projected onto D's features | acgan: D also classifies | kplus1: K classes + "fake"
    conditional: str = "none"
    spectral_norm: bool = False  # spectral normalisation of every D layer
    minibatch_std: bool = False  # append the minibatch standard deviation to D's features
    pack: int = Field(1, ge=1)  # PacGAN: D judges this many samples at once
    z_dim: int = Field(100, ge=1, le=65536)
    g_width: int = Field(64, ge=1, le=16384)  # dcgan: channels of G's last hidden layer; mlp: units per layer
    d_width: int = Field(64, ge=1, le=16384)  # dcgan: channels of D's first layer; mlp: units per layer
    g_depth: int = Field(2, ge=1, le=64)  # mlp only: hidden layers of G
    d_depth: int = Field(2, ge=1, le=64)  # mlp only: hidden layers of D
    maxout_pieces: int = Field(0, ge=0, le=64)  # mlp D: maxout units of this many pieces (0: LeakyReLU)
    d_dropout: float = Field(0.0, ge=0.0, lt=1.0)  # mlp D: dropout before every layer

    _conditioning_known = _registered(CONDITIONINGS, "conditional")

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, arch: str) -> str:
        module, colon, name = arch.partition(":")
        if arch in FAMILIES or arch == READY_MADE_ARCH or (colon and module and name):
            return arch
        raise ValueError(f"'{arch}' is neither a registered family{suggestion(arch, FAMILIES.names())} "
                         f"({', '.join(FAMILIES.names())}) nor an import path of the form package.module:Family")


class OptimizerConfig(Section):
    """One optimizer and its hyperparameters."""

    name: str = "adam"  # a name in gankit.registry.OPTIMIZERS
    lr: float = Field(2e-4, gt=0)
    betas: tuple[float, float] = (0.5, 0.999)  # adam
    alpha: float = Field(0.99, gt=0, lt=1)  # rmsprop smoothing constant
    momentum: float = Field(0.0, ge=0, lt=1)  # sgd, rmsprop
    weight_decay: float = Field(0.0, ge=0)
    eps: float = Field(1e-8, gt=0)

    _optimizer_known = _registered(OPTIMIZERS, "name")

    @field_validator("betas")
    @classmethod
    def _betas_in_range(cls, betas: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError("both betas must lie in [0, 1)")
        return betas


class OptimConfig(Section):
    """Optimizers of the generator and the discriminator."""

    g: OptimizerConfig = OptimizerConfig()
    d: OptimizerConfig = OptimizerConfig()
    # linear: both lrs fall to 0 at train.steps; cosine: along half a cosine to 0 at train.steps
    schedule: Literal["constant", "linear", "cosine"] = "constant"
    # the step the fall starts from: the base rates are held until then (pix2pix's "n_epochs"
    # then "n_epochs_decay"); 0: from the first step; at or past train.steps: held all run, so a
    # shortened run is the first part of the full one
    decay_from: int = Field(0, ge=0)


class TrainConfig(Section):
    """The training loop."""

    steps: int = Field(5000, ge=1, le=1_000_000_000)  # generator steps
    # a time budget: stop after this many minutes of training in this process (checkpoint, grid and
    # generator written as at a run's end, then exit 0); a resume trains up to this long again
    minutes: Optional[float] = Field(None, gt=0, le=1_000_000)
    batch_size: int = Field(64, ge=1, le=65536)
    d_steps: int = Field(1, ge=1, le=1000)  # k: discriminator steps per generator step
    loss: str = "bce"  # a name in gankit.registry.LOSSES
    class_weight: float = Field(1.0, ge=0)  # acgan: weight of the auxiliary classification loss
    prior: str = "normal(0,1)"  # latent prior, see gankit.priors
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    log_every: int = Field(50, ge=1)
    sample_steps: list[int] = [0, 200, 1000, 2500, 5000]  # the last step is always added
    sample_count: int = Field(64, ge=1, le=4096)  # images in each grid
    checkpoint_every: int = Field(1000, ge=1)  # every checkpoint step is also a log step (checked first)
    keep_checkpoints: int = Field(1, ge=1, le=1000)  # > 1: also keep the newest K as checkpoints/step_NNNNNN.pt
    # decay of an exponential moving average of G's weights (e.g. 0.999), which sampling, grids,
    # evaluation and the exported generator then use (None: off); see gankit.engine.ema
    ema: Optional[float] = Field(None, gt=0, lt=1)
    # fresh: G's step draws new noise (Goodfellow's Algorithm 1) | reuse: G's step is taken on the
    # fake batch of D's last step, as the PyTorch DCGAN example does (one G forward fewer)
    g_noise: Literal["fresh", "reuse"] = "fresh"
    # top-k updates (Sinha et al. 2020): G's step learns only from the fakes D rates most real; the
    # share kept starts at 1 and is multiplied by top_k_decay after each epoch, down to top_k
    # (None: off; the paper: 0.5 or 0.75, decay 0.99); see gankit.engine.topk
    top_k: Optional[float] = Field(None, gt=0, le=1)
    top_k_decay: float = Field(0.99, gt=0, le=1)

    _loss_known = _registered(LOSSES, "loss")

    @field_validator("sample_steps")
    @classmethod
    def _non_negative(cls, steps: list[int]) -> list[int]:
        if any(s < 0 for s in steps):
            raise ValueError("sample steps must be >= 0")
        return sorted(set(steps))

    @field_validator("prior")
    @classmethod
    def _prior_parses(cls, text: str) -> str:
        from gankit.priors import valid_prior

        return valid_prior(text)


class RegularizeConfig(Section):
    """Constraints and penalties on D (the critic)."""

    clip: Optional[float] = Field(None, gt=0)  # WGAN: clip every D parameter to [-clip, clip]; true = 0.01
    gradient_penalty: float = Field(0.0, ge=0)  # WGAN-GP: weight of (|grad D(x_hat)| - 1)^2 (paper: 10)
    r1: float = Field(0.0, ge=0)  # R1: gamma of gamma/2 |grad D(x)|^2 on real samples
    # DiffAugment of everything D sees, real and fake alike (images): color, translation, cutout
    augment: list[Literal["color", "translation", "cutout"]] = []

    @field_validator("clip", mode="before")
    @classmethod
    def _clip_switch(cls, value: Any) -> Any:
        if value is True:
            return DEFAULT_CLIP
        if value is False:
            return None
        return value


class EvalConfig(Section):
    """Evaluation during training (``gankit eval RUN`` uses the same settings by default)."""

    every: Optional[int] = Field(None, ge=1)  # evaluate every N steps and at the end (None: never)
    samples: Optional[int] = Field(None, ge=2, le=10_000_000)  # generated samples (None: each metric's protocol)
    inception: bool = False  # also FID, KID, IS, precision/recall (torch-fidelity)
    inception_weights: Optional[str] = None  # local Inception-v3 weights file, for offline use


Switch = Union[bool, Literal["auto"]]


class SpeedConfig(Section):
    """How the loop is executed. Each computes the same function: ``graph`` bit for bit,
    ``channels_last``, ``fused_optimizer`` and ``compile`` with different rounding, ``precision``
    with bf16 activations. ``auto`` is resolved per device when a run starts and the resolved
    values are written into the run's config.yaml."""

    # auto: bf16 where the device computes it natively (a GPU; a CPU only for conv image nets), else fp32
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    channels_last: Switch = "auto"  # NHWC memory layout for conv image nets; auto: on for them
    fused_optimizer: Switch = "auto"  # one fused kernel per optimizer step (Adam, SGD); auto: on where torch has one
    graph: Switch = "auto"  # capture the whole iteration as one CUDA graph; auto: on for one CUDA process
    compile: bool = False  # torch.compile G and D (slow to start; not together with graph)


# How runs were executed before the speed switches existed.
BEFORE_SPEED_SWITCHES = {"precision": "fp32", "channels_last": False, "fused_optimizer": False, "graph": False}


class RunConfig(Section):
    """Everything that defines a run; saved as ``config.yaml`` in its run directory."""

    name: str = DEFAULT_PRESET
    seed: int = 0
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    regularize: RegularizeConfig = RegularizeConfig()
    eval: EvalConfig = EvalConfig()
    speed: SpeedConfig = SpeedConfig()

    @model_validator(mode="after")
    def _consistent(self) -> "RunConfig":
        conditioning = CONDITIONINGS.get(self.model.conditional)
        if self.model.pack > 1 and conditioning.conditional:
            raise ValueError("model.pack > 1 (PacGAN) works only with model.conditional=none")
        if self.train.batch_size % self.model.pack:
            raise ValueError(f"train.batch_size={self.train.batch_size} must be a multiple of "
                             f"model.pack={self.model.pack}")
        if conditioning.loss is not None and self.train.loss != conditioning.loss:
            raise ValueError(f"model.conditional={self.model.conditional} trains with its own objective "
                             f"({conditioning.label}); leave train.loss at {conditioning.loss} (got {self.train.loss})")
        if self.speed.graph is True and self.speed.compile:
            raise ValueError("speed.graph and speed.compile are two ways to the same end; choose one")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The config as plain YAML-ready data."""
        return self.model_dump(mode="json")


def import_paths(cfg: RunConfig) -> dict[str, str]:
    """The keys of ``cfg`` whose values name code to import ("package.module:Name"), with those
    values: what a run would import beyond gankit (only ``model.arch`` can)."""
    arch = cfg.model.arch
    return {"model.arch": arch} if arch not in FAMILIES and arch != READY_MADE_ARCH else {}


def shipped_names(package: str, folder: str) -> list[str]:
    """Names of the YAML files shipped in ``package``/``folder`` (without ``.yaml``)."""
    return sorted(p.name[:-5] for p in (resources.files(package) / folder).iterdir() if p.name.endswith(".yaml"))


def preset_names() -> list[str]:
    """Names of the presets that ship with gankit."""
    return shipped_names("gankit", "presets")


def names_a_file(name: str) -> bool:
    """Whether ``name`` names a file rather than a shipped preset or study: it is written as a
    path (it starts with ``~`` or holds a ``/`` or the system's separator: ``./x``, ``../x``,
    ``/x``, ``sub/x``) or ends in ``.yaml``/``.yml``. A bare name never names a file, so no file
    in the working folder can stand in for a shipped preset or study."""
    separators = {"/", os.sep, os.altsep} - {None}
    return name.startswith("~") or any(sep in name for sep in separators) or name.endswith((".yaml", ".yml"))


def read_named_yaml(name_or_path: str, kind: str, package: str, folder: str) -> tuple[dict[str, Any], str]:
    """A YAML mapping by shipped name (``package``/``folder``/NAME.yaml) or from a file named as a
    path (:func:`names_a_file`), with ``name`` set (from the file name when absent); returns it and
    how to name it in errors. ``kind`` ("preset", "study") names the thing in the error messages."""
    if names_a_file(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise UserError(f"{kind} file not found: {name_or_path}")
        text, name, what = path.read_text(), path.stem, f"{kind} file {name_or_path}"
    else:
        names = shipped_names(package, folder)
        if name_or_path not in names:
            here = Path(name_or_path).is_file()  # never read: only named in the message
            hint = f" (to use the file ./{name_or_path}, write ./{name_or_path})" if here else ""
            raise UserError(f"unknown {kind} '{name_or_path}'{suggestion(name_or_path, names)}; "
                            f"{'studies' if kind == 'study' else kind + 's'}: {', '.join(names)}{hint}")
        text = (resources.files(package) / folder / f"{name_or_path}.yaml").read_text()
        name, what = name_or_path, f"{kind} {name_or_path}"
    data = _parse_yaml(text, what)
    data.setdefault("name", name)
    return data, what


def load_preset(name_or_path: str) -> dict[str, Any]:
    """Read a shipped preset by name (``dcgan-mnist``) or a preset file named as a path
    (``mine.yaml``, ``./mine``; see :func:`names_a_file`)."""
    return read_named_yaml(name_or_path, "preset", "gankit", "presets")[0]


def _parse_yaml(text: str, what: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise UserError(f"{what} is not valid YAML: {str(err).splitlines()[0]}") from None
    except RecursionError:
        raise UserError(f"{what} is nested too deeply") from None
    if data is None:
        raise UserError(f"{what} is empty: it holds no settings")
    if not isinstance(data, dict):
        raise UserError(f"{what} must be a mapping of keys to values")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b=value`` into its key path and its YAML-parsed value."""
    key, sep, raw = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise UserError(f"override '{text}' is not of the form key.subkey=value")
    try:
        value = yaml.safe_load(raw) if raw != "" else None
    except (yaml.YAMLError, RecursionError):
        value = raw
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with every ``a.b=value`` override set in it."""
    result = yaml.safe_load(yaml.safe_dump(data))  # deep copy of plain data
    for text in overrides:
        path, value = parse_override(text)
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise UserError(f"override '{text}': '{part}' is a value, not a section")
            node = child
        node[path[-1]] = value
    return result


def validate(data: dict[str, Any]) -> RunConfig:
    """Validate plain config data, turning the first problem into a one-line UserError."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as err:
        raise UserError(_describe(err.errors()[0])) from None


def build_config(preset: Optional[str], overrides: list[str]) -> RunConfig:
    """Resolve a preset plus overrides into a validated RunConfig."""
    return validate(apply_overrides(load_preset(preset or DEFAULT_PRESET), overrides))


def load_run_config(run_dir: Any, overrides: list[str] = ()) -> RunConfig:
    """Read a run directory's ``config.yaml`` and apply overrides to it. ``run_dir``: a path,
    or a :class:`gankit.rundir.RunDir` (read from its anchor, following no link)."""
    from gankit.rundir import RunDir

    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    data = _parse_yaml(run.config_text(), str(run.config))
    if isinstance(data, dict) and "speed" not in data:
        data["speed"] = dict(BEFORE_SPEED_SWITCHES)  # a run from before them continues as it ran
    return validate(apply_overrides(data, list(overrides)))


def _describe(error: dict[str, Any]) -> str:
    """One line for one pydantic error, with a suggestion for misspelt keys."""
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc)
    if error["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        return f"unknown config key '{key}'{_suggest(loc[-1], known, prefix=loc[:-1])}"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if not loc:  # a rule across several keys
        return f"config: {message}"
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"config key '{key}': {message}{shown}"


def _known_keys(section_path: list[str]) -> list[str]:
    model: Any = RunConfig
    for part in section_path:
        field = model.model_fields.get(part)
        if field is None or not isinstance(field.annotation, type) or not issubclass(
                field.annotation, BaseModel):
            return []
        model = field.annotation
    return list(model.model_fields)


def _suggest(word: str, choices: list[str], prefix: list[str] = ()) -> str:
    return suggestion(word, choices, "".join(f"{part}." for part in prefix))


def override_strings(overrides: Overrides) -> list[str]:
    """``{"train.steps": 600}`` or ``["train.steps=600"]`` as the ``key=value`` strings the
    config reads; a mapping's values are written as YAML, so they come back as given."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        raise UserError(f"overrides must be a mapping or a list of key=value strings, not the string '{overrides}'")
    if isinstance(overrides, Mapping):
        return [f"{key}={_as_yaml(value)}" for key, value in overrides.items()]
    return [str(item) for item in overrides]


def _as_yaml(value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    elif isinstance(value, tuple):
        value = list(value)
    try:
        text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30)
    except yaml.representer.RepresenterError:
        raise UserError(f"override value {value!r} is not plain data (numbers, strings, lists, mappings)") from None
    return text.removesuffix("\n...\n").strip()
