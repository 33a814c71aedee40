"""`gankit report`: the path it wrote on success; one line and exit code 2 for every mistake."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import snapshot


def assert_one_line_error(code, err, *fragments, expected=2):
    assert code == expected, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gankit: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def inputs(tiny_runs, study_dir):
    """The runs and the study, checked after the test to be exactly as they were."""
    folders = [*tiny_runs.values(), study_dir]
    before = [snapshot(f) for f in folders]
    yield tiny_runs, study_dir
    assert [snapshot(f) for f in folders] == before, "a report command changed its inputs"


def test_report_prints_the_path_written(gankit, inputs, tmp_path):
    runs, study = inputs
    out = tmp_path / "pages" / "plain.html"
    code, stdout, _ = gankit("report", str(runs["plain"]), "-o", str(out))
    assert code == 0 and stdout.strip() == str(out) and out.read_text().startswith("<!doctype html>")
    code, stdout, _ = gankit("report", str(study), "--out", str(tmp_path / "study.html"))
    assert code == 0 and "BCE against WGAN" in (tmp_path / "study.html").read_text()


def test_errors(gankit, inputs, tmp_path):
    runs, study = inputs
    plain = runs["plain"]
    assert_one_line_error(*gankit("report", str(tmp_path / "nowhere"))[::2], "does not exist")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(*gankit("report", str(tmp_path / "empty"))[::2], "neither a run directory")
    assert_one_line_error(*gankit("report", str(plain / "config.yaml"))[::2], "not a folder")
    assert_one_line_error(*gankit("report", str(plain), str(study), "-o", str(tmp_path / "x.html"))[::2],
                          "on its own")
    assert_one_line_error(*gankit("report", str(plain), "-o", str(plain / "metrics.jsonl"))[::2], "refusing")
    assert_one_line_error(*gankit("report", str(plain), "-o", str(plain / "config.yaml" / "r.html"))[::2],
                          "config.yaml", "in the way", expected=3)  # the machine refuses: exit code 3
    assert_one_line_error(*gankit("report", str(plain), "-o", str(tmp_path))[::2])
    assert_one_line_error(*gankit("report")[::2], "Missing argument")


def test_corrupt_summaries(gankit, study_dir, tmp_path):
    study = tmp_path / "study"
    shutil.copytree(study_dir, study)
    summary = study / "summary.json"
    good = json.loads(summary.read_text())
    cases = {"{not json": "is corrupt", "[1, 2]": "JSON object",
             json.dumps({**good, "arms": 3}): "'arms' must be a list",
             json.dumps({**good, "table": [{"arm": "bce", "values": {"score": "high"}}]}): "table[0].values.score",
             json.dumps({**good, "metrics": [{"key": "x", "better": "more"}]}): "better",
             json.dumps({**good, "format": 2}): "format"}
    for text, fragment in cases.items():
        summary.write_text(text)
        before = snapshot(study)
        assert_one_line_error(*gankit("report", str(study))[::2], fragment)
        assert snapshot(study) == before and not (study / "report.html").exists()
    summary.unlink()
    assert_one_line_error(*gankit("report", str(study))[::2], "summary.json is missing")
