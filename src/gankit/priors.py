"""Latent priors, named by strings such as ``normal(0,1)`` or ``uniform(-1,1)``.

Each family of distributions is registered in :data:`gankit.registry.PRIORS` with its parameters
(name, default, the range the web lab's sliders offer), its check, how to draw from it and its
mean and spread. gankit's own (numbers may be written as Python/YAML floats):

* ``normal(mu, sigma)``: Gaussian with mean ``mu`` and standard deviation ``sigma > 0``.
* ``uniform(a, b)``: uniform on ``[a, b)`` with ``a < b``.
* ``exponential(rate)``: exponential with rate ``rate > 0`` (mean and std ``1/rate``),
  non-negative like the classic lab's; ``exponential(rate, shift)`` adds ``shift`` to every
  value, e.g. ``exponential(1,-1)`` has mean 0.
* ``mixture(k, sigma)``: a mixture of ``k`` equally likely Gaussians of standard deviation
  ``sigma`` around fixed centres drawn once from N(0, 1) (the same centres for every run of a
  latent size), a disconnected latent in the manner of DeLiGAN (Gurumurthy et al. 2017): a
  continuous G of a connected latent must lay some mass between separate modes of the data
  (Khayatkhoei et al. 2018), one of a mixture need not.

A family of your own: ``PRIORS.register("laplace", PriorFamily(...))``, then ``train.prior=laplace(0,1)``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import torch

from gankit.errors import UserError
from gankit.registry import PRIORS

_FORM = re.compile(r"^\s*([a-z][a-z0-9_-]*)\s*\((.*)\)\s*$")

Params = tuple[float, ...]


@dataclass(frozen=True)
class Parameter:
    """One parameter of a prior family: its name, its default (None: required) and the range the
    web lab's slider offers (``low``, ``high``, ``step``; any finite value is accepted in a config)."""

    name: str
    default: Optional[float]
    low: float = -10.0
    high: float = 10.0
    step: float = 0.1


@dataclass(frozen=True)
class PriorFamily:
    """A family of latent distributions: ``draw(out, params, generator)`` fills the tensor ``out``
    in place; ``problem(params)`` says what is wrong with the parameters (None: nothing);
    ``mean(params)`` and ``std(params)`` describe one coordinate."""

    parameters: tuple[Parameter, ...]
    draw: Callable[[torch.Tensor, Params, Optional[torch.Generator]], torch.Tensor]
    mean: Callable[[Params], float]
    std: Callable[[Params], float]
    problem: Callable[[Params], Optional[str]] = lambda params: None

    def form(self, name: str) -> str:
        """How it is written: ``exponential(rate[,shift])``."""
        required = [p.name for p in self.parameters if p.default is None]
        optional = "".join(f"[,{p.name}]" for p in self.parameters if p.default is not None)
        return f"{name}({','.join(required)}{optional})"

    def filled(self, params: list[float]) -> Optional[Params]:
        """``params`` with the defaults of the omitted trailing ones (None: a wrong count)."""
        required = sum(p.default is None for p in self.parameters)
        if not required <= len(params) <= len(self.parameters):
            return None
        return tuple(params) + tuple(p.default for p in self.parameters[len(params):])

    def count_problem(self) -> str:
        """What a wrong number of parameters is told: ``needs two numbers``."""
        words = {1: "one", 2: "two", 3: "three", 4: "four"}
        required, most = sum(p.default is None for p in self.parameters), len(self.parameters)
        count = words.get(most, str(most)) if required == most else \
            f"{words.get(required, str(required))} or {words.get(most, str(most))}"
        return f"needs {count} number{'s' if most > 1 else ''}"

    def to_dict(self, name: str) -> dict:
        """As the web lab reads it (``GET /api/units``)."""
        return {"form": self.form(name), "parameters": [asdict(p) for p in self.parameters]}


