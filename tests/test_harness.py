"""The harness: hand-computed perplexity, open-vocabulary bits per character, BLEU, reconstruction."""

import math
import re

import numpy as np
import pytest

import lmzoo
from lmzoo.datasets.corpus import Corpus
from lmzoo.harness import bleu, count_words, evaluate, score_reconstruction, score_text
from lmzoo.protocols import Generator, LanguageModel
from lmzoo.runs import RunDir
from lmzoo.spelling import SpellingModel


def toy_corpus(train, test):
    return Corpus("toy", train=train, valid=test, test=test, word_split="whitespace")


def test_unigram_perplexity_matches_a_hand_computation(tmp_path):
    corpus = toy_corpus("a a b\n", "a c\n")
    model = lmzoo.train("unigram", corpus, tmp_path, add_k=1.0)
    assert isinstance(model, LanguageModel) and isinstance(model, Generator)
    # Vocabulary: <pad> <unk> <s> </s> a b; predicted: <unk> </s> a b (pad and <s> never are).
    # Train counts a=2, b=1, </s>=1, <unk>=0; add-1 over 4 outcomes: total 4 + 4 = 8.
    p_a, p_unk, p_eos = 3 / 8, 1 / 8, 2 / 8
    nll = -(math.log(p_a) + math.log(p_unk) + math.log(p_eos))
    spelling = SpellingModel.fit(corpus.train)
    scores = score_text(model, corpus.test, spelling)
    assert scores["tokens"] == 3 and scores["characters"] == 4
    assert scores["nll_nats"] == pytest.approx(nll)
    assert scores["perplexity"] == pytest.approx(math.exp(nll / 3))
    assert scores["bits_per_char_closed"] == pytest.approx(nll / math.log(2) / 4)
    assert scores["unk_rate"] == pytest.approx(1 / 3) and scores["unknown_tokens"] == 1
    # Open vocabulary: the unknown "c" also pays for its spelling. The spelling model saw the
    # word types {a, b}: symbols a, b, end, escape (base 1/4 each). "c" is the escape after the
    # start of word, then one of 0x110000 - 2 code points, then the end of word after "c".
    # Context "" saw a, b, end, end (n=4, T=3): P(esc | "") = (0 + 3 * 1/4) / 7.
    # The start context saw a, b (n=2, T=2): P(esc | start) = (0 + 2 * P(esc | "")) / 4.
    # Context "c" is unseen, so P(end | start c) = P(end | "") = (2 + 3 * 1/4) / 7.
    p_escape = 2 * (3 / 4 / 7) / 4
    spell = -math.log(p_escape) + math.log(0x110000 - 2) - math.log((2 + 3 / 4) / 7)
    assert scores["spelling_nats"] == pytest.approx(spell)
    # Layout: the gaps before "a" (line start, ""), between "a" and "c" (" ") and at the end ("\n"),
    # each Witten-Bell in its full context (kind, left side, right side), backed off to its kind,
    # backed off to a spelling model of the training gaps {"", " ", "\n"}. Training gaps: "" at
    # (line, ^, w); " " twice at (word, w, w); "\n" at (line, w, $); so "line" saw "" and "\n".
    p_spell = {gap: math.exp(-SpellingModel.fit({"", " ", "\n"}).cost(gap)) for gap in ("", " ", "\n")}
    p_start = (1 + (1 + 2 * p_spell[""]) / 4) / 2
    p_space = (2 + (2 + p_spell[" "]) / 3) / 3
    p_end = (1 + (1 + 2 * p_spell["\n"]) / 4) / 2
    layout = -math.log(p_start * p_space * p_end)
    assert scores["layout_nats"] == pytest.approx(layout)
    assert scores["bits_per_char"] == pytest.approx((nll + spell + layout) / math.log(2) / 4)
    dist = np.exp(model.log_probs)
    assert dist.sum() == pytest.approx(1.0)


