"""Word2Vec: the pair stream follows word2vec's rules, the model learns, vectors round-trip.

The stream checks use corpora whose words are unique (so a word id gives its position) or
planted (so the right answer is known), and compare the subsampling and noise
distributions with the ones gensim builds itself.
"""

import itertools
import json
import math
from collections import Counter

import keras
import numpy as np
import pytest

from lmzoo import LmzooError, load, load_corpus, train
from lmzoo.cli import main
from lmzoo.config import replace
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import WordTokenizer
from lmzoo.models.word2vec import (
    PRESETS,
    PairStream,
    SkipGramNegativeSampling,
    Word2VecConfig,
    load_vectors,
    noise_distribution,
)


@pytest.fixture(scope="module")
def lee():
    return load_corpus("lee")


@pytest.fixture(scope="module")
def quick_run(lee, tmp_path_factory):
    out = tmp_path_factory.mktemp("w2v")
    return train("word2vec", lee, out, preset="quick"), out


def _text_corpus(text: str, name: str = "synthetic") -> Corpus:
    return Corpus(name=name, train=text, valid=text[:200], test=text[:200])


def _unique_words_stream(window: int, lines: int = 40, words_per_line: int = 50, **config):
    """A stream over text where every word occurs once, so its id tells its position."""
    text = "\n".join(" ".join(f"w{line}x{i}" for i in range(words_per_line)) for line in range(lines))
    tok = WordTokenizer.fit(text, split="whitespace")
    stream = PairStream(tok, text, Word2VecConfig(window=window, min_count=1, sample=0, **config))
    position = {tok.token_to_id(f"w{line}x{i}"): (line, i) for line in range(lines) for i in range(words_per_line)}
    return stream, position


# The pair stream


def test_skipgram_offsets_follow_the_dynamic_window():
    window = 4
    stream, position = _unique_words_stream(window)
    offsets = Counter()
    for epoch in range(20):
        for centres, contexts in stream.epoch_examples(epoch):
            for c, row in zip(centres.tolist(), contexts.tolist(), strict=True):
                for o in row:
                    if o:  # <pad> fills the rest of a short window
                        (line_c, i), (line_o, j) = position[c], position[o]
                        assert line_c == line_o, "a window crossed a line"
                        offsets[abs(j - i)] += 1
    assert set(offsets) == set(range(1, window + 1))
    # A centre reaches distance d with probability (window - d + 1) / window; lines are long
    # enough that edges barely matter (exact edge-aware expectation below).
    n = 50
    expected = {d: (window - d + 1) / window * 2 * (n - d) for d in range(1, window + 1)}
    total, expected_total = sum(offsets.values()), sum(expected.values())
    for d in range(1, window + 1):
        share, want = offsets[d] / total, expected[d] / expected_total
        assert abs(share - want) < 0.01, (d, share, want)
    assert abs(total / 20 - 40 * expected_total) / (40 * expected_total) < 0.02
    assert stream.expected_pairs() == pytest.approx(40 * expected_total)


def test_cbow_contexts_stay_inside_the_window_and_the_line():
    window = 3
    stream, position = _unique_words_stream(window, arch="cbow")
    sizes = Counter()
    for contexts, centres in stream.epoch_examples(0):
        for row, c in zip(contexts.tolist(), centres.tolist(), strict=True):
            line, i = position[c]
            reach = max(abs(position[o][1] - i) for o in row if o)
            sizes[reach] += 1
            for o in row:
                if o:
                    assert position[o][0] == line and 1 <= abs(position[o][1] - i) <= window
                    assert abs(position[o][1] - i) <= reach
    # Each reach 1..window is drawn about equally often.
    assert all(abs(sizes[r] / sum(sizes.values()) - 1 / window) < 0.05 for r in range(1, window + 1))


