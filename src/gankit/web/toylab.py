"""The toy lab's GAN (GAN Lab mode): a 2-D GAN trained step by step with gankit's own engine,
in a worker process of its own, and what the page draws of it.

The worker is started by :class:`gankit.web.toys.ToySessions` (an isolated interpreter running
:func:`worker`) and answers commands over a socket pair: ``("create", settings)``, ``("step", n)``, ``("settings",
settings)``, ``("state", None)``, ``("close", None)``. Each answer is ``("ok", state)``,
``("user", one line)`` for a refused request, or ``("fail", exception type)``.
"""

from __future__ import annotations

import math
import sys
import traceback
from collections import deque
from typing import Any, Optional

from gankit import quantities
from gankit.errors import UserError

TOY_CHARTS = ("losses", "outputs")  # the quantities of these charts go to the page (its loss chart, D's map)
TOY_MIXTURES = ("ring8", "grid25", "custom")
# The toy's regularizer choice as gankit's regularize.* keys.
REGULARIZERS: dict[str, dict[str, Any]] = {
    "none": {},
    "gradient_penalty": {"regularize.gradient_penalty": 10.0},  # WGAN-GP's weight
    "r1": {"regularize.r1": 1.0},
    "clip": {"regularize.clip": 0.01},  # WGAN's clipping bound
}
DEFAULTS: dict[str, Any] = {"mixture": "ring8", "points": None, "loss": "non-saturating", "g_lr": 1e-3,
                            "d_lr": 1e-3, "regularizer": "none", "seed": 0}
CHANGEABLE = ("loss", "g_lr", "d_lr", "regularizer")  # between steps; the rest is fixed per toy
# Small nets on top of the ring8 / grid25 presets: fast steps on a CPU core.
TOY_OVERRIDES: dict[str, Any] = {
    "model.g_width": 64, "model.d_width": 64, "model.g_depth": 3, "model.d_depth": 3, "model.maxout_pieces": 0,
    "model.pack": 1, "train.batch_size": 256, "train.ema": None, "train.device": "cpu",
    "train.steps": 1_000_000_000, "optim.schedule": "constant", "speed.graph": False, "speed.compile": False,
}
MAX_POINTS = 50
REAL_SHOWN = 1000
FAKE_SHOWN = 512
HEAT_SIZE = 40
LOSSES_KEPT = 500
MAX_STEPS = 200
CUSTOM_STD = 0.05  # of the drawn points' spread


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f"toy setting '{key}' must be a finite number (got {value!r})")
    return float(value)


