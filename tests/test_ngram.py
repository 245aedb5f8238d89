"""The n-gram family: normalisation, Kneser-Ney by hand, backoff, ARPA/KenLM, sampling, CLI, bad input."""

import json
import math

import numpy as np
import pytest
from scipy.stats import chisquare

import lmzoo
from lmzoo.cli import main
from lmzoo.config import replace
from lmzoo.datasets import load_corpus
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import BOS, EOS, PAD, UNK, fit_tokenizer
from lmzoo.errors import LmzooError
from lmzoo.harness import score_text, spelling_model
from lmzoo.models.arpa import log10_to_nats, nats_to_log10, read_arpa, write_arpa
from lmzoo.models.ngram import NORMALISED, KeyIndex, NGramConfig, NGramLM, discount_table

TOY = "a b\na b\nb a\n"


@pytest.fixture(scope="module")
def lee():
    corpus = load_corpus("lee")
    tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split)
    return corpus, tokenizer, tokenizer.encode(corpus.train)


def toy_model(order=2, smoothing="kneser-ney", **options):
    tokenizer = fit_tokenizer("word", TOY, word_split="whitespace")
    return NGramLM.from_text(NGramConfig(order=order, smoothing=smoothing, **options), tokenizer, TOY), tokenizer


@pytest.mark.parametrize("smoothing", NORMALISED)
@pytest.mark.parametrize("order", [1, 3])
def test_every_distribution_sums_to_one_for_seen_unseen_and_mixed_contexts(lee, smoothing, order):
    corpus, tokenizer, train_ids = lee
    model = NGramLM.from_ids(NGramConfig(order=order, smoothing=smoothing), tokenizer, train_ids)
    word = train_ids[20]
    assert model.counts[0][UNK] == 0  # <unk> never occurs in lee's train split: a context built on it is unseen
    contexts = {
        "seen": train_ids[18:20],
        "unseen": [UNK, UNK],
        "mixed": [UNK, word],  # the bigram context `word` is seen, the trigram context is not
        "sentence start": [],
        "after </s>": [word, EOS],
    }
    if order == 3:
        matched, _ = model.longest_match(contexts["mixed"])
        assert matched.tolist() == [0, 1] and model.longest_match(contexts["seen"])[0][1] >= 2
    for name, context in contexts.items():
        log_probs = model.next_log_probs(context)
        assert np.isneginf(log_probs[[PAD, BOS]]).all(), name
        assert math.isclose(np.exp(log_probs).sum(), 1.0, abs_tol=1e-9), name
        # the sampler's distribution is the scorer's, word for word
        for w in (word, EOS, UNK, 5):
            assert math.isclose(log_probs[w], model.token_log_probs([*context, w])[-1], abs_tol=1e-12), name


def test_kneser_ney_equals_hand_computation():
    # Sentences: <s> a b </s>, <s> a b </s>, <s> b a </s>. Predicted vocabulary {<unk>, </s>, a, b}: 4 words.
    # Bigram counts: <s> a 2, a b 2, b </s> 2, <s> b 1, b a 1, a </s> 1.
    # Unigram continuation counts N1+(. w): a 2 (<s>, b), b 2 (a, <s>), </s> 2 (b, a), <unk> 0; total 6.
    # With D = 0.5: p1(a) = (2 - 0.5 + 0.5 * 3 / 4) / 6 = 0.3125 (same for b, </s>); p1(<unk>) = 0.375 / 6.
    model, tok = toy_model(order=2, smoothing="kneser-ney", discount=0.5)
    a, b = tok.token_to_id("a"), tok.token_to_id("b")
    p1 = {a: 0.3125, b: 0.3125, EOS: 0.3125, UNK: 0.0625}
    # Context a: c(a .) = 3, two word types follow it, so the backoff mass is 0.5 * 2 / 3.
    expected = {b: (2 - 0.5 + 0.5 * 2 * p1[b]) / 3, EOS: (1 - 0.5 + 0.5 * 2 * p1[EOS]) / 3,
                a: 0.5 * 2 * p1[a] / 3, UNK: 0.5 * 2 * p1[UNK] / 3}
    got = np.exp(model.next_log_probs([a]))
    for w, p in expected.items():
        assert math.isclose(got[w], p, rel_tol=1e-12), w
    assert math.isclose(expected[b], 0.6041666666666666)
    # An unseen context (<unk>) backs off to the unigram level exactly.
    assert np.allclose(np.exp(model.next_log_probs([UNK]))[list(p1)], list(p1.values()))
    # Estimated discount: bigram counts of counts n1 = 3, n2 = 3, so D = 3 / (3 + 2 * 3) = 1/3; the unigram
    # continuation counts are all 2 (n1 = 0), so that level falls back to D = 0.5 and p1 is unchanged.
    estimated, _ = toy_model(order=2, smoothing="kneser-ney")
    d = 1 / 3
    assert math.isclose(np.exp(estimated.next_log_probs([a]))[b], (2 - d + d * 2 * p1[b]) / 3, rel_tol=1e-12)


