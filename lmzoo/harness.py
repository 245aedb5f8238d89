"""The one evaluation harness. It reaches models only through `lmzoo.protocols`, never a family.

- `score_text`: total NLL in nats, token/character/byte counts, perplexity per token and per
  word, and bits per character (NLL / ln 2 / characters of the text itself, so models with
  different tokenizers compare fairly).
- `score_embeddings`: WordSim353 and SimLex-999 Spearman (with OOV rates) and Google analogy
  3CosAdd accuracy (with questions covered), on the files gensim's wheel ships.
- `score_reconstruction`: token accuracy, exact match and BLEU of an autoencoder's output,
  plus its decoder NLL, labelled conditional (it sees the answer through the encoder).
- `evaluate`: every score that the model's capabilities allow, plus size and timing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from lmzoo.datasets.corpus import Corpus, gensim_test_data
from lmzoo.datasets.tokenizers import UNK
from lmzoo.errors import LmzooError
from lmzoo.protocols import (
    Classifier,
    ConditionalScorer,
    Embedder,
    Generator,
    LanguageModel,
    Reconstructor,
    Translator,
    ZooModel,
)
from lmzoo.runs import RunDir

LN2 = math.log(2)


def count_words(text: str) -> int:
    """Words as Mikolov counts them: whitespace-separated words plus one `</s>` per non-empty line."""
    return sum(len(line.split()) + 1 for line in text.splitlines() if line.strip())


def score_text(model: LanguageModel, text: str) -> dict[str, Any]:
    """Score `text` with a language model.

    Example:
        >>> from lmzoo import train, load_corpus
        >>> import tempfile
        >>> corpus = load_corpus("lee")
        >>> scores = score_text(train("unigram", corpus, tempfile.mkdtemp()), corpus.test)
        >>> 1 < scores["bits_per_char"] < 3
        True
    """
    ids = model.tokenizer.encode(text)
    if not ids:
        raise LmzooError("the text to score is empty", "check the corpus split")
    start = time.perf_counter()
    log_probs = np.asarray(model.token_log_probs(ids), dtype=np.float64)
    seconds = time.perf_counter() - start
    if log_probs.shape != (len(ids),):
        raise LmzooError(f"{model.family}: token_log_probs returned shape {log_probs.shape} for {len(ids)} tokens")
    nll = float(-log_probs.sum())
    words = count_words(text)
    unk_id = getattr(model.tokenizer, "unk_id", UNK)
    return {
        "nll_nats": nll,
        "tokens": len(ids),
        "characters": len(text),
        "bytes": len(text.encode("utf-8")),
        "words": words,
        # A tokenizer without an unknown token (byte-level BPE) says so with `unk_id = None`.
        "unk_rate": float(np.mean(np.asarray(ids) == unk_id)) if unk_id is not None else 0.0,
        "perplexity": math.exp(nll / len(ids)) if math.isfinite(nll) else math.inf,
        "perplexity_per_word": math.exp(nll / words) if math.isfinite(nll) else math.inf,
        "bits_per_char": nll / LN2 / len(text),
        "bits_per_byte": nll / LN2 / len(text.encode("utf-8")),
        "score_tokens_per_second": len(ids) / seconds if seconds else math.inf,
    }


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def score_embeddings(model: Embedder, restrict_vocab: int = 30000) -> dict[str, Any]:
    """Word-similarity Spearman and analogy accuracy of the model's word vectors.

    OOV pairs/questions are skipped (gensim's rule) and their share is reported, so a
    character-level embedding table simply scores 100% OOV.
    """
    vectors = model.word_vectors()
    data = gensim_test_data()
    out: dict[str, Any] = {"vocabulary_words": len(vectors.index_to_key)}
    for name, file in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        try:
            _, spearman, oov = vectors.evaluate_word_pairs(str(data / file), restrict_vocab=restrict_vocab, case_insensitive=True)
            out[f"{name}_spearman"] = _finite(spearman[0])
            out[f"{name}_oov"] = float(oov) / 100.0
        except (ValueError, ZeroDivisionError, IndexError):  # no pair in vocabulary
            out[f"{name}_spearman"], out[f"{name}_oov"] = None, 1.0
    try:
        accuracy, sections = vectors.evaluate_word_analogies(
            str(data / "questions-words.txt"), restrict_vocab=restrict_vocab, case_insensitive=True
        )
        total = sections[-1]
        covered = len(total["correct"]) + len(total["incorrect"])
        out["analogy_accuracy"] = float(accuracy) if covered else None  # no question in vocabulary
        out["analogy_covered"] = covered
    except (ValueError, ZeroDivisionError, IndexError):
        out["analogy_accuracy"], out["analogy_covered"] = None, 0
    return out


def nearest_neighbours(model: Embedder, words: Sequence[str], topn: int = 5) -> dict[str, list[tuple[str, float]]]:
    """The `topn` most similar words to each query word, by cosine similarity."""
    vectors = model.word_vectors()
    missing = [w for w in words if w not in vectors.key_to_index]
    if missing:
        raise LmzooError(f"not in the vocabulary: {', '.join(missing)}", "query words the model was trained on")
    return {w: [(n, float(s)) for n, s in vectors.most_similar(w, topn=topn)] for w in words}


def _bleu(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus BLEU-4 (0-1) with brevity penalty, on whitespace tokens; smoothed by add-one for n>1."""
    matches, totals = [0] * 4, [0] * 4
    ref_len = hyp_len = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        r, h = ref.split(), hyp.split()
        ref_len, hyp_len = ref_len + len(r), hyp_len + len(h)
        for n in range(1, 5):
            ref_ngrams: dict[tuple, int] = {}
            for i in range(len(r) - n + 1):
                ref_ngrams[tuple(r[i : i + n])] = ref_ngrams.get(tuple(r[i : i + n]), 0) + 1
            for i in range(len(h) - n + 1):
                gram = tuple(h[i : i + n])
                if ref_ngrams.get(gram, 0) > 0:
                    ref_ngrams[gram] -= 1
                    matches[n - 1] += 1
            totals[n - 1] += max(0, len(h) - n + 1)
    if hyp_len == 0 or matches[0] == 0:
        return 0.0
    log_precision = sum(math.log((m + (n > 0)) / (t + (n > 0))) for n, (m, t) in enumerate(zip(matches, totals, strict=True))) / 4
    brevity = min(0.0, 1 - ref_len / hyp_len)
    return math.exp(log_precision + brevity)


def score_reconstruction(model: Reconstructor, sentences: Sequence[str], num_beams: int = 1) -> dict[str, Any]:
    """How well an autoencoder writes its input back, compared token by token."""
    if not sentences:
        raise LmzooError("no sentences to reconstruct", "check the corpus split")
    outputs = model.reconstruct(list(sentences), num_beams=num_beams)
    tokenizer = model.tokenizer
    correct = total = exact = 0
    references, hypotheses = [], []
    for sentence, output in zip(sentences, outputs, strict=True):
        ref, hyp = tokenizer.encode(sentence), tokenizer.encode(output)
        correct += sum(a == b for a, b in zip(ref, hyp, strict=False))
        total += len(ref)
        exact += ref == hyp
        references.append(tokenizer.decode(ref))
        hypotheses.append(tokenizer.decode(hyp))
    out = {
        "reconstruction_token_accuracy": correct / total,
        "reconstruction_exact_match": exact / len(sentences),
        "reconstruction_bleu": _bleu(references, hypotheses),
        "reconstruction_sentences": len(sentences),
        "reconstruction_examples": [[s, o] for s, o in zip(sentences[:3], outputs[:3], strict=True)],
    }
    if isinstance(model, ConditionalScorer):
        log_probs = np.concatenate([np.asarray(lp, dtype=np.float64) for lp in model.conditional_log_probs(sentences)])
        nll = float(-log_probs.sum())
        chars = sum(len(s) for s in sentences)
        out |= {
            "conditional_nll_nats": nll,
            "conditional_tokens": len(log_probs),
            "conditional_perplexity": math.exp(nll / len(log_probs)),
            "conditional_bits_per_char": nll / LN2 / chars,
        }
    return out


def evaluate(
    model: ZooModel, corpus: Corpus, split: str = "test", *, run: RunDir | None = None,
    max_sentences: int = 200, prompt_words: int = 4, seed: int = 0,
) -> dict[str, Any]:
    """Every score the model's capabilities allow, on one split, plus its size and timing."""
    row: dict[str, Any] = {"family": model.family, "corpus": corpus.name, "split": split,
                           "tokenizer": model.tokenizer.kind, "params": int(model.num_params())}
    if isinstance(model, (Classifier, Translator)):  # a fine-tuned run; `corpus` is its task data
        scores = score_classification(model, corpus, split) if isinstance(model, Classifier) else \
            score_translation(model, corpus, split)
        return row | scores | (run.timing() if run is not None else {})
    text = corpus.split(split)
    if isinstance(model, LanguageModel):
        row |= score_text(model, text)
    if isinstance(model, Embedder):
        row |= score_embeddings(model)
    if isinstance(model, Reconstructor):
        row |= score_reconstruction(model, corpus.sentences(split)[:max_sentences])
    if isinstance(model, Generator):
        prompt = " ".join(text.split()[:prompt_words])
        row["prompt"] = prompt
        try:
            row["sample"] = model.generate(prompt, max_length=40, num_return_sequences=1, seed=seed)[0]
        except LmzooError as err:  # e.g. a context too short for 40 new tokens: still score the rest
            row["sample"], row["sample_error"] = None, str(err)
    if run is not None:
        row |= run.timing()
    return row


# Fine-tuned tasks (lmzoo.models.tasks): accuracy, and BLEU/chrF with sacrebleu -------------------


def score_classification(model: Classifier, data: Any, split: str = "test") -> dict[str, Any]:
    """Accuracy of a classifier on a labelled split, with the majority-label rate beside it.

    `data` is a `lmzoo.datasets.labelled.LabelledData`.
    """
    examples = data.split(split)
    if not examples:
        raise LmzooError(f"the {split} split of '{data.name}' is empty", "use another split")
    texts, gold = [t for t, _ in examples], [label for _, label in examples]
    start = time.perf_counter()
    predicted = model.classify(texts)
    seconds = time.perf_counter() - start
    majority = max(gold.count(label) for label in set(gold)) / len(gold)
    return {"accuracy": float(np.mean([p == g for p, g in zip(predicted, gold, strict=True)])),
            "examples": len(gold), "majority_rate": majority, "classify_seconds": seconds,
            "classification_examples": [[t, g, p] for t, g, p in zip(texts[:3], gold[:3], predicted[:3], strict=True)]}


def score_translation(model: Translator, data: Any, split: str = "test", max_sentences: int | None = None) -> dict[str, Any]:
    """Corpus BLEU and chrF (sacrebleu) of a translator on a pairs split; `zh` tokenisation for Chinese.

    `data` is a `lmzoo.datasets.labelled.PairData`; it is read the other way round when the model
    translates from its target language into its source language.
    """
    import sacrebleu

    if model.target_language == data.source_language and model.target_language != data.target_language:
        data = data.reversed()
    pairs = data.split(split)[:max_sentences]
    if not pairs:
        raise LmzooError(f"the {split} split of '{data.name}' is empty", "use another split")
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    start = time.perf_counter()
    hypotheses = model.translate(sources)
    seconds = time.perf_counter() - start
    tokenize = "zh" if data.target_language == "zh" else "13a"
    bleu, chrf = sacrebleu.BLEU(tokenize=tokenize), sacrebleu.CHRF()
    return {"bleu": float(bleu.corpus_score(hypotheses, [references]).score),
            "chrf": float(chrf.corpus_score(hypotheses, [references]).score),
            "bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature()),
            "sentences": len(pairs), "direction": f"{data.source_language}->{data.target_language}",
            "translate_seconds": seconds,
            "translation_examples": [[s, r, h] for s, r, h in zip(sources[:3], references[:3], hypotheses[:3], strict=True)]}
