"""The run and study directories are described once: no file or folder name of theirs is spelt
anywhere in gankit but gankit/rundir (a path joined from a string literal, or the literal name
of a file only a run or study directory holds)."""

from __future__ import annotations

import ast
from pathlib import Path

import gankit
from gankit.rundir import names

PACKAGE = Path(gankit.__file__).parent
# names only a run or a study directory gives a file (never a word of their own elsewhere)
FILE_NAMES = {names.CONFIG, names.METRICS, names.LAST_CHECKPOINT, names.GENERATOR, names.LOSS_CURVE,
              names.LOSS_TABLE_MD, names.LOSS_TABLE_CSV, names.REPORT, names.STUDY_SPEC, names.SUMMARY,
              names.TENSORBOARD, names.CHECKPOINTS}
# folder names that are ordinary words too ("samples", "runs"): caught where a path is joined with them
FOLDER_NAMES = {names.SAMPLES, names.EVAL, names.RUNS, names.PLANS, names.LOGS, names.FIGURES, names.SUBMITIT,
                names.CHECKPOINTS}


def spelt_names(package: Path) -> list[str]:
    """Every place in the modules under ``package`` (but its rundir/) that spells a run or study
    directory's file name, or joins a path with one of their folder names."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if (package / "rundir") in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(package)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if text in FILE_NAMES or text.startswith("step_") or text.startswith(names.TENSORBOARD[:10]):
                    found.append(f"{where}: {text!r}")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                right = node.right
                if isinstance(right, ast.Constant) and isinstance(right.value, str) and right.value in FOLDER_NAMES:
                    found.append(f"{where}: / {right.value!r}")
            if isinstance(node, ast.JoinedStr):
                parts = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
                if any(part.startswith("step_") or any(f"/{n}" in part or part.startswith(f"{n}/")
                                                       for n in FOLDER_NAMES) for part in parts):
                    found.append(f"{where}: f-string {''.join(parts)!r}")
    return found


def test_no_run_or_study_file_name_is_spelt_outside_the_rundir_module():
    assert spelt_names(PACKAGE) == []


def test_the_check_sees_each_kind_of_spelling(tmp_path):
    (tmp_path / "rundir").mkdir()
    (tmp_path / "rundir" / "names.py").write_text('CONFIG = "config.yaml"\n')  # allowed there
    (tmp_path / "spelt.py").write_text('from pathlib import Path\n'
                                       'a = Path("x") / "samples"\n'
                                       'b = "metrics.jsonl"\n'
                                       'c = f"eval/step_{3:06d}.json"\n')
    assert [line.split(": ", 1)[0] for line in spelt_names(tmp_path)] == ["spelt.py:2", "spelt.py:3", "spelt.py:4"]
