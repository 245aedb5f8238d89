# %% [markdown]
# # Lesson 00: from text to tokens
#
# **What you will learn:** the four steps every language model starts with (segment the text, encode
# the pieces as ids and then vectors, arrange them as training sequences, predict); character, word and
# subword tokenizers and what each costs in vocabulary size and unknown words; why Chinese is easy at the
# character level and hard at the word level; how the same ids become language-model windows and padded
# sentence batches.
#
# **Prerequisites:** Python and NumPy. This is the first lesson.
#
# **Run time:** about 20 s in quick mode (`LMZOO_QUICK=1`), under a minute in full.
#
# **Expected results:** on the Lee corpus the character vocabulary has about 80 symbols and almost no
# unknown characters on the test split; the word vocabulary has about 7,000 words (min-count 1) and 8-10% of
# test tokens are `<unk>`; a 2,000-piece WordPiece vocabulary has almost no unknowns at about 1.3 pieces
# per word.
#
# **Library modules used:** `lmzoo.datasets` (catalog, `load_corpus`, `fit_tokenizer`),
# `lmzoo.datasets.batching`, `lmzoo.lesson`.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from lmzoo.datasets import CATALOG, fit_tokenizer, load_corpus
from lmzoo.datasets.batching import lm_windows, padded_sentences
from lmzoo.datasets.tokenizers import UNK
from lmzoo.lesson import output_dir, quick, show

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
fig.savefig(OUT / "vocabulary_vs_oov.png", dpi=110)

# %% [markdown]
# ## Chinese: characters work out of the box, words need a segmenter
# Chinese is written without spaces. The articles' example 我明天要去看电影。("I am going to see a film
# tomorrow") is seven words to a reader, 我 / 明天 / 要 / 去 / 看 / 电影 / 。, but nine characters.
# A character tokenizer needs nothing more. A word tokenizer needs a segmenter (such as
# jieba, not a dependency here); without one, this library's word tokenizer falls back to one token
# per Han character, so that it never produces one giant "word" per sentence.

# %%
zh = "我明天要去看电影。\n床前明月光，疑是地上霜。\n"
char_zh = fit_tokenizer("char", zh)
word_zh = fit_tokenizer("word", zh)
print("char:", [char_zh.id_to_token(i) for i in char_zh.encode("我明天要去看电影。")])
print("word (no segmenter):", word_zh.words("我明天要去看电影。"))
assert char_zh.decode(char_zh.encode(zh)) == zh  # exact round trip: no half characters, no U+FFFD
segmented_by_hand = ["我", "明天", "要", "去", "看", "电影", "。"]
print("word (segmented by hand):", segmented_by_hand, f"{len(segmented_by_hand)} words vs {len('我明天要去看电影。')} characters")

# %% [markdown]
# ## Step 3: arrange the ids as training examples
# A language model learns to predict each next token, so its examples are windows of ids with the
# targets shifted by one. An autoencoder reads whole sentences, padded to the longest in the batch.

# %%
show(lm_windows)
ids = tokenizers["word"].encode(corpus.train)
inputs, targets = next(iter(lm_windows(ids, sequence_length=8, batch_size=2, shuffle=False)))
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
# 4. Load `tang-poems` (`load_corpus("tang-poems")` with a data directory) and compare the character
#    vocabulary of Tang poetry with the Lee corpus's.
