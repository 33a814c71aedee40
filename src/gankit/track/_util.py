"""Small helpers shared by the tracking modules (number coercion)."""

from __future__ import annotations

import numbers


def as_float(value) -> float | None:
    """Return ``value`` as a Python float if it is a real number (int, float, numpy or 0-d tensor scalar).

    Booleans, strings, containers and anything else give ``None``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)
    shape = getattr(value, "shape", None)
    if callable(item) and shape is not None and len(tuple(shape)) == 0:
        try:
            out = item()
        except (TypeError, ValueError, RuntimeError):
            return None
        if isinstance(out, bool) or not isinstance(out, numbers.Real):
            return None
        return float(out)
    return None
