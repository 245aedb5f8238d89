"""The main job: train every family on one corpus, score all through the one harness, plot and tabulate.

Each entry is a family with a few config overrides (several n-gram orders, say). Results are
written (atomically) after every entry, so nothing finished is lost; `resume=True` reuses a
finished row only when corpus, preset, budget, seed and determinism match; an entry that fails
is recorded with its reason and the others still run. gzip, bz2 and xz close the table
(`lmzoo.compression`: not language models, a column of their own); every run directory gets a
MODEL_CARD.md, every language model a `surprisal.json` of one test paragraph, and the job ends by
writing index.html (`lmzoo.report`). One progress line per entry says the time elapsed and left.

Same seed, same table: Python, NumPy and Keras are seeded, and the compiled (XLA) CPU runs are
reproducible as they are (tests/test_compare.py checks it with `jit_compile` on). TensorFlow's op
determinism is NOT switched on by default, because Keras then silently drops `jit_compile=True`
("Proceeding with jit_compile=False") and trains 2-3x slower; `deterministic=True`
(`--deterministic`) switches it on, turns XLA off explicitly in every config, and the table's
header says so. Any entry that trains without the compilation its config asks for fails loudly.

Example:
    >>> compare("lee", Path("runs/compare"), quick=True, entries=["unigram"])  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import random
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmzoo import plots
from lmzoo.compression import compression_rows
from lmzoo.config import to_dict
from lmzoo.console import Progress
from lmzoo.datasets.corpus import Corpus, load_corpus
from lmzoo.errors import LmzooError, no_silent_jit_fallback
from lmzoo.families import get_family, make_config
from lmzoo.harness import evaluate
from lmzoo.model_card import write_model_card
from lmzoo.protocols import LanguageModel
from lmzoo.runs import RunDir, check_interrupted, fingerprint, library_versions
from lmzoo.surprisal import paragraph_surprisal


@dataclass(frozen=True)
class Entry:
    """One row of the comparison: a family trained with these config overrides.

    `default_overrides` apply on top of the "default" preset only: the length of training that the
    main job's time budget gives a neural family (its "quick" preset stays as it is for the tests).
    """

    name: str
    family: str
    overrides: dict[str, Any] = field(default_factory=dict)
    default_overrides: dict[str, Any] = field(default_factory=dict)


# The main job must finish in 5 minutes on a slow day of a 2-core CPU (these machines differ 2-3x
# from day to day): `default_overrides` fit the neural families into that budget (measured on
# 2026-11-27, a slow day: 75-90 ms per Transformer step with XLA). `--budget 4` trains them longer.
ENTRIES: tuple[Entry, ...] = (
    Entry("unigram", "unigram"),
    Entry("ngram-2", "ngram", {"order": 2}),
    Entry("ngram-3", "ngram", {"order": 3}),
    Entry("ngram-5", "ngram", {"order": 5}),
    Entry("ngram-char-6", "ngram", {"order": 6, "tokenizer": "char"}),
    Entry("word2vec", "word2vec", default_overrides={"epochs": 10}),
    Entry("word2vec-gensim", "word2vec-gensim", default_overrides={"epochs": 10}),  # the same settings
    Entry("seq2seq", "seq2seq", default_overrides={"epochs": 4.0}),
    Entry("rnnlm", "rnnlm", default_overrides={"steps": 350, "eval_every": 175}),
    Entry("transformer", "transformer", default_overrides={"steps": 800, "eval_every": 200}),
)
# Columns of results.md, in order; a column appears only if some row has it.
COLUMNS = (
    ("name", "model"), ("tokenizer", "tokens"), ("params", "params"), ("bits_per_char", "bits/char"),
    ("bits_per_char_closed", "closed bits/char"), ("unk_rate", "unk"),
    ("perplexity", "ppl/token (closed)"), ("perplexity_per_word", "ppl/word (closed)"),
    ("conditional_bits_per_char", "cond. bits/char"), ("compressor_bits_per_char", "compressor bits/char"),
    ("reconstruction_token_accuracy", "recon. acc"),
    ("wordsim353_spearman", "WS353 ρ"), ("wordsim353_pairs", "WS353 pairs"), ("wordsim353_ci90", "WS353 ±90%"),
    ("simlex999_spearman", "SimLex ρ"), ("analogy_accuracy", "analogy"),
    ("train_seconds", "train s"), ("tokens_per_second", "train tok/s"), ("training_length", "trained"),
    ("jit_compile", "XLA"),
    ("status", "status"),
)
# Fields that measure time, not quality: left out when checking that a seed reproduces a table.
TIMING_FIELDS = ("train_seconds", "tokens_per_second", "score_tokens_per_second", "tokens_seen", "wall_seconds")
# What a finished row was made with: --resume reuses it only if all of these match.
RUN_KEYS = ("corpus", "preset", "budget", "seed", "deterministic")
SURPRISAL_FILE = "surprisal.json"  # in each language model's run directory: the page's per-character view


def scale_config(config: Any, budget: float) -> Any:
    """Scale the training length (`epochs` or `steps` fields) of a config by `budget`, and with `steps`
    its warm-up (the same share of the run) and `eval_every` (the same number of evaluations).

    Example:
        >>> from lmzoo.models.rnnlm import RNNLMConfig
        >>> scaled = scale_config(RNNLMConfig(steps=350, eval_every=175, warmup_steps=50), 0.25)
        >>> scaled.steps, scaled.eval_every, scaled.warmup_steps
        (88, 44, 13)
    """
    names = {f.name for f in dataclasses.fields(config)}
    changes = {n: max(1, math.ceil(getattr(config, n) * budget)) for n in ("epochs", "steps") if n in names}
    if "steps" in names and "warmup_steps" in names:
        changes["warmup_steps"] = min(math.ceil(config.warmup_steps * budget), changes["steps"])
    if "steps" in names and "eval_every" in names:  # chunks of equal length, as many as before
        chunks = math.ceil(config.steps / config.eval_every) if config.steps else 1
        changes["eval_every"] = math.ceil(changes["steps"] / chunks)
    return dataclasses.replace(config, **changes) if changes else config


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and Keras/TF; `deterministic` also turns on TF op determinism (no XLA)."""
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)
    if deterministic:
        if keras.config.backend() != "tensorflow":
            raise LmzooError(f"--deterministic switches on TensorFlow's op determinism; the backend is "
                             f"{keras.config.backend()}", "drop --deterministic, or set KERAS_BACKEND=tensorflow")
        import tensorflow as tf  # only here: a JAX-only install has no TensorFlow

        tf.config.experimental.enable_op_determinism()


