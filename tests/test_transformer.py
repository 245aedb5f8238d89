"""Transformer LM: attention equality, causality, training, cached generation, bad input."""

import importlib.util
import json
import shutil

import keras
import numpy as np
import pytest

import lmzoo
from lmzoo.cli import main
from lmzoo.config import replace
from lmzoo.datasets.tokenizers import BOS, EOS, CharTokenizer, WordTokenizer
from lmzoo.errors import LmzooError
from lmzoo.models import callbacks, sampling
from lmzoo.models.transformer import TransformerConfig, TransformerLM, build_network
from lmzoo.models.transformer_layers import (
    MultiHeadAttention,
    TransformerBlock,
    causal_bias,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)
from lmzoo.runs import RunDir

TINY = {"num_layers": 2, "num_heads": 2, "hidden_dim": 16, "context": 24, "jit_compile": False}
BUILDS = ["scratch", "keras_nlp"]


@pytest.fixture(scope="module")
def lee():
    return lmzoo.load_corpus("lee")


@pytest.fixture(scope="module", params=BUILDS)
def trained(request, lee, tmp_path_factory):
    """A quick model of each build trained on lee, with its run directory."""
    out = tmp_path_factory.mktemp(f"run_{request.param}")
    model = lmzoo.train("transformer", lee, out, preset="quick", build=request.param, steps=60, eval_every=30,
                        num_layers=1, eval_batches=2)
    return model, out


def random_model(build: str, seed: int = 0, **overrides) -> TransformerLM:
    """An untrained model with large random weights, so greedy decoding is far from constant."""
    tokenizer = CharTokenizer.fit("abcdefghij .")
    config = replace(TransformerConfig(), {**TINY, "build": build, **overrides})
    network = build_network(config, tokenizer.vocabulary_size())
    rng = np.random.default_rng(seed)
    for variable in network.weights:
        if len(variable.shape) >= 2:  # matrices only: LayerNorm scales stay 1 and biases 0
            variable.assign(rng.normal(0.0, 0.5, variable.shape).astype("float32"))
    return TransformerLM(config, tokenizer, network)


# attention ------------------------------------------------------------------------------------


def test_multi_head_attention_equals_keras_for_same_weights_and_mask():
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 5, 16)).astype("float32")
    value = rng.normal(size=(2, 7, 16)).astype("float32")
    reference = keras.layers.MultiHeadAttention(num_heads=4, key_dim=4)
    reference(query, value)
    ours = MultiHeadAttention(num_heads=4, key_dim=4)
    ours(query, value)
    # keras keeps heads as an axis of its kernels; ours are plain matrices (heads as reshapes).
    ours.set_weights([w.reshape(o.shape) for w, o in zip(reference.get_weights(), ours.get_weights(), strict=True)])
    mask = rng.random((2, 5, 7)) > 0.3
    for kwargs in ({}, {"attention_mask": mask}):
        np.testing.assert_allclose(ours(query, value, **kwargs), reference(query, value, **kwargs), atol=1e-5)
    np.testing.assert_allclose(ours(query, query, use_causal_mask=True, attention_mask=mask[:, :, :5]),
                               reference(query, query, use_causal_mask=True, attention_mask=mask[:, :, :5]), atol=1e-5)
    _, ours_scores = ours(query, value, attention_mask=mask, return_attention_scores=True)
    _, ref_scores = reference(query, value, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(ours_scores, ref_scores, atol=1e-6)


def test_causal_bias_and_attention_rows():
    bias = keras.ops.convert_to_numpy(causal_bias(4))
    assert (bias[np.tril_indices(4)] == 0).all() and (bias[np.triu_indices(4, 1)] <= -1e9).all()
    x = np.random.default_rng(1).normal(size=(1, 2, 4, 8)).astype("float32")
    out, weights = scaled_dot_product_attention(x, x, x, bias=bias)
    weights = keras.ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert (weights[..., np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] == 0).all()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out)[:, :, 0], x[:, :, 0], atol=1e-6)  # sees itself only


def test_sinusoidal_encoding_has_sin_on_even_and_cos_on_odd_dims():
    table = sinusoidal_positional_encoding(10, 8)
    np.testing.assert_allclose(table[:, 0], np.sin(np.arange(10)), atol=1e-6)
    np.testing.assert_allclose(table[:, 1], np.cos(np.arange(10)), atol=1e-6)
    np.testing.assert_allclose(table[:, 0] ** 2 + table[:, 1] ** 2, 1.0, atol=1e-6)


