"""Building a GAN from a config, and stepping it by hand: the engine's public face.

    from gankit.config import build_config
    from gankit.engine import TrainableGan

    gan = TrainableGan(build_config("ring8", ["train.loss=hinge"]))  # data, networks, optimizers
    values = gan.read(gan.iterate())      # one iteration: k D steps, one G step; its statistics
    points = gan.generate(gan.fixed_noise(512))
    heat = gan.scores(points)             # D's output as shown (a probability or a critic's score)
    gan.reconfigure(other_cfg)            # another loss, learning rates or regularizer, between steps

The training loop (:mod:`gankit.engine.train`) builds its GAN the same way (:func:`prepare`).
"""

from __future__ import annotations

from typing import Optional

import torch

from gankit.augment import build_augment
from gankit.config import RunConfig
from gankit.data import SampleSet, load_samples, resolved_settings, sample_spec
from gankit.data.batches import Batches
from gankit.engine import distributed
from gankit.engine.device import resolve_device
from gankit.engine.distributed import Processes
from gankit.engine.ema import WeightAverage
from gankit.engine.gan import STAT_NAMES, Gan, Statistics
from gankit.engine.graphs import advance, iterations
from gankit.engine.optim import build_optimizer, set_lr
from gankit.engine.speed import Speed, resolve_speed
from gankit.engine.topk import top_k_updates
from gankit.errors import UserError
from gankit.nets import build_networks, wrap_modules
from gankit.nets.layers import inference
from gankit.objectives import build_objective
from gankit.priors import parse_prior
from gankit.regularize import build_regularizers
from gankit.spec import SampleSpec

FIXED_NOISE_SEED_OFFSET = 1  # the fixed grid noise comes from seed + this, apart from training noise
RANK_NOISE_STRIDE = 1_000_003  # process r draws its training noise from seed + r * this

# Ready-made (G, D) modules handed to gankit.train, trained in place of model.arch's family.
Modules = Optional[tuple[torch.nn.Module, torch.nn.Module]]


def build_gan(cfg: RunConfig, device: torch.device, spec: SampleSpec, speed: Optional[Speed] = None,
              processes: Processes = distributed.SINGLE, modules: Modules = None) -> Gan:
    """Seed the global RNG from the config, then build networks (or wrap the ready-made
    ``modules``), optimizers, objective, regularisers and prior, laid out and wrapped as
    ``speed`` says."""
    speed = speed or Speed.plain(device.type)
    torch.manual_seed(cfg.seed)
    if modules is not None:
        generator, discriminator = wrap_modules(*modules, cfg.model, spec)
    else:
        generator, discriminator = build_networks(cfg.model, spec)
    for net in (generator, discriminator):
        net.to(device, memory_format=speed.memory_format)
    noise = torch.Generator(device=device)
    noise.manual_seed(cfg.seed + processes.rank * RANK_NOISE_STRIDE)
    # A recorded step reads its learning rate from a tensor, which the schedule updates in place.
    lr_on = device if speed.graph and cfg.optim.schedule != "constant" else None
    optimizer_options = {"fused": speed.fused_optimizer, "capturable": speed.graph, "lr_on": lr_on}
    if cfg.regularize.augment and spec.kind != "images":
        raise UserError(f"regularize.augment transforms images; this run's data are {spec.kind}")
    forwards = (torch.compile(generator), torch.compile(discriminator)) if speed.compile else (None, None)
    return Gan(generator=generator, discriminator=discriminator,
               g_optimizer=build_optimizer(generator.parameters(), cfg.optim.g, **optimizer_options),
               d_optimizer=build_optimizer(discriminator.parameters(), cfg.optim.d, **optimizer_options),
               objective=build_objective(cfg, spec.num_classes),
               regularizers=build_regularizers(cfg.regularize), prior=parse_prior(cfg.train.prior),
               z_dim=cfg.model.z_dim, num_classes=generator.num_classes, pack=cfg.model.pack, noise=noise,
               speed=speed, reuse_fake=cfg.train.g_noise == "reuse",
               sync_gradients=distributed.average_gradients if processes.distributed else None,
               ema=WeightAverage(generator, cfg.train.ema) if cfg.train.ema else None,
               augment=build_augment(cfg.regularize.augment), g_forward=forwards[0], d_forward=forwards[1])


