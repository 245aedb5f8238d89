"""Benchmark: Word2Vec inside `lmzoo compare` trains at the speed of `lmzoo train word2vec`.

Issue 11 found the compare job's Word2Vec 9x slower than the same training on its own (a fixed
seed had turned TF op determinism on, and Keras then silently dropped XLA). This script times,
back to back and alternating (so a change in machine load hits both alike), the compare job's
`word2vec` entry (`lmzoo.compare.compare(..., entries=["word2vec"])`, the code of `make compare`)
and `lmzoo.train("word2vec", ...)` with the same config (the entry's overrides), and reports the
training seconds of each (timing.json) and the median of the paired ratios. Target: within 10%.

Usage:
    .venv/bin/python benchmarks/word2vec_in_compare.py [--corpus lee] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import lmzoo
from lmzoo.compare import ENTRIES, compare
from lmzoo.runs import RunDir, library_versions

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="lee")
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "word2vec_in_compare.json"))
    args = parser.parse_args()
    entry = next(e for e in ENTRIES if e.name == "word2vec")
    settings = {**entry.overrides, **entry.default_overrides, "seed": args.seed}
    corpus = lmzoo.load_corpus(args.corpus, args.data_dir)
    load_start = os.getloadavg()
    seconds: dict[str, list[float]] = {"compare": [], "train": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            out = Path(tmp) / f"compare{repeat}"
            compare(args.corpus, out, seed=args.seed, entries=["word2vec"], data_dir=args.data_dir)
            run_dirs = [p.parent for p in out.rglob("timing.json")]
            seconds["compare"].append(RunDir(run_dirs[0]).timing()["train_seconds"])
            run = Path(tmp) / f"train{repeat}"
            lmzoo.train("word2vec", corpus, run, **settings)
            seconds["train"].append(RunDir(run).timing()["train_seconds"])
            print(f"repeat {repeat}: compare {seconds['compare'][-1]:.1f} s, train {seconds['train'][-1]:.1f} s",
                  flush=True)
    medians = {k: statistics.median(v) for k, v in seconds.items()}
    # Each repeat's two runs are back to back, so their ratio shares the machine's load of the moment;
    # the median of those paired ratios is robust to a load swing between repeats.
    paired = [c / t for c, t in zip(seconds["compare"], seconds["train"], strict=True)]
    ratio = statistics.median(paired)
    print(f"median train seconds: compare {medians['compare']:.1f}, lmzoo train {medians['train']:.1f}; "
          f"paired ratios {[round(r, 3) for r in paired]}, median {ratio:.3f} (target <= 1.10)")
    result = {
        "benchmark": "word2vec_in_compare", "command": " ".join([".venv/bin/python", *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average_start": load_start,
                    "load_average_end": os.getloadavg()},
        "versions": library_versions(), "corpus": args.corpus, "config": settings,
        "train_seconds": seconds, "median_train_seconds": medians, "paired_ratios": paired,
        "ratio_compare_to_train": ratio,
        "within_10_percent": ratio <= 1.10,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
