"""The Inception bridge: the weights file is read once, loaded with weights_only and checked to be
torch-fidelity's Inception-v3 state dict, torch-fidelity gets only the checked tensors (never the
path), and a wrong file is one UserError saying how to get the right one."""

import os
import threading
from pathlib import Path

import pytest
import torch

from gankit.errors import UserError
from gankit.metrics.inception import (EXTRACTOR, STATE_DICT_KWARG, WEIGHTS_URL, check_weights, extractor_class,
                                      inception_metrics, to_uint8_rgb)


class _Payload:
    """Pickles to a call of Path.touch(marker): unpickling it with weights_only=False makes the marker."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory) -> tuple[Path, dict[str, torch.Tensor]]:
    """A file shaped like the published Inception weights (every layer, no BatchNorm step counters),
    with torch's initial values and a seeded fc.weight; and its state dict."""
    layers = extractor_class()(EXTRACTOR, ["2048"])
    state = {key: value for key, value in layers.state_dict().items() if not key.endswith(".num_batches_tracked")}
    state["fc.weight"] = torch.randn(state["fc.weight"].shape, generator=torch.Generator().manual_seed(0))
    path = tmp_path_factory.mktemp("inception") / "stand-in.pth"
    torch.save(state, path)
    return path, state


def _refusal(path: Path) -> str:
    with pytest.raises(UserError) as raised:
        check_weights(str(path))
    message = str(raised.value)
    assert "\n" not in message and WEIGHTS_URL in message and "--inception-weights" in message
    return message


def test_missing_weights_say_how_to_get_them(tmp_path):
    for path in (None, str(tmp_path / "absent.pth")):
        with pytest.raises(UserError) as raised:
            inception_metrics(torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 8), path)
        assert WEIGHTS_URL in str(raised.value) and "--inception-weights" in str(raised.value)


def test_files_that_are_not_inception_weights(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a pickle")
    assert "not a readable weights file" in _refusal(junk)
    assert "cannot read the Inception weights" in _refusal(tmp_path)  # a folder
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, other)
    message = _refusal(other)
    assert "not the Inception-v3 state dict" in message and "unexpected keys: conv.weight" in message
    only_fc = tmp_path / "only-fc.pth"
    torch.save({"fc.weight": torch.zeros(1008, 2048)}, only_fc)
    message = _refusal(only_fc)
    assert "keys missing: Conv2d_1a_3x3.conv.weight" in message


def test_a_wrong_shape_or_dtype_is_refused(tmp_path, stand_in):
    _, state = stand_in
    for key, value, said in (("Mixed_6b.branch7x7_2.conv.weight", torch.zeros(128, 128, 7, 1),
                              "Mixed_6b.branch7x7_2.conv.weight is floating [128, 128, 7, 1] where floating "
                              "[128, 128, 1, 7] is expected"),
                             ("fc.bias", torch.zeros(1008, dtype=torch.int32),
                              "fc.bias is int32 [1008] where floating [1008] is expected")):
        path = tmp_path / "wrong.pth"
        torch.save({**state, key: value}, path)
        assert said in _refusal(path)


def test_a_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"fc.weight": _Payload(marker)}, evil)
    assert "not a readable weights file" in _refusal(evil)
    assert not marker.exists()
    torch.load(evil, weights_only=False)  # the payload is live: a plain torch.load runs it
    assert marker.exists()


def test_the_extractor_uses_the_checked_weights(stand_in, monkeypatch):
    path, state = stand_in
    checked = check_weights(str(path))
    loads = []
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: loads.append(args) or pytest.fail("torch.load"))
    extractor = extractor_class()(EXTRACTOR, ["2048"], **{STATE_DICT_KWARG: checked})
    assert loads == [] and not extractor.training
    assert torch.equal(extractor.fc.weight, state["fc.weight"])
    assert torch.equal(extractor.Mixed_7c.branch_pool.conv.weight, state["Mixed_7c.branch_pool.conv.weight"])


def test_torch_fidelity_is_never_given_the_path(stand_in, monkeypatch):
    """One whole metric pass: the only torch.load is gankit's own, of the bytes it read, with
    weights_only; torch-fidelity downloads nothing and extracts with the checked weights."""
    import torch_fidelity.feature_extractor_inceptionv3 as inception_v3
    import torch_fidelity.metrics

    path, state = stand_in
    loads, extractors = [], []
    real_load, real_create = torch.load, torch_fidelity.metrics.create_feature_extractor
    monkeypatch.setattr(torch, "load",
                        lambda *args, **kwargs: loads.append((args, kwargs)) or real_load(*args, **kwargs))
    monkeypatch.setattr(inception_v3, "load_state_dict_from_url", lambda *args, **kwargs: pytest.fail("download"))
    monkeypatch.setattr(torch_fidelity.metrics, "create_feature_extractor",
                        lambda *args, **kwargs: extractors.append(real_create(*args, **kwargs)) or extractors[-1])
    images = torch.rand(10, 1, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    values = inception_metrics(images, images.flip(0), str(path))
    assert set(values) == {"fid", "kid", "is", "precision", "recall"}
    assert len(loads) == 1 and not isinstance(loads[0][0][0], (str, os.PathLike))
    assert loads[0][1]["weights_only"] is True
    assert len(extractors) == 1 and torch.equal(extractors[0].fc.weight, state["fc.weight"])


def test_swapping_the_file_during_evaluation_runs_no_pickle(tmp_path, stand_in):
    """The attack: PATH is swapped between the right weights and a pickle that makes a marker, in a
    tight loop, while gankit reads, checks and builds the extractor from it again and again."""
    good, state = stand_in
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"fc.weight": _Payload(marker)}, evil)
    path, staging = tmp_path / "inception.pth", tmp_path / "staging.pth"
    os.link(good, path)
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            for source in (evil, good):
                os.link(source, staging)
                os.replace(staging, path)

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    outcomes = {"used": 0, "refused": 0}
    try:
        for _ in range(40):
            try:
                checked = check_weights(str(path))
            except UserError as err:
                assert "\n" not in str(err) and "not a readable weights file" in str(err)
                outcomes["refused"] += 1
            else:
                extractor = extractor_class()(EXTRACTOR, ["2048"], **{STATE_DICT_KWARG: checked})
                assert torch.equal(extractor.fc.weight, state["fc.weight"])
                outcomes["used"] += 1
            assert not marker.exists()
            if min(outcomes.values()) >= 3:
                break
    finally:
        stop.set()
        swapper.join()
    assert not marker.exists()
    assert min(outcomes.values()) >= 1, outcomes  # both files were met: the race really ran


def test_images_become_uint8_rgb():
    pixels = to_uint8_rgb(torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3))
    assert pixels.dtype == torch.uint8 and pixels.shape == (1, 3, 1, 3)
    assert pixels[0, :, 0].tolist() == [[0, 128, 255]] * 3


def test_cli_without_weights_is_one_line(tmp_path, gankit):
    runs = tmp_path / "runs"
    gankit("train", "train.steps=1", "train.sample_steps=[0]", "--runs-dir", str(runs), "--no-progress")
    code, _, err = gankit("eval", str(runs / "digits"), "--inception", "--samples", "20")
    lines = err.strip().splitlines()
    assert code == 2 and lines[-1].startswith("gankit: error: Inception metrics need") and "Traceback" not in err
