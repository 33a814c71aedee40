"""A folder (or zip) of images decoded once into a packed cache of fixed-size uint8 arrays, which
every later run, study job and torchrun process maps in at once.

An entry of the cache is a folder named by what makes the pixels what they are (the root, the
image size, the channels, the crop, the labels, a limit), holding::

    images.u8    N x C x H x W uint8, raw (memory-mapped by readers)
    labels.i64   N int64, with data.labels=folders
    files.txt    the listing the pixels were decoded from (name, size, time or CRC per line)
    index.json   written last: count, shape, the listing's hash, classes, spot hashes of images.u8
    .lock        held while the entry is built: concurrent processes decode once

An entry is used when its index matches the listing of today's files, the images file has the
size it should, and a few spot hashes of it match; otherwise it is rebuilt, saying why (the
folder changed: so many files added, removed, changed; the cache is damaged). The images are
decoded by one forked process per core this process may use (small images cost more Python
than decoding, so threads would share one core), each writing its share straight into a
temporary file that is renamed into place when whole.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from tqdm.auto import tqdm

from gankit.data.image_files import Decoding, ImageFiles, decode_file
from gankit.errors import machine_error
from gankit.fsutil import atomic_write_text, make_folder
from gankit.rundir.lock import DirectoryLock

FORMAT = 1
IMAGES, LABELS, FILES, INDEX = "images.u8", "labels.i64", "files.txt", "index.json"
SPOTS = 8  # spot hashes of the images file, spread over it
SPOT_BYTES = 1 << 16
CHUNK = 64  # images a decoding task handles
PARALLEL_FROM = 512  # fewer images are decoded in this process (starting others costs more)
ANNOUNCE_FROM = 1000  # decoding fewer images takes a moment: not worth a line

Say = Callable[[str], None]


def notice(text: str) -> None:
    """A line about the data on stderr (as gankit's other notices)."""
    print(f"gankit: data: {text}", file=sys.stderr, flush=True)


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass
class Packed:
    """A cache entry mapped in: the images (a memory-mapped uint8 tensor), labels and classes."""

    images: torch.Tensor  # memory-mapped: pages are read as they are used
    labels: Optional[torch.Tensor]
    classes: Optional[list[str]]
    folder: Path

    @property
    def nbytes(self) -> int:
        """Bytes of the images."""
        return self.images.numel()

    def first(self, count: int) -> "Packed":
        """The first ``count`` images (a view: nothing is read)."""
        labels = None if self.labels is None else self.labels[:count]
        return Packed(self.images[:count], labels, self.classes, self.folder)

    def read(self) -> torch.Tensor:
        """The images read into memory (one sequential read, no mapped pages kept)."""
        shape = tuple(self.images.shape)
        pixels = np.fromfile(self.folder / IMAGES, dtype=np.uint8, count=self.nbytes)
        return torch.from_numpy(pixels.reshape(shape))


def entry_folder(cache_root: Path, files: ImageFiles, decoding: Decoding, labels: bool, count: int) -> Path:
    """The entry of these files decoded this way (one per root and settings: a changed folder
    replaces its entry rather than adding one)."""
    key = {"format": FORMAT, "root": str(files.root.resolve()), "size": decoding.image_size,
           "channels": decoding.channels, "crop": decoding.crop, "labels": labels,
           "count": count if count < len(files) else None}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return Path(cache_root) / digest


def _spots(path: Path, size: int) -> list[str]:
    """Hashes of SPOTS stretches spread over the file (cheap whatever its size)."""
    hashes = []
    with open(path, "rb") as handle:
        for k in range(SPOTS):
            handle.seek(max(0, (size - SPOT_BYTES) * k // max(1, SPOTS - 1)))
            hashes.append(hashlib.sha256(handle.read(SPOT_BYTES)).hexdigest()[:16])
    return hashes


def _read_index(folder: Path) -> Optional[dict]:
    try:
        index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return index if isinstance(index, dict) else None


def check_entry(folder: Path, files: ImageFiles, count: int) -> Optional[str]:
    """None when the entry holds today's files whole; else why it must be built (in words)."""
    if not (folder / INDEX).exists():
        return "new"
    index = _read_index(folder)
    if index is None or index.get("format") != FORMAT or not isinstance(index.get("shape"), list):
        return "damaged: its index cannot be read"
    if index.get("digest") != files.digest(count):
        return "changed: " + _changes(folder, files, count)
    expected = int(np.prod([index.get("count", -1), *index["shape"]]))
    try:
        size = (folder / IMAGES).stat().st_size
    except OSError:
        return f"damaged: {IMAGES} is missing"
    if size != expected:
        return f"damaged: {IMAGES} holds {size} bytes, not {expected}"
    if index.get("labels") and (not (folder / LABELS).is_file() or (folder / LABELS).stat().st_size != 8 * count):
        return f"damaged: {LABELS} is missing or cut short"
    if _spots(folder / IMAGES, size) != index.get("spots"):
        return f"damaged: {IMAGES} is not what was written"
    return None


def _changes(folder: Path, files: ImageFiles, count: int) -> str:
    """How the listing differs from the one the entry was made from: added, removed, changed."""
    try:
        old = {}
        for line in (folder / FILES).read_text(encoding="utf-8", errors="surrogateescape").splitlines():
            name, _, rest = line.partition("\t")
            old[name] = rest
    except OSError:
        return "the files differ"
    new = {e.name: f"{e.size}\t{e.stamp}" for e in files.entries[:count]}
    added = len(new.keys() - old.keys())
    removed = len(old.keys() - new.keys())
    changed = sum(old[name] != new[name] for name in new.keys() & old.keys())
    return f"{added} added, {removed} removed, {changed} changed"


def _map(folder: Path, index: dict) -> Packed:
    count, shape = int(index["count"]), tuple(index["shape"])
    # copy-on-write: readable as a tensor without the "not writable" warning; the file never changes
    images = np.memmap(folder / IMAGES, dtype=np.uint8, mode="c", shape=(count, *shape))
    labels = None
    if index.get("labels"):
        labels = torch.from_numpy(np.fromfile(folder / LABELS, dtype=np.int64, count=count))
    return Packed(torch.from_numpy(images), labels, index.get("classes"), folder)


def mapped_if_current(files: ImageFiles, decoding: Decoding, cache_root: Path, *,
                      labels: bool = False) -> Optional[Packed]:
    """The entry of all of ``files`` mapped in, if it is there and current; None otherwise
    (nothing is built)."""
    folder = entry_folder(cache_root, files, decoding, labels, len(files))
    if not folder.is_dir() or check_entry(folder, files, len(files)) is not None:
        return None
    return _map(folder, _read_index(folder))


def packed_images(files: ImageFiles, decoding: Decoding, cache_root: Path, *, labels: bool = False,
                  count: Optional[int] = None, say: Say = notice) -> Packed:
    """The first ``count`` (default all) of ``files`` decoded as ``decoding`` says, from the
    cache under ``cache_root``: mapped in when it holds them, decoded into it (once, whatever
    other processes ask for it at the same time) when not."""
    count = len(files) if count is None else min(count, len(files))
    folder = make_folder(entry_folder(cache_root, files, decoding, labels, count))
    why = check_entry(folder, files, count)
    if why is None:
        return _map(folder, _read_index(folder))
    lock = DirectoryLock(folder, what="image cache")
    lock.acquire(waiting=lambda holder: say(f"waiting for {holder}, which is decoding {files.root}"))
    try:
        why = check_entry(folder, files, count)  # another process may have built it meanwhile
        if why is not None:
            if why.startswith("changed"):
                say(f"{files.root} has changed since it was cached ({why[9:]}): decoding it again")
            elif why.startswith("damaged"):
                say(f"the cache of {files.root} in {folder} is {why}: decoding it again")
            _build(folder, files, decoding, labels, count, say)
        return _map(folder, _read_index(folder))
    finally:
        lock.release()


# What the forked decoders work on (set before the fork, so each inherits it).
_JOB: Optional[tuple] = None  # (files, decoding, path of the images file, count, shape)


def _decode_chunk(start: int) -> int:
    """Decode images start .. start + CHUNK of _JOB into its images file; how many."""
    files, decoding, path, count, shape = _JOB
    pixels = np.memmap(path, dtype=np.uint8, mode="r+", shape=(count, *shape))
    stop = min(start + CHUNK, count)
    for i in range(start, stop):
        with files.open(i) as handle:
            pixels[i] = decode_file(handle, files.path(i), decoding)
    pixels.flush()
    return stop - start


def _decode_all(job: tuple, cores: int, bar) -> None:
    """Every chunk of ``job``: in forked processes, one per core, or here for a few images."""
    global _JOB
    _JOB, count = job, job[3]
    try:
        chunks = range(0, count, CHUNK)
        if cores == 1 or count < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
            for start in chunks:
                bar.update(_decode_chunk(start))
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the decoders touch none
            pool = multiprocessing.get_context("fork").Pool(cores)
        with pool:
            for done in pool.imap_unordered(_decode_chunk, chunks):
                bar.update(done)
    finally:
        _JOB = None


def _build(folder: Path, files: ImageFiles, decoding: Decoding, labels: bool, count: int, say: Say) -> None:
    classes, label_list = files.classes() if labels else (None, None)
    shape = (decoding.channels, decoding.image_size, decoding.image_size)
    cores = usable_cores() if count >= PARALLEL_FROM else 1
    if count >= ANNOUNCE_FROM:
        say(f"decoding {count} images of {files.root} on {cores} core{'s' * (cores > 1)} into {folder} (once)")
    (folder / INDEX).unlink(missing_ok=True)  # from here on the entry is not valid until rebuilt
    partial = folder / (IMAGES + ".tmp")
    started = time.monotonic()
    try:
        np.memmap(partial, dtype=np.uint8, mode="w+", shape=(count, *shape)).flush()  # the file, full size
        with tqdm(total=count, desc="decoding images", unit="img", disable=None, leave=False,
                  file=sys.stderr) as bar:
            _decode_all((files, decoding, partial, count, shape), cores, bar)
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, folder / IMAGES)
        if label_list is not None:
            with open(folder / LABELS, "wb") as handle:
                handle.write(np.asarray(label_list[:count], dtype=np.int64).tobytes())
                handle.flush()
                os.fsync(handle.fileno())
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise machine_error(err, "write the image cache", folder) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    size = (folder / IMAGES).stat().st_size
    atomic_write_text(folder / FILES, "".join(e.line() + "\n" for e in files.entries[:count]))
    index = {"format": FORMAT, "root": str(files.root.resolve()), "count": count, "shape": list(shape),
             "digest": files.digest(count), "labels": labels, "classes": classes, "crop": decoding.crop,
             "spots": _spots(folder / IMAGES, size), "built": time.strftime("%Y-%m-%d %H:%M:%S")}
    atomic_write_text(folder / INDEX, json.dumps(index, indent=1) + "\n")
    seconds = time.monotonic() - started
    if count >= ANNOUNCE_FROM:
        say(f"decoded {count} images in {seconds:.1f} s ({count / max(seconds, 1e-9):.0f} images/s)")

