"""Training health, checked at each log step from what the loop reads there anyway.

Two kinds of check, both on the values of one host transfer per log interval (the averaged
statistics and the L2 norms of G's and D's weights), never per step:

- **Divergence**: a NaN or infinite statistic or weight norm stops the run
  (:class:`~gankit.errors.TrainingDiverged`, exit code 4) before anything is written from the
  broken state, so the last checkpoint stays the last finite one.
- **The classic failure modes**, as warnings a student can act on: D has won (D(G(z)) near 0
  for a long stretch, so G learns little), the losses or weights are exploding, and G's
  samples are losing their variety (mode collapse). Each is logged as an event in
  metrics.jsonl and TensorBoard and printed once when it begins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import torch

from gankit.engine.gan import STAT_NAMES, Gan, rounded
from gankit.quantities import describe
from gankit.registry import LOSSES

WEIGHT_NORMS = ("g_weight_norm", "d_weight_norm")  # logged beside the statistics

# D has won: mean D(G(z)) under BELOW, after the warm-up, for at least STRETCH of the planned steps
# (and MIN_LOGS logs), until it rises over RECOVERED. With the minimax G loss that stalls G at once
# (its gradient vanishes); the non-saturating loss keeps G learning against a confident D (a DCGAN
# at D(G(z)) about 0.05 for hundreds of steps is normal), so only a D that wins outright, for long, counts.
D_WON_SATURATING = (0.05, 0.05)  # (BELOW, STRETCH) for a saturating G loss (minimax)
D_WON_OTHER = (0.01, 0.2)
D_WON_RECOVERED = 0.1
EXPLODING_FACTOR = 1e4  # a loss this many times its starting scale, or weights this many times their start
# Collapse is variety lost, not variety not yet gained: an early G draws blurry, alike samples and
# gains variety as it learns (its fake batch's spread rises from about 0 to 0.9-1 of the real batch's).
SPREAD_KEPT = 0.5  # the fake batch's spread falls below this share of the highest it had reached...
DIVERSITY_KEPT = 0.5  # ...or the evaluated diversity falls below this share of the highest it had reached
# Both are ratios to the data's own. Variety past the data's is noise, not variety a G can lose: a G
# trained fast draws noisy samples (spread about 2x the real batch's) that settle to the data's, so
# the highest reached counts at most as the data's (1.0).
DATA_VARIETY = 1.0
# Neither D winning nor collapse is judged before 5% of the steps or 200, whichever is later: an
# untrained G varies little, and a DCGAN's D leads by far at first (D(G(z)) near 0) while G learns.
WARM_UP = (0.05, 200)
MIN_LOGS = 3  # a condition must hold this many logs in a row

LOSS_STATS = ("d_loss", "g_loss", "d_real", "d_fake")  # watched for explosions, with the weight norms


def weight_norms(gan: Gan) -> torch.Tensor:
    """The L2 norms of all of G's and of all of D's weights: a device vector of 2, no host sync."""
    def norm(module: torch.nn.Module) -> torch.Tensor:
        weights = [p.detach() for p in module.parameters()]
        return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(weights))).float()

    return torch.stack([norm(gan.generator), norm(gan.discriminator)])


def read_interval(totals: torch.Tensor, iterations: int, gan: Gan) -> dict[str, float]:
    """The statistics of a log interval (``totals`` summed over ``iterations``; 0: as they are)
    and the weight norms, read with one host transfer and rounded for the log."""
    vector = torch.cat([totals / max(iterations, 1), weight_norms(gan).to(totals.device)])
    return {name: rounded(name, value) for name, value in zip(STAT_NAMES + WEIGHT_NORMS, vector.tolist())}


def nonfinite(values: dict[str, float]) -> list[str]:
    """The names of the values that are NaN or infinite."""
    return [name for name, value in values.items() if isinstance(value, float) and not math.isfinite(value)]


def divergence_message(step: int, names: list[str], values: dict[str, float], saved_step: Optional[int],
                       run_dir: object) -> str:
    """One line: at which step what became non-finite, what is kept, how to go on."""
    first = sorted(names, key=lambda n: (n not in WEIGHT_NORMS, n not in LOSS_STATS))[:3]
    kinds = " or ".join(sorted({"infinite" if math.isinf(values[n]) else "NaN" for n in names}))
    listed = [f"{describe(n).description or n} ({n})" for n in first]
    broken = ", ".join(listed[:-1]) + (" and " if len(listed) > 1 else "") + listed[-1]
    if len(names) > len(first):
        more = len(names) - len(first)
        broken += f" (and {more} more value{'s' if more > 1 else ''})"
    kept = (f"the last finite checkpoint (step {saved_step}) is kept" if saved_step is not None
            else "no checkpoint had been written yet")
    return (f"training diverged at step {step}: {broken} became {kinds}; stopped, {kept}. "
            f"Lower the learning rates and resume: gankit train --resume {run_dir} optim.g.lr=... optim.d.lr=...")


@dataclass
class Event:
    """A health event: a short kind (``d_won``, ``exploding``, ``collapse``, ``diverged``) and a sentence."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """As metrics.jsonl holds it."""
        return {"kind": self.kind, "message": self.message}


@dataclass
class HealthMonitor:
    """Watches the logged values of one run and names the classic failure modes as they begin.

    ``probabilities``: D's outputs are probabilities (the logistic losses); D winning is judged
    only then. ``steps``: the planned steps, which set how long a stretch counts as long.
    """

    probabilities: bool
    steps: int
    loss: str = "bce"  # train.loss: what the advice says
    _start: dict[str, float] = field(default_factory=dict)
    _d_won_since: Optional[int] = None
    _d_won_logs: int = 0
    _low_spread: int = 0
    _best_spread: float = 0.0
    _diversity: Optional[float] = None  # the last evaluated diversity (eval.every)
    _best_diversity: Optional[float] = None  # and the highest so far, with its step
    _best_diversity_step: int = 0
    _active: set = field(default_factory=set)

    def check(self, step: int, values: dict) -> list[Event]:
        """The events that begin at this log step (each condition is reported once until it ends)."""
        values = {k: float(v) for k, v in values.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        if not self._start:
            self._start = {k: abs(float(values[k])) for k in LOSS_STATS + WEIGHT_NORMS if k in values}
        found = [self._d_won(step, values), self._exploding(step, values), self._collapse(step, values)]
        return [event for event in found if event is not None]

    def _once(self, kind: str, holds: bool, message: str) -> Optional[Event]:
        """An event the first log ``holds`` is true after it was false."""
        if not holds:
            self._active.discard(kind)
            return None
        if kind in self._active:
            return None
        self._active.add(kind)
        return Event(kind, message)

    def _warming_up(self, step: int) -> bool:
        return step < max(WARM_UP[0] * self.steps, WARM_UP[1])

    def _d_won(self, step: int, values: dict) -> Optional[Event]:
        if not self.probabilities or self._warming_up(step) or "d_g_z" not in values:
            return None
        d_g_z = values["d_g_z"]
        saturating = getattr(LOSSES.find(self.loss), "saturating", False)
        below, stretch = D_WON_SATURATING if saturating else D_WON_OTHER
        if d_g_z < below:
            self._d_won_since = step if self._d_won_since is None else self._d_won_since
            self._d_won_logs += 1
        elif d_g_z > D_WON_RECOVERED:
            self._d_won_since, self._d_won_logs = None, 0
        long = (self._d_won_since is not None and self._d_won_logs >= MIN_LOGS
                and step - self._d_won_since >= stretch * self.steps)
        if saturating:
            why = (f"so G's {self.loss} loss (log(1 - D(G(z))) for minimax) is flat there: its gradient vanishes and G learns little. "
                   "Try the non-saturating G loss (train.loss=non-saturating), a smaller D learning rate "
                   "(optim.d.lr) or fewer D steps (train.d_steps)")
        else:
            why = ("so G follows a D that is too sure of itself and its samples may stop improving. "
                   "Try a smaller D learning rate (optim.d.lr), fewer D steps (train.d_steps), or a "
                   "regularised D (model.spectral_norm=true, regularize.r1)")
        return self._once("d_won", long,
                          f"D has won: since step {self._d_won_since} it calls almost every fake fake "
                          f"(mean D(G(z)) = {d_g_z:.3f}), {why}")

    def _exploding(self, step: int, values: dict) -> Optional[Event]:
        worst = None
        for key in LOSS_STATS + WEIGHT_NORMS:
            if key in values and key in self._start:
                scale = max(1.0, self._start[key])
                if abs(values[key]) > EXPLODING_FACTOR * scale and (worst is None or abs(values[key]) > worst[1]):
                    worst = (key, abs(values[key]), self._start[key])
        if worst is None:
            return self._once("exploding", False, "")
        key, value, start = worst
        return self._once("exploding", True,
                          f"{describe(key).description} {'are' if key in WEIGHT_NORMS else 'is'} exploding: "
                          f"{key} = {value:.3g} at step {step} (it was {start:.3g} at the start). "
                          "The learning rates are probably too high (optim.g.lr, optim.d.lr)")

    def _collapse(self, step: int, values: dict) -> Optional[Event]:
        if "eval_diversity" in values:
            self._diversity = values["eval_diversity"]
            if self._best_diversity is None or self._diversity > self._best_diversity:
                self._best_diversity, self._best_diversity_step = self._diversity, step
        diversity, spread = self._diversity, values.get("fake_spread")
        if spread is not None:
            self._best_spread = max(self._best_spread, spread)
        if self._warming_up(step):
            return None
        low_spread = spread is not None and spread < SPREAD_KEPT * min(self._best_spread, DATA_VARIETY)
        self._low_spread = self._low_spread + 1 if low_spread else 0
        low_diversity = diversity is not None and diversity < DIVERSITY_KEPT * min(self._best_diversity, DATA_VARIETY)
        holds = self._low_spread >= MIN_LOGS or low_diversity
        measured = (f"their diversity fell to {diversity:.2f} of the data's (it was {self._best_diversity:.2f} at "
                    f"step {self._best_diversity_step})" if low_diversity
                    else f"a batch of them varies {spread:.0%} as much as a real batch, having varied "
                         f"{self._best_spread:.0%}" if spread is not None else "")
        return self._once("collapse", holds,
                          f"G's samples are losing their variety (mode collapse): at step {step} {measured}. "
                          "Cures: minibatch std (model.minibatch_std=true), packing (model.pack=4), "
                          "WGAN-GP, spectral norm (model.spectral_norm=true)")