def test_subsampling_keeps_a_frequent_word_at_mikolovs_rate():
    rng = np.random.default_rng(0)
    rare = [f"r{i}" for i in range(400)]
    # "the" is 30% of the words; every other word is rare enough to be always kept.
    lines = [" ".join("the" if rng.random() < 0.3 else rng.choice(rare) for _ in range(40)) for _ in range(300)]
    text = "\n".join(lines)
    tok = WordTokenizer.fit(text, split="whitespace")
    config = Word2VecConfig(arch="cbow", window=5, min_count=1, sample=1e-3)
    stream = PairStream(tok, text, config)
    the = tok.token_to_id("the")
    f, total = stream.counts[the], stream.counts.sum()
    t = 1e-3 * total
    want = (math.sqrt(f / t) + 1) * t / f
    assert stream.keep[the] == pytest.approx(want)
    # Through the stream: CBOW has one example per kept centre (long lines: all have context).
    seen = sum(int((centres == the).sum()) for epoch in range(10) for _, centres in stream.epoch_examples(epoch))
    rate = seen / (10 * f)
    sigma = math.sqrt(want * (1 - want) / (10 * f))
    assert abs(rate - want) < 4 * sigma, (rate, want)


def test_subsampling_and_noise_match_gensim(lee):
    from gensim.models import Word2Vec as GensimWord2Vec

    config = PRESETS["quick"]
    tok = WordTokenizer.fit(lee.train, min_count=config.min_count, lowercase=True)
    stream = PairStream(tok, lee.train, config)
    sentences = [[w for w in tok.words(line) if tok.token_to_id(w) > 3] for line in lee.train.splitlines()]
    model = GensimWord2Vec(vector_size=8, min_count=config.min_count, sample=config.sample, negative=5)
    model.build_vocab([s for s in sentences if s])
    keys = model.wv.index_to_key
    assert sorted(keys) == sorted(tok.vocabulary[4:])
    ours = np.array([stream.keep[tok.token_to_id(w)] for w in keys])
    theirs = np.array([model.wv.get_vecattr(w, "sample_int") / (2**32 - 1) for w in keys])
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    noise = noise_distribution(stream.counts)[[tok.token_to_id(w) for w in keys]]
    np.testing.assert_allclose(noise, np.diff(model.cum_table, prepend=0) / model.cum_table[-1], atol=1e-6)


def test_negatives_are_drawn_from_unigram_to_the_three_quarters(lee):
    tok = WordTokenizer.fit(lee.train, min_count=3, lowercase=True)
    stream = PairStream(tok, lee.train, PRESETS["quick"])
    draws = stream.negatives(np.random.default_rng(0), (200_000,))
    q = noise_distribution(stream.counts)
    observed = np.bincount(draws, minlength=len(q)) / len(draws)
    assert observed[:4].sum() == 0  # specials are never noise words
    top = np.argsort(q)[-50:]
    np.testing.assert_allclose(observed[top], q[top], rtol=0.15)


def test_true_contexts_are_not_labelled_negative_beyond_chance(lee):
    """The Keras `skipgrams` bug labelled true context words as negatives (keras-preprocessing #355)."""
    config = replace(PRESETS["quick"], {"batch_size": 4096})
    tok = WordTokenizer.fit(lee.train, min_count=config.min_count, lowercase=True)
    stream = PairStream(tok, lee.train, config)
    q = noise_distribution(stream.counts)
    k = config.negatives
    observed = expected = same_row = draws = 0
    for batch in itertools.islice(stream.batches(), 5):
        centres, targets = batch["inputs"], batch["targets"]
        positives: dict[int, set[int]] = {}
        for c, row in zip(centres.tolist(), targets[:, :-k].tolist(), strict=True):
            positives.setdefault(c, set()).update(o for o in row if o)
        for c, row in zip(centres.tolist(), targets.tolist(), strict=True):
            observed += sum(n in positives[c] for n in row[-k:])
            expected += k * sum(q[o] for o in positives[c])
            same_row += sum(n in row[:-k] for n in row[-k:])
            draws += k
    rate, chance = observed / draws, expected / draws
    print(f"collision rate {rate:.4%} (chance {chance:.4%}); same-row {same_row / draws:.4%}, masked in the loss")
    # Noise words are independent of the pairs: collisions happen only by chance, when a
    # frequent word is both a true context somewhere and a noise draw.
    assert abs(rate - chance) < 0.25 * chance + 1e-3


