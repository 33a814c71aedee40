"""The Inception bridge fails cleanly, and says how to get the weights, when they are missing."""

import pytest
import torch

from gankit.errors import UserError
from gankit.metrics.inception import WEIGHTS_URL, check_weights, inception_metrics, to_uint8_rgb


def test_missing_weights_say_how_to_get_them(tmp_path):
    for path in (None, str(tmp_path / "absent.pth")):
        with pytest.raises(UserError) as raised:
            inception_metrics(torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 8), path)
        assert WEIGHTS_URL in str(raised.value) and "--inception-weights" in str(raised.value)


def test_files_that_are_not_inception_weights(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(UserError, match="not a readable weights file"):
        check_weights(str(junk))
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, other)
    with pytest.raises(UserError, match="not the Inception-v3 state dict"):
        check_weights(str(other))


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
