"""Networks from outside gankit: a Family named by import path, and ready-made G and D modules."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

import gankit

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

FAMILY_SOURCE = textwrap.dedent('''
    """A family defined outside gankit, as a user would write it."""
    import math
    from torch import nn
    import gankit

    BUILT = []

    class Core(nn.Module):
        def __init__(self, in_dim, shape):
            super().__init__()
            self.shape = shape
            self.net = nn.Sequential(nn.Linear(in_dim, 24), nn.ReLU(), nn.Linear(24, math.prod(shape)))

        def forward(self, z):
            return self.net(z).view(z.shape[0], *self.shape)

    def generator(in_dim, spec, cfg):
        BUILT.append(("G", in_dim, spec.shape))
        return Core(in_dim, spec.shape)

    def discriminator_body(in_shape, cfg):
        BUILT.append(("D", in_shape))
        return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), 24), nn.LeakyReLU(0.2)), 24

    Tiny = gankit.Family(("points",), generator, discriminator_body)
    NotAFamily = 3
''')

RING = ["train.steps=20", "train.log_every=10", "train.sample_steps=[]", "train.ema=null"]


@pytest.fixture
def own_package(tmp_path, monkeypatch):
    """A folder on sys.path (and PYTHONPATH, for subprocesses) with the module mynets."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "mynets.py").write_text(FAMILY_SOURCE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
    yield folder
    sys.modules.pop("mynets", None)


def test_a_family_by_import_path_trains_samples_evaluates_and_resumes(own_package, tmp_path, command):
    runs = tmp_path / "runs"
    code, out, err = command("train", "ring8", "model.arch=mynets:Tiny", "model.pack=2", *RING, "--name", "own",
                            "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    run_dir = runs / "own"
    import mynets

    assert ("D", (4,)) in mynets.BUILT  # D's body got two packed 2-D points, gankit added the head
    assert "arch: mynets:Tiny" in (run_dir / "config.yaml").read_text()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for argv in (["sample", str(run_dir), "--n", "7", "-o", str(tmp_path / "s.png"), "--npy", str(tmp_path / "s.npy")],
                 ["eval", str(run_dir), "--samples", "100"],
                 ["train", "--resume", str(run_dir), "train.steps=30", "--no-progress"],
                 ["report", str(run_dir)]):
        done = subprocess.run([sys.executable, "-m", "gankit", *argv], capture_output=True, text=True, env=env)
        assert done.returncode == 0, (argv, done.stderr)
    assert np.load(tmp_path / "s.npy").shape == (7, 2)
    assert gankit.load(run_dir).step == 30


@pytest.mark.parametrize("arch, message", [
    ("nomodule_xyz:Tiny", "model.arch=nomodule_xyz:Tiny: no module named 'nomodule_xyz' can be imported"),
    ("mynets:Missing", "model.arch=mynets:Missing: module 'mynets' has no 'Missing'"),
    ("mynets:NotAFamily", "model.arch=mynets:NotAFamily: 'NotAFamily' is a int, not a gankit.Family"),
    ("mynets", "config key 'model.arch': 'mynets' is neither a registered family"),
])
def test_a_family_that_cannot_be_had_is_one_line_and_writes_nothing(own_package, tmp_path, command, arch, message):
    code, out, err = command("train", "ring8", f"model.arch={arch}", *RING, "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "runs").exists()


class PointG(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, z):
        return self.net(z)


class PointD(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))

    def forward(self, x):
        return self.net(x)


def test_ready_made_modules_train_in_place_and_sample_through_load(tmp_path, command):
    g, d = PointG(), PointD()
    before = [p.detach().clone() for p in g.parameters()]
    run = gankit.train("ring8", [*RING, "model.pack=1"], runs_dir=tmp_path / "runs", name="modules", generator=g, discriminator=d,
                       progress=False)
    assert run.config.model.arch == "modules" and run.step == 20
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters()))  # the user's G itself trained
    code, _, err = command("sample", str(run.dir), "-o", str(tmp_path / "x.png"))
    last = err.splitlines()[-1]  # the lines before it are the API's training messages
    assert code == 2 and last.startswith("gankit: error: this run was trained on ready-made modules"), err
    with torch.no_grad():
        z = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
        expected = g.eval()(z)
    assert torch.allclose(gankit.load(run.dir, generator=PointG()).sample(5, seed=0), expected)
    resumed = gankit.train(resume=run.dir, overrides=["train.steps=30"], generator=PointG(), discriminator=PointD(),
                           progress=False)
    assert resumed.step == 30


def test_ready_made_modules_must_come_in_pairs_and_unconditional(tmp_path):
    with pytest.raises(gankit.GankitError, match="both generator= and discriminator="):
        gankit.train("ring8", RING, runs_dir=tmp_path, generator=PointG())
    with pytest.raises(gankit.GankitError, match="unconditional and unpacked: set model.pack=1 "):
        gankit.train("ring8", RING, runs_dir=tmp_path, generator=PointG(), discriminator=PointD())
    assert not any(tmp_path.iterdir())
