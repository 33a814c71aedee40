"""Reading run directories: finished, evaluated, half-written and nearly empty ones."""

from __future__ import annotations

import json
import math
import shutil

from gankit.report.run_data import read_run
from gankit.report.compare import differing_keys, mean_band
from gankit.report.text import fmt


def test_a_finished_run_is_read_whole(tiny_runs):
    run = read_run(tiny_runs["plain"])
    assert run.status == "finished" and run.last_step == 4 and run.total_steps == 4
    assert [g.step for g in run.grids] == [0, 1, 2, 3, 4]
    assert run.loss_table.source == "loss_table.csv" and [r["step"] for r in run.loss_table.rows] == [0, 1, 2, 3, 4]
    assert run.notes == [] and run.has_generator and run.has_checkpoint


def test_nan_infinity_and_null_become_gaps(decorated_run):
    run = read_run(decorated_run)
    steps, values = run.series("d_real")
    assert steps == [0, 1, 2, 3, 4] and math.isnan(values[2]) and all(math.isfinite(v) for v in values[:2])
    assert math.isnan(run.series("g_loss")[1][1]) and math.isnan(run.series("d_fake")[1][3])
    assert run.series("eval_domain_fd") == ([2, 4], [12.5, 7.25])
    assert any("1 line(s) of metrics.jsonl" in n for n in run.notes)  # the cut-off last line


def test_measurements_come_from_eval_files_and_the_log(decorated_run):
    run = read_run(decorated_run)
    found = {(m.source, m.name): m for m in run.measurements}
    assert found[("eval/step_000004.json", "modes")].out_of == 8
    assert found[("eval/step_000004.json", "domain_fd")].protocol.startswith("domain classifier")
    logged = found[("metrics.jsonl", "class_kl")]
    assert logged.value == 0.125 and logged.step == 4 and logged.protocol == "KL to uniform, 100 samples"


def test_a_run_still_training_is_in_progress(tiny_runs, tmp_path):
    run_dir = tmp_path / "young"
    shutil.copytree(tiny_runs["plain"], run_dir)
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()[:3]
    (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    cut = [run_dir / "generator.safetensors", run_dir / "loss_table.csv", *run_dir.glob("samples/step_00000[34].png")]
    for path in cut:
        path.unlink()
    run = read_run(run_dir)
    assert run.status == "in progress" and run.last_step == 2
    assert any(n.startswith("not finished: step 2 of 4") for n in run.notes)
    assert run.loss_table.source.startswith("metrics.jsonl") and [r["step"] for r in run.loss_table.rows] == [0, 1, 2]


def test_a_folder_with_only_a_config_gives_notes(tmp_path, tiny_runs):
    (tmp_path / "config.yaml").write_bytes((tiny_runs["plain"] / "config.yaml").read_bytes())
    run = read_run(tmp_path)
    assert run.records == [] and run.grids == [] and run.loss_table is None
    assert any("no metrics.jsonl" in n for n in run.notes) and any("no sample grids" in n for n in run.notes)


def test_a_corrupt_config_is_a_note(tmp_path):
    (tmp_path / "config.yaml").write_text("data: [unclosed\n")
    (tmp_path / "metrics.jsonl").write_text('{"step": 0, "g_loss": NaN}\nnot json\n{"step": 1, "g_loss": null}\n')
    run = read_run(tmp_path)
    assert run.config == {} and any("could not be parsed" in n for n in run.notes)
    assert run.last_step == 1 and run.status == "in progress"


def test_differing_config_keys(tiny_runs):
    runs = [read_run(tiny_runs[n]) for n in ("plain", "wgan", "seed1")]
    assert set(differing_keys(runs)) == {"seed", "train.loss", "regularize.clip"}
    assert differing_keys(runs[:1]) == []


def test_mean_band_skips_gaps(tmp_path):
    for name, lines in {"a": [(0, 1.0), (1, float("nan")), (2, 3.0)], "b": [(0, 3.0), (1, 5.0)]}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "g_loss": v}) + "\n"
                                                                for s, v in lines))
    band = mean_band([read_run(tmp_path / "a"), read_run(tmp_path / "b")], "g_loss")
    assert band.steps == [0, 1, 2] and band.mean == [2.0, 5.0, 3.0] and band.low == [1.0, 5.0, 3.0]
    assert band.count == [2, 1, 1]


def test_numbers_for_people():
    assert [fmt(x) for x in (None, float("nan"), float("inf"), 350.0, 0.65421, 2e-4, True)] == \
        ["—", "NaN", "∞", "350", "0.6542", "0.0002", "—"]


def test_health_events_become_notes_on_the_page(tmp_path):
    from gankit.report.run_data import health_notes, read_run

    records = [{"step": 0, "d_loss": 1.0},
               {"step": 50, "d_loss": 0.1, "events": [{"kind": "d_won", "message": "D has won: since step 10 ..."}]},
               {"step": 60, "d_loss": None, "events": [{"kind": "diverged", "message": "training diverged at step 60"}]}]
    assert health_notes(records) == ["step 50: D has won: since step 10 ...", "step 60: training diverged at step 60"]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert "step 60: training diverged at step 60" in read_run(tmp_path).notes