def training_length(config: Any) -> str:
    """The `epochs`/`steps` a config trains for, as the table shows it (e.g. "1,200 steps")."""
    names = {f.name for f in dataclasses.fields(config)}
    return ", ".join(f"{getattr(config, n):,} {n}" for n in ("steps", "epochs") if n in names)


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


def entry_config(entry: Entry, preset: str, budget: float, seed: int, deterministic: bool = False) -> Any:
    """The config an entry trains with: its preset and overrides, the seed, scaled by `budget`."""
    family = get_family(entry.family)
    overrides = {**entry.overrides, **(entry.default_overrides if preset == "default" else {}), "seed": seed}
    config = scale_config(make_config(family, preset, overrides), budget)
    if deterministic and "jit_compile" in {f.name for f in dataclasses.fields(config)}:
        config = dataclasses.replace(config, jit_compile=False)  # op determinism and XLA exclude each other
    return config


def config_fingerprint(entry: Entry, config: Any, corpus: Corpus) -> str:
    """A short hash of what an entry's row depends on (family, config, corpus): `--resume` reuses a
    row only while it matches, so a changed preset or ENTRIES line retrains that entry."""
    settings = fingerprint(get_family(entry.family).name, to_dict(config), corpus)
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _run_entry(entry: Entry, corpus: Corpus, out: Path, preset: str, budget: float, seed: int,
               deterministic: bool = False, resume: bool = False) -> dict:
    family = get_family(entry.family)
    config = entry_config(entry, preset, budget, seed, deterministic)
    with RunDir(out / "runs" / entry.name).locked() as run:
        return _train_entry(entry, family, config, corpus, run, preset, seed, deterministic, resume)


def _train_entry(entry: Entry, family: Any, config: Any, corpus: Corpus, run: RunDir, preset: str, seed: int,
                 deterministic: bool, resume: bool) -> dict:
    settings = to_dict(config)
    claim = {"family": family.name, "config": settings, "fingerprint": fingerprint(family.name, settings, corpus),
             **corpus.provenance(), "preset": preset, "compare_entry": entry.name}
    try:  # --resume continues an interrupted entry trained with the same settings...
        run.begin(**claim, overwrite=not resume)
    except LmzooError:  # ...and starts any other over; without --resume every entry starts over
        run.begin(**claim, overwrite=True)
    seed_everything(seed, deterministic)
    with no_silent_jit_fallback(entry.name, "do not enable TF op determinism, or pass --deterministic"):
        model = family.train(config, corpus, run)
    row = evaluate(model, corpus, "test", run=run, seed=seed)
    row["training_length"] = training_length(config)
    if "jit_compile" in {f.name for f in dataclasses.fields(config)}:
        row["jit_compile"] = config.jit_compile
    if isinstance(model, LanguageModel):  # the page's per-character view of one test paragraph
        try:
            run.write_json(SURPRISAL_FILE, paragraph_surprisal(model, corpus, seed=seed))
        except LmzooError as err:
            row["surprisal_error"] = str(err)
    row["config_fingerprint"] = config_fingerprint(entry, config, corpus)
    run.write_json("results.json", row)
    write_model_card(run, corpus)
    return row