def normalize(changes: Any, base: Optional[dict] = None) -> dict[str, Any]:
    """A toy's settings: ``base`` (or the defaults) with ``changes`` applied, checked; a
    mistake is a one-line UserError. Without ``base`` every setting may be given; with it (a
    running toy) only the changeable ones."""
    if not isinstance(changes, dict):
        raise UserError("the toy settings must be a JSON object")
    allowed = CHANGEABLE if base is not None else tuple(DEFAULTS)
    for key in changes:
        if key not in DEFAULTS:
            raise UserError(f"unknown toy setting '{key}'; settings: {', '.join(DEFAULTS)}")
        if key not in allowed and changes[key] != base.get(key):
            raise UserError(f"toy setting '{key}' is fixed once the toy exists (change: {', '.join(CHANGEABLE)}); "
                            "create a new toy instead")
    settings = dict(base or DEFAULTS)
    settings.update({k: v for k, v in changes.items() if k in allowed})
    if settings["mixture"] not in TOY_MIXTURES:
        raise UserError(f"unknown mixture '{settings['mixture']}'; mixtures: {', '.join(TOY_MIXTURES)}")
    if settings["mixture"] == "custom":
        points = settings["points"]
        if not isinstance(points, list) or not 1 <= len(points) <= MAX_POINTS:
            raise UserError(f"a custom mixture needs 'points': a list of 1 to {MAX_POINTS} [x, y] pairs")
        for point in points:
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise UserError(f"each point must be an [x, y] pair (got {point!r})")
            if any(abs(_number(v, "points")) > 1e4 for v in point):
                raise UserError("point coordinates must lie within ±10000")
        settings["points"] = [[float(x), float(y)] for x, y in points]
    else:
        settings["points"] = None
    for key in ("g_lr", "d_lr"):
        settings[key] = _number(settings[key], key)
    if not isinstance(settings["loss"], str):
        raise UserError(f"toy setting 'loss' must be a string (got {settings['loss']!r})")
    if settings["regularizer"] not in REGULARIZERS:
        raise UserError(f"unknown regularizer '{settings['regularizer']}'; regularizers: {', '.join(REGULARIZERS)}")
    seed = settings["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise UserError(f"toy setting 'seed' must be a whole number in 0..{2**31 - 1} (got {seed!r})")
    toy_config(settings)  # the loss, rates and their combination, as gankit checks them
    return settings


def toy_config(settings: dict[str, Any]):
    """The RunConfig of a toy: the ring8 (custom too) or grid25 preset with small nets and the
    toy's loss, learning rates, regularizer and seed."""
    from gankit.config import override_strings
    from gankit.config import build_config

    preset = "grid25" if settings["mixture"] == "grid25" else "ring8"
    overrides = {**TOY_OVERRIDES, "train.loss": settings["loss"], "optim.g.lr": settings["g_lr"],
                 "optim.d.lr": settings["d_lr"], "seed": settings["seed"], **REGULARIZERS[settings["regularizer"]]}
    return build_config(preset, override_strings(overrides))


class ToyLab:
    """One toy GAN (built and stepped through the engine's public face,
    :class:`gankit.engine.TrainableGan`) and the fixed inputs of its pictures."""

    def __init__(self, settings: dict[str, Any]):
        import torch

        from gankit.data.sampleset import SampleSet
        from gankit.data.toys import DATA_SEED, Mixture
        from gankit.engine import TrainableGan
        from gankit.track.pictures import plot_extent

        self.settings = settings
        cfg = toy_config(settings)
        data = None
        if settings["mixture"] == "custom":
            means = torch.tensor(settings["points"], dtype=torch.float32)
            side = float((means.max(0).values - means.min(0).values).max())
            mixture = Mixture("custom", means, CUSTOM_STD * (side if side > 1e-6 else 1.0))
            points, modes = mixture.sample(cfg.data.count, torch.Generator().manual_seed(DATA_SEED))
            data = SampleSet(points, modes, mixture.num_modes, f"custom: {mixture.num_modes} Gaussians")
        self.gan = TrainableGan(cfg, data=data)
        self.real = self.gan.batches.samples[:REAL_SHOWN].float().cpu()
        self.z = self.gan.fixed_noise(FAKE_SHOWN)
        self.extent = plot_extent(self.real)
        x0, x1, y0, y1 = self.extent
        xs, ys = torch.linspace(x0, x1, HEAT_SIZE), torch.linspace(y0, y1, HEAT_SIZE)
        self.grid = torch.cartesian_prod(ys, xs).flip(1)  # (x, y) pairs, row-major from y0 to y1
        self.losses: deque = deque(maxlen=LOSSES_KEPT)
        self.diverged: Optional[str] = None

    def step(self, steps: int) -> None:
        """Train ``steps`` iterations (k D steps and one G step each)."""
        if self.diverged:
            raise UserError(f"{self.diverged}; create a new toy")
        for _ in range(steps):
            values = self.gan.read(self.gan.iterate())
            step = self.gan.iteration
            row = {"step": step, **{k: values[k] for chart in TOY_CHARTS for k in quantities.on_chart(chart, values)}}
            broken = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
            self.losses.append({k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in row.items()})
            if broken:
                self.diverged = f"the toy diverged at step {step}: {', '.join(broken)} became non-finite"
                break

    def change(self, settings: dict[str, Any]) -> None:
        """Switch the loss, the learning rates and the regularizer between steps."""
        self.gan.reconfigure(toy_config(settings))
        self.settings = settings

    def state(self) -> dict[str, Any]:
        """What the page draws: real and generated points, D's heat map, the losses, the settings."""
        fake = self.gan.generate(self.z).float()
        heat = self.gan.scores(self.grid).float().cpu()
        return {"step": self.gan.iteration, "real": _points(self.real), "fake": _points(fake),
                "heat": {"extent": [round(v, 5) for v in self.extent], "size": HEAT_SIZE, "values": _rounded(heat)},
                "losses": list(self.losses), "settings": dict(self.settings), "diverged": self.diverged}


def _rounded(values) -> list:
    return [round(v, 5) if math.isfinite(v) else None for v in values.flatten().tolist()]


def _points(points) -> list:
    return [[round(x, 5) if math.isfinite(x) else None, round(y, 5) if math.isfinite(y) else None]
            for x, y in points.detach().cpu().tolist()]


def worker() -> None:
    """The worker's entry: ``sys.argv[1]`` is the file descriptor of its end of the socket pair."""
    from multiprocessing.connection import Connection

    main(Connection(int(sys.argv[1])))


def main(conn) -> None:
    """The worker process: build the toy, then answer commands until "close" or the server is gone."""
    import torch

    torch.set_num_threads(1)
    lab: Optional[ToyLab] = None
    while True:
        try:
            command, argument = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            if command == "close":
                conn.send(("ok", None))
                return
            if command == "create":
                lab = ToyLab(argument)
            elif lab is None:
                raise UserError("the toy is not built yet")
            elif command == "step":
                lab.step(int(argument))
            elif command == "settings":
                lab.change(argument)
            elif command != "state":
                raise UserError(f"unknown toy command '{command}'")
            answer = ("ok", lab.state())
        except UserError as err:
            answer = ("user", str(err))
        except Exception as err:  # reported in one line; the traceback goes to the server's stderr
            traceback.print_exc(file=sys.stderr)
            answer = ("fail", type(err).__name__)
        try:
            conn.send(answer)
        except (OSError, EOFError):
            return
