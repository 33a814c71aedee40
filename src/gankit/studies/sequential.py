"""Looking at a study after each round of seeds without fooling oneself.

A study run ``--until-settled`` judges its claims after every round of seeds and adds seeds
while any claim is open. Testing at 5% after each round would claim an effect that is not there
far more often than 5% of the time (each look is another chance). So the level is *spent*
over the looks: look k may use only its share of it,

    level_k = spend(n_k / n_max) - spend(n_{k-1} / n_max),  spend(t) = level * ln(1 + (e - 1) t)

(the Pocock-type spending function of Lan & DeMets, 1983, with n_k the seeds at look k and
n_max the cap). Each look's interval is a plain t interval at its own level; since the shares
add up to ``level``, the chance that any look wrongly decides a claim is at most ``level``
(a union bound: it holds however the looks depend on each other, and errs on the safe side).
A study without ``--until-settled`` is one look at the whole level: the t-test of before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

LEVEL = 0.05
POWER = 0.8  # for the seeds an open claim would need


@dataclass(frozen=True)
class Looks:
    """When a study is judged: at ``first`` seeds, then every ``step`` more, up to ``most``."""

    first: int
    step: int
    most: int
    level: float = LEVEL

    @classmethod
    def single(cls, seeds: int, level: float = LEVEL) -> "Looks":
        """One look at ``seeds`` seeds (a study with a fixed number of seeds)."""
        return cls(seeds, 1, seeds, level)

    @property
    def count(self) -> int:
        """How many looks the design has at most."""
        return 1 + math.ceil(max(self.most - self.first, 0) / self.step)

    def seeds_at(self, look: int) -> int:
        """Seeds judged at look ``look`` (1-based)."""
        return min(self.first + (look - 1) * self.step, self.most)

    def spent(self, look: int) -> float:
        """The level spent up to and including look ``look``."""
        if look <= 0:
            return 0.0
        if look >= self.count:
            return self.level
        return self.level * math.log1p((math.e - 1) * self.seeds_at(look) / self.most)

    def level_at(self, look: int) -> float:
        """The level look ``look`` may use on its own."""
        return self.spent(look) - self.spent(look - 1)

    def look_of(self, seeds: int) -> int:
        """The last look whose seeds are all among ``seeds`` seeds (0: not even the first)."""
        if seeds < self.first:
            return 0
        return min(1 + (seeds - self.first) // self.step, self.count)

    def describe(self) -> str:
        """One line for the report: the design and its rule."""
        if self.count == 1:
            return f"one look at {self.first} seeds, {100 * self.level:g}% two-sided"
        seeds = [self.seeds_at(k) for k in range(1, self.count + 1)]
        shown = ", ".join(map(str, seeds[:-1])) + f" and {seeds[-1]}" if len(seeds) <= 4 else \
            f"{seeds[0]}, {seeds[1]}, {seeds[2]}, ... up to {seeds[-1]}"
        return (f"looks at {shown} seeds; the {100 * self.level:g}% level spent over the looks (Pocock-type "
                "spending, each look at its share)")


def t_quantile(level: float, freedom: float) -> float:
    """The two-sided critical value of Student's t at ``level`` with ``freedom`` degrees of freedom."""
    from scipy.special import stdtrit

    return float(stdtrit(max(freedom, 1e-9), 1 - level / 2))


def seeds_needed(gap: float, variance_sum: float, level: float) -> Optional[int]:
    """Seeds per arm to tell a gap of ``gap`` from zero at ``level`` with 80% power, given the
    spread seen (``variance_sum``: the per-seed variance of the difference, s_a^2 + s_b^2 for two
    arms, s^2 for one). None when there is no gap or no spread to go by."""
    from scipy.special import ndtri

    if gap <= 0 or not math.isfinite(gap) or variance_sum <= 0 or not math.isfinite(variance_sum):
        return None
    z = ndtri(1 - level / 2) + ndtri(POWER)
    return max(2, math.ceil(z * z * variance_sum / (gap * gap)))
