"""Exporting a run's generator for use outside gankit: as an ONNX model or a TorchScript module.

The generator is the one ``gankit sample`` uses (the weight average when the run has
train.ema; ``raw``: the trained G), in eval mode, on the CPU, in float32. Both files take the
latent codes ``z`` (N, z_dim) float32, and for conditional runs ``labels`` (N,) int64, and
return ``samples`` (N, *sample shape) in model units; N is free. The file is serialised in
memory and written atomically, so a failed export never leaves a half file or harms an old one.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch

from gankit.config import RunConfig, load_run_config
from gankit.errors import UserError
from gankit.fsutil import atomic_write_bytes
from gankit.rundir.run import weights_label

FORMATS = ("onnx", "torchscript")
EXAMPLE_BATCH = 2  # the batch traced with; 1 could be specialised into the graph
ONNX_INSTALL = "pip install 'gankit[export]'"
METADATA_FILE = "gankit.json"  # TorchScript: the extra file holding the metadata below


def export_generator_file(run_dir: Path, fmt: str, out: Path, *, raw: bool = False) -> Path:
    """Write the generator of the run in ``run_dir`` to ``out`` as ``fmt`` ("onnx" or
    "torchscript") and return ``out``.

    Inputs are named ``z`` (and ``labels``, int64, for conditional runs), the output
    ``samples``, with a free batch dimension. ``raw``: the trained G instead of its weight
    average (runs with train.ema). A bad format, a missing run or missing ONNX packages are
    one-line UserErrors; a generator that cannot be exported is one too.
    """
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    run_dir, out = Path(run_dir), Path(out)
    if not run_dir.is_dir():
        raise UserError(f"no run directory at {run_dir}")
    if fmt == "onnx":
        require_onnx()
    from gankit.priors import parse_prior
    from gankit.sampling import load_generator, sample_inputs

    cfg = load_run_config(run_dir)
    generator = load_generator(run_dir, cfg, raw=raw).to("cpu", torch.float32).eval()
    z, labels = sample_inputs(parse_prior(cfg.train.prior), EXAMPLE_BATCH, cfg.model.z_dim,
                              generator.num_classes, seed=0, run_dir=run_dir)
    inputs = (z,) if labels is None else (z, labels)
    metadata = export_metadata(run_dir, cfg, generator, raw)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporters' deprecation and renaming notices
            data = (_onnx_bytes if fmt == "onnx" else _torchscript_bytes)(generator, inputs, metadata)
    except UserError:
        raise
    except Exception as err:
        first = (str(err).strip().splitlines() or [""])[0]
        raise UserError(f"cannot export the generator of {run_dir} as {fmt}: {type(err).__name__}: {first}") from err
    atomic_write_bytes(out, data)
    return out


def require_onnx() -> None:
    """Raise a one-line UserError unless the packages ONNX export needs (onnx, onnxscript) import."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        missing = getattr(err, "name", None) or "onnx"
        raise UserError(f"--format onnx needs the '{missing}' package, which is not installed: {ONNX_INSTALL}") from None


def export_metadata(run_dir: Path, cfg: RunConfig, generator: torch.nn.Module, raw: bool) -> dict[str, str]:
    """What a user of the exported file needs to feed it: the prior to draw z from, z's size,
    the classes, the sample shape, and which weights these are (ema, raw or trained)."""
    from gankit.data import sample_spec

    spec = sample_spec(cfg.data)
    weights = weights_label(averaged=bool(cfg.train.ema) and not raw, has_average=bool(cfg.train.ema))
    return {"gankit.run": run_dir.resolve().name, "gankit.prior": cfg.train.prior,
            "gankit.z_dim": str(cfg.model.z_dim), "gankit.num_classes": str(generator.num_classes),
            "gankit.sample_kind": spec.kind, "gankit.sample_shape": json.dumps(list(spec.shape)),
            "gankit.weights": weights}


def _input_names(inputs: tuple[torch.Tensor, ...]) -> list[str]:
    return ["z", "labels"][:len(inputs)]


def _onnx_bytes(generator: torch.nn.Module, inputs: tuple[torch.Tensor, ...], metadata: dict[str, str]) -> bytes:
    """The ONNX model, from the torch.export-based exporter, with a dynamic batch dimension."""
    import onnx

    names = _input_names(inputs)
    batch = torch.export.Dim("batch")
    program = torch.onnx.export(generator, inputs, dynamo=True, verbose=False, input_names=names,
                                output_names=["samples"], dynamic_shapes={name: {0: batch} for name in names})
    model = program.model_proto
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _torchscript_bytes(generator: torch.nn.Module, inputs: tuple[torch.Tensor, ...],
                       metadata: dict[str, str]) -> bytes:
    """The traced generator, as torch.jit.save writes it (metadata in the extra file gankit.json)."""
    traced = torch.jit.trace(generator, inputs)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={METADATA_FILE: json.dumps(metadata)})
    return buffer.getvalue()
