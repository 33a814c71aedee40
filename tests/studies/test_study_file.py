"""Study files: the built-in ones are valid, and every mistake in a user's is one clear line."""

import pytest

from gankit.errors import UserError
from gankit.studies import builtin_names, load_study
from gankit.registry import MEASURES
from gankit.studies.plan import _override, plan_runs
from gankit.studies.run import StudyOptions, resolve_spec
from gankit.studies.study_file import validate_study
from gankit.config import load_preset, parse_override

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


def test_a_file_in_the_working_folder_never_stands_in_for_a_study(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = load_study("noise")
    (tmp_path / "noise").write_text("name: evil\nbase: ring8\nseeds: 1\n")
    assert load_study("noise") == shipped
    assert resolve_spec("noise", StudyOptions()) == (shipped, None)
    spec, study_file = resolve_spec("./noise", StudyOptions())
    assert (spec.name, study_file) == ("evil", tmp_path / "noise")
    (tmp_path / "mine").write_text("base: ring8\n")
    with pytest.raises(UserError, match=r"^unknown study 'mine'; studies: .*noise.* \(to use the file ./mine, write ./mine\)$"):
        load_study("mine")


def test_an_arms_bare_base_is_the_shipped_preset_and_a_path_a_file_beside_the_study(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = {name: load_preset(name) for name in ("digits", "ring8")}
    folder = tmp_path / "s"
    folder.mkdir()
    for where in (tmp_path, folder):  # files named like presets in the working folder and beside the study
        for name in shipped:
            (where / name).write_text("data: {source: grid25}\nmodel: {arch: mlp, z_dim: 2}\n")
    (folder / "mine").write_text("data: {source: grid25}\nmodel: {arch: mlp, z_dim: 2}\ntrain: {steps: 7}\n")
    (folder / "k.yaml").write_text("seeds: 1\narms:\n  - {name: a}\n  - {name: b, base: ring8}\n"
                                   "  - {name: c, base: ./mine}\n  - {name: d, base: mine}\n")
    spec, study_file = resolve_spec("s/k.yaml", StudyOptions())
    assert study_file == folder / "k.yaml"
    with pytest.raises(UserError, match=r"unknown preset 'mine'"):
        plan_runs(spec, study_file)
    spec = validate_study({**spec.to_dict(), "arms": spec.to_dict()["arms"][:3]})
    plans = {plan.arm.name: plan.config for plan in plan_runs(spec, study_file)}
    for arm, preset in (("a", "digits"), ("b", "ring8")):
        assert (plans[arm]["data"], plans[arm]["model"]) == (shipped[preset]["data"], shipped[preset]["model"]), arm
    assert (plans["c"]["data"]["source"], plans["c"]["train"]["steps"]) == ("grid25", 7)
