"""SampleSpec: what one training sample looks like, the contract between data, nets and views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

Kind = Literal["images", "sequences", "points"]


@dataclass(frozen=True)
class SampleSpec:
    """The kind and shape of one sample, and the number of classes of its labels.

    ``shape`` is (C, H, W) for images, (C, L) for sequences and (D,) for points;
    ``num_classes`` is None for unlabelled data.
    """

    kind: Kind
    shape: tuple[int, ...]
    num_classes: Optional[int] = None

    @property
    def bounded(self) -> bool:
        """Whether samples live in [-1, 1] (G ends in tanh); points are unbounded."""
        return self.kind != "points"

    @property
    def channels(self) -> int:
        """Channels of an image or a sequence; coordinates of a point."""
        return self.shape[0]
