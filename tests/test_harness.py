"""The harness on the unigram baseline: hand-computed perplexity and bits per character."""

import math

import numpy as np
import pytest

import lmzoo
from lmzoo.datasets.corpus import Corpus
from lmzoo.harness import _bleu, count_words, evaluate, score_text
from lmzoo.protocols import Generator, LanguageModel
from lmzoo.runs import RunDir


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
    scores = score_text(model, corpus.test)
    assert scores["tokens"] == 3 and scores["characters"] == 4
    assert scores["nll_nats"] == pytest.approx(nll)
    assert scores["perplexity"] == pytest.approx(math.exp(nll / 3))
    assert scores["bits_per_char"] == pytest.approx(nll / math.log(2) / 4)
    assert scores["unk_rate"] == pytest.approx(1 / 3)
    dist = np.exp(model.log_probs)
    assert dist.sum() == pytest.approx(1.0)


def test_evaluate_reports_size_timing_and_a_sample(lee, tmp_path):
    model = lmzoo.train("unigram", lee, tmp_path)
    row = evaluate(model, lee, "test", run=RunDir(tmp_path))
    assert row["params"] == model.tokenizer.vocabulary_size() > 1000
    assert row["train_seconds"] > 0 and row["tokens_seen"] == len(model.tokenizer.encode(lee.train))
    assert row["characters"] == len(lee.test) and 1 < row["bits_per_char"] < 4
    assert isinstance(row["sample"], str) and row["sample"]


def test_reloaded_model_scores_identically(lee, tmp_path):
    model = lmzoo.train("unigram", lee, tmp_path)
    again = lmzoo.load(tmp_path)
    ids = model.tokenizer.encode(lee.test)
    np.testing.assert_array_equal(model.token_log_probs(ids), again.token_log_probs(ids))


def test_count_words_counts_end_of_line_like_mikolov():
    assert count_words("a b\n\nc\n") == 5


def test_bleu_is_one_for_identity_and_lower_otherwise():
    refs = ["the cat sat on the mat", "a b c d e"]
    assert _bleu(refs, refs) == pytest.approx(1.0)
    # By hand: clipped n-gram matches over both sentences 9/10, 6/8, 4/6, 2/4; add-one for n > 1
    # gives 9/10, 7/9, 5/7, 3/5 (product 0.3); 10 hypothesis words against 11: brevity exp(1 - 11/10).
    expected = math.exp(1 - 11 / 10) * 0.3 ** 0.25
    assert _bleu(refs, ["the cat sat on a mat", "a b c d"]) == pytest.approx(expected, rel=1e-12)
