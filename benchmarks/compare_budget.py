"""Benchmark: what a longer training budget buys each neural row of the main job.

Runs the compare job (`lmzoo.compare.compare`, the same code as `make compare`) for the neural
entries at several budgets (`--budget` multiplies every family's steps or epochs), on one corpus,
one seed, and records for each entry and budget the test-split figures (open-vocabulary bits per
character for language models, WordSim353 for Word2Vec, reconstruction accuracy for the
autoencoder), the training seconds and the validation curve (closed bits/char against wall time).
The defaults of `make compare` are chosen from these curves: each neural language model should sit
near the plateau that its budget allows, and `--budget 4` should be clearly better.

Usage:
    .venv/bin/python benchmarks/compare_budget.py [--corpus lee] [--budgets 1,2,4]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from lmzoo.compare import compare
from lmzoo.runs import RunDir, library_versions

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
NEURAL = ("word2vec", "word2vec-gensim", "seq2seq", "rnnlm", "transformer")
HEADLINE = ("bits_per_char", "wordsim353_spearman", "reconstruction_token_accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="lee")
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA"))
    parser.add_argument("--budgets", default="1,2,4")
    parser.add_argument("--entries", default=",".join(NEURAL))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="results file (default benchmarks/results/compare_budget_CORPUS.json)")
    args = parser.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    entries = args.entries.split(",")
    results: dict = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_at_start": os.getloadavg(), "versions": library_versions(), "corpus": args.corpus,
        "seed": args.seed, "rows": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for budget in budgets:
            out = Path(tmp) / f"budget{budget:g}"
            start = time.perf_counter()
            rows = compare(args.corpus, out, budget=budget, seed=args.seed, entries=entries, data_dir=args.data_dir)
            for row in rows:
                record = {"budget": budget, "status": row["status"], "reason": row.get("reason"),
                          "train_seconds": row.get("train_seconds"), "training_length": row.get("training_length")}
                record |= {k: row[k] for k in HEADLINE if row.get(k) is not None}
                metrics = RunDir(out / "runs" / row["name"]).read_metrics() if row["status"] == "ok" else []
                if "bits_per_char" in row:
                    per_char = row["tokens"] / row["characters"] / math.log(2)
                    record["validation_curve"] = [[round(m["seconds"], 2), m["val_loss"] * per_char]
                                                  for m in metrics if m.get("val_loss") is not None]
                results["rows"].setdefault(row["name"], []).append(record)
            results[f"wall_seconds_budget_{budget:g}"] = time.perf_counter() - start
    results["load_average_at_end"] = os.getloadavg()
    print(f"\n{'entry':<16}" + "".join(f"{'budget ' + format(b, 'g'):>22}" for b in budgets))
    for name, records in results["rows"].items():
        cells = []
        for record in records:
            key = next((k for k in HEADLINE if k in record), None)
            cells.append(f"{key.split('_')[0]} {record[key]:.3f} ({record['train_seconds']:.0f} s)" if key else "failed")
        print(f"{name:<16}" + "".join(f"{c:>22}" for c in cells))
    path = Path(args.out) if args.out else RESULTS / f"compare_budget_{args.corpus}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
