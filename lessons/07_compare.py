# %% [markdown]
# # Lesson 07: four generations of language models, compared
#
# **What you will learn:** how to compare models that do not share a tokenizer, a size or even a task;
# why bits per character must be an *open-vocabulary* figure before it can rank a word model against a
# character model; what each generation fixed in the one before it (sparsity → embeddings → recurrent
# memory → attention) and what it cost in parameters and time.
#
# **Prerequisites:** lessons 00-06 (this lesson reuses every family they built).
#
# **Run time:** about a minute in quick mode (`LMZOO_QUICK=1`); a few minutes in full on 2 CPU cores
# (the same job as `make compare`).
#
# **Expected results:** every number below is read from the `results.json` this lesson writes; the
# checks printed as `CHECK` state what a good run shows (for example, that paying for unknown words
# moves every word model up, and that a longer budget helps the neural rows).
#
# **Library modules used:** `lmzoo.compare` (the job behind `lmzoo compare` / `make compare`),
# `lmzoo.harness`, `lmzoo.spelling`, `lmzoo.plots`, `lmzoo.lesson`.

# %%
import json
import math

import lmzoo
from lmzoo.compare import ENTRIES, compare
from lmzoo.datasets import load_corpus
from lmzoo.harness import score_text
from lmzoo.lesson import output_dir, quick, show, show_saved
from lmzoo.spelling import SpellingModel

OUT = output_dir("07_compare")


def check(claim: str, holds: bool) -> None:
    """Print a claim the prose relies on, with whether this run bears it out."""
    print(f"CHECK {'ok ' if holds else 'NO '} {claim}")


# %% [markdown]
# ## One loop over every family
# Each entry is a family plus a few config overrides. The job trains it, hands the model to the one
# harness, which asks only what the model *can* do (score text? embed words? reconstruct sentences?
# generate?), and writes a row. This is the whole comparison:

# %%
show(compare)
for entry in ENTRIES:
    print(f"{entry.name:<16} family={entry.family:<16} overrides={entry.overrides}")

# %%
rows = compare("lee", OUT, quick=quick(), seed=0)
saved = json.loads((OUT / "results.json").read_text())
ok = {r["name"]: r for r in saved["rows"] if r["status"] == "ok"}
print(f"{saved['preset']} preset, budget {saved['budget']}, seed {saved['seed']}, "
      f"wall time {saved['wall_seconds']:.0f} s")

# %% [markdown]
# ## The table
# The job wrote `results.json`, `results.md` and the figures below into this lesson's output folder.

# %%
print((OUT / "results.md").read_text())
show_saved(OUT / "bits_per_char.png")

# %% [markdown]
# ## Common mistake: closed-vocabulary bits per character
#
# Bits per character is a compression rate: the number of bits a model needs to encode the test text,
# divided by the characters of that text, the same denominator for every tokenizer. But a word model
# that meets a word it never saw in training emits one `<unk>` token and pays only −log p(`<unk>`):
# it never pays for the letters of the word. Its "bits per character" is then *not* a code length for
# the text, and it looks better than a character model, which pays for every letter.
#
# The wrong figure (what this zoo reported before, and what many tutorials still do):
#
# ```python
# bpc = -sum(log_probs) / math.log(2) / len(text)            # <unk> is free
# ```
#
# The open-vocabulary figure (Mielke et al. 2019): every `<unk>` also pays for spelling its word,
# −log p_spell(characters + end of word), under a character model fitted on the **training split only**:
#
# ```python
# spelling = SpellingModel.fit(corpus.train)
# bpc = (-sum(log_probs) + sum(spelling.cost(w) for w in tokenizer.unknown_pieces(text))) / math.log(2) / len(text)
# ```
#
# A word model also drops the layout between its words (runs of spaces, tabs, blank lines), so the
# open figure adds the cost of each gap string under a small model of the training split's gaps
# (`spelling.layout(tokenizer)`: small on prose, large on code-like text). The harness reports both figures; the
# table's headline is the open one. Here is what the difference does:

# %%
for name, r in ok.items():
    if "bits_per_char" in r:
        print(f"{name:<14} {r['tokenizer']:<5} unknown tokens {r['unknown_tokens']:>5} ({r['unk_rate']:.1%})  "
              f"closed {r['bits_per_char_closed']:.3f}  open {r['bits_per_char']:.3f} bits/char")
words = [r for r in ok.values() if r.get("tokenizer") == "word" and "bits_per_char" in r]
chars = [r for r in ok.values() if r.get("tokenizer") == "char" and "bits_per_char" in r]
check("every word model pays more once unknown words are spelled out",
      all(r["bits_per_char"] > r["bits_per_char_closed"] for r in words))
check("a character model's two figures are (nearly) equal: it already pays for every character",
      all(r["bits_per_char"] - r["bits_per_char_closed"] < 0.01 for r in chars))
if "unigram" in ok and chars:
    best_char = min(chars, key=lambda r: r["bits_per_char"])
    print(f"closed: unigram {ok['unigram']['bits_per_char_closed']:.3f} vs {best_char['name']} "
          f"{best_char['bits_per_char_closed']:.3f}; open: unigram {ok['unigram']['bits_per_char']:.3f} vs "
          f"{best_char['name']} {best_char['bits_per_char']:.3f}")
    check("with open-vocabulary scoring the best character model beats the word unigram",
          best_char["bits_per_char"] < ok["unigram"]["bits_per_char"])

# %% [markdown]
# The spelling model is tiny: a character trigram over the training words. What does it charge?

# %%
corpus = load_corpus("lee")
spelling = SpellingModel.fit(corpus.train)
for word in ("the", "government", "Pyrmont", "xzqv"):
    print(f"{word:<12} {spelling.cost(word) / math.log(2):6.1f} bits")

# %% [markdown]
# ## The generations, one at a time
# For each generation: what it fixed in the one before, what it cost (parameters, training time) and
# where it loses at this corpus size. The scatter puts quality against parameters, the point area
# showing training time; the learning curves put every neural language model's validation bits per
# character against wall time on one axis, and the other losses (Word2Vec per pair, the autoencoder
# per token: quantities that cannot be compared) in their own panels.

# %%
show_saved(OUT / "quality_vs_params.png")
show_saved(OUT / "learning_curves.png")


def describe(name: str) -> str:
    r = ok.get(name)
    if r is None:
        return f"{name}: not in this run"
    score = f"{r['bits_per_char']:.3f} bits/char" if "bits_per_char" in r else (
        f"WordSim353 {r['wordsim353_spearman']:.3f}" if r.get("wordsim353_spearman") is not None else "")
    return f"{name}: {score}, {r['params']:,} parameters, {r.get('train_seconds', 0):.1f} s training"


# %% [markdown]
# **Counting.** The unigram knows only word frequencies; an n-gram adds the last few words of context.
# Counting is exact and trains in well under a second, but it is *sparse*: almost every long context of
# the test set was never seen (lesson 01), so gains stop after order 3, and every unseen word costs its
# full spelling.

# %%
for name in ("unigram", "ngram-2", "ngram-3", "ngram-5", "ngram-char-6"):
    print(describe(name))
if {"ngram-3", "ngram-5"} <= ok.keys():
    check("past order 3 the word n-gram gains little (less than 0.05 bits/char)",
          ok["ngram-3"]["bits_per_char"] - ok["ngram-5"]["bits_per_char"] < 0.05)

# %% [markdown]
# **Embeddings.** Word2Vec replaces each word's one-hot identity by a dense vector, so similar words
# share statistical strength. It is not a language model (it scores no text); it is judged on word
# similarity. On a corpus this small, no method gets far; `benchmarks/word2vec.py` on PTB is the fair test.

# %%
for name in ("word2vec", "word2vec-gensim", "ngram-2"):
    print(describe(name))

# %% [markdown]
# **Recurrent memory.** The recurrent LM (`rnnlm`) reads the text one token at a time and carries a
# state: the context it can use is no longer a fixed window of counts but whatever the state learned
# to keep. It costs parameters and minutes of training instead of a second of counting, and its steps
# are sequential. The autoencoder (`seq2seq`) uses the same recurrent machinery for another task: it is
# not a language model (its decoder sees the answer through the encoder), so it has only a
# *conditional* figure, kept out of the language-model chart.

