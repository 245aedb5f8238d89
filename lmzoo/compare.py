"""The main job: train every family on one corpus, score all through the one harness, plot and tabulate.

Each entry is a family with a few config overrides (several n-gram orders, say). Results are
written after every entry, so nothing finished is lost; `resume=True` skips finished entries;
an entry that fails is recorded with its reason and the others still run.

Example:
    >>> compare("lee", Path("runs/compare"), quick=True, entries=["unigram"])  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmzoo import plots
from lmzoo.config import to_dict
from lmzoo.datasets.corpus import Corpus, load_corpus
from lmzoo.errors import LmzooError
from lmzoo.families import get_family, make_config
from lmzoo.harness import evaluate
from lmzoo.runs import RunDir


@dataclass(frozen=True)
class Entry:
    """One row of the comparison: a family trained with these config overrides."""

    name: str
    family: str
    overrides: dict[str, Any] = field(default_factory=dict)


ENTRIES: tuple[Entry, ...] = (
    Entry("unigram", "unigram"),
    Entry("ngram-2", "ngram", {"order": 2}),
    Entry("ngram-3", "ngram", {"order": 3}),
    Entry("ngram-5", "ngram", {"order": 5}),
    Entry("ngram-char-6", "ngram", {"order": 6, "tokenizer": "char"}),
    Entry("word2vec", "word2vec"),
    Entry("word2vec-gensim", "word2vec-gensim"),
    Entry("seq2seq", "seq2seq"),
    Entry("transformer", "transformer"),
)
# Columns of results.md, in order; a column appears only if some row has it.
COLUMNS = (
    ("name", "model"), ("tokenizer", "tokens"), ("params", "params"), ("bits_per_char", "bits/char"),
    ("perplexity", "ppl/token"), ("perplexity_per_word", "ppl/word"),
    ("conditional_bits_per_char", "cond. bits/char"), ("reconstruction_token_accuracy", "recon. acc"),
    ("wordsim353_spearman", "WS353 ρ"), ("simlex999_spearman", "SimLex ρ"), ("analogy_accuracy", "analogy"),
    ("train_seconds", "train s"), ("tokens_per_second", "train tok/s"), ("status", "status"),
)
# Fields that measure time, not quality: left out when checking that a seed reproduces a table.
TIMING_FIELDS = ("train_seconds", "tokens_per_second", "score_tokens_per_second", "tokens_seen")


def scale_config(config: Any, budget: float) -> Any:
    """Scale the training length (`epochs` or `steps` fields) of a config by `budget`."""
    names = {f.name for f in dataclasses.fields(config)}
    changes = {n: max(1, math.ceil(getattr(config, n) * budget)) for n in ("epochs", "steps") if n in names}
    return dataclasses.replace(config, **changes) if changes else config


def seed_everything(seed: int) -> None:
    """Same seed, same table on CPU: Python, NumPy, and Keras/TF (with deterministic ops) if loaded."""
    random.seed(seed)
    np.random.seed(seed)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _select(names: list[str] | None) -> list[Entry]:
    if not names:
        return list(ENTRIES)
    by_name = {e.name: e for e in ENTRIES}
    chosen = []
    for name in names:
        if name in by_name:
            chosen.append(by_name[name])
        else:
            get_family(name)  # a family name also works; a bad name gets the did-you-mean error
            chosen.append(Entry(name, name))
    return chosen


def _run_entry(entry: Entry, corpus: Corpus, out: Path, preset: str, budget: float, seed: int) -> dict:
    family = get_family(entry.family)
    config = scale_config(make_config(family, preset, {**entry.overrides, "seed": seed}), budget)
    run = RunDir(out / "runs" / entry.name)
    run.write_config(family.name, to_dict(config), corpus=corpus.name, preset=preset, compare_entry=entry.name)
    seed_everything(seed)
    model = family.train(config, corpus, run)
    row = evaluate(model, corpus, "test", run=run, seed=seed)
    run.write_json("results.json", row)
    return row


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "–" if value is None else str(value)


def results_markdown(rows: list[dict], corpus: Corpus, header: str = "") -> str:
    """The results table as Markdown (only the columns some row has)."""
    columns = [(k, title) for k, title in COLUMNS if any(r.get(k) is not None for r in rows)]
    lines = [header, f"Corpus `{corpus.name}` ({corpus.source}); scored on the test split "
             f"({len(corpus.test):,} characters). bits/char = NLL / ln 2 / characters of the text, the same "
             "denominator for every tokenizer; cond. = the autoencoder's decoder, which sees its input "
             "(not comparable with a language model).", "",
             "| " + " | ".join(t for _, t in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(k)) for k, _ in columns) + " |")
    failed = [r for r in rows if r.get("status") == "failed"]
    lines += [""] + [f"- {r['name']} failed: {r.get('reason', '')}" for r in failed]
    return "\n".join(lines).strip() + "\n"


def make_figures(rows: list[dict], out: Path) -> list[Path]:
    """The comparison figures, from the rows and each run's metrics.jsonl."""
    ok = [r for r in rows if r.get("status") == "ok"]
    lm = [r for r in ok if "bits_per_char" in r]
    lm += [{**r, "name": f"{r['name']} (conditional)", "bits_per_char": r["conditional_bits_per_char"]}
           for r in ok if "conditional_bits_per_char" in r]
    figures = [plots.bar_chart(lm, "bits_per_char", out / "bits_per_char.png",
                               title="Bits per character on the test split (lower is better)")]
    curves = {}
    for r in ok:
        metrics = RunDir(out / "runs" / r["name"]).read_metrics()
        if any("loss" in m for m in metrics):
            curves[r["name"]] = metrics
    figures.append(plots.learning_curves(curves, out / "learning_curves.png", title="Training loss against wall time"))
    figures.append(plots.scatter(lm, "params", "bits_per_char", out / "quality_vs_params.png", size="train_seconds",
                                 title="Quality against size and training time"))
    emb = [r for r in ok if r.get("wordsim353_spearman") is not None or r.get("analogy_accuracy")]
    figures.append(plots.grouped_bars(emb, ["wordsim353_spearman", "simlex999_spearman", "analogy_accuracy"],
                                      out / "embeddings.png", title="Word-embedding benchmarks (higher is better)"))
    # An autoencoder's "generation" rewrites its input: show it as input → reconstruction instead.
    samples = [(r["name"], r["sample"]) for r in ok if r.get("sample") and not r.get("reconstruction_examples")]
    samples += [(f"{r['name']} (input → output)", " → ".join(r["reconstruction_examples"][0]))
                for r in ok if r.get("reconstruction_examples")]
    prompt = next((r["prompt"] for r in ok if r.get("prompt")), "")
    figures.append(plots.text_table(samples, out / "samples.png", title=f"Samples (greedy) after the prompt: {prompt!r}"))
    return figures


