import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gankit.track import TensorBoardLog, make_grid


def test_scalars_and_image_written_to_run_dir(tmp_path):
    tb = TensorBoardLog(tmp_path)
    tb.scalars(10, {"step": 10, "d_loss": 1.25, "g_loss": 0.5, "name": "x", "flag": True, "n": 3})
    tb.scalars(20, {"step": 20, "d_loss": 0.75})
    tb.image("samples", make_grid(torch.zeros(4, 1, 16, 16)), 20)
    tb.close()
    events = list(tmp_path.glob("events.out.tfevents.*"))
    assert len(events) == 1

    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    tags = acc.Tags()
    assert set(tags["scalars"]) == {"train/d_loss", "train/g_loss", "train/n"}
    d_loss = acc.Scalars("train/d_loss")
    assert [(e.step, e.value) for e in d_loss] == [(10, pytest.approx(1.25)), (20, pytest.approx(0.75))]
    assert tags["images"] == ["samples"]
    img = acc.Images("samples")[0]
    assert img.step == 20 and (img.width, img.height) == (70, 70)
