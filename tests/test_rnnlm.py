"""Recurrent LM: training, carried-state and rolling scoring, cached generation, resume, tokenizers, tying."""

import keras
import numpy as np
import pytest

import lmzoo
from lmzoo.config import replace
from lmzoo.datasets.tokenizers import BOS, EOS, PAD
from lmzoo.errors import LmzooError
from lmzoo.models import callbacks, sampling, window_lm
from lmzoo.models.rnnlm import RNNLM, RNNLMConfig
from lmzoo.protocols import Embedder, Generator, LanguageModel
from lmzoo.runs import RunDir

TINY = {"num_layers": 2, "hidden_dim": 24, "context": 16, "batch_size": 8, "eval_batches": 1}
# On JAX, Keras runs a model compiled with jit_compile=False (rnnlm's default, measured on TensorFlow)
# eagerly, and each eager `lax.scan` of the LSTM is traced and compiled again at every call: the 80-step
# `trained` fixture did not finish in 25 minutes (2-core machine, load 12-17), and even with
# jit_compile=True 10 quick steps took 210 s of compilation. The tests that train are skipped there;
# the network, data-stream and config tests run on JAX.
TRAINS_ON_JAX_TOO_SLOWLY = pytest.mark.skipif(
    keras.config.backend() == "jax", reason="rnnlm training on JAX: eager LSTM scans recompile every call")


@pytest.fixture(scope="module")
def lee():
    return lmzoo.load_corpus("lee")


@pytest.fixture(scope="module")
def trained(lee, tmp_path_factory):
    out = tmp_path_factory.mktemp("rnnlm")
    model = lmzoo.train("rnnlm", lee, out, preset="quick", steps=80, eval_every=40, dropout=0.1)
    return model, out


def direct_log_probs(model: RNNLM, inputs: list[int]) -> np.ndarray:
    """log p(. | inputs[:t+1]) at every position by one forward pass from a zero state."""
    logits = keras.ops.convert_to_numpy(model.network(np.asarray([inputs], "int32"), training=False))[0]
    return logits - np.logaddexp.reduce(logits.astype(np.float64), axis=-1, keepdims=True)


@TRAINS_ON_JAX_TOO_SLOWLY
def test_loss_falls_and_the_model_is_every_protocol_it_claims(trained):
    model, out = trained
    records = [r for r in RunDir(out).read_metrics() if "val_loss" in r]
    assert [r["step"] for r in records] == [40, 80]
    assert records[-1]["loss"] < records[0]["loss"] and records[-1]["val_loss"] < records[0]["val_loss"]
    assert records[-1]["val_loss"] < np.log(model.tokenizer.vocabulary_size()) - 1.0  # far below uniform
    assert all(isinstance(model, p) for p in (LanguageModel, Generator, Embedder))


@TRAINS_ON_JAX_TOO_SLOWLY
def test_carried_state_scores_equal_one_forward_pass_over_the_whole_text(trained, lee):
    """Chunked scoring hands the state from chunk to chunk: the same numbers as one pass."""
    model, _ = trained
    model = RNNLM(replace(model.config, {"score_chunk": 16}), model.tokenizer, model.network)  # 7 chunks, last partial
    ids = model.tokenizer.encode(lee.test[:100])
    log_probs = model.token_log_probs(ids)
    reference = direct_log_probs(model, [BOS, *ids[:-1]])[np.arange(len(ids)), ids]
    assert log_probs.dtype == np.float64
    np.testing.assert_allclose(log_probs, reference, atol=2e-5)


@TRAINS_ON_JAX_TOO_SLOWLY
def test_evaluate_reports_the_carried_state_and_the_window_figures(trained, lee):
    """rnnlm trains on `context`-long windows from a zero state but scores with one state carried through
    the whole test text: evaluate reports both, and on lee they agree within 0.05 bits/char."""
    model, _ = trained
    row = lmzoo.evaluate(model, lee)
    nll = -model.window_log_probs(model.tokenizer.encode(lee.test)).sum()
    assert row["nll_nats_windowed"] == pytest.approx(nll)
    open_nats = row["nll_nats_windowed"] + row["spelling_nats"] + row["layout_nats"]
    assert row["bits_per_char_windowed"] == pytest.approx(open_nats / np.log(2) / len(lee.test))
    assert abs(row["bits_per_char_windowed"] - row["bits_per_char"]) < 0.05


