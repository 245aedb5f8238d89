"""The per-character view: where each model pays its bits on one test paragraph."""

import math

import numpy as np
import pytest

from lmzoo import train
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import fit_tokenizer
from lmzoo.errors import LmzooError
from lmzoo.harness import score_text, spelling_model
from lmzoo.surprisal import MAX_CHARS, paragraph_surprisal, pick_paragraph, surprisal, token_spans


@pytest.fixture(scope="module")
def models(lee, tmp_path_factory):
    root = tmp_path_factory.mktemp("surprisal")
    return {"word": train("ngram", lee, root / "word", order=3),
            "char": train("ngram", lee, root / "char", order=4, tokenizer="char")}


@pytest.mark.parametrize("kind", ["word", "char"])
def test_character_bits_sum_to_the_harness_score(models, lee, kind):
    view = paragraph_surprisal(models[kind], lee, seed=0)
    text = view["text"]
    assert len(view["char_bits"]) == len(text) == len(view["char_token"])
    scored = score_text(models[kind], text, spelling_model(lee))
    assert math.isclose(sum(view["char_bits"]), scored["bits_per_char"] * len(text), rel_tol=1e-9)
    assert math.isclose(view["bits_per_char"], scored["bits_per_char"], rel_tol=1e-9)
    for token in view["tokens"]:  # a word's bits (and those of an empty gap before it) spread over its letters
        if text[token["start"]:token["end"]] != "\n":  # a line's </s> shares the newline with the layout
            share = np.asarray(view["char_bits"][token["start"]:token["end"]])
            assert np.allclose(share, (token["bits"] + token["empty_gap_bits"]) / (token["end"] - token["start"]))
    if kind == "word":
        assert any(t["unk"] and t["spelling_bits"] > 0 for t in view["tokens"])  # a spelled <unk> is marked
        spaces = [i for i, ch in enumerate(text) if ch == " "]
        assert all(view["char_token"][i] == -1 for i in spaces)  # no token stands for a space...
        assert all(view["char_bits"][i] > 0 for i in spaces)  # ...but the layout model charges it
    else:
        assert min(view["char_token"]) == 0  # a character model pays for every character


def test_top_tokens_are_the_models_own_next_token_distribution(models, lee):
    view = paragraph_surprisal(models["char"], lee, seed=3, top_k=5)
    assert view["top_k"] == 5
    hits = 0
    for token in view["tokens"]:
        bits = [b for _, b in token["top"]]
        assert len(bits) == 5 and bits == sorted(bits) and all(math.isfinite(b) for b in bits)
        piece = view["text"][token["start"]:token["end"]]
        for name, b in token["top"]:
            if name == piece:  # the token that came is among the predictions: the same number
                hits += 1
                assert math.isclose(b, token["bits"], rel_tol=1e-9)
    assert hits > len(view["tokens"]) / 4
    assert view["top_matches_scoring"] and all(math.isclose(t["bits_in_top"], t["bits"]) for t in view["tokens"])


def test_paragraph_is_chosen_by_seed_and_cut_at_the_stated_length():
    text = "\n".join([("word " * 2000).strip(), "short", "another line that is long enough to be chosen here"])
    first, again = pick_paragraph(text, seed=5), pick_paragraph(text, seed=5)
    assert first == again
    long = pick_paragraph("x\n" + ("word " * 2000).strip(), seed=0)
    assert long["cut"] and len(long["text"]) <= MAX_CHARS + 1 and long["text"].endswith("word\n")
    chinese = pick_paragraph("我" * 1000 + "\n", seed=0, max_chars=50)
    assert chinese["text"] == "我" * 50 + "\n" and chinese["cut"]
    with pytest.raises(LmzooError, match="no line"):
        pick_paragraph("\n \n", seed=0)


def test_chinese_and_unknown_characters_are_placed_on_their_characters():
    text = "我明天要去看电影。\n"
    for kind in ("char", "word"):
        tokenizer = fit_tokenizer(kind, "我明天要去看。\n")
        ids = tokenizer.encode(text)
        spans = token_spans(tokenizer, text, ids)
        assert [text[a:b] for a, b in spans] == (list(text) if kind == "char" else [*text[:-1], "\n"])


def test_tokens_that_are_not_pieces_of_the_text_are_one_error():
    tokenizer = fit_tokenizer("word", "the cat sat\n")
    with pytest.raises(LmzooError, match="not at character"):
        token_spans(tokenizer, "the cat sat\n", [tokenizer.token_to_id("sat"), tokenizer.token_to_id("the")])


def test_a_paragraph_with_markup_is_scored_as_text(tmp_path):
    lines = ["<script>alert(1)</script> & some words here, said the minister on Monday."] * 30
    corpus = Corpus("markup", "\n".join(lines[:20]) + "\n", "\n".join(lines[20:25]) + "\n", "\n".join(lines[25:]) + "\n")
    model = train("unigram", corpus, tmp_path / "u")
    view = surprisal(model, lines[0] + "\n", spelling_model(corpus))
    assert "".join(view["text"]) == lines[0] + "\n" and min(view["char_token"][:8]) >= 0


def test_character_bits_average_to_the_open_figure(lee, tmp_path):
    import lmzoo
    from lmzoo.harness import score_text, spelling_model
    from lmzoo.surprisal import character_bits

    text = "".join(lee.test.splitlines(keepends=True)[:4]).rstrip("\n")  # the last line without its newline
    for name, settings in (("words", {"order": 2}), ("chars", {"order": 3, "tokenizer": "char"})):
        model = lmzoo.train("ngram", lee, tmp_path / name, **settings)
        bits = character_bits(model, text, spelling_model(lee))
        assert len(bits) == len(text) and bits.min() >= 0
        assert bits.mean() == pytest.approx(score_text(model, text, spelling_model(lee))["bits_per_char"], rel=1e-9)
    spaces = np.array([ch == " " for ch in text])
    assert bits[spaces].sum() > 0  # a character model pays for its spaces where it predicts them