def test_evaluate_reports_size_timing_and_a_sample(lee, tmp_path):
    model = lmzoo.train("unigram", lee, tmp_path)
    row = evaluate(model, lee, "test", run=RunDir(tmp_path))
    assert row["params"] == model.tokenizer.vocabulary_size() > 1000
    assert row["train_seconds"] > 0 and row["tokens_seen"] == len(model.tokenizer.encode(lee.train))
    assert row["characters"] == len(lee.test)
    # The figure recomputed from the model's own token log-probabilities and the spelling model: the
    # NLL of every token plus the spelling of every unknown word and the layout between words, in bits
    # per character of the text.
    ids = model.tokenizer.encode(lee.test)
    spelling = SpellingModel.fit(lee.train)
    spell = sum(spelling.cost(piece) for piece in model.tokenizer.unknown_pieces(lee.test))
    layout_model = spelling.layout(model.tokenizer)
    layout = sum(layout_model.cost(context, gap) for context, gap in model.tokenizer.layout_gaps(lee.test))
    nll = -float(np.sum(model.token_log_probs(ids)))
    assert spell > 0 and layout > 0
    assert row["bits_per_char"] == pytest.approx((nll + spell + layout) / math.log(2) / len(lee.test))
    assert isinstance(row["sample"], str) and row["sample"]


def test_reloaded_model_scores_identically(lee, tmp_path):
    model = lmzoo.train("unigram", lee, tmp_path)
    again = lmzoo.load(tmp_path)
    ids = model.tokenizer.encode(lee.test)
    np.testing.assert_array_equal(model.token_log_probs(ids), again.token_log_probs(ids))


def test_count_words_counts_end_of_line_like_mikolov():
    assert count_words("a b\n\nc\n") == 5


def test_count_words_counts_han_characters_as_words():
    assert count_words("我明天要去看电影。\n") == 9 + 1  # eight Han characters, 。, </s>
    assert count_words("iPhone手机\n") == 1 + 2 + 1


def test_open_vocabulary_bits_per_char_pays_for_unknown_words(lee, tmp_path):
    spelling = SpellingModel.fit(lee.train)
    words = lmzoo.train("ngram", lee, tmp_path / "w", order=2)
    scores = score_text(words, lee.test, spelling)
    assert scores["unknown_tokens"] > 100
    assert scores["bits_per_char"] > scores["bits_per_char_closed"] + 0.1
    # A text with no unknown word: the two figures differ by the layout between the words alone.
    known = "\n".join(line for line in lee.test.splitlines()[:200]
                      if line.strip() and not words.tokenizer.unknown_pieces(line)) + "\n"
    clean = score_text(words, known, spelling)
    assert clean["unknown_tokens"] == 0 and clean["spelling_nats"] == 0 < clean["layout_nats"]
    assert clean["bits_per_char"] == pytest.approx(clean["bits_per_char_closed"]
                                                   + clean["layout_nats"] / math.log(2) / clean["characters"])
    # A character model on text made of training characters: the two figures are equal.
    chars = lmzoo.train("ngram", lee, tmp_path / "c", order=3, tokenizer="char")
    text = lee.test[:3000]
    assert not chars.tokenizer.unknown_pieces(text)
    char_scores = score_text(chars, text, spelling)
    assert char_scores["bits_per_char"] == char_scores["bits_per_char_closed"]
    # Without a spelling model, unknown words are refused rather than scored for free.
    with pytest.raises(lmzoo.LmzooError, match="unknown tokens"):
        score_text(words, lee.test)


LAYOUTS = [" ", "  ", "\t", " \t ", "_", " _ ", "\n", "\n\n", "\n  \n", ""]


def random_text(rng, words) -> str:
    """Words of lee, Han characters, emoji and punctuation, between random runs of layout."""
    pieces = [*words, "我", "明天", "电影", "😀", "🎉", ",", ".", "__init__", "42"]
    return "".join(str(rng.choice(pieces)) + str(rng.choice(LAYOUTS)) for _ in range(int(rng.integers(3, 25))))


@pytest.mark.parametrize("tokenizer", ["word", "subword"])
def test_layout_is_paid_for_by_word_and_subword_models(lee, tmp_path, tokenizer):
    """Two texts with the same ids whose layout differs in length (a run of spaces, tabs, `_` or blank
    lines made longer or shorter) cost differently, and the open bits/char is the whole cost over
    every character of the text. (Two characters never seen in a training gap, e.g. `_` and a tab on
    lee, cost the same: a swap of one for the other may tie.)"""
    model = lmzoo.train("unigram", lee, tmp_path, tokenizer=tokenizer)
    spelling = SpellingModel.fit(lee.train)
    rng = np.random.default_rng(0)
    words = lee.train.split()[:500]
    pairs = 0
    for _ in range(150):
        text = random_text(rng, words)
        runs = [m.span() for m in re.finditer(r"[ \t_\n]+", text)]
        if not runs:
            continue
        start, stop = runs[int(rng.integers(len(runs)))]
        other = text[:start] + str(rng.choice(LAYOUTS)) + text[stop:]
        ids = model.tokenizer.encode(text)
        if len(other) == len(text) or not ids or model.tokenizer.encode(other) != ids:
            continue  # not a layout-only change of length for this tokenizer
        pairs += 1
        scores = [score_text(model, scored, spelling) for scored in (text, other)]
        costs = [s["bits_per_char"] * math.log(2) * s["characters"] for s in scores]
        assert abs(costs[0] - costs[1]) > 1e-6, (text, other)
        for s, scored in zip(scores, (text, other), strict=True):
            assert s["characters"] == len(scored)
            assert s["bits_per_char"] == pytest.approx((s["nll_nats"] + s["spelling_nats"] + s["layout_nats"])
                                                       / math.log(2) / len(scored))
    assert pairs >= 20


