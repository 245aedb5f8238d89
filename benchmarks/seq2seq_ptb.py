"""Benchmark: the GRU seq2seq autoencoder on Penn Treebank sentences, with and without attention.

Trains on PTB train sentences of at most 30 tokens (a subset and a fixed number of passes, to fit a
shared 2-core CPU), then reconstructs every PTB test sentence of at most 30 tokens greedily and
reports held-out token accuracy, exact match and BLEU (`lmzoo.harness.score_reconstruction`), the
decoder's conditional NLL, training tokens/s and wall time, for latent sizes 64, 256 and 512. It
plots accuracy against latent size (the bottleneck plot). Target: the attention model reaches at
least 95% held-out token accuracy.

Usage:
    .venv/bin/python benchmarks/seq2seq_ptb.py [--data-dir ../shared/corpora] [--train-sentences 20000]
    .venv/bin/python benchmarks/seq2seq_ptb.py --replot   # redraw the figure from the results file
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lmzoo.datasets import load_corpus  # noqa: E402
from lmzoo.harness import score_reconstruction  # noqa: E402
from lmzoo.models import seq2seq  # noqa: E402
from lmzoo.runs import RunDir, library_versions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA", str((ROOT / ".." / "shared" / "corpora").resolve())))
    parser.add_argument("--max-tokens", type=int, default=30, help="longest sentence kept, in tokens")
    parser.add_argument("--train-sentences", type=int, default=20000, help="first N train sentences (before the length filter)")
    parser.add_argument("--test-sentences", type=int, default=0, help="first N test sentences kept (0: all)")
    parser.add_argument("--latent-sizes", default="64,256,512")
    parser.add_argument("--attention-epochs", type=float, default=1.5, help="passes over the subset, attention model")
    parser.add_argument("--bottleneck-epochs", type=float, default=0.5, help="passes over the subset, bottleneck model")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=7e-3, help="peak; cosine decay to 10%%")
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--out", default=str(RESULTS / "seq2seq_ptb.json"))
    parser.add_argument("--replot", action="store_true", help="only redraw the figure from --out's rows")
    return parser.parse_args()


def plot_bottleneck(rows: list[dict], figure: Path) -> Path:
    """Token accuracy and exact match against latent size, one line per kind of model; each legend entry
    names the training steps of its models (the bottleneck and attention models train for different
    numbers of passes, so the figure compares models of unequal training)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for attention, style in ((False, "o-"), (True, "s-")):
        part = [r for r in rows if r["attention"] == attention]
        steps = "/".join(sorted({f"{r['steps']:,}" for r in part}))
        label = f"{'attention' if attention else 'bottleneck only'} ({steps} steps)"
        ax.plot([r["latent_dim"] for r in part], [r["reconstruction_token_accuracy"] for r in part], style, label=f"{label}: token accuracy")
        ax.plot([r["latent_dim"] for r in part], [r["reconstruction_exact_match"] for r in part], style[0] + ":", label=f"{label}: exact match")
    ax.axhline(0.95, color="grey", lw=0.8, ls="--", label="target 0.95 (attention)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("latent size (encoder final state)")
    ax.set_ylabel("held-out PTB test reconstruction")
    ax.set_ylim(0, 1.02)
    ax.set_title("GRU seq2seq autoencoder on PTB (sentences <= 30 tokens)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(figure, dpi=120)
    plt.close(fig)
    return figure


def main() -> None:
    args = parse_args()
    if args.replot:  # redraw the figure from the stored rows, without training
        stored = json.loads(Path(args.out).read_text(encoding="utf-8"))
        print(f"wrote {plot_bottleneck(stored['rows'], ROOT / stored['figure'])}")
        return
    corpus = load_corpus("ptb", args.data_dir)
    test = [s for s in corpus.sentences("test") if len(s.split()) <= args.max_tokens]
    test = test[: args.test_sentences or None]
    rows = []
    start_all = time.perf_counter()
    for attention in (False, True):
        for latent in (int(x) for x in args.latent_sizes.split(",")):
            config = seq2seq.Seq2SeqConfig(
                embedding_dim=args.embedding_dim, latent_dim=latent, attention=attention, bidirectional=attention,
                min_count=1, max_vocabulary=None, context=args.max_tokens, overlong="skip",
                max_sentences=args.train_sentences, batch_size=args.batch_size, learning_rate=args.learning_rate,
                learning_rate_decay="cosine",
                epochs=args.attention_epochs if attention else args.bottleneck_epochs,
                checkpoint_every_n_steps=100, monitor_sentences=0)
            with tempfile.TemporaryDirectory() as tmp:
                run = RunDir(tmp)
                model = seq2seq.train(config, corpus, run)
                timing, data = run.timing(), run.read_json("data.json")
                losses = [r["loss"] for r in run.read_metrics()]
                started = time.perf_counter()
                scores = score_reconstruction(model, test)
                eval_seconds = time.perf_counter() - started
            row = {
                "attention": attention, "latent_dim": latent, "params": model.num_params(),
                "train_sentences": data["train_sentences"], "vocabulary_size": data["vocabulary_size"],
                "steps": len(losses) * config.checkpoint_every_n_steps, "final_train_loss": losses[-1],
                "train_seconds": timing["train_seconds"], "train_tokens_per_second": timing["tokens_per_second"],
                "eval_seconds": eval_seconds,
                **{k: v for k, v in scores.items() if k != "reconstruction_examples"},
                "examples": scores["reconstruction_examples"],
            }
            rows.append(row)
            print(f"attention={attention!s:5} latent={latent:4d}  acc={row['reconstruction_token_accuracy']:.3f}  "
                  f"exact={row['reconstruction_exact_match']:.3f}  bleu={row['reconstruction_bleu']:.3f}  "
                  f"train={row['train_seconds']:.0f}s  {row['train_tokens_per_second']:.0f} tok/s", flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    figure = plot_bottleneck(rows, RESULTS / "seq2seq_ptb_bottleneck.png")

    best_attention = max(r["reconstruction_token_accuracy"] for r in rows if r["attention"])
    result = {
        "benchmark": "seq2seq_ptb",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpu_count": os.cpu_count(),
                    "gpu": None, "note": "2 CPU cores shared with other jobs: timings are noisy"},
        "versions": library_versions(),
        "setup": {**{k: v for k, v in vars(args).items() if k != "out"}, "test_sentences_used": len(test),
                  "data_dir": os.path.relpath(args.data_dir, ROOT),  # never this machine's absolute path
                  "decoding": "greedy", "train_split": "first --train-sentences PTB train sentences, <= max tokens",
                  "test_split": "PTB test sentences <= max tokens"},
        "target": {"attention_token_accuracy": 0.95, "best_attention_token_accuracy": best_attention,
                   "met": best_attention >= 0.95},
        "total_seconds": time.perf_counter() - start_all,
        "figure": str(figure.relative_to(ROOT)),
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"target (attention >= 0.95 token accuracy): {'met' if result['target']['met'] else 'NOT met'} "
          f"(best {best_attention:.3f}); total {result['total_seconds']:.0f}s; wrote {args.out} and {figure}")


if __name__ == "__main__":
    main()
