"""PTB n-gram benchmark: our Kneser-Ney models against SRILM's published perplexities, nltk.lm and KenLM.

What it measures, in one run on one machine:
1. PTB train -> test perplexity per token (counting `</s>`, the file's `<unk>` an ordinary word;
   82,430 test tokens) for orders 2-5, interpolated Kneser-Ney and modified Kneser-Ney, with fit
   time, scoring time, tokens/s and the number of n-grams. Published (Mikolov et al. 2011, SRILM):
   modified KN 3-gram 148.3, 5-gram 141.2; single-discount KN 5-gram about 143.5 (corpora README).
2. Peak memory of fitting and scoring the order-5 modified KN model (tracemalloc, which sees NumPy's
   buffers) and the process's maximum resident set size.
3. nltk.lm `KneserNeyInterpolated` (order 3, its default discount 0.1) against ours with the same
   discount on a subset: the first `--nltk-train` training sentences and first `--nltk-test` test
   sentences (nltk scores one token at a time in Python and cannot do all of PTB in minutes).
4. KenLM reading our order-5 ARPA file, raced in this run: its perplexity and query speed against
   our scorer's (issue 24: ours >= 1.0x KenLM's tokens/s, best of 5 each, interleaved; KenLM's load
   and our hash-index build are timed apart), and the ARPA write time (target <= 2 s).
`--query-only` runs item 4 alone (`ngram_ptb_query.json`), `--arpa-only` the ARPA write alone.

Usage:
    .venv/bin/python benchmarks/ngram_ptb.py [--data-dir ../shared/corpora] [--query-only | --arpa-only]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from importlib import metadata
from pathlib import Path

import numpy as np

from lmzoo.datasets import load_corpus
from lmzoo.datasets.tokenizers import fit_tokenizer
from lmzoo.models.arpa import nats_to_log10, write_arpa
from lmzoo.models.ngram import KeyIndex, NGramConfig, NGramLM

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = {("modified-kneser-ney", 3): 148.3, ("modified-kneser-ney", 5): 141.2, ("kneser-ney", 5): 143.5}
TEST_TOKENS = 82_430


def best_of(repeats: int, fn):
    """(fastest wall time, last result) over `repeats` calls: the machine is shared and noisy."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def perplexity(log_probs: np.ndarray) -> float:
    return math.exp(-float(np.mean(log_probs)))


def ours_on_ptb(corpus, repeats: int) -> tuple[list[dict], NGramLM]:
    tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split)
    train_ids, test_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.test)
    if len(test_ids) != TEST_TOKENS:
        raise SystemExit(f"expected {TEST_TOKENS} PTB test tokens, got {len(test_ids)}: wrong files?")
    rows, keep = [], None
    for smoothing in ("kneser-ney", "modified-kneser-ney"):
        for order in (2, 3, 4, 5):
            config = NGramConfig(order=order, smoothing=smoothing)
            fit_s, model = best_of(repeats, lambda c=config: NGramLM.from_ids(c, tokenizer, train_ids))
            score_s, log_probs = best_of(repeats, lambda m=model: m.token_log_probs(test_ids))
            ppl = perplexity(log_probs)
            published = PUBLISHED.get((smoothing, order))
            rows.append({
                "smoothing": smoothing, "order": order, "test_perplexity": ppl, "test_tokens": len(test_ids),
                "published_srilm": published,
                "relative_difference": (ppl - published) / published if published else None,
                "fit_seconds": fit_s, "fit_tokens_per_second": len(train_ids) / fit_s,
                "score_seconds": score_s, "score_tokens_per_second": len(test_ids) / score_s,
                "ngrams": int(sum(len(p) for p in model.log_probs)),
            })
            if (smoothing, order) == ("modified-kneser-ney", 5):
                keep = model
    return rows, keep


