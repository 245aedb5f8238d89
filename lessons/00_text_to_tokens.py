# %% [markdown]
# # Lesson 00: from text to tokens
#
# **The question:** A model reads numbers, not text. How do we cut a text into pieces and number them,
# in English and in Chinese, and what does each choice cost?
#
# **What you will learn:** the four steps every language model starts with (segment the text, encode
# the pieces as ids and then vectors, arrange them as training sequences, predict); character, word and
# subword tokenizers and what each costs in vocabulary size and unknown words; why Chinese is easy at the
# character level and hard at the word level; how the same ids become language-model windows and padded
# sentence batches.
#
# **Prerequisites:** Python and NumPy. This is the first lesson.
#
# **Run time:** under a minute in quick mode (`LMZOO_QUICK=1`), a minute or two in full.
#
# **Expected results** (each figure is measured as the lesson runs; the name in brackets is the line the
# run prints beside it): on the Lee corpus the character vocabulary has 60-100 [char_vocabulary] symbols
# and under 0.1% [char_unk_percent] unknown characters on the test split; the word vocabulary has
# 6,000-8,000 [word_vocabulary] words (min-count 1) and 8-11% [word_unk_percent] of test tokens are
# `<unk>`; a WordPiece vocabulary (2,000 pieces asked for, fewer learned) has almost no unknowns at 1.6-2.0
# [subword_pieces_per_word] pieces per word (quick mode's 600 need 1.8-2.6 [quick:subword_pieces_per_word]). On Tang poems
# jieba's words leave far more of the test poems unknown than characters do (checked as it runs); a Chinese character costs 3 UTF-8 bytes (2.9-3.0
# [zh_bytes_per_char] per character of text, newlines included), which is what GPT-2's byte-level BPE
# starts from, against 1.0-1.01 [en_bytes_per_char] for English; a byte-level BPE learned on English spends
# 0.3-0.45 [bpe_tokens_per_en_char] tokens per English character but 2.8-3.0 [bpe_tokens_per_zh_char] per
# Chinese one.
#
# **Library modules used:** `lmzoo.datasets` (catalog, `load_corpus`, `fit_tokenizer`),
# `lmzoo.datasets.batching`, `lmzoo.models.gpt2` (byte-level BPE), `lmzoo.lesson`.

# %%
import keras_nlp
import matplotlib.pyplot as plt
import numpy as np

from lmzoo import lesson
from lmzoo.datasets import CATALOG, fit_tokenizer, load_corpus
from lmzoo.datasets.batching import lm_windows, padded_sentences
from lmzoo.datasets.tokenizers import UNK
from lmzoo.errors import LmzooError
from lmzoo.lesson import claim, output_dir, quick, show
from lmzoo.models.gpt2 import train_byte_level_bpe

OUT = output_dir("00_text_to_tokens")

# %% [markdown]
# ## The data
# Every lesson reads text through one catalog. `lee` is embedded: gensim's wheel ships 300 Australian
# news articles, so nothing is downloaded. The other corpora are fetched (and checked by sha256) on
# first use, or read from a data directory (`--data-dir` or `LMZOO_DATA`).

# %%
for entry in CATALOG.values():
    print(f"{entry.name:<16} {entry.split_rule}")
corpus = load_corpus("lee")
print({split: len(corpus.split(split)) for split in ("train", "valid", "test")}, "characters")
print(corpus.train[:300])

# %% [markdown]
# ## Step 1: segment. Step 2: encode as ids
# A tokenizer cuts text into pieces and numbers them. Ids 0-3 are the same in every tokenizer of this
# library: `<pad>` (filler in batches), `<unk>` (anything not in the vocabulary), `<s>` and `</s>`
# (sentence start and end). The word tokenizer appends `</s>` to every line, because predicting where a
# sentence ends is part of the language-modelling task (PTB perplexities count it).

# %%
sentence = "The bushfire near Hill Top was contained today.\n"
tokenizers = {
    "char": fit_tokenizer("char", corpus.train),
    "word": fit_tokenizer("word", corpus.train),
    "subword": fit_tokenizer("subword", corpus.train, vocabulary_size=600 if quick() else 2000),
}
for name, tok in tokenizers.items():
    ids = tok.encode(sentence)
    print(f"{name:>8}: {len(ids):3d} ids  {[tok.id_to_token(i) for i in ids][:14]}")
    print(f"{'':>8}  decoded: {tok.decode(ids)!r}")
