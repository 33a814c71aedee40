"""Sequence metrics: the features' known answers, the Fréchet distance and MMD on real and spoiled
sines, MMD by hand, and `gankit eval` / `eval.every` on a sequence run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gankit.config import build_config
from gankit.data.sequences import DATA_SEED, HELD_OUT_SEED, held_out_sines, sines
from gankit.metrics.evaluate import Evaluator, format_table
from gankit.metrics.sequences import median_bandwidth, sequence_fd, sequence_features, sequence_mmd
from stand_ins import FixedSamples

TINY = ["train.steps=2", "train.log_every=1", "train.sample_steps=[0]", "train.batch_size=16"]
N = 2000


def sine(cycles: float, phase: float, amplitude: float = 0.8, length: int = 64) -> torch.Tensor:
    t = torch.arange(length, dtype=torch.float64) / length
    return amplitude * torch.sin(2 * math.pi * cycles * t + phase)


def random_sines(n: int, frequency: tuple[float, float], seed: int, length: int = 64) -> torch.Tensor:
    """Sines like data.source=sines, but of another frequency range: (n, 1, length)."""
    gen = torch.Generator().manual_seed(seed)
    shape = (n, 1, 1)
    cycles = frequency[0] + (frequency[1] - frequency[0]) * torch.rand(shape, generator=gen)
    phase = 2 * math.pi * torch.rand(shape, generator=gen)
    amplitude = 0.2 + 0.8 * torch.rand(shape, generator=gen)
    return amplitude * torch.sin(2 * math.pi * cycles * torch.arange(length) / length + phase)


@pytest.fixture(scope="module")
def real_and_held_out():
    cfg = build_config("conv1d-sines", [])
    return sines(cfg.data).samples[:N], held_out_sines(cfg.data, N).samples


def test_features_of_a_pure_sine_sit_at_its_bin_and_ignore_the_phase():
    x = torch.stack([sine(3, 0.3), sine(3, 2.0)])[:, None, :]
    features = sequence_features(x)
    assert features.dtype == torch.float64 and features.shape == (2, 64 // 2 + 4)
    spectrum, (mean, std, roughness) = features[:, :33], features[:, 33:].T.tolist()
    assert spectrum.argmax(1).tolist() == [3, 3]
    assert spectrum[:, 3] == pytest.approx(0.4)  # amplitude / 2 after dividing by the length
    assert spectrum.sum(1) - spectrum[:, 3] == pytest.approx(0, abs=1e-12)
    assert mean == pytest.approx([0, 0], abs=1e-12) and std == pytest.approx([0.8 / math.sqrt(2)] * 2)
    torch.testing.assert_close(features[0, :-1], features[1, :-1], rtol=0, atol=1e-12)
    # L - 1 differences, not a whole number of periods: the phase moves the roughness by ~1/L
    assert roughness[0] == pytest.approx(roughness[1], rel=2 / 64)
    mean_step = 0.8 * 2 * math.sin(math.pi * 3 / 64) * 2 / math.pi  # mean |x[t+1] - x[t]| over whole periods
    assert roughness == pytest.approx([mean_step] * 2, rel=2 / 64)


def test_features_of_several_channels_are_channel_major():
    x = torch.stack([sine(2, 0.0), sine(5, 1.0, amplitude=0.5)])[None]  # one sequence, two channels
    features = sequence_features(x)[0]
    assert features.shape == (2 * 36,)
    assert features[:33].argmax() == 2 and features[33:66].argmax() == 5
    assert features[66:68] == pytest.approx([0, 0], abs=1e-12)  # means
    assert features[68:70] == pytest.approx([0.8 / math.sqrt(2), 0.5 / math.sqrt(2)])  # stds


def test_frechet_distance_orders_held_out_noisy_and_other_frequencies(real_and_held_out):
    real, held_out = real_and_held_out
    assert sequence_fd(real, real) == pytest.approx(0, abs=1e-9)
    noise = torch.randn(held_out.shape, generator=torch.Generator().manual_seed(0))
    noisy = (held_out + 0.1 * noise).clamp(-1, 1)
    faster = random_sines(N, (4.0, 6.0), seed=3)
    distances = [sequence_fd(held_out, real), sequence_fd(noisy, real), sequence_fd(faster, real)]
    assert distances == sorted(distances)
    assert distances[1] > 10 * distances[0]


def test_mmd_is_near_zero_for_one_distribution_and_grows_with_a_shift(real_and_held_out):
    real, held_out = real_and_held_out
    shifted = [sequence_mmd((held_out + shift).clamp(-1, 1), real) for shift in (0.0, 0.1, 0.3)]
    assert shifted == sorted(shifted)
    assert abs(shifted[0]) < 0.02 * shifted[2]
    assert shifted[1] > 5 * abs(shifted[0])
    assert sequence_mmd(random_sines(N, (4.0, 6.0), seed=3), real) > 100 * abs(shifted[0])


def test_mmd_of_a_tiny_example_matches_the_formula_by_hand():
    reference = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])[:, None, :]  # distances 5, 10, 5
    generated = torch.tensor([[0.0, 0.0], [0.0, 1.0]])[:, None, :]
    assert median_bandwidth(reference) == pytest.approx(5.0)

    def k(squared_distance):
        return math.exp(-squared_distance / (2 * 5.0 ** 2))

    within_generated = 2 * k(1) / (2 * 1)
    within_reference = 2 * (k(25) + k(100) + k(25)) / (3 * 2)
    between = (k(0) + k(25) + k(100) + k(1) + k(18) + k(85)) / (2 * 3)
    expected = within_generated + within_reference - 2 * between
    assert sequence_mmd(generated, reference) == pytest.approx(expected, rel=1e-12)
    assert sequence_mmd(generated.float(), reference) == pytest.approx(expected, rel=1e-6)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        sequence_fd(torch.zeros(4, 1, 64), torch.zeros(4, 1, 32))
    with pytest.raises(ValueError, match="differ in shape"):
        sequence_mmd(torch.zeros(4, 2, 16), torch.zeros(4, 1, 32))


def test_held_out_sines_are_new_draws_of_the_training_distribution():
    cfg = build_config("conv1d-sines", ["data.channels=2", "data.length=48"])
    train, held_out = sines(cfg.data).samples, held_out_sines(cfg.data, 300).samples
    assert held_out.shape == (300, 2, 48) and HELD_OUT_SEED != DATA_SEED
    assert not torch.isclose(held_out[:, None], train[None, :50]).all(-1).all(-1).any()
    assert held_out.abs().max() <= 1.0


def test_evaluator_on_real_held_out_sines(real_and_held_out):
    real, _ = real_and_held_out
    results = {r.name: r for r in Evaluator(build_config("conv1d-sines", []))(FixedSamples(real))}
    assert set(results) == {"seq_fd", "seq_mmd", "diversity"}
    assert results["seq_fd"].value < 0.002 and abs(results["seq_mmd"].value) < 1e-4
    for m in (results["seq_fd"], results["seq_mmd"]):
        assert "2000 samples" in m.protocol and f"held-out sines (seed {HELD_OUT_SEED})" in m.protocol
        assert "gankit.metrics.sequences" in m.protocol
    assert "36 sequence features" in results["seq_fd"].protocol
    assert "median pairwise Euclidean distance" in results["seq_mmd"].protocol
    table = format_table(list(results.values()))
    assert "%" not in table and f"{results['seq_mmd'].value:.4g}" in table


def test_evaluator_on_a_sequence_file_compares_with_the_file(tmp_path):
    waves = 3.0 + 2.0 * random_sines(300, (0.5, 3.0), seed=5)[:, 0].numpy()  # (N, L), in data units
    np.save(tmp_path / "signals.npy", waves)
    cfg = build_config("conv1d-sines", ["data.source=sequences", f"data.root={tmp_path / 'signals.npy'}"])
    scaled = torch.from_numpy(2 * (waves - waves.min()) / (waves.max() - waves.min()) - 1).float()[:, None]
    results = {r.name: r for r in Evaluator(cfg, samples=300)(FixedSamples(scaled))}
    assert results["seq_fd"].value == pytest.approx(0, abs=1e-6)
    assert "the training data itself, not held out: the first 300" in results["seq_fd"].protocol
    assert "300 samples" in results["seq_mmd"].protocol


def test_gankit_eval_and_eval_every_on_a_sines_run(tmp_path, gankit):
    runs = tmp_path / "runs"
    code, _, err = gankit("train", "conv1d-sines", *TINY, "eval.every=2", "eval.samples=300",
                          "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    records = [json.loads(line) for line in (runs / "conv1d-sines" / "metrics.jsonl").read_text().splitlines()]
    evaluated = [r for r in records if "eval_seq_fd" in r]
    assert [r["step"] for r in evaluated] == [2] and "300 samples" in evaluated[0]["eval_protocol"]["seq_mmd"]
    code, out, err = gankit("eval", str(runs / "conv1d-sines"))
    assert code == 0, err
    assert "seq_fd" in out and "seq_mmd" in out and "300 samples" in out  # eval.samples of the run
    payload = json.loads((runs / "conv1d-sines" / "eval" / "step_000002.json").read_text())
    assert payload["step"] == 2
    assert {m["name"] for m in payload["measurements"]} == {"seq_fd", "seq_mmd", "diversity"}
    assert all(math.isfinite(m["value"]) for m in payload["measurements"])
    assert all("held-out sines (seed" in m["protocol"] for m in payload["measurements"] if m["name"] != "diversity")


def test_a_little_training_improves_both_scores(tmp_path, gankit):
    runs = tmp_path / "runs"
    every = ["eval.every=40", "eval.samples=500", "train.log_every=40", "train.sample_steps=[0]"]
    code, _, err = gankit("train", "conv1d-sines", "train.steps=2", *every, "--runs-dir", str(runs), "--no-progress")
    assert code == 0, err
    code, _, err = gankit("train", "--resume", str(runs / "conv1d-sines"), "train.steps=80", "--no-progress")
    assert code == 0, err
    records = [json.loads(line) for line in (runs / "conv1d-sines" / "metrics.jsonl").read_text().splitlines()]
    scores = {r["step"]: (r["eval_seq_fd"], r["eval_seq_mmd"]) for r in records if "eval_seq_fd" in r}
    assert sorted(scores) == [2, 40, 80]
    assert scores[80][0] < 0.5 * scores[2][0] and scores[80][1] < 0.8 * scores[2][1]
