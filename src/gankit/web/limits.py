"""What the web lab accepts from a request: body sizes and depths, overrides, names, the numbers
of a run it starts, and how many trainings it runs at once.

The command line accepts the config's own ranges (:mod:`gankit.config`); a server that anyone
holding its token can drive starts only runs within :data:`RUN_LIMITS`, so that one request
cannot ask for a billion steps, a network of a hundred million channels or a batch that fills
the memory.
"""

from __future__ import annotations

import os
from typing import Any

from gankit.errors import UserError

MAX_BODY = 64 << 10  # bytes: a toy of 50 drawn points, or a launch with its overrides
MAX_DEPTH = 32  # nesting of a JSON body: a launch's overrides need 3
MAX_QUERY = 2048  # bytes of a query string
MAX_OVERRIDES = 100
MAX_OVERRIDE_CHARS = 1000
MAX_NAME = 100

# The largest value of each numeric key a run started or resumed from the page may have.
RUN_LIMITS = {
    "train.steps": 1_000_000,
    "train.batch_size": 4096,
    "train.d_steps": 100,
    "train.sample_count": 2048,
    "train.keep_checkpoints": 20,
    "model.z_dim": 4096,
    "model.g_width": 4096,
    "model.d_width": 4096,
    "model.g_depth": 16,
    "model.d_depth": 16,
    "data.count": 1_000_000,
    "data.image_size": 256,
    "data.channels": 64,
    "eval.samples": 100_000,
}
MAX_SAMPLE_STEPS = 200  # grids a run started here may draw


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, counted without parsing it (so a
    body nested thousands deep never reaches a recursive parser)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def check_run_limits(cfg: Any, what: str) -> None:
    """A UserError naming the first number of ``cfg`` (a RunConfig) beyond :data:`RUN_LIMITS`;
    ``what`` says whose config it is ("the request", "run X")."""
    data = cfg.to_dict()
    for key, largest in RUN_LIMITS.items():
        section, field = key.split(".")
        value = data[section][field]
        if value is not None and value > largest:
            raise UserError(f"{what} sets {key}={value}: the web lab starts runs with {key} up to {largest:,} "
                            "(the command line allows more)")
    if len(cfg.train.sample_steps) > MAX_SAMPLE_STEPS:
        raise UserError(f"{what} lists {len(cfg.train.sample_steps)} train.sample_steps: the web lab draws at most "
                        f"{MAX_SAMPLE_STEPS} grids per run")


def default_max_trainings() -> int:
    """The trainings a server runs at once unless told otherwise: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
