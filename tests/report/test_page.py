"""The HTML of a run, several runs and a study: content, self-containedness, tolerance of gaps."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gankit.report import build_report

from .conftest import TABLE, snapshot

URL = re.compile(r"https?://", re.I)


class Page(HTMLParser):
    """Collects every attribute, the text of <style>/<script>, and the study table's cells."""

    def __init__(self, html: str):
        super().__init__()
        self.attributes: list[tuple[str, str, str]] = []
        self.code: list[str] = []
        self.cells: dict[tuple[str, str], dict] = {}
        self._in: list[str] = []
        self._arm = None
        self._cell = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.attributes += [(tag, k, v or "") for k, v in attrs.items()]
        self._in.append(tag)
        if tag == "tr":
            self._arm = attrs.get("data-arm")
        if tag == "td" and self._arm and "data-key" in attrs:
            self._cell = self.cells.setdefault((self._arm, attrs["data-key"]), {**attrs, "text": ""})

    def handle_endtag(self, tag):
        while self._in and self._in.pop() != tag:
            pass
        if tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._in and self._in[-1] in ("style", "script"):
            self.code.append(data)
        if self._cell is not None:
            self._cell["text"] += data


def assert_self_contained(html: str) -> Page:
    """No reference to anything outside the page: every picture a data: URI, no URL in attributes or code."""
    page = Page(html)
    for tag, name, value in page.attributes:
        assert not URL.search(value), f"<{tag} {name}> refers to {value[:80]}"
        if name in ("src", "href", "xlink:href") and not value.startswith("#"):
            assert value.startswith("data:"), f"<{tag} {name}={value[:60]}> is not inline"
    assert not any(URL.search(code) for code in page.code)
    assert not re.search(r"url\((?!#)", html), "a CSS or SVG url() that is not a fragment"
    assert not re.search(r"@import|@font-face", html)
    return page


def test_one_run(tiny_runs, tmp_path):
    run = tmp_path / "plain"
    shutil.copytree(tiny_runs["plain"], run)
    before = snapshot(run)
    out = build_report([run])
    assert out == run / "report.html"
    after = snapshot(run)
    assert after.pop("report.html") and after == before, "the report changed the run"
    html = out.read_text()
    assert_self_contained(html)
    assert not URL.search(html)  # not even in text: nothing in this run names a URL
    for text in ("finished", "digits, 16×16, 1 channel", "dcgan", "bce", "4 / 4", "D loss on real", "config.yaml",
                 'type="range"', "viewer-play"):
        assert text in html
    grad_norms = "g_grad_norm" in (run / "metrics.jsonl").read_text()
    assert html.count("<svg") == 2 + grad_norms  # losses, D outputs, gradient norms when logged (no eval here)
    assert len(re.findall(r'<img src="data:image/png;base64,[^"]+" alt="grid at step', html)) == 5


def test_one_run_with_evaluation_and_gaps(decorated_run, tmp_path):
    out = build_report([decorated_run], tmp_path / "evaluated.html")
    html = out.read_text()
    assert_self_contained(html)
    assert "Gradient norms" in html and "Evaluation: domain FD" in html
    assert "7 / 8" in html and "domain classifier features, 100 samples" in html and "KL to uniform" in html
    assert "could not be read" in html  # the cut-off last line is said, not hidden
    assert not (decorated_run / "report.html").exists()


def test_a_nearly_empty_run_still_renders(tmp_path, tiny_runs):
    run = tmp_path / "fresh"
    run.mkdir()
    (run / "config.yaml").write_bytes((tiny_runs["plain"] / "config.yaml").read_bytes())
    html = build_report([run]).read_text()
    assert_self_contained(html)
    assert "in progress" in html and "no metrics.jsonl yet" in html and "No sample grids yet" in html


