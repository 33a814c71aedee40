"""benchmarks/preset_records.py builds the records table from stored seeds alone: a target is met
only when every seed of the row was measured on the preset as it is now and meets every bar."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import preset_records  # noqa: E402
import preset_seeds  # noqa: E402
from preset_records import Bar, Record, summary, table  # noqa: E402

ROW = Record("ring8-test", "ring8", 3, (Bar("modes", "==", 8), Bar("high_quality", ">=", 0.97)), "PacGAN3 7.8 / 97.7%",
             16, shown_values=("modes", "high_quality"))


def seed(high_quality: float, modes: int = 8, digest: str | None = None) -> dict:
    return {"values": {"modes": modes, "high_quality": high_quality}, "seconds": 600,
            "digest": digest or ROW.digest()}


@pytest.fixture()
def only_the_test_row(monkeypatch):
    monkeypatch.setattr(preset_records, "RECORDS", [ROW])


def test_bars_compare_as_written():
    values = {"modes": 8, "stacked_kl": 0.06, "high_quality": 0.97}
    assert Bar("modes", "==", 8).holds(values)
    assert not Bar("modes", "==", 25).holds(values)
    assert not Bar("stacked_kl", "<=", 0.05).holds(values)
    assert Bar("high_quality", ">=", 0.97).holds(values)
    assert Bar("ratio:image_fd", "<=", 0.5).holds(values) is None


def test_met_only_when_every_seed_meets_every_bar(only_the_test_row):
    all_met = {"0": seed(0.98), "1": seed(0.975), "2": seed(0.9712)}
    assert "| **yes** |" in table({"ring8-test": all_met})
    one_short = {**all_met, "1": seed(0.9676)}
    assert "no: met on 2 of 3 seeds" in table({"ring8-test": one_short})
    a_mode_lost = {**all_met, "2": seed(0.99, modes=7)}
    assert "no: met on 2 of 3 seeds" in table({"ring8-test": a_mode_lost})


def test_the_worst_seed_and_the_spread_are_shown(only_the_test_row):
    cells = summary(ROW, {"0": seed(0.98), "1": seed(0.96)})["cells"]
    assert cells["high_quality"] == "97.00% ± 1.41% (worst 96.00%)"


def test_missing_and_stale_seeds_are_named_never_blank(only_the_test_row):
    partial = table({"ring8-test": {"0": seed(0.98)}})
    assert "met on 1 of the 1 measured seeds; 2 seed(s) did not fit the CPU time" in partial
    stale = table({"ring8-test": {"0": seed(0.98, digest="an older preset"), "1": seed(0.99, digest="older")}})
    assert "| 0 of 3 |" in stale and "not measured: did not fit the CPU time" in stale


def test_the_table_goes_between_the_markers(tmp_path, monkeypatch, only_the_test_row):
    page = tmp_path / "RESULTS.md"
    start, end = preset_records.MARKERS
    page.write_text(f"# Results\nbefore\n{start}\nan old table\n{end}\nafter\n")
    monkeypatch.setattr(preset_records, "RESULTS_MD", page)
    preset_records.write_into_results_md(table({"ring8-test": {"0": seed(0.98)}}))
    text = page.read_text()
    assert "an old table" not in text
    assert text.startswith("# Results\nbefore\n") and text.endswith(f"{end}\nafter\n")
    assert "| `ring8-test` | 1 of 3 |" in text


def test_a_seed_is_measured_on_the_run_it_trained_not_an_older_one_of_the_same_name(tmp_path, monkeypatch):
    """gankit train names the new run name-2 when the folder holds a run called name already (a
    kept run of an older preset): the seed's values must come from the run just trained."""
    older, trained = tmp_path / "ring8-s0", tmp_path / "ring8-s0-2"
    for run, modes in ((older, 5), (trained, 8)):
        (run / "eval").mkdir(parents=True)
        report = {"measurements": [{"name": "modes", "value": modes, "protocol": "p"}]}
        (run / "eval" / "step_000100.json").write_text(json.dumps(report))
    evaluated = []

    def fake_gankit(argv: list[str], threads: int) -> subprocess.CompletedProcess:
        if argv[0] == "eval":
            evaluated.append(Path(argv[1]))
        return subprocess.CompletedProcess(argv, 0, stdout=f"{trained}\n" if argv[0] == "train" else "", stderr="")

    monkeypatch.setattr(preset_seeds, "gankit", fake_gankit)
    measured = preset_seeds.one_seed("ring8", 0, tmp_path, [], 1, None)
    assert evaluated == [trained] and measured["values"] == {"modes": 8}