def test_trigram_kneser_ney_uses_continuation_counts_except_after_sentence_start():
    model, tok = toy_model(order=3, smoothing="kneser-ney", discount=0.5)
    a, b = tok.token_to_id("a"), tok.token_to_id("b")
    p1_b = 0.3125  # unigram level as in the bigram test (continuation counts over bigram types)
    # Bigram level, context `a`: continuation counts N1+(. a b) = 1 (only `<s> a b`), N1+(. a </s>) = 1 (`b a </s>`).
    p2_b_a = (1 - 0.5 + 0.5 * 2 * p1_b) / 2
    assert math.isclose(p2_b_a, 0.40625)
    assert math.isclose(math.exp(model.next_log_probs([UNK, a])[b]), p2_b_a, rel_tol=1e-12)
    # Bigrams that start with <s> keep raw counts: c(<s> a) = 2, c(<s> b) = 1 (their continuation count is 0).
    assert math.isclose(math.exp(model.next_log_probs([])[a]), (2 - 0.5 + 0.5 * 2 * 0.3125) / 3, rel_tol=1e-12)
    # Trigram level, context `<s> a`: c(<s> a b) = 2, one word type follows.
    assert math.isclose(math.exp(model.next_log_probs([a])[b]), (2 - 0.5 + 0.5 * 1 * p2_b_a) / 2, rel_tol=1e-12)


def test_modified_kneser_ney_discounts_follow_chen_goodman():
    # n1 = 4, n2 = 2, n3 = 1, n4 = 1: Y = 4 / 8; D1 = 1 - 2Y(2/4) = 0.5; D2 = 2 - 3Y(1/2) = 1.25; D3 = 3 - 4Y = 1.
    assert discount_table(np.array([1, 1, 1, 1, 2, 2, 3, 4]), modified=True).tolist() == [0.0, 0.5, 1.25, 1.0]
    assert discount_table(np.array([1, 1, 1, 1, 2, 2, 3, 4]), modified=False).tolist() == [0.0, 0.5, 0.5, 0.5]


@pytest.mark.parametrize("smoothing", ["kneser-ney", "modified-kneser-ney", "mle"])
def test_unseen_context_backs_off_to_lower_orders(lee, smoothing):
    _, tokenizer, train_ids = lee
    model = NGramLM.from_ids(NGramConfig(order=3, smoothing=smoothing), tokenizer, train_ids)
    word = train_ids[20]
    mixed = np.exp(model.next_log_probs([UNK, word]))  # trigram context unseen: back off to context `word`
    bigram_rows = model._lookup(2, np.full(model.vocab_size, word), np.arange(model.vocab_size))
    seen = bigram_rows >= 0
    assert seen.sum() >= 1
    assert np.allclose(mixed[seen], np.exp(model.log_probs[1][bigram_rows[seen]]))
    unseen = ~seen
    unseen[[PAD, BOS]] = False
    assert np.allclose(mixed[unseen], np.exp(model.log_backoffs[0][word] + model.log_probs[0][unseen]))
    # a fully unseen context is the unigram distribution
    assert np.allclose(np.exp(model.next_log_probs([UNK, UNK])), np.exp(model.log_probs[0]))
    # and the back-off is informative, not uniform
    assert mixed.max() > 10 / model.vocab_size