@TRAINS_ON_JAX_TOO_SLOWLY
def test_rolling_window_scores_equal_each_tokens_own_window(trained, lee):
    model, _ = trained
    ids = model.tokenizer.encode(lee.test[:61])
    context, stride = 16, 6
    rolled = model.window_log_probs(ids, context=context, stride=stride)
    sequence = [BOS, *ids]
    for i in (0, 9, 15, 16, 21, 22, 40, 59, 60):  # first window, the stride's edges, the last partial one
        end = context if i < context else min(len(ids), context + stride * ((i - context) // stride + 1))
        start = max(0, end - context)
        assert rolled[i] == pytest.approx(direct_log_probs(model, sequence[start : i + 1])[-1, ids[i]], abs=2e-5), i


def test_window_scorer_never_builds_the_vocabulary_sized_array():
    calls = []

    def score(x, y):  # what target_log_prob_fn returns: (batch, time) only
        calls.append(x.shape)
        return np.zeros(x.shape)

    window_lm.rolling_log_probs(score, list(range(4, 104)), context=10, stride=5, batch_size=4)
    assert calls and all(shape == (4, 10) for shape in calls)
    fn = window_lm.target_log_prob_fn(lambda x: keras.ops.one_hot(x, 7) * 5.0, jit_compile=False)
    out = keras.ops.convert_to_numpy(fn(np.array([[1, 2]], "int32"), np.array([[1, 3]], "int32")))
    expected = 5.0 - np.log(np.exp(5.0) + 6), -np.log(np.exp(5.0) + 6)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5)


@TRAINS_ON_JAX_TOO_SLOWLY
def test_greedy_and_beam_with_carried_state_equal_the_uncached_path(trained):
    model, _ = trained
    prompt = model.tokenizer.encode("The Prime ")
    cached = model.generate_ids(prompt, max_length=16)[0]
    assert cached == sampling.generate(model.next_log_probs_uncached, prompt, max_new_tokens=16, eos_id=EOS)[0]
    assert len(set(cached)) >= 3
    beams = dict(sampler="beam", num_beams=3, num_return_sequences=2)
    assert model.generate_ids(prompt, max_length=4, **beams) == sampling.generate(
        model.next_log_probs_uncached, prompt, max_new_tokens=4, eos_id=EOS, **beams)
    texts = model.generate("The ", max_length=10, num_return_sequences=2, sampler="top_k", top_k=5, seed=3)
    assert len(texts) == 2 and texts == model.generate("The ", max_length=10, num_return_sequences=2,
                                                       sampler="top_k", top_k=5, seed=3)


@TRAINS_ON_JAX_TOO_SLOWLY
def test_save_and_load_round_trip(trained, lee):
    model, out = trained
    loaded = lmzoo.load(out)
    ids = model.tokenizer.encode(lee.test[:50])
    np.testing.assert_array_equal(loaded.token_log_probs(ids), model.token_log_probs(ids))
    assert loaded.config == model.config and loaded.num_params() == model.num_params()
    assert 1.0 < lmzoo.evaluate(loaded, lee, split="valid")["bits_per_char"] < 5.0


@TRAINS_ON_JAX_TOO_SLOWLY
def test_backbone_shares_the_weights_and_masks_padding(trained):
    model, _ = trained
    backbone = model.backbone()
    network_ids = {id(v) for v in model.network.weights}
    assert backbone.weights and all(id(v) in network_ids for v in backbone.weights)
    ids = np.asarray([[9, 10, 11, 12, 13], [9, 10, 11, PAD, PAD]], "int32")
    hidden = keras.ops.convert_to_numpy(backbone(ids))
    assert hidden.shape == (2, 5, model.config.layer_sizes[-1])
    full, _ = model.network.run(ids[:1], training=False)
    np.testing.assert_allclose(hidden[0], keras.ops.convert_to_numpy(full)[0], atol=1e-5)
    np.testing.assert_allclose(hidden[1, :3], hidden[0, :3], atol=1e-5)
    assert (hidden[1, 3:] == 0).all()


@TRAINS_ON_JAX_TOO_SLOWLY
def test_resume_restores_the_step_and_continues_the_data_stream(lee, tmp_path, monkeypatch):
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    starts = []
    streams = window_lm.random_windows
    monkeypatch.setattr(window_lm, "random_windows", lambda *a, start_step=0: starts.append(start_step) or streams(*a, start_step=start_step))
    settings = {**TINY, "num_layers": 1, "steps": 5, "eval_every": 2}
    original = callbacks.training_callbacks
    monkeypatch.setattr(callbacks, "training_callbacks", lambda *a, **k: [*original(*a, **k), Interrupt()])
    with pytest.raises(KeyboardInterrupt):
        lmzoo.train("rnnlm", lee, tmp_path, **settings)
    monkeypatch.setattr(callbacks, "training_callbacks", original)
    model = lmzoo.train("rnnlm", lee, tmp_path, **settings)
    assert [r["step"] for r in RunDir(tmp_path).read_metrics() if "epoch" in r] == [2, 4, 5]  # exactly 5 steps
    assert int(model.network.optimizer.iterations) == 5
    assert starts == [0, 2]  # the resumed run reads the stream from step 2, not from the start again


@TRAINS_ON_JAX_TOO_SLOWLY
@pytest.mark.parametrize("tokenizer,cell", [("word", "gru"), ("subword", "lstm")])
def test_word_and_subword_models_score_and_continue_prompts(lee, tmp_path, tokenizer, cell):
    model = lmzoo.train("rnnlm", lee, tmp_path, **TINY, tokenizer=tokenizer, cell=cell, vocabulary_size=300,
                        steps=6, eval_every=6, jit_compile=False)
    ids = model.tokenizer.encode(lee.test[:300])
    log_probs = model.token_log_probs(ids)
    assert ids[-1] == EOS and log_probs.shape == (len(ids),) and np.isfinite(log_probs).all()
    prompt = "The Prime Minister"
    closed = model.tokenizer.encode(prompt)
    assert closed[-1] == EOS  # the tokenizer closes the line; the prompt must be continued instead
    expected = model.generate_ids(closed[:-1], max_length=4)[0]
    assert model.generate(prompt, max_length=4) == [model.tokenizer.decode(expected)]


def test_tied_embeddings_share_one_matrix():
    from lmzoo.models.rnnlm import build_network

    config = replace(RNNLMConfig(), {**TINY, "tie_embeddings": True, "embedding_dim": 12})
    assert config.layer_sizes == (24, 12)
    network = build_network(config, 50)
    matrices = [v for v in network.trainable_weights if tuple(v.shape) in ((50, 12), (12, 50))]
    assert len(matrices) == 1 and not hasattr(network, "projection")
    ids = np.asarray([[5, 6, 7]], "int32")
    hidden, _ = network.run(ids, training=False)
    hidden = keras.ops.convert_to_numpy(hidden)
    table, bias = (keras.ops.convert_to_numpy(v) for v in (network.embedding.embeddings, network.output_bias))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(network(ids)), hidden @ table.T + bias, atol=1e-5)
    untied = build_network(replace(config, {"tie_embeddings": False}), 50)
    assert untied.count_params() > network.count_params()