def compare(
    corpus_name: str = "lee", out: Path = Path("runs/compare"), *, quick: bool = False, budget: float = 1.0,
    seed: int = 0, entries: list[str] | None = None, resume: bool = False, data_dir: str | None = None,
) -> list[dict]:
    """Train, evaluate and compare every entry; writes results.json, results.md and PNG figures to `out`."""
    if budget <= 0:
        raise LmzooError(f"--budget {budget} must be > 0", "1 is the default; 4 trains four times longer")
    out = Path(out)
    RunDir(out)  # fails early, with one line, if `out` is not writable
    corpus = load_corpus(corpus_name, data_dir)
    selected = _select(entries)
    preset = "quick" if quick else "default"
    results_path = out / "results.json"
    previous = {}
    if resume and results_path.exists():
        previous = {r["name"]: r for r in json.loads(results_path.read_text())["rows"] if r.get("status") == "ok"}
    rows: list[dict] = []
    meta = {"corpus": corpus.name, "preset": preset, "budget": budget, "seed": seed,
            "date": time.strftime("%Y-%m-%d"), "cpu_count": os.cpu_count()}
    for i, entry in enumerate(selected, 1):
        prefix = f"[{i}/{len(selected)}] {entry.name:<16}"
        if entry.name in previous:
            rows.append(previous[entry.name])
            print(f"{prefix} already done (--resume)", flush=True)
            continue
        print(f"{prefix} training ({entry.family}, {preset})...", flush=True)
        start = time.perf_counter()
        try:
            row = {"name": entry.name, **_run_entry(entry, corpus, out, preset, budget, seed), "status": "ok"}
            summary = ", ".join(f"{k} {_fmt(row[k])}" for k in ("bits_per_char", "wordsim353_spearman",
                                "reconstruction_token_accuracy") if row.get(k) is not None)
            print(f"{prefix} done in {time.perf_counter() - start:.1f} s: {summary}", flush=True)
        except Exception as err:  # one family failing must not stop the others
            reason = " ".join(f"{type(err).__name__}: {err}".split())[:300]
            (out / "runs" / entry.name).mkdir(parents=True, exist_ok=True)
            (out / "runs" / entry.name / "error.log").write_text(traceback.format_exc())
            row = {"name": entry.name, "family": entry.family, "status": "failed", "reason": reason}
            print(f"{prefix} FAILED: {reason}", flush=True)
        rows.append(row)
        (out / "results.json").write_text(json.dumps({**meta, "rows": rows}, indent=2, default=str) + "\n")
    (out / "results.md").write_text(results_markdown(rows, corpus, f"# lmzoo compare ({preset}, seed {seed})\n"))
    make_figures(rows, out)
    print()
    print(results_markdown(rows, corpus))
    print(f"wrote {out / 'results.json'}, {out / 'results.md'} and figures in {out}")
    return rows


def comparable(rows: list[dict]) -> list[dict]:
    """Rows without timing fields: what a fixed seed must reproduce exactly."""
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows]


__all__ = ["ENTRIES", "Entry", "compare", "comparable"]