assert tokenizers["char"].decode(tokenizers["char"].encode(sentence)) == sentence  # characters lose nothing

# %% [markdown]
# The subword pieces starting with `##` continue a word (WordPiece, trained here on the corpus with
# keras-nlp's own tool). GPT-2 uses byte-level BPE, the same idea with bytes as the base alphabet.
#
# ## The cost of each choice
# A bigger vocabulary gives shorter sequences but more unknown words and sparser counts. We measure, on
# the **test** split, the vocabulary size, the share of `<unk>` tokens, and tokens per character.

# %%
rows = []
for name, tok in tokenizers.items():
    ids = np.asarray(tok.encode(corpus.test))
    rows.append((name, tok.vocabulary_size(), float(np.mean(ids == UNK)), len(ids) / len(corpus.test)))
for min_count in (2, 5):
    tok = fit_tokenizer("word", corpus.train, min_count=min_count)
    ids = np.asarray(tok.encode(corpus.test))
    rows.append((f"word≥{min_count}", tok.vocabulary_size(), float(np.mean(ids == UNK)), len(ids) / len(corpus.test)))
print(f"{'tokenizer':<10} {'vocab':>7} {'unk rate':>9} {'tokens/char':>12}")
for name, size, unk, per_char in rows:
    print(f"{name:<10} {size:>7} {unk:>9.3f} {per_char:>12.3f}")
measured = {name: (size, unk) for name, size, unk, _ in rows}
claim("char_vocabulary", measured["char"][0], full=(60, 100), quick=(60, 100), text="character vocabulary on Lee")
claim("char_unk_percent", 100 * measured["char"][1], full=(0, 0.1), quick=(0, 0.1), text="unknown characters, test")
claim("word_vocabulary", measured["word"][0], full=(6000, 8000), quick=(6000, 8000), text="word vocabulary, min-count 1")
claim("word_unk_percent", 100 * measured["word"][1], full=(8, 11), quick=(8, 11), text="<unk> share of test words")
test_words = len(tokenizers["word"].encode(corpus.test))
claim("subword_pieces_per_word", len(tokenizers["subword"].encode(corpus.test)) / test_words, full=(1.6, 2.0),
      quick=(1.8, 2.6), text=f"WordPiece pieces per word token, {tokenizers['subword'].vocabulary_size()} pieces")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
names = [r[0] for r in rows]
left.bar(names, [r[1] for r in rows], color="tab:blue")
left.set_yscale("log")
left.set_title("vocabulary size (log scale)")
right.bar(names, [100 * r[2] for r in rows], color="tab:red")
right.set_title("unknown tokens on the test split (%)")
for ax in (left, right):
    ax.tick_params(axis="x", rotation=30)
fig.tight_layout()
lesson.save_and_show(fig, OUT / "vocabulary_vs_oov.png")

# %% [markdown]
# ## Chinese: characters work out of the box, words need a segmenter
# Chinese is written without spaces. The articles' example 我明天要去看电影。("I am going to see a film
# tomorrow") is seven words to a reader, 我 / 明天 / 要 / 去 / 看 / 电影 / 。, but nine characters.
# A character tokenizer needs nothing more. A word tokenizer needs a **segmenter**: this library's word
# tokenizer takes `segmenter="jieba"` (`--set segmenter=jieba` on the command line; jieba is the optional
# extra `pip install 'keras-lmzoo[zh]'`). Without one it cuts Han text into single characters, so that it
# never produces one giant "word" per sentence, and it never glues a Han character to Latin letters.

# %%
sentence_zh = "我明天要去看电影。"
char_zh = fit_tokenizer("char", sentence_zh)
print("char:", [char_zh.id_to_token(i) for i in char_zh.encode(sentence_zh)])
print("word, no segmenter:", fit_tokenizer("word", sentence_zh).words(sentence_zh + " iPhone手机"))
try:
    jieba_words = fit_tokenizer("word", sentence_zh, segmenter="jieba").words(sentence_zh)
    print("word, jieba:", jieba_words, f"{len(jieba_words)} words vs {len(sentence_zh)} characters")
    assert jieba_words == ["我", "明天", "要", "去", "看", "电影", "。"]
except LmzooError as err:  # jieba is optional: say so, and go on with the other tokenizers
    jieba_words = None
    print("SKIPPED jieba:", err)

