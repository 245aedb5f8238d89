"""The GRU seq2seq autoencoder: memorises, decodes consistently, masks padding, resumes, fails clearly."""

import json
import math

import keras
import numpy as np
import pytest
from keras import ops

from lmzoo import cli, families
from lmzoo.config import to_dict
from lmzoo.datasets.corpus import Corpus, load_corpus
from lmzoo.datasets.tokenizers import BOS, UNK, fit_tokenizer
from lmzoo.errors import LmzooError
from lmzoo.models import seq2seq
from lmzoo.models.seq2seq import Seq2SeqAutoencoder, Seq2SeqConfig, build_network
from lmzoo.protocols import ConditionalScorer, Embedder, LanguageModel, Reconstructor
from lmzoo.runs import RunDir

SENTENCES = [
    "the cat sat on the mat .",
    "a dog ran in the park .",
    "birds sing in the morning .",
    "she reads a long book .",
    "we ate rice and fish today .",
]
TOY = Corpus("toy", "\n".join(SENTENCES), "\n".join(SENTENCES[:2]), "\n".join(SENTENCES[2:]))
TOY_CONFIG = Seq2SeqConfig(embedding_dim=16, latent_dim=32, min_count=1, batch_size=5, epochs=150.0,
                           learning_rate=1e-2, checkpoint_every_n_steps=50, monitor_sentences=0, context=12)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    run = RunDir(tmp_path_factory.mktemp("toy"))
    run.write_config("seq2seq", to_dict(TOY_CONFIG), corpus="toy")
    return run, seq2seq.train(TOY_CONFIG, TOY, run)


def untrained(**overrides) -> Seq2SeqAutoencoder:
    config = Seq2SeqConfig(embedding_dim=8, latent_dim=16, attention_dim=8, min_count=1, **overrides)
    tokenizer = fit_tokenizer("word", TOY.train, eos_per_line=False)
    return Seq2SeqAutoencoder(config, tokenizer, build_network(config, tokenizer.vocabulary_size()))


def test_protocols(toy_run):
    _, model = toy_run
    assert isinstance(model, Reconstructor) and isinstance(model, ConditionalScorer) and isinstance(model, Embedder)
    assert not isinstance(model, LanguageModel)  # its NLL is conditional on the sentence itself


def test_memorises_and_reconstructs_exactly(toy_run):
    _, model = toy_run
    assert model.reconstruct(SENTENCES) == SENTENCES


def test_outputs_differ_across_inputs_and_beat_constant_output(toy_run):
    # keras-io lstm_seq2seq #1906: a decoder that ignores its encoder writes one sentence for all.
    _, model = toy_run
    outputs = model.reconstruct(SENTENCES)
    assert len(set(outputs)) == len(SENTENCES)
    refs = [s.split() for s in SENTENCES]

    def accuracy(hyps):
        return sum(sum(a == b for a, b in zip(r, h, strict=False)) for r, h in zip(refs, hyps, strict=True)) / sum(map(len, refs))

    best_constant = max(accuracy([c] * len(refs)) for c in refs)
    assert accuracy([o.split() for o in outputs]) > best_constant + 0.3


def test_beam_one_equals_greedy(toy_run):
    _, model = toy_run
    held_out = ["the dog sat in the park today .", "we read a book .", "fish sing on the mat ."]
    for sentences in (SENTENCES, held_out):
        assert model.reconstruct(sentences, num_beams=1) == [
            model.reconstruct([s], num_beams=1)[0] for s in sentences]
        beam = [model.generate(s, sampler="beam", num_beams=1, max_length=13)[0] for s in sentences]
        assert beam == model.reconstruct(sentences)
    # and on a random model, whose outputs are long and arbitrary
    raw = untrained(attention=True)
    assert [raw.generate(s, sampler="beam", num_beams=1, max_length=41)[0] for s in held_out] == raw.reconstruct(held_out)


def test_beam_search_finds_at_least_greedy_score(toy_run):
    _, model = toy_run
    assert model.reconstruct(SENTENCES, num_beams=3) == SENTENCES


def test_save_load_identical_outputs(toy_run):
    run, model = toy_run
    loaded = families.load(run.path)
    probe = [*SENTENCES, "the dog sat in the park today ."]
    assert loaded.reconstruct(probe) == model.reconstruct(probe)
    np.testing.assert_array_equal(loaded.encode(probe), model.encode(probe))
    for a, b in zip(loaded.conditional_log_probs(probe), model.conditional_log_probs(probe), strict=True):
        np.testing.assert_array_equal(a, b)