def format_value(value: Any) -> str:
    """A cell of the results table, as results.md and the page show it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "–" if value is None else str(value)


def table_columns(rows: list[dict]) -> list[tuple[str, str]]:
    """(key, title) of the results table's columns: those of COLUMNS that some row has."""
    return [(k, title) for k, title in COLUMNS if any(r.get(k) is not None for r in rows)]


# What the table's figures mean, in the words results.md and the page both use.
TABLE_NOTE = ("bits/char is open-vocabulary (Mielke et al. 2019): the NLL plus, for every unknown token, the cost "
              "of spelling its characters under a character model fitted on the training split and, for a word "
              "or subword tokenizer, the cost of the layout it drops between words, / ln 2 / characters of the "
              "text, so every model pays for every character; closed bits/char and ppl leave spelling and layout "
              "out (unk = share of unknown tokens); cond. = the autoencoder's decoder, which sees its "
              "input (not comparable with a language model); compressor = gzip, bz2 or xz coding the test text "
              "after the training text (not a language model: the floor every model must beat).")


def results_markdown(rows: list[dict], corpus: Corpus, header: str = "", compressors: list[dict] | None = None) -> str:
    """The results table as Markdown (only the columns some row has); compressor rows come last."""
    table = rows + (compressors or [])
    columns = table_columns(table)
    lines = [header, f"Corpus `{corpus.name}` ({corpus.source}); scored on the test split "
             f"({len(corpus.test):,} characters). {TABLE_NOTE}", "",
             "| " + " | ".join(t for _, t in columns) + " |", "|" + "---|" * len(columns)]
    for row in table:
        lines.append("| " + " | ".join(format_value(row.get(k)) for k, _ in columns) + " |")
    failed = [r for r in rows if r.get("status") == "failed"]
    lines += [""] + [f"- {r['name']} failed: {r.get('reason', '')}" for r in failed]
    return "\n".join(lines).strip() + "\n"


def make_figures(rows: list[dict], out: Path) -> list[Path]:
    """The comparison figures, from the rows and each run's metrics.jsonl."""
    ok = [r for r in rows if r.get("status") == "ok"]
    lm = [r for r in ok if "bits_per_char" in r]  # language models only: conditional rows stay out
    figures = [plots.bar_chart(lm, "bits_per_char", out / "bits_per_char.png",
                               title="Open-vocabulary bits per character on the test split (lower is better)")]
    figures.append(plots.learning_curve_panels(*_curves(ok, out), out / "learning_curves.png"))
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


def _curves(rows: list[dict], out: Path) -> tuple[dict, dict]:
    """Validation bits/char against wall time for the language models, and each other loss by family.

    A language model logs its validation loss in nats per token; times tokens per character of
    the scored text and / ln 2 that is closed-vocabulary bits per character (the curves show the
    trend; the table has the open figure).
    """
    lm_curves: dict[str, list[dict]] = {}
    other: dict[str, dict[str, list[dict]]] = {}
    for r in rows:
        metrics = RunDir(out / "runs" / r["name"]).read_metrics()
        if "bits_per_char" in r and any(m.get("val_loss") is not None for m in metrics):
            per_char = r["tokens"] / r["characters"] / math.log(2)
            lm_curves[r["name"]] = [{"seconds": m["seconds"], "bits_per_char": m["val_loss"] * per_char}
                                    for m in metrics if m.get("val_loss") is not None and "seconds" in m]
        elif any(m.get("loss") is not None for m in metrics):
            other.setdefault(r["family"], {})[r["name"]] = metrics
    return lm_curves, other


def compressor_rows(corpus: Corpus) -> list[dict]:
    """gzip, bz2 and xz as table rows (`lmzoo.compression`): not language models, never ranked with them."""
    start = time.perf_counter()
    rows = [{"name": r["model"], "family": "compressor", "kind": r["kind"], "compressor_bits_per_char": r["bits_per_char"],
             "status": "ok"} for r in compression_rows(corpus.train, corpus.test)]
    print(f"compressors (gzip, bz2, xz) in {time.perf_counter() - start:.1f} s: "
          + ", ".join(f"{r['name']} {r['compressor_bits_per_char']:.3g}" for r in rows) + " bits/char", flush=True)
    return rows


