"""Units from outside gankit: a loss, a prior, a data source and a study measure, each one unit
plus one registry entry in a user's module, used end to end (config validation, training, the
logged curves' units, measuring the run). The loss derives a quantity of its own, which every
chart, table and picker shows with no other file touched: the report page, the loss table, the
web lab's units and the toy lab's loss picker and rows."""

import math
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import gankit
from gankit.errors import UserError
from gankit.registry import LOSSES, MEASURES, PRIORS, QUANTITIES, SOURCES
from gankit.rundir import RunDir

OWN_UNITS = textwrap.dedent('''
    """A user's own GAN units, registered as gankit's docs describe."""
    import math
    import torch
    import torch.nn.functional as F

    from gankit.data import Source
    from gankit.data.sampleset import SampleSet
    from gankit.losses import DiscriminatorTerms
    from gankit.priors import Parameter, PriorFamily
    from gankit.quantities import Quantity
    from gankit.registry import LOSSES, MEASURES, PRIORS, SOURCES


    class SquaredHinge:
        """Hinge loss with squared margins (a critic: raw scores)."""
        name = "squared-hinge"
        outputs_are_logits = False
        unit = "squared margin"
        saturating = False
        quantities = (Quantity("margin_gap", "squared-margin gap", "squared margin", chart="losses",
                               short="margin gap", table=True, derived=True),)

        def derived(self, record):
            return {"margin_gap": round(record["d_fake"] - record["d_real"], 6)}

        def d_terms(self, real_out, fake_out):
            real, fake = F.relu(1 - real_out).pow(2).mean(), F.relu(1 + fake_out).pow(2).mean()
            return DiscriminatorTerms(real, fake, real + fake)

        def g_loss(self, fake_out):
            return -fake_out.mean()


    def spiral(cfg):
        """Points on a two-armed spiral, labelled by arm."""
        generator = torch.Generator().manual_seed(7)
        t = torch.rand(cfg.count, generator=generator) * 3 * math.pi
        arm = torch.arange(cfg.count) % 2
        sign = 1 - 2 * arm.float()
        points = torch.stack([t.cos() * t, t.sin() * t], 1) * sign[:, None] / (3 * math.pi)
        return SampleSet(samples=points, labels=arm, num_classes=2, description="a two-armed spiral")


    def last_g_loss(measurer, view):
        """G's loss at the run's last logged step."""
        rows = [r for r in view.records if "g_loss" in r]
        return {"last_g_loss": rows[-1]["g_loss"] if rows else None}


    LOSSES.register("squared-hinge", SquaredHinge)
    PRIORS.register("laplace", PriorFamily(
        (Parameter("mu", None), Parameter("b", None, 0.05, 10.0, 0.05)),
        draw=lambda out, p, generator: out.exponential_(1.0, generator=generator).mul_(
            torch.randint(0, 2, out.shape, generator=generator, device=out.device).mul(2).sub(1)).mul_(p[1]).add_(p[0]),
        mean=lambda p: p[0], std=lambda p: math.sqrt(2) * p[1],
        problem=lambda p: "needs b > 0" if p[1] <= 0 else None))
    SOURCES.register("spiral", Source(spiral, "points", 2))
    MEASURES.register("last_g_loss", last_g_loss)
''')


