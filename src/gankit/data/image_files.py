"""The image files of ``data.root``: a folder (recursively) or a zip archive, listed in a fixed
order with what identifies each file's content (its size and modification time; in a zip, its
size and CRC), so that a cache of their decoded pixels knows when it is out of date; and how one
file becomes pixels (:func:`decode_file`).

Hidden files and folders (a leading dot, ``__MACOSX``) are skipped. With ``labels=folders`` each
image's class is the first folder of its path under the root (``root/cat/001.jpg`` is a "cat").
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional

import numpy as np
from PIL import Image

from gankit.errors import UserError

EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".gif", ".tif",
                        ".tiff", ".webp"})
SKIPPED = ("__MACOSX",)


def _visible(parts: tuple[str, ...]) -> bool:
    return not any(p.startswith(".") or p in SKIPPED for p in parts)


def _is_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in EXTENSIONS


@dataclass(frozen=True)
class Entry:
    """One image file: its path under the root ('/'-separated) and what identifies its content."""

    name: str
    size: int
    stamp: int  # modification time in ns (folders) or CRC-32 (zip members)

    def line(self) -> str:
        """The entry as one line of the listing (what the cache's key hashes)."""
        return f"{self.name}\t{self.size}\t{self.stamp}"


class ImageFiles:
    """The images of a folder or a zip archive, sorted by path."""

    def __init__(self, root: Path):
        self.root = Path(root).expanduser()
        if self.root.is_file() and zipfile.is_zipfile(self.root):
            self.zipped = True
            self.entries = self._zip_entries()
        elif self.root.is_dir():
            self.zipped = False
            self.entries = self._folder_entries()
        elif self.root.exists():
            raise UserError(f"data.root {self.root} is neither a folder nor a zip archive of images")
        else:
            raise UserError(f"data folder not found: {self.root} (data.root)")
        if not self.entries:
            raise UserError(f"no image files found in {self.root} "
                            f"(looked for {', '.join(sorted(e[1:] for e in EXTENSIONS))})")
        self._local = threading.local()
        self._pid = os.getpid()

    def _folder_entries(self) -> list[Entry]:
        found = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if _visible((d,))]
            relative = os.path.relpath(folder, self.root)
            prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            for name in files:
                if not _is_image(name) or not _visible((name,)):
                    continue
                try:
                    stat = os.stat(os.path.join(folder, name))
                except OSError:
                    continue  # vanished (or a broken link) between listing and looking
                found.append(Entry(prefix + name, stat.st_size, stat.st_mtime_ns))
        return sorted(found, key=lambda e: e.name)

    def _zip_entries(self) -> list[Entry]:
        try:
            with zipfile.ZipFile(self.root) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError) as err:
            raise UserError(f"cannot read the zip archive {self.root}: {err}") from None
        found = [Entry(i.filename, i.file_size, i.CRC) for i in infos
                 if not i.is_dir() and _is_image(i.filename) and _visible(tuple(i.filename.split("/")))]
        return sorted(found, key=lambda e: e.name)

    def __len__(self) -> int:
        """Number of images."""
        return len(self.entries)

    def digest(self, count: Optional[int] = None) -> str:
        """A hash of the listing (of its first ``count`` entries): changes when any file does."""
        hasher = hashlib.sha256()
        for entry in self.entries[:count]:
            hasher.update(entry.line().encode("utf-8", "surrogateescape") + b"\n")
        return hasher.hexdigest()

    def path(self, index: int) -> str:
        """How to name image ``index`` in a message."""
        return f"{self.root}:{self.entries[index].name}" if self.zipped else str(self.root / self.entries[index].name)

    def open(self, index: int) -> BinaryIO:
        """The bytes of image ``index`` as a file (thread-safe: one archive handle per thread)."""
        name = self.entries[index].name
        if not self.zipped:
            return open(self.root / name, "rb")
        if os.getpid() != self._pid:  # a forked decoder: never share the parent's archive handle
            self._local, self._pid = threading.local(), os.getpid()
        archive = getattr(self._local, "archive", None)
        if archive is None:
            archive = self._local.archive = zipfile.ZipFile(self.root)
        return io.BytesIO(archive.read(name))

    def classes(self) -> tuple[list[str], list[int]]:
        """``labels=folders``: the class names (sorted first folders) and each image's class index."""
        tops = [entry.name.split("/", 1)[0] if "/" in entry.name else None for entry in self.entries]
        loose = [entry.name for entry, top in zip(self.entries, tops) if top is None]
        if loose:
            raise UserError(f"data.labels=folders needs every image in a class folder under {self.root}; "
                            f"{len(loose)} lie directly in it (e.g. {loose[0]})")
        names = sorted(set(tops))
        if len(names) < 2:
            raise UserError(f"data.labels=folders needs at least 2 class folders under {self.root} "
                            f"(found {len(names)}: {', '.join(names)})")
        number = {name: i for i, name in enumerate(names)}
        return names, [number[top] for top in tops]


def class_folders(root: Path) -> Optional[list[str]]:
    """The class names ``labels=folders`` would find under ``root`` (without decoding anything),
    or None when the root cannot be listed."""
    try:
        return ImageFiles(root).classes()[0]
    except UserError:
        return None


@dataclass(frozen=True)
class Decoding:
    """How pixels are made from a file: the size of the square, the channels, the crop."""

    image_size: int
    channels: int
    crop: str = "center"  # shorter side resized to image_size, then the centre square


def decode_file(handle: BinaryIO, name: str, decoding: Decoding) -> np.ndarray:
    """One image file as uint8 (C, size, size): shorter side resized (bilinear), then the centre
    square cut out; a file that cannot be decoded is a UserError naming it."""
    size, mode = decoding.image_size, "L" if decoding.channels == 1 else "RGB"
    try:
        with Image.open(handle) as img:
            img = img.convert(mode)
            w, h = img.size
            scale = size / min(w, h)
            new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
            img = img.resize((new_w, new_h), Image.Resampling.BILINEAR)
            left, top = (new_w - size) // 2, (new_h - size) // 2
            img = img.crop((left, top, left + size, top + size))
            array = np.asarray(img, dtype=np.uint8)
    except Image.UnidentifiedImageError:
        raise UserError(f"cannot decode image file {name}: not an image format PIL can read") from None
    except Exception as err:  # PIL raises many kinds (OSError for a truncated file, ValueError, ...)
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise UserError(f"cannot decode image file {name}: {reason}") from None
    if array.ndim == 2:
        array = array[:, :, None]
    return array.transpose(2, 0, 1)