def prepare(cfg: RunConfig, processes: Processes = distributed.SINGLE, modules: Modules = None,
            data: Optional[SampleSet] = None, device: Optional[torch.device] = None,
            speed: Optional[Speed] = None) -> tuple[torch.device, SampleSpec, Batches, Gan]:
    """Load the data (writing what it decided into ``cfg.data``), resolve ``cfg.speed`` and build
    the GAN. ``data``, ``device`` and ``speed``: given instead of loaded, resolved from the config."""
    device = device or resolve_device(cfg.train.device)
    if processes.distributed:
        if device.type == "cuda":
            device = torch.device("cuda", processes.local_rank if device.index is None else device.index)
            torch.cuda.set_device(device)
        distributed.start(processes, device.type)
    if data is None:
        data = load_samples(cfg.data)
        for key, value in resolved_settings(cfg.data, data).items():
            setattr(cfg.data, key, value)
    spec = sample_spec(cfg.data)
    from_host = data.streamed and device.type != "cpu"
    speed = speed or resolve_speed(cfg, device, spec, processes.world_size, from_host=from_host)
    batches = Batches(data, cfg.train.batch_size, cfg.seed, device, memory_format=speed.memory_format,
                      rank=processes.rank, world_size=processes.world_size)
    gan = build_gan(cfg, device, spec, speed, processes, modules)
    gan.top_k = top_k_updates(cfg.train.top_k, cfg.train.top_k_decay, batches.batches_per_epoch,
                              cfg.train.d_steps)
    if processes.distributed:
        distributed.broadcast_weights(gan.generator)
        distributed.broadcast_weights(gan.discriminator)
        if gan.ema is not None:
            gan.ema = WeightAverage(gan.generator, gan.ema.decay)  # the average starts at the shared G
    return device, spec, batches, gan


def generate(generator: torch.nn.Module, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    """G's samples for ``z`` (and ``labels``) in inference mode (BatchNorm uses its running statistics)."""
    with inference(generator):
        return generator(z, labels)


def shown_scores(gan: Gan, points: torch.Tensor) -> torch.Tensor:
    """D's output as shown (a probability, or a critic's score) at arbitrary points, each judged
    alone (with packing: as a pack of copies of the point), in inference mode."""
    with inference(gan.discriminator):
        return gan.objective.as_shown(gan.score(points.repeat_interleave(gan.pack, 0)))


class TrainableGan:
    """A GAN built from a config as a run builds it (data, networks, optimizers, objective,
    speed), stepped by hand: one iteration at a time, with its statistics."""

    def __init__(self, cfg: RunConfig, data: Optional[SampleSet] = None, device: Optional[torch.device] = None,
                 speed: Optional[Speed] = None):
        """Build it; ``data`` (samples given instead of ``cfg.data``'s), ``device`` and ``speed``
        (switches resolved already, e.g. ``Speed.plain``) override what the config says."""
        self.cfg = cfg
        self.device, self.spec, self.batches, self.gan = prepare(cfg, data=data, device=device, speed=speed)
        self._iterate = iterations(self.gan, self.batches, cfg.train.d_steps)
        self.iteration = 0  # iterations done
        self._average_measured = True  # the weight average's BatchNorm statistics are its own

    @property
    def speed(self) -> Speed:
        """How it runs (resolved ``speed.*``)."""
        return self.gan.speed

    def iterate(self) -> torch.Tensor:
        """One training iteration as a run takes it (the scheduled learning rates, k D steps, one
        G step, the weight average's update); its statistics, packed, on the device (nothing is
        read to the host)."""
        stats = advance(self.gan, self.cfg, self._iterate, self.iteration + 1)
        self.iteration += 1
        self._average_measured = self.gan.ema is None
        return stats

    def read(self, stats: torch.Tensor) -> dict[str, float]:
        """Packed statistics as numbers by name (one host transfer), with what the loss derives
        from them (the Wasserstein estimate), as a run logs them."""
        values = Statistics.read(stats)
        values.update(self.gan.objective.derived(values))
        return values

    @staticmethod
    def statistic_names() -> tuple[str, ...]:
        """The names of the statistics, in their packed order."""
        return STAT_NAMES

    def fixed_noise(self, count: int) -> torch.Tensor:
        """The noise a run's pictures are drawn from (its first ``count`` codes), on the device."""
        noise = torch.Generator().manual_seed(self.cfg.seed + FIXED_NOISE_SEED_OFFSET)
        return self.gan.prior.sample(count, self.cfg.model.z_dim, generator=noise).to(self.device)

    def generate(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """G's samples in inference mode (the weight average's, with train.ema, its BatchNorm
        statistics measured on its own samples first as a run does before it draws)."""
        if not self._average_measured:
            self.gan.measure_average_statistics(self.device)
            self._average_measured = True
        return generate(self.gan.sampler, z, labels)

    def scores(self, points: torch.Tensor) -> torch.Tensor:
        """D's output as shown at ``points`` (inference mode)."""
        return shown_scores(self.gan, points.to(self.device))

    def reconfigure(self, cfg: RunConfig) -> None:
        """Take ``cfg``'s loss, regularizers and learning rates from the next iteration on (the
        networks, data and optimizers' state stay)."""
        self.gan.objective = build_objective(cfg, self.spec.num_classes)
        self.gan.regularizers = build_regularizers(cfg.regularize)
        set_lr(self.gan.g_optimizer, cfg.optim.g.lr)
        set_lr(self.gan.d_optimizer, cfg.optim.d.lr)
        self.cfg = cfg
