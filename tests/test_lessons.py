"""Every lesson runs end to end in quick mode, as a learner would run it, and saves its figures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

LESSONS = sorted((Path(__file__).parent.parent / "lessons").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_in_quick_mode(lesson, tmp_path):
    env = {**os.environ, "LMZOO_QUICK": "1", "LMZOO_LESSON_OUT": str(tmp_path), "MPLBACKEND": "Agg",
           "PYTHONSAFEPATH": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, str(lesson)], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert list(tmp_path.rglob("*.png")), f"{lesson.name} saved no figure"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_header_and_exercises(lesson):
    text = lesson.read_text(encoding="utf-8")
    assert text.startswith("# ---\n") or text.startswith("# %% [markdown]"), "jupytext percent format"
    head = text[:4000].lower()
    for part in ("what you will learn", "prerequisites", "run time", "expected"):
        assert part in head, f"{lesson.name}: header lacks '{part}'"
    assert "exercises" in text.lower(), f"{lesson.name}: no exercises"