def peak_memory(corpus) -> dict:
    tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split)
    train_ids, test_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.test)
    tracemalloc.start()
    model = NGramLM.from_ids(NGramConfig(order=5, smoothing="modified-kneser-ney"), tokenizer, train_ids)
    model.token_log_probs(test_ids)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stored = sum(a.nbytes for a in model.arrays().values())
    index = sum(i.slots.nbytes for i in model.indexes[1:])
    return {"order5_fit_and_score_peak_traced_mb": peak / 2**20, "order5_model_arrays_mb": stored / 2**20,
            "order5_hash_index_mb": index / 2**20}


def nltk_comparison(corpus, n_train: int, n_test: int) -> dict:
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import pad_both_ends, padded_everygram_pipeline
    from nltk.util import ngrams

    train_lines = [line for line in corpus.train.splitlines() if line.split()][:n_train]
    test_lines = [line for line in corpus.test.splitlines() if line.split()][:n_test]
    order, discount = 3, 0.1  # nltk's default discount, used by both

    start = time.perf_counter()
    grams, vocab = padded_everygram_pipeline(order, [line.split() for line in train_lines])
    nltk_lm = KneserNeyInterpolated(order, discount=discount)
    nltk_lm.fit(grams, vocab)
    nltk_fit = time.perf_counter() - start
    start = time.perf_counter()
    # nltk pads with n-1 `<s>` and `</s>`, so it scores one extra `</s>` per sentence
    nltk_scores = [nltk_lm.logscore(g[-1], g[:-1]) for line in test_lines
                   for g in ngrams(pad_both_ends(line.split(), n=order), order)]
    nltk_score = time.perf_counter() - start

    train_text, test_text = "\n".join(train_lines) + "\n", "\n".join(test_lines) + "\n"

    def ours():
        tokenizer = fit_tokenizer("word", train_text, word_split="whitespace")
        model = NGramLM.from_text(NGramConfig(order=order, smoothing="kneser-ney", discount=discount), tokenizer, train_text)
        return model, tokenizer

    ours_fit, (model, tokenizer) = best_of(3, ours)
    train_ids = tokenizer.encode(train_text)
    ours_count, _ = best_of(3, lambda: NGramLM.from_ids(model.config, tokenizer, train_ids))
    ours_score, log_probs = best_of(3, lambda: model.token_log_probs(tokenizer.encode(test_text)))
    nltk_log2 = np.array(nltk_scores)
    return {
        "subset": f"first {len(train_lines)} PTB train sentences, first {len(test_lines)} test sentences, order 3, "
                  f"interpolated KN with discount {discount}",
        "nltk_fit_seconds": nltk_fit, "nltk_score_seconds": nltk_score, "nltk_scored_tokens": len(nltk_scores),
        "nltk_infinite_scores": int(np.sum(np.isinf(nltk_log2))),
        "nltk_perplexity": float(2 ** -np.mean(nltk_log2)) if np.all(np.isfinite(nltk_log2)) else math.inf,
        "ours_fit_seconds": ours_fit, "ours_score_seconds": ours_score, "ours_scored_tokens": len(log_probs),
        "ours_perplexity": perplexity(log_probs),
        "ours_fit_without_tokenizer_seconds": ours_count,
        "fit_speedup": nltk_fit / ours_fit, "fit_speedup_without_tokenizer": nltk_fit / ours_count, "score_speedup": (nltk_score / len(nltk_scores)) / (ours_score / len(log_probs)),
        "total_speedup": (nltk_fit + nltk_score) / (ours_fit + ours_score),
    }