def _write_results(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def compare(
    corpus_name: str = "lee", out: Path = Path("runs/compare"), *, quick: bool = False, budget: float = 1.0,
    seed: int = 0, entries: list[str] | None = None, resume: bool = False, data_dir: str | None = None,
    deterministic: bool = False,
) -> list[dict]:
    """Train, evaluate and compare every entry; writes results.json, results.md and PNG figures to `out`."""
    if budget <= 0:
        raise LmzooError(f"--budget {budget} must be > 0", "1 is the default; 4 trains four times longer")
    out = Path(out)
    with RunDir(out).locked():  # fails early if `out` is not writable; a second compare into it is refused
        return _compare(corpus_name, out, quick=quick, budget=budget, seed=seed, entries=entries, resume=resume,
                        data_dir=data_dir, deterministic=deterministic)


def _compare(corpus_name: str, out: Path, *, quick: bool, budget: float, seed: int, entries: list[str] | None,
             resume: bool, data_dir: str | None, deterministic: bool) -> list[dict]:
    corpus = load_corpus(corpus_name, data_dir)
    selected = _select(entries)
    preset = "quick" if quick else "default"
    results_path = out / "results.json"
    meta = {"corpus": corpus.name, "preset": preset, "budget": budget, "seed": seed, "deterministic": deterministic,
            "date": time.strftime("%Y-%m-%d"), "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "versions": library_versions()}
    previous = {}
    try:
        saved = json.loads(results_path.read_text()) if results_path.exists() else {}
    except json.JSONDecodeError:
        saved = {}
    saved = saved if isinstance(saved, dict) else {}
    mismatch = [k for k in RUN_KEYS if saved.get(k, False if k == "deterministic" else None) != meta[k]]
    if resume and saved:
        if mismatch:
            print(f"--resume: {results_path} was made with other {', '.join(mismatch)}; retraining every entry")
        else:
            previous = {r["name"]: r for r in saved.get("rows", []) if r.get("status") == "ok"}
    # The time left is estimated from the last run's seconds per entry when it had the same settings.
    expected = {} if mismatch else {r["name"]: r.get("wall_seconds") for r in saved.get("rows", [])}
    progress = Progress([e.name for e in selected], expected=expected)
    rows: list[dict] = []
    started = time.perf_counter()
    for entry in selected:
        check_interrupted()  # a signal recorded while the last entry was scored stops here
        if entry.name in previous:
            now = config_fingerprint(entry, entry_config(entry, preset, budget, seed, deterministic), corpus)
            if previous[entry.name].get("config_fingerprint") == now:
                rows.append(previous[entry.name])
                progress.skip(entry.name, "already done (--resume)")
                continue
            progress.say(entry.name, "its family, config or corpus changed since the saved row (--resume): retraining")
        progress.say(entry.name, f"training ({entry.family}, {preset})...")
        start = time.perf_counter()
        try:
            row = {"name": entry.name, **_run_entry(entry, corpus, out, preset, budget, seed, deterministic, resume),
                   "status": "ok", "wall_seconds": time.perf_counter() - start}
            summary = ", ".join(f"{k} {format_value(row[k])}" for k in ("bits_per_char", "wordsim353_spearman",
                                "reconstruction_token_accuracy") if row.get(k) is not None)
        except Exception as err:  # one family failing must not stop the others
            reason = " ".join(f"{type(err).__name__}: {err}".split())[:300]
            (out / "runs" / entry.name).mkdir(parents=True, exist_ok=True)
            (out / "runs" / entry.name / "error.log").write_text(traceback.format_exc())
            row = {"name": entry.name, "family": entry.family, "status": "failed", "reason": reason}
            summary = f"FAILED: {reason}"
        progress.done(entry.name, summary, time.perf_counter() - start)
        rows.append(row)
        _write_results(results_path, {**meta, "wall_seconds": time.perf_counter() - started, "rows": rows})
    meta["wall_seconds"] = time.perf_counter() - started
    compressors = compressor_rows(corpus)
    _write_results(results_path, {**meta, "rows": rows, "compressors": compressors})
    header = (f"# lmzoo compare ({preset}, budget {budget:g}, seed {seed}"
              + (", deterministic ops: XLA off" if deterministic else "") + ")\n\n"
              f"{meta['date']}, {os.cpu_count()} CPUs ({platform.machine()}), wall time {meta['wall_seconds']:.0f} s "
              "for the entries trained in this run.\n")
    (out / "results.md").write_text(results_markdown(rows, corpus, header, compressors))
    make_figures(rows, out)
    from lmzoo.report import write_report  # the page reads what was just written

    page = write_report(out, data_dir=data_dir)
    print()
    print(results_markdown(rows, corpus, compressors=compressors))
    print(f"wrote {out / 'results.json'}, {out / 'results.md'}, figures and {page.name} in {out}")
    return rows


def comparable(rows: list[dict]) -> list[dict]:
    """Rows without timing fields: what a fixed seed must reproduce exactly."""
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows]


__all__ = ["ENTRIES", "Entry", "compare", "comparable"]
