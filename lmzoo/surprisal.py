"""Where a language model pays its bits: the per-character view of one held-out paragraph.

`pick_paragraph` chooses one test line with a fixed seed and cuts it at `max_chars` characters.
`surprisal` scores it with the harness's own scoring (`harness.token_costs`: NLL plus the spelling
cost of every `<unk>`) and spreads each token's bits evenly over the characters it stands for
(`token_spans`); the gaps a word tokenizer drops cost what `harness.layout_costs` charges. So the
per-character bits sum to the paragraph's open-vocabulary code length. Where the model has
`next_log_probs`, each token also carries the model's top-k next tokens before it, and
`top_matches_scoring` says whether that distribution gives the token the bits the scoring gave it.

Example:
    >>> from lmzoo import train, load_corpus
    >>> import tempfile
    >>> corpus = load_corpus("lee")
    >>> view = paragraph_surprisal(train("unigram", corpus, tempfile.mkdtemp()), corpus, seed=0)
    >>> len(view["char_bits"]) == len(view["text"]), round(sum(view["char_bits"]), 6) == round(view["bits"], 6)
    (True, True)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import EOS, UNK, nfc
from lmzoo.errors import LmzooError
from lmzoo.harness import LN2, spelling_model, token_costs
from lmzoo.protocols import LanguageModel, NextTokenPredictor
from lmzoo.spelling import SpellingModel

MAX_CHARS = 320  # the paragraph is cut here: 10 language models x 320 characters stay a light page
MIN_LINE_CHARS = 40  # lines shorter than this (titles, stray lines) are not chosen while longer ones exist


def pick_paragraph(text: str, seed: int = 0, max_chars: int = MAX_CHARS) -> dict[str, Any]:
    """One line of `text` chosen by `seed`, NFC-normalised, cut at `max_chars`, ending with a newline."""
    if max_chars < 1:
        raise LmzooError(f"max_chars={max_chars} must be >= 1", "e.g. 320")
    lines = [(i, line.strip()) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not lines:
        raise LmzooError("the test split has no line of text to show", "check the corpus split")
    long = [(i, line) for i, line in lines if len(line) >= MIN_LINE_CHARS]
    number, line = random.Random(seed).choice(long or lines)
    line = nfc(line)
    cut = len(line) > max_chars
    if cut:
        space = line.rfind(" ", (3 * max_chars) // 4, max_chars + 1)
        line = line[: space if space > 0 else max_chars].rstrip()
    return {"text": line + "\n", "line": number, "seed": seed, "max_chars": max_chars, "cut": cut}


def token_spans(tokenizer: Any, text: str, ids: Sequence[int]) -> list[tuple[int, int]]:
    """The characters `[start, end)` of `text` that each token of `ids` (= its encoding) stands for.

    A token is its vocabulary entry (a WordPiece `##` continuation without the `##`), an `<unk>`
    the piece of text it replaced, `</s>` the newline (the last character, where the text ends without
    one). Only whitespace may lie between tokens;
    anything else means the tokens cannot be placed, which is one LmzooError.
    """
    options = getattr(tokenizer, "options", {}) or {}
    hay = text.lower() if options.get("lowercase") else text
    if len(hay) != len(text):
        raise LmzooError("lower-casing changes the text's length", "the per-character view needs a cased tokenizer")
    unk_id = getattr(tokenizer, "unk_id", UNK)
    pieces = iter(tokenizer.unknown_pieces(text) if unk_id in ids else [])
    spans, pos = [], 0
    for i in ids:
        if i == EOS:
            surface = "\n"
        elif i == unk_id:
            surface = next(pieces)
        else:
            surface = tokenizer.id_to_token(i)
            if tokenizer.kind == "subword" and surface.startswith("##"):
                surface = surface[2:]
        start = hay.find(surface, pos) if surface else -1
        if i == EOS and start < 0 and not hay[pos:].strip() and pos:  # the last line has no newline:
            spans.append((pos - 1, pos))  # its last character pays for the end of the line
            continue
        if start < 0 or hay[pos:start].strip():
            raise LmzooError(f"the {tokenizer.kind} token {surface!r} is not at character {pos} of the paragraph",
                             "the per-character view needs tokens that are pieces of the text")
        spans.append((start, start + len(surface)))
        pos = start + len(surface)
    return spans


def surprisal(model: LanguageModel, text: str, spelling: SpellingModel | None = None, top_k: int = 5) -> dict[str, Any]:
    """Bits per token and per character of `text`, and the top-k next tokens before each token."""
    costs, spans, char_bits, before = _spread(model, text, spelling)
    tokenizer = model.tokenizer
    bits = (costs.nll + costs.spelling) / LN2
    char_token = np.full(len(text), -1)
    for k, (start, end) in enumerate(spans):
        char_token[start:end] = k
    # A recurrent model's stepper remembers its state: one step per token instead of a pass per prefix.
    stepper = getattr(model, "stepper", None)
    predict = stepper() if callable(stepper) else model.next_log_probs if isinstance(model, NextTokenPredictor) else None
    tokens = []
    for k, (start, end) in enumerate(spans):
        token = {"start": start, "end": end, "bits": float(bits[k]), "unk": bool(costs.is_unknown[k]),
                 "spelling_bits": float(costs.spelling[k] / LN2), "empty_gap_bits": float(before[k])}
        if predict is not None:
            log_probs = np.asarray(predict(costs.ids[:k]), dtype=np.float64)
            best = [j for j in np.argsort(-log_probs, kind="stable")[:top_k] if np.isfinite(log_probs[j])]  # p > 0
            token["top"] = [[tokenizer.id_to_token(int(j)), float(-log_probs[j] / LN2)] for j in best]
            token["bits_in_top"] = float(-log_probs[costs.ids[k]] / LN2)  # the same token under that distribution
        tokens.append(token)
    # The top-k describe the scored context only where the model's next_log_probs sees what its scoring saw
    # (a window model's next_log_probs reads the prefix without `<s>`): said on the page when they differ.
    closed = [t["bits"] - t["spelling_bits"] - t["bits_in_top"] for t in tokens if "bits_in_top" in t]
    total = float(bits.sum() + costs.layout.sum() / LN2)
    return {"text": text, "tokens": tokens, "char_bits": char_bits.tolist(), "char_token": char_token.tolist(),
            "bits": total, "bits_per_char": total / len(text),
            "top_k": top_k if predict is not None else 0,
            "top_matches_scoring": bool(closed) and bool(np.allclose(closed, 0, atol=1e-4))}


def character_bits(model: LanguageModel, text: str, spelling: SpellingModel | None = None) -> np.ndarray:
    """Each character's bits under `model`: a token's cost (spelling included) spread evenly over the
    characters it covers, and each dropped layout gap's cost over the characters between words. The
    mean is exactly `score_text`'s open bits/char, so the code length can be split by position.

    Example:
        >>> import lmzoo, tempfile
        >>> corpus = lmzoo.load_corpus("lee")
        >>> model = lmzoo.train("unigram", corpus, tempfile.mkdtemp())
        >>> text = corpus.test.splitlines(keepends=True)[0]
        >>> bits = character_bits(model, text, spelling_model(corpus))
        >>> len(bits) == len(text) and bool(bits.min() >= 0)
        True
    """
    return _spread(model, text, spelling)[2]


def _spread(model: LanguageModel, text: str, spelling: SpellingModel | None):
    """token_costs, each token's span, each character's bits, and per token the bits of an empty gap before it."""
    costs = token_costs(model, text, spelling)
    spans = token_spans(model.tokenizer, text, costs.ids)
    bits = (costs.nll + costs.spelling) / LN2
    if not np.all(np.isfinite(bits)):
        raise LmzooError(f"{model.family} gives probability 0 to a token of the text", "smooth the model")
    char_bits = np.zeros(len(text))
    for k, (start, end) in enumerate(spans):
        char_bits[start:end] += bits[k] / (end - start)
    before = _place_layout(costs.layout / LN2, costs.ids, spans, char_bits)
    return costs, spans, char_bits, before


def _place_layout(gaps: np.ndarray, ids: Sequence[int], spans: list[tuple[int, int]], char_bits: np.ndarray) -> np.ndarray:
    """Add each layout gap's bits (`harness.layout_costs`: one gap before every word and one at the end)
    to the characters between the words; an empty gap's bits go to the word after it (or the last word).

    Returns, per token, the bits of an empty gap charged to it (0 elsewhere).
    """
    charged = np.zeros(len(ids))
    if not len(gaps):
        return charged
    words = [k for k, i in enumerate(ids) if i != EOS]
    if len(gaps) != len(words) + 1:
        raise LmzooError(f"{len(gaps)} layout gaps for {len(words)} words", "the view places one gap before each word")
    for j, cost in enumerate(gaps):
        start = spans[words[j - 1]][1] if j else 0
        end = spans[words[j]][0] if j < len(words) else len(char_bits)
        if end > start:
            char_bits[start:end] += cost / (end - start)
        else:
            k = words[min(j, len(words) - 1)]
            char_bits[spans[k][0]:spans[k][1]] += cost / (spans[k][1] - spans[k][0])
            charged[k] += cost
    return charged


def paragraph_surprisal(model: LanguageModel, corpus: Corpus, seed: int = 0, max_chars: int = MAX_CHARS,
                        top_k: int = 5) -> dict[str, Any]:
    """`surprisal` of the test paragraph that `seed` picks, with the corpus's spelling model."""
    paragraph = pick_paragraph(corpus.test, seed, max_chars)
    return {"paragraph": paragraph, "corpus": corpus.name,
            **surprisal(model, paragraph["text"], spelling_model(corpus), top_k)}


__all__ = ["MAX_CHARS", "paragraph_surprisal", "pick_paragraph", "surprisal", "token_spans"]
