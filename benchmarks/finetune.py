"""Benchmark: what pre-training buys, for sentiment classification (MR) and English↔Chinese translation.

Classification (`rt-polarity`, the catalog's seeded split): accuracy against the number of labelled
training sentences (100, 1,000, all, several seeds each) for the counting baselines (binary-count
logistic regression, NB-LR on uni+bigrams) and three neural classifiers (the GRU sequence
autoencoder, a word-level Transformer LM, Word2Vec), each from scratch and after pre-training on the
training split's sentences without their labels, as Dai & Le (2015) do.
Translation (`tatoeba-cmn`, 1,000 held-out pairs, both directions): BLEU (sacrebleu) and chrF for
the copy baseline, the attention GRU encoder–decoder and the decoder-only Transformer, each from
scratch and started from an LM pre-trained on the training split. Each translator trains for a
wall-clock budget (`--translate-minutes`, `--reverse-minutes`), calibrated per architecture, and
the pre-trained and scratch rows train the same number of steps. Results are written after each
row (steps, seconds, load average, pre-training text), so an interrupted run keeps them.

Usage:
    LMZOO_DATA=../shared/corpora .venv/bin/python benchmarks/finetune.py [--scale 1.0] [--parts classify,translate]
        [--translate-minutes 20] [--reverse-minutes 10] [--work DIR]  # DIR keeps the pre-trained LMs across runs
    .venv/bin/python benchmarks/finetune.py --merge RESULTS.json ... # joins separate runs into results/finetune.json
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import lmzoo
from lmzoo.config import from_dict, replace, to_dict
from lmzoo.datasets.labelled import LabelledData, as_text_corpus, load_task_data
from lmzoo.harness import score_classification, score_translation
from lmzoo.models import tasks
from lmzoo.protocols import LanguageModel
from lmzoo.runs import RunDir, library_versions

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
EXAMPLE_ZH, EXAMPLE_EN = "我明天要去看电影。", "I'm going to see a movie tomorrow."  # the articles' example


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA", str((ROOT / ".." / "shared" / "corpora").resolve())))
    parser.add_argument("--parts", default="classify,translate")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every pre-training and fine-tuning budget")
    parser.add_argument("--label-counts", default="100,1000,all")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per label count (subsample, initialisation, order)")
    parser.add_argument("--backbones", default="rnnlm,seq2seq,word2vec",
                        help="any of rnnlm, seq2seq, transformer, word2vec, gpt2 (with --gpt2-preset)")
    parser.add_argument("--gpt2-preset", default=None,
                        help="a GPT-2 keras-hub preset directory (save_to_preset) or a name found in the presets "
                             "directory: the gpt2 backbone's rows; without one they are skipped, and said so")
    parser.add_argument("--backbone-lr", type=float, default=3e-4, help="classification: the backbone's learning rate")
    parser.add_argument("--counting", default="yes", choices=("yes", "no"), help="the counting baseline rows")
    parser.add_argument("--translate-minutes", type=float, default=20.0,
                        help="English→Chinese training budget of each translator, wall clock: the steps that fit, "
                             "from a calibration run (0: train the epochs below)")
    parser.add_argument("--reverse-minutes", type=float, default=10.0, help="the same for Chinese→English")
    parser.add_argument("--calibration-steps", type=int, default=60, help="steps of each calibration run")
    parser.add_argument("--translate-epochs", type=float, default=0.6,
                        help="decoder-only passes over the 27,655 training pairs (with --translate-minutes 0)")
    parser.add_argument("--translate-seeds", type=int, default=1, help="seeds of each translator (weights, order)")
    parser.add_argument("--seq2seq-epochs", type=float, default=1.0,
                        help="encoder–decoder passes over the pairs (with --translate-minutes 0)")
    parser.add_argument("--seq2seq-learning-rate", type=float, default=2e-3)
    rows = "encoder_decoder:pretrained,encoder_decoder:scratch,decoder_only:pretrained,decoder_only:scratch"
    parser.add_argument("--forward-rows", default=rows, help="English→Chinese models, ARCHITECTURE:INIT")
    parser.add_argument("--reverse-rows", default=rows, help="Chinese→English models, ARCHITECTURE:INIT")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="longest translation, in tokens")
    parser.add_argument("--pretrain-words", default="mr,1e6,3e6,all",
                        help="classify-imdb: pre-training texts: 'mr' (MR's own), imdb-unsup prefixes in words, 'all'")
    parser.add_argument("--pretrain-word-budget", type=float, default=2.5e7,
                        help="classify-imdb: Word2Vec passes over its text, capped at this many words in all (1-5)")
    parser.add_argument("--backbone-lrs", default="3e-4,1e-3",
                        help="classify-imdb: backbone learning rates tried, each as LR or LR:EPOCH_MULTIPLIER; the "
                             "best mean valid accuracy is chosen")
    parser.add_argument("--pooling", default="auto", choices=("auto", "mean", "last", "cnn"),
                        help="classify-imdb: how the classifier pools the backbone's states (cnn: Kim 2014)")
    parser.add_argument("--head-dropout", type=float, default=0.3, help="classify-imdb: dropout before the head")
    parser.add_argument("--variant", default="",
                        help="classify-imdb: words added to every row's model name, so that a variant of the "
                             "pre-training (e.g. '5 passes') is summarised apart from the default rows")
    parser.add_argument("--static-grid", default="1e-3:1,1e-2:1,1e-2:4",
                        help="classify-imdb: frozen backbone: head learning rate:epoch multiplier candidates")
    parser.add_argument("--curve-label-counts", default="1000",
                        help="classify-imdb: label counts at the intermediate pre-training sizes (the gain curve)")
    parser.add_argument("--scratch-twin", default="largest", choices=("largest", "mr", "none"),
                        help="classify-imdb: the scratch row's network and tokenizer: those of the model pre-trained "
                             "on the last --pretrain-words size, or on MR's text; none: no scratch rows (a run that "
                             "adds a point to the gain curve)")
    parser.add_argument("--work", default=None, help="folder for the runs (default: a temporary one)")
    parser.add_argument("--out", default=str(RESULTS / "finetune.json"))
    return parser.parse_args()


class Results:
    """The results file, rewritten after every row."""

    def __init__(self, path: Path, args: argparse.Namespace):
        self.path, self.rows = path, []
        self.meta = {"command": " ".join([Path(sys.executable).name, *map(portable, sys.argv)]),
                     "args": {k: portable(v) if isinstance(v, str) else v for k, v in vars(args).items()},
                     "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                     "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, shared with other jobs",
                     "load_average_start": os.getloadavg(), "versions": library_versions()}

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if not k.endswith("examples")}, default=str), flush=True)
        self.meta["load_average_now"] = os.getloadavg()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({**self.meta, "rows": self.rows}, indent=1, ensure_ascii=False, default=str) + "\n")


def portable(value: str) -> str:
    """A path argument as recorded in the results: relative to the project, or a placeholder for a work folder."""
    if not os.path.isabs(value):
        return value
    if value.startswith(tempfile.gettempdir()):
        return "a temporary directory (--work)"
    return os.path.relpath(value, ROOT)


def timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def subsample(data: LabelledData, count: int | None, seed: int) -> LabelledData:
    """The labelled subset that `tasks.finetune` draws with `max_examples=count` and the same seed."""
    return LabelledData(data.name, tasks.subsample(list(data.train), count, seed), data.valid, data.test, data.labels,
                        source=data.source)


# Pre-training runs: on the training split's text only ------------------------------------------------

PRETRAIN = {
    "seq2seq": ("seq2seq", {"embedding_dim": 64, "latent_dim": 128, "context": 50, "min_count": 2,
                            "epochs": 3.0, "batch_size": 32, "monitor_sentences": 0, "checkpoint_every_n_steps": 200}),
    "transformer": ("transformer", {"tokenizer": "word", "min_count": 2, "num_layers": 2, "num_heads": 4,
                                    "hidden_dim": 128, "context": 64, "batch_size": 32, "steps": 1500,
                                    "eval_every": 500, "eval_batches": 5, "dropout": 0.1, "learning_rate": 1e-3,
                                    "min_learning_rate": 1e-4, "warmup_steps": 100}),
    "word2vec": ("word2vec", {"dimension": 100, "min_count": 2, "epochs": 5}),
    # Dai & Le (2015)'s LM pre-training: a word-level GRU LM on the training split's sentences. The output
    # bias starts at the log unigram (rnnlm's unigram_bias): without it the states saturated (README).
    "rnnlm": ("rnnlm", {"cell": "gru", "tokenizer": "word", "min_count": 2, "num_layers": 1, "hidden_dim": 256,
                        "embedding_dim": 128, "dropout": 0.0, "context": 48, "batch_size": 32, "steps": 400,
                        "eval_every": 200, "eval_batches": 5, "learning_rate": 3e-3, "min_learning_rate": 3e-4,
                        "warmup_steps": 50}),
    # Target-side LMs for the encoder–decoder's decoder: Chinese characters, English words.
    "rnnlm-zh": ("rnnlm", {"cell": "gru", "tokenizer": "char", "min_count": 2, "num_layers": 1, "hidden_dim": 256,
                           "embedding_dim": 128, "context": 32, "batch_size": 32, "steps": 300, "eval_every": 150,
                           "eval_batches": 3, "learning_rate": 3e-3, "min_learning_rate": 3e-4, "warmup_steps": 30}),
    "rnnlm-en": ("rnnlm", {"cell": "gru", "tokenizer": "word", "min_count": 2, "num_layers": 1, "hidden_dim": 256,
                           "embedding_dim": 128, "context": 32, "batch_size": 32, "steps": 300, "eval_every": 150,
                           "eval_batches": 3, "learning_rate": 3e-3, "min_learning_rate": 3e-4, "warmup_steps": 30}),
    # Tatoeba sentences are short: 32 word-level tokens hold a source and its translation.
    "transformer-pairs": ("transformer", {"tokenizer": "word", "min_count": 2, "num_layers": 2, "num_heads": 4,
                                          "hidden_dim": 128, "context": 32, "batch_size": 32, "steps": 300,
                                          "eval_every": 150, "eval_batches": 3, "dropout": 0.1, "learning_rate": 1e-3,
                                          "min_learning_rate": 1e-4, "warmup_steps": 30}),
}
BUDGET_KEYS = {"epochs", "steps"}
# The LMs' pre-training in the classify-imdb part: each one's vocabulary and budget, sized to about one
# pass over imdb-unsup in well under an hour of 2 cores (timings in the results rows), and the same for
# every text, MR's own included, so that the gain curve compares texts at equal compute. The GRU keeps
# every word seen 3 times behind a sampled softmax, as on PTB; the Transformer's full softmax is the
# cost, so it keeps words seen 50 times.
PAYS_PRETRAIN = {
    "rnnlm": {"min_count": 3, "sampled_softmax": 1024, "steps": 8000, "eval_every": 2000, "eval_batches": 10},
    "transformer": {"min_count": 50, "steps": 5000, "eval_every": 1000, "eval_batches": 10},
}
# Row names by --pooling; "auto" and "mean" pool alike, so their rows share the plain name.
CLASSIFIER_NAMES = {"last": "last-state classifier", "cnn": "CNN classifier"}
VALID_REVIEWS = 100  # imdb-unsup valid reviews on which a pre-trained LM's open-vocabulary bits/char is recorded


def pretrain(name: str, corpus: lmzoo.Corpus, work: Path, scale: float, side: str = "",
             budget: dict[str, Any] | None = None) -> tuple[Any, dict]:
    family, overrides = PRETRAIN[name]
    overrides = {k: (type(v)(max(1, v * scale)) if k in BUDGET_KEYS else v) for k, v in {**overrides, **(budget or {})}.items()}
    run = RunDir(work / f"pretrain-{name}-{corpus.name}")
    # A finished pre-training run is reused (its timing.json keeps its training time; CPU time is
    # recorded only by the call that trains it), if it was made with these settings.
    reused = run.is_complete()
    if reused and (changed := {k for k, v in overrides.items() if run.read_config()["config"].get(k) != v}):
        raise SystemExit(f"{run.path} holds a finished pre-training with other {', '.join(sorted(changed))}: "
                         "give another --work, or delete it")
    cpu = time.process_time()
    model = lmzoo.load(run.path) if reused else lmzoo.train(family, corpus, run.path, **overrides)
    cpu = None if reused else time.process_time() - cpu
    steps = max([m.get("step", 0) for m in run.read_metrics()] or [0])
    text = f"{corpus.name} train split, unlabelled ({len(corpus.train.splitlines()):,} lines{side})"
    info = {"pretrain_family": family, "pretrain_text": text,
            "pretrain_config": run.read_config()["config"], "pretrain_steps": steps, "pretrain_seconds": run.timing().get("train_seconds"),
            "pretrain_cpu_seconds": cpu, "load_average": os.getloadavg()}
    return model, info


def load_gpt2(preset: str, corpus: lmzoo.Corpus, work: Path) -> tuple[Any, dict]:
    """A pre-trained GPT-2 (no pre-training here: its text is OpenAI's WebText), copied into a run directory."""
    run = RunDir(work / "pretrain-gpt2")
    model = lmzoo.load(run.path) if run.is_complete() else lmzoo.train("gpt2", corpus, run.path, source=preset)
    config = run.read_config()["config"]
    return model, {"pretrain_family": "gpt2", "pretrain_text": f"GPT-2 preset '{portable(preset)}' (OpenAI's are WebText)",
                   "pretrain_config": {**config, "source": portable(config["source"])}, "pretrain_steps": None,
                   "pretrain_seconds": None}


def finetuned(pretrained: Any, data: Any, out: Path, config: Any) -> Any:
    """`tasks.finetune` into `out`, reusing a finished run there only if it was made with the same config
    (a re-run of the benchmark with the same --work); any other finished run is trained again."""
    run = RunDir(out)
    if run.is_complete() and from_dict(type(config), run.read_config()["config"]) == config:  # old keys mapped
        return lmzoo.load(out)
    return tasks.finetune(pretrained, data, out, config, overwrite=run.is_complete())


def finetune_timing(out: Path, wall: float, cpu: float) -> dict[str, Any]:
    """The fine-tuning run's own training time (from its timing.json), so that a reused finished run keeps it."""
    seconds = RunDir(out).timing().get("train_seconds")
    return {"finetune_seconds": seconds, "finetune_cpu_seconds": cpu, "reused_finished_run": wall < 0.5 * (seconds or 0)}


# Classification -------------------------------------------------------------------------------------


def classify_budget(count: int | None, scale: float, backbone_lr: float = 3e-4) -> dict[str, Any]:
    """Fine-tuning budget by label count: about 47, 125 and 284 steps of 32 examples (at scale 1)."""
    epochs = {100: 15.0, 1000: 4.0}.get(count, 1.0) * scale
    return {"task": "classify", "epochs": max(1.0, epochs), "batch_size": 32, "context": 48, "dropout": 0.3,
            "learning_rate": 1e-3, "backbone_learning_rate": backbone_lr, "checkpoint_every_n_steps": 100}


def run_classification(args: argparse.Namespace, results: Results, work: Path) -> None:
    data = load_task_data("rt-polarity", args.data_dir)
    text = as_text_corpus(data)
    counts = [None if c == "all" else int(c) for c in args.label_counts.split(",")]
    for count in counts if args.counting == "yes" else []:
        for seed in range(1 if count is None else args.seeds):  # all labels: deterministic, one run
            part = subsample(data, count, seed)
            texts, labels = [t for t, _ in part.train], [label for _, label in part.train]
            for name, model in (("counting: LR on binary word counts", tasks.CountingClassifier(order=1, naive_bayes=False)),
                                ("counting: NB log-count ratios + LR, uni+bigrams", tasks.CountingClassifier(order=2))):
                _, wall, cpu = timed(lambda m=model, x=texts, y=labels: m.fit(x, y))
                scores = score_classification(model, part, "test")
                results.add({"task": "classify", "model": name, "init": "counting", "labels": len(texts), "seed": seed,
                             "pretrain_text": None, "train_seconds": wall, "train_cpu_seconds": cpu, **scores})
    for backbone in args.backbones.split(","):
        if backbone == "gpt2":
            if not args.gpt2_preset:
                print("gpt2: no preset directory given (--gpt2-preset DIR): its classification rows are not run")
                results.add({"task": "pretrain", "model": "gpt2", "skipped": "no --gpt2-preset"})
                continue
            pretrained, info = load_gpt2(args.gpt2_preset, text, work)
        else:
            pretrained, info = pretrain(backbone, text, work, args.scale)
        results.add({"task": "pretrain", "model": backbone, **info})
        for count in counts:
            for seed in range(args.seeds):
                for init in ("pretrained", "scratch"):
                    config = replace(tasks.PRESETS["default"], {**classify_budget(count, args.scale, args.backbone_lr),
                                                                 "init": init,
                                                                 "max_examples": count, "seed": seed})
                    lr = "" if args.backbone_lr == 3e-4 else f"-lr{args.backbone_lr:g}"
                    out = work / f"classify-{backbone}{lr}-{init}-{count}-{seed}"
                    model, wall, cpu = timed(lambda c=config, o=out, p=pretrained: finetuned(p, data, o, c))
                    scores = score_classification(model, data, "test")
                    name = f"{backbone} classifier" + (f" (backbone lr {args.backbone_lr:g})" if lr else "")
                    row = {"task": "classify", "model": name, "init": init,
                           "labels": count or len(data.train), "seed": seed, "finetune_epochs": config.epochs,
                           **finetune_timing(out, wall, cpu), "params": model.num_params(), **scores}
                    results.add(row | (info if init == "pretrained" else {"pretrain_text": None}))


# Pre-training on in-domain text (imdb-unsup), every setting chosen on MR's valid split ----------------


def words_prefix(corpus: lmzoo.Corpus, words: int | None) -> lmzoo.Corpus:
    """The corpus with its training text cut to the whole lines (reviews) holding about `words` words."""
    if words is None:
        return corpus
    total, kept = 0, []
    for line in corpus.train.split("\n"):
        if total >= words:
            break
        kept.append(line + "\n")
        total += len(line.split())
    return dataclasses.replace(corpus, name=f"{corpus.name}-{words:.0e}".replace("+0", ""), train="".join(kept))


def candidate_grid(args: argparse.Namespace, freeze: bool) -> list[dict[str, float]]:
    """The settings `select_on_valid` tries: `--static-grid` LR:EPOCH_MULTIPLIER items for a frozen
    backbone, `--backbone-lrs` LR[:EPOCH_MULTIPLIER] items (multiplier 1 if left out) for a trained one."""
    if freeze:
        return [dict(zip(("learning_rate", "epochs_times"), map(float, item.split(":")), strict=True))
                for item in args.static_grid.split(",")]
    return [dict(zip(("backbone_learning_rate", "epochs_times"), map(float, f"{item}:1".split(":")[:2]), strict=True))
            for item in args.backbone_lrs.split(",")]


def select_on_valid(args: argparse.Namespace, data: LabelledData, work: Path, tag: str, pretrained: Any,
                    count: int | None, init: str, freeze: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fine-tune every candidate setting over the seeds, choose the one with the best mean valid
    accuracy, and score test once, on the chosen runs only. Returns the choice and one row per seed.

    Candidates: a frozen backbone (static) tries head learning rates and epoch multipliers
    (`--static-grid`, a linear head on frozen features needs far more steps than fine-tuning);
    a trained backbone tries backbone learning rates, with epoch multipliers if given (`--backbone-lrs`).
    """
    candidates = []
    for setting in candidate_grid(args, freeze):
        runs = []
        for seed in range(args.seeds):
            budget = classify_budget(count, args.scale, setting.get("backbone_learning_rate", 3e-4))
            budget |= {k: v for k, v in setting.items() if k == "learning_rate"}
            budget |= {"epochs": budget["epochs"] * setting["epochs_times"], "pooling": args.pooling,
                       "dropout": args.head_dropout}
            config = replace(tasks.PRESETS["default"], {**budget, "init": init, "freeze": freeze,
                                                         "max_examples": count, "seed": seed})
            name = "-".join(f"{v:g}" for v in setting.values())
            out = work / f"{tag}-{init}{'-static' if freeze else ''}-{name}-{count}-{seed}"
            model, wall, cpu = timed(lambda c=config, o=out: finetuned(pretrained, data, o, c))
            runs.append((seed, model, config, finetune_timing(out, wall, cpu)))
        valid = [score_classification(model, data, "valid")["accuracy"] for _, model, _, _ in runs]
        candidates.append((float(np.mean(valid)), setting, valid, runs))
    mean_valid, chosen, valid, runs = max(candidates, key=lambda c: c[0])
    choice = {"selected_on": "valid", "chosen": chosen,
              "candidates": [{"setting": c[1], "mean_valid_accuracy": c[0]} for c in candidates]}
    rows = [{"seed": seed, "valid_accuracy": v, "finetune_epochs": config.epochs, "freeze": freeze, **timing,
             "params": model.num_params(), **score_classification(model, data, "test")}
            for (seed, model, config, timing), v in zip(runs, valid, strict=True)]
    return choice, rows


def pretrain_on(args: argparse.Namespace, backbone: str, size: str, data: LabelledData, imdb: lmzoo.Corpus,
                work: Path) -> tuple[Any, dict[str, Any]]:
    """`backbone` pre-trained on MR's own text ("mr") or on an imdb-unsup prefix of `size` words ("all": every
    review), with its words, tokens seen and (for an LM on imdb-unsup) valid bits/char recorded."""
    from lmzoo.harness import count_words, score_text, spelling_model

    text = as_text_corpus(data) if size == "mr" else words_prefix(imdb, None if size == "all" else int(float(size)))
    words = count_words(text.train)
    budget = dict(PAYS_PRETRAIN.get(backbone, {}))
    if backbone == "word2vec":  # passes over the text, capped at --pretrain-word-budget words in all
        budget = {"epochs": max(1, min(5, round(args.pretrain_word_budget / words)))}
    pretrained, info = pretrain(backbone, text, work, args.scale, budget=budget)
    info |= {"pretrain_words": words, "pretrain_corpus": "rt-polarity" if size == "mr" else "imdb-unsup"}
    config = info["pretrain_config"]
    if "context" in config and "steps" in config:
        info["pretrain_tokens_seen"] = config["steps"] * config["batch_size"] * config["context"]
    if size != "mr" and isinstance(pretrained, LanguageModel):  # an LM: open-vocabulary bits/char on held-out reviews
        valid = "\n".join(imdb.valid.split("\n")[:VALID_REVIEWS]) + "\n"
        scores = score_text(pretrained, valid, spelling_model(text))
        info |= {"pretrain_valid_bits_per_char": scores["bits_per_char"], "pretrain_valid_reviews": VALID_REVIEWS,
                 "pretrain_valid_chars": len(valid)}
    return pretrained, info


def run_pretraining_pays(args: argparse.Namespace, results: Results, work: Path) -> None:
    """MR accuracy after pre-training on imdb-unsup prefixes (and on MR's own text), against scratch.

    The scratch twin is the network and tokenizer of the model pre-trained on the last size of
    `--pretrain-words` (`--scratch-twin largest`), with fresh weights: it differs from its pre-trained
    row only in the pre-training. (`--scratch-twin mr` builds it from the model pre-trained on MR's text;
    `none` runs no scratch rows.)
    """
    data = load_task_data("rt-polarity", args.data_dir)
    imdb = lmzoo.load_corpus("imdb-unsup", args.data_dir)
    counts = [None if c == "all" else int(c) for c in args.label_counts.split(",")]
    curve_counts = [None if c == "all" else int(c) for c in args.curve_label_counts.split(",")]
    sizes = args.pretrain_words.split(",")
    for backbone in args.backbones.split(","):
        twin_size = "mr" if args.scratch_twin == "mr" else sizes[-1]
        pretrained_by_size = {twin_size: pretrain_on(args, backbone, twin_size, data, imdb, work)}  # once: CPU time kept
        twin, twin_info = pretrained_by_size[twin_size]
        pooled = "" if args.pooling == "auto" else f"-{args.pooling}"  # run folders and row names keep poolings apart
        classifier = f"{backbone} {CLASSIFIER_NAMES.get(args.pooling, 'classifier')}"
        variant = f", {args.variant}" if args.variant else ""
        tag = f"pays-{backbone}{pooled}" + ("" if args.scratch_twin == "mr" else f"-{twin_size}")
        for count in counts if args.scratch_twin != "none" else []:  # scratch: once per label count
            choice, rows = select_on_valid(args, data, work, tag, twin, count, "scratch", False)
            for row in rows:
                results.add({"task": "classify", "model": f"{classifier} (chosen on valid{variant})", "init": "scratch",
                             "labels": count or len(data.train), "pretrain_text": None,
                             "scratch_twin_of": twin_info["pretrain_text"], **choice, **row})
        for size in sizes:
            if size not in pretrained_by_size:
                pretrained_by_size[size] = pretrain_on(args, backbone, size, data, imdb, work)
            pretrained, info = pretrained_by_size[size]
            results.add({"task": "pretrain", "model": backbone, **info})
            words = info["pretrain_words"]
            for count in counts if size in ("mr", sizes[-1]) else curve_counts:
                for freeze in (True, False):
                    choice, rows = select_on_valid(args, data, work, f"pays-{backbone}{pooled}-{size}", pretrained, count,
                                                   "pretrained", freeze)
                    name = (f"{classifier} ({'static' if freeze else 'fine-tuned'}, pre-trained on "
                            f"{info['pretrain_corpus']}, {words / 1e6:.2g} M words{variant})")
                    for row in rows:
                        results.add({"task": "classify", "model": name, "init": "pretrained",
                                     "labels": count or len(data.train), **info, **choice, **row})


# Translation ----------------------------------------------------------------------------------------


def translation_config(args: argparse.Namespace, architecture: str, init: str, direction: str,
                       source_language: str) -> Any:
    """One budget for every translator; the encoder–decoder reads its source with its own tokenizer
    (English words, Chinese characters) and writes with the target LM's."""
    encoder_decoder = {"source_tokenizer": "char" if source_language == "zh" else "word",
                       "source_min_count": 1 if source_language == "zh" else 2}
    return replace(tasks.PRESETS["default"], {
        "task": "translate", "architecture": architecture, "direction": direction, "init": init,
        "epochs": (args.translate_epochs if architecture == "decoder_only" else args.seq2seq_epochs) * args.scale,
        "batch_size": 64, "context": 32, "max_new_tokens": args.max_new_tokens,
        "learning_rate": (learning_rate := 1e-3 if architecture == "decoder_only" else args.seq2seq_learning_rate),
        "min_learning_rate": learning_rate / 10,
        "hidden_dim": 256, "embedding_dim": 128, "checkpoint_every_n_steps": 100,
        **(encoder_decoder if architecture == "encoder_decoder" else {})})


def run_translation(args: argparse.Namespace, results: Results, work: Path) -> None:
    data = load_task_data("tatoeba-cmn", args.data_dir)
    examples = {"en": EXAMPLE_EN, "zh": EXAMPLE_ZH}
    lms: dict[str, tuple[Any, dict]] = {}

    def pretrained_for(architecture: str, pairs: Any) -> tuple[Any, dict]:
        """decoder-only: a word Transformer LM on both languages (it reads the source with the same
        tokenizer); encoder–decoder: a GRU LM on the target-side sentences of the training split."""
        key = "transformer-pairs" if architecture == "decoder_only" else f"rnnlm-{pairs.target_language}"
        if key not in lms:
            sides = ("source", "target") if architecture == "decoder_only" else ("target",)
            side = ", both languages" if len(sides) == 2 else f", target side: {pairs.target_language}"
            text = data if architecture == "decoder_only" else pairs  # both languages: the same LM both ways
            lms[key] = pretrain(key, as_text_corpus(text, sides=sides), work, args.scale, side)
            results.add({"task": "pretrain", "model": key, **lms[key][1]})
        return lms[key]

    budgets: dict[tuple[str, str], dict[str, Any]] = {}

    def budget(architecture: str, direction: str, pretrained: Any, config: Any) -> dict[str, Any]:
        """The steps of each translator: what fits the direction's minutes at the calibrated s/step,
        measured once per architecture and direction, so pre-trained and scratch get the same steps."""
        minutes = args.translate_minutes if direction == "forward" else args.reverse_minutes
        if not minutes:
            return {}
        if (architecture, direction) not in budgets:
            per_step = seconds_per_step(pretrained, data, config, work / f"calibrate-{architecture}-{direction}",
                                        args.calibration_steps)
            steps = budget_steps(minutes, per_step)
            print(f"calibration {architecture} {direction}: {per_step:.3f} s/step -> {steps} steps", flush=True)
            budgets[architecture, direction] = {"steps": steps, "budget_seconds": minutes * 60,
                                                "calibration_seconds_per_step": per_step,
                                                "calibration_load_average": os.getloadavg()}
        return budgets[architecture, direction]

    for direction in ("forward", "reverse"):
        pairs = data if direction == "forward" else data.reversed()
        example = examples[pairs.source_language]
        copy = tasks.CopyTranslator(pairs.source_language, pairs.target_language)
        results.add({"task": "translate", "model": "copy the source", "init": "baseline", "split": "disjoint",
                     **score_translation(copy, pairs, "test"), "example": [example, copy.translate([example])[0]]})
        rows = args.forward_rows if direction == "forward" else args.reverse_rows
        items = [item.split(":") for item in rows.split(",") if item]
        for seed, (architecture, init) in itertools.product(range(args.translate_seeds), items):
            pretrained, info = pretrained_for(architecture, pairs)
            config = translation_config(args, architecture, init, direction, pairs.source_language)
            limits = budget(architecture, direction, pretrained, config)
            config = replace(config, {"seed": seed, **({"steps": limits["steps"]} if limits else {})})
            out = work / (f"translate-{architecture}-{init}-{direction}" + (f"-{seed}" if seed else ""))
            load_before = os.getloadavg()
            model, wall, cpu = timed(lambda c=config, o=out, p=pretrained: finetuned(p, data, o, c))
            steps = max([m.get("step", 0) for m in RunDir(out).read_metrics()] or [0])
            scores = score_translation(model, data, "test")
            row = {"task": "translate", "model": f"{architecture.replace('_', '-')} translator", "init": init, "seed": seed,
                   "split": "disjoint",  # no test sentence in train, valid or pre-training text (labelled.disjoint_split)
                   "finetune_config": to_dict(model.config),  # a reused run's own
                   "finetune_steps": steps, "finetune_epochs": steps / math.ceil(len(data.train) / config.batch_size),
                   **limits, **finetune_timing(out, wall, cpu),
                   "load_average_before": load_before, "load_average_after": os.getloadavg(),
                   "network_start": RunDir(out).read_config().get("network_start"),
                   "params": model.num_params(), **scores, "example": [example, model.translate([example])[0]]}
            # The tokenizer (and, pre-trained, the weights) come from this LM run: scratch names it too.
            results.add(row | ({k: v for k, v in info.items() if k != "pretrain_config"} if init == "pretrained" else
                               {"pretrain_text": None, "tokenizer_from": info["pretrain_text"]}))


def budget_steps(minutes: float, seconds_per_step: float) -> int:
    """The steps that fit `minutes`, keeping 10% for tracing, the validation chunks and a calibration
    that reads fast.

    Example:
        >>> budget_steps(20, 0.3)
        3600
    """
    return max(1, int(0.9 * minutes * 60 / seconds_per_step))


def seconds_per_step(pretrained: Any, data: Any, config: Any, out: Path, steps: int) -> float:
    """Median seconds per step over the second half of a short fine-tuning run (tracing excluded;
    its chunks of steps / 6 each end with the validation pass, so it reads a little slow)."""
    shutil.rmtree(out, ignore_errors=True)
    tasks.finetune(pretrained, data, out, replace(config, {"steps": steps,
                                                            "checkpoint_every_n_steps": max(1, steps // 6)}))
    records = [r for r in RunDir(out).read_metrics() if "seconds" in r]
    gaps = [(b["seconds"] - a["seconds"]) / (b["step"] - a["step"]) for a, b in zip(records, records[1:], strict=False)]
    return float(np.median(gaps[len(gaps) // 2 :]))


def split_of(row: dict[str, Any]) -> str:
    """The Tatoeba split a translation row was measured on: rows before the disjoint split (2026-12-06)
    carry no `split` and were measured on the old one, whose test sentences also occurred in train."""
    return row.get("split", "overlapping")


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean, standard deviation and count over seeds of each (task, model, init, labels or direction).

    A row measured again (the same model, init, labels and seed, or the same translator, direction,
    split, number of steps and seed) counts once: the later measurement replaces the earlier one.
    Translators trained for different numbers of steps, or on another split, are separate lines.
    """
    latest: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        if row["task"] == "classify":
            latest[("classify", row["model"], row["init"], row["labels"], row["seed"])] = row
        elif row["task"] == "translate":
            latest[("translate", row["model"], row["init"], row["direction"], split_of(row),
                    row.get("finetune_steps"), row.get("seed", 0))] = row
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for key, row in latest.items():
        groups.setdefault(key[:4] if key[0] == "classify" else key[:6], []).append(row)
    out = []
    for (task, model, init, key, *split), group in groups.items():
        values = [100 * r["accuracy"] for r in group] if task == "classify" else [r["bleu"] for r in group]
        line = {"task": task, "model": model, "init": init, "labels_or_direction": key,
                "metric": "accuracy %" if task == "classify" else "BLEU", "mean": float(np.mean(values)),
                "std": float(np.std(values)), "runs": len(values)}
        if task == "translate":  # the first seed's example and budget; chrF averaged like BLEU
            row = group[0]
            chrf = [r["chrf"] for r in group]
            line |= {"split": split[0], "chrf": float(np.mean(chrf)), "chrf_std": float(np.std(chrf)),
                     "example": row.get("example"), "finetune_seconds": row.get("finetune_seconds"),
                     "finetune_epochs": row.get("finetune_epochs"), "finetune_steps": row.get("finetune_steps"),
                     "load_average": (row.get("load_average_before") or [None])[0], "pretrain_text": row.get("pretrain_text"),
                     "pretrain_steps": row.get("pretrain_steps"), "pretrain_seconds": row.get("pretrain_seconds")}
        out.append(line)
    return out


def markdown(summary: list[dict[str, Any]], rows: list[dict[str, Any]]) -> str:
    """The README's fine-tuning tables, from a merged results file (never typed by hand)."""
    pretraining = {r["model"]: r for r in rows if r["task"] == "pretrain"}
    counts = sorted({line["labels_or_direction"] for line in summary if line["task"] == "classify"})
    lines = ["| model | init | " + " | ".join(f"{c:,} labels" for c in counts) + " |",
             "|---|---|" + "---|" * len(counts)]
    cells: dict[tuple, dict] = {}
    for line in summary:
        if line["task"] == "classify":
            cells.setdefault((line["model"], line["init"]), {})[line["labels_or_direction"]] = line
    for (model, init), by_count in cells.items():
        values = [f"{by_count[c]['mean']:.1f} ± {by_count[c]['std']:.1f} (n={by_count[c]['runs']})" if c in by_count
                  else "—" for c in counts]
        lines.append(f"| {model} | {init} | " + " | ".join(values) + " |")
    lines += ["", "| direction | model | init | BLEU | chrF | fine-tuning | pre-training | 我明天要去看电影。 / I'm going to see a movie tomorrow. |",
              "|---|---|---|---|---|---|---|---|"]
    for line in sorted((x for x in summary if x["task"] == "translate"), key=lambda x: x["labels_or_direction"]):
        budget = (f"{line['finetune_epochs']:.2g} epochs, {line['finetune_seconds']:.0f} s"
                  if line.get("finetune_seconds") else "—")
        if line.get("finetune_steps"):  # a time-budgeted row: its steps and the machine's load when it started
            budget = f"{line['finetune_steps']:,} steps ({budget}, load {line['load_average']:.0f})"
        pre = (f"{line['pretrain_text']}, {line['pretrain_steps']} steps, {line['pretrain_seconds']:.0f} s"
               if line.get("pretrain_text") else "—")
        example = line["example"][1] if line.get("example") else "—"
        bleu, chrf = (f"{line[mean]:.1f}" + (f" ± {line[std]:.1f} (n={line['runs']})" if line["runs"] > 1 else "")
                      for mean, std in (("mean", "std"), ("chrf", "chrf_std")))
        lines.append(f"| {line['labels_or_direction']} ({line['split']} split) | {line['model']} | {line['init']} | {bleu} | {chrf} | "
                     f"{budget} | {pre} | {example} |")
    lines += ["", "Pre-training runs: " + "; ".join(
        f"{name}: {r['pretrain_family']} on {r['pretrain_text']}, {r['pretrain_steps']} steps, {r['pretrain_seconds']:.0f} s"
        for name, r in pretraining.items())]
    return "\n".join(lines)


def merge(paths: list[str], out: str) -> None:
    """Join the result files of separate runs (e.g. `--parts classify` and `--parts translate`) into one;
    a file merged before (results/finetune.json itself) brings its runs along."""
    files = [json.loads(Path(p).read_text()) for p in paths]
    runs = [run for f in files for run in (f["runs"] if "runs" in f else [{k: v for k, v in f.items() if k != "rows"}])]
    rows = [row for f in files for row in f["rows"]]
    merged = {"runs": runs, "summary": summarise(rows), "rows": rows}
    Path(out).write_text(json.dumps(merged, indent=1, ensure_ascii=False, default=str) + "\n")
    print(markdown(merged["summary"], rows))
    print(f"wrote {out}")


def main() -> None:
    if sys.argv[1:2] == ["--merge"]:
        merge(sys.argv[2:], str(RESULTS / "finetune.json"))
        return
    args = parse_args()
    results = Results(Path(args.out), args)
    work = Path(args.work or tempfile.mkdtemp(prefix="lmzoo-finetune-"))
    parts = args.parts.split(",")
    if "classify" in parts:
        run_classification(args, results, work)
    if "classify-imdb" in parts:
        run_pretraining_pays(args, results, work)
    if "translate" in parts:
        run_translation(args, results, work)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
