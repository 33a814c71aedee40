"""The synthetic sines, sequence files (.npy, .csv) and the 2-D mixtures."""

import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data import load_samples, resolved_settings, sample_spec
from gankit.data.sequences import to_data_units
from gankit.data.toys import grid25, ring8
from gankit.errors import UserError


def test_sines_are_fixed_bounded_and_varied():
    cfg = DataConfig(source="sines", count=500, length=32, channels=2)
    data = load_samples(cfg)
    assert data.samples.shape == (500, 2, 32) and data.samples.dtype == torch.float32
    assert data.samples.abs().max() <= 1.0
    assert torch.equal(data.samples, load_samples(cfg).samples)
    amplitudes = data.samples.amax(2) - data.samples.amin(2)
    assert amplitudes.std() > 0.1  # random amplitudes
    assert sample_spec(cfg).shape == (2, 32)


def test_npy_file_is_mapped_to_unit_range_and_back(tmp_path):
    raw = np.random.default_rng(0).normal(50, 10, size=(20, 3, 16))
    np.save(tmp_path / "signals.npy", raw)
    cfg = DataConfig(source="sequences", root=str(tmp_path / "signals.npy"))
    data = load_samples(cfg)
    assert data.samples.shape == (20, 3, 16)
    assert data.samples.min().item() == pytest.approx(-1) and data.samples.max().item() == pytest.approx(1)
    settings = resolved_settings(cfg, data)
    assert settings == {"channels": 3, "length": 16, "value_range": (raw.min(), raw.max())}
    back = to_data_units(data.samples.double(), settings["value_range"])
    assert np.allclose(back.numpy(), raw, atol=1e-4)


def test_csv_file_with_header(tmp_path):
    rows = ["t0,t1,t2,t3,t4,t5,t6,t7,t8,t9"] + [",".join(str(i * j) for j in range(10)) for i in range(1, 5)]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    data = load_samples(DataConfig(source="sequences", root=str(tmp_path / "s.csv")))
    assert data.samples.shape == (4, 1, 10)
    assert data.value_range == (0.0, 36.0)


@pytest.mark.parametrize("content, message", [
    ("1,2,3,4,5,6,7,8\n1,2,3\n", "different lengths"),
    ("1,2,3,4,5,6,7,8\n1,2,3,x,5,6,7,8\n", "cannot read"),
    ("1,2,3,4,5,6,7,8\n", "at least 2 sequences"),
    ("1,1,1,1,1,1,1,1\n1,1,1,1,1,1,1,1\n", "nothing to learn"),
])
def test_bad_csv_files(tmp_path, content, message):
    (tmp_path / "s.csv").write_text(content)
    with pytest.raises(UserError, match=message):
        load_samples(DataConfig(source="sequences", root=str(tmp_path / "s.csv")))


def test_bad_sequence_sources(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_samples(DataConfig(source="sequences", root=str(tmp_path / "none.npy")))
    np.save(tmp_path / "nan.npy", np.array([[np.nan] * 8, [0.0] * 8]))
    with pytest.raises(UserError, match="NaN"):
        load_samples(DataConfig(source="sequences", root=str(tmp_path / "nan.npy")))
    (tmp_path / "x.txt").write_text("1,2")
    with pytest.raises(UserError, match=".npy or .csv"):
        load_samples(DataConfig(source="sequences", root=str(tmp_path / "x.txt")))
    np.save(tmp_path / "ok.npy", np.random.rand(4, 16))
    with pytest.raises(UserError, match="data.length=32"):
        load_samples(DataConfig(source="sequences", root=str(tmp_path / "ok.npy"), length=32))


@pytest.mark.parametrize("mixture, modes, std, radius", [(ring8, 8, 0.01, 1.0), (grid25, 25, 0.05, None)])
def test_mixtures(mixture, modes, std, radius):
    m = mixture()
    assert m.num_modes == modes and m.std == std
    if radius:
        assert torch.allclose(m.means.norm(dim=1), torch.full((modes,), radius))
    else:
        assert set(m.means.flatten().tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    data = load_samples(DataConfig(source=m.name, count=5000))
    assert data.samples.shape == (5000, 2) and data.num_classes == modes
    offsets = data.samples - m.means[data.labels]
    assert offsets.std().item() == pytest.approx(std, rel=0.05)
    assert torch.bincount(data.labels, minlength=modes).min() > 5000 / modes * 0.7
