"""The crossover atlas: at what amount of training text does each neural family overtake counting?

Every model is trained on nested prefixes of `imdb-unsup`'s training reviews (about 10^5, 10^6,
10^7 characters and all 6.2·10^7; each a random sample of whole reviews) and scored in
open-vocabulary bits per character on the same held-out test reviews (`--test-reviews`). Rows:
- counting: the character 6-gram and the word 5-gram, interpolated modified Kneser-Ney;
- neural: `rnnlm` (character and word level; the word model keeps `min_count=2` and a sampled
  softmax) and the Transformer (character level), "default" presets, `--passes` passes over the
  prefix capped at `--max-tokens` training tokens (a fixed compute budget on the larger prefixes);
- compressors: gzip, bz2, xz coding the test text after the training prefix.
Each point records its tokens, steps, parameters, training FLOPs (≈ 6·N·D), wall and CPU minutes;
the results file is rewritten after every point and a re-run skips the points it holds. A crossing
is where a neural curve goes below the best counting model's, interpolated linearly in
log(characters); where none occurs the results and the figure say so.

Usage:
    .venv/bin/python benchmarks/crossover.py --data-dir ../shared/corpora
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import resource
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

COUNTING = {"char-6gram": ("ngram", {"order": 6, "tokenizer": "char"}),
            "word-5gram": ("ngram", {"order": 5, "tokenizer": "word"})}
NEURAL = {"rnnlm-char": ("rnnlm", {"tokenizer": "char"}),
          "rnnlm-word": ("rnnlm", {"tokenizer": "word", "min_count": 2, "sampled_softmax": 1024}),
          "transformer": ("transformer", {"tokenizer": "char"})}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> float:
    return round(os.getloadavg()[0], 1)


def first_lines(text: str, count: int) -> str:
    return "".join(line + "\n" for line in text.split("\n")[:count])


def prefix(text: str, size: int) -> str:
    """The whole reviews that fit in `size` characters (at least one)."""
    if size >= len(text):
        return text
    cut = text.rfind("\n", 0, size)
    return text[: cut + 1] if cut > 0 else text[: text.index("\n") + 1]


def neural_length(train_tokens: int, tokens_per_step: int, passes: float, max_tokens: int) -> tuple[int, int]:
    """Steps (a multiple of 200, at least 200) for `passes` over the tokens, capped; and eval_every."""
    steps = min(passes * train_tokens, max_tokens) / tokens_per_step
    steps = max(200, 200 * math.ceil(steps / 200))
    return steps, steps // 4


def run_point(name: str, corpus, size_label: str, args: argparse.Namespace) -> dict:
    import lmzoo
    from lmzoo.compression import compression_bits_per_char
    from lmzoo.errors import no_silent_jit_fallback
    from lmzoo.families import get_family, make_config
    from lmzoo.harness import count_words, score_text, spelling_model

    row: dict = {"model": name, "size": size_label, "train_chars": len(corpus.train),
                 "train_words": count_words(corpus.train), "load_before": load_average()}
    wall, cpu = time.perf_counter(), cpu_seconds()
    if name in ("gzip", "bz2", "xz"):
        row |= {"kind": "compressor", "bits_per_char": compression_bits_per_char(corpus.train, corpus.test, name)}
    else:
        family, overrides = (COUNTING | NEURAL)[name]
        overrides = {**overrides, "seed": args.seed}
        if name in NEURAL:
            config = make_config(get_family(family), "default", overrides)
            train_tokens = len(corpus.train) if config.tokenizer == "char" else row["train_words"]
            tokens_per_step = config.batch_size * config.context
            steps, eval_every = neural_length(train_tokens, tokens_per_step, args.passes, args.max_tokens)
            overrides |= {"steps": steps, "eval_every": eval_every, "eval_batches": 10}
            row |= {"steps": steps, "tokens_seen": steps * tokens_per_step,
                    "passes": round(steps * tokens_per_step / train_tokens, 2)}
        out = Path(args.work) / size_label / name
        with no_silent_jit_fallback(f"{name} at {size_label}"):
            model = lmzoo.train(family, corpus, out, preset="default", overwrite=True, **overrides)
        row["train_wall_minutes"] = (time.perf_counter() - wall) / 60
        row["train_cpu_minutes"] = (cpu_seconds() - cpu) / 60
        scores = score_text(model, corpus.test, spelling_model(corpus))
        row |= {"kind": "neural" if name in NEURAL else "counting", "params": int(model.num_params()),
                "tokenizer": model.tokenizer.kind, "vocabulary_size": int(model.tokenizer.vocabulary_size()),
                "bits_per_char": scores["bits_per_char"], "bits_per_char_closed": scores["bits_per_char_closed"],
                "unk_rate": scores.get("unk_rate")}
        if name in NEURAL:
            row["train_flops"] = 6.0 * row["params"] * row["tokens_seen"]
    row["wall_minutes"] = (time.perf_counter() - wall) / 60
    row["cpu_minutes"] = (cpu_seconds() - cpu) / 60
    row["load_after"] = load_average()
    return row


def embedding_rows(corpus, size_label: str, args: argparse.Namespace) -> list[dict]:
    """Counting against prediction for word vectors on one prefix: the word 5-gram's PPMI + SVD vectors
    (its symmetric window of 2) and Word2Vec skip-gram with the same window and dimension."""
    import lmzoo
    from lmzoo.errors import no_silent_jit_fallback
    from lmzoo.harness import count_words, score_embeddings

    words = count_words(corpus.train)
    rows = []
    for name, family, overrides in (
            ("PPMI + SVD (word 5-gram's counts)", "ngram", {**COUNTING["word-5gram"][1], "embedding_window": 2}),
            ("Word2Vec skip-gram", "word2vec", {"window": 2, "dimension": 100, "min_count": 2,
                                                "epochs": max(1, min(5, round(args.pretrain_word_budget / words)))})):
        out = Path(args.work) / size_label / ("word-5gram" if family == "ngram" else "word2vec")
        wall, cpu = time.perf_counter(), cpu_seconds()
        done = out.joinpath("COMPLETE").exists()
        with no_silent_jit_fallback(f"{name} at {size_label}"):
            model = lmzoo.load(out) if done else lmzoo.train(family, corpus, out, overwrite=True, seed=args.seed,
                                                             **overrides)
        scores = score_embeddings(model)
        rows.append({"model": name, "kind": "counting" if family == "ngram" else "neural", "size": size_label,
                     "train_chars": len(corpus.train), "train_words": words, "settings": overrides,
                     "reused_counting_run": done, "wall_minutes": (time.perf_counter() - wall) / 60,
                     "cpu_minutes": (cpu_seconds() - cpu) / 60, "load_after": load_average(),
                     **{k: scores.get(k) for k in ("wordsim353_spearman", "simlex999_spearman", "analogy_accuracy",
                                                   "wordsim353_oov", "simlex999_oov", "vocabulary_words")}})
        print(f"embeddings {size_label:>4} {name}: WS353 {scores.get('wordsim353_spearman')}, "
              f"SimLex {scores.get('simlex999_spearman')}, analogy {scores.get('analogy_accuracy')}", flush=True)
    return rows


def crossing(points: list[tuple[int, float]]) -> tuple[float | None, str]:
    """Where a gap (neural minus counting bits/char, by training characters) changes sign, in log x.

    Returns the first size at which the neural model is ahead (interpolated; the smallest size if
    it is ahead there), or None, and a note naming every change of sign.
    """
    if not points:
        return None, "not measured"
    events, first = [], float(points[0][0]) if points[0][1] <= 0 else None
    if first is not None:
        events.append(f"ahead at the smallest size ({points[0][0]:,} characters)")
    for (x0, gap0), (x1, gap1) in zip(points, points[1:], strict=False):
        if (gap0 > 0) != (gap1 > 0):
            t = gap0 / (gap0 - gap1)
            x = float(10 ** (math.log10(x0) + t * (math.log10(x1) - math.log10(x0))))
            events.append(f"{'overtakes' if gap1 <= 0 else 'falls behind'} at ≈{x:,.0f} characters "
                          f"(between {x0:,} and {x1:,}, interpolated in log x)")
            first = x if first is None and gap1 <= 0 else first
    x, gap = points[-1]
    end = f"at {x:,} characters it is {abs(gap):.3f} bits/char {'ahead' if gap <= 0 else 'behind'}"
    return first, ("; ".join(events) + "; " if events else "does not cross within the sweep: ") + end


def crossings(rows: list[dict]) -> list[dict]:
    """Where each neural family's bits/char first goes below the best counting model's (and each one's)."""
    by_size: dict[int, dict[str, float]] = {}
    for r in rows:
        by_size.setdefault(r["train_chars"], {})[r["model"]] = r["bits_per_char"]
    found = []
    for family in NEURAL:
        for against in ("best counting model", *COUNTING):
            points = []
            for size, scores in sorted(by_size.items()):
                counting = [scores[name] for name in COUNTING if name in scores]
                reference = min(counting) if against == "best counting model" and counting else scores.get(against)
                if family in scores and reference is not None:
                    points.append((size, scores[family] - reference))
            x, note = crossing(points)
            found.append({"family": family, "against": against, "train_chars": x, "note": note})
    return found


def markdown(results: dict) -> str:
    """The README's atlas tables, from the results file (never typed by hand)."""
    rows = results["rows"]
    sizes = sorted({r["train_chars"] for r in rows})
    names = [n for n in [*COUNTING, *NEURAL, "gzip", "bz2", "xz"] if any(r["model"] == n for r in rows)]
    lines = ["| model | kind | " + " | ".join(f"{s:.2g} chars" for s in sizes) + " |",
             "|---|---|" + "---|" * len(sizes)]
    for name in names:
        cells = {r["train_chars"]: r for r in rows if r["model"] == name}
        kind = next(r["kind"] for r in rows if r["model"] == name)
        values = []
        for size in sizes:
            r = cells.get(size)
            if r is None:
                values.append("–")
            elif r.get("steps"):
                values.append(f"{r['bits_per_char']:.3f} ({r['steps']:,} steps, {r['passes']:.2g} passes, "
                              f"{r['train_cpu_minutes']:.1f} CPU min)")
            else:
                values.append(f"{r['bits_per_char']:.3f}")
        lines.append(f"| {name} | {kind} | " + " | ".join(values) + " |")
    lines += ["", "| neural family | against | crossing |", "|---|---|---|"]
    lines += [f"| {c['family']} | {c['against']} | {c['note']} |" for c in results["crossings"]]
    embeddings = results.get("embeddings", {}).get("rows", [])
    if embeddings:
        lines += ["", "| word vectors | training words | WS353 ρ | SimLex ρ | analogy | CPU min |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['model']} | {r['train_words']:,} | {r['wordsim353_spearman']:.3f} | "
                  f"{r['simlex999_spearman']:.3f} | {r['analogy_accuracy']:.3f} | {r['cpu_minutes']:.1f} |"
                  for r in embeddings]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    fig, ax = plt.subplots(figsize=(8.5, 5.2))
    styles = {"counting": dict(linestyle="--", marker="s"), "neural": dict(linestyle="-", marker="o"),
              "compressor": dict(linestyle=":", color="grey", alpha=0.7)}
    markers = {"gzip": "v", "bz2": "^", "xz": "x"}
    for name in [*COUNTING, *NEURAL, *markers]:
        points = sorted((r["train_chars"], r["bits_per_char"]) for r in rows if r["model"] == name)
        if points:
            kind = next(r["kind"] for r in rows if r["model"] == name)
            ax.plot(*zip(*points, strict=True), label=f"{name} ({kind})", **styles[kind],
                    **({"marker": markers[name]} if name in markers else {}))
    notes = []
    for cross in (c for c in results["crossings"] if c["against"] == "best counting model"):
        if cross["train_chars"] is not None and "overtakes" in cross.get("note", ""):
            ax.axvline(cross["train_chars"], color="black", linewidth=0.6, alpha=0.5)
            ax.annotate(f"{cross['family']}\ncrosses ≈{cross['train_chars']:.2g}", (cross["train_chars"], ax.get_ylim()[1]),
                        fontsize=7, ha="left", va="top")
        notes += textwrap.wrap(f"{cross['family']} against the best counting model: {cross.get('note', '')}", 150)
    ax.set_xscale("log")
    ax.set_xlabel("training characters (imdb-unsup prefix)")
    ax.set_ylabel("test bits per character (open vocabulary)")
    cap = results["settings"]
    ax.set_title(f"Where each generation wins: IMDB reviews, neural ≤ {cap['passes']:g} passes, "
                 f"≤ {cap['max_tokens']:,} tokens", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.text(0.01, 0.01, "\n".join(notes), fontsize=6.5, va="bottom")
    fig.subplots_adjust(bottom=0.12 + 0.025 * len(notes))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA", str(ROOT.parent / "shared" / "corpora")))
    parser.add_argument("--sizes", default="1e5,1e6,1e7,all", help="training characters per point ('all': every review)")
    parser.add_argument("--neural-sizes", default="1e5,1e6,1e7", help="the sizes at which neural rows are trained")
    parser.add_argument("--models", default=",".join([*COUNTING, *NEURAL, "gzip", "bz2", "xz"]))
    parser.add_argument("--test-reviews", type=int, default=200)
    parser.add_argument("--valid-reviews", type=int, default=200)
    parser.add_argument("--passes", type=float, default=10.0)
    parser.add_argument("--max-tokens", type=int, default=2_500_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--part", choices=("bits", "embeddings", "rescore-words", "markdown"), default="bits",
                        help="bits: the bits/char atlas; embeddings: PPMI + SVD against Word2Vec on --embedding-sizes; "
                             "rescore-words: score the saved word-level runs again with today's harness")
    parser.add_argument("--embedding-sizes", default="1e6,1e7,all")
    parser.add_argument("--pretrain-word-budget", type=float, default=2.5e7,
                        help="Word2Vec passes over a prefix, capped at this many words in all (1-5 passes)")
    parser.add_argument("--work", default=str(ROOT / "runs" / "crossover"))
    parser.add_argument("--out", default=str(RESULTS / "crossover.json"))
    args = parser.parse_args(argv)

    import dataclasses

    from lmzoo.datasets import load_corpus

    out = Path(args.out)
    full = load_corpus("imdb-unsup", args.data_dir)
    base = dataclasses.replace(full, test=first_lines(full.test, args.test_reviews),
                               valid=first_lines(full.valid, args.valid_reviews))
    settings = {k: getattr(args, k) for k in ("sizes", "neural_sizes", "test_reviews", "valid_reviews", "passes",
                                               "max_tokens", "seed")}
    results = json.loads(out.read_text()) if out.exists() else {}
    if results.get("settings") != settings:
        results = {"settings": settings, "rows": []}
    results |= {"command": "benchmarks/crossover.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                "corpus": full.source,
                "test": {"reviews": args.test_reviews, "characters": len(base.test)}}
    if args.part == "embeddings":
        rows = [r for size in args.embedding_sizes.split(",") for r in embedding_rows(
            dataclasses.replace(base, name=f"imdb-unsup-{size}",
                                train=prefix(full.train, len(full.train) if size == "all" else int(float(size)))),
            size, args)]
        results["embeddings"] = {"command": "benchmarks/crossover.py " + " ".join(argv or sys.argv[1:]),
                                 "date": results["date"], "rows": rows}
        out.write_text(json.dumps(results, indent=1) + "\n")
        return 0
    if args.part == "markdown":
        print(markdown(json.loads(out.read_text())))
        return 0
    if args.part == "rescore-words":  # e.g. after the harness began charging word models for layout
        import lmzoo
        from lmzoo.harness import score_text, spelling_model

        for row in results["rows"]:
            if row.get("tokenizer") == "word":
                chars = len(full.train) if row["size"] == "all" else int(float(row["size"]))
                corpus = dataclasses.replace(base, name=f"imdb-unsup-{row['size']}", train=prefix(full.train, chars))
                scores = score_text(lmzoo.load(Path(args.work) / row["size"] / row["model"]), corpus.test,
                                    spelling_model(corpus))
                row["bits_per_char_before_rescoring"] = row["bits_per_char"]
                row |= {"bits_per_char": scores["bits_per_char"], "rescored": results["date"]}
                print(f"{row['size']:>4} {row['model']}: {row['bits_per_char_before_rescoring']:.4f} -> "
                      f"{row['bits_per_char']:.4f}", flush=True)
        results["crossings"] = crossings(results["rows"])
        out.write_text(json.dumps(results, indent=1) + "\n")
        plot(results, out.with_suffix(".png"))
        return 0
    done = {(r["model"], r["size"]) for r in results["rows"]}
    models = args.models.split(",")
    neural_sizes = set(args.neural_sizes.split(","))
    plan = [(size, name) for size in args.sizes.split(",") for name in models
            if name not in NEURAL or size in neural_sizes]
    started = time.perf_counter()
    for number, (size, name) in enumerate(plan, 1):
        if (name, size) in done:
            continue
        chars = len(full.train) if size == "all" else int(float(size))
        corpus = dataclasses.replace(base, name=f"imdb-unsup-{size}", train=prefix(full.train, chars))
        row = run_point(name, corpus, size, args)
        results["rows"].append(row)
        results["crossings"] = crossings(results["rows"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n")
        elapsed = (time.perf_counter() - started) / 60
        print(f"[{number}/{len(plan)}] {size:>4} {name:12s} {row['bits_per_char']:.3f} bits/char "
              f"({row['wall_minutes']:.1f} min, load {row['load_after']}; {elapsed:.0f} min so far)", flush=True)
    results["crossings"] = crossings(results["rows"])
    out.write_text(json.dumps(results, indent=1) + "\n")
    plot(results, out.with_suffix(".png"))
    for cross in results["crossings"]:
        print(f"{cross['family']} against {cross['against']}: {cross['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
