import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gankit.track import TensorBoardLog, make_grid


def test_scalars_and_image_written_to_run_dir(tmp_path):
    tb = TensorBoardLog(tmp_path)
    tb.scalars(10, {"step": 10, "d_loss": 1.25, "g_loss": 0.5, "d_x": 0.6, "eval_image_fd": 80.0, "name": "x",
                    "flag": True, "n": 3})
    tb.scalars(20, {"step": 20, "d_loss": 0.75})
    tb.image("samples", make_grid(torch.zeros(4, 1, 16, 16)), 20)
    tb.close()
    events = list(tmp_path.glob("events.out.tfevents.*"))
    assert len(events) == 1

    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    tags = acc.Tags()
    # each quantity under the chart the registry draws it on; one drawn on none under train/
    assert set(tags["scalars"]) == {"losses/d_loss", "losses/g_loss", "outputs/d_x", "evaluation/image_fd", "train/n"}
    d_loss = acc.Scalars("losses/d_loss")
    assert [(e.step, e.value) for e in d_loss] == [(10, pytest.approx(1.25)), (20, pytest.approx(0.75))]
    assert tags["images"] == ["samples"]
    img = acc.Images("samples")[0]
    assert img.step == 20 and (img.width, img.height) == (70, 70)