def backoff_tables(model):
    """Each stored n-gram as a tuple of ids -> (log p, log backoff), decoded from the sorted key tables."""
    tuples = [[(w,) for w in range(model.vocab_size)]]
    for keys in model.keys[1:]:
        parent, word = np.divmod(keys, model.vocab_size)
        tuples.append([(*tuples[-1][p], w) for p, w in zip(parent.tolist(), word.tolist(), strict=True)])
    return {gram: (float(model.log_probs[k][row]), float(model.log_backoffs[k][row]))
            for k, grams in enumerate(tuples) for row, gram in enumerate(grams)}


def reference_log_prob(table, history, word):
    """The ARPA recursion, one token at a time: p(w | h) = p(h w) if seen, else bo(h) + p(w | h minus its first word)."""
    if (*history, word) in table or not history:
        return table[(*history, word)][0]
    return table.get(tuple(history), (0.0, 0.0))[1] + reference_log_prob(table, history[1:], word)


@pytest.mark.parametrize("kind,order,smoothing", [("word", 4, "modified-kneser-ney"), ("word", 3, "kneser-ney"),
                                                  ("word", 2, "mle"), ("char", 6, "modified-kneser-ney")])
def test_vectorised_scoring_equals_the_plain_backoff_recursion(kind, order, smoothing):
    """The hash-indexed walk (token_log_probs, next_log_probs) against a per-token dictionary reference on lee."""
    corpus = load_corpus("lee")
    tokenizer = fit_tokenizer(kind, corpus.train, word_split=corpus.word_split)
    model = NGramLM.from_text(NGramConfig(order=order, smoothing=smoothing, tokenizer=kind), tokenizer, corpus.train)
    table = backoff_tables(model)
    ids = tokenizer.encode(corpus.test[:3000])
    expected, history = [], [BOS]
    for token in ids:
        expected.append(reference_log_prob(table, history[-(order - 1):] if order > 1 else [], token))
        history = [BOS] if token == EOS else [*history, token]
    got = model.token_log_probs(ids)
    assert np.array_equal(np.isneginf(got), np.isneginf(expected))
    finite = np.isfinite(expected)
    assert np.abs(got[finite] - np.array(expected)[finite]).max() < 1e-12
    prefix = ids[:40]
    context = ([BOS, *prefix][-(order - 1):] if order > 1 else [])
    words = [w for w in range(model.vocab_size) if w not in (PAD, BOS)]
    reference = np.array([reference_log_prob(table, context, w) for w in words])
    assert np.allclose(model.next_log_probs(prefix)[words], reference, rtol=0, atol=1e-12)


def test_key_index_finds_every_key_and_nothing_else():
    rng = np.random.default_rng(0)
    for size in (0, 1, 5, 3000):
        keys = np.unique(rng.integers(0, 10**12, size))
        if size == 3000:  # 100 keys of one home slot: a long probe run that other homes' keys must pass
            candidates = rng.integers(0, 10**12, 10**6)
            same_home = candidates[KeyIndex(keys, 10**12)._home(candidates) == 7][:100]
            keys = np.unique(np.concatenate([keys[:2900], same_home]))
            assert len(same_home) == 100
        index = KeyIndex(keys, vocab_size=10**12)
        assert index.rows(np.zeros(len(keys), dtype=np.int64), keys).tolist() == list(range(len(keys)))
        absent = np.setdiff1d(rng.integers(0, 10**12, 2000), keys)
        assert (index.rows(np.zeros(len(absent), dtype=np.int64), absent) == -1).all()
        assert (index.rows(np.full(3, -1), np.arange(3)) == -1).all()  # an unseen context has no n-grams


