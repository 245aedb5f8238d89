"""Pre-trained GPT-2 wrapper, tested offline on a tiny GPT-2 saved as a local keras-hub preset.

The tiny preset goes through `GPT2CausalLM.from_preset(directory)`, the code path a hub
preset name such as "gpt2_base_en" takes after its download.
"""

import json
import time

import numpy as np
import pytest

from lmzoo.datasets import load_corpus
from lmzoo.errors import LmzooError
from lmzoo.harness import score_text
from lmzoo.models import gpt2, sampling
from lmzoo.protocols import Generator, LanguageModel, Tokenizer

CHINESE = "我明天要去看电影。龘是一个很少见的字。"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(in-memory GPT2CausalLM, GPT2Model loaded back from its preset directory, lee text)."""
    text = load_corpus("lee").train[:20000]
    causal_lm = gpt2.build_tiny_gpt2(text + "\n我明天要去看电影。\n", vocabulary_size=400, max_sequence_length=32)
    directory = tmp_path_factory.mktemp("tiny_gpt2")
    causal_lm.save_to_preset(str(directory))
    return causal_lm, gpt2.load_preset(str(directory), stride=8, batch_size=3), text


def test_preset_round_trip_gives_identical_logits(tiny):
    causal_lm, model, text = tiny
    assert isinstance(model, LanguageModel) and isinstance(model, Generator)
    assert isinstance(model.tokenizer, Tokenizer) and model.tokenizer.kind == "gpt2-bpe"
    ids = np.asarray([model.tokenizer.encode(text[:200])[:32]], dtype=np.int32)
    expected = causal_lm({"token_ids": ids, "padding_mask": np.ones_like(ids, dtype=bool)})
    np.testing.assert_array_equal(model.logits(ids), np.asarray(expected))
    # The reloaded tokenizer is the one that was saved.
    assert model.tokenizer.encode(text[:500]) == np.asarray(causal_lm.preprocessor.tokenizer(text[:500])).tolist()
    assert model.num_params() == causal_lm.count_params()


@pytest.mark.parametrize("text", ["The Prime Minister said on Tuesday: \"it's 42%\".\n  Tabs\tand  spaces ", CHINESE])
def test_tokenizer_round_trip_is_exact(tiny, text, tmp_path):
    tokenizer = tiny[1].tokenizer
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    pieces = list(tokenizer.decode_stream(ids))
    assert "".join(pieces) == text and not any("\ufffd" in p for p in pieces)
    tokenizer.save(tmp_path / "tokenizer.json")
    assert gpt2.BPETokenizer.load(tmp_path / "tokenizer.json").encode(text) == ids
    assert tokenizer.token_to_id(tokenizer.id_to_token(ids[0])) == ids[0]


def test_chinese_characters_are_split_into_bytes_and_never_half_decoded(tiny):
    tokenizer = tiny[1].tokenizer
    ids = tokenizer.encode("龘")  # not in the text the merges were learned from: three byte tokens
    assert len(ids) == 3
    assert tokenizer.decode(ids[:2]) == "\ufffd"  # the naive decode of half a character
    assert list(tokenizer.decode_stream(ids[:2])) == []  # streaming waits for the whole character
    with pytest.raises(LmzooError, match="no <unk>"):
        tokenizer.token_to_id("not-a-token")


def test_token_log_probs_match_a_direct_forward_pass(tiny):
    _, model, text = tiny
    ids = model.tokenizer.encode(text[:400])
    assert len(ids) > 2 * model.context  # several rolling windows
    log_probs = model.token_log_probs(ids)
    assert log_probs.shape == (len(ids),) and log_probs.dtype == np.float64
    assert np.all(np.isfinite(log_probs)) and np.all(log_probs < 0)
    full = [model.tokenizer.start_token_id, *ids]

    def direct(position: int, context: int) -> float:  # log p(ids[position]) from `context` tokens
        logits = model.logits(np.asarray([full[position + 1 - context : position + 1]]))[0, -1].astype(np.float64)
        return float(logits[ids[position]] - np.log(np.exp(logits - logits.max()).sum()) - logits.max())

    assert log_probs[0] == pytest.approx(direct(0, 1), abs=1e-4)
    # Later windows (stride 8, context 32): a token in a later window sees the 31 tokens before it
    # when it is the last of its window, and at least 24 when it is the first.
    last = 8 * 10 - 1  # the last target of a window that starts with a full context
    assert log_probs[last] == pytest.approx(direct(last, 32), abs=1e-4)
    assert log_probs[last - 7] == pytest.approx(direct(last - 7, 25), abs=1e-4)
    scores = score_text(model, text[:400])
    assert scores["tokens"] == len(ids) and np.isfinite(scores["bits_per_char"])


@pytest.mark.parametrize("sampler", ["top_k", "top_p", "temperature"])
def test_generate_respects_max_length_and_num_return_sequences(tiny, sampler):
    model = tiny[1]
    news = model.generate_ids("The Prime Minister", max_length=6, num_return_sequences=3, sampler=sampler, seed=1)
    assert len(news) == 3 and all(len(ids) <= 6 for ids in news) and max(len(ids) for ids in news) == 6
    assert len({tuple(ids) for ids in news}) > 1  # independent samples
    again = model.generate_ids("The Prime Minister", max_length=6, num_return_sequences=3, sampler=sampler, seed=1)
    assert again == news  # a seed makes it reproducible
    two = model.generate_ids("The Prime Minister", max_length=6, num_return_sequences=2, sampler=sampler, seed=1)
    texts = model.generate("The Prime Minister", max_length=6, num_return_sequences=2, sampler=sampler, seed=1)
    assert texts == ["".join(model.tokenizer.decode_stream(ids)) for ids in two]


def test_cached_greedy_equals_full_recompute_and_stops_at_end_token(tiny, monkeypatch):
    model = tiny[1]
    prompt = "The Prime Minister said"
    cached = model.generate_ids(prompt, max_length=8, sampler="greedy")[0]
    prompt_ids = [model.tokenizer.start_token_id, *model.tokenizer.encode(prompt)]
    recomputed = sampling.generate(model.next_log_probs, prompt_ids, max_new_tokens=8, eos_id=None)[0]
    assert cached == recomputed
    assert model.generate_ids(prompt, max_length=8, num_return_sequences=2, sampler="greedy") == [cached] * 2
    # Declare a token the model emits as the end token: generation stops just before it.
    k = next(i for i in range(1, len(cached)) if cached[i] not in cached[:i])
    monkeypatch.setattr(model.tokenizer, "end_token_id", cached[k])
    assert model.generate_ids(prompt, max_length=8, sampler="greedy")[0] == cached[:k]


def test_beam_returns_distinct_sequences(tiny):
    model = tiny[1]
    one = model.generate_ids("The", max_length=4, sampler="beam", num_beams=3)
    three = model.generate_ids("The", max_length=4, sampler="beam", num_beams=3, num_return_sequences=3)
    assert len(one) == 1 and len(three) == 3 and len({tuple(b) for b in three}) == 3
    assert all(len(b) == 4 for b in one + three)


def test_long_prompt_is_truncated_from_the_left(tiny):
    _, model, text = tiny
    long_prompt = text[:1000]
    assert len(model.tokenizer.encode(long_prompt)) > model.context
    assert len(model.generate_ids(long_prompt, max_length=5, sampler="greedy")[0]) == 5
    tail = model.tokenizer.encode(long_prompt)[-(model.context - 5) :]
    greedy = sampling.generate(model.next_log_probs, tail, max_new_tokens=5, eos_id=None)[0]
    assert model.generate_ids(long_prompt, max_length=5, sampler="greedy")[0] == greedy


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"num_return_sequences": 0}, "num_return_sequences"),
        ({"sampler": "top_p", "top_p": 1.5}, "top_p"),
        ({"max_length": 32}, "context"),
        ({"sampler": "nucleus"}, "unknown sampler"),
    ],
)
def test_bad_generation_options_give_one_line_errors(tiny, options, match):
    with pytest.raises(LmzooError, match=match) as err:
        tiny[1].generate("The", **{"max_length": 4, **options})
    assert "\n" not in str(err.value)


def test_bad_preset_names_and_directories(tmp_path):
    with pytest.raises(LmzooError, match="did you mean 'gpt2_base_en'") as err:
        gpt2.load_preset("gpt2_bse_en")
    assert "\n" not in str(err.value)
    with pytest.raises(LmzooError, match="does not exist"):
        gpt2.load_preset(str(tmp_path / "missing"))
    with pytest.raises(LmzooError, match="no config.json"):
        gpt2.load_preset(str(tmp_path))
    with pytest.raises(LmzooError, match="did you mean 'stride'"):
        gpt2.load_preset("gpt2_base_en", strde=4)
    with pytest.raises(LmzooError, match="batch_size"):
        gpt2.load_preset("gpt2_base_en", batch_size=0)


def test_hub_preset_without_network_fails_fast_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv(gpt2.PRESETS_ENV, str(tmp_path))
    if gpt2.presets._reachable("www.kaggle.com", timeout=2.0):
        # Online: prove the message path without downloading 500 MB.
        monkeypatch.setattr(gpt2.presets, "_reachable", lambda host, timeout=3.0: False)
    start = time.perf_counter()
    with pytest.raises(LmzooError, match="no network") as err:
        gpt2.load_preset("gpt2_base_en")
    assert time.perf_counter() - start < 10
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "gpt2_base_en") in message and "pass its path" in message


def test_named_preset_is_found_in_the_presets_directory(tiny, monkeypatch, tmp_path):
    causal_lm = tiny[0]
    causal_lm.save_to_preset(str(tmp_path / "gpt2_base_en"))
    monkeypatch.setenv(gpt2.PRESETS_ENV, str(tmp_path))
    model = gpt2.load_preset("gpt2_base_en")  # no network needed: the local copy is used
    assert model.num_params() == causal_lm.count_params()


def test_gpt2_family_through_the_cli(tiny, tmp_path, capsys):
    from lmzoo.cli import main

    _, model, _ = tiny
    preset = model.save_preset(tmp_path / "preset")
    run = tmp_path / "run"
    assert main(["train", "gpt2", "--set", f"source='{preset}'", "--set", "stride=8", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["family"] == "gpt2" and row["tokenizer"] == "gpt2-bpe" and row["unk_rate"] == 0.0
    assert 0 < row["bits_per_char"] < 20
    assert main(["generate", str(run), "--prompt", "The fire", "--max-length", "5", "--num-return-sequences", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


# Fine-tuning: GPT-2 as a Backbone over zoo ids ---------------------------------------------------


def test_backbone_reads_zoo_ids_and_gives_gpt2_states(tiny, tmp_path):
    from lmzoo.datasets.tokenizers import load_tokenizer
    from lmzoo.protocols import Backbone, OwnIdsBackbone

    causal_lm, model, _ = tiny
    assert isinstance(model, Backbone) and isinstance(model, OwnIdsBackbone)
    tokenizer = model.backbone_tokenizer()
    raw = model.tokenizer.encode("the fire was out")
    assert tokenizer.encode("the fire was out") == [i + 4 for i in raw] and tokenizer.decode(tokenizer.encode(CHINESE)) == CHINESE
    tokenizer.save(tmp_path / "tokenizer.json")
    assert load_tokenizer(tmp_path / "tokenizer.json").encode(CHINESE) == tokenizer.encode(CHINESE)
    # <s> (2) is GPT-2's <|endoftext|>; trailing <pad> (0) changes no real position's state.
    zoo = np.array([[2, *tokenizer.encode("the fire was out"), 0, 0]], np.int32)
    gpt2_ids = np.array([[model.tokenizer.start_token_id, *raw]], np.int32)
    expected = causal_lm.backbone({"token_ids": gpt2_ids, "padding_mask": np.ones_like(gpt2_ids, bool)})
    states = np.asarray(model.backbone()(zoo))
    np.testing.assert_allclose(states[:, : gpt2_ids.shape[1]], np.asarray(expected), atol=1e-5)
    assert model.backbone().causal and model.backbone().context == 32


def test_gpt2_fine_tunes_for_classification_through_the_cli(tiny, tmp_path, capsys):
    from lmzoo import load
    from lmzoo.cli import main

    _, model, _ = tiny
    run = tmp_path / "run"
    assert main(["train", "gpt2", "--set", f"source='{model.save_preset(tmp_path / 'preset')}'", "--out", str(run)]) == 0
    labelled = tmp_path / "labels.tsv"  # a signal a linear head on any states can find: the first word
    rows = [("pos", f"good {w} film .") for w in ("fire", "bush", "city", "man")] + \
           [("neg", f"bad {w} film .") for w in ("fire", "bush", "city", "man")]
    labelled.write_text("".join(f"{label}\t{text}\n" for label, text in rows * 6), encoding="utf-8")
    out = tmp_path / "cls"
    argv = ["finetune", str(run), "--task", "classify", "--corpus", str(labelled), "--out", str(out),
            "--preset", "quick", "--set", "epochs=30.0", "--set", "learning_rate=0.003"]
    assert main(argv) == 0 and "fine-tuned gpt2" in capsys.readouterr().out
    tuned = load(out)  # safe-mode reload of the Keras file and the zoo-ids tokenizer
    assert tuned.tokenizer.kind == "gpt2-bpe-zoo-ids"
    assert tuned.classify(["good man film .", "bad city film .", "good bush film .", "bad fire film ."]) == \
        ["pos", "neg", "pos", "neg"]
    # Fine-tuning copied the weights: the pre-trained run is unchanged.
    again = load(run)
    np.testing.assert_array_equal(again.causal_lm.backbone.get_weights()[0], model.causal_lm.backbone.get_weights()[0])


def test_gpt2_has_no_decoder_only_translation(tiny, tmp_path, capsys):
    from lmzoo.cli import main

    _, model, _ = tiny
    run = tmp_path / "run"
    assert main(["train", "gpt2", "--set", f"source='{model.save_preset(tmp_path / 'preset')}'", "--out", str(run)]) == 0
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"Hi {i}.\t你好{i}。\tCC-BY 2.0 (France) #{i}\n" for i in range(20)), encoding="utf-8")
    capsys.readouterr()
    code = main(["finetune", str(run), "--task", "translate", "--corpus", str(pairs), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no causal network" in err, err
