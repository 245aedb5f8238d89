"""MODEL_CARD.md in every run directory: what the model is, what it learnt from, how well it does.

The sections follow the model-card conventions of Hugging Face and keras-hub (Mitchell et al.
2019, "Model Cards for Model Reporting"): model details, training data, training procedure,
evaluation, intended use, limitations and known failure modes, how to use it. Every figure is
read from the run's own files (config.json, timing.json, results.json, COMPLETE), so the card
cannot disagree with them; `data`, when given, adds the size and sha256 of each split. A card
written before any evaluation says so; `lmzoo compare` writes it after scoring.

Example:
    >>> from lmzoo import train, load_corpus
    >>> import tempfile
    >>> run = tempfile.mkdtemp()
    >>> _ = train("unigram", load_corpus("lee"), run)
    >>> "## Limitations and known failure modes" in open(f"{run}/MODEL_CARD.md").read()
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from lmzoo.runs import RunDir, write_text_atomic

CARD = "MODEL_CARD.md"
GENERAL_LIMITS = ("Trained for teaching, on a small corpus and a short budget: not for use in products. It "
                  "reproduces the language, topics and biases of its training text, and knows nothing after it.")
# family -> (intended use, limitations and known failure modes)
FAMILY_NOTES: dict[str, tuple[str, str]] = {
    "unigram": ("The floor every language model must beat, and a check of the harness.",
                "No context at all: every position gets the same distribution, so greedy generation repeats "
                "the most frequent word."),
    "ngram": ("A counting language model: a strong baseline on small data, ARPA export for KenLM and SRILM.",
              "Sees only the last n-1 tokens; unseen contexts back off to shorter ones; a word model pays the "
              "spelling cost of every unknown word; stupid backoff gives scores, not probabilities (no "
              "perplexity); memory grows with the number of distinct n-grams."),
    "word2vec": ("Word vectors for similarity, analogies and as a backbone for fine-tuning.",
                 "Not a language model: it gives no probability of a text. One vector per word type (no senses); "
                 "words below min_count have none; on a small corpus similarities are noisy (WordSim353 near 0)."),
    "seq2seq": ("Teaching the encoder-decoder: reconstruction, the bottleneck, attention, beam search.",
                "An autoencoder, not a language model: its decoder sees the input, so its conditional bits/char "
                "is not comparable with a language model's; long sentences lose words in the bottleneck; "
                "`generate` rewrites the prompt instead of continuing it."),
    "rnnlm": ("A recurrent language model for learning truncated backpropagation through time.",
              "At a CPU budget it is far from converged; greedy generation falls into loops; it remembers only "
              "what its state keeps."),
    "transformer": ("A GPT-style language model written out for teaching.",
                    "Sees at most its context window; trained briefly on little text it invents words and "
                    "repeats itself; greedy decoding loops."),
    "gpt2": ("A pre-trained GPT-2 preset (keras-nlp), loaded, not trained: a strong baseline and a backbone.",
             "Trained by OpenAI on WebText: English, with that text's biases; byte-level BPE tokens."),
    "finetuned": ("Classification or translation on top of a pre-trained run.",
                  "Scored only on its task data; on a few thousand examples accuracy may sit near the majority "
                  "rate, and BLEU on a few hundred sentences moves by points between seeds."),
}
FAMILY_NOTES["word2vec-gensim"] = FAMILY_NOTES["word2vec"]
# The figures a card shows when results.json has them, with their labels.
FIGURES = (("bits_per_char", "open-vocabulary bits/char"), ("bits_per_char_closed", "closed bits/char"),
           ("unk_rate", "unknown-token rate"), ("perplexity", "perplexity per token (closed)"),
           ("conditional_bits_per_char", "conditional bits/char (decoder sees its input)"),
           ("reconstruction_token_accuracy", "reconstruction token accuracy"),
           ("wordsim353_spearman", "WordSim353 Spearman"), ("simlex999_spearman", "SimLex-999 Spearman"),
           ("analogy_accuracy", "Google analogies accuracy"), ("accuracy", "accuracy"),
           ("majority_rate", "majority-label rate"), ("bleu", "BLEU"), ("chrf", "chrF"), ("params", "parameters"))


def _json(run: RunDir, name: str) -> dict:
    try:
        data = json.loads(run.file(name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _split_rows(data: Any) -> list[str]:
    """One Markdown row per split of a Corpus (text) or of task data (example lists): size and sha256."""
    rows = []
    for name in ("train", "valid", "test"):
        part = getattr(data, name, None)
        if part is None:
            continue
        if isinstance(part, str):
            size, blob = f"{len(part):,} characters", part.encode("utf-8")
        else:
            size, blob = f"{len(part):,} examples", json.dumps(list(part), ensure_ascii=False).encode("utf-8")
        rows.append(f"| {name} | {size} | `{hashlib.sha256(blob).hexdigest()}` |")
    return rows


def _machine() -> str:
    gpus = ""
    if "tensorflow" in sys.modules:  # never imported just for the card
        gpus = f", {len(sys.modules['tensorflow'].config.list_physical_devices('GPU'))} GPU(s) visible to TensorFlow"
    return f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs{gpus}"


def write_model_card(run: RunDir | str | os.PathLike, data: Any = None) -> Path | None:
    """Write MODEL_CARD.md into a finished run directory from its files (and `data`'s splits); returns its path.

    A run that did not finish (interrupted, or a worker other than the chief in multi-worker
    training, which saves nothing) gets no card, and None is returned.
    """
    run = run if isinstance(run, RunDir) else RunDir(run)
    if not run.is_complete():
        return None
    config, timing, results = _json(run, "config.json"), _json(run, "timing.json"), _json(run, "results.json")
    family = config.get("family", "unknown")
    use, limits = FAMILY_NOTES.get(family, ("", ""))
    corpus = config.get("corpus", getattr(data, "name", "unknown"))
    finished = run.file("COMPLETE").read_text().strip()
    lines = ["---", "library_name: keras-lmzoo", f"tags: [keras, lmzoo, {family}]", f"datasets: [{corpus}]", "---", "",
             f"# {family} · `{run.path.name}`", "",
             f"A model of the `{family}` family trained with keras-lmzoo (`lmzoo.models`), on the corpus `{corpus}`.", "",
             "## Model details", "", f"- family: `{family}`", f"- preset: `{config.get('preset', '–')}`"]
    if results.get("params") is not None:
        lines.append(f"- parameters: {results['params']:,}")
    if results.get("tokenizer"):
        lines.append(f"- tokenizer: {results['tokenizer']}")
    lines += ["- config:", "", "```json", json.dumps(config.get("config", {}), indent=2, default=str), "```", "",
              "## Training data", "", f"- corpus: `{corpus}`"]
    if config.get("corpus_path"):
        lines.append(f"- file: `{config['corpus_path']}` (sha256 `{config.get('corpus_sha256', '')}`)")
    if config.get("pretrained_run"):
        lines.append(f"- fine-tuned from the pre-trained {config.get('pretrained_family', '')} run "
                     f"`{config['pretrained_run']}` (its own MODEL_CARD.md says what it was trained on)")
    splits = _split_rows(data) if data is not None else []
    if splits:
        lines += ["", "| split | size | sha256 |", "|---|---|---|", *splits]
    lines += ["", "## Training procedure", ""]
    seed = config.get("config", {}).get("seed") if isinstance(config.get("config"), dict) else None
    lines += [f"- seed: {seed if seed is not None else '–'}",
              f"- tokens seen: {_fmt(timing['tokens_seen']) if 'tokens_seen' in timing else '–'}",
              f"- wall time of training: {timing['train_seconds']:.1f} s" if "train_seconds" in timing
              else "- wall time of training: –",
              f"- machine: {_machine()}", f"- finished: {finished}",
              f"- libraries: {', '.join(f'{k} {v}' for k, v in config.get('versions', {}).items())}", "",
              "## Evaluation", ""]
    figures = [(label, results[key]) for key, label in FIGURES if results.get(key) is not None]
    if figures:
        split = results.get("split", "test")
        lines += [f"On the {split} split of `{results.get('corpus', corpus)}` (`results.json` holds every figure):", "",
                  "| figure | value |", "|---|---|", *(f"| {label} | {_fmt(value)} |" for label, value in figures)]
    else:
        lines.append(f"Not evaluated yet: `lmzoo evaluate {run.path}` writes results.json.")
    lines += ["", "## Intended use", "", use or "See the family's module docstring.", "",
              "## Limitations and known failure modes", "", GENERAL_LIMITS, *(["", limits] if limits else []), "",
              "## How to use", "", "```bash", f"lmzoo evaluate {run.path}",
              *([f"lmzoo generate {run.path} --prompt \"...\""] if family not in ("word2vec", "word2vec-gensim") else []),
              "```", ""]
    write_text_atomic(run.file(CARD), "\n".join(lines))
    return run.file(CARD)


__all__ = ["CARD", "write_model_card"]
