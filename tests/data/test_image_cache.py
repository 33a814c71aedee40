"""The image cache: a folder (or zip) decoded once and mapped by every later load and process,
re-read when the folder changes, rebuilt when damaged; class folders as labels; sets larger
than the memory budget streamed from the map with the same batches and an exact resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import Batches, load_samples, sample_spec
from gankit.data.image_cache import IMAGES, INDEX, _build, entry_folder
from gankit.data.image_files import Decoding, ImageFiles
from gankit.engine import fit, new_run, resume_run
from gankit.errors import UserError
from gankit.rundir.lock import DirectoryLock

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out


def write_images(folder: Path, count: int, size: int = 12, seed: int = 0, prefix: str = "") -> list[Path]:
    """``count`` random RGB PNGs (a little larger than ``size``, not square) in ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        pixels = rng.integers(0, 256, size=(size + 3, size + 5, 3), dtype=np.uint8)
        path = folder / f"{prefix}{i:03d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


@pytest.fixture(autouse=True)
def announce_every_decoding(monkeypatch):
    """Say "decoding N images" for these small folders too (gankit says it from 1,000 on)."""
    import gankit.data.image_cache as image_cache

    monkeypatch.setattr(image_cache, "ANNOUNCE_FROM", 1)


def config(root: Path, cache: Path, **settings) -> DataConfig:
    return DataConfig(source="folder", root=str(root), cache=str(cache), image_size=8, channels=3, **settings)


def entry(cfg: DataConfig) -> Path:
    files = ImageFiles(Path(cfg.root))
    return entry_folder(Path(cfg.cache), files, Decoding(cfg.image_size, cfg.channels), cfg.labels == "folders",
                        len(files))


def test_a_folder_is_decoded_once_then_mapped(tmp_path, capsys):
    write_images(tmp_path / "faces", 20)
    cfg = config(tmp_path / "faces", tmp_path / "cache")
    first = load_samples(cfg)
    said = capsys.readouterr().err
    assert "decoding 20 images" in said and "(once)" in said
    written = (entry(cfg) / IMAGES).stat()
    again = load_samples(cfg)
    assert capsys.readouterr().err == ""  # nothing decoded, nothing said
    assert torch.equal(first.samples, again.samples) and again.samples.shape == (20, 3, 8, 8)
    assert (entry(cfg) / IMAGES).stat().st_mtime_ns == written.st_mtime_ns
    assert "from its cache" in again.description and not again.streamed
    index = json.loads((entry(cfg) / INDEX).read_text())
    assert index["count"] == 20 and index["shape"] == [3, 8, 8]


def test_the_cache_location_is_configurable(tmp_path, monkeypatch):
    write_images(tmp_path / "faces", 3)
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "default"))
    load_samples(DataConfig(source="folder", root=str(tmp_path / "faces"), image_size=8, channels=3))
    assert list((tmp_path / "default" / "images").glob("*/" + IMAGES))
    load_samples(config(tmp_path / "faces", tmp_path / "chosen"))
    assert list((tmp_path / "chosen").glob("*/" + IMAGES))


def test_concurrent_processes_decode_once(tmp_path):
    """While one process holds the entry's lock (decoding), another waits, then maps its work."""
    write_images(tmp_path / "faces", 30)
    cfg = config(tmp_path / "faces", tmp_path / "cache")
    folder = entry(cfg)
    folder.mkdir(parents=True)
    script = ("import sys, hashlib; from gankit.config import DataConfig; from gankit.data import load_samples; "
              f"d = load_samples(DataConfig(source='folder', root={cfg.root!r}, cache={cfg.cache!r}, image_size=8, "
              "channels=3)); print(hashlib.sha256(d.samples.numpy().tobytes()).hexdigest())")
    with DirectoryLock(folder, what="image cache"):
        other = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        deadline = time.monotonic() + 60
        line = ""
        while "waiting for" not in line:
            assert time.monotonic() < deadline, "the other process did not wait for the lock"
            line = other.stderr.readline()
        assert "which is decoding" in line
        files = ImageFiles(tmp_path / "faces")
        _build(folder, files, Decoding(8, 3), False, len(files), say=lambda text: None)
    out, err = other.communicate(timeout=60)
    assert other.returncode == 0, err
    assert "decoding" not in err.replace("which is decoding", "")  # it mapped what this process decoded
    import hashlib

    assert out.strip() == hashlib.sha256(load_samples(cfg).samples.numpy().tobytes()).hexdigest()