def test_arpa_round_trip_gives_the_same_scores(lee, tmp_path):
    corpus, tokenizer, train_ids = lee
    model = NGramLM.from_ids(NGramConfig(order=3), tokenizer, train_ids)
    path = tmp_path / "lee.arpa"
    model.export("arpa", path)
    ids = tokenizer.encode(corpus.test)
    assert np.allclose(read_arpa(path, tokenizer).token_log_probs(ids), model.token_log_probs(ids), atol=1e-7)
    # without a tokenizer the words come from the file (same order, whitespace split)
    plain = read_arpa(path)
    assert plain.tokenizer.vocabulary == tokenizer.vocabulary
    assert np.allclose(plain.token_log_probs(ids), model.token_log_probs(ids), atol=1e-7)
    assert math.isclose(nats_to_log10(log10_to_nats(-2.5)), -2.5)


def test_no_ngram_crosses_a_sentence_start_even_where_an_arpa_file_has_one(tmp_path):
    """A file may list `a </s> <s>` and `a </s> <s> b`; the first word of a sentence still sees `<s>` alone."""
    path = tmp_path / "crossing.arpa"
    path.write_text("\\data\\\nngram 1=4\nngram 2=3\nngram 3=1\nngram 4=1\n\n\\1-grams:\n-99\t<s>\t-0.2\n"
                    "-0.5\ta\t-0.1\n-0.5\t</s>\t-0.1\n-0.6\tb\t-0.1\n\n\\2-grams:\n-0.2\t<s> a\t-0.1\n"
                    "-0.1\ta </s>\t-0.1\n-0.3\t</s> <s>\t-0.1\n\n\\3-grams:\n-0.05\ta </s> <s>\t-0.1\n\n"
                    "\\4-grams:\n-0.01\ta </s> <s> b\n\n\\end\\\n", encoding="utf-8")
    model = read_arpa(path)
    ids = model.tokenizer.encode("a\nb\n")  # a </s> b </s>
    assert nats_to_log10(model.token_log_probs(ids)[2]) == pytest.approx(-0.2 - 0.6)  # bo(<s>) + p(b), not -0.01


def test_kenlm_reads_our_arpa_and_agrees_within_1e_4(lee, tmp_path):
    kenlm = pytest.importorskip("kenlm", reason="kenlm is not installed (pip install kenlm): cannot cross-check ARPA")
    corpus, tokenizer, train_ids = lee
    model = NGramLM.from_ids(NGramConfig(order=3), tokenizer, train_ids)
    path = tmp_path / "lee.arpa"
    write_arpa(model, path)
    reference = kenlm.Model(str(path))
    checked = 0
    for line in corpus.test.splitlines()[:20]:
        words = tokenizer.words(line)
        if not words:
            continue
        ours = nats_to_log10(model.token_log_probs(tokenizer.encode(line)))
        theirs = np.array([score for score, _, _ in reference.full_scores(" ".join(words), bos=True, eos=True)])
        assert np.abs(ours - theirs).max() < 1e-4
        checked += len(words) + 1
    assert checked > 1000


