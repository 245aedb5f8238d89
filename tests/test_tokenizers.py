"""Tokenizers: round trips (Chinese included), <unk>, min-count, </s> per line, JSON save/load."""

import pytest

from lmzoo.datasets.tokenizers import (
    EOS,
    UNK,
    CharTokenizer,
    WordTokenizer,
    fit_tokenizer,
    load_tokenizer,
)
from lmzoo.errors import LmzooError

CHINESE = "我明天要去看电影。\n床前明月光，疑是地上霜。\n"


def test_char_round_trip_english_and_chinese(lee):
    for text in (lee.train[:5000], CHINESE):
        tok = CharTokenizer.fit(text)
        assert tok.decode(tok.encode(text)) == text
    tok = CharTokenizer.fit(CHINESE)
    assert len(tok.encode("我明天")) == 3
    assert tok.encode("X")[0] == UNK


def test_word_tokenizer_unk_min_count_and_eos():
    tok = WordTokenizer.fit("the cat sat\nthe dog sat\n", min_count=2)
    assert [tok.id_to_token(i) for i in tok.encode("the cat sat\n")] == ["the", "<unk>", "sat", "</s>"]
    assert tok.encode("a\nb\n").count(EOS) == 2
    assert tok.decode(tok.encode("the sat\nsat the\n")) == "the sat\nsat the\n"


def test_word_tokenizer_reads_ptb_as_mikolov():
    text = " no it was n't black monday \n the <unk> N years \n"
    tok = WordTokenizer.fit(text, split="whitespace")
    ids = tok.encode(text)
    assert len(ids) == 12 and ids.count(EOS) == 2  # 10 words + one </s> per line
    assert tok.token_to_id("<unk>") == UNK and "n't" in tok.index


def test_word_tokenizer_regex_splits_punctuation_and_han():
    tok = WordTokenizer.fit("Hello, world! It's 3.5 km.\n我明天要去\n")
    assert tok.words("Hello, world! It's 3.5 km.") == ["Hello", ",", "world", "!", "It's", "3.5", "km", "."]
    assert tok.words("我明天要去") == ["我", "明", "天", "要", "去"]


def test_empty_vocabulary_says_how_many_words_were_dropped():
    with pytest.raises(LmzooError, match="all 3 distinct words occur fewer than 5 times"):
        WordTokenizer.fit("a b c\n", min_count=5)


def test_subword_round_trip_and_unk(lee):
    tok = fit_tokenizer("subword", lee.train, vocabulary_size=800)
    assert 400 < tok.vocabulary_size() <= 800
    text = "The fire spread quickly towards the town.\n"
    ids = tok.encode(text)
    assert len(ids) < len(text) / 2 and ids[-1] == EOS
    assert tok.decode(ids).split() == "The fire spread quickly towards the town .".split()


@pytest.mark.parametrize("kind, text", [("char", CHINESE), ("word", "a b a\nb c\n"), ("subword", "one two three\n" * 30)])
def test_save_and_load_as_json(tmp_path, kind, text):
    tok = fit_tokenizer(kind, text, **({"vocabulary_size": 60} if kind == "subword" else {}))
    tok.save(tmp_path / "tok.json")
    assert (tmp_path / "tok.json").read_text(encoding="utf-8").startswith("{")
    again = load_tokenizer(tmp_path / "tok.json")
    assert again.encode(text) == tok.encode(text) and again.vocabulary == tok.vocabulary


def test_unknown_kind_and_bad_file(tmp_path):
    with pytest.raises(LmzooError, match="did you mean 'char'"):
        fit_tokenizer("chr", "abc")
    (tmp_path / "t.json").write_text("[1, 2")
    with pytest.raises(LmzooError, match="not a saved tokenizer"):
        load_tokenizer(tmp_path / "t.json")


def test_han_never_glues_to_latin_and_marks_stay_in_words():
    tok = WordTokenizer.fit("x\n")
    assert tok.words("iPhone手机很好") == ["iPhone", "手", "机", "很", "好"]
    assert tok.words("中文abc中文") == ["中", "文", "abc", "中", "文"]
    assert tok.words("㐀x") == ["㐀", "x"]  # CJK Extension A is Han too
    assert tok.words("हिन्दी naïve") == ["हिन्दी", "naïve"]  # vowel signs and virama are marks, not breaks