def test_a_noise_word_equal_to_the_true_word_is_not_counted():
    import keras

    model = SkipGramNegativeSampling(vocabulary_size=8, dimension=4, negatives=2)
    x = {"inputs": np.array([4, 5]), "targets": np.array([[6, 6, 7], [7, 5, 6]])}
    model(x)  # builds the tables
    model.context.embeddings.assign(np.random.default_rng(0).normal(size=(8, 4)).astype("float32"))
    logits = keras.ops.convert_to_numpy(model(x))
    loss = float(model.compute_loss(x=x, y_pred=model(x)))

    def softplus(v):
        return math.log1p(math.exp(v))

    want = softplus(-logits[0, 0]) + softplus(logits[0, 2]) + softplus(-logits[1, 0]) + softplus(logits[1, 1]) + softplus(logits[1, 2])
    assert loss == pytest.approx(want, rel=1e-5)


def gradient(loss_fn, variable) -> np.ndarray:
    """d loss_fn() / d variable, dense, on TensorFlow (GradientTape) or JAX (jax.grad over the variable's value)."""
    if keras.config.backend() == "jax":
        import jax

        def loss_of(value):
            with keras.StatelessScope(state_mapping=[(variable, value)]):
                return loss_fn()

        return np.asarray(jax.grad(loss_of)(variable.value))
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn()
    return tf.convert_to_tensor(tape.gradient(loss, variable.value)).numpy()


def _check_pair_updates(model: SkipGramNegativeSampling, x: dict, pairs: list[tuple[int, int, list[int]]]) -> None:
    """The batch's loss and gradients equal word2vec's for `pairs` (input word, true word, its noise words),
    a noise word equal to the true word skipped."""
    model(x)
    rng = np.random.default_rng(0)
    model.centre.embeddings.assign(rng.normal(size=(10, 3)).astype("float32"))
    model.context.embeddings.assign(rng.normal(size=(10, 3)).astype("float32"))
    V, U = (keras.ops.convert_to_numpy(table.value).astype(np.float64) for table in (model.centre.embeddings, model.context.embeddings))
    want_loss, want_v, want_u = 0.0, np.zeros_like(V), np.zeros_like(U)
    for i, o, noise in pairs:
        for word, label in [(o, 1), *((n, 0) for n in noise if n != o)]:
            score = U[word] @ V[i]
            want_loss += math.log1p(math.exp(-score if label else score))
            error = 1 / (1 + math.exp(-score)) - label  # d loss / d score
            want_v[i] += error * U[word]
            want_u[word] += error * V[i]
    assert float(model.compute_loss(x=x, y_pred=model(x))) == pytest.approx(want_loss, rel=1e-5)
    for table, want in [(model.centre.embeddings, want_v), (model.context.embeddings, want_u)]:
        np.testing.assert_allclose(gradient(lambda: model.compute_loss(x=x, y_pred=model(x)), table), want, rtol=1e-4, atol=1e-6)


def _input_row_pairs(x: dict, true_words: int, k: int, shared_noise: bool) -> list[tuple[int, int, list[int]]]:
    """The pairs of rows by input word: (centre, context word j, the row's noise words or pair j's own k)."""
    return [(c, o, row[true_words:] if shared_noise else row[true_words + j * k : true_words + (j + 1) * k])
            for c, row in zip(x["inputs"].tolist(), x["targets"].tolist(), strict=True)
            for j, o in enumerate(row[:true_words]) if o]


