"""A study as data: a base preset, its arms, the seeds, what to measure and the claims to judge.

Built-in studies are YAML files in ``gankit/studies/builtin``; a user's study is a YAML file of
the same form. ``load_study`` reads either and validates it with pydantic, so every mistake is
one line naming the key.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gankit.config import read_named_yaml, shipped_names
from gankit.registry import MEASURES, suggestion
from gankit.studies.sequential import Looks
from gankit.errors import UserError

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
ClaimKind = Literal["better", "best", "above", "below"]


class Part(BaseModel):
    """Base of every part of a study file: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


def _slug(name: str) -> str:
    if not SLUG.match(name):
        raise ValueError(f"'{name}' must be lower-case letters, digits, '.', '_' or '-' (it names folders)")
    return name


class _Named(Part):
    """A part with a slug name and an optional label shown in tables and legends."""

    name: str
    label: Optional[str] = None

    @field_validator("name")
    @classmethod
    def _name_is_slug(cls, name: str) -> str:
        return _slug(name)

    @property
    def shown(self) -> str:
        """The label, or the name."""
        return self.label or self.name


class Arm(_Named):
    """One training arm: config overrides applied to the study's base preset."""

    base: Optional[str] = None  # another preset for this arm (default: the study's)
    group: Optional[str] = None  # arms of one group belong together (e.g. the data they train on)
    set: dict[str, Any] = {}  # config overrides, ``{"train.prior": "uniform(-1,1)"}``


class SampleArm(_Named):
    """One way of sampling each trained run: a latent prior it may never have seen."""

    prior: str

    @field_validator("prior")
    @classmethod
    def _prior_parses(cls, text: str) -> str:
        from gankit.priors import valid_prior

        return valid_prior(text)

    @property
    def shown(self) -> str:
        """The label, or the prior."""
        return self.label or self.prior


class Claim(Part):
    """A statement the study judges from its measurements (see gankit.studies.verdicts).

    ``better``: ``arm`` beats ``other`` on ``metric``; ``best``: ``arm`` beats every other arm
    (of its group); ``above`` / ``below``: ``arm``'s mean lies above / below ``threshold``.
    """

    claim: str  # the statement, in words
    kind: ClaimKind
    metric: str
    arm: str
    other: Optional[str] = None  # better: the arm it is compared with
    threshold: Optional[float] = None  # above / below
    margin: Optional[float] = Field(None, gt=0)  # no effect within ±margin (metric units) settles it
    explain: list[str] = []  # metrics quoted as the why, for both arms

    @model_validator(mode="after")
    def _complete(self) -> "Claim":
        if self.kind == "better" and not self.other:
            raise ValueError(f"claim '{self.claim}': kind better needs 'other'")
        if self.kind in ("above", "below") and self.threshold is None:
            raise ValueError(f"claim '{self.claim}': kind {self.kind} needs 'threshold'")
        return self


class Settle(Part):
    """Seeds added in rounds until every claim is settled (``gankit study --until-settled``)."""

    max_seeds: int = Field(15, ge=2)  # the cap: seeds per arm at most
    round: Optional[int] = Field(None, ge=1)  # seeds added per round (default: the study's first seeds)


