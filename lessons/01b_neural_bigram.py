# %% [markdown]
# # Lesson 01b: from counting to a neural network, the bigram bridge
#
# **The question:** lesson 01 counted; lesson 02 learns vectors. Is a neural language model a different
# kind of model from a counting one, or the same model fitted another way? And what does the neural
# way buy?
#
# **What you will learn:** that a one-layer neural bigram (one-hot → softmax) trained by gradient descent
# *is* the count bigram: same context, same model, same perplexity (Karpathy's makemore makes the same
# point); that weight decay plays the part of smoothing; and that what the neural form adds is sharing:
# with word embeddings, a model can predict after a context it has never seen, where a counting model
# can only back off to a shorter one. This measures the "no notion of similarity" limit that lesson 01
# states.
#
# **Prerequisites:** lesson 01 (counts, smoothing, perplexity).
#
# **Run time:** about a minute in quick mode (`LMZOO_QUICK=1`), a few minutes in full on 2 shared CPU
# cores (two small Keras models on `lee`).
#
# **Expected results:** every figure is measured as the lesson runs (the name in brackets is the line it
# prints): the neural character bigram lands within 0.03 [bigram_gap] bits per character of the count
# bigram.
#
# **Library modules used:** `lmzoo.datasets` (corpus, tokenizers), `lmzoo.models.ngram` (Kneser-Ney),
# `lmzoo.lesson` (claims and the `check_*` functions of the exercises).

# %%
import math

import keras
import matplotlib.pyplot as plt
import numpy as np

import lmzoo
from lmzoo import lesson
from lmzoo.datasets import load_corpus
from lmzoo.datasets.tokenizers import BOS, fit_tokenizer
from lmzoo.harness import score_text
from lmzoo.lesson import check_bigram, claim, save_and_show

OUT = lesson.output_dir("01b_neural_bigram")
QUICK = lesson.quick()
LN2 = math.log(2)
corpus = load_corpus("lee")
keras.utils.set_random_seed(0)

# %% [markdown]
# ## 1. The count bigram, in three lines
# Characters this time, so the table is small: count every pair (previous, next) in the training text,
# add k to every cell (add-k smoothing, lesson 01), and normalise each row. The library's n-gram family
# fitted the same way (order 2, add-k) agrees to within 0.005 [library_bigram_gap] bits per character.

# %%
chars = fit_tokenizer("char", corpus.train)
V = chars.vocabulary_size()
train = np.array([BOS, *chars.encode(corpus.train)])
test = np.array([BOS, *chars.encode(corpus.test)])
counts = np.zeros((V, V))
np.add.at(counts, (train[:-1], train[1:]), 1)
table = (counts + 0.1) / (counts + 0.1).sum(axis=1, keepdims=True)
count_bits = float(-np.log(table[test[:-1], test[1:]]).mean() / LN2)
library = lmzoo.train("ngram", corpus, OUT / "char_bigram", overwrite=True, tokenizer="char", order=2, smoothing="add-k",
                      add_k=0.1)
library_bits = score_text(library, corpus.test)["bits_per_char"]
print(f"{V} characters; count bigram (add-0.1): {count_bits:.4f} bits/char on the test text; "
      f"the library's (lmzoo.models.ngram, order 2, add-k 0.1): {library_bits:.4f}")
claim("library_bigram_gap", abs(count_bits - library_bits), quick=(0, 0.005), full=(0, 0.005),
      text="|three-line count bigram - lmzoo's add-k bigram| bits/char")

# %% [markdown]
# ## 2. The same model as a network
# A one-hot vector of the previous character times a V × V weight matrix gives one row of logits; the
# softmax turns them into a distribution. That matrix *is* the table of log-probabilities, learned by
# gradient descent on the cross-entropy instead of read off the counts. Keras's `Embedding(V, V)` is
# exactly one-hot × matrix, without building the one-hot vector.