def test_a_window_row_makes_the_per_pair_updates_of_its_pairs():
    """A skip-gram row (centre, its padded window, k noise words shared by its pairs) has the loss and the
    gradient of word2vec's pairs (centre, o) for each context word o, each scored against the row's noise
    words, a noise word equal to o skipped."""
    model = SkipGramNegativeSampling(vocabulary_size=10, dimension=3, negatives=2)
    x = {"inputs": np.array([4, 5]), "targets": np.array([[6, 7, 0, 0, 8, 7], [9, 0, 0, 0, 9, 6]])}
    _check_pair_updates(model, x, _input_row_pairs(x, 4, 2, shared_noise=True))


def test_noise_drawn_per_pair_scores_each_pair_against_its_own_noise_words():
    """shared_noise=False: after the 4 true words, noise words 2j, 2j + 1 belong to pair j alone (gensim's way);
    a padded slot's noise words count for nothing."""
    model = SkipGramNegativeSampling(vocabulary_size=10, dimension=3, negatives=2, shared_noise=False)
    x = {"inputs": np.array([4, 5]),
         "targets": np.array([[6, 7, 0, 0, 8, 7, 6, 9, 8, 8, 9, 9], [9, 0, 0, 0, 9, 6, 7, 8, 7, 7, 8, 8]])}
    _check_pair_updates(model, x, _input_row_pairs(x, 4, 2, shared_noise=False))


def test_a_row_by_predicted_word_gives_each_input_word_its_own_pair_update():
    """skipgram_rows=predicted: a row (window of input words, centre, k noise words) has the loss and gradient of
    gensim's pairs (input word j -> centre), each against the row's noise words, one equal to the centre skipped;
    each input vector gets its own pair's gradient, not its window's sum."""
    model = SkipGramNegativeSampling(vocabulary_size=10, dimension=3, negatives=2, skipgram_rows="predicted")
    x = {"inputs": np.array([[6, 7, 0, 0], [9, 0, 0, 6]]), "targets": np.array([[4, 8, 4], [5, 9, 7]])}
    pairs = [(j, c, noise) for row, (c, *noise) in zip(x["inputs"].tolist(), x["targets"].tolist(), strict=True)
             for j in row if j]
    _check_pair_updates(model, x, pairs)


def test_skipgram_rows_by_predicted_word_stream_window_matrices():
    stream, _ = _unique_words_stream(window=2, skipgram_rows="predicted", batch_size=8)
    batch = next(stream.batches())
    assert batch["inputs"].shape == (8, 4) and batch["targets"].shape == (8, 1 + 5)
    with pytest.raises(LmzooError, match="skipgram_rows=predicted"):
        Word2VecConfig(skipgram_rows="predicted", shared_noise=False).validate()


def test_noise_drawn_per_pair_gives_each_true_word_its_own_k():
    stream, _ = _unique_words_stream(window=2, shared_noise=False, batch_size=8)
    batch = next(stream.batches())
    assert batch["targets"].shape == (8, 4 + 4 * 5)
    model = SkipGramNegativeSampling(vocabulary_size=len(stream.counts), dimension=3, shared_noise=False)
    assert SkipGramNegativeSampling.from_config(model.get_config()).shared_noise is False


def test_window_rows_hold_the_same_pairs_as_skipgram_pairs():
    from lmzoo.models.word2vec import skipgram_pairs, window_examples

    rng = np.random.default_rng(0)
    ids, sentence, reach = rng.integers(4, 50, 200), np.repeat(np.arange(10), 20), rng.integers(1, 4, 200)
    contexts, centres = window_examples(ids, sentence, reach, window=3)
    grouped = sorted((c, o) for c, row in zip(centres.tolist(), contexts.tolist(), strict=True) for o in row if o)
    assert grouped == sorted(zip(*(a.tolist() for a in skipgram_pairs(ids, sentence, reach)), strict=True))