def arpa_write(model: NGramLM, path: Path, repeats: int = 3) -> dict:
    """Time `write_arpa` (best of `repeats` wall seconds, and the mean CPU seconds) and fingerprint the file."""
    load_at_write = os.getloadavg()[0]
    cpu_start = time.process_time()
    write_s, _ = best_of(repeats, lambda: write_arpa(model, path))
    # The writer is one thread: its CPU seconds are what the wall time would be on an idle
    # machine (the file is written to the page cache), whatever the other jobs are doing.
    write_cpu_s = (time.process_time() - cpu_start) / repeats
    return {"arpa_write_seconds": write_s, "arpa_write_target_seconds": 2.0, "arpa_write_note": f"best of {repeats}",
            "arpa_write_cpu_seconds": write_cpu_s, "arpa_write_cpu_note": f"process CPU seconds, mean of the {repeats} writes",
            "arpa_write_load_average": load_at_write, "arpa_megabytes": path.stat().st_size / 2**20,
            "arpa_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def kenlm_comparison(corpus, model: NGramLM) -> dict:
    try:
        import kenlm
    except ImportError:
        return {"skipped": "kenlm is not installed (pip install kenlm)"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ptb5.arpa"
        written = arpa_write(model, path)
        load_s, reference = best_of(1, lambda: kenlm.Model(str(path)))
    # Our counterpart of KenLM's load: the hash index of each order, built once at the first lookup.
    index_s, _ = best_of(1, lambda: [KeyIndex(keys, model.vocab_size) for keys in model.keys[1:]])
    model.indexes  # noqa: B018 (built here, outside the timed queries, as KenLM's load is)
    tokenizer = model.tokenizer
    lines = [line for line in corpus.test.splitlines() if line.split()]
    test_ids = np.asarray(tokenizer.encode(corpus.test))
    # Interleaved, best of 5 each: the two queries see the same machine load.
    load_before = os.getloadavg()[0]
    kenlm_times, ours_times, kenlm_cpu, ours_cpu, text_times = [], [], [], [], []
    for _ in range(5):
        cpu = time.process_time()
        seconds, total_log10 = best_of(1, lambda: sum(reference.score(line, bos=True, eos=True) for line in lines))
        kenlm_times.append(seconds)
        kenlm_cpu.append(time.process_time() - cpu)
        cpu = time.process_time()
        seconds, log_probs = best_of(1, lambda: model.token_log_probs(test_ids))
        ours_times.append(seconds)
        ours_cpu.append(time.process_time() - cpu)
        # Text in, scores out, as KenLM's users call it: our tokenizer's encode timed too.
        seconds, _ = best_of(1, lambda: model.token_log_probs(np.asarray(tokenizer.encode(corpus.test))))
        text_times.append(seconds)
    kenlm_s, ours_s = min(kenlm_times), min(ours_times)
    per_token = np.array([s for line in lines for s, _, _ in reference.full_scores(line, bos=True, eos=True)])
    return {
        **written,
        "kenlm_load_seconds": load_s, "ours_index_build_seconds": index_s,
        "kenlm_perplexity": 10 ** (-total_log10 / len(test_ids)), "ours_perplexity": perplexity(log_probs),
        # ARPA keeps 7 decimals of log10: KenLM reads rounded numbers, so the two differ by about 1e-9
        "perplexity_relative_difference": abs(perplexity(log_probs) / 10 ** (-total_log10 / len(test_ids)) - 1),
        "max_abs_log10_difference": float(np.abs(per_token - nats_to_log10(log_probs)).max()),
        "kenlm_query_seconds": kenlm_s, "kenlm_tokens_per_second": len(test_ids) / kenlm_s,
        "ours_query_seconds": ours_s, "ours_tokens_per_second": len(test_ids) / ours_s,
        "query_speed_ours_over_kenlm": kenlm_s / ours_s, "query_speed_target": 1.0,
        "query_cpu_ours_over_kenlm": min(kenlm_cpu) / min(ours_cpu),
        "ours_text_in_query_seconds": min(text_times),
        "query_speed_text_in_ours_over_kenlm": kenlm_s / min(text_times),
        "query_load_average": [load_before, os.getloadavg()[0]],
        "note": "kenlm: Model.score per sentence (C++ loop over the text); ours: one vectorised token_log_probs "
                "over the test ids (tokenizing excluded; hash index built before, as KenLM's load); best of 5, "
                "interleaved; the CPU ratio (process seconds) is less swayed by other jobs than the wall ratio; "
                "query_load_average: the 1-minute load before and after the race; *_text_in_*: ours from the raw "
                "test text, our tokenizer's encode included",
    }


def versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("numpy", "nltk", "kenlm", "keras-lmzoo"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def arpa_only(corpus, out: str) -> None:
    """The ARPA write alone (PTB order-5 modified KN), timed as `kenlm_comparison` times it."""
    tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split)
    model = NGramLM.from_ids(NGramConfig(order=5, smoothing="modified-kneser-ney"), tokenizer, tokenizer.encode(corpus.train))
    with tempfile.TemporaryDirectory() as tmp:
        written = arpa_write(model, Path(tmp) / "ptb5.arpa")
    result = {"benchmark": "ngram_ptb_arpa", "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "load_average": list(os.getloadavg()),
                          "note": "2 cores shared with other workers' jobs: the CPU seconds stand for an idle machine"},
              "versions": versions(), **written}
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"ARPA write, PTB order 5 ({written['arpa_megabytes']:.0f} MB): {written['arpa_write_seconds']:.2f} s wall "
          f"({written['arpa_write_note']}, load {written['arpa_write_load_average']:.1f}), "
          f"{written['arpa_write_cpu_seconds']:.2f} s CPU; target <= 2 s; sha256 {written['arpa_sha256'][:16]}...")
    print(f"wrote {out}")