def test_a_changed_folder_is_read_again_and_says_so(tmp_path, capsys):
    paths = write_images(tmp_path / "faces", 6)
    cfg = config(tmp_path / "faces", tmp_path / "cache")
    load_samples(cfg)
    capsys.readouterr()
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(paths[1])  # changed: black now
    paths[4].unlink()  # removed
    write_images(tmp_path / "faces", 1, seed=9, prefix="new")  # added
    data = load_samples(cfg)
    said = capsys.readouterr().err
    assert "has changed since it was cached (1 added, 1 removed, 1 changed)" in said
    assert len(data) == 6 and int(data.samples[1].max()) == 0
    assert torch.equal(data.samples, load_samples(cfg).samples)


@pytest.mark.parametrize("damage", ["truncated", "overwritten", "index"])
def test_a_damaged_cache_is_rebuilt(tmp_path, capsys, damage):
    write_images(tmp_path / "faces", 10)
    cfg = config(tmp_path / "faces", tmp_path / "cache")
    good = load_samples(cfg).samples.clone()
    capsys.readouterr()
    images = entry(cfg) / IMAGES
    if damage == "truncated":
        with open(images, "r+b") as handle:
            handle.truncate(100)
    elif damage == "overwritten":
        with open(images, "r+b") as handle:
            handle.write(b"\x00" * 200)
    else:
        (entry(cfg) / INDEX).write_text("{not json")
    again = load_samples(cfg)
    assert "is damaged" in capsys.readouterr().err
    assert torch.equal(again.samples, good)


def test_a_zip_archive_reads_like_the_folder(tmp_path):
    paths = write_images(tmp_path / "faces" / "inner", 7)
    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in paths:
            bundle.write(path, f"inner/{path.name}")
        bundle.writestr("__MACOSX/inner/._000.png", b"junk")
        bundle.writestr("inner/readme.txt", "not an image")
    from_zip = load_samples(config(archive, tmp_path / "cache"))
    from_folder = load_samples(config(tmp_path / "faces", tmp_path / "cache"))
    assert torch.equal(from_zip.samples, from_folder.samples)
    assert from_zip.description.startswith("zip archive")