def test_context_reach_pairs_a_word_with_the_centres_inside_its_own_window():
    """gensim's skip-gram trains the input vector of a word at distance d from a centre when the centre's
    (the predicted word's) reach is >= d: our rows with `context_reach` hold those pairs, input first."""
    from lmzoo.models.word2vec import skipgram_pairs, window_examples

    rng = np.random.default_rng(1)
    ids, sentence, reach = rng.integers(4, 50, 200), np.repeat(np.arange(10), 20), rng.integers(1, 4, 200)
    contexts, centres = window_examples(ids, sentence, reach, window=3, context_reach=True)
    grouped = sorted((c, o) for c, row in zip(centres.tolist(), contexts.tolist(), strict=True) for o in row if o)
    predicted, inputs = skipgram_pairs(ids, sentence, reach)  # (predicted word, its context) by the predicted's reach
    assert grouped == sorted(zip(inputs.tolist(), predicted.tolist(), strict=True))
    assert grouped != sorted(zip(*(a.tolist() for a in skipgram_pairs(ids, sentence, reach)), strict=True))


def test_skipgram_rows_draw_the_context_words_reach_when_asked():
    stream, _ = _unique_words_stream(window=3, reach_of="context")
    old, _ = _unique_words_stream(window=3, reach_of="centre")
    rows = [stream.chunk_examples(np.random.default_rng(0), 0), old.chunk_examples(np.random.default_rng(0), 0)]
    pairs = [sorted((c, o) for c, row in zip(*(a.tolist() for a in r), strict=True) for o in row if o) for r in rows]
    assert pairs[0] != pairs[1] and len(pairs[0]) == pytest.approx(len(pairs[1]), rel=0.1)


def test_cbow_passes_the_whole_error_to_each_context_word():
    """word2vec.c and gensim (cbow_mean=1) average the context forward but do not divide the error."""
    model = SkipGramNegativeSampling(vocabulary_size=8, dimension=3, arch="cbow", negatives=1)
    x = {"inputs": np.array([[4, 5, 0, 0]]), "targets": np.array([[6, 7]])}
    model(x)
    rng = np.random.default_rng(0)
    model.centre.embeddings.assign(rng.normal(size=(8, 3)).astype("float32"))
    model.context.embeddings.assign(rng.normal(size=(8, 3)).astype("float32"))
    grad = gradient(lambda: model.compute_loss(x=x, y_pred=model(x)), model.centre.embeddings)
    V, U = (keras.ops.convert_to_numpy(table.value) for table in (model.centre.embeddings, model.context.embeddings))
    hidden = (V[4] + V[5]) / 2
    sigmoid = 1 / (1 + np.exp(-(U[[6, 7]] @ hidden)))
    error = (sigmoid[0] - 1) * U[6] + sigmoid[1] * U[7]  # dL/dhidden
    np.testing.assert_allclose(grad[4], error, rtol=1e-5)
    np.testing.assert_allclose(grad[5], error, rtol=1e-5)
    assert not grad[0].any()  # padding gets nothing


# Training


def test_loss_falls_and_is_logged_per_epoch(quick_run):
    model, out = quick_run
    records = [r for r in model_metrics(out) if "epoch" in r]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    losses = [r["loss"] for r in records]
    assert losses[-1] < losses[0] < 2 * math.log(2) * (1 + PRESETS["quick"].negatives)
    # (1 + k) log 2 is the loss of an untrained model (all logits 0).


def model_metrics(out):
    from lmzoo.runs import RunDir

    return RunDir(out).read_metrics()


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_planted_co_occurrences_make_related_words_closer(arch, tmp_path):
    rng = np.random.default_rng(1)
    letters = "abcdefghijkl"
    groups = [[f"{letters[g]}{letters[i]}" for i in range(5)] for g in range(12)]  # group = first letter
    lines = [" ".join(rng.choice(groups[rng.integers(len(groups))], size=10)) for _ in range(1200)]
    model = train("word2vec", _text_corpus("\n".join(lines)), tmp_path, preset="quick", arch=arch, dimension=16,
                  window=2, min_count=1, sample=0.0, epochs=4, batch_size=256,
                  learning_rate=0.025 if arch == "skipgram" else 0.05)
    vectors = model.word_vectors()
    same, other = [], []
    for g, group in enumerate(groups):
        for a, b in itertools.combinations(group, 2):
            same.append(vectors.similarity(a, b))
        for b in groups[(g + 1) % len(groups)]:
            other.append(vectors.similarity(group[0], b))
    assert np.mean(same) > np.mean(other) + 0.3, (np.mean(same), np.mean(other))
    hits = sum(vectors.most_similar(w, topn=1)[0][0][0] == w[0] for group in groups for w in group)
    assert hits >= 0.9 * 60


