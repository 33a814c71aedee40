"""Inception metrics (FID, KID, IS, precision/recall) through torch-fidelity.

torch-fidelity downloads the Inception-v3 weights on first use; offline, name a local copy
(``--inception-weights`` / ``eval.inception_weights``). The file is checked with
``torch.load(weights_only=True)`` before torch-fidelity reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from gankit.errors import UserError

WEIGHTS_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
               "weights-inception-2015-12-05-6726825d.pth")
HOW_TO_GET = (f"download {WEIGHTS_URL} once (on a machine with internet) and pass its path with "
              "--inception-weights PATH (config: eval.inception_weights)")


class _Images(torch.utils.data.Dataset):
    """uint8 RGB images (N, 3, H, W) as torch-fidelity reads them."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def to_uint8_rgb(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (N, C, H, W) as uint8 RGB; grey is replicated."""
    pixels = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.repeat(1, 3, 1, 1) if pixels.shape[1] == 1 else pixels


def check_weights(path: Optional[str]) -> Path:
    """The weights file, checked to exist and to be a plain state dict; else a UserError saying
    how to obtain it."""
    if not path:
        raise UserError(f"Inception metrics need the Inception-v3 weights and gankit does not download "
                        f"them during evaluation: {HOW_TO_GET}")
    weights = Path(path).expanduser()
    if not weights.is_file():
        raise UserError(f"Inception weights not found at {weights}: {HOW_TO_GET}")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"{weights} is not a readable weights file ({type(err).__name__}): {HOW_TO_GET}") from None
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise UserError(f"{weights} is not the Inception-v3 state dict torch-fidelity expects: {HOW_TO_GET}")
    return weights


def inception_metrics(fake: torch.Tensor, real: torch.Tensor, weights_path: Optional[str]) -> dict[str, float]:
    """FID, KID (mean), IS (mean) and precision/recall of ``fake`` against ``real`` (images in [-1, 1])."""
    weights = check_weights(weights_path)
    import torch_fidelity

    try:
        result = torch_fidelity.calculate_metrics(
            input1=_Images(to_uint8_rgb(fake)), input2=_Images(to_uint8_rgb(real)), cuda=torch.cuda.is_available(),
            fid=True, kid=True, isc=True, prc=True, verbose=False, cache=False,
            kid_subset_size=min(1000, fake.shape[0], real.shape[0]),
            feature_extractor_weights_path=str(weights))
    except RuntimeError as err:
        raise UserError(f"torch-fidelity could not use {weights}: {str(err).splitlines()[0][:200]}") from None
    return {"fid": result["frechet_inception_distance"], "kid": result["kernel_inception_distance_mean"],
            "is": result["inception_score_mean"], "precision": result["precision"], "recall": result["recall"]}