# %%
neural = keras.Sequential([keras.Input((), dtype="int32"), keras.layers.Embedding(V, V)])
neural.compile(optimizer=keras.optimizers.AdamW(0.05, weight_decay=1e-4),
               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
history = neural.fit(train[:-1], train[1:], batch_size=1024, epochs=2 if QUICK else 5, verbose=0,
                     validation_data=(test[:-1], test[1:]))
curve = [loss / LN2 for loss in history.history["val_loss"]]
neural_bits = curve[-1]
print("test bits/char after each epoch:", " ".join(f"{b:.3f}" for b in curve))
claim("bigram_gap", abs(neural_bits - count_bits), quick=(0, 0.03), full=(0, 0.03),
      text="|neural bigram - count bigram| bits/char on lee's test text")
claim("count_bigram_bits", count_bits, quick=(3.5, 3.65), full=(3.5, 3.65), text="count bigram, add-0.1, bits/char")
check_bigram(lesson.bigram_table(neural, V), chars, corpus.test, target=library_bits, tolerance=0.03)

learned = keras.ops.convert_to_numpy(keras.ops.softmax(neural.layers[0].embeddings, axis=-1))
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
common = np.argsort(-counts.sum(axis=1))[:20]  # the 20 most frequent previous characters
labels = [repr(chars.id_to_token(int(i)))[1:-1] for i in common]
for ax, (title, matrix) in zip(axes, (("counted", table), ("learned by gradient descent", learned)), strict=True):
    ax.imshow(np.log(matrix[np.ix_(common, common)]), cmap="viridis")
    ax.set_xticks(range(len(common)), labels, fontsize=7)
    ax.set_yticks(range(len(common)), labels, fontsize=7)
    ax.set_xlabel("next character")
    ax.set_ylabel("previous character")
    ax.set_title(f"log p(next | previous), {title}")
save_and_show(fig, OUT / "count_vs_neural_bigram.png")

# %% [markdown]
# The two maps are the same picture, and the two models score within 0.03 [bigram_gap] bits per
# character of each other, at 3.5-3.65 [count_bigram_bits] bits per character. With the same context the
# network has nothing to add: it is the count bigram, fitted by gradient descent. Weight decay pulls
# the logits of never-seen pairs towards equal values, as add-k smoothing does for their counts.
#
# ## 3. What the neural form adds: sharing between contexts
# Now words, and two words of context. A count trigram knows a pair (w₋₂, w₋₁) only if it occurred in
# training; after a never-seen pair it must back off to the bigram and throw w₋₂ away (Kneser-Ney does
# this in a principled way, but it still cannot use w₋₂). A neural trigram (Bengio et al. 2003) looks up
# a vector for each word, concatenates the two, and predicts through a hidden layer: a never-seen pair of
# seen words still gets a prediction built from what each word's vector learned elsewhere.
#
# Split lee's test tokens by whether their two-word context occurred in training, and compare the loss
# on each part.

# %%
kn3 = lmzoo.train("ngram", corpus, OUT / "kn3", overwrite=True, order=3)
kn2 = lmzoo.train("ngram", corpus, OUT / "kn2", overwrite=True, order=2)
words = kn3.tokenizer
W = words.vocabulary_size()
test_ids = words.encode(corpus.test)
train_w = np.array([BOS, BOS, *words.encode(corpus.train)])
test_w = np.array([BOS, BOS, *test_ids])
seen_pairs = set(zip(train_w[:-2].tolist(), train_w[1:-1].tolist(), strict=True))
contexts = np.stack([test_w[:-2], test_w[1:-1]], axis=1)
unseen = np.array([tuple(pair) not in seen_pairs for pair in contexts.tolist()])
print(f"{W:,} words; {unseen.mean():.0%} of the test tokens follow a two-word context never seen in training")
claim("unseen_share", 100 * unseen.mean(), quick=(50, 55), full=(50, 55),
      text="% of lee's test tokens whose two-word context never occurred in training")

inputs = keras.Input((2,), dtype="int32")
vectors = keras.layers.Flatten()(keras.layers.Embedding(W, 32)(inputs))  # one table, shared by both positions
hidden = keras.layers.Dense(128, activation="tanh")(vectors)
mlp = keras.Model(inputs, keras.layers.Dense(W)(keras.layers.Dropout(0.3)(hidden)))
mlp.compile(optimizer=keras.optimizers.AdamW(3e-3, weight_decay=0.01),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
mlp.fit(np.stack([train_w[:-2], train_w[1:-1]], axis=1), train_w[2:], batch_size=256, epochs=2, verbose=0)
logits = mlp.predict(contexts, batch_size=2048, verbose=0).astype(np.float64)
mlp_cost = np.logaddexp.reduce(logits, axis=1) - logits[np.arange(len(test_ids)), test_w[2:]]

losses = {"count bigram (KN)": -np.asarray(kn2.token_log_probs(test_ids)),
          "count trigram (KN)": -np.asarray(kn3.token_log_probs(test_ids)),
          "neural trigram (shared embeddings)": mlp_cost}
split = {name: {"context seen": float(c[~unseen].mean()), "context never seen": float(c[unseen].mean())}
         for name, c in losses.items()}
for name, parts in split.items():
    print(f"{name:<36} " + "  ".join(f"{k} {v:.3f} nats" for k, v in parts.items()))
fig, ax = plt.subplots(figsize=(8, 4))
for j, part in enumerate(("context seen", "context never seen")):
    bars = ax.bar(np.arange(len(split)) + 0.4 * j, [split[n][part] for n in split], 0.4, label=part)
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
ax.set_xticks(np.arange(len(split)) + 0.2, list(split), fontsize=8)
ax.set_ylabel("mean loss per test token (nats)")
ax.set_ylim(5, None)
ax.set_title("lee: loss on test tokens whose two-word context was / was never seen in training")
ax.legend()
save_and_show(fig, OUT / "loss_seen_vs_unseen_context.png")
backoff_gain = split["count bigram (KN)"]["context never seen"] - split["count trigram (KN)"]["context never seen"]
seen_gain = split["count bigram (KN)"]["context seen"] - split["count trigram (KN)"]["context seen"]
claim("kn_gain_seen", seen_gain, quick=(0.05, 0.2), full=(0.05, 0.2),
      text="nats the count trigram gains over the bigram where the context was seen")
claim("kn_gain_unseen", abs(backoff_gain), quick=(0, 0.03), full=(0, 0.03),
      text="|nats the count trigram gains over the bigram| where the context was never seen")
claim("kn_unseen_minus_seen", split["count trigram (KN)"]["context never seen"]
      - split["count trigram (KN)"]["context seen"], quick=(0.12, 0.25), full=(0.12, 0.25),
      text="count trigram: loss after never-seen minus seen contexts, nats")
claim("mlp_unseen_minus_seen", split["neural trigram (shared embeddings)"]["context never seen"]
      - split["neural trigram (shared embeddings)"]["context seen"], quick=(0.0, 0.12), full=(0.0, 0.12),
      text="neural trigram: loss after never-seen minus seen contexts, nats")
claim("mlp_minus_kn_unseen", split["neural trigram (shared embeddings)"]["context never seen"]
      - split["count trigram (KN)"]["context never seen"], quick=(0.0, 0.6), full=(0.0, 0.6),
      text="neural trigram minus count trigram, never-seen contexts, nats")

# %% [markdown]
# Read the bars in pairs. Where the context was seen, the count trigram gains 0.05-0.2 [kn_gain_seen]
# nats per token over the bigram: the second word helps. Where it was never seen, the two differ by at
# most 0.03 [kn_gain_unseen] nats: the trigram has backed off to the bigram and w₋₂ is thrown away. That is the
# "no notion of similarity" limit, measured: for a counting model an unseen pair is not similar to
# anything, and its loss rises by 0.12-0.25 [kn_unseen_minus_seen] nats from seen to never-seen
# contexts. The neural trigram has no back-off rule at all, yet it predicts after never-seen pairs
# from the vectors of their words, and its loss rises by only 0.0-0.12 [mlp_unseen_minus_seen] nats.
# Part of that evenness is underfitting: on lee's small training text it does not catch Kneser-Ney
# anywhere, and it is 0.0-0.6 [mlp_minus_kn_unseen] nats per token behind on never-seen contexts. Shared vectors are what
# later models build on (Word2Vec in lesson 02, the recurrent LM in 03b); with enough text they win
# (lesson 07 shows where).
#
# ## Summary
# - With the same context, a one-layer neural bigram is the count bigram: the same table, fitted by
#   gradient descent; regularisation plays the part of smoothing.
# - A counting model cannot use a context it never saw; it backs off. Shared embeddings let a model use
#   the words of a never-seen context, which is the door to everything after lesson 01.
#
# ## Exercises
# 1. Raise the neural bigram's weight decay to 1e-2 and 1e-1. Which add-k does each one resemble (compare
#    bits/char with `k` = 0.01, 1, 10)?
# 2. Train the neural trigram for 1, 2, 4 and 8 epochs and plot the two bars of each epoch. Which part
#    overfits first, seen or unseen contexts?
# 3. **Build it: the count bigram.** Without looking at section 1, write `count_bigram(ids, V, k)`
#    returning the V × V table of next-character probabilities. Check it with
#    `lmzoo.lesson.check_bigram(your_table, chars, corpus.test, target=library_bits)`: every row must be
#    a distribution, and the table must reach the library's add-k bigram on lee's test text (3.5-3.65
#    [count_bigram_bits] bits/char) within 0.005 bits.
# 4. **Build it: the neural bigram.** Write a Keras model that maps a previous-character id to logits
#    over the next character and train it on `train`. Turn it into a table with
#    `lmzoo.lesson.bigram_table(your_model, V)` and check it the same way, with `tolerance=0.03` (section 2
#    does exactly this for the lesson's model). Solutions: `lessons/solutions/01b_neural_bigram.py` (the tests run it).

# %% [markdown]
# ## Measured in this run
# Every figure this lesson quotes, as this run measured it or read it from a results file, beside the
# range its text states for this mode (`lmzoo.lesson.measured_table`, from the run's `claims.json`).

# %%
from lmzoo.lesson import measured_table

measured_table()