def query_only(corpus, out: str) -> None:
    """The KenLM race alone (PTB order-5 modified KN, its ARPA write included), as `kenlm_comparison` runs it."""
    tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split)
    model = NGramLM.from_ids(NGramConfig(order=5, smoothing="modified-kneser-ney"), tokenizer, tokenizer.encode(corpus.train))
    ken = kenlm_comparison(corpus, model)
    result = {"benchmark": "ngram_ptb_query", "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "load_average": list(os.getloadavg())},
              "versions": versions(), "kenlm": ken}
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print_kenlm(ken)
    print(f"wrote {out}")


def print_kenlm(ken: dict) -> None:
    if "skipped" in ken:
        print(f"kenlm: {ken['skipped']}")
        return
    print(f"kenlm on our order-5 ARPA ({ken['arpa_megabytes']:.0f} MB, written in {ken['arpa_write_seconds']:.1f} s, "
          f"loaded in {ken['kenlm_load_seconds']:.1f} s; our index built in {ken['ours_index_build_seconds']:.2f} s): "
          f"perplexity {ken['kenlm_perplexity']:.3f} vs ours {ken['ours_perplexity']:.3f} "
          f"(relative difference {ken['perplexity_relative_difference']:.1e}), "
          f"max |log10 diff| {ken['max_abs_log10_difference']:.1e}")
    print(f"  query: kenlm {ken['kenlm_tokens_per_second']:.3g} tok/s, ours {ken['ours_tokens_per_second']:.3g} tok/s, "
          f"ours/kenlm {ken['query_speed_ours_over_kenlm']:.2f}x wall, {ken['query_cpu_ours_over_kenlm']:.2f}x CPU "
          f"(target >= {ken['query_speed_target']:g}x; load {ken['query_load_average'][0]:.1f}); "
          f"ARPA write {ken['arpa_write_seconds']:.2f} s wall, {ken['arpa_write_cpu_seconds']:.2f} s CPU (target <= 2 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA", str((ROOT / "../shared/corpora").resolve())))
    parser.add_argument("--repeats", type=int, default=3, help="timings are the best of this many runs")
    parser.add_argument("--nltk-train", type=int, default=5000, help="training sentences for the nltk comparison")
    parser.add_argument("--nltk-test", type=int, default=100, help="test sentences for the nltk comparison")
    parser.add_argument("--arpa-only", action="store_true",
                        help="only fit the order-5 model and time the ARPA write (writes ngram_ptb_arpa.json)")
    parser.add_argument("--query-only", action="store_true",
                        help="only fit the order-5 model and race KenLM's queries (writes ngram_ptb_query.json)")
    parser.add_argument("--out", help="results file (default benchmarks/results/ngram_ptb.json, "
                                      "ngram_ptb_arpa.json or ngram_ptb_query.json)")
    args = parser.parse_args()
    default = "ngram_ptb_arpa.json" if args.arpa_only else "ngram_ptb_query.json" if args.query_only else "ngram_ptb.json"
    args.out = args.out or str(ROOT / "benchmarks/results" / default)

    corpus = load_corpus("ptb", args.data_dir)
    if args.arpa_only:
        return arpa_only(corpus, args.out)
    if args.query_only:
        return query_only(corpus, args.out)
    rows, order5 = ours_on_ptb(corpus, args.repeats)
    memory = peak_memory(corpus)
    nltk = nltk_comparison(corpus, args.nltk_train, args.nltk_test)
    ken = kenlm_comparison(corpus, order5)
    memory["process_max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "benchmark": "ngram_ptb",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpu_count": os.cpu_count()},
        "versions": versions(),
        "note": "timings are best-of-N wall seconds on a 2-core machine shared with other workers' jobs: expect noise",
        "load_average": list(os.getloadavg()),
        "ptb": rows, "memory": memory, "nltk": nltk, "kenlm": ken,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")

    print(f"PTB test perplexity per token ({TEST_TOKENS} tokens incl. </s>); SRILM from Mikolov et al. 2011")
    print(f"{'smoothing':<20} {'order':>5} {'ppl':>8} {'SRILM':>6} {'diff':>7} {'fit s':>6} {'score s':>7} "
          f"{'fit tok/s':>10} {'score tok/s':>11} {'n-grams':>9}")
    for r in rows:
        published = f"{r['published_srilm']:.1f}" if r["published_srilm"] else "-"
        diff = f"{100 * r['relative_difference']:+.2f}%" if r["relative_difference"] is not None else "-"
        print(f"{r['smoothing']:<20} {r['order']:>5} {r['test_perplexity']:>8.2f} {published:>6} {diff:>7} "
              f"{r['fit_seconds']:>6.2f} {r['score_seconds']:>7.3f} {r['fit_tokens_per_second']:>10.3g} "
              f"{r['score_tokens_per_second']:>11.3g} {r['ngrams']:>9}")
    print(f"memory: order-5 fit+score peak {memory['order5_fit_and_score_peak_traced_mb']:.0f} MB traced, "
          f"model arrays {memory['order5_model_arrays_mb']:.0f} MB, hash index {memory['order5_hash_index_mb']:.0f} MB, "
          f"process max RSS {memory['process_max_rss_mb']:.0f} MB")
    print(f"nltk.lm ({nltk['subset']}):")
    print(f"  nltk fit {nltk['nltk_fit_seconds']:.2f} s, score {nltk['nltk_score_seconds']:.2f} s for {nltk['nltk_scored_tokens']} "
          f"tokens ({nltk['nltk_infinite_scores']} infinite), perplexity {nltk['nltk_perplexity']:.4g}")
    print(f"  ours fit {nltk['ours_fit_seconds']:.4f} s (tokenizer fit + encode + count), score {nltk['ours_score_seconds']:.4f} s for {nltk['ours_scored_tokens']} "
          f"tokens, perplexity {nltk['ours_perplexity']:.4g}")
    print(f"  speed-up: fit {nltk['fit_speedup']:.0f}x (counting only, tokenizer excluded: "
          f"{nltk['fit_speedup_without_tokenizer']:.0f}x), score per token {nltk['score_speedup']:.0f}x, total {nltk['total_speedup']:.0f}x")
    print_kenlm(ken)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