def test_text_is_nfc_normalised_by_every_tokenizer(tmp_path):
    composed, decomposed = "café\n", "cafe\u0301\n"
    for kind in ("char", "word"):
        tok = fit_tokenizer(kind, composed)
        assert tok.encode(decomposed) == tok.encode(composed) and UNK not in tok.encode(decomposed)
    (tmp_path / "notes.txt").write_text("cafe\u0301 one\ntwo\nthree\nfour\n", encoding="utf-8")
    from lmzoo.datasets import load_corpus

    assert "café" in load_corpus(tmp_path / "notes.txt").train


def test_jieba_segmenter_cuts_han_runs_and_round_trips_through_json(tmp_path):
    pytest.importorskip("jieba")  # the `zh` extra (installed by the `test` extra)
    tok = fit_tokenizer("word", CHINESE, segmenter="jieba")
    assert tok.words("我明天要去看电影。") == ["我", "明天", "要", "去", "看", "电影", "。"]
    assert tok.words("用iPhone看电影") == ["用", "iPhone", "看", "电影"]
    tok.save(tmp_path / "tok.json")
    assert load_tokenizer(tmp_path / "tok.json").encode(CHINESE) == tok.encode(CHINESE)
    with pytest.raises(LmzooError, match="unknown segmenter 'jeiba'"):
        fit_tokenizer("word", CHINESE, segmenter="jeiba")


def test_missing_jieba_is_one_line_naming_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_jieba(name, *args, **kwargs):
        if name == "jieba":
            raise ImportError("No module named 'jieba'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jieba)
    with pytest.raises(LmzooError, match=r"jieba") as info:
        fit_tokenizer("word", CHINESE, segmenter="jieba")
    assert "keras-lmzoo[zh]" in str(info.value) and "\n" not in str(info.value)


def test_segmenter_through_train_reaches_the_word_tokenizer_only(tmp_path):
    pytest.importorskip("jieba")
    from lmzoo import train
    from lmzoo.datasets.corpus import Corpus

    corpus = Corpus("zh", CHINESE * 3, CHINESE, CHINESE, language="zh")
    model = train("unigram", corpus, tmp_path / "u", segmenter="jieba")
    assert "电影" in model.tokenizer.index
    with pytest.raises(LmzooError, match="word tokenizer only"):
        train("unigram", corpus, tmp_path / "c", tokenizer="char", segmenter="jieba")


@pytest.mark.parametrize("kind", ["word", "subword"])
def test_layout_gaps_and_words_rebuild_the_text(lee, kind):
    """Every character a word or subword tokenizer drops is in a gap: the words (as the tokenizer
    pre-splits them) and the gaps between them give back the text, so layout can be charged whole."""
    from lmzoo.datasets.tokenizers import _WORDPIECE_SPLIT_RE

    tokenizer = fit_tokenizer(kind, lee.train[:20000])
    text = "A  b\t_c__d 我明天😀,  e.\n\n\n  f\u2028g\r\nend\n \t"
    gaps = list(tokenizer.layout_gaps(text))
    lines = text.splitlines()
    words = [w for line in lines for w in (tokenizer.words(line) if kind == "word" else _WORDPIECE_SPLIT_RE.findall(line))]
    assert len(gaps) == len(words) + 1
    assert "".join(gap + word for (_, gap), word in zip(gaps, [*words, ""], strict=True)) == text
    assert {context[0] for context, _ in gaps} == {"line", "word"}
    assert list(tokenizer.layout_gaps("")) == [(("line", "^", "$"), "")]
    assert not list(CharTokenizer.fit(text).layout_gaps(text))


def test_unknown_pieces_follow_encode_for_literal_specials_and_decomposed_text():
    """Issue 22 defect 8: a literal `<s>` was an `<unk>` in `encode` but no unknown piece (the harness
    then raised), and `CharTokenizer.unknown_pieces` skipped the NFC that `encode` applies."""
    import unicodedata

    from lmzoo.datasets.tokenizers import UNK, CharTokenizer, WordTokenizer

    words = WordTokenizer.fit("the cat\n", split="whitespace")
    text = "the <s> cat </s> <pad> dog\n"
    assert words.unknown_pieces(text) == ["<s>", "</s>", "<pad>", "dog"]
    assert words.encode(text).count(UNK) == 4
    chars = CharTokenizer.fit("café")
    decomposed = unicodedata.normalize("NFD", "café ü")
    assert chars.unknown_pieces(decomposed) == [" ", "ü"] and chars.encode(decomposed).count(UNK) == 2