@pytest.fixture
def own_units(tmp_path, monkeypatch):
    """The user's module, imported (which registers its units); unregistered afterwards."""
    (tmp_path / "ownunits.py").write_text(OWN_UNITS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import ownunits  # noqa: F401

    yield
    for registry, name in ((LOSSES, "squared-hinge"), (QUANTITIES, "margin_gap"), (PRIORS, "laplace"),
                           (SOURCES, "spiral"), (MEASURES, "last_g_loss")):
        registry.unregister(name)
    sys.modules.pop("ownunits", None)


def test_a_misspelt_unit_is_refused_with_the_registered_one_suggested(own_units):
    with pytest.raises(UserError, match=r"did you mean squared-hinge"):
        gankit.train("ring8", {"train.loss": "squared-hinj"}, runs_dir="unused")
    with pytest.raises(UserError, match=r"did you mean spiral"):
        gankit.train("ring8", {"data.source": "spirl"}, runs_dir="unused")
    with pytest.raises(UserError, match=r"laplace\(mu,b\) needs b > 0"):
        gankit.train("ring8", {"train.prior": "laplace(0,-1)"}, runs_dir="unused")


def test_own_loss_prior_and_source_train_and_measure_end_to_end(own_units, tmp_path):
    from gankit.quantities import unit_of
    from gankit.studies.measures import Measurer, RunView

    run = gankit.train("ring8", {"data.source": "spiral", "data.count": 512, "train.loss": "squared-hinge",
                                 "train.prior": "laplace(0,1)", "train.steps": 30, "train.batch_size": 64,
                                 "train.log_every": 10, "train.sample_steps": [], "train.ema": None,
                                 "model.g_width": 32, "model.d_width": 32, "model.pack": 1},
                       runs_dir=tmp_path / "runs", progress=False, say=lambda text: None)
    assert (run.step, run.status) == (30, "finished")
    cfg = run.config
    assert (cfg.data.source, cfg.train.loss, cfg.train.prior) == ("spiral", "squared-hinge", "laplace(0,1)")
    rows = [r for r in RunDir(run.dir).records() if "d_real" in r]
    assert [r["step"] for r in rows] == [0, 10, 20, 30]
    assert all(math.isfinite(r["d_real"]) and r["d_real"] >= 0 for r in rows)  # squared margins
    assert unit_of("d_real", "squared-hinge") == "squared margin"
    samples = run.sample(200, seed=0)
    assert samples.shape == (200, 2) and torch.isfinite(samples).all()
    values = Measurer().measure(["last_g_loss"], RunView(run.dir))
    assert values["last_g_loss"] == pytest.approx(rows[-1]["g_loss"])

    # the loss's own quantity: logged, in the loss table, on the report's losses chart and its table
    assert all(r["margin_gap"] == pytest.approx(r["d_fake"] - r["d_real"], abs=2e-6) for r in rows)
    assert "margin gap" in (run.dir / "loss_table.md").read_text().splitlines()[0]
    page = gankit.report([run.dir], tmp_path / "report.html").read_text()
    assert "Losses and the squared-margin gap" in page
    assert "margin gap" in page.split("Losses at the grid steps")[1]


def test_own_loss_and_its_quantity_reach_the_web_lab_and_the_toy(own_units):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from gankit.web.server import create_app
    from gankit.web.toylab import DEFAULTS, ToyLab

    app = create_app(Path("unused-runs"), Path("unused-studies"), token="t" * 32)
    with TestClient(app, headers={"Authorization": "Bearer " + "t" * 32}) as client:
        units = client.get("/api/units").json()
    assert units["losses"]["squared-hinge"]["quantities"] == ["margin_gap"]
    assert units["losses"]["squared-hinge"]["unit"] == "squared margin"
    assert units["quantities"]["margin_gap"]["chart"] == "losses" and units["quantities"]["margin_gap"]["derived"]
    assert [c["name"] for c in units["charts"]][0] == "losses"
    # the toy's loss picker is built from those units (no loss written into the page), and the toy
    # trains with the loss and sends its quantity to the page's losses chart
    toy_page = (Path(gankit.__file__).parent / "web" / "static" / "toy.html").read_text()
    assert "<option" not in toy_page.split('id="loss"')[1].split("</select>")[0]
    toy = ToyLab({**DEFAULTS, "loss": "squared-hinge"})
    toy.step(2)
    row = toy.state()["losses"][-1]
    assert row["margin_gap"] == pytest.approx(row["d_fake"] - row["d_real"], abs=2e-6)