@dataclass(frozen=True)
class Prior:
    """A latent distribution: ``sample`` draws ``(n, dim)`` noise with a given generator."""

    kind: str
    params: Params

    @property
    def family(self) -> PriorFamily:
        """Its registered family."""
        return PRIORS.get(self.kind)

    def sample(self, n: int, dim: int, *, device: torch.device | str = "cpu",
               generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw an ``(n, dim)`` float32 tensor on ``device`` from this prior."""
        return self.family.draw(torch.empty(n, dim, device=device), self.params, generator)

    @property
    def mean(self) -> float:
        """The distribution's mean."""
        return self.family.mean(self.params)

    @property
    def std(self) -> float:
        """The distribution's standard deviation."""
        return self.family.std(self.params)

    def __str__(self) -> str:
        return f"{self.kind}({','.join(f'{p:g}' for p in self.params)})"


def parse_prior(text: str) -> Prior:
    """Parse ``family(numbers)`` for a registered family, e.g. ``normal(0,1)``."""
    match = _FORM.match(str(text).lower())
    if not match:
        raise UserError(f"prior '{text}' is not of the form name(numbers), e.g. normal(0,1)")
    kind, args = match.groups()
    family = PRIORS.find(kind)
    if family is None:
        forms = ", ".join(entry.form(name) for name, entry in PRIORS.items())
        raise UserError(f"prior '{text}': unknown distribution '{kind}' (use {forms})")
    try:
        numbers = [float(a) for a in args.split(",")] if args.strip() else []
    except ValueError:
        raise UserError(f"prior '{text}': parameters must be numbers") from None
    if not all(math.isfinite(p) for p in numbers):
        raise UserError(f"prior '{text}': parameters must be finite")
    params = family.filled(numbers)
    problem = family.count_problem() if params is None else family.problem(params)
    if problem:
        raise UserError(f"prior '{text}': {family.form(kind)} {problem}")
    return Prior(kind, params)


def valid_prior(text: str) -> str:
    """``text`` if it names a prior, else a ValueError with the reason (a config field's check)."""
    try:
        parse_prior(text)
    except UserError as err:
        raise ValueError(str(err)) from None
    return text


_MIXTURE_CENTRES_SEED = 20170519  # fixed, so that every run of a latent size shares the centres


@functools.lru_cache(maxsize=16)
def mixture_centres(k: int, dim: int, device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """The ``(k, dim)`` centres of ``mixture(k, sigma)`` on ``device``: drawn from N(0, 1) by a
    fixed seed, kept per device so that a training step copies nothing to the accelerator."""
    centres = torch.randn(k, dim, generator=torch.Generator().manual_seed(_MIXTURE_CENTRES_SEED))
    return centres.to(device)


def _draw_mixture(out: torch.Tensor, params: Params, generator: Optional[torch.Generator]) -> torch.Tensor:
    k, sigma = int(params[0]), params[1]
    component = torch.randint(k, (out.shape[0],), device=out.device, generator=generator)
    centres = mixture_centres(k, out.shape[1], out.device)
    return out.normal_(0.0, sigma, generator=generator).add_(centres[component])


def _mixture_problem(params: Params) -> Optional[str]:
    k, sigma = params
    if k < 1 or k != int(k):
        return "needs a whole number of components k >= 1"
    return "needs sigma > 0" if sigma <= 0 else None


PRIORS.register("normal", PriorFamily(
    (Parameter("mu", None), Parameter("sigma", None, 0.05, 10.0, 0.05)),
    draw=lambda out, p, generator: out.normal_(p[0], p[1], generator=generator),
    mean=lambda p: p[0], std=lambda p: p[1],
    problem=lambda p: "needs sigma > 0" if p[1] <= 0 else None))
PRIORS.register("uniform", PriorFamily(
    (Parameter("a", None), Parameter("b", None)),
    draw=lambda out, p, generator: out.uniform_(p[0], p[1], generator=generator),
    mean=lambda p: (p[0] + p[1]) / 2, std=lambda p: (p[1] - p[0]) / math.sqrt(12),
    problem=lambda p: "needs a < b" if p[0] >= p[1] else None))
PRIORS.register("exponential", PriorFamily(
    (Parameter("rate", None, 0.05, 10.0, 0.05), Parameter("shift", 0.0)),
    draw=lambda out, p, generator: out.exponential_(p[0], generator=generator).add_(p[1]),
    mean=lambda p: 1.0 / p[0] + p[1], std=lambda p: 1.0 / p[0],
    problem=lambda p: "needs rate > 0" if p[0] <= 0 else None))
PRIORS.register("mixture", PriorFamily(
    (Parameter("k", None, 1.0, 200.0, 1.0), Parameter("sigma", None, 0.01, 1.0, 0.01)),
    draw=_draw_mixture,
    # over the draw of the centres: each coordinate has mean 0 and variance 1 + sigma^2
    mean=lambda p: 0.0, std=lambda p: math.sqrt(1.0 + p[1] ** 2),
    problem=_mixture_problem))
