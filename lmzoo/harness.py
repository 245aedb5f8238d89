"""The one evaluation harness. It reaches models only through `lmzoo.protocols`, never a family.

- `score_text`: total NLL in nats, token/character/byte counts, perplexity per token and per
  word (closed vocabulary), and open-vocabulary bits per character: NLL plus the spelling cost
  of every unknown token, / ln 2 / characters of the text itself, so models with different
  tokenizers and vocabularies compare fairly (Mielke et al. 2019, "What kind of language is hard
  to language-model?"; `lmzoo.spelling`), plus the layout a word or subword tokenizer drops
  (spaces, tabs, `_`, blank lines; `layout_costs`). `bits_per_char_closed` is the figure without either.
- `score_embeddings`: WordSim353 and SimLex-999 Spearman (with OOV rates) and Google analogy
  3CosAdd accuracy (with questions covered), on the files gensim's wheel ships.
- `score_reconstruction`: token accuracy, exact match and BLEU (sacrebleu) of an autoencoder's
  output against the original words, plus its decoder NLL, labelled conditional (it sees the
  answer through the encoder).
- `evaluate`: every score that the model's capabilities allow, plus size and timing; for a model
  that carries a state through the text (`WindowScorer`), also its rolling-window figure.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

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
    WindowScorer,
    ZooModel,
)
from lmzoo.runs import RunDir
from lmzoo.spelling import SpellingModel

LN2 = math.log(2)


# Han characters (CJK Unified Ideographs and Extension A) are words of their own, as the word
# tokenizer counts them; anything else between spaces is one word.
_WORD_COUNT_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[^\s\u3400-\u4dbf\u4e00-\u9fff]+")


def count_words(text: str) -> int:
    """Words as Mikolov counts them (whitespace-separated, plus one `</s>` per non-empty line),
    with each Han character counted as a word (Chinese has no spaces; the word tokenizer's rule).

    Example:
        >>> count_words("the cat sat\\n\\n我明天要去看电影。")
        14
    """
    return sum(len(_WORD_COUNT_RE.findall(line)) + 1 for line in text.splitlines() if line.strip())


def _exp(value: float) -> float:
    """exp that returns inf instead of raising OverflowError (perplexities of hopeless models)."""
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def spelling_costs(tokenizer: Any, text: str, ids: Sequence[int], spelling: SpellingModel | None) -> np.ndarray:
    """The spelling cost in nats of each `<unk>` in `ids` (the encoding of `text`), in order.

    Empty when the tokenizer has no unknown token (byte-level BPE) or none occurs.
    """
    unk_id = getattr(tokenizer, "unk_id", UNK)
    unknown = int(np.sum(np.asarray(ids) == unk_id)) if unk_id is not None else 0
    if not unknown:
        return np.zeros(0)
    if spelling is None:
        raise LmzooError(f"the text has {unknown} unknown tokens, whose characters must be paid for",
                         "pass spelling=SpellingModel.fit(corpus.train) (lmzoo.spelling), as evaluate() does")
    pieces = tokenizer.unknown_pieces(text)
    if len(pieces) != unknown:
        raise LmzooError(f"{tokenizer.kind} tokenizer: {unknown} unknown ids but {len(pieces)} unknown pieces",
                         "its unknown_pieces() must follow encode()")
    return np.array([spelling.cost(piece) for piece in pieces], dtype=np.float64)


class TokenCosts(NamedTuple):
    """What a language model paid for each token of a text, in nats (see `token_costs`)."""

    ids: list[int]
    nll: np.ndarray  # -log p(token | the tokens before it)
    spelling: np.ndarray  # the spelling cost of each `<unk>`, 0 for every other token
    is_unknown: np.ndarray  # bool: the token is the unknown id
    seconds: float  # the time token_log_probs took
    layout: np.ndarray  # the cost of each gap between words that the tokenizer drops (`layout_costs`), in order

    @property
    def unknown(self) -> int:
        return int(self.is_unknown.sum())


def token_costs(model: LanguageModel, text: str, spelling: SpellingModel | None = None) -> TokenCosts:
    """Per token of `text`: the model's NLL and the spelling cost of each `<unk>`; and the layout's cost (nats).

    The one scoring that `score_text` sums and the report's per-character view spreads out.
    """
    ids = model.tokenizer.encode(text)
    if not ids:
        raise LmzooError("the text to score is empty", "check the corpus split")
    start = time.perf_counter()
    log_probs = np.asarray(model.token_log_probs(ids), dtype=np.float64)
    seconds = time.perf_counter() - start
    if log_probs.shape != (len(ids),):
        raise LmzooError(f"{model.family}: token_log_probs returned shape {log_probs.shape} for {len(ids)} tokens")
    spell = spelling_costs(model.tokenizer, text, ids, spelling)
    unk_id = getattr(model.tokenizer, "unk_id", UNK)
    is_unknown = np.asarray(ids) == unk_id if len(spell) else np.zeros(len(ids), dtype=bool)
    per_token = np.zeros(len(ids))
    per_token[is_unknown] = spell
    return TokenCosts(list(ids), -log_probs, per_token, is_unknown, seconds, layout_costs(model.tokenizer, text, spelling))


def layout_costs(tokenizer: Any, text: str, spelling: SpellingModel | None) -> np.ndarray:
    """The cost in nats of each gap that `tokenizer.encode(text)` drops (`lmzoo.spelling.LayoutModel`).

    Empty for a tokenizer that keeps every character (char, byte-level BPE).
    """
    gaps = list(tokenizer.layout_gaps(text))
    if not gaps:
        return np.zeros(0)
    if spelling is None:
        raise LmzooError(f"a {tokenizer.kind} tokenizer drops the text's layout (spaces, line breaks), which must be "
                         "paid for", "pass spelling=SpellingModel.fit(corpus.train) (lmzoo.spelling), as evaluate() does")
    layout = spelling.layout(tokenizer)
    return np.array([layout.cost(context, gap) for context, gap in gaps], dtype=np.float64)


def score_text(model: LanguageModel, text: str, spelling: SpellingModel | None = None) -> dict[str, Any]:
    """Score `text` with a language model; `bits_per_char` is the open-vocabulary figure.

    Every language model pays for every character (Mielke et al. 2019): a token that is the
    unknown id also pays −log p_spell(its characters + end of word) under `spelling`, a character
    model fitted on the training split only (`lmzoo.spelling`), and a word or subword model pays
    for the layout between its words (`layout_costs`). `bits_per_char_closed` leaves both out (what
    word models reported before), and perplexity per token and per word are closed-vocabulary
    figures. Without `spelling`, a text with unknown tokens or dropped layout is refused.

    Example:
        >>> from lmzoo import train, load_corpus
        >>> from lmzoo.spelling import SpellingModel
        >>> import tempfile
        >>> corpus = load_corpus("lee")
        >>> model = train("unigram", corpus, tempfile.mkdtemp())
        >>> scores = score_text(model, corpus.test, SpellingModel.fit(corpus.train))
        >>> scores["bits_per_char"] > scores["bits_per_char_closed"] > 1
        True
    """
    costs = token_costs(model, text, spelling)
    ids, nll, spell = costs.ids, float(costs.nll.sum()), float(costs.spelling.sum())
    layout = float(costs.layout.sum())
    open_nll = nll + spell + layout
    words = count_words(text)
    chars, nbytes = len(text), len(text.encode("utf-8"))
    return {
        "nll_nats": nll,
        "spelling_nats": spell,
        "layout_nats": layout,
        "tokens": len(ids),
        "characters": chars,
        "bytes": nbytes,
        "words": words,
        "unknown_tokens": costs.unknown,
        "unk_rate": costs.unknown / len(ids),
        # closed vocabulary: an unknown word costs only -log p(<unk>)
        "perplexity": _exp(nll / len(ids)),
        "perplexity_per_word": _exp(nll / words) if words else math.inf,
        # open vocabulary: the headline, a code length for every character of the text
        "bits_per_char": open_nll / LN2 / chars,
        "bits_per_byte": open_nll / LN2 / nbytes,
        "bits_per_char_closed": nll / LN2 / chars,
        "score_tokens_per_second": len(ids) / costs.seconds if costs.seconds else math.inf,
    }


def score_windowed(model: WindowScorer, text: str, scores: dict[str, Any]) -> dict[str, Any]:
    """`bits_per_char_windowed`: the open figure of `score_text` (its `scores`) with every token read in
    rolling windows from a fresh state, as a carried-state model trained, instead of after the whole text."""
    nll = -float(np.sum(model.window_log_probs(model.tokenizer.encode(text))))
    return {"nll_nats_windowed": nll,
            "bits_per_char_windowed": (nll + scores["spelling_nats"] + scores["layout_nats"]) / LN2 / len(text)}


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def wordsim353_interval(vectors: Any, restrict_vocab: int = 30000, draws: int = 1000,
                        seed: int = 0) -> tuple[int, float, float, float]:
    """WordSim353 pairs in the vocabulary, their Spearman, and a 90% bootstrap interval over the pairs.

    Words are matched case-insensitively among the `restrict_vocab` most frequent, as gensim's
    `evaluate_word_pairs` does. On lee about a hundred pairs are in the vocabulary, and the interval is
    wide enough (~0.3) that no ranking of methods there is meaningful.
    """
    from scipy.stats import spearmanr

    lower: dict[str, str] = {}
    for word in vectors.index_to_key[:restrict_vocab]:  # most frequent first: the first spelling wins
        lower.setdefault(word.lower(), word)
    pairs = [line.split("\t") for line in (gensim_test_data() / "wordsim353.tsv").read_text().splitlines()
             if line and not line.startswith("#")]
    kept = [(lower[a.lower()], lower[b.lower()], float(h)) for a, b, h in pairs if a.lower() in lower and b.lower() in lower]
    if len(kept) < 3:
        return len(kept), float("nan"), float("nan"), float("nan")
    model_scores = np.array([vectors.similarity(a, b) for a, b, _ in kept])
    human = np.array([h for _, _, h in kept])
    rng = np.random.default_rng(seed)
    boot = [spearmanr(model_scores[i], human[i]).statistic for i in (rng.integers(0, len(kept), len(kept))
                                                                     for _ in range(draws))]
    low, high = np.nanpercentile(boot, [5, 95])
    return len(kept), float(spearmanr(model_scores, human).statistic), float(low), float(high)


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
    if out["wordsim353_spearman"] is not None:  # on a small corpus the Spearman rests on few pairs: say how sure
        pairs, _, low, high = wordsim353_interval(vectors, restrict_vocab=restrict_vocab)
        out["wordsim353_pairs"], out["wordsim353_ci90"] = pairs, (high - low) / 2
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


def bleu(references: Sequence[str], hypotheses: Sequence[str], tokenize: str = "13a") -> float:
    """Corpus BLEU-4 on a 0-100 scale, by sacrebleu (its standard signature; `tokenize="zh"` for Chinese).

    Example:
        >>> round(bleu(["the cat sat on the mat"], ["the cat sat on the mat"]), 1)
        100.0
    """
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize=tokenize).score)


def _scored_characters(tokenizer: Any, sentence: str, scored_tokens: int, total_tokens: int) -> int:
    """Characters of `sentence` behind its first `scored_tokens` tokens (a decoder may truncate)."""
    if scored_tokens >= total_tokens:
        return len(sentence)
    if hasattr(tokenizer, "words"):
        return len(" ".join(tokenizer.words(sentence)[:scored_tokens]))
    return round(len(sentence) * scored_tokens / total_tokens)


def score_reconstruction(model: Reconstructor, sentences: Sequence[str], num_beams: int = 1) -> dict[str, Any]:
    """How well an autoencoder writes its input back, compared with the original words.

    A position counts as correct only when the output has the original token there and that
    token is a known word: `<unk>` written back for `<unk>` has not reconstructed the word.
    BLEU compares the output text with the original sentences.
    """
    if not sentences:
        raise LmzooError("no sentences to reconstruct", "check the corpus split")
    outputs = model.reconstruct(list(sentences), num_beams=num_beams)
    tokenizer = model.tokenizer
    unk_id = getattr(tokenizer, "unk_id", UNK)
    correct = total = exact = 0
    for sentence, output in zip(sentences, outputs, strict=True):
        ref, hyp = tokenizer.encode(sentence), tokenizer.encode(output)
        correct += sum(a == b and a != unk_id for a, b in zip(ref, hyp, strict=False))
        total += len(ref)
        exact += ref == hyp and unk_id not in ref
    out = {
        "reconstruction_token_accuracy": correct / total,
        "reconstruction_exact_match": exact / len(sentences),
        "reconstruction_bleu": bleu(list(sentences), outputs),
        "reconstruction_sentences": len(sentences),
        "reconstruction_examples": [[s, o] for s, o in zip(sentences[:3], outputs[:3], strict=True)],
    }
    if isinstance(model, ConditionalScorer):
        per_sentence = [np.asarray(lp, dtype=np.float64) for lp in model.conditional_log_probs(sentences)]
        log_probs = np.concatenate(per_sentence)
        nll = float(-log_probs.sum())
        chars = sum(_scored_characters(tokenizer, s, len(lp), len(tokenizer.encode(s)))
                    for s, lp in zip(sentences, per_sentence, strict=True))
        out |= {
            "conditional_nll_nats": nll,
            "conditional_tokens": len(log_probs),
            "conditional_characters": chars,
            "conditional_perplexity": _exp(nll / len(log_probs)),
            "conditional_bits_per_char": nll / LN2 / chars,
        }
    return out


_SPELLING_MODELS: dict[tuple[str, int], SpellingModel] = {}


def spelling_model(corpus: Corpus) -> SpellingModel:
    """The spelling model of `corpus`: fitted on its training split only (cached per corpus)."""
    key = (corpus.name, hash(corpus.train))
    if key not in _SPELLING_MODELS:
        _SPELLING_MODELS[key] = SpellingModel.fit(corpus.train)
    return _SPELLING_MODELS[key]


def evaluate(
    model: ZooModel, corpus: Corpus, split: str = "test", *, run: RunDir | None = None,
    max_sentences: int = 200, prompt_words: int = 4, seed: int = 0,
) -> dict[str, Any]:
    """Every score the model's capabilities allow, on one split, plus its size and timing.

    A capability whose score fails with a one-line `LmzooError` (no word vectors in an order-1
    n-gram, no normalised probabilities in stupid backoff, a sentence too long for a decoder)
    is recorded as `<capability>_error` and the other scores are still computed.
    """
    row: dict[str, Any] = {"family": model.family, "corpus": corpus.name, "split": split,
                           "tokenizer": model.tokenizer.kind, "params": int(model.num_params())}
    if isinstance(model, (Classifier, Translator)):  # a fine-tuned run; `corpus` is its task data
        scores = score_classification(model, corpus, split) if isinstance(model, Classifier) else \
            score_translation(model, corpus, split)
        return row | scores | (run.timing() if run is not None else {})
    text = corpus.split(split)

    def attempt(capability: str, score: Any) -> None:
        try:
            row.update(score())
        except LmzooError as err:
            row[f"{capability}_error"] = str(err)

    if isinstance(model, LanguageModel):
        row["spelling_model"] = spelling_model(corpus).to_dict()
        attempt("language_model", lambda: score_text(model, text, spelling_model(corpus)))
    if isinstance(model, WindowScorer) and "bits_per_char" in row:
        attempt("windowed", lambda: score_windowed(model, text, row))
    if isinstance(model, Embedder):
        attempt("embedding", lambda: score_embeddings(model))
    if isinstance(model, Reconstructor):
        attempt("reconstruction", lambda: score_reconstruction(model, corpus.sentences(split)[:max_sentences]))
    if isinstance(model, Generator):
        prompt = " ".join(text.split()[:prompt_words])
        row |= {"prompt": prompt, "sample": None, "sampler": "greedy", "sample_max_length": 40, "sample_seed": seed}
        attempt("sample", lambda: {"sample": model.generate(prompt, max_length=row["sample_max_length"],
                                                             num_return_sequences=1, sampler=row["sampler"],
                                                             seed=seed)[0]})
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
