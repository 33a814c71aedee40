"""Divergence stops a run with the last finite checkpoint kept; the classic failure modes are
named as they begin; metrics.jsonl stays strict JSON."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gankit.rundir import RunDir
from gankit.engine.health import HealthMonitor, nonfinite
from gankit.engine.gan import batch_spread
from gankit.engine import fit, new_run
from gankit.track import MetricsLog, read_metrics

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

TINY = ["model.g_width=16", "model.d_width=8", "train.batch_size=32", "train.sample_steps=[0]",
        "speed.precision=fp32"]


def strict_rows(run) -> list[dict]:
    """metrics.jsonl parsed by a strict reader: NaN or Infinity tokens are errors."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return [json.loads(line, parse_constant=refuse) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_batch_spread_against_known_answers():
    real = torch.randn(64, 3, 8, 8)
    assert batch_spread(real, real).item() == pytest.approx(1.0)
    assert batch_spread(real[:1].expand(64, -1, -1, -1), real).item() == pytest.approx(0.0, abs=1e-6)
    doubled = 2 * (real - real.mean(0)) + real.mean(0)
    assert batch_spread(doubled, real).item() == pytest.approx(2.0, rel=1e-5)


def rows(steps, **columns):
    """Logged rows at ``steps``, each column a function of the step."""
    return [{"step": s, **{k: f(s) for k, f in columns.items()}} for s in steps]


def events_of(monitor: HealthMonitor, records: list[dict]) -> list[tuple[int, str]]:
    return [(r["step"], e.kind) for r in records for e in monitor.check(r["step"], r)]


def test_d_has_won_only_after_a_long_stretch_past_the_warm_up_and_only_for_probabilities():
    # D(G(z)) 0.3, then 0.02 from step 300 to 500, then 0.3 again, then 0.02 from step 700
    d_g_z = lambda s: 0.02 if 300 <= s < 500 or s >= 700 else 0.3  # noqa: E731
    records = rows(range(0, 1001, 10), d_g_z=d_g_z, d_loss=lambda s: 0.5, g_loss=lambda s: 3.0)
    found = events_of(HealthMonitor(probabilities=True, steps=1000, loss="minimax"), records)
    assert found == [(350, "d_won"), (750, "d_won")]  # 5% of 1,000 steps and 3 logs, once per stretch
    assert events_of(HealthMonitor(probabilities=False, steps=1000, loss="minimax"), records) == []
    short = rows(range(0, 1001, 10), d_g_z=lambda s: 0.02 if 300 <= s < 330 else 0.3)
    assert events_of(HealthMonitor(probabilities=True, steps=1000, loss="minimax"), short) == []


def test_with_the_non_saturating_loss_only_a_d_that_wins_outright_for_long_counts():
    """G keeps learning against a confident D: D(G(z)) about 0.05 for hundreds of steps is a
    normal DCGAN; under 0.01 for a fifth of the steps is not."""
    confident = rows(range(0, 1001, 10), d_g_z=lambda s: 0.04)
    for loss in ("bce", "non-saturating"):
        assert events_of(HealthMonitor(probabilities=True, steps=1000, loss=loss), confident) == []
    won = rows(range(0, 1001, 10), d_g_z=lambda s: 0.004 if s >= 300 else 0.3)
    assert events_of(HealthMonitor(probabilities=True, steps=1000, loss="bce"), won) == [(500, "d_won")]


def test_a_strong_d_early_on_is_no_warning():
    """A DCGAN's D leads by far at first (D(G(z)) near 0.01) while G learns: not D winning, as
    long as it ends within the warm-up (5% of the steps or 200, whichever is later)."""
    early = rows(range(0, 501, 10), d_g_z=lambda s: 0.005 if s < 200 else 0.3)
    for loss in ("minimax", "bce"):
        assert events_of(HealthMonitor(probabilities=True, steps=500, loss=loss), early) == []
    lasting = rows(range(0, 501, 10), d_g_z=lambda s: 0.005)
    assert events_of(HealthMonitor(probabilities=True, steps=500, loss="minimax"), lasting) == [(230, "d_won")]


