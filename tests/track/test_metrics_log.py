import json

import numpy as np
import pytest
import torch

from gankit.track import MetricsLog, read_metrics


def rec(step, **extra):
    return {"step": step, "d_real": 0.5 + step / 1000, "d_fake": 0.25, "d_loss": 0.75 + step / 1000,
            "g_loss": 1.5, "d_x": 0.6, "d_g_z": 0.4, "img_per_s": 1234.5, "elapsed_s": step / 10, **extra}


def test_round_trip_keeps_extra_keys_and_converts_scalars(tmp_path):
    log = MetricsLog(tmp_path / "run")
    records = [rec(s) for s in (0, 10, 20)]
    records[1]["lr"] = 2e-4
    for r in records:
        log.append(r)
    # flushed: readable without closing
    assert read_metrics(tmp_path / "run") == records
    log.append({"step": np.int64(30), "g_loss": torch.tensor(0.125), "d_x": np.float32(0.5), "note": "x"})
    log.close()
    got = read_metrics(tmp_path / "run")
    assert got[-1] == {"step": 30, "g_loss": 0.125, "d_x": 0.5, "note": "x"}
    assert type(got[-1]["step"]) is int
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line) for line in lines)


def test_missing_file_reads_empty(tmp_path):
    assert read_metrics(tmp_path) == []


def test_append_requires_integer_step(tmp_path):
    log = MetricsLog(tmp_path)
    with pytest.raises(ValueError):
        log.append({"g_loss": 1.0})
    with pytest.raises(ValueError):
        log.append({"step": 1.5})


def test_truncate_after(tmp_path):
    with MetricsLog(tmp_path) as log:
        for s in range(0, 100, 10):
            log.append(rec(s))
        assert log.truncate_after(40) == 5
        assert [r["step"] for r in read_metrics(tmp_path)] == [0, 10, 20, 30, 40]
        log.append(rec(50))  # appending after truncation continues the file
    assert [r["step"] for r in read_metrics(tmp_path)] == [0, 10, 20, 30, 40, 50]
    assert read_metrics(tmp_path)[2] == rec(20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]  # no temp file left


def test_truncate_after_before_everything(tmp_path):
    log = MetricsLog(tmp_path)
    log.append(rec(5))
    assert log.truncate_after(0) == 0
    assert read_metrics(tmp_path) == []


def test_partial_last_line_is_skipped_and_repaired_on_append(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps(rec(0)) + "\n" + json.dumps(rec(10)) + "\n" + '{"step": 20, "d_re')
    assert [r["step"] for r in read_metrics(tmp_path)] == [0, 10]
    log = MetricsLog(tmp_path)
    log.append(rec(20))
    log.close()
    assert [r["step"] for r in read_metrics(tmp_path)] == [0, 10, 20]


def test_corrupt_middle_line_raises(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 0}\nnot json\n{"step": 2}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_metrics(tmp_path)