# %% [markdown]
# ### Tang poems, three ways
# Now a real Chinese corpus: `tang-poems` (2,000 poems of 全唐诗, one per line). It is read from the data
# directory (`LMZOO_DATA`, e.g. `../shared/corpora`) or downloaded in full mode; in quick mode without it
# the lesson falls back, visibly, to 40 poems embedded in the library. We fit each tokenizer on the
# training poems and measure, on the test poems, the vocabulary size, the unknown rate and the tokens per
# character. Byte-level BPE (GPT-2's scheme, trained here on the poems with `lmzoo.models.gpt2`) starts
# from the 256 byte values, so it has no unknown token at all.

# %%
try:
    zh = load_corpus("tang-poems", allow_download=not quick())
except LmzooError as err:
    print(f"tang-poems is not available here ({err})")
    zh = lesson.chinese_sample_corpus()
    print(f"FALLBACK: using {zh.source} instead; the figures below are for this small sample")
print(f"{zh.name}: {len(zh.train):,} training characters; first poem: {zh.train.splitlines()[0]}")


def byte_bpe(text: str, size: int):
    vocabulary, merges = train_byte_level_bpe(text, size)
    return keras_nlp.tokenizers.BytePairTokenizer(vocabulary=vocabulary, merges=merges)


zh_rows = []
zh_tokenizers = {"char": fit_tokenizer("char", zh.train), "word (no segmenter)": fit_tokenizer("word", zh.train)}
if jieba_words is not None:
    zh_tokenizers["word (jieba)"] = fit_tokenizer("word", zh.train, segmenter="jieba")
zh_tokenizers["WordPiece"] = fit_tokenizer("subword", zh.train, vocabulary_size=2000)
for name, tok in zh_tokenizers.items():
    ids = np.asarray(tok.encode(zh.test))
    zh_rows.append((name, tok.vocabulary_size(), 100 * float(np.mean(ids == UNK)), len(ids) / len(zh.test)))
bpe_size = 1000 if quick() else 4000
bpe = byte_bpe(zh.train, bpe_size)
bpe_ids = np.concatenate([np.asarray(bpe.tokenize(line)) for line in zh.test.splitlines()])
zh_rows.append((f"byte BPE {bpe_size}", int(bpe.vocabulary_size()), 0.0, len(bpe_ids) / len(zh.test)))
print(f"{'tokenizer':<20} {'vocab':>7} {'unk %':>7} {'tokens/char':>12}")
for name, size, unk, per_char in zh_rows:
    print(f"{name:<20} {size:>7} {unk:>7.2f} {per_char:>12.3f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
names = [r[0] for r in zh_rows]
for ax, column, title, color in zip(axes, (1, 2, 3), ("vocabulary size (log scale)", "unknown tokens, test (%)",
                                                     "tokens per character"), ("tab:blue", "tab:red", "tab:green"),
                                    strict=True):
    ax.bar(names, [r[column] for r in zh_rows], color=color)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=35)
axes[0].set_yscale("log")
fig.suptitle(f"Tokenizers on Chinese ({zh.name})")
fig.tight_layout()
lesson.save_and_show(fig, OUT / "chinese_vocabulary_vs_oov.png")
by_name = {r[0]: r for r in zh_rows}
if "word (jieba)" in by_name:  # the point of the figure, checked on whichever text was loaded
    assert by_name["char"][2] < by_name["word (jieba)"][2]

# %% [markdown]
# Read the figure: characters leave the fewest unknowns (a new poem mostly reuses known characters), at one
# token per character. jieba's words leave many more unknowns: most words of a new poem were never seen. On
# the whole `tang-poems` corpus its vocabulary is also several times the character vocabulary; on the
# 40-poem fallback sample, too small for words to repeat, the two are close. (jieba's dictionary is modern
# Chinese; on classical poetry it often cuts odd pairs.) WordPiece from keras-nlp splits every Han character
# on its own before it learns pieces, so on Chinese it is the character tokenizer with each character twice
# (`X` and the continuation `##X`). Byte-level BPE never fails, and spends its vocabulary on merges.
#
# ### What one character costs GPT-2
# GPT-2's byte-level BPE starts from UTF-8 bytes and merges frequent pairs; its merges were learned on
# mostly English web text. A Han character is 3 bytes in UTF-8, an English letter 1. The real GPT-2
# vocabulary needs a download (lesson 06); here we measure the starting point, bytes per character, and a
# byte-level BPE trained on English (Lee) only, as GPT-2's mostly was, applied to both languages. (The real
# GPT-2 vocabulary merges some frequent Han characters into single tokens, so it sits between the two; lesson
# 06 counts it when the preset is available.)