def test_conditional_log_probs_cover_words_and_eos(toy_run):
    _, model = toy_run
    scores = model.conditional_log_probs(SENTENCES)
    assert [len(s) for s in scores] == [len(s.split()) + 1 for s in SENTENCES]
    assert all(np.all(s <= 0) and np.all(np.isfinite(s)) for s in scores)
    assert np.mean(np.concatenate(scores)) > np.log(0.9)  # memorised: each token likely


@pytest.mark.parametrize("options", [{}, {"attention": True, "bidirectional": True}])
def test_padding_never_leaks_into_the_loss(options):
    model = untrained(**options)
    net, short, long = model.network, [4, 5, 6], [7, 8, 9, 10, 11, 12, 13, 14, 15]
    alone = seq2seq._pad([short])
    padded = np.concatenate([alone, np.zeros((1, 20), np.int32)], axis=1)  # extra padding columns
    with_long = seq2seq._pad([short, long])
    lp = [ops.convert_to_numpy(net.target_log_probs(x))[0, :4] for x in (alone, padded, with_long)]
    np.testing.assert_allclose(lp[0], lp[1], atol=1e-5)
    np.testing.assert_allclose(lp[0], lp[2], atol=1e-5)
    np.testing.assert_array_equal(ops.convert_to_numpy(net.target_log_probs(padded))[0, 4:], 0.0)
    losses = [float(net.compute_loss(y=x, y_pred=net(x))) for x in (alone, padded)]
    assert losses[0] == pytest.approx(losses[1], abs=1e-5)
    assert losses[0] == pytest.approx(-lp[0].mean(), abs=1e-5)  # mean over real tokens only


def test_attention_masks_padding_and_sums_to_one():
    net = untrained(attention=True).network
    ids = seq2seq._pad([[4, 5], [6, 7, 8, 9, 10]])
    enc = net.encode_ids(ids)
    _, _, weights = net.decode_step(np.array([BOS, BOS], np.int32), [enc["latent"]], enc)
    weights = ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(weights[0, 3:], 0.0)


def test_teacher_forcing_ratio_zero_feeds_own_predictions():
    net = untrained(attention=True).network
    ids = seq2seq._pad([[4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]])
    enc = net.encode_ids(ids)
    logits, fed = (ops.convert_to_numpy(t) for t in net.scheduled_decode(ids, enc, 0.0))
    predictions = logits.argmax(-1)
    np.testing.assert_array_equal(fed[:, 0], BOS)
    np.testing.assert_array_equal(fed[:, 1:], predictions[:, :-1])  # every later input is the model's own
    assert not np.array_equal(fed[:, 1:], ids[:, :-1])
    # ...and it is exactly free-running greedy decoding, step by step
    state, tokens = [enc["latent"]], np.full(3, BOS, np.int32)
    for t in range(ids.shape[1]):
        step_logits, state, _ = net.decode_step(tokens, state, enc)
        np.testing.assert_allclose(ops.convert_to_numpy(step_logits), logits[:, t], atol=1e-4)
        tokens = ops.convert_to_numpy(step_logits).argmax(-1).astype(np.int32)


def test_sampled_feed_draws_from_the_model_not_the_argmax():
    net = untrained(feed="sample").network
    ids = np.tile(seq2seq._pad([list(range(4, 16))]), (8, 1))
    enc = net.encode_ids(ids)
    logits, fed = (ops.convert_to_numpy(t) for t in net.scheduled_decode(ids, enc, 0.0))
    fed, argmax = fed[:, 1:], logits.argmax(-1)[:, :-1]
    assert np.all((fed >= 0) & (fed < logits.shape[-1]))
    assert np.mean(fed != argmax) > 0.5  # an untrained model is near uniform: samples rarely hit the mode


def test_teacher_forcing_ratio_one_matches_whole_sequence_call():
    net = untrained(attention=True).network
    ids = seq2seq._pad([[4, 5, 6], [7, 8, 9, 10, 11]])
    enc = net.encode_ids(ids)
    logits, fed = (ops.convert_to_numpy(t) for t in net.scheduled_decode(ids, enc, 1.0))
    np.testing.assert_array_equal(fed, np.concatenate([np.full((2, 1), BOS), ids[:, :-1]], axis=1))
    np.testing.assert_allclose(logits, ops.convert_to_numpy(net._teacher_forced(ids, enc)[0]), atol=1e-4)


def test_teacher_forcing_is_decided_per_step_and_per_sentence():
    # The common mistake decides once per batch; here coins fall per (sentence, step).
    net = untrained().network
    ids = np.tile(seq2seq._pad([list(range(4, 16))]), (64, 1))
    enc = net.encode_ids(ids)
    _, fed = (ops.convert_to_numpy(t) for t in net.scheduled_decode(ids, enc, 0.5))
    truth = np.concatenate([np.full((64, 1), BOS), ids[:, :-1]], axis=1)
    is_true = (fed == truth)[:, 1:]
    assert 0.35 < is_true.mean() < 0.75
    rows_mixed = np.mean([0 < r.mean() < 1 for r in is_true])
    assert rows_mixed > 0.9