@pytest.mark.parametrize("build,positions", [("scratch", "learned"), ("scratch", "sinusoidal"), ("keras_nlp", "learned")])
def test_changing_future_tokens_never_changes_earlier_logits(build, positions):
    model = random_model(build, position_encoding=positions)
    rng = np.random.default_rng(2)
    ids = rng.integers(4, 16, size=(2, 24)).astype("int32")
    changed = ids.copy()
    changed[:, 10:] = rng.integers(4, 16, size=(2, 14))
    before, after = (keras.ops.convert_to_numpy(model.network(x)) for x in (ids, changed))
    np.testing.assert_allclose(before[:, :10], after[:, :10], atol=1e-5)
    assert np.abs(before[:, 10:] - after[:, 10:]).max() > 1e-3  # the future does matter later on


# training, saving, scoring --------------------------------------------------------------------


def test_both_builds_train_and_loss_falls(trained):
    model, out = trained
    records = [r for r in RunDir(out).read_metrics() if "val_loss" in r]
    assert records[-1]["step"] == model.config.steps
    assert records[-1]["loss"] < records[0]["loss"] and records[-1]["val_loss"] < records[0]["val_loss"]
    assert records[-1]["val_loss"] < np.log(model.tokenizer.vocabulary_size()) - 0.8  # far below uniform


