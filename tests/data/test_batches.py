"""Batches: reproducible, permutation-per-epoch batches in [-1, 1]."""

import pytest
import torch

from gankit.data import Batches, SampleSet, to_unit_range
from gankit.errors import UserError


def make_set(n=50, labels=True):
    # image i is filled with value i, so a batch tells which images it holds
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).clone()
    return SampleSet(samples=images, labels=torch.arange(n) if labels else None,
                    num_classes=n if labels else None, description="test set")


def ids(batch):
    images, _ = batch
    return ((images[:, 0, 0, 0] + 1) * 127.5).round().long()


def test_to_unit_range():
    x = torch.tensor([0, 127, 255], dtype=torch.uint8)
    y = to_unit_range(x)
    assert y.dtype == torch.float32
    assert torch.allclose(y, torch.tensor([-1.0, 127 / 127.5 - 1, 1.0]))


def test_same_index_same_batch_across_instances():
    a, b = Batches(make_set(), 8, seed=3, device="cpu"), Batches(make_set(), 8, seed=3, device="cpu")
    for index in [17, 0, 5, 17, 40, 6]:  # jumping around, like a resumed run
        xa, la = a.get(index)
        xb, lb = b.get(index)
        assert torch.equal(xa, xb) and torch.equal(la, lb)
    fresh = Batches(make_set(), 8, seed=3, device="cpu")
    assert torch.equal(fresh.get(40)[0], a.get(40)[0])


def test_every_image_once_per_epoch_and_labels_match():
    batches = Batches(make_set(48), 8, seed=0, device=torch.device("cpu"))
    assert batches.batches_per_epoch == 6 and len(batches) == 6
    for epoch in range(3):
        seen = torch.cat([ids(batches.get(epoch * 6 + i)) for i in range(6)])
        assert sorted(seen.tolist()) == list(range(48))
    images, labels = batches.get(2)
    assert torch.equal(ids((images, labels)), labels)


def test_drops_partial_batch():
    batches = Batches(make_set(50), 8, seed=0, device="cpu")
    assert batches.batches_per_epoch == 6
    seen = torch.cat([ids(batches.get(i)) for i in range(6)])
    assert len(set(seen.tolist())) == 48
    assert batches.epoch_of(6) == 1


def test_epochs_and_seeds_differ():
    batches = Batches(make_set(), 10, seed=1, device="cpu")
    epoch0 = torch.cat([ids(batches.get(i)) for i in range(5)])
    epoch1 = torch.cat([ids(batches.get(5 + i)) for i in range(5)])
    assert not torch.equal(epoch0, epoch1)
    other = Batches(make_set(), 10, seed=2, device="cpu")
    assert not torch.equal(epoch0, torch.cat([ids(other.get(i)) for i in range(5)]))


def test_values_shape_and_no_labels():
    batches = Batches(make_set(labels=False), 16, seed=0, device="cpu")
    images, labels = batches.get(7)
    assert labels is None
    assert images.shape == (16, 1, 4, 4) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    full = SampleSet(torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1), None, None, "")
    x, _ = Batches(full, 2, seed=0, device="cpu").get(0)
    assert sorted(x.flatten().tolist()) == [-1.0, 1.0]


def test_batch_size_too_big():
    with pytest.raises(UserError, match="batch_size=51.*50 images"):
        Batches(make_set(50), 51, seed=0, device="cpu")
    Batches(make_set(50), 50, seed=0, device="cpu")  # exactly the set is fine


def test_processes_split_each_batch_into_equal_consecutive_shares():
    single = Batches(make_set(64), 16, seed=5, device="cpu")
    shares = [Batches(make_set(64), 16, seed=5, device="cpu", rank=r, world_size=4) for r in range(4)]
    for index in (0, 3, 4, 9):  # across epochs (4 batches each)
        whole, labels = single.get(index)
        parts = [share.get(index) for share in shares]
        assert all(p[0].shape[0] == 4 for p in parts)
        assert torch.equal(torch.cat([p[0] for p in parts]), whole)
        assert torch.equal(torch.cat([p[1] for p in parts]), labels)


def test_batch_must_split_evenly_over_processes():
    with pytest.raises(UserError, match="multiple of the number of processes"):
        Batches(make_set(64), 10, seed=0, device="cpu", rank=0, world_size=4)