def test_several_runs_side_by_side(tiny_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = [tiny_runs[n] for n in ("plain", "wgan", "seed1")]
    before = [snapshot(p) for p in paths]
    out = build_report(paths)
    assert out == Path("report.html") and (tmp_path / "report.html").is_file()
    assert [snapshot(p) for p in paths] == before
    html = out.read_text()
    page = assert_self_contained(html)
    keys = re.findall(r'<th scope="col" class="config-key">([^<]+)</th>', html)
    assert keys == ["seed", "train.loss", "regularize.clip"]
    assert "wasserstein" in html and "final critic&#39;s Wasserstein estimate" in html
    assert html.count('class="viewer"') == 1 and html.count('class="viewer-panel"') == 3
    assert ("input", "type", "range") in page.attributes


def test_study_table_matches_the_summary(study_dir):
    before = snapshot(study_dir)
    out = build_report([study_dir], study_dir.parent / "study.html")
    assert snapshot(study_dir) == before
    assert out.stat().st_size < 2_000_000  # 3 runs with 5 grids each, 3 figures, 3 curves
    html = out.read_text()
    page = assert_self_contained(html)
    summary = json.loads((study_dir / "summary.json").read_text())
    for row in TABLE:
        for key, stat in row["values"].items():
            cell = page.cells[(row["arm"], key)]
            text = " ".join(cell["text"].split())
            if stat is None or stat["mean"] is None:
                assert "data-mean" not in cell and text.startswith("—")
                continue
            assert float(cell["data-mean"]) == stat["mean"]
            assert text.startswith(f"{stat['mean']:g}")
            if stat["std"] is not None:
                assert f"± {stat['std']:g}" in text
            assert text.endswith(f"({stat['n']})")
    best = {k for k, cell in page.cells.items() if cell.get("class") == "best"}
    assert best == {("wgan", "convergence_step"), ("wgan", "score")}  # 'other' has one arm: nothing to compare
    assert html.index("digits</th>") < html.index('data-arm="bce"') < html.index("other</th>") \
        < html.index('data-arm="resampled"')
    for verdict in summary["verdicts"]:
        assert f'class="badge {verdict["verdict"]}"' in html and verdict["evidence"] in html
    assert html.index('id="verdicts"') < html.index('id="results"')
    assert "&lt;b&gt;markup&lt;/b&gt;" in html and "<b>markup</b>" not in html
    charts = re.findall(r'aria-label="([^":]*): [^"]*mean over seeds, shaded min to max"', html)
    assert charts == ["digits"] * 3 + ["other"] * 3  # d_real, g_loss, d_x for each group of arms
    assert "steps, lower is better" in html and "first step after which G loss" in html
    assert html.count('class="viewer-panel"') == 2  # one run of each arm; "resampled" samples bce's run again
    assert "Where the codes lie" in html and "WGAN samples." in html


def test_study_default_output_and_tolerated_gaps(study_dir, tmp_path):
    study = tmp_path / "study"
    shutil.copytree(study_dir, study)
    shutil.rmtree(study / "runs" / "wgan-s0")
    (study / "figures" / "codes.png").unlink()
    summary = json.loads((study / "summary.json").read_text())
    for key in ("samples", "seeds"):
        del summary[key]
    summary["curves"] = ["g_loss", "never_logged"]
    summary["runs"][0]["values"] = {"convergence_step": None}
    (study / "summary.json").write_text(json.dumps(summary))
    out = build_report([study])
    assert out == study / "report.html"
    html = out.read_text()
    assert_self_contained(html)
    assert "run directory runs/wgan-s0 is missing" in html and "missing: figures/codes.png" in html
    assert "no run logged &#39;never_logged&#39;" in html and "(directory missing)" in html


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_study_with_non_finite_values(study_dir, tmp_path, value):
    study = tmp_path / "study"
    shutil.copytree(study_dir, study)
    summary = json.loads((study / "summary.json").read_text())
    summary["table"][0]["values"]["convergence_step"]["mean"] = value
    summary["runs"][0]["values"]["score"] = value
    (study / "summary.json").write_text(json.dumps(summary))  # NaN / Infinity tokens
    html = build_report([study]).read_text()
    assert ("NaN" if value != value else "∞") in html


def test_a_long_run_keeps_the_page_light(tiny_runs, tmp_path):
    run = tmp_path / "long"
    run.mkdir()
    config = (tiny_runs["plain"] / "config.yaml").read_text()
    (run / "config.yaml").write_text(config.replace("  steps: 4\n", "  steps: 50000\n"))
    records = [{"step": s, "d_real": 0.7 + 0.1 * (s % 7) / 7, "d_fake": 0.6, "g_loss": 0.9 - s * 1e-5,
                "d_x": 0.5, "d_g_z": 0.4} for s in range(20000)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = build_report([run])
    assert out.stat().st_size < 600_000
    html = out.read_text()
    assert "19999 / 50000" in html and "not finished: step 19999 of 50000" in html


def test_study_runs_outside_the_study_and_shares_in_percent(study_dir, tiny_runs, tmp_path):
    """The study engine writes `dir` absolute for a run outside the study (a study that samples a given run)."""
    study = tmp_path / "sampled"
    study.mkdir()
    shutil.copy(study_dir / "summary.json", study / "summary.json")
    summary = json.loads((study / "summary.json").read_text())
    for run in summary["runs"]:
        run["dir"] = str(tiny_runs["plain"].resolve())
    summary["metrics"][2]["unit"] = "share of seeds"
    summary["figures"], summary["samples"] = [{"path": "../../etc/hostname", "title": "outside"}], []
    (study / "summary.json").write_text(json.dumps(summary))
    html = build_report([study]).read_text()
    assert_self_contained(html)
    assert "is missing" not in html and html.count('class="viewer-panel"') == 1  # every arm is that one run
    assert "75.0%" in html and "25.0% ± 5.0%" in html
    assert "missing: ../../etc/hostname" in html  # pictures are only taken from inside the study
