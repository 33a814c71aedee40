"""What a study measures of each run, read from the run directory alone.

Each measure named in a study file (``measure: [convergence, stability, quality, ...]``) is a
function of one run directory (and, for sampling arms, the prior it is sampled from) that
returns named values; :data:`STUDY_METRICS` says what each value is, its unit, which way is better
and how it was measured. Nothing here touches a live training loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Optional

import torch

from gankit import quantities
from gankit.config import RunConfig, load_run_config
from gankit.data import sample_spec
from gankit.data.toys import MIXTURES
from gankit.registry import MEASURES, QUANTITIES
from gankit.rundir import Metric, RunDir
from gankit.studies import convergence

Values = dict[str, Optional[float]]
COLLAPSED_DIVERSITY = 0.5
COVERAGE_KEPT = 0.5  # images: coverage below this share of the run's best counts as collapse...
MIN_COVERAGE = 0.05  # ...once the best was at least this (below it, nothing was covered to lose)
MIN_HIGH_QUALITY = 0.01  # toys: fewer samples near a mode than this say nothing of which modes
CLASSES = 10  # the digit classifiers' classes
EARLY_SHARE = 0.1  # "early in training": the first tenth of the steps


_SETTLE = ("the first logged step from which the trailing moving average (max(3, n/20) logs) stays within "
           "max(2 std of the smoothed tail, 5% of its range) of the mean of the last quarter of the run, "
           "for every watched curve (D's and G's losses; the Wasserstein estimate for WGAN), the latest of them "
           "(gankit.studies.convergence)")
_AFTER = "over the logged values from the settling step on, averaged over the watched curves"

STUDY_METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("convergence_step", "convergence", "steps", "lower", _SETTLE),
    Metric("loss_spread", "loss spread", "loss units", "lower", "standard deviation of the losses " + _AFTER),
    Metric("loss_swing", "loss swing", "loss units", "lower",
           "mean absolute change of the losses from one log to the next " + _AFTER),
    Metric("fd_closed", "distance closed", "share", "higher",
           "1 - FD(final G) / FD(untrained G): the share of the untrained generator's Fréchet distance "
           "(the data's own: domain_fd for digit images, seq_fd for sequences, image_fd for other images) that "
           "training closed; "
           "the untrained G is rebuilt from the run's seed"),
    Metric("collapsed", "collapsed", "share of seeds", "lower",
           "a run has collapsed when, at its last evaluation (eval.every), its samples are worth at most half "
           f"the modes (effective modes <= K/2), their diversity is below {COLLAPSED_DIVERSITY}, or (images "
           f"measured in the random encoder's features) their coverage fell below {COVERAGE_KEPT:g} of the "
           f"highest it reached (when that was at least {MIN_COVERAGE:g})"),
    Metric("effective_modes", "effective modes", "modes", "higher",
           "K·exp(-KL to uniform) at the last evaluation: the number of equally used modes the samples' "
           "histogram is worth (toys: modes of the high-quality samples, when at least 1% are; digit images: "
           "the classifier's classes); K for an even spread, 1 for one mode"),
    Metric("collapse_step", "collapse from", "steps", None,
           "the first evaluation step from which the run stays collapsed to the end (runs that collapsed)"),
    Metric("modes_lost", "modes lost", "modes", "lower",
           "most modes covered at any evaluation during training minus the modes covered at the last"),
    Metric("coverage_lost", "coverage lost", "share", "lower",
           "highest coverage (image_coverage) at any evaluation during training minus the coverage at the last"),
    Metric("g_grad_early", "G gradient early", "L2 norm", "higher",
           f"mean of the logged norm of G's gradient (g_grad_norm) over the first {EARLY_SHARE:.0%} of the steps"),
    Metric("g_grad_start", "G gradient at step 0", "L2 norm", "higher",
           "norm of G's gradient of its loss for the untrained networks on the first batch (metrics.jsonl step 0)"),
    Metric("d_x_end", "D(x) at the end", "", None, "mean D(x) over the last quarter of the logged steps"),
    Metric("d_g_z_end", "D(G(z)) at the end", "", None, "mean D(G(z)) over the last quarter of the logged steps"),
    Metric("z_offset", "code offset", "training std", None,
           "distance of the codes' mean from the training prior's mean, in units of the training prior's std"),
    Metric("z_spread", "code spread", "ratio to training", None,
           "mean per-coordinate standard deviation of the codes over the training prior's"),
    Metric("typical_share", "codes in the typical set", "share", "higher",
           "share of codes whose distance from the training mean lies within the central 99% of the training "
           "prior's own codes' distances (10,000 draws)"),
    Metric("preact_offset", "first-layer offset", "ratio to training", None,
           "RMS over G's first-layer units of the mean pre-activation (input of G's first nonlinearity, after "
           "its normalisation) over the RMS pre-activation under the training prior"),
    Metric("preact_variation", "first-layer variation", "ratio to training", None,
           "mean over units of the pre-activation's standard deviation across samples, over the same under the "
           "training prior: how much of G's first layer still depends on z"),
    Metric("units_dead", "first-layer units stuck", "share", "lower",
           "share of G's first-layer units whose pre-activation has the same sign for 99% of the samples "
           "(always off or always on: they no longer switch with z)"),
    Metric("output_saturated", "saturated outputs", "share", "lower",
           "share of G's output values beyond ±0.99 of its tanh range"),
]}

PRIMARY_DISTANCE = ("domain_fd", "seq_fd", "image_fd")  # what fd_closed is computed from


def watched_curves(records: list[dict]) -> list[str]:
    """The loss curves convergence and stability watch: a loss's own estimate when it logs one
    (the critic's Wasserstein estimate: its G loss has no fixed level), else D's and G's losses."""
    derived = quantities.derived_keys({key for record in records for key in record})
    return derived or ["d_loss", "g_loss"]


def series(records: list[dict], key: str, first_step: int = 1) -> tuple[list[float], list[float]]:
    """(steps, values) of ``key`` in the records from ``first_step`` on (non-numbers as NaN)."""
    steps, values = [], []
    for record in records:
        step = record.get("step")
        if key in record and isinstance(step, (int, float)) and step >= first_step:
            value = record[key]
            steps.append(float(step))
            values.append(float(value) if isinstance(value, (int, float)) else math.nan)
    return steps, values


def _finite(value) -> Optional[float]:
    return float(value) if value is not None and math.isfinite(float(value)) else None


@dataclass
class RunView:
    """One run directory as the measures read it."""

    path: Path
    prior: Optional[str] = None  # sampling arms: the prior G is sampled from

    @cached_property
    def cfg(self) -> RunConfig:
        """The run's config."""
        return load_run_config(self.path)

    @cached_property
    def records(self) -> list[dict]:
        """The run's metrics.jsonl rows."""
        return RunDir(self.path).records()

    @cached_property
    def generator(self) -> torch.nn.Module:
        """The run's final generator, in eval mode."""
        from gankit.sampling import load_generator

        return load_generator(self.path, self.cfg)

    @property
    def sampling_prior(self) -> str:
        """The prior samples are drawn from: the arm's, else the training prior."""
        return self.prior or self.cfg.train.prior


@dataclass
class Measurer:
    """Measures runs; holds what several runs share (evaluators, real samples)."""

    progress: Optional[Callable[[str], None]] = None
    _evaluators: dict = field(default_factory=dict, repr=False)
    _evaluated: dict = field(default_factory=dict, repr=False)
    protocols: dict[str, str] = field(default_factory=dict)  # evaluator metrics seen: their protocols

    def measure(self, names: list[str], view: RunView) -> Values:
        """Every value of the measures ``names`` for one run (None where one cannot be had)."""
        values: Values = {}
        for name in names:
            values.update(MEASURES.get(name)(self, view))
        return values

    def evaluator(self, cfg: RunConfig):
        """An evaluator for the run's data (shared by runs on the same data)."""
        from gankit.metrics.evaluate import Evaluator

        key = cfg.data.model_dump_json() + cfg.eval.model_dump_json()
        if key not in self._evaluators:
            self._evaluators[key] = Evaluator(cfg, progress=self.progress)
        return self._evaluators[key]

    def evaluate(self, view: RunView, untrained: bool = False) -> Values:
        """The evaluator's measurements of the run's final generator (or, ``untrained``, of G as
        the run started) under the view's prior; measured once per run, prior and generator."""
        from gankit.errors import UserError

        key = (str(view.path), view.prior, untrained)
        if key not in self._evaluated:
            try:
                evaluator = self.evaluator(view.cfg)
            except UserError:
                return {}
            generator = untrained_generator(view.cfg) if untrained else view.generator
            measurements = evaluator(generator, prior=view.prior)
            for m in measurements:
                self.protocols.setdefault(m.name, m.protocol)
            self._evaluated[key] = {m.name: _finite(m.value) for m in measurements}
        return self._evaluated[key]


def _convergence(measurer: Measurer, view: RunView) -> Values:
    steps = [convergence.settling(*series(view.records, key)).step for key in watched_curves(view.records)]
    return {"convergence_step": None if any(s is None for s in steps) else max(steps)}


def _stability(measurer: Measurer, view: RunView) -> Values:
    settled = [convergence.settling(*series(view.records, key)) for key in watched_curves(view.records)]
    if any(s.step is None for s in settled):
        return {"loss_spread": None, "loss_swing": None}
    return {"loss_spread": sum(s.spread for s in settled) / len(settled),
            "loss_swing": sum(s.swing for s in settled) / len(settled)}


def _quality(measurer: Measurer, view: RunView) -> Values:
    return measurer.evaluate(view)


def untrained_generator(cfg: RunConfig) -> torch.nn.Module:
    """G as the run started: built from the run's seed exactly as training builds it."""
    from gankit.nets import build_networks

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        generator, _ = build_networks(cfg.model, sample_spec(cfg.data))
    return generator.eval()


def _gap_closed(measurer: Measurer, view: RunView) -> Values:
    final = measurer.evaluate(view)
    start = measurer.evaluate(view, untrained=True)
    for key in PRIMARY_DISTANCE:
        if final.get(key) is not None and start.get(key):
            return {"fd_closed": 1.0 - final[key] / start[key]}
    return {"fd_closed": None}


def _diversity(measurer: Measurer, view: RunView) -> Values:
    return {"diversity": measurer.evaluate(view).get("diversity")}


def effective_modes(record: dict, modes: int) -> Optional[float]:
    """K·exp(-KL to uniform) of a logged evaluation: how many equally used modes (or classes) the
    samples' histogram is worth; None when too few samples are near any mode to tell."""
    if "eval_mode_kl" in record:
        if record.get("eval_high_quality", 0) < MIN_HIGH_QUALITY or not _finite(record["eval_mode_kl"]):
            return None
        return modes * math.exp(-record["eval_mode_kl"])
    if "eval_class_kl" in record and _finite(record["eval_class_kl"]) is not None:
        return modes * math.exp(-record["eval_class_kl"])
    return None


def _collapse(measurer: Measurer, view: RunView) -> Values:
    """Collapse read from the evaluations logged during training (eval.every)."""
    records = [r for r in view.records if any(k.startswith("eval_") for k in r)]
    if not records:
        return {"collapsed": None, "collapse_step": None, "effective_modes": None, "modes_lost": None,
                "coverage_lost": None}
    mixture = MIXTURES.get(view.cfg.data.source)
    modes = mixture().num_modes if mixture is not None else CLASSES
    effective = [effective_modes(r, modes) for r in records]
    coverage = [_finite(r.get("eval_image_coverage")) for r in records]
    best = [max([c for c in coverage[:i + 1] if c is not None], default=None) for i in range(len(coverage))]
    lost = [c is not None and b is not None and b >= MIN_COVERAGE and c < COVERAGE_KEPT * b
            for c, b in zip(coverage, best)]
    flags = [(e is not None and e <= modes / 2) or r.get("eval_diversity", math.inf) < COLLAPSED_DIVERSITY or gone
             for r, e, gone in zip(records, effective, lost)]
    since = None
    for record, flag in zip(reversed(records), reversed(flags)):
        if not flag:
            break
        since = float(record["step"])
    covered = [r["eval_modes"] for r in records if "eval_modes" in r]
    return {"collapsed": float(flags[-1]), "collapse_step": since, "effective_modes": effective[-1],
            "modes_lost": float(max(covered) - covered[-1]) if covered else None,
            "coverage_lost": best[-1] - coverage[-1] if coverage[-1] is not None else None}


def _grad_norms(measurer: Measurer, view: RunView) -> Values:
    early = max(1, int(view.cfg.train.steps * EARLY_SHARE))
    steps, values = series(view.records, "g_grad_norm", first_step=0)
    start = [v for s, v in zip(steps, values) if s == 0]
    window = [v for s, v in zip(steps, values) if 0 < s <= early]
    return {"g_grad_start": _finite(start[0]) if start else None,
            "g_grad_early": _finite(sum(window) / len(window)) if window else None}


def _outputs(measurer: Measurer, view: RunView) -> Values:
    values = {}
    for key, name in (("d_x", "d_x_end"), ("d_g_z", "d_g_z_end")):
        _, ys = series(view.records, key)
        tail = ys[-max(1, len(ys) // 4):]
        values[name] = _finite(sum(tail) / len(tail)) if tail else None
    return values


def _codes(measurer: Measurer, view: RunView) -> Values:
    from gankit.studies.latent import code_statistics

    return code_statistics(view.cfg, view.sampling_prior)


def _first_layer(measurer: Measurer, view: RunView) -> Values:
    from gankit.studies.latent import first_layer_statistics

    return first_layer_statistics(view.generator, view.cfg, view.sampling_prior)


Measure = Callable[[Measurer, RunView], Values]  # a study measure: a run's values by name (None: cannot be had)

for _name, _measure in (("convergence", _convergence), ("stability", _stability), ("quality", _quality),
                        ("gap_closed", _gap_closed), ("diversity", _diversity), ("collapse", _collapse),
                        ("grad_norms", _grad_norms), ("outputs", _outputs), ("codes", _codes),
                        ("first_layer", _first_layer)):
    MEASURES.register(_name, _measure)


def metric_info(key: str, protocols: dict[str, str]) -> Metric:
    """What is known of the value ``key``: its own entry, an evaluator's, or just its name."""
    if key in STUDY_METRICS:
        return STUDY_METRICS[key]
    quantity = QUANTITIES.find(key)
    if quantity is None:
        return Metric(key, key, "", None, protocols.get(key, ""))
    return Metric(key, quantity.label, quantity.unit, quantity.better, protocols.get(key, ""))