@pytest.mark.parametrize("loss, advice, not_advised", [
    ("minimax", "train.loss=non-saturating", "spectral_norm"),
    ("non-saturating", "optim.d.lr", "train.loss=non-saturating"),
    ("bce", "optim.d.lr", "train.loss=non-saturating"),
])
def test_the_d_won_advice_fits_the_loss(loss, advice, not_advised):
    records = rows(range(0, 1001, 10), d_g_z=lambda s: 0.005)
    monitor = HealthMonitor(probabilities=True, steps=1000, loss=loss)
    (event,) = [e for r in records for e in monitor.check(r["step"], r)]
    assert event.kind == "d_won" and advice in event.message and not_advised not in event.message


def test_exploding_losses_and_weights():
    records = rows(range(0, 101, 10), d_loss=lambda s: 1.4, g_loss=lambda s: 0.69 if s < 50 else 3e5,
                   g_weight_norm=lambda s: 18.0, d_weight_norm=lambda s: 6.0 if s < 80 else 1e6)
    found = events_of(HealthMonitor(probabilities=True, steps=100), records)
    assert found == [(50, "exploding")]  # reported once while it lasts
    message = HealthMonitor(probabilities=True, steps=100)
    message.check(0, records[0])
    (event,) = message.check(50, records[5])
    assert "g_loss = 3e+05" in event.message and "learning rate" in event.message


def test_collapse_from_the_fake_batch_or_the_evaluated_diversity():
    spread = lambda s: 0.9 if s < 400 else 0.1  # noqa: E731
    records = rows(range(0, 1001, 50), fake_spread=spread)
    assert events_of(HealthMonitor(probabilities=True, steps=1000), records) == [(500, "collapse")]
    early = rows(range(0, 1001, 50), fake_spread=lambda s: 0.05 if s < 200 else 0.9)  # an untrained G
    assert events_of(HealthMonitor(probabilities=True, steps=1000), early) == []
    evaluated = rows(range(0, 1001, 50), fake_spread=lambda s: 0.9)
    for record in evaluated:
        if record["step"] % 250 == 0 and record["step"] >= 250:
            record["eval_diversity"] = 0.8 if record["step"] == 250 else 0.3
    assert events_of(HealthMonitor(probabilities=True, steps=1000), evaluated) == [(500, "collapse")]
    monitor = HealthMonitor(probabilities=True, steps=1000)
    (event,) = [e for r in evaluated for e in monitor.check(r["step"], r)]
    assert "fell to 0.30 of the data's (it was 0.80 at step 250)" in event.message


def test_an_early_generator_gaining_variety_is_no_collapse():
    """A DCGAN's first samples are blurry and alike (diversity 0.25 of the data's), then vary
    more as it learns: diversity that rises is no collapse, however low it starts."""
    learning = rows(range(0, 1001, 50), fake_spread=lambda s: 0.9)
    for record, diversity in zip(learning[4::5], (0.25, 0.45, 0.65, 0.85)):
        record["eval_diversity"] = diversity
    assert events_of(HealthMonitor(probabilities=True, steps=1000), learning) == []


def test_noise_settling_to_the_data_variety_is_no_collapse():
    """A G trained at a high rate first draws noise (a batch spread twice the real one's or more) that
    settles to the data's: variety past the data's is not variety lost. Falling well under the
    data's still is."""
    settling = rows(range(0, 1001, 50), fake_spread=lambda s: 2.4 if s < 400 else 0.99)
    assert events_of(HealthMonitor(probabilities=True, steps=1000), settling) == []
    collapsing = rows(range(0, 1001, 50), fake_spread=lambda s: 2.4 if s < 400 else 0.4)
    assert events_of(HealthMonitor(probabilities=True, steps=1000), collapsing) == [(500, "collapse")]
    noisy = rows(range(0, 1001, 50), fake_spread=lambda s: 0.9)
    for record in noisy:
        if record["step"] % 250 == 0 and record["step"] >= 250:
            record["eval_diversity"] = 2.4 if record["step"] == 250 else 0.95
    assert events_of(HealthMonitor(probabilities=True, steps=1000), noisy) == []


def test_nonfinite_names_what_broke():
    assert nonfinite({"d_loss": 0.5, "g_loss": math.nan, "g_weight_norm": math.inf, "step": 3}) == [
        "g_loss", "g_weight_norm"]


