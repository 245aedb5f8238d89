"""Word2Vec benchmark: Keras skip-gram/CBOW against gensim on PTB and tiny Shakespeare.

Every run goes through the same `lmzoo.train` call and the same `harness.score_embeddings`
(the gensim baseline is the `word2vec-gensim` family), with dimension 100, window 5, 5
negatives, 5 epochs, min_count 5 and subsampling 1e-3. Reported per run: WordSim353 and
SimLex-999 Spearman, analogy accuracy, words/s (training words before subsampling, times
epochs, over training seconds), wall time and peak resident memory during training.

Targets (../shared/PERFORMANCE.md): Keras skip-gram within 0.02 WordSim353 Spearman of
gensim skip-gram (means over seeds), and Keras words/s at least 0.3x gensim's.

Example:
    PYTHONSAFEPATH=1 .venv/bin/python benchmarks/word2vec.py --seeds 3
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from lmzoo import load_corpus, train
from lmzoo.harness import score_embeddings
from lmzoo.runs import RunDir, library_versions

ROOT = Path(__file__).resolve().parent.parent
RUNS = [("keras", "skipgram"), ("gensim", "skipgram"), ("keras", "cbow"), ("gensim", "cbow")]
SETTINGS = {"dimension": 100, "window": 5, "negatives": 5, "epochs": 5, "min_count": 5, "sample": 1e-3}


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class PeakMemory:
    """Samples this process's resident memory every 20 ms (ru_maxrss never goes down between runs)."""

    def __enter__(self) -> PeakMemory:
        self.before = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_one(library: str, arch: str, corpus, seed: int, workers: int) -> dict:
    family = "word2vec" if library == "keras" else "word2vec-gensim"
    with tempfile.TemporaryDirectory() as out, PeakMemory() as memory:
        start = time.perf_counter()
        model = train(family, corpus, out, preset="default", arch=arch, seed=seed, workers=workers, **SETTINGS)
        wall = time.perf_counter() - start
        timing = RunDir(out).timing()
        losses = [r["loss"] for r in RunDir(out).read_metrics() if "epoch" in r and r.get("loss") is not None]
    scores = score_embeddings(model)
    return {
        "corpus": corpus.name, "library": library, "arch": arch, "seed": seed,
        "wordsim353_spearman": scores["wordsim353_spearman"], "wordsim353_oov": scores["wordsim353_oov"],
        "simlex999_spearman": scores["simlex999_spearman"], "simlex999_oov": scores["simlex999_oov"],
        "analogy_accuracy": scores["analogy_accuracy"], "analogy_covered": scores["analogy_covered"],
        "vocabulary_words": scores["vocabulary_words"],
        "words_per_second": timing["tokens_per_second"], "train_seconds": timing["train_seconds"],
        "wall_seconds": wall, "peak_rss_mb": memory.peak, "rss_increase_mb": memory.peak - memory.before,
        "epoch_losses": losses,
    }


def summarise(rows: list[dict]) -> list[dict]:
    """Mean (and spread) over seeds of each (corpus, library, arch)."""
    out = []
    keys = sorted({(r["corpus"], r["library"], r["arch"]) for r in rows}, key=lambda k: (k[0], k[2], k[1]))
    for corpus, library, arch in keys:
        group = [r for r in rows if (r["corpus"], r["library"], r["arch"]) == (corpus, library, arch)]
        row = {"corpus": corpus, "library": library, "arch": arch, "seeds": len(group)}
        for metric in ("wordsim353_spearman", "simlex999_spearman", "analogy_accuracy", "words_per_second",
                       "wall_seconds", "peak_rss_mb", "rss_increase_mb"):
            values = np.array([r[metric] for r in group if r[metric] is not None], dtype=float)
            row[metric] = float(values.mean()) if len(values) else None
            if metric == "wordsim353_spearman" and len(values) > 1:
                row["wordsim353_spearman_std"] = float(values.std(ddof=1))
        out.append(row)
    return out


def targets(summary: list[dict]) -> list[dict]:
    out = []
    for corpus in sorted({r["corpus"] for r in summary}):
        for arch in ("skipgram", "cbow"):
            get = {r["library"]: r for r in summary if r["corpus"] == corpus and r["arch"] == arch}
            if {"keras", "gensim"} <= get.keys():
                keras_, gensim_ = get["keras"], get["gensim"]
                gap = keras_["wordsim353_spearman"] - gensim_["wordsim353_spearman"]
                speed = keras_["words_per_second"] / gensim_["words_per_second"]
                out.append({"corpus": corpus, "arch": arch, "wordsim353_gap": gap, "speed_ratio": speed,
                            "wall_ratio": keras_["wall_seconds"] / gensim_["wall_seconds"],
                            "wordsim_within_0.02": abs(gap) <= 0.02 or gap > 0, "speed_at_least_0.3x": speed >= 0.3})
    return out


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA", str((ROOT / "../shared/corpora").resolve())))
    parser.add_argument("--corpora", default="ptb,tinyshakespeare")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per run (means are reported)")
    parser.add_argument("--workers", type=int, default=2, help="gensim threads")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/word2vec.json"))
    args = parser.parse_args()

    rows = []
    for name in args.corpora.split(","):
        corpus = load_corpus(name, args.data_dir)
        for seed in range(args.seeds):
            for library, arch in RUNS:
                row = run_one(library, arch, corpus, seed, args.workers)
                rows.append(row)
                print(f"{name:<16} {library:<7} {arch:<9} seed {seed}: WS353 {_fmt(row['wordsim353_spearman'], '.3f')} "
                      f"{row['words_per_second']:>9,.0f} words/s {row['wall_seconds']:6.1f} s", flush=True)
    summary = summarise(rows)
    verdicts = targets(summary)

    print(f"\nmeans over {args.seeds} seed(s); dim 100, window 5, 5 negatives, 5 epochs, min_count 5, sample 1e-3")
    header = f"{'corpus':<16} {'run':<16} {'WS353':>7} {'SimLex':>7} {'analogy':>8} {'words/s':>10} {'wall s':>7} {'peak MB':>8}"
    print(header + "\n" + "-" * len(header))
    for r in summary:
        print(f"{r['corpus']:<16} {r['library'] + ' ' + r['arch']:<16} {_fmt(r['wordsim353_spearman'], '7.3f')} "
              f"{_fmt(r['simlex999_spearman'], '7.3f')} {_fmt(r['analogy_accuracy'], '8.3f')} "
              f"{r['words_per_second']:>10,.0f} {r['wall_seconds']:>7.1f} {r['peak_rss_mb']:>8.0f}")
    print()
    for v in verdicts:
        print(f"{v['corpus']:<16} {v['arch']:<9} WS353 keras - gensim {v['wordsim353_gap']:+.3f} "
              f"({'ok' if v['wordsim_within_0.02'] else 'MISSED'}); words/s ratio {v['speed_ratio']:.2f}x "
              f"({'ok' if v['speed_at_least_0.3x'] else 'MISSED'}); wall ratio {v['wall_ratio']:.2f}x")

    result = {
        "benchmark": "word2vec",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpu_count": os.cpu_count(),
                    "note": "2 cores shared with other agents' jobs: timings are noisy"},
        "versions": library_versions(),
        "settings": SETTINGS | {"gensim_workers": args.workers, "seeds": args.seeds},
        "summary": summary, "targets": verdicts, "runs": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