def _reference_arpa(model: NGramLM) -> str:
    """The ARPA text written line by line in plain Python (the writer before it was vectorised)."""
    def fmt(values):
        return [f"{-99.0 if math.isinf(v) else v / math.log(10):.8f}" for v in values.tolist()]

    vocabulary = [model.tokenizer.id_to_token(i) for i in range(model.vocab_size)]
    order, unigrams = model.config.order, np.arange(1, model.vocab_size)
    sizes = [len(unigrams)] + [len(k) for k in model.keys[1:]]
    out = ["\\data\\\n", *(f"ngram {k}={n}\n" for k, n in enumerate(sizes, 1))]
    for k in range(1, order + 1):
        rows = unigrams if k == 1 else np.arange(sizes[k - 1])
        words = [" ".join(vocabulary[i] for i in t) for t in model.ngram_tokens(k)[rows].tolist()]
        probs = fmt(model.log_probs[k - 1][rows])
        if k == 1:
            probs[BOS - 1] = "-99.00000000"
        out.append(f"\n\\{k}-grams:\n")
        if k < order:
            used = np.bincount(model.keys[k] // model.vocab_size, minlength=len(model.keys[k - 1]))[rows] > 0
            out += [f"{p}\t{w}\t{b}\n" if c else f"{p}\t{w}\n"
                    for p, w, b, c in zip(probs, words, fmt(model.log_backoffs[k - 1][rows]), used.tolist(), strict=True)]
        else:
            out += [f"{p}\t{w}\n" for p, w in zip(probs, words, strict=True)]
    return "".join(out) + "\n\\end\\\n"


@pytest.mark.parametrize("smoothing", ["modified-kneser-ney", "mle"])
def test_vectorised_arpa_writer_is_byte_identical_to_plain_python(lee, tmp_path, smoothing):
    corpus, tokenizer, train_ids = lee
    model = NGramLM.from_ids(NGramConfig(order=4, smoothing=smoothing), tokenizer, train_ids)
    write_arpa(model, tmp_path / "lee.arpa")
    assert (tmp_path / "lee.arpa").read_bytes() == _reference_arpa(model).encode("utf-8")


def test_arpa_numbers_are_formatted_as_python_does_even_at_rounding_ties():
    from lmzoo.models.arpa import LN10, _format

    rng = np.random.default_rng(0)
    log10 = np.concatenate([
        -rng.exponential(2.0, 20_000), -rng.integers(0, 10**8, 5_000) / 1e8 - 0.000000005,  # ties in decimal
        [0.0, -0.0, -1e-9, -4e-9, -5e-9, -6e-9, -99.0, -123.456789125, 0.5],
    ])
    nats = log10 * LN10
    want = [f"{v:.8f}" for v in (nats / LN10).tolist()]  # the writer's own unit change
    got = [bytes(row).lstrip(b"\0").decode() for row in _format(nats)]
    assert got == want


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("ngram 1=1\n", 1, "no \\data\\"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\t</s>\n-x\t<unk>\n\n\\end\\\n", 6, "not a number"),
        ("\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1\t</s>\n-1\t<unk>\n\n\\2-grams:\n-1\tfoo </s>\n\n\\end\\\n", 10,
         "not in the tokenizer"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t</s>\n-1\t<unk> 0.1 0.2\n\n\\end\\\n", 6, "fields"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t</s>\n-1\t<unk>\n", 6, "without \\end\\"),
        ("\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t</s>\n-1\t<unk>\n\n\\end\\\n", 6, "declares 3"),
        ("\\data\\\nngram 1=2\nngram 2=1\nngram 3=1\n\n\\1-grams:\n-1\ta\t-0.1\n-1\tb\t-0.1\n\n\\2-grams:\n-1\ta b\n\n"
         "\\3-grams:\n-1\tb a b\n\n\\end\\\n", 14, "the context 'b a' of this 3-gram is not among the 2-grams"),
    ],
)
def test_malformed_arpa_names_file_and_line(tmp_path, text, line, what):
    path = tmp_path / "bad.arpa"
    path.write_text(text)
    tokenizer = fit_tokenizer("word", TOY, word_split="whitespace")
    with pytest.raises(LmzooError) as err:
        read_arpa(path, tokenizer)
    message = str(err.value)
    assert f"{path}:{line}:" in message and what in message and "\n" not in message