@pytest.mark.parametrize("stride", [None, 5])
def test_rolling_scores_equal_a_full_forward_over_each_tokens_window(trained, lee, stride):
    """Every token, in the first window, a middle one and the last partial one, is scored with the
    window the stride puts it in: the `context` ids (from <s>) ending at the window's last target."""
    model, _ = trained
    model = TransformerLM(replace(model.config, {"score_stride": stride}), model.tokenizer, model.network)
    context, step = model.config.context, stride or model.config.context // 2
    ids = model.tokenizer.encode(lee.test[:203])
    assert (len(ids) - context) % step  # the last window is a partial one
    log_probs = model.token_log_probs(ids)
    assert log_probs.shape == (203,) and log_probs.dtype == np.float64
    sequence = [BOS, *ids]
    for i in (0, 5, context - 1, context, context + step - 1, context + step, 100, len(ids) - 2, len(ids) - 1):
        end = context if i < context else min(len(ids), context + step * ((i - context) // step + 1))
        start = max(0, end - context)  # this token's window holds sequence[start:end]
        reference = model.next_log_probs(sequence[start : i + 1])[ids[i]]
        assert log_probs[i] == pytest.approx(reference, abs=1e-5), i
    assert -log_probs.mean() < np.log(model.tokenizer.vocabulary_size()) - 0.5  # it learnt something


def test_save_and_load_give_identical_logits(trained):
    model, out = trained
    loaded = lmzoo.load(out)
    ids = np.array([model.tokenizer.encode("The Prime Minister said")], dtype="int32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.network(ids)),
                                  keras.ops.convert_to_numpy(model.network(ids)))
    assert loaded.config == model.config and type(loaded.network) is type(model.network)


def test_resume_after_interruption_restores_the_optimizer_step(lee, tmp_path, monkeypatch):
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    original = callbacks.training_callbacks
    monkeypatch.setattr(callbacks, "training_callbacks", lambda *a, **k: [*original(*a, **k), Interrupt()])
    settings = {"steps": 10, "eval_every": 4, "eval_batches": 1, "num_layers": 1, "hidden_dim": 16}
    with pytest.raises(KeyboardInterrupt):
        lmzoo.train("transformer", lee, tmp_path, preset="quick", **settings)
    assert [r["step"] for r in RunDir(tmp_path).read_metrics() if "epoch" in r] == [4]
    monkeypatch.setattr(callbacks, "training_callbacks", original)
    model = lmzoo.train("transformer", lee, tmp_path, preset="quick", **settings)
    # Not 4 again, and exactly `steps`: the last chunk is cut short (not rounded up to 12).
    assert [r["step"] for r in RunDir(tmp_path).read_metrics() if "epoch" in r] == [4, 8, 10]
    assert int(model.network.optimizer.iterations) == 10
    # The resumed run continued the data stream: its weights are those of an uninterrupted run.
    straight = lmzoo.train("transformer", lee, tmp_path / "straight", preset="quick", **settings)
    for ours, reference in zip(model.network.weights, straight.network.weights, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(reference), atol=1e-5)


# generation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("build", BUILDS)
def test_greedy_with_cache_equals_greedy_without_it(build):
    model = random_model(build, seed=1)
    prompt = model.tokenizer.encode("abc de")
    cached = model.generate_ids(prompt, max_length=18)[0]
    uncached = sampling.generate(model.next_log_probs, prompt, max_new_tokens=18, eos_id=EOS)[0]
    assert cached == uncached
    assert len(set(cached)) >= 3  # not a constant output, so the comparison means something
    assert model.generate_ids(prompt, max_length=18, use_cache=False)[0] == cached


@pytest.mark.parametrize("build", BUILDS)
def test_generation_stops_at_the_end_token(build):
    model = random_model(build, seed=1)
    prompt = model.tokenizer.encode("abc de")
    free = sampling.generate(model.next_log_probs, prompt, max_new_tokens=15, eos_id=None)[0]
    # Swap the embedding rows of EOS and a token first generated at step >= 2 (EOS not before it):
    # the tied output layer then says EOS exactly there, and nothing earlier changes.
    step = next(i for i in range(2, 15) if free[i] not in (*prompt, *free[:i]) and EOS not in free[: i + 1])
    table = model.network.token_embedding_matrix()
    table[[free[step], EOS]] = table[[EOS, free[step]]]
    variable = next(v for v in model.network.weights if tuple(v.shape) == table.shape and "embed" in v.path)
    variable.assign(table)
    assert model.generate_ids(prompt, max_length=15)[0] == [*free[:step], EOS]


def test_generation_respects_max_length_and_num_return_sequences(trained):
    model, _ = trained
    samplers = (("temperature", {"temperature": 0.8}), ("beam", {"num_beams": 3}))  # top-k/p: tests below
    for sampler, options in samplers if model.config.build == "scratch" else samplers[1:]:  # compile time
        news = model.generate_ids(model.tokenizer.encode("The "), max_length=12, num_return_sequences=3 if sampler != "beam" else 2,
                                  sampler=sampler, seed=0, **options)
        assert len(news) == (3 if sampler != "beam" else 2)
        assert all(len(n) == 12 or (n and n[-1] == EOS and len(n) <= 12) for n in news), (sampler, news)
    same = {"num_return_sequences": 3, "sampler": "temperature", "temperature": 0.8}  # reuses the compiled loop
    texts = model.generate("The ", max_length=70, seed=1, **same)  # longer than the context: the window slides
    assert len(texts) == 3 and all(len(t) == 70 for t in texts)
    assert model.generate("The ", max_length=9, seed=4, **same) == model.generate("The ", max_length=9, seed=4, **same)


def test_a_word_prompt_is_continued_not_closed_with_the_end_token(monkeypatch):
    tokenizer = WordTokenizer.fit("the cat sat on the mat\n")
    config = replace(TransformerConfig(), {**TINY, "tokenizer": "word"})
    model = TransformerLM(config, tokenizer, build_network(config, tokenizer.vocabulary_size()))
    seen = []
    monkeypatch.setattr(model, "generate_ids", lambda ids, **kwargs: seen.append(list(ids)) or [[]])
    model.generate("the cat", max_length=3)
    model.generate("the cat\n", max_length=3)  # a prompt that ends its line keeps </s>
    assert tokenizer.encode("the cat")[-1] == EOS
    assert seen == [tokenizer.encode("the cat")[:-1], tokenizer.encode("the cat")]


@pytest.mark.parametrize("sampler,option", [("top_k", {"top_k": 3}), ("top_p", {"top_p": 0.5})])
def test_samples_stay_inside_the_top_k_or_nucleus(sampler, option):
    model = random_model("scratch", seed=5)
    prompt = model.tokenizer.encode("abc")
    news = model.generate_ids(prompt, max_length=10, num_return_sequences=4, sampler=sampler, seed=0, **option)
    for new in news:
        for i, token in enumerate(new):
            log_probs = model.next_log_probs([*prompt, *new[:i]])
            if sampler == "top_k":
                assert token in np.argsort(-log_probs)[:3]
            else:  # the tokens strictly more likely than the sample hold less than p of the mass
                assert np.exp(log_probs[log_probs > log_probs[token]]).sum() < 0.5 + 1e-5
    assert len({t for new in news for t in new}) > 1


# bad input ------------------------------------------------------------------------------------


def test_a_prompt_longer_than_the_context_is_truncated_from_the_left():
    model = random_model("scratch")
    prompt = model.tokenizer.encode("abcdefghij" * 6)  # 60 tokens, context 24
    with pytest.warns(UserWarning, match="truncated from the left"):
        long = model.generate_ids(prompt, max_length=5)
    assert long == model.generate_ids(prompt[-(24 - 5) :], max_length=5)


@pytest.mark.parametrize("options,message", [
    ({"num_return_sequences": 0}, "num_return_sequences=0"),
    ({"sampler": "top_p", "top_p": 1.5}, r"top_p=1.5 must be in \(0, 1\]"),
    ({"sampler": "top_p", "top_p": 0.0}, "top_p=0.0"),
    ({"sampler": "nucleus"}, "unknown sampler"),
    ({"top_q": 3}, "unknown sampler option"),
])
def test_bad_sampling_options_raise_one_line_errors(options, message):
    model = random_model("scratch")
    with pytest.raises(LmzooError, match=message):
        model.generate("abc", max_length=3, **options)


def test_a_head_count_that_does_not_divide_the_width_is_refused():
    with pytest.raises(LmzooError, match="num_heads=3 does not divide hidden_dim=16"):
        replace(TransformerConfig(), {**TINY, "num_heads": 3})
    with pytest.raises(LmzooError, match="num_heads=3 does not divide the width 16"):
        TransformerBlock(num_heads=3, intermediate_dim=8)(np.zeros((1, 2, 16), "float32"))


def test_corrupt_or_mismatched_model_file_gives_a_clear_error(trained, tmp_path):
    model, out = trained
    run = tmp_path / "copy"
    shutil.copytree(out, run)
    (run / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(LmzooError, match="not a readable Keras model"):
        lmzoo.load(run)
    shutil.copy(out / "model.keras", run / "model.keras")
    config = json.loads((run / "config.json").read_text())
    config["config"]["hidden_dim"] = 64
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(LmzooError, match="does not match the run's config"):
        lmzoo.load(run)


def test_corrupt_or_mismatched_checkpoint_gives_a_clear_error(lee, tmp_path):
    from lmzoo.config import to_dict
    from lmzoo.families import get_family, make_config
    from lmzoo.runs import RunDir, fingerprint

    # An interrupted run of exactly these settings, so that `train` resumes it from its checkpoint.
    settings = to_dict(make_config(get_family("transformer"), "quick", {"steps": 2}))
    RunDir(tmp_path).begin("transformer", settings, fingerprint("transformer", settings, lee), **lee.provenance())
    backup = tmp_path / "checkpoints" / "backup"
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(b"garbage")
    with pytest.raises(LmzooError, match="corrupt or from a different config"):
        lmzoo.train("transformer", lee, tmp_path, preset="quick", steps=2)
    other = random_model("scratch").network  # a different width and vocabulary
    other.save_weights(backup / "latest.weights.h5")
    with pytest.raises(LmzooError, match="corrupt or from a different config"):
        lmzoo.train("transformer", lee, tmp_path, preset="quick", steps=2)


# command line ---------------------------------------------------------------------------------


def test_cli_train_evaluate_generate(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "transformer", "--corpus", "lee", "--out", out, "--preset", "quick",
                 "--set", "steps=10", "--set", "num_layers=1", "--set", "eval_batches=1"]) == 0
    assert main(["evaluate", out, "--json"]) == 0
    row = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert row["family"] == "transformer" and 1.0 < row["bits_per_char"] < 8.0 and row["tokenizer"] == "char"
    assert main(["generate", out, "--prompt", "The", "--max-length", "10", "--num-return-sequences", "2",
                 "--sampler", "top_k", "--set", "top_k=5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("[0] The")
    assert main(["generate", out, "--sampler", "top_p", "--set", "top_p=1.5"]) == 2
    assert "top_p=1.5 must be in (0, 1]" in capsys.readouterr().err
    assert main(["train", "transformer", "--out", out, "--set", "num_heads=3"]) == 2
    assert "does not divide" in capsys.readouterr().err
    if importlib.util.find_spec("tensorboard") is None:  # TensorBoard logs need the optional package
        assert main(["train", "transformer", "--out", str(tmp_path / "tb"), "--preset", "quick", "--set", "tensorboard=True"]) == 2
        assert "pip install tensorboard" in capsys.readouterr().err