def test_resume_after_interrupt_restores_step(tmp_path):
    config = Seq2SeqConfig(**{**TOY_CONFIG.__dict__, "epochs": 8.0, "checkpoint_every_n_steps": 2,
                              "teacher_forcing_ratio": 1.0, "teacher_forcing_final": 0.5,
                              "learning_rate_decay": "cosine"})
    run = RunDir(tmp_path)
    run.write_config("seq2seq", to_dict(config), corpus="toy")

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(ops.convert_to_numpy(self.model.optimizer.iterations)) == 5:
                raise KeyboardInterrupt

    class StartStep(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.step = int(ops.convert_to_numpy(self.model.optimizer.iterations))
            self.ratio = float(ops.convert_to_numpy(self.model.teacher_forcing_ratio))

    with pytest.raises(KeyboardInterrupt):
        seq2seq.train(config, TOY, run, extra_callbacks=[Interrupt()])
    assert not run.is_complete()
    start = StartStep()
    model = seq2seq.train(config, TOY, run, extra_callbacks=[start])
    assert start.step == 4  # the last checkpoint (every 2 steps) before the interrupt at step 5
    assert start.ratio == pytest.approx(1.0 - 0.5 * 3 / 8)  # schedule value of the restored step's batch
    assert int(ops.convert_to_numpy(model.network.optimizer.iterations)) == 8
    assert run.is_complete() and not (run.checkpoint_dir / "backup").exists()
    assert [r["step"] for r in run.read_metrics()][-2:] == [6, 8]
    assert families.load(run.path).reconstruct(SENTENCES) == model.reconstruct(SENTENCES)


def test_bad_input_overlong_rules(toy_run):
    _, model = toy_run
    long = " ".join(["the cat"] * 10)  # 20 words > context=12
    assert model.ids([long]) == [model.ids([long])[0][:12]]
    assert len(model.conditional_log_probs([long])[0]) == 13  # truncated to 12 words + </s>
    skip = Seq2SeqAutoencoder(Seq2SeqConfig(**{**TOY_CONFIG.__dict__, "overlong": "skip"}), model.tokenizer, model.network)
    with pytest.raises(LmzooError, match="sentence 1 has 20 words, more than context=12"):
        skip.reconstruct(["the cat", long])
    rows = seq2seq.sentence_ids(model.tokenizer, ["the cat", long, ""], 12, "skip", training=True)
    assert rows == [model.ids(["the cat"])[0]]  # training skips the long and the empty sentence


def test_bad_input_empty_sentence_beam_width_and_unknown_words(toy_run):
    _, model = toy_run
    for empty in ("", "   "):
        with pytest.raises(LmzooError, match="sentence 1 is empty"):
            model.reconstruct(["the cat", empty])
    for width in (0, -1):
        with pytest.raises(LmzooError, match="beam width"):
            model.reconstruct(SENTENCES[:1], num_beams=width)
    with pytest.raises(LmzooError, match="list of strings"):
        model.reconstruct("the cat sat")
    unknown = "the zebra sat on the mat ."
    assert model.ids([unknown])[0][1] == UNK
    assert np.all(np.isfinite(model.conditional_log_probs([unknown])[0]))
    assert isinstance(model.reconstruct([unknown])[0], str)


def test_bad_config_values():
    for overrides in ({"latent_dim": 33, "bidirectional": True}, {"teacher_forcing_ratio": 1.5},
                      {"teacher_forcing_final": -0.1}, {"context": 0}):
        with pytest.raises(LmzooError):
            families.make_config(families.get_family("seq2seq"), "quick", overrides)
    with pytest.raises(LmzooError, match="bottleneck model"):
        untrained(attention=True).interpolate("the cat", "the dog")


def test_embeddings_neighbours_and_interpolation(toy_run):
    _, model = toy_run
    vectors = model.word_vectors()
    assert "cat" in vectors.key_to_index and vectors.vector_size == 16
    latents = model.encode(SENTENCES)
    assert latents.shape == (5, 32) and np.linalg.matrix_rank(latents) == 5
    nearest = model.nearest_sentences(SENTENCES[2], SENTENCES, topn=2)
    assert nearest[0][0] == SENTENCES[2] and nearest[0][1] == pytest.approx(1.0, abs=1e-5)
    path = model.interpolate(SENTENCES[0], SENTENCES[1], steps=4)
    assert len(path) == 4 and path[0] == SENTENCES[0] and path[-1] == SENTENCES[1]
    assert model.generate(SENTENCES[0], interpolate_to=SENTENCES[1], steps=4) == path
    assert model.generate(SENTENCES[0]) == [SENTENCES[0]]


def test_cli_train_evaluate_generate_on_lee(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert cli.main(["train", "seq2seq", "--corpus", "lee", "--out", out, "--preset", "quick"]) == 0
    assert cli.main(["evaluate", out, "--json"]) == 0
    row = json.loads((tmp_path / "run" / "results.json").read_text())
    assert row["family"] == "seq2seq" and row["reconstruction_sentences"] > 0
    # The scores, recomputed here from the reloaded model on the same 200 test sentences.
    model, sentences = families.load(out), load_corpus("lee").sentences("test")[:200]
    refs = [model.tokenizer.encode(s) for s in sentences]
    hyps = [model.tokenizer.encode(o) for o in model.reconstruct(sentences)]
    # `<unk>` written back for `<unk>` has not reconstructed the word: it never counts as correct.
    correct = sum(a == b != UNK for r, h in zip(refs, hyps, strict=True) for a, b in zip(r, h, strict=False))
    assert row["reconstruction_token_accuracy"] == pytest.approx(correct / sum(map(len, refs)), abs=1e-12)
    nll = -sum(float(np.sum(lp)) for lp in model.conditional_log_probs(sentences))
    assert row["conditional_nll_nats"] == pytest.approx(nll, rel=1e-6)
    uniform = row["conditional_tokens"] * np.log(model.tokenizer.vocabulary_size())
    assert row["conditional_nll_nats"] < 0.8 * uniform  # the trained decoder beats guessing among its words
    assert row["tokens_per_second"] > 0
    records = RunDir(out).read_metrics()
    assert records[-1]["loss"] < records[0]["loss"] and "free_running_token_accuracy" in records[-1]
    quick = seq2seq.PRESETS["quick"]  # exactly its 2 epochs: the last chunk of 25 steps is cut short
    passes = math.ceil(json.loads((tmp_path / "run" / "data.json").read_text())["train_sentences"] / quick.batch_size)
    assert records[-1]["step"] == math.ceil(quick.epochs * passes) and records[-1]["step"] % 25 != 0
    capsys.readouterr()
    assert cli.main(["generate", out, "--prompt", "The fire spread.", "--sampler", "beam", "--set", "num_beams=2"]) == 0
    printed = capsys.readouterr().out.splitlines()  # the reconstruction alone: the prompt is not echoed
    assert len(printed) == 1 and printed[0].startswith("[0] ") and not printed[0].startswith("[0] The fire spread. ")
    # The family's own options pass beside the checked sampler options; a misspelt one is one line.
    assert cli.main(["generate", out, "--prompt", "The fire spread.", "--set", "interpolate_to=Talks ended.",
                     "--set", "steps=3"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert cli.main(["generate", out, "--prompt", "The fire spread.", "--set", "num_beam=2"]) == 2
    assert "did you mean 'num_beams'" in capsys.readouterr().err
    assert cli.main(["train", "seq2seq", "--corpus", "lee", "--out", str(tmp_path / "bad"), "--preset", "quick",
                     "--set", "overlong=cut"]) == 2


def test_networks_saved_before_the_shared_encoder_decoder_load_with_the_same_outputs():
    """tests/data holds a bidirectional attention autoencoder and a 2-layer translator saved by the code before
    `lmzoo.models.layers` existed (their classes then held their own encoders and decoders): they load in
    safe mode, by the same registered names, and compute the same logits."""
    from pathlib import Path

    from lmzoo.models.tasks.translate import AttentionTranslator

    data = Path(__file__).parent / "data"
    expected = np.load(data / "expected.npz")
    net = keras.saving.load_model(data / "seq2seq_attention.keras", safe_mode=True)
    assert isinstance(net, seq2seq.Seq2SeqNetwork) and net.bidirectional and net.use_attention
    ids = np.array([[5, 6, 7, 3], [8, 3, 0, 0]], np.int32)
    np.testing.assert_array_equal(ops.convert_to_numpy(net(ids)), expected["seq2seq"])
    translator = keras.saving.load_model(data / "attention_translator.keras", safe_mode=True)
    assert isinstance(translator, AttentionTranslator) and translator.num_layers == 2
    source, target = np.array([[5, 6, 3], [7, 3, 0]], np.int32), np.array([[2, 5, 6], [2, 8, 0]], np.int32)
    np.testing.assert_array_equal(ops.convert_to_numpy(translator([source, target])), expected["translator"])