def test_held_out_perplexity_is_finite_with_oov_words(lee):
    corpus, tokenizer, train_ids = lee
    assert np.mean(np.array(tokenizer.encode(corpus.test)) == UNK) > 0.05  # OOV words are really there
    perplexities = {}
    for smoothing in NORMALISED:
        model = NGramLM.from_ids(NGramConfig(order=3, smoothing=smoothing), tokenizer, train_ids)
        perplexities[smoothing] = score_text(model, corpus.test, spelling_model(corpus))["perplexity"]
    assert math.isinf(perplexities["mle"])  # unsmoothed: an unseen word has probability 0
    for smoothing in ("add-k", "kneser-ney", "modified-kneser-ney"):
        assert math.isfinite(perplexities[smoothing]) and perplexities[smoothing] > 1
    assert perplexities["modified-kneser-ney"] < perplexities["kneser-ney"] < perplexities["add-k"]


def test_higher_orders_see_more_unseen_ngrams(lee):
    corpus, tokenizer, train_ids = lee
    model = NGramLM.from_ids(NGramConfig(order=4), tokenizer, train_ids)
    share = model.unseen_share(tokenizer.encode(corpus.test))
    assert share[1] < share[2] < share[3] < share[4] <= 1
    assert share[1] > 0.05  # the OOV words


def test_sampler_draws_the_scorer_probabilities():
    model, tok = toy_model(order=2, smoothing="modified-kneser-ney")
    prompt = [tok.token_to_id("a")]
    expected = np.array([math.exp(model.token_log_probs([*prompt, w])[-1]) for w in range(model.vocab_size)])
    assert math.isclose(expected.sum(), 1.0)
    draws = 4000
    samples = model.generate("a", max_length=1, num_return_sequences=draws, sampler="temperature", seed=0)
    ids = [EOS if s == "\n" else tok.token_to_id(s) for s in samples]
    observed = np.bincount(ids, minlength=model.vocab_size)
    keep = expected > 0
    assert observed[~keep].sum() == 0
    assert chisquare(observed[keep], expected[keep] * draws).pvalue > 1e-3


def test_generation_stops_at_end_of_sentence_and_respects_max_length(lee):
    _, tokenizer, train_ids = lee
    model = NGramLM.from_ids(NGramConfig(order=3), tokenizer, train_ids)
    outputs = model.generate("The", max_length=200, num_return_sequences=3, sampler="top_k", top_k=5, seed=1)
    assert all(text.endswith("\n") and text.count("\n") == 1 for text in outputs)
    short = model.generate("The", max_length=3, sampler="top_k", top_k=5, seed=1)[0]
    assert len(tokenizer.encode(short)) <= 4
    with pytest.raises(LmzooError, match="top_k"):
        model.generate("The", sampler="top_k", top_k=0)


def test_stupid_backoff_generates_but_has_no_perplexity(lee):
    corpus, tokenizer, train_ids = lee
    model = NGramLM.from_ids(NGramConfig(order=3, smoothing="stupid-backoff"), tokenizer, train_ids)
    assert model.generate("The", max_length=10, sampler="top_k", seed=0)[0]
    with pytest.raises(LmzooError, match="stupid backoff is unnormalised; it has no perplexity") as err:
        score_text(model, corpus.test, spelling_model(corpus))
    assert "\n" not in str(err.value)
    with pytest.raises(LmzooError, match="unnormalised"):
        model.export("arpa", "x.arpa")


def test_character_level_model(lee):
    corpus = lee[0]
    tokenizer = fit_tokenizer("char", corpus.train)
    model = NGramLM.from_text(NGramConfig(order=5, tokenizer="char"), tokenizer, corpus.train)
    scores = score_text(model, corpus.test, spelling_model(corpus))
    assert 1.5 < scores["bits_per_char"] < 3.5
    assert math.isclose(np.exp(model.next_log_probs(tokenizer.encode("the"))).sum(), 1.0)
    assert 10 < len(model.generate("The ", max_length=20, sampler="top_k", seed=0)[0]) <= 20
    with pytest.raises(LmzooError, match="whitespace"):
        model.export("arpa", "x.arpa")