def test_metrics_are_strict_json(tmp_path):
    log = MetricsLog(tmp_path)
    log.append({"step": 1, "d_loss": math.nan, "g_loss": math.inf, "nested": {"x": -math.inf}, "ok": 0.5})
    log.close()
    (row,) = strict_rows(tmp_path)
    assert row == {"step": 1, "d_loss": None, "g_loss": None, "nested": {"x": None}, "ok": 0.5}
    assert read_metrics(tmp_path) == [row]


def test_a_diverging_run_stops_and_keeps_its_last_finite_checkpoint(gankit, tmp_path):
    code, _, err = gankit("train", *TINY, "train.steps=20", "train.checkpoint_every=10", "--runs-dir",
                          str(tmp_path), "--name", "run", "--no-progress")
    assert code == 0, err
    run = tmp_path / "run"
    checkpoint, generator = (run / "checkpoints" / "last.pt").read_bytes(), (run / "generator.safetensors").read_bytes()
    code, _, err = gankit("train", "--resume", str(run), "train.steps=60", "train.log_every=5",
                          "optim.g.lr=1e30", "optim.d.lr=1e30", "--no-progress")
    assert code == 4, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("gankit: error: training diverged at step 25:") and "G's weights" in line
    assert "the last finite checkpoint (step 20) is kept" in line
    assert (run / "checkpoints" / "last.pt").read_bytes() == checkpoint
    assert (run / "generator.safetensors").read_bytes() == generator
    last = strict_rows(run)[-1]
    assert last["step"] == 25 and last["g_weight_norm"] is None and last["events"][0]["kind"] == "diverged"
    assert not (run / "samples" / "step_000060.png").exists()
    # resumed with sane rates, it trains on from the finite checkpoint
    code, _, err = gankit("train", "--resume", str(run), "train.steps=30", "optim.g.lr=2e-4", "optim.d.lr=2e-4",
                          "--no-progress")
    assert code == 0, err
    logged = strict_rows(run)
    assert [r["step"] for r in logged].count(25) == 1 and logged[-1]["step"] == 30  # the broken row is gone
    assert all(r["d_loss"] is not None and "events" not in r for r in logged)


def test_sgd_that_becomes_nan_before_any_checkpoint(gankit, tmp_path):
    code, _, err = gankit("train", *TINY, "train.steps=300", "optim.g.name=sgd", "optim.d.name=sgd",
                          "optim.g.lr=1e6", "optim.d.lr=1e6", "train.log_every=5", "--runs-dir", str(tmp_path),
                          "--name", "run", "--no-progress")
    assert code == 4 and "no checkpoint had been written yet" in err and "NaN" in err
    run = tmp_path / "run"
    assert not (run / "checkpoints" / "last.pt").exists() and not (run / "generator.safetensors").exists()
    assert strict_rows(run)[-1]["d_loss"] is None


def test_warnings_are_events_in_metrics_and_tensorboard(gankit, tmp_path):
    code, _, err = gankit("train", *TINY, "train.steps=40", "optim.g.lr=1e6", "optim.d.lr=1e6",
                          "train.log_every=5", "--runs-dir", str(tmp_path), "--name", "run", "--no-progress")
    assert code == 0, err
    assert "gankit: warning: step" in err and "exploding" in err
    events = [e for r in strict_rows(tmp_path / "run") for e in r.get("events", [])]
    assert "exploding" in {e["kind"] for e in events}
    board = EventAccumulator(str(tmp_path / "run"))
    board.Reload()
    assert "health/exploding/text_summary" in board.Tags()["tensors"]


def test_keep_checkpoints_keeps_the_newest_k(tmp_path):
    session = new_run(None, [*TINY, "train.steps=50", "train.checkpoint_every=10", "train.keep_checkpoints=3"],
                      runs_root=tmp_path)
    fit(session, show_progress=False)
    kept = RunDir(session.run_dir).kept_checkpoints()
    assert [p.name for p in kept] == ["step_000030.pt", "step_000040.pt", "step_000050.pt"]
    assert os.path.samefile(kept[-1], session.run_dir / "checkpoints" / "last.pt")
    older = torch.load(kept[0], weights_only=True)
    assert older["step"] == 30