def test_interrupted_training_resumes_from_its_backup(lee, tmp_path, monkeypatch):
    import keras

    from lmzoo.models import word2vec

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("simulated interruption")

    standard = word2vec.training.training_callbacks
    monkeypatch.setattr(word2vec.training, "training_callbacks", lambda run: [*standard(run), Interrupt()])
    with pytest.raises(RuntimeError, match="simulated"):
        train("word2vec", lee, tmp_path / "resumed", preset="quick")
    monkeypatch.setattr(word2vec.training, "training_callbacks", standard)
    resumed = train("word2vec", lee, tmp_path / "resumed", preset="quick")
    straight = train("word2vec", lee, tmp_path / "straight", preset="quick")
    epochs = [r for r in model_metrics(tmp_path / "resumed") if "epoch" in r]
    assert [r["epoch"] for r in epochs] == [1, 2, 3]  # epoch 3 only was trained after the restart
    assert int(resumed.model.optimizer.iterations) == int(straight.model.optimizer.iterations)
    final = [model_metrics(tmp_path / name)[-1]["loss"] for name in ("resumed", "straight")]
    assert final[0] == pytest.approx(final[1], rel=0.01)


def test_seed_gives_identical_vectors(lee, tmp_path):
    runs = [train("word2vec", lee, tmp_path / str(i), preset="quick", epochs=1, seed=seed).word_vectors().vectors
            for i, seed in enumerate([7, 7, 8])]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_save_and_load_give_identical_vectors(quick_run):
    model, out = quick_run
    loaded = load(out)
    assert loaded.word_vectors().index_to_key == model.word_vectors().index_to_key
    np.testing.assert_array_equal(loaded.word_vectors().vectors, model.word_vectors().vectors)
    assert "<unk>" not in loaded.word_vectors().key_to_index and "</s>" not in loaded.word_vectors().key_to_index


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary"])
def test_export_reads_back_in_gensim_unchanged(quick_run, tmp_path, fmt):
    from gensim.models import KeyedVectors

    model, _ = quick_run
    path = tmp_path / ("vectors.bin" if fmt.endswith("binary") else "vectors.txt")
    model.export(fmt, path)
    back = KeyedVectors.load_word2vec_format(str(path), binary=fmt.endswith("binary"))
    assert back.index_to_key == model.word_vectors().index_to_key
    np.testing.assert_array_equal(back.vectors, model.word_vectors().vectors)