def test_class_folders_are_labels(tmp_path, gankit):
    for name, count in (("dog", 3), ("cat", 5)):
        write_images(tmp_path / "pets" / name, count, seed=count)
    cfg = config(tmp_path / "pets", tmp_path / "cache", labels="folders")
    data = load_samples(cfg)
    assert data.classes == ["cat", "dog"] and data.num_classes == 2
    assert data.labels.tolist() == [0] * 5 + [1] * 3
    assert sample_spec(cfg).num_classes == 2
    runs = tmp_path / "runs"
    code, _, err = gankit("train", "digits", "data.source=folder", f"data.root={tmp_path / 'pets'}",
                          "data.labels=folders", "data.channels=3", "model.conditional=concat", "train.steps=2",
                          "train.batch_size=4", "train.sample_steps=[0]", "train.sample_count=4",
                          "--name", "pets", "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    assert "- cat\n  - dog" in (runs / "pets" / "config.yaml").read_text()
    (tmp_path / "pets" / "loose.png").write_bytes((tmp_path / "pets" / "cat" / "000.png").read_bytes())
    with pytest.raises(UserError, match="lie directly in it"):
        load_samples(cfg)


def test_streamed_and_in_memory_sets_give_the_same_batches(tmp_path):
    write_images(tmp_path / "faces", 40)
    in_memory = load_samples(config(tmp_path / "faces", tmp_path / "cache"))
    streamed = load_samples(config(tmp_path / "faces", tmp_path / "cache", memory_gb=1e-6))
    assert streamed.streamed and not in_memory.streamed
    assert "streamed from its cache" in streamed.description
    a, b = Batches(in_memory, 16, seed=3), Batches(streamed, 16, seed=3)
    for index in range(7):  # across epoch boundaries (2 batches an epoch)
        assert torch.equal(a.get(index)[0], b.get(index)[0])


def test_a_streamed_run_trains_as_in_memory_and_resumes_exactly(tmp_path):
    write_images(tmp_path / "faces", 48, size=16)
    common = ["data.source=folder", f"data.root={tmp_path / 'faces'}", f"data.cache={tmp_path / 'cache'}",
              "data.channels=3", "model.g_width=16", "model.d_width=8", "train.batch_size=16",
              "train.log_every=2", "train.sample_steps=[0]", "train.checkpoint_every=1000"]
    streamed = [*common, "data.memory_gb=0.000001"]
    straight = new_run(None, ["train.steps=8", *streamed], name="straight", runs_root=tmp_path)
    fit(straight, show_progress=False)
    loaded = new_run(None, ["train.steps=8", *common], name="loaded", runs_root=tmp_path)
    assert straight.batches.streamed and not loaded.batches.streamed
    fit(loaded, show_progress=False)
    halves = new_run(None, ["train.steps=4", *streamed], name="halves", runs_root=tmp_path)
    fit(halves, show_progress=False)
    resumed = resume_run(halves.run_dir, ["train.steps=8"])
    fit(resumed, show_progress=False)
    for other in (loaded, resumed):
        for part in ("generator", "discriminator"):
            ours, theirs = getattr(straight.gan, part).state_dict(), getattr(other.gan, part).state_dict()
            assert all(torch.equal(ours[k], theirs[k]) for k in ours), (other.run_dir.name, part)


def test_a_limit_reads_the_whole_folders_entry_when_it_is_there(tmp_path, capsys):
    write_images(tmp_path / "faces", 12)
    limited = load_samples(config(tmp_path / "faces", tmp_path / "cache", limit=4))  # its own entry: 4 decoded
    assert "decoding 4 images" in capsys.readouterr().err
    whole = load_samples(config(tmp_path / "faces", tmp_path / "cache"))
    assert "decoding 12 images" in capsys.readouterr().err
    again = load_samples(config(tmp_path / "faces", tmp_path / "cache", limit=5))  # a slice of the whole
    assert capsys.readouterr().err == ""
    assert torch.equal(again.samples, whole.samples[:5]) and torch.equal(limited.samples, whole.samples[:4])


def test_many_images_are_decoded_by_forked_processes_as_one_would(tmp_path, monkeypatch, capsys):
    """From PARALLEL_FROM images on, one forked decoder per core writes its share: the same
    pixels as decoding them all here, for a folder and for a zip (whose handle no two share)."""
    import gankit.data.image_cache as image_cache

    paths = write_images(tmp_path / "many", image_cache.PARALLEL_FROM + 40, size=6)
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in paths:
            bundle.write(path, path.name)
    for root in (tmp_path / "many", archive):
        parallel = load_samples(config(root, tmp_path / "forked"))
        assert f"decoding {len(paths)} images" in capsys.readouterr().err
        monkeypatch.setattr(image_cache, "PARALLEL_FROM", 10**9)
        serial = load_samples(config(root, tmp_path / "serial"))
        assert "on 1 core " in capsys.readouterr().err
        monkeypatch.setattr(image_cache, "PARALLEL_FROM", len(paths) - 40)
        assert torch.equal(parallel.samples, serial.samples)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_gpu_a_streamed_set_is_gathered_on_the_host_in_the_same_order(tmp_path):
    write_images(tmp_path / "faces", 40)
    in_memory = load_samples(config(tmp_path / "faces", tmp_path / "cache"))
    streamed = load_samples(config(tmp_path / "faces", tmp_path / "cache", memory_gb=1e-6))
    a, b = Batches(in_memory, 16, seed=3, device="cuda"), Batches(streamed, 16, seed=3, device="cuda")
    assert b.from_host and not a.from_host and b.samples.device.type == "cpu"
    for index in range(7):
        ours, theirs = a.get(index)[0], b.get(index)[0]
        assert theirs.device.type == "cuda" and torch.equal(ours, theirs)