class StudySpec(Part):
    """Everything that defines a study; saved (resolved) as ``study.yaml`` in its directory."""

    name: str
    title: str = ""
    question: str = ""
    description: str = ""
    base: str = "digits"  # the preset every arm starts from
    set: dict[str, Any] = {}  # overrides for every arm
    steps: Optional[int] = Field(None, ge=1)  # train.steps of every arm (None: the preset's)
    seeds: list[int] = [0, 1, 2]
    arms: list[Arm] = [Arm(name="trained")]
    sample: list[SampleArm] = []  # sampling arms: each trained run is measured under each prior
    measure: list[str] = ["quality"]
    curves: list[str] = ["d_real", "d_fake", "g_loss"]
    claims: list[Claim] = []
    margins: dict[str, float] = {}  # per metric: the equivalence margin of claims that give none
    settle: Optional[Settle] = None  # add seeds until the claims are settled

    @field_validator("name")
    @classmethod
    def _name_is_slug(cls, name: str) -> str:
        return _slug(name)

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError("at least one seed")
            return list(range(value))
        return value

    @field_validator("measure")
    @classmethod
    def _known_measures(cls, names: list[str]) -> list[str]:
        for name in names:
            MEASURES.check(name)
        return names

    @model_validator(mode="after")
    def _consistent(self) -> "StudySpec":
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be distinct, and at least one")
        for names, what in (([a.name for a in self.arms], "arm"), ([a.name for a in self.sample], "sample arm")):
            if len(set(names)) != len(names):
                raise ValueError(f"two {what}s share a name")
        sampled = bool(self.sample)
        arm_names = [a.name for a in (self.sample if sampled else self.arms)]
        for claim in self.claims:
            for arm in filter(None, (claim.arm, claim.other)):
                if arm not in arm_names:
                    raise ValueError(f"claim '{claim.claim}' names arm '{arm}'{suggestion(arm, arm_names)}; "
                                     f"arms: {', '.join(arm_names)}")
        if self.settle is not None and self.settle.max_seeds < len(self.seeds):
            raise ValueError(f"settle.max_seeds ({self.settle.max_seeds}) is below the {len(self.seeds)} seeds "
                             "the study starts with")
        for metric, margin in self.margins.items():
            if not margin > 0:
                raise ValueError(f"margins.{metric} must be above 0")
        if sampled and len(self.arms) != 1:
            raise ValueError("a study with sampling arms trains one arm (its runs are what is sampled)")
        for name in ("codes", "first_layer"):
            if name in self.measure and not sampled:
                raise ValueError(f"measure '{name}' needs sampling arms ('sample:')")
        return self

    @property
    def shown_arms(self) -> list:
        """The arms a table has rows for: the sampling arms, or else the training arms."""
        return list(self.sample) if self.sample else list(self.arms)

    def looks(self, seeds_measured: int) -> Looks:
        """When the claims are judged: after each round of seeds when settling, else once over
        the ``seeds_measured`` seeds there are."""
        if self.settle is None:
            return Looks.single(max(seeds_measured, 1))
        return Looks(len(self.seeds), self.settle.round or len(self.seeds), self.settle.max_seeds)

    def margin(self, claim: Claim) -> Optional[float]:
        """The equivalence margin of ``claim``: its own, or the study's for its metric."""
        return claim.margin if claim.margin is not None else self.margins.get(claim.metric)

    def seed_list(self, count: int) -> list[int]:
        """The study's first ``count`` seeds: its own, then the next unused numbers."""
        seeds, candidate = list(self.seeds), 0
        while len(seeds) < count:
            if candidate not in seeds:
                seeds.append(candidate)
            candidate += 1
        return seeds[:count]

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain YAML-ready data."""
        return self.model_dump(mode="json", exclude_none=True)


def builtin_names() -> list[str]:
    """Names of the studies that ship with gankit."""
    return shipped_names("gankit.studies", "builtin")


def load_study(name_or_path: str) -> StudySpec:
    """Read a built-in study by name (``noise``) or a study file named as a path (``my-study.yaml``,
    ``./my-study``; see :func:`gankit.config.names_a_file`)."""
    data, what = read_named_yaml(name_or_path, "study", "gankit.studies", "builtin")
    return validate_study(data, what)


def validate_study(data: dict[str, Any], what: str = "study") -> StudySpec:
    """Validate plain study data, turning the first problem into a one-line UserError."""
    try:
        return StudySpec.model_validate(data)
    except ValidationError as err:
        raise UserError(f"{what}: {_describe(err.errors()[0])}") from None


def _describe(error: dict[str, Any]) -> str:
    """One line for one pydantic error in a study file, with a suggestion for misspelt keys."""
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc)
    if error["type"] == "extra_forbidden":
        model: Any = StudySpec
        for part in loc[:-1]:
            if part.isdigit():
                continue
            model = {"arms": Arm, "sample": SampleArm, "claims": Claim, "settle": Settle}.get(part, model)
        return f"unknown key '{key}'{suggestion(loc[-1], list(model.model_fields))}"
    message = error["msg"].removeprefix("Value error, ")
    if not loc:
        return message
    return f"key '{key}': {message}"


def dump_study(spec: StudySpec) -> str:
    """The spec as YAML text."""
    return yaml.safe_dump(spec.to_dict(), sort_keys=False, allow_unicode=True)
