"""Latent priors, named by strings such as ``normal(0,1)`` or ``uniform(-1,1)``.

Supported forms (numbers may be written as Python/YAML floats):

* ``normal(mu, sigma)``: Gaussian with mean ``mu`` and standard deviation ``sigma > 0``.
* ``uniform(a, b)``: uniform on ``[a, b)`` with ``a < b``.
* ``exponential(rate)``: exponential with rate ``rate > 0`` (mean and std ``1/rate``),
  non-negative like the classic lab's; ``exponential(rate, shift)`` adds ``shift`` to every
  value, e.g. ``exponential(1,-1)`` has mean 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

import torch

from gankit.errors import UserError

_FORM = re.compile(r"^\s*([a-z]+)\s*\((.*)\)\s*$")


@dataclass(frozen=True)
class Prior:
    """A latent distribution: ``sample`` draws ``(n, dim)`` noise with a given generator."""

    kind: str
    params: tuple[float, ...]

    def sample(self, n: int, dim: int, *, device: torch.device | str = "cpu",
               generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw an ``(n, dim)`` float32 tensor on ``device`` from this prior."""
        out = torch.empty(n, dim, device=device)
        if self.kind == "normal":
            mu, sigma = self.params
            return out.normal_(mu, sigma, generator=generator)
        if self.kind == "uniform":
            a, b = self.params
            return out.uniform_(a, b, generator=generator)
        rate, shift = self.params
        return out.exponential_(rate, generator=generator).add_(shift)

    @property
    def mean(self) -> float:
        """The distribution's mean."""
        if self.kind == "normal":
            return self.params[0]
        if self.kind == "uniform":
            return (self.params[0] + self.params[1]) / 2
        return 1.0 / self.params[0] + self.params[1]

    @property
    def std(self) -> float:
        """The distribution's standard deviation."""
        if self.kind == "normal":
            return self.params[1]
        if self.kind == "uniform":
            return (self.params[1] - self.params[0]) / math.sqrt(12)
        return 1.0 / self.params[0]

    def __str__(self) -> str:
        return f"{self.kind}({','.join(f'{p:g}' for p in self.params)})"


def _check(text: str, kind: str, params: list[float]) -> tuple[float, ...]:
    """Validate the parameters of one prior kind, filling defaults."""
    if kind == "normal":
        if len(params) != 2 or params[1] <= 0:
            raise UserError(f"prior '{text}': normal(mu,sigma) needs two numbers with sigma > 0")
    elif kind == "uniform":
        if len(params) != 2 or params[0] >= params[1]:
            raise UserError(f"prior '{text}': uniform(a,b) needs two numbers with a < b")
    elif kind == "exponential":
        if len(params) == 1:
            params = [params[0], 0.0]
        if len(params) != 2 or params[0] <= 0:
            raise UserError(f"prior '{text}': exponential(rate[,shift]) needs rate > 0")
    else:
        raise UserError(f"prior '{text}': unknown distribution '{kind}' "
                        "(use normal(mu,sigma), uniform(a,b) or exponential(rate[,shift]))")
    return tuple(params)


def parse_prior(text: str) -> Prior:
    """Parse ``normal(mu,sigma)``, ``uniform(a,b)`` or ``exponential(rate[,shift])``."""
    match = _FORM.match(str(text).lower())
    if not match:
        raise UserError(f"prior '{text}' is not of the form name(numbers), e.g. normal(0,1)")
    kind, args = match.groups()
    try:
        params = [float(a) for a in args.split(",")] if args.strip() else []
    except ValueError:
        raise UserError(f"prior '{text}': parameters must be numbers") from None
    if not all(math.isfinite(p) for p in params):
        raise UserError(f"prior '{text}': parameters must be finite")
    return Prior(kind, _check(text, kind, params))


def valid_prior(text: str) -> str:
    """``text`` if it names a prior, else a ValueError with the reason (a config field's check)."""
    try:
        parse_prior(text)
    except UserError as err:
        raise ValueError(str(err)) from None
    return text
