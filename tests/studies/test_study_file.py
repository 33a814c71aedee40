"""Study files: the built-in ones are valid, and every mistake in a user's is one clear line."""

import pytest

from gankit.errors import UserError
from gankit.studies import builtin_names, load_study
from gankit.registry import MEASURES
from gankit.studies.plan import _override, plan_runs
from gankit.studies.study_file import validate_study
from gankit.config import parse_override

BUILT_IN = ["g-loss", "latent-shift", "lr-sensitivity", "lr-sensitivity-faces", "mode-collapse",
            "mode-collapse-faces", "noise"]


def test_the_built_in_studies_load_and_plan(tmp_path):
    assert builtin_names() == BUILT_IN
    for name in BUILT_IN:
        spec = load_study(name)
        assert spec.name == name and spec.question and spec.claims
        if name.endswith("-faces"):  # they train on a folder the user gives
            with pytest.raises(UserError, match="give it data.root=FOLDER"):
                plan_runs(spec)
            spec = validate_study({**spec.to_dict(), "set": {**spec.set, "data.root": str(tmp_path)}})
        plans = plan_runs(spec)
        assert len(plans) == len(spec.arms) * len(spec.seeds)
        assert len({p.name for p in plans}) == len(plans)


def test_every_measure_the_built_in_studies_name_is_registered():
    named = {measure for name in BUILT_IN for measure in load_study(name).measure}
    assert named <= set(MEASURES) and "convergence" in MEASURES


def test_noise_uses_the_labs_priors():
    priors = {p.arm.name: p.config["train"]["prior"] for p in plan_runs(load_study("noise"))}
    assert priors == {"uniform": "uniform(-0.5,0.5)", "exponential": "exponential(5)", "normal": "normal(0,0.5)"}


@pytest.mark.parametrize("value", ["uniform(-0.5,0.5)", 5.0e-5, [0, 200], True, "on", "1e-3", {"name": "adam"}])
def test_overrides_round_trip_through_the_command_line_parser(value):
    assert parse_override(_override("a.b", value)) == (["a", "b"], value)


@pytest.mark.parametrize("data, fragment", [
    ({"name": "x", "armz": []}, "unknown key 'armz' (did you mean arms"),
    ({"name": "x", "arms": [{"name": "Bad Name"}]}, "arms.0.name"),
    ({"name": "x", "arms": [{"name": "a", "sett": {}}]}, "unknown key 'arms.0.sett' (did you mean set"),
    ({"name": "x", "measure": ["qualty"]}, "unknown measure 'qualty' (did you mean quality"),
    ({"name": "x", "claims": [{"claim": "c", "kind": "better", "metric": "m", "arm": "trained"}]}, "needs 'other'"),
    ({"name": "x", "claims": [{"claim": "c", "kind": "best", "metric": "m", "arm": "nope"}]}, "names arm 'nope'"),
    ({"name": "x", "seeds": 0}, "at least one seed"),
    ({"name": "x", "measure": ["codes"]}, "needs sampling arms"),
])
def test_mistakes_are_one_line(data, fragment):
    with pytest.raises(UserError) as caught:
        validate_study(data, "study file s.yaml")
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_a_config_mistake_in_an_arm_names_the_arm(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("arms:\n  - {name: a, set: {train.stepz: 3}}\n")
    with pytest.raises(UserError, match=r"arm 'a': unknown config key 'train.stepz'"):
        plan_runs(load_study(str(path)))


def test_a_user_study_names_a_preset_file_beside_it(tmp_path):
    (tmp_path / "base.yaml").write_text("data: {source: ring8}\nmodel: {arch: mlp, z_dim: 2}\n")
    path = tmp_path / "mine.yaml"
    path.write_text("base: base.yaml\nseeds: 1\n")
    spec = load_study(str(path))
    assert spec.name == "mine"
    (plan,) = plan_runs(spec, path)
    assert plan.config["data"]["source"] == "ring8" and plan.name == "trained-s0"