@pytest.mark.parametrize("overrides,message", [
    ({"dropout": 1.0}, r"dropout=1.0 must be in \[0, 1\)"),
    ({"cell": "rnn"}, "not allowed"),
    ({"clipnorm": -1.0}, "clipnorm"),
    ({"hidden_dim": 0}, "hidden_dim=0"),
    ({"carry_state": True, "distribute": "mirrored"}, "carry_state=True does not run under distribute='mirrored'"),
])
def test_bad_settings_are_refused_in_one_line(overrides, message):
    with pytest.raises(LmzooError, match=message):
        replace(RNNLMConfig(), overrides)


def test_numpy_window_streams_resume_like_tf_data(monkeypatch):
    """Backends other than TensorFlow (JAX on a GPU machine without TensorFlow) get numpy windows."""
    from lmzoo.models import window_lm

    ids = np.arange(200, dtype=np.int32)
    monkeypatch.setattr(window_lm, "_tf_data", lambda: False)
    fresh = window_lm.random_windows(ids, 5, 3, seed=7)
    batches = [next(fresh) for _ in range(3)]
    resumed = next(window_lm.random_windows(ids, 5, 3, seed=7, start_step=2))
    np.testing.assert_array_equal(resumed[0], batches[2][0])
    np.testing.assert_array_equal(batches[0][1], batches[0][0] + 1)  # targets are the next ids
    x, y = next(window_lm.contiguous_windows(ids, 4, 2, start_step=1))
    assert x.tolist() == [[4, 5, 6, 7], [103, 104, 105, 106]] and (y == x + 1).all()
    vx, vy = window_lm.validation_windows(ids, 4, 8, eval_batches=2)
    assert vx.shape == (16, 4) and (vy == vx + 1).all() and vx[1, 0] == 4


def test_a_carried_state_passes_from_batch_to_batch_in_fit():
    from lmzoo.models.rnnlm import RNNLanguageNetwork

    network = RNNLanguageNetwork(20, (8, 6), carry_batch_size=2)
    network(np.zeros((1, 2), "int32"))
    batches = np.random.default_rng(0).integers(4, 20, (2, 2, 5)).astype("int32")
    _, states = network.run(batches[0], network.zero_states(2), training=False)
    _, states = network.run(batches[1], states, training=False)
    network.compile(optimizer=keras.optimizers.SGD(0.0), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    import tensorflow as tf

    network.fit(tf.data.Dataset.from_tensor_slices((batches, batches)), epochs=1, verbose=0)  # a (2, 5) batch a step
    for variable, expected in zip(network.carried, states, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), keras.ops.convert_to_numpy(expected), atol=1e-6)
    assert np.abs(keras.ops.convert_to_numpy(network.carried[0])).max() > 0.01


