"""Presets, overrides and validation messages."""

from functools import reduce
from importlib import resources
from itertools import takewhile

import pytest

from gankit.config import apply_overrides, build_config, load_preset, names_a_file, parse_override, preset_names
from gankit.errors import UserError

REQUIRED_PRESETS = {"digits", "goodfellow-mnist", "dcgan-mnist", "dcgan-faces", "dcgan-cifar10"}


def test_required_presets_ship():
    assert REQUIRED_PRESETS <= set(preset_names())


def test_default_is_the_embedded_digits():
    cfg = build_config(None, [])
    assert cfg.name == "digits" and cfg.data.source == "digits"


def test_faces_preset_is_the_lab_with_its_switches():
    cfg = build_config("dcgan-faces", [])
    assert (cfg.data.image_size, cfg.model.z_dim, cfg.train.loss, cfg.train.batch_size) == (64, 100, "bce", 64)
    assert (cfg.model.pack, cfg.train.ema, cfg.optim.g.lr, cfg.optim.d.lr) == (2, 0.999, 2e-4, 2e-4)
    # the header's promise: the lab's settings are one override away
    lab = build_config("dcgan-faces", "model.pack=1 train.ema=null optim.g.lr=1e-4 optim.d.lr=1e-4".split())
    assert cfg.optim.g.name == cfg.optim.d.name == "adam"
    assert (lab.model.pack, lab.train.ema, lab.optim.g.lr, lab.optim.d.lr) == (1, None, 1e-4, 1e-4)


def test_faces_fast_is_the_faces_preset_smaller_and_on_a_time_budget():
    """faces-fast keeps dcgan-faces' layers, loss, packing, average and rates; its header's two
    switches (width 32, batch 32) and the time budget are all that differ, with the steps a ceiling."""
    fast = build_config("faces-fast", []).model_dump()
    switched = build_config("dcgan-faces", ["model.g_width=32", "model.d_width=32", "train.batch_size=32"]).model_dump()
    assert fast["train"]["minutes"] == 30 and fast["train"]["steps"] >= 100_000
    for key in ("steps", "minutes", "sample_steps", "checkpoint_every"):
        del fast["train"][key], switched["train"][key]
    del fast["name"], switched["name"]
    assert fast == switched


def _preset_text(preset: str) -> str:
    return (resources.files("gankit") / "presets" / f"{preset}.yaml").read_text()


def _header_overrides(preset: str) -> list[str]:
    """The overrides a preset's header promises give the original settings ("one override away: ...")."""
    header = " ".join(line.lstrip("# ") for line in _preset_text(preset).splitlines() if line.startswith("#"))
    tokens = header.split("one override away:", 1)[1].split()
    return [token.rstrip(".,;") for token in takewhile(lambda token: "=" in token, tokens)]


def _setting(cfg, path: list[str]):
    return reduce(getattr, path, cfg)


@pytest.mark.parametrize("preset", [p for p in preset_names() if "one override away:" in _preset_text(p)])
def test_header_override_turns_every_named_switch_off(preset):
    overrides = _header_overrides(preset)
    assert overrides, preset
    shipped, original = build_config(preset, []), build_config(preset, overrides)
    for path, _ in map(parse_override, overrides):
        assert _setting(shipped, path) != _setting(original, path), f"{preset}: {'.'.join(path)} is already the original's"


def test_overrides_set_nested_keys_with_yaml_types():
    cfg = build_config("dcgan-mnist", ["train.steps=600", "optim.g.lr=1e-3", "optim.d.betas=[0.0,0.9]",
                                       "train.prior=uniform(-1,1)", "data.root=/tmp/x"])
    assert cfg.train.steps == 600 and cfg.optim.g.lr == 1e-3 and cfg.optim.d.betas == (0.0, 0.9)
    assert cfg.train.prior == "uniform(-1,1)" and cfg.data.root == "/tmp/x"


def test_overrides_do_not_change_the_source_data():
    data = {"train": {"steps": 1}}
    apply_overrides(data, ["train.steps=5"])
    assert data == {"train": {"steps": 1}}


@pytest.mark.parametrize("preset, overrides, message", [
    ("dcgan-mnis", [], r"unknown preset 'dcgan-mnis' \(did you mean dcgan-mnist"),
    ("dcgan-mnist", ["train.stepz=3"], r"unknown config key 'train.stepz' \(did you mean train.steps"),
    ("dcgan-mnist", ["trian.steps=3"], r"unknown config key 'trian' \(did you mean train"),
    ("dcgan-mnist", ["train.steps=many"], r"config key 'train.steps': .*integer.*'many'"),
    ("dcgan-mnist", ["train.steps=0"], r"config key 'train.steps': .*greater than or equal to 1"),
    ("dcgan-mnist", ["train.loss=hinge2"], r"config key 'train.loss'"),
    ("dcgan-mnist", ["train.prior=normal(0,-1)"], r"config key 'train.prior': prior"),
    ("dcgan-mnist", ["optim.g.betas=[0.5,1.5]"], r"config key 'optim.g.betas': .*betas"),
    ("dcgan-mnist", ["train.steps"], r"not of the form"),
])
def test_mistakes_are_one_line_user_errors(preset, overrides, message):
    with pytest.raises(UserError, match=message) as err:
        build_config(preset, overrides)
    assert "\n" not in str(err.value)


def test_preset_from_a_yaml_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("train:\n  steps: 7\n")
    assert load_preset(str(path))["name"] == "mine"
    assert build_config(str(path), []).train.steps == 7


EVIL = "name: evil\ndata: {source: ring8}\nmodel: {arch: mlp, z_dim: 2}\n"  # what a stranger could leave in a shared folder


@pytest.mark.parametrize("name, is_path", [
    ("digits", False), ("dcgan-mnist", False), ("mine", False), ("mine.json", False),
    ("./digits", True), ("../digits", True), ("/tmp/digits", True), ("~/digits", True), ("sub/x", True),
    ("x.yaml", True), ("x.yml", True),
])
def test_a_file_is_named_as_a_path(name, is_path):
    assert names_a_file(name) is is_path


def test_a_file_in_the_working_folder_never_stands_in_for_a_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped, default = load_preset("digits"), build_config(None, [])
    (tmp_path / "digits").write_text(EVIL)
    assert load_preset("digits") == shipped
    assert build_config("digits", []) == build_config(None, []) == default
    assert default.name == "digits" and default.data.source == "digits"


def test_a_preset_file_named_as_a_path_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "sub").mkdir()
    for path in ("digits", "x.yaml", "sub/x"):
        (tmp_path / path).write_text(EVIL)
    for name in ("./digits", "~/digits", str(tmp_path / "digits"), "sub/../digits", "x.yaml", "sub/x"):
        cfg = build_config(name, [])
        assert (cfg.name, cfg.data.source) == ("evil", "ring8"), name


def test_a_bare_name_that_is_only_a_file_says_how_to_name_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").write_text(EVIL)
    with pytest.raises(UserError) as err:
        load_preset("mine")
    message = str(err.value)
    assert message.startswith("unknown preset 'mine'; presets: ") and "digits" in message and "\n" not in message
    assert message.endswith(" (to use the file ./mine, write ./mine)")
    with pytest.raises(UserError) as err:
        load_preset("theirs")
    assert "to use the file" not in str(err.value)
