"""Run the lessons in full mode and keep what each measured: `benchmarks/results/lessons_full/<lesson>.json`.

A lesson's prose quotes full-mode ranges ("2.1-2.4 [val_loss]") that the quick runs of `make test`
never exercise. This script runs each lesson as a learner would (`python lessons/NN_name.py`, full
mode), and writes the claims it recorded (`lmzoo.lesson.claim`) with the date, the command, the wall
and CPU seconds, the load average and the lesson file's sha256. `tests/test_lessons.py` checks every
full-mode figure of every lesson's prose against these files, so a full-mode claim cannot rot unseen.

A lesson whose results file already holds a run of the same lesson text is skipped (the run is
resumable lesson by lesson); `--force` runs it again.

Usage:
    .venv/bin/python benchmarks/lessons_full.py [--lessons 01,05] [--force]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "lessons_full"
SHARED_DATA = ROOT.parent / "shared" / "corpora"
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]*_*.py"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_full(lesson: Path, out: Path) -> dict:
    """Run one lesson in full mode with its output under `out`; its claims, timing and the machine's load.

    All lessons of one invocation share `out`, so lessons 04-06 train their Transformer once
    (`lmzoo.lesson.shared_model`), as a learner running them in order would.
    """
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONSAFEPATH": "1", "LMZOO_LESSON_OUT": str(out)}
    env.pop("LMZOO_QUICK", None)
    if "LMZOO_DATA" not in env and SHARED_DATA.is_dir():  # full mode reads the real corpora (lesson 08)
        env["LMZOO_DATA"] = str(SHARED_DATA)
    if "LMZOO_DATA" in env:  # the lesson runs in `out`: a relative data directory would point elsewhere
        env["LMZOO_DATA"] = str(Path(env["LMZOO_DATA"]).resolve())
    load_before, cpu, start = os.getloadavg()[0], children_cpu_seconds(), time.perf_counter()
    result = subprocess.run([sys.executable, str(lesson)], env=env, cwd=out, capture_output=True, text=True)
    wall = time.perf_counter() - start
    claims_file = out / lesson.stem / "claims.json"
    claims = json.loads(claims_file.read_text()) if claims_file.exists() else {}
    if result.returncode != 0:
        raise SystemExit(f"{lesson.name} failed in full mode (exit {result.returncode}):\n{result.stderr[-3000:]}")
    return {"lesson": lesson.name, "mode": "full", "lesson_sha256": sha256(lesson),
            "command": f"python benchmarks/lessons_full.py --lessons {lesson.name.split('_')[0]}",
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "wall_seconds": round(wall, 1), "cpu_seconds": round(children_cpu_seconds() - cpu, 1),
            "load_average_before": round(load_before, 2), "load_average_after": round(os.getloadavg()[0], 2),
            "cpu_count": os.cpu_count(), "data_dir": "../shared/corpora" if "LMZOO_DATA" in env else None,
            "claims": claims,
            "mismatches": sorted(name for name, c in claims.items() if not c["ok"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", default="", help="comma-separated lesson numbers (e.g. 01,03b); default all")
    parser.add_argument("--force", action="store_true", help="run again even when the lesson text is unchanged")
    args = parser.parse_args()
    wanted = {w.strip() for w in args.lessons.split(",") if w.strip()}
    lessons = [p for p in LESSONS if not wanted or p.name.split("_")[0] in wanted]
    if wanted and not lessons:
        sys.exit(f"lessons_full.py: --lessons {args.lessons} names no lesson in lessons/")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lessons-full-") as tmp:
        out = Path(tmp)
        for lesson in lessons:
            path = RESULTS / f"{lesson.stem}.json"
            if not args.force and path.exists() and json.loads(path.read_text()).get("lesson_sha256") == sha256(lesson):
                print(f"{lesson.name}: unchanged since its recorded full run, skipped")
                continue
            print(f"{lesson.name}: running in full mode ...", flush=True)
            record = run_full(lesson, out)
            path.write_text(json.dumps(record, indent=1) + "\n")
            print(f"{lesson.name}: {record['wall_seconds']:.0f} s wall, load {record['load_average_before']}, "
                  f"{len(record['claims'])} claims, mismatches: {record['mismatches'] or 'none'}", flush=True)


if __name__ == "__main__":
    main()