def test_sampled_softmax_loss_estimates_the_full_cross_entropy():
    """With many samples the corrected sampled loss is the full cross-entropy plus log(K q(target))."""
    rng = np.random.default_rng(0)
    vocabulary, units, samples = 50, 8, 200_000
    weights, bias = rng.normal(size=(vocabulary, units)).astype("float32"), rng.normal(size=vocabulary).astype("float32")
    hidden, targets = rng.normal(size=(2, 3, units)).astype("float32"), rng.integers(1, vocabulary, (2, 3))
    log_q = window_lm.sampling_log_probs(rng.integers(1, vocabulary, 500), vocabulary)
    logits = hidden @ weights.T + bias
    full = np.mean(np.logaddexp.reduce(logits, axis=-1) - np.take_along_axis(logits, targets[..., None], -1)[..., 0])
    sampled = float(window_lm.sampled_softmax_loss(hidden, targets, weights, bias, log_q, samples,
                                                   keras.random.SeedGenerator(1)))
    offset = np.mean(np.log(samples * np.exp(log_q[targets])))
    assert abs(sampled - offset - full) < 0.05
    assert np.exp(log_q[PAD]) < 1e-20  # padding is never drawn


@TRAINS_ON_JAX_TOO_SLOWLY
def test_sampled_softmax_trains_and_scores_with_the_full_softmax(lee, tmp_path):
    # From a zero output bias, so that 20 tiny steps have a visible fall to make (from the unigram start
    # they hardly move the full-softmax loss).
    model = lmzoo.train("rnnlm", lee, tmp_path, **{**TINY, "num_layers": 1}, tokenizer="word", steps=20,
                        eval_every=10, sampled_softmax=64, learning_rate=1e-2, min_learning_rate=1e-3,
                        unigram_bias=False)
    records = [r for r in RunDir(tmp_path).read_metrics() if "val_loss" in r]
    assert records[-1]["val_loss"] < records[0]["val_loss"]  # the full-softmax validation loss falls
    ids = model.tokenizer.encode(lee.test[:200])
    reference = direct_log_probs(model, [BOS, *ids[:-1]])[np.arange(len(ids)), ids]
    np.testing.assert_allclose(model.token_log_probs(ids), reference, atol=2e-5)  # exact, normalised scores
    np.testing.assert_allclose(lmzoo.load(tmp_path).token_log_probs(ids), reference, atol=2e-5)
    with pytest.raises(LmzooError, match="sampled_softmax"):
        RNNLMConfig(sampled_softmax=-1).validate()


def test_keep_best_on_valid_restores_the_best_chunk_not_the_last(tmp_path):
    import json

    from lmzoo.models.callbacks import KeepBestOnValid
    from lmzoo.runs import RunDir

    network = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    network.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    scores = iter([3.0, 2.0, 5.0])  # the second chunk is the best on valid, the third overfit
    keep = KeepBestOnValid(RunDir(tmp_path), lambda: next(scores))
    weights = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: weights.append(network.get_weights()[0].copy()))
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    network.fit(x, x.sum(axis=1), epochs=3, verbose=0, callbacks=[record, keep])
    assert keep.restore_best()["valid_nll"] == 2.0
    np.testing.assert_array_equal(network.get_weights()[0], weights[1])
    assert not np.array_equal(weights[1], weights[2])
    assert [json.loads(line)["valid_nll"] for line in (tmp_path / "valid_curve.jsonl").read_text().splitlines()] == [3.0, 2.0, 5.0]


def test_rnnlm_selects_on_valid_and_stops_at_its_time_budget(lee, tmp_path):
    import json

    model = lmzoo.train("rnnlm", lee, tmp_path / "run", preset="quick", steps=100_000, eval_every=20,
                        select_on_valid=True, time_budget_seconds=6.0)
    timing = json.loads((tmp_path / "run" / "timing.json").read_text())
    assert 0 < timing["tokens_seen"] < 100_000 * 32 * 32
    curve = [json.loads(line) for line in (tmp_path / "run" / "valid_curve.jsonl").read_text().splitlines()]
    best = min(p["valid_nll"] for p in curve)
    saved = -float(np.mean(lmzoo.load(tmp_path / "run").token_log_probs(model.tokenizer.encode(lee.valid))))
    assert saved == pytest.approx(best, rel=1e-5)