def test_word_vectors_put_words_with_the_same_contexts_together():
    lines = []
    for i in range(40):
        subject = ("cat", "dog")[i % 2]
        lines += [f"the {subject} eats fish", f"a {subject} sleeps here", f"the car needs fuel now {i % 5}"]
    text = "\n".join(lines) + "\n"
    tokenizer = fit_tokenizer("word", text, word_split="whitespace")
    model = NGramLM.from_text(NGramConfig(order=3, embedding_dim=4), tokenizer, text)
    vectors = model.word_vectors()
    assert vectors.vector_size == 4 and "<unk>" not in vectors.key_to_index
    assert vectors.similarity("cat", "dog") > vectors.similarity("cat", "car") + 0.3


def test_save_and_load_give_identical_scores_and_samples(lee, tmp_path):
    corpus = lee[0]
    model = lmzoo.train("ngram", corpus, tmp_path / "run", preset="quick", order=4)
    loaded = lmzoo.load(tmp_path / "run")
    ids = model.tokenizer.encode(corpus.test)
    assert np.array_equal(model.token_log_probs(ids), loaded.token_log_probs(ids))
    assert model.generate("The", sampler="top_k", seed=3) == loaded.generate("The", sampler="top_k", seed=3)
    with np.load(tmp_path / "run" / "ngram.npz", allow_pickle=False) as data:
        assert "keys_4" in data and "counts_4" in data


def test_cli_train_evaluate_generate_export(tmp_path, capsys):
    run = str(tmp_path / "run")
    assert main(["train", "ngram", "--corpus", "lee", "--out", run, "--preset", "quick",
                 "--set", "order=5", "--set", "smoothing=modified-kneser-ney"]) == 0
    assert "trained ngram on lee" in capsys.readouterr().out
    assert main(["evaluate", run, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["family"] == "ngram" and 100 < row["perplexity"] < 1000 and row["unk_rate"] > 0
    assert row["vocabulary_words"] > 1000  # the PPMI + SVD embedding baseline was scored
    assert main(["generate", run, "--prompt", "The government", "--sampler", "top_k", "--set", "top_k=10"]) == 0
    assert capsys.readouterr().out.startswith("[0] The government ")
    arpa = tmp_path / "lee.arpa"
    assert main(["export", run, "--format", "arpa", "--out", str(arpa)]) == 0
    ids = lmzoo.load(run).tokenizer.encode("The government said on Monday .\n")
    assert np.allclose(read_arpa(arpa).token_log_probs(ids), lmzoo.load(run).token_log_probs(ids), atol=1e-7)
    assert main(["export", run, "--format", "word2vec", "--out", str(arpa)]) == 2


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "3"])
def test_bad_order_is_a_one_line_error(value):
    with pytest.raises(LmzooError, match="order") as err:
        replace(NGramConfig(), {"order": value})
    assert "\n" not in str(err.value)
    with pytest.raises(LmzooError, match="order"):
        NGramConfig(order=value)


def test_bad_order_on_the_command_line_exits_2(tmp_path, capsys):
    assert main(["train", "ngram", "--out", str(tmp_path / "r"), "--set", "order=0"]) == 2
    assert "order=0 must be an integer >= 1" in capsys.readouterr().err


def test_empty_training_text_is_a_clear_error(tmp_path):
    with pytest.raises(LmzooError, match="empty"):
        lmzoo.train("ngram", Corpus("empty", "", "x\n", "x\n"), tmp_path / "run")
    tokenizer = fit_tokenizer("word", TOY, word_split="whitespace")
    with pytest.raises(LmzooError, match="the training text is empty"):
        NGramLM.from_ids(NGramConfig(), tokenizer, [])


def test_other_config_errors():
    with pytest.raises(LmzooError, match="add_k"):
        NGramConfig(smoothing="add-k", add_k=0.0)
    with pytest.raises(LmzooError, match="discount"):
        NGramConfig(smoothing="modified-kneser-ney", discount=0.5)
    with pytest.raises(LmzooError, match="not allowed"):
        replace(NGramConfig(), {"smoothing": "good-turing"})
