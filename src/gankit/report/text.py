"""How numbers, config facts and pictures are written into the page."""

from __future__ import annotations

import base64
import math
from typing import Any

from gankit.registry import SOURCES
from gankit.rundir import number

from .run_data import RunData

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}


def fmt(value: Any) -> str:
    """A number for people: 4 significant digits, integers whole, ``—`` for missing, NaN and ∞ spelt out."""
    x = number(value)
    if x is None:
        return "—"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


def data_uri(payload: bytes, suffix: str = ".png") -> str:
    """``payload`` (the bytes of a file ending in ``suffix``) as a base64 ``data:`` URI."""
    mime = MIME.get(suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def paragraphs(text: str) -> list[str]:
    """Plain text split into paragraphs at blank lines (single newlines joined)."""
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in (text or "").split("\n\n")]
    return [b for b in blocks if b.strip()]


def _optimizer(cfg: Any) -> str:
    if not isinstance(cfg, dict):
        return "?"
    text = f"{cfg.get('name', '?')}, lr {fmt(cfg.get('lr'))}"
    if cfg.get("name") == "adam" and isinstance(cfg.get("betas"), list):
        text += f", betas ({', '.join(fmt(b) for b in cfg['betas'])})"
    return text


def data_fact(run: RunData) -> str:
    """The data source in a few words, e.g. ``digits, 16×16, 1 channel``."""
    source = run.setting("data.source")
    if source is None:
        return "unknown"
    entry = SOURCES.find(source)  # the registry's home imports torch: only here, when a page names its data
    kind = entry.kind if entry is not None else None
    if kind == "images":
        size, channels = run.setting("data.image_size"), run.setting("data.channels")
        text = f"{source}, {size}×{size}, {channels} channel{'s' if channels != 1 else ''}"
    elif kind == "sequences":
        text = f"{source}, length {run.setting('data.length') or '?'}, {run.setting('data.channels')} channel(s)"
    elif kind == "points":
        text = f"{source} (2-D points)"
    else:
        text = str(source)
    root = run.setting("data.root")
    return text + (f" from {root}" if root else "")


def model_fact(run: RunData) -> str:
    """Network family and the options that change it."""
    arch = run.setting("model.arch", "unknown")
    parts = [str(arch), f"z {run.setting('model.z_dim', '?')}"]
    if run.setting("model.conditional", "none") not in ("none", None):
        parts.append(f"conditional: {run.setting('model.conditional')}")
    parts += [name for key, name in (("model.spectral_norm", "spectral norm"), ("model.minibatch_std", "minibatch std"))
              if run.setting(key)]
    if (run.setting("model.pack") or 1) > 1:
        parts.append(f"PacGAN ×{run.setting('model.pack')}")
    return ", ".join(parts)


def loss_fact(run: RunData) -> str:
    """The loss, critic steps per G step and the regularisers that are on."""
    loss = run.setting("train.loss", "unknown")
    parts = [str(loss), f"{run.setting('train.d_steps', 1)} D step(s) per G step"]
    if run.setting("regularize.clip"):
        parts.append(f"weight clipping {fmt(run.setting('regularize.clip'))}")
    for key, name in (("regularize.gradient_penalty", "gradient penalty"), ("regularize.r1", "R1")):
        if number(run.setting(key)):
            parts.append(f"{name} {fmt(run.setting(key))}")
    return ", ".join(parts)


def facts(run: RunData) -> list[tuple[str, str]]:
    """The header facts of a run: (label, text) pairs."""
    total = run.total_steps
    steps = f"{fmt(run.last_step)} / {fmt(total)}"
    speeds = sorted(v for _, v in zip(*run.series("img_per_s")) if math.isfinite(v) and v > 0)
    rows = [("data", data_fact(run)), ("model", model_fact(run)), ("loss", loss_fact(run)),
            ("optimizers", f"G {_optimizer(run.setting('optim.g'))}; D {_optimizer(run.setting('optim.d'))}"),
            ("prior", str(run.setting("train.prior", "?"))),
            ("batch", f"{fmt(run.setting('train.batch_size'))}, seed {fmt(run.setting('seed'))}"),
            ("steps done", steps)]
    if speeds:
        rows.append(("speed", f"{fmt(round(speeds[len(speeds) // 2]))} images/s (median)"))
    return rows