def test_projector_export_has_one_row_per_word(quick_run, tmp_path):
    model, _ = quick_run
    model.export("projector", tmp_path / "proj")
    words = (tmp_path / "proj" / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    rows = np.loadtxt(tmp_path / "proj" / "vectors.tsv", delimiter="\t")
    assert words == model.word_vectors().index_to_key
    np.testing.assert_allclose(rows, model.word_vectors().vectors, rtol=1e-5, atol=1e-7)


def test_gensim_baseline_family_trains_and_reloads(lee, tmp_path):
    model = train("word2vec-gensim", lee, tmp_path, preset="quick", workers=1)
    loaded = load(tmp_path)
    assert loaded.family == "word2vec-gensim"
    np.testing.assert_array_equal(loaded.word_vectors().vectors, model.word_vectors().vectors)
    assert loaded.word_vectors().index_to_key == model.word_vectors().index_to_key
    assert loaded.word_vectors().vector_size == PRESETS["quick"].dimension


# Bad input


def test_empty_vocabulary_says_how_many_words_were_dropped(tmp_path):
    with pytest.raises(LmzooError, match=r"all 3 distinct words occur fewer than 5 times"):
        train("word2vec", _text_corpus("a b c\n"), tmp_path, preset="quick", min_count=5)


def test_race_preset_is_gensims_setting_at_twice_its_learning_rate():
    from lmzoo.families import make_config
    from lmzoo.models.word2vec import FAMILY

    race = make_config(FAMILY, "race", {})
    assert (race.learning_rate, race.epochs, race.min_count, race.dimension) == (0.05, 3, 1, 100)
    assert race.learning_rate == 2 * Word2VecConfig().learning_rate


def test_window_below_one_is_refused():
    with pytest.raises(LmzooError, match=r"window=0 must be >= 1"):
        replace(Word2VecConfig(), {"window": 0})


def test_unknown_query_words_are_named(quick_run):
    model, _ = quick_run
    with pytest.raises(LmzooError, match=r"not in the vocabulary: 'zzqx'"):
        model.similarity("government", "zzqx")
    with pytest.raises(LmzooError, match=r"'qqq', 'zzqx'"):
        model.analogy("qqq", "government", "zzqx")
    with pytest.raises(LmzooError, match=r"not in the vocabulary"):
        model.most_similar("zzqx")
    assert model.analogy("man", "king", "woman", topn=3)  # known words work


def test_vectors_with_another_dimension_are_refused(quick_run, tmp_path):
    from gensim.models import KeyedVectors

    model, _ = quick_run
    words = model.word_vectors().index_to_key[:50]
    narrow = KeyedVectors(vector_size=10)
    narrow.add_vectors(words, np.ones((len(words), 10), dtype=np.float32))
    narrow.save_word2vec_format(str(tmp_path / "narrow.txt"))
    with pytest.raises(LmzooError, match=r"holds 10-dimensional vectors but 32 were expected"):
        model.import_vectors(tmp_path / "narrow.txt")
    with pytest.raises(LmzooError, match=r"holds 10-dimensional vectors but 100 were expected"):
        load_vectors(tmp_path / "narrow.txt", dimension=100)
    # Vectors of the right dimension are taken over, word by word.
    model.export("word2vec", tmp_path / "same.txt")
    before = model.word_vectors().vectors.copy()
    assert model.import_vectors(tmp_path / "same.txt") == len(before)
    np.testing.assert_array_equal(model.word_vectors().vectors, before)


# The command line


def wordsim_by_hand(vectors) -> float:
    """WordSim353 Spearman computed here: case-folded lookup (the most frequent form wins), cosine, ranks."""
    from scipy.stats import spearmanr

    from lmzoo.datasets.corpus import gensim_test_data

    index = {}
    for word in vectors.index_to_key[:30000]:
        index.setdefault(word.upper(), word)
    human, model = [], []
    for line in (gensim_test_data() / "wordsim353.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        a, b, score = line.split("\t")[:3]
        if a.upper() in index and b.upper() in index:
            u, v = vectors[index[a.upper()]], vectors[index[b.upper()]]
            # Unit vectors first, as gensim does: a pair and its reverse ("money bank", "bank money") then
            # tie exactly, where u @ v / |u| / |v| can differ in the last bit and split a tied rank.
            model.append(float((u / np.linalg.norm(u)) @ (v / np.linalg.norm(v))))
            human.append(float(score))
    return float(spearmanr(human, model).statistic)


def test_cli_train_evaluate_export(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "word2vec", "--corpus", "lee", "--out", str(run), "--preset", "quick",
                 "--set", "arch=cbow", "--set", "epochs=1"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)["wordsim353_spearman"]
    assert printed == pytest.approx(wordsim_by_hand(load(run).word_vectors()), abs=1e-9)
    for fmt, name in [("word2vec", "v.txt"), ("word2vec-binary", "v.bin"), ("projector", "proj")]:
        assert main(["export", str(run), "--format", fmt, "--out", str(tmp_path / name)]) == 0
    assert load_vectors(tmp_path / "v.bin", dimension=32).vector_size == 32
    assert main(["export", str(run), "--format", "arpa", "--out", str(tmp_path / "x")]) == 2
    assert main(["train", "word2vec", "--out", str(tmp_path / "bad"), "--set", "window=0"]) == 2
    assert "window=0 must be >= 1" in capsys.readouterr().err


# Long lines (issue 13 item 6) and the gensim baseline's reproducibility (item 13)


def test_gensim_sees_every_word_of_a_line_longer_than_its_10000_word_limit(tmp_path):
    from lmzoo.runs import RunDir

    rng = np.random.default_rng(0)
    words = 25_000
    letters = "abcdefghijklmnopqrstuvwxyz"
    text = " ".join(f"w{letters[i // 26]}{letters[i % 26]}" for i in rng.integers(0, 200, words)) + "\n"
    train("word2vec-gensim", _text_corpus(text), tmp_path, preset="quick", min_count=1, sample=0.0, epochs=2, workers=1)
    record = RunDir(tmp_path).read_json("training.json")
    # gensim stops reading a text after 10,000 words without a word of warning.
    assert record["words_trained"] == 2 * words


def test_a_long_line_is_cut_so_chunks_stay_bounded():
    from lmzoo.models.word2vec import CHUNK_TOKENS, MAX_SENTENCE_WORDS

    text = " ".join(f"w{i % 300}" for i in range(5 * CHUNK_TOKENS)) + "\n"
    tok = WordTokenizer.fit(text, split="whitespace")
    stream = PairStream(tok, text, Word2VecConfig(min_count=1, sample=0))
    assert stream.words == 5 * CHUNK_TOKENS
    sizes = np.diff(stream.starts[stream.chunk_bounds])
    assert sizes.sum() == 5 * CHUNK_TOKENS and sizes.max() <= CHUNK_TOKENS + MAX_SENTENCE_WORDS


def test_gensim_with_one_worker_is_reproducible_and_says_so(lee, tmp_path):
    import json

    vectors = [train("word2vec-gensim", lee, tmp_path / str(i), preset="quick", epochs=1, workers=1).word_vectors().vectors
               for i in range(2)]
    np.testing.assert_array_equal(vectors[0], vectors[1])
    assert json.loads((tmp_path / "0" / "training.json").read_text())["reproducible"] is True
    train("word2vec-gensim", lee, tmp_path / "2", preset="quick", epochs=1, workers=2)
    assert json.loads((tmp_path / "2" / "training.json").read_text())["reproducible"] is False


def test_alias_table_draws_the_noise_distribution_exactly():
    from lmzoo.models.word2vec import alias_table

    p = np.random.default_rng(3).dirichlet(np.full(50, 0.3))
    keep, alias = alias_table(p)
    implied = (keep + np.bincount(alias, weights=1 - keep, minlength=50)) / 50
    np.testing.assert_allclose(implied, p, atol=1e-12)


def test_xla_turned_off_by_keras_fails_loudly(lee, tmp_path, monkeypatch):
    """Keras compiles without XLA, with a mere warning, when it thinks a model cannot be jit-compiled."""
    compile_with_xla = SkipGramNegativeSampling.compile

    def compile_as_keras_falls_back(self, *args, **kwargs):
        compile_with_xla(self, *args, **kwargs)
        self.jit_compile = False  # what Keras does under TF op determinism, or for a model it cannot jit

    monkeypatch.setattr(SkipGramNegativeSampling, "compile", compile_as_keras_falls_back)
    with pytest.raises(LmzooError, match=r"jit_compile=True was asked for but Keras compiled with False"):
        train("word2vec", lee, tmp_path, preset="quick")
