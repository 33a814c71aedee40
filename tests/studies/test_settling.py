"""Seeds until settled: the sequential rule's error rates on simulated studies, and a tiny study
that adds seeds in rounds, stops when its claims are settled, and continues a round it was
stopped in."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from gankit.registry import MEASURES
from gankit.rundir import StudyRun
from gankit.studies.sequential import Looks
from gankit.studies.study_file import validate_study
from gankit.studies.summary import build_summary, verdicts
from gankit.studies.verdicts import CONTRADICTED, SUPPORTED, compare

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

STUDIES = 1000  # simulated studies per rate: its standard error at 5% is 0.7 points


def spec(margin=None, max_seeds=15, first=3, claims=None, settle=True):
    """Two arms, a and b, and the claim that b scores higher on the metric m."""
    data = {"name": "sim", "seeds": first, "arms": [{"name": "a"}, {"name": "b"}], "measure": ["quality"],
            "claims": claims or [{"claim": "b scores higher", "kind": "better", "metric": "m", "arm": "b", "other": "a"}]}
    if margin is not None:
        data["margins"] = {"m": margin}
    if settle:
        data["settle"] = {"max_seeds": max_seeds}
    return validate_study(data)


def rows(values: dict[str, list[float]]) -> list[StudyRun]:
    return [StudyRun(f"{arm}-s{seed}", arm, seed, "", "finished", 1, {"m": float(value)})
            for arm, column in values.items() for seed, value in enumerate(column)]


def settle_simulated(study, effect: float, rng: np.random.Generator):
    """One simulated study: seeds drawn as the rounds ask for them, judged as gankit judges."""
    looks = study.looks(len(study.seeds))
    a, b = rng.normal(0, 1, looks.most), rng.normal(effect, 1, looks.most)
    for look in range(1, looks.count + 1):
        n = looks.seeds_at(look)
        verdict = verdicts(study, rows({"a": a[:n], "b": b[:n]}), {})[0]
        if verdict.settled:
            return verdict
    return verdict


def rates(study, effect: float, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    outcomes = [settle_simulated(study, effect, rng) for _ in range(STUDIES)]
    return {"supported": np.mean([v.verdict == SUPPORTED for v in outcomes]),
            "contradicted": np.mean([v.verdict == CONTRADICTED for v in outcomes]),
            "equivalent": np.mean([v.verdict == "inconclusive" and bool(v.settled) for v in outcomes]),
            "seeds": np.mean([v.seeds for v in outcomes])}


def test_the_level_is_spent_over_the_looks():
    looks = Looks(3, 3, 15)
    assert looks.count == 5 and [looks.seeds_at(k) for k in range(1, 6)] == [3, 6, 9, 12, 15]
    shares = [looks.level_at(k) for k in range(1, 6)]
    assert sum(shares) == pytest.approx(0.05) and all(s > 0 for s in shares)
    assert shares == sorted(shares, reverse=True)  # Pocock-type: the early looks get the larger shares
    assert Looks.single(3).level_at(1) == pytest.approx(0.05)
    assert looks.look_of(8) == 2 and looks.look_of(2) == 0 and looks.look_of(40) == 5


def test_with_no_effect_a_claim_is_wrongly_decided_at_most_at_the_level():
    found = rates(spec(), effect=0.0, seed=1)
    assert found["supported"] + found["contradicted"] <= 0.05 + 3 * 0.007, found
    # judged at 5% after every round instead, the same studies are fooled far more often
    rng, fooled = np.random.default_rng(1), 0
    looks = spec().looks(3)
    for _ in range(STUDIES):
        a, b = rng.normal(0, 1, looks.most), rng.normal(0, 1, looks.most)
        fooled += any(compare(b[:n], a[:n], "higher", paired=False).outcome != 0
                      for n in (looks.seeds_at(k) for k in range(1, looks.count + 1)))
    assert fooled / STUDIES > 0.08


def test_a_real_effect_is_found_and_mostly_early():
    found = rates(spec(), effect=1.5, seed=2)
    assert found["supported"] >= 0.85 and found["contradicted"] <= 0.005, found
    assert found["seeds"] < 10, found  # it stops well before the cap of 15


def test_no_effect_within_a_margin_settles_as_equivalence_but_a_larger_one_does_not():
    found = rates(spec(margin=1.5), effect=0.0, seed=3)
    assert found["equivalent"] >= 0.7 and found["supported"] + found["contradicted"] <= 0.071, found
    beyond = rates(spec(margin=1.5), effect=2.0, seed=4)  # the effect lies outside the margin
    assert beyond["equivalent"] <= 0.05, beyond


def test_an_open_claim_says_why_and_roughly_how_many_seeds_it_needs():
    rng = np.random.default_rng(5)
    summary = build_summary(spec(max_seeds=6), rows({"a": rng.normal(0, 1, 6), "b": rng.normal(0.6, 1, 6)}), {})
    verdict = summary["verdicts"][0]
    assert verdict["verdict"] == "inconclusive" and verdict["settled"] is False and verdict["look"] == 2
    assert "too few seeds: roughly" in verdict["reason"] and verdict["needed"] > 6
    assert verdict["low"] < verdict["effect"] < verdict["high"] and verdict["seeds"] == 6
    assert "no margin is set" in verdict["reason"]
    assert summary["seeds"] == list(range(6)) and "spent over the looks" in summary["design"]


def test_a_claim_settled_early_stays_as_it_was_decided():
    claims = [{"claim": "b above 0.5", "kind": "above", "metric": "m", "arm": "b", "threshold": 0.5}]
    b = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]  # decided after the first three; the later three would undo it
    verdict = verdicts(spec(claims=claims, max_seeds=6), rows({"a": [0.0] * 6, "b": b}), {})[0]
    assert verdict.verdict == SUPPORTED and verdict.look == 1 and verdict.seeds == 3


# the tiny study: a measure planted by this test gives each run a value from a table
PLANTED = {"a": [0.0, 0.1, 0.05, 0.0], "b": [1.0, 1.0, 0.6, 1.0]}
STUDY = ("base: ring8\nsteps: 2\nseeds: 2\n"
         "set: {train.log_every: 1, train.sample_steps: [0], model.g_width: 16, model.d_width: 16}\n"
         "arms:\n  - {name: a}\n  - {name: b}\n"
         "measure: [planted]\n"
         "settle: {max_seeds: 6}\n"
         "claims:\n"
         "  - {claim: b plants more, kind: better, metric: planted, arm: b, other: a}\n"
         "  - {claim: b plants above 0.3, kind: above, metric: planted, arm: b, threshold: 0.3}\n")


@pytest.fixture
def planted():
    def measure(measurer, view):
        """The table's value for the run's arm and seed."""
        arm = view.cfg.name.rsplit("-s", 1)[0]
        return {"planted": PLANTED[arm][view.cfg.seed]}

    MEASURES.register("planted", measure)
    yield
    MEASURES.unregister("planted")


def test_a_study_adds_seeds_until_settled_and_continues_a_round_it_was_stopped_in(gankit, tmp_path, planted):
    study = tmp_path / "planted.yaml"
    study.write_text(STUDY)
    out = tmp_path / "settled"
    code, stdout, err = gankit("study", str(study), "--out", str(out), "--jobs", "2", "--cores", "2")
    assert code == 0, err
    assert "4 runs (2 arms x 2 seeds), 0 finished, 4 to train" in err
    assert "1 claim(s) open with 2 seeds; adding 2 more" in err
    assert "8 runs (2 arms x 4 seeds), 4 finished, 4 to train" in err  # the first round is not retrained
    assert "every claim settled with 4 seeds" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [0, 1, 2, 3] and sorted(p.name for p in (out / "runs").iterdir()) == \
        ["a-s0", "a-s1", "a-s2", "a-s3", "b-s0", "b-s1", "b-s2", "b-s3"]
    better, above = summary["verdicts"]
    assert (better["verdict"], better["look"], better["seeds"], better["settled"]) == ("supported", 2, 4, True)
    assert better["low"] > 0 and better["confidence"] == pytest.approx(1 - Looks(2, 2, 6).level_at(2))
    assert (above["verdict"], above["look"]) == ("supported", 1)
    assert "CI" in better["evidence"] and "SUPPORTED" in stdout
    # stopped in the second round: one of its runs is gone; the same command trains just that one
    shutil.rmtree(out / "runs" / "b-s3")
    (out / "summary.json").unlink()
    code, _, err = gankit("study", str(study), "--out", str(out), "--cores", "1")
    assert code == 0, err
    assert "4 runs (2 arms x 2 seeds), 4 finished, 0 to train" in err
    assert "8 runs (2 arms x 4 seeds), 7 finished, 1 to train" in err
    assert json.loads((out / "summary.json").read_text())["verdicts"] == summary["verdicts"]


def test_settling_needs_claims_and_a_cap_above_the_first_seeds(gankit, tmp_path):
    code, _, err = gankit("study", "latent-shift", "--max-seeds", "2", "--out", str(tmp_path / "s"))
    assert code == 2 and "max_seeds (2) is below the 3 seeds" in err
    (tmp_path / "none.yaml").write_text("base: digits\narms: [{name: a}]\n")
    code, _, err = gankit("study", str(tmp_path / "none.yaml"), "--until-settled", "--out", str(tmp_path / "n"))
    assert code == 2 and "makes no claims to settle" in err