def test_spelling_model_is_normalised_and_prices_unseen_characters():
    model = SpellingModel.fit("the cat sat on the mat")
    symbols = sorted(model.alphabet) + ["\x00", "\x01"]
    for history in ("\x02", "\x02t", "\x02th", "\x02zq"):
        assert sum(model._probability(history, s) for s in symbols) == pytest.approx(1.0)
    assert model.cost("cat") < model.cost("tac") < model.cost("猫猫")


def test_bleu_is_sacrebleu_and_matches_a_hand_computation():
    refs = ["the cat sat on the mat", "a b c d e"]
    assert bleu(refs, refs) == pytest.approx(100.0)
    # One sentence, hypothesis "the cat sat on a mat" (6 words, reference 6): n-gram matches
    # 5/6, 3/5, 2/4 (the cat sat, cat sat on), 1/3 (the cat sat on); no brevity penalty.
    precisions = [5 / 6, 3 / 5, 2 / 4, 1 / 3]
    expected = 100 * math.exp(sum(math.log(p) for p in precisions) / 4)
    assert bleu(refs[:1], ["the cat sat on a mat"]) == pytest.approx(expected)
    # A zero 4-gram count is smoothed ("exp": 1 / 2), never a zero score for a partial match.
    assert bleu(["a b c d e"], ["a b x d e"]) == pytest.approx(
        100 * math.exp((math.log(4 / 5) + math.log(2 / 4) + math.log(0.5 / 3) + math.log(0.25 / 2)) / 4))


class _EchoAutoencoder:
    """Writes back its input, so the only errors are the words it cannot know."""

    family, config = "echo", None

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def num_params(self):
        return 0

    def reconstruct(self, sentences, *, num_beams=1):
        return [self.tokenizer.decode(self.tokenizer.encode(s)).strip() for s in sentences]


def test_reconstruction_does_not_count_unk_for_unk_as_correct():
    from lmzoo.datasets.tokenizers import fit_tokenizer

    tokenizer = fit_tokenizer("word", "the cat sat\n", word_split="whitespace")
    scores = score_reconstruction(_EchoAutoencoder(tokenizer), ["the dog sat"])
    # the, sat and </s> are right; dog -> <unk> -> <unk> is not a reconstruction of "dog".
    assert scores["reconstruction_token_accuracy"] == pytest.approx(3 / 4)
    assert scores["reconstruction_exact_match"] == 0
    assert scores["reconstruction_bleu"] < 100




def test_wordsim353_interval_counts_the_pairs_in_vocabulary_and_brackets_the_spearman():
    from gensim.models import KeyedVectors

    from lmzoo.datasets.corpus import gensim_test_data
    from lmzoo.harness import score_embeddings, wordsim353_interval

    rows = [line.split("\t") for line in (gensim_test_data() / "wordsim353.tsv").read_text().splitlines()
            if line and not line.startswith("#")]
    words = sorted({w.lower() for a, b, _ in rows for w in (a, b)})
    kept = set(words[::2])  # half the words: only pairs with both in the vocabulary count
    vectors = KeyedVectors(vector_size=8)
    vectors.add_vectors(sorted(kept), np.random.default_rng(0).normal(size=(len(kept), 8)))
    expected = sum(a.lower() in kept and b.lower() in kept for a, b, _ in rows)
    pairs, rho, low, high = wordsim353_interval(vectors)
    assert pairs == expected and 3 <= pairs < len(rows)
    assert low < rho < high and high - low > 0.1  # random vectors on few pairs: a wide interval around ~0

    class Model:
        def word_vectors(self):
            return vectors

    scores = score_embeddings(Model())
    assert scores["wordsim353_pairs"] == pairs and math.isclose(scores["wordsim353_spearman"], rho, abs_tol=1e-6)
    assert math.isclose(scores["wordsim353_ci90"], (high - low) / 2)
