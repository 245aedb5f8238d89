# %% [markdown]
# # Lesson 07: four generations of language models, compared
#
# **What you will learn:** how to compare models that do not share a tokenizer, a size or even a task;
# what each generation fixed in the one before it (sparsity → embeddings → sequence memory → attention)
# and what it cost in parameters and time; why bits per character allows comparisons that perplexity
# does not.
#
# **Prerequisites:** lessons 00-06 (this lesson reuses every family they built).
#
# **Run time:** about a minute in quick mode (`LMZOO_QUICK=1`); about 5 minutes in full on 2 CPU cores
# (the same job as `make compare`).
#
# **Expected results (full run on `lee`, test split):** the unigram baseline near 1.9 bits/char
# (per word-level token, helped by 10% `<unk>`); word n-grams of order 2-5 clearly lower, gaining little
# past order 3 on 50,000 training words; the character-level Transformer and n-gram between 2 and 3
# bits/char but with no `<unk>` discount; Word2Vec and gensim's WordSim353 Spearman around 0.1-0.3 (the
# corpus is tiny); the autoencoder's conditional bits/char far below every language model, because its
# decoder sees the answer.
#
# **Library modules used:** `lmzoo.compare` (the job behind `lmzoo compare` / `make compare`),
# `lmzoo.plots`, `lmzoo.lesson`.

# %%
import json

import matplotlib

matplotlib.use("Agg")

from lmzoo.compare import ENTRIES, compare, results_markdown
from lmzoo.datasets import load_corpus
from lmzoo.lesson import output_dir, quick, show

OUT = output_dir("07_compare")

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

# %% [markdown]
# ## The table
# The job wrote `results.json`, `results.md` and the figures below into this lesson's output folder.

# %%
print((OUT / "results.md").read_text())
saved = json.loads((OUT / "results.json").read_text())
assert saved["rows"] == json.loads(json.dumps(rows, default=str))
ok = {r["name"]: r for r in rows if r["status"] == "ok"}

# %% [markdown]
# ## Reading the table
#
# **Why perplexity alone misleads.** Perplexity per token depends on what a token is. The word-level
# models predict about 6,000 test tokens; the character-level ones about 32,000. A character model with
# perplexity 5 and a word model with perplexity 200 cannot be ranked by those numbers. Worse, every word
# outside the vocabulary becomes `<unk>`, one cheap, frequent token: shrinking the vocabulary *lowers*
# word perplexity while the model knows less.
#
# **What bits per character allows.** Total negative log-likelihood is a number of nats needed to
# encode the test text. Divided by ln 2 and by the number of characters of that text (the same for every
# model) it becomes bits per character: a compression rate, comparable across tokenizers. The one caveat
# the table keeps visible is `<unk>`: a word model does not pay for spelling out unknown words, so its
# bits/char is a lower bound on what a full model would need.

# %%
for name in ("unigram", "ngram-3", "ngram-char-6", "transformer"):
    if name in ok:
        r = ok[name]
        print(f"{name:<14} tokens={r['tokens']:>6}  ppl/token={r['perplexity']:>9.2f}  bits/char={r['bits_per_char']:.3f}"
              f"  unk rate={r['unk_rate']:.3f}")

# %% [markdown]
# **Why the n-gram wins or loses here.** The Lee corpus has about 50,000 training words. A Kneser-Ney
# n-gram is near its best on such data: counting is exact, smoothing was tuned by decades of work, and it
# trains in a second. The neural models need more data and more steps to beat it; scale the run
# (`lmzoo compare --budget 4`, or a bigger corpus such as `ptb` or `tinyshakespeare`) and watch the gap
# close and reverse. Past order 3, the word n-gram gains nothing: almost every 4-gram of the test set
# was never seen (lesson 01's sparsity plot).
#
# **Embeddings.** Word2Vec and gensim's Word2Vec are scored by the same `KeyedVectors` scorer as the
# PPMI + SVD vectors built from the n-gram counts and the input embeddings of the neural models. With
# 50,000 words, no method gets far on WordSim353; the benchmark on PTB (`benchmarks/word2vec.py`) is the
# fair test. A character-level embedding table scores as 100% out of vocabulary, which the table shows.
#
# **The autoencoder is not a language model.** Its decoder reconstructs a sentence it has already read
# through the encoder, so its "conditional" bits per character is not comparable with the others; it is
# in the table, labelled, to show how much easier a task with the answer in hand is.
#
# **What each generation fixed, and what it cost:** the scatter plot puts quality against parameters,
# with the point area showing training time.

# %%
for figure in ("bits_per_char", "learning_curves", "quality_vs_params", "embeddings", "samples"):
    print(OUT / f"{figure}.png", (OUT / f"{figure}.png").exists())
corpus = load_corpus("lee")
assert results_markdown(rows, corpus).count("\n|") >= len(rows)

# %% [markdown]
# ## Summary
# - One harness, protocols instead of per-family code, and one denominator (characters) make four very
#   different model families comparable.
# - On a small corpus counting is hard to beat; neural models pay in parameters and time for the ability
#   to generalise across similar words and long contexts, which pays off with data.
# - Report bits per character beside perplexity, with the `<unk>` rate.
#
# ## Exercises
# 1. Run `lmzoo compare --budget 4 --out runs/compare4`. Which families improve, and which stay put?
# 2. Run the comparison on `tinyshakespeare` (with a data directory). Does the character-level
#    Transformer now beat the character n-gram?
# 3. Add an entry for a 4-gram with `smoothing="add-k"` to `lmzoo.compare.ENTRIES` (in your own copy of
#    the list) and explain its row.
# 4. Shrink the word vocabulary (`min_count=5`) for the n-gram: what happens to perplexity, to bits per
#    character, and to the unk rate? Which number would you report?