# %%
for name in ("rnnlm", "seq2seq"):
    print(describe(name))
if "seq2seq" in ok:
    print(f"seq2seq conditional bits/char {ok['seq2seq'].get('conditional_bits_per_char', float('nan')):.3f} "
          f"(not comparable), reconstruction accuracy {ok['seq2seq'].get('reconstruction_token_accuracy', 0):.3f}")

# %% [markdown]
# **Attention.** The Transformer looks at every earlier position at once: no sequential steps during
# training, a path of length one between any two positions, and a fixed context window. It is the most
# expensive model here per parameter and per second.

# %%
print(describe("transformer"))
neural = [n for n in ("rnnlm", "transformer") if n in ok]
if neural and "ngram-char-6" in ok:
    for name in neural:
        diff = ok[name]["bits_per_char"] - ok["ngram-char-6"]["bits_per_char"]
        print(f"{name} vs the character 6-gram: {diff:+.3f} bits/char, "
              f"{ok[name]['params'] / ok['ngram-char-6']['params']:.1f}x the parameters, "
              f"{ok[name]['train_seconds'] / max(ok['ngram-char-6']['train_seconds'], 1e-3):.0f}x the training time")

# %% [markdown]
# ## What a longer budget buys
# `lmzoo compare --budget 4` trains every neural family four times longer. Counting models do not
# change (they have nothing to train longer); the neural rows should. In full mode this lesson runs the
# neural language models again at twice the budget to show the trend (the README has the `--budget 4`
# table).

# %%
if not quick():
    longer = compare("lee", OUT / "budget2", budget=2.0, seed=0, entries=neural)
    for row in longer:
        if row["status"] == "ok":
            base = ok[row["name"]]["bits_per_char"]
            print(f"{row['name']:<12} budget 1: {base:.3f}  budget 2: {row['bits_per_char']:.3f} bits/char")
            check(f"{row['name']} improves with twice the budget", row["bits_per_char"] < base)

# %% [markdown]
# ## Scoring by hand, once
# The harness is not magic: here is the open-vocabulary figure of the bigram recomputed from its parts.

# %%
bigram = lmzoo.load(OUT / "runs" / "ngram-2")
scores = score_text(bigram, corpus.test, spelling)
ids = bigram.tokenizer.encode(corpus.test)
layout = spelling.layout(bigram.tokenizer)
by_hand = (-bigram.token_log_probs(ids).sum()
           + sum(spelling.cost(w) for w in bigram.tokenizer.unknown_pieces(corpus.test))
           + sum(layout.cost(context, gap) for context, gap in bigram.tokenizer.layout_gaps(corpus.test))
           ) / math.log(2) / len(corpus.test)
print(f"bigram open bits/char by hand {by_hand:.4f}, harness {scores['bits_per_char']:.4f}")
assert math.isclose(by_hand, scores["bits_per_char"], rel_tol=1e-9)

# %% [markdown]
# ## Summary
# - One harness, protocols instead of per-family code, and one denominator (characters) make very
#   different model families comparable, **if** every model pays for every character: report
#   open-vocabulary bits per character, with the unknown-token rate beside it.
# - On a small corpus counting is hard to beat; neural models pay in parameters and time for the ability
#   to generalise across similar words and long contexts, which pays off with more data and steps.
# - A table is only as true as its settings: the header names the budget, the seed, XLA, the machine and
#   the wall time, and `--resume` reuses a row only when they match.
#
# ## Exercises
# 1. Run `lmzoo compare --budget 4 --out runs/compare4`. Which families improve, and which stay put?
# 2. Run the comparison on `tinyshakespeare` (with a data directory). Does the ordering change?
# 3. Shrink the word vocabulary (`min_count=5`) for the n-gram: what happens to perplexity, to closed and
#    to open bits per character, and to the unk rate? Which number would you report?
# 4. Replace the spelling model's order (`SpellingModel.fit(corpus.train, order=1)`): how much do the
#    word models' open figures move? Why does a better spelling model help word models?