# %%
bytes_per_char = {"Chinese": len(zh.test.encode("utf-8")) / len(zh.test),
                  "English": len(corpus.test.encode("utf-8")) / len(corpus.test)}
claim("zh_bytes_per_char", bytes_per_char["Chinese"], full=(2.9, 3.0), quick=(2.9, 3.0), text="UTF-8 bytes per character")
claim("en_bytes_per_char", bytes_per_char["English"], full=(1.0, 1.01), quick=(1.0, 1.01), text="UTF-8 bytes per character")
english_bpe = byte_bpe(corpus.train, 1000)
for language, text in (("English", corpus.test[:20000]), ("Chinese", zh.test[:20000])):
    tokens = sum(len(english_bpe.tokenize(line)) for line in text.splitlines() if line)
    characters = sum(len(line) for line in text.splitlines() if line)
    print(f"{language}: {bytes_per_char[language]:.2f} bytes per character; a byte BPE learned on English "
          f"spends {tokens / characters:.2f} tokens per character")
    low, high = (0.3, 0.45) if language == "English" else (2.8, 3.0)
    claim(f"bpe_tokens_per_{'en' if language == 'English' else 'zh'}_char", tokens / characters, full=(low, high),
          quick=(low, high), text=f"byte-level BPE (1,000 tokens, learned on Lee) on {language}")
# %% [markdown]
# ## Step 3: arrange the ids as training examples
# A language model learns to predict each next token, so its examples are windows of ids with the
# targets shifted by one. An autoencoder reads whole sentences, padded to the longest in the batch.

# %%
show(lm_windows)
ids = tokenizers["word"].encode(corpus.train)
inputs, targets = next(iter(lm_windows(ids, context=8, batch_size=2, shuffle=False)))
print("inputs :", [tokenizers["word"].id_to_token(i) for i in inputs.numpy()[0]])
print("targets:", [tokenizers["word"].id_to_token(i) for i in targets.numpy()[0]])
sentences = [tokenizers["word"].encode(s)[:-1] for s in corpus.sentences("train")[:3]]
print(next(iter(padded_sentences(sentences, batch_size=3, add_bos=True, max_length=12))).numpy())

# %% [markdown]
# > **Common mistake:** comparing perplexities of models with different tokenizers. A word model that
# > maps 9% of the test set to `<unk>` gets those tokens cheaply, and a character model predicts five
# > times as many tokens. This library's harness also reports **bits per character**: total negative
# > log-likelihood divided by ln 2 and by the number of characters of the text itself, the same
# > denominator for every tokenizer. Lesson 07 compares every family that way.
#
# Step 4, predicting, is what every following lesson does.
#
# ## Summary
# - Tokenizers trade vocabulary size against sequence length and unknown words.
# - Characters never go out of vocabulary and suit Chinese; words need a segmenter there.
# - Subwords (WordPiece, BPE) sit in between and are what GPT-2 uses.
# - The same ids feed every model, as next-token windows or padded sentences.
#
# ## Exercises
# 1. Fit the word tokenizer with `lowercase=True`. How do the vocabulary size and the unk rate change?
# 2. Plot the unk rate against `min_count` from 1 to 10. Where would you put the cut-off for PTB-sized data?
# 3. Train subword vocabularies of 500, 2,000 and 8,000 pieces: plot tokens per character against size.
# 4. Train the byte-level BPE on Lee *and* the Tang poems together. How many tokens per character does
#    Chinese cost now, and what did English lose?
# 5. `lmzoo train ngram --corpus tang-poems --set segmenter=jieba` and again without the segmenter: compare
#    bits per character (`lmzoo evaluate`). Which one knows more about the next character, and why?
# 6. **Build it: a character tokenizer.** Without the library, write `encode(text) -> list[int]` and
#    `decode(ids) -> str` over the characters of lee's training text. Check them with
#    `lmzoo.lesson.check_tokenizer(encode, decode, corpus.train)`: the target is an exact round trip with
#    one id per distinct character. Solution: `lessons/solutions/00_text_to_tokens.py` (the tests run it).

# %% [markdown]
# ## Measured in this run
# Every figure this lesson quotes, as this run measured it or read it from a results file, beside the
# range its text states for this mode (`lmzoo.lesson.measured_table`, from the run's `claims.json`).

# %%
from lmzoo.lesson import measured_table

measured_table()
