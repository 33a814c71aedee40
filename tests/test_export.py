"""`gankit export`: the ONNX and TorchScript files reproduce `gankit sample` for the same noise
(the weight average by default, the trained G with --raw), for any batch size, and a failed
export never leaves a half file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from gankit.config import load_run_config
from gankit.engine import fit, new_run
from gankit.errors import UserError
from gankit.export import METADATA_FILE, export_generator_file
from gankit.priors import parse_prior
from gankit.sampling import load_generator, sample, sample_inputs

pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning"), pytest.mark.slow]

TINY = ["train.steps=20", "train.batch_size=32", "train.sample_steps=[0]", "train.log_every=10",
        "train.checkpoint_every=1000", "speed.precision=fp32"]
RUNS = {
    # points from an MLP G, unconditional, no weight average
    "ring8": ("ring8", ["model.g_width=32", "model.g_depth=2", "model.d_width=16", "model.maxout_pieces=0",
                        "train.ema=null", "train.sample_count=64"]),
    # images from a DCGAN G, conditional on the digit, with a weight average
    "digits-cond-ema": (None, ["model.g_width=16", "model.d_width=8", "model.conditional=concat", "train.ema=0.9"]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    made = {}
    for name, (preset, overrides) in RUNS.items():
        made[name] = fit(new_run(preset, [*TINY, *overrides], name=name, runs_root=root), show_progress=False)
    return made


def inputs_of(run_dir, n, seed, raw=False):
    """The z and labels `gankit sample RUN --n n --seed seed` feeds its generator."""
    cfg = load_run_config(run_dir)
    classes = load_generator(run_dir, cfg, raw=raw).num_classes
    return sample_inputs(parse_prior(cfg.train.prior), n, cfg.model.z_dim, classes, seed=seed, run_dir=run_dir)


def run_exported(fmt, path, z, labels):
    if fmt == "onnx":
        ort = pytest.importorskip("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feeds = {"z": z.numpy()}
        if labels is not None:
            feeds["labels"] = labels.numpy()
        return torch.from_numpy(session.run(["samples"], feeds)[0])
    module = torch.jit.load(str(path))
    with torch.no_grad():
        return module(z) if labels is None else module(z, labels)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("name", list(RUNS))
def test_the_exported_generator_reproduces_sample(runs, name, fmt, tmp_path):
    run_dir = runs[name]
    out = export_generator_file(run_dir, fmt, tmp_path / f"g.{fmt}")
    assert out == tmp_path / f"g.{fmt}" and out.is_file()
    for n, seed in ((12, 3), (1, 7)):  # a batch size other than the traced one, and 1
        expected, labels = sample(run_dir, n, seed=seed)
        z, their_labels = inputs_of(run_dir, n, seed)
        assert (labels is None) == (their_labels is None) == (name == "ring8")
        if labels is not None:
            assert torch.equal(labels, their_labels) and labels.dtype == torch.int64
        got = run_exported(fmt, out, z, their_labels)
        assert got.dtype == torch.float32 and got.shape == expected.shape
        assert torch.allclose(got, expected, atol=1e-4, rtol=0), (got - expected).abs().max()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_raw_exports_the_trained_g_not_its_average(runs, fmt, tmp_path):
    run_dir = runs["digits-cond-ema"]
    average = export_generator_file(run_dir, fmt, tmp_path / f"ema.{fmt}")
    trained = export_generator_file(run_dir, fmt, tmp_path / f"raw.{fmt}", raw=True)
    z, labels = inputs_of(run_dir, 10, 0)
    want_raw, _ = sample(run_dir, 10, seed=0, raw=True)
    want_ema, _ = sample(run_dir, 10, seed=0)
    assert not torch.allclose(want_raw, want_ema, atol=1e-3)  # the two really differ
    assert torch.allclose(run_exported(fmt, trained, z, labels), want_raw, atol=1e-4, rtol=0)
    assert torch.allclose(run_exported(fmt, average, z, labels), want_ema, atol=1e-4, rtol=0)


def test_the_files_say_how_to_feed_them(runs, tmp_path):
    onnx = pytest.importorskip("onnx")
    run_dir = runs["digits-cond-ema"]
    model = onnx.load(str(export_generator_file(run_dir, "onnx", tmp_path / "g.onnx")))
    assert [i.name for i in model.graph.input] == ["z", "labels"]
    assert [o.name for o in model.graph.output] == ["samples"]
    assert model.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT64
    for value in (*model.graph.input, *model.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param  # a named, free batch dimension
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["gankit.z_dim"] == "100" and meta["gankit.num_classes"] == "10"
    assert meta["gankit.weights"] == "ema" and json.loads(meta["gankit.sample_shape"]) == [1, 16, 16]
    extra = {METADATA_FILE: ""}
    torch.jit.load(str(export_generator_file(run_dir, "torchscript", tmp_path / "g.pt", raw=True)),
                   _extra_files=extra)
    assert json.loads(extra[METADATA_FILE])["gankit.weights"] == "raw"


def test_a_failed_export_leaves_the_old_file_alone(runs, tmp_path, monkeypatch):
    out = tmp_path / "g.pt"
    out.write_bytes(b"the previous export")

    def broken(*args, **kwargs):
        raise RuntimeError("tracing failed\nwith a long story")

    monkeypatch.setattr(torch.jit, "trace", broken)
    with pytest.raises(UserError, match="cannot export the generator of .* as torchscript: RuntimeError: tracing failed$"):
        export_generator_file(runs["ring8"], "torchscript", out)
    assert out.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pt"]  # no temporary file left


def test_a_crash_halfway_through_the_write_leaves_the_old_file_alone(runs, tmp_path):
    out = tmp_path / "g.pt"
    out.write_bytes(b"the previous export")
    env = {**os.environ, "GANKIT_CRASH": "g.pt", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "gankit", "export", str(runs["ring8"]), "--format", "torchscript",
                           "-o", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr  # killed by SIGKILL halfway through the write
    assert out.read_bytes() == b"the previous export"


def test_the_command(runs, gankit, tmp_path):
    out = tmp_path / "sub" / "generator.pt"
    code, stdout, stderr = gankit("export", str(runs["ring8"]), "--format", "torchscript", "-o", str(out))
    assert (code, stdout.strip()) == (0, str(out)), stderr
    z, _ = inputs_of(runs["ring8"], 5, 0)
    assert torch.allclose(run_exported("torchscript", out, z, None), sample(runs["ring8"], 5)[0], atol=1e-4)

    code, stdout, stderr = gankit("export", str(runs["ring8"]), "--format", "tflite", "-o", str(tmp_path / "g"))
    assert code == 2 and stdout == "" and len(stderr.strip().splitlines()) == 1
    assert "'tflite' is not one of 'onnx', 'torchscript'" in stderr

    code, _, stderr = gankit("export", str(tmp_path / "nothing"), "--format", "onnx", "-o", str(tmp_path / "g.onnx"))
    assert code == 2 and stderr.strip() == f"gankit: error: no run directory at {tmp_path / 'nothing'}"

    code, _, stderr = gankit("export", str(runs["ring8"]), "--format", "onnx")
    assert code == 2 and "'-o' / '--out'" in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "g.onnx").exists() and not (tmp_path / "g").exists()


def test_onnx_without_its_packages_is_one_line(runs, gankit, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript now raises ImportError
    code, _, stderr = gankit("export", str(runs["ring8"]), "--format", "onnx", "-o", str(tmp_path / "g.onnx"))
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert "'onnxscript' package, which is not installed: pip install 'gankit[export]'" in stderr
    assert not (tmp_path / "g.onnx").exists()

