"""Inception metrics (FID, KID, IS, precision/recall) through torch-fidelity.

gankit never lets torch-fidelity download the Inception-v3 weights: name a local copy
(``--inception-weights`` / ``eval.inception_weights``). The file is opened and read once, loaded
from those bytes with ``torch.load(weights_only=True)`` and checked to be exactly the state dict of
torch-fidelity's Inception-v3 (every key, shape and kind of dtype). torch-fidelity never sees the
path: it builds its feature extractor through a class registered here, which takes the checked
state dict from memory, so no one who can swap the file between two reads gets a pickle run.
Precision/recall use the same Inception features (the 2048-d pool), not torch-fidelity's default
VGG16, whose weights gankit does not take.
"""

from __future__ import annotations

import errno
import functools
import io
import os
import stat
from pathlib import Path
from typing import Optional

import torch

from gankit.errors import UserError, cause

WEIGHTS_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
               "weights-inception-2015-12-05-6726825d.pth")
HOW_TO_GET = (f"download {WEIGHTS_URL} once (on a machine with internet) and pass its path with "
              "--inception-weights PATH (config: eval.inception_weights)")
WEIGHTS_LIMIT = 256 << 20  # bytes: the published file is 91 MiB
EXTRACTOR = "gankit-inception-v3"  # the name gankit's extractor is registered under with torch-fidelity
STATE_DICT_KWARG = "gankit_inception_state_dict"  # how calculate_metrics hands it the checked weights


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


class _LayersBuilt(Exception):
    """Stops torch-fidelity's extractor constructor once every layer exists, before it loads weights."""


@functools.cache
def extractor_class() -> type:
    """torch-fidelity's Inception-v3 feature extractor with its weights given as a state dict in
    memory, registered with torch-fidelity as ``EXTRACTOR`` (once per process)."""
    import torch_fidelity
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class CheckedInceptionV3(FeatureExtractorInceptionV3):
        """FeatureExtractorInceptionV3 whose weights are the ``gankit_inception_state_dict`` argument
        (from check_weights; without it, only the layers as torch initialises them). It reads no file
        and downloads nothing."""

        def __init__(self, name: str, features_list: list[str], **kwargs):
            state_dict = kwargs.pop(STATE_DICT_KWARG, None)
            # torch-fidelity 0.3-0.4 builds every layer, self.fc last, then loads the weights with
            # torch.load(feature_extractor_weights_path, weights_only=False) or from its URL;
            # __setattr__ stops it at self.fc. Were a later version to load elsewhere, it would fail
            # on this empty buffer instead of reading a file or downloading.
            kwargs["feature_extractor_weights_path"] = io.BytesIO()
            try:
                super().__init__(name, features_list, **kwargs)
            except _LayersBuilt:
                pass
            if state_dict is not None:
                self.load_state_dict(state_dict)
            self.to(getattr(self, "feature_extractor_internal_dtype", torch.float32))  # 0.3 has none
            self.requires_grad_(False)
            self.eval()

        def __setattr__(self, name: str, value) -> None:
            first_fc = name == "fc" and "fc" not in self.__dict__.get("_modules", {})
            super().__setattr__(name, value)
            if first_fc:
                raise _LayersBuilt

    torch_fidelity.register_feature_extractor(EXTRACTOR, CheckedInceptionV3)
    return CheckedInceptionV3


@functools.cache
def _expected() -> dict[str, torch.Tensor]:
    """The extractor's state dict on the meta device: its keys, shapes and dtypes, no data."""
    with torch.device("meta"):
        return extractor_class()(EXTRACTOR, ["2048"]).state_dict()


def _describe(tensor: torch.Tensor) -> str:
    kind = "floating" if tensor.is_floating_point() else str(tensor.dtype).removeprefix("torch.")
    return f"{kind} {list(tensor.shape)}"


def _some(keys: list[str]) -> str:
    return ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")


def _mismatch(state: object) -> Optional[str]:
    """What keeps ``state`` from being the extractor's state dict, in words; None if nothing does."""
    if not isinstance(state, dict) or not all(isinstance(key, str) and isinstance(value, torch.Tensor)
                                              for key, value in state.items()):
        return "not a dict of named tensors"
    expected = _expected()
    # BatchNorm fills in its step counter when it is absent, and the published file has none.
    missing = [key for key in expected if key not in state and not key.endswith(".num_batches_tracked")]
    unexpected = [key for key in state if key not in expected]
    wrong = [f"{key} is {_describe(value)} where {_describe(expected[key])} is expected"
             for key, value in state.items() if key in expected and _describe(value) != _describe(expected[key])]
    problems = [f"{len(missing)} keys missing: {_some(missing)}"] if missing else []
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_some(unexpected)}")
    return "; ".join(problems + wrong[:3]) or None


def _read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, opened once: a regular file of at most WEIGHTS_LIMIT bytes (a FIFO,
    a device or a huge file is an OSError, never a read that blocks or fills the memory)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if status.st_size > WEIGHTS_LIMIT:
            raise OSError(errno.EFBIG, f"larger than {WEIGHTS_LIMIT >> 20} MiB")
        return file.read(WEIGHTS_LIMIT + 1)


def check_weights(path: Optional[str]) -> dict[str, torch.Tensor]:
    """The Inception-v3 state dict at ``path``: the file read once, loaded from those bytes with
    ``torch.load(weights_only=True)`` and checked to hold exactly the keys, shapes and kinds of dtype
    of torch-fidelity's extractor. Anything else is a UserError saying how to get the right file."""
    if not path:
        raise UserError(f"Inception metrics need the Inception-v3 weights and gankit does not download "
                        f"them during evaluation: {HOW_TO_GET}")
    weights = Path(path).expanduser()
    try:
        data = _read_regular_file(weights)
    except FileNotFoundError:
        raise UserError(f"Inception weights not found at {weights}: {HOW_TO_GET}") from None
    except OSError as err:
        raise UserError(f"cannot read the Inception weights {weights}: {cause(err)}: {HOW_TO_GET}") from None
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"{weights} is not a readable weights file ({type(err).__name__}): {HOW_TO_GET}") from None
    problem = _mismatch(state)
    if problem:
        raise UserError(f"{weights} is not the Inception-v3 state dict torch-fidelity expects ({problem}): "
                        f"{HOW_TO_GET}")
    return state


def inception_metrics(fake: torch.Tensor, real: torch.Tensor, weights_path: Optional[str]) -> dict[str, float]:
    """FID, KID (mean), IS (mean) and precision/recall of ``fake`` against ``real`` (images in [-1, 1]),
    on the features of the Inception-v3 weights at ``weights_path`` (read once, see check_weights)."""
    state_dict = check_weights(weights_path)
    extractor_class()  # registers EXTRACTOR
    import torch_fidelity

    try:
        result = torch_fidelity.calculate_metrics(
            input1=_Images(to_uint8_rgb(fake)), input2=_Images(to_uint8_rgb(real)), cuda=torch.cuda.is_available(),
            fid=True, kid=True, isc=True, prc=True, verbose=False, cache=False,
            kid_subset_size=min(1000, fake.shape[0], real.shape[0]),
            feature_extractor=EXTRACTOR, **{STATE_DICT_KWARG: state_dict})
    except RuntimeError as err:
        raise UserError(f"torch-fidelity could not compute the Inception metrics: "
                        f"{str(err).splitlines()[0][:200]}") from None
    return {"fid": result["frechet_inception_distance"], "kid": result["kernel_inception_distance_mean"],
            "is": result["inception_score_mean"], "precision": result["precision"], "recall": result["recall"]}
