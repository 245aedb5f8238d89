# %% [markdown]
# # Lesson 01: n-gram language models, from counting to modified Kneser-Ney
#
# **The question:** How well can we predict the next word by counting what followed the same few words
# before, and what do we do about the contexts we never saw?
#
# **What you will learn:** what a language model is (a probability for the next word given the previous
# ones) and how an n-gram model gets it by counting the previous n-1 words; why counting alone fails (data
# sparsity: most longer n-grams of new text were never seen); smoothing as the cure, from add-k to
# interpolated modified Kneser-Ney; perplexity, the measure every later lesson uses (lower is better);
# what samples look like at each order; how the model is shared with other tools as an ARPA file.
#
# **Prerequisites:** lesson 00 (text to tokens). Python, NumPy, logarithms.
#
# **Run time:** about 5 s in quick mode (`LMZOO_QUICK=1`, orders 1-4) and about 5-10 s in full (orders 1-6),
# on 2 CPU cores.
#
# **Expected results** (each figure is measured as the lesson runs; the name in brackets is the line the
# run prints beside it; orders 1-4 are the same in both modes): on the Lee corpus (53k training tokens)
# 9-11% [unk_percent] of test words are unknown and 52-55% [unseen_2_percent] of test bigrams, 84-87%
# [unseen_3_percent] of trigrams and 95-97% [unseen_4_percent] of 4-grams never occur in training. Test
# perplexity per token (counting `</s>`): MLE infinite at every order; add-1 1,000-1,100
# [add1_order1_perplexity] for unigrams and *worse* as the order grows (2,500-2,700
# [add1_order2_perplexity] for bigrams); Kneser-Ney 395-415 [kn_order3_perplexity] and modified
# Kneser-Ney 375-390 [mkn_order3_perplexity] at order 3. On PTB the same code gives 141.2
# [ptb_mkn5_perplexity] at order 5, SRILM's published figure (read from
# `benchmarks/results/ngram_ptb.json`, written by `benchmarks/ngram_ptb.py`).
#
# **Library modules used:** `lmzoo.models.ngram` (`NGramLM`, `NGramConfig`), `lmzoo.models.arpa`,
# `lmzoo.harness.score_text`, `lmzoo.datasets`, `lmzoo.lesson`.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from lmzoo.datasets import fit_tokenizer, load_corpus
from lmzoo.datasets.tokenizers import UNK
from lmzoo.errors import LmzooError
from lmzoo.harness import score_text, spelling_model
from lmzoo.lesson import claim, output_dir, quick, read_result, save_and_show, show
from lmzoo.models.arpa import nats_to_log10, read_arpa, write_arpa
from lmzoo.models.ngram import NGramConfig, NGramLM, discount_table

OUT = output_dir("01_ngram")
MAX_ORDER = 4 if quick() else 6

corpus = load_corpus("lee")
tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split)
train_ids, test_ids = tokenizer.encode(corpus.train), tokenizer.encode(corpus.test)
print(f"{len(train_ids):,} training tokens, {len(test_ids):,} test tokens, vocabulary {tokenizer.vocabulary_size():,}")
claim("unk_percent", 100 * float(np.mean(np.asarray(test_ids) == UNK)), full=(9, 11), quick=(9, 11),
      text="test tokens that are <unk>")

# %% [markdown]
# ## 1. A language model, by counting
# A language model gives p(w_1 … w_T) = Π_t p(w_t | w_1 … w_{t-1}). The n-gram model's one assumption is
# that only the last n-1 words matter, so p(w | h) can be estimated by counting:
#
#     p_MLE(w | h) = c(h w) / c(h ·)
#
# Every line is a sentence read after `<s>` and closed by `</s>`; `</s>` is predicted like a word (knowing
# where a sentence ends is part of the task) and `<s>` never is. The library counts every n-gram of every
# order in one vectorised pass: each n-gram becomes one int64 key, and `np.unique` counts them.

# %%
counts_model = NGramLM.from_ids(NGramConfig(order=5, smoothing="mle"), tokenizer, train_ids)
bigrams = counts_model.ngram_tokens(2)
top = np.argsort(-counts_model.counts[1])[:8]
for row in top:
    print(f"{counts_model.counts[1][row]:>5}  {' '.join(tokenizer.id_to_token(int(i)) for i in bigrams[row])}")
print("distinct n-grams by order:", {k: len(p) for k, p in enumerate(counts_model.log_probs, 1)})

# %% [markdown]
# ## 2. Sparsity: most long n-grams of new text were never seen
# For each order k, take the test tokens that have k-1 words of context in their sentence and ask whether
# the k-gram ending there occurs in the training text. A unigram is unseen only when the word itself is
# unknown; by order 3 most test n-grams are new, so their MLE probability is zero.

# %%
unseen = counts_model.unseen_share(test_ids)
for k, share in unseen.items():
    print(f"order {k}: {100 * share:5.1f}% of test {k}-grams unseen in training")
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.bar(list(unseen), [100 * s for s in unseen.values()], color="tab:blue")
ax.set_xlabel("n-gram order")
ax.set_ylabel("% of test n-grams unseen")
ax.set_title("Sparsity on the Lee corpus")
ax.set_ylim(0, 100)
fig.tight_layout()
save_and_show(fig, OUT / "sparsity.png")
assert unseen[1] < unseen[2] < unseen[3]
for k, (low, high) in {2: (52, 55), 3: (84, 87), 4: (95, 97)}.items():
    claim(f"unseen_{k}_percent", 100 * unseen[k], full=(low, high), quick=(low, high), text=f"test {k}-grams unseen")

# %% [markdown]
# ## 3. Perplexity
# Perplexity is the exponential of the average negative log-probability per token, i.e. of the
# cross-entropy between the test text and the model:
#
#     PP = exp( -(1/N) Σ_t ln p(w_t | context) )
#
# Lower is better. A model that spreads its probability uniformly over V words has PP = V: perplexity is the
# size of a uniform choice that would be as surprising. One zero probability makes it infinite. Here it is
# from scratch, checked against the harness:

# %%
kn3 = NGramLM.from_ids(NGramConfig(order=3, smoothing="kneser-ney"), tokenizer, train_ids)
log_probs = kn3.token_log_probs(test_ids)  # natural logs, one per token, </s> included
by_hand = math.exp(-log_probs.sum() / len(log_probs))
print(f"perplexity by hand {by_hand:.2f}; harness {score_text(kn3, corpus.test, spelling_model(corpus))['perplexity']:.2f}")
assert math.isclose(by_hand, score_text(kn3, corpus.test, spelling_model(corpus))["perplexity"])

# %% [markdown]
# > **Common mistake:** leaving `</s>` out of the average, or averaging over words instead of tokens while
# > the model predicted `</s>` too. Mikolov's PTB figures count `</s>` (82,430 test tokens); dropping it moves
# > a 5-gram perplexity by 7-15%. The harness reports both per token and per word, and says which.
#
# > **Common mistake:** comparing perplexities across tokenizers or vocabularies. A model whose vocabulary
# > maps more words to `<unk>` predicts fewer distinct things and looks better. Compare bits per character.

# %% [markdown]
# ## 4. Smoothing, side by side
# - **MLE**: the counts as they are. Any unseen word in the test text makes perplexity infinite.
# - **add-k** (Laplace is k=1): add k to every count, (c(h w) + k) / (c(h ·) + kV). It takes far too much
#   mass from seen n-grams when V is large, and gets *worse* with order, because almost every context is
#   rare.
# - **Interpolated Kneser-Ney**: subtract a discount D from every seen count and give the freed mass to the
#   lower order, p(w | h) = max(c(h w) - D, 0)/c(h ·) + γ(h) p_lower(w | h'). Its key idea: the lower-order
#   distribution counts how many *different* words precede w (continuation counts), not how often w occurs
#   ("Francisco" is frequent but only after "San").
# - **Modified Kneser-Ney** (Chen & Goodman): three discounts D1, D2, D3+ per order, from the counts of
#   counts n1..n4:

# %%
show(discount_table)

# %% [markdown]
# Every smoothing except stupid backoff is a proper distribution: for any context, seen or not, the
# probabilities of the whole vocabulary plus `</s>` sum to 1.

# %%
mkn3 = NGramLM.from_ids(NGramConfig(order=3), tokenizer, train_ids)
for context in ([], tokenizer.encode("The Prime Minister")[:-1], tokenizer.encode("purple bushfire banana")[:-1]):
    total = np.exp(mkn3.next_log_probs(context)).sum()
    print(f"context {tokenizer.decode(context)!r:<28} sum of p(w | context) = {total:.12f}")
    assert math.isclose(total, 1.0)

# %%
smoothings = {"MLE": dict(smoothing="mle"), "add-1": dict(smoothing="add-k", add_k=1.0),
              "add-0.01": dict(smoothing="add-k", add_k=0.01), "Kneser-Ney": dict(smoothing="kneser-ney"),
              "modified Kneser-Ney": dict(smoothing="modified-kneser-ney")}
orders = list(range(1, MAX_ORDER + 1))
table = {}
for name, options in smoothings.items():
    table[name] = []
    for order in orders:
        model = NGramLM.from_ids(NGramConfig(order=order, **options), tokenizer, train_ids)
        table[name].append(score_text(model, corpus.test, spelling_model(corpus))["perplexity"])
print(f"{'test perplexity':<22}" + "".join(f"{'order ' + str(o):>11}" for o in orders))
for name, row in table.items():
    print(f"{name:<22}" + "".join(f"{p:>11.1f}" for p in row))
assert all(math.isinf(p) for p in table["MLE"])
assert table["modified Kneser-Ney"][2] < table["Kneser-Ney"][2] < table["add-0.01"][2] < table["add-1"][2]
for name, key, order, (low, high) in (("add-1", "add1", 1, (1000, 1100)), ("add-1", "add1", 2, (2500, 2700)),
                                       ("add-0.01", "add001", 2, (1000, 1050)), ("Kneser-Ney", "kn", 2, (420, 440)),
                                       ("Kneser-Ney", "kn", 3, (395, 415)), ("modified Kneser-Ney", "mkn", 3, (375, 390))):
    claim(f"{key}_order{order}_perplexity", table[name][order - 1], full=(low, high), quick=(low, high),
          text=f"{name}, order {order}")
try:
    ptb = next(r for r in read_result("ngram_ptb.json", "ptb") if (r["smoothing"], r["order"]) == ("modified-kneser-ney", 5))
    claim("ptb_mkn5_perplexity", ptb["test_perplexity"], full=(141.1, 141.3), quick=(141.1, 141.3),
          text=f"PTB, order 5; SRILM published {ptb['published_srilm']}", source="benchmarks/results/ngram_ptb.json")
except FileNotFoundError:
    print("benchmarks/results/ngram_ptb.json is not here: run benchmarks/ngram_ptb.py to measure PTB")

fig, ax = plt.subplots(figsize=(6, 4))
for name, row in table.items():
    if name != "MLE":
        ax.plot(orders, row, marker="o", label=name)
ax.set_yscale("log")
ax.set_xticks(orders)
ax.set_xlabel("n-gram order")
ax.set_ylabel("test perplexity per token (log scale)")
ax.set_title("Smoothing on the Lee corpus (MLE: infinite at every order)")
ax.legend()
fig.tight_layout()
save_and_show(fig, OUT / "perplexity_by_order.png")

# %% [markdown]
# > **Common mistake:** giving Kneser-Ney's lower orders raw counts, or continuation counts to n-grams that
# > start with `<s>` (nothing can precede `<s>`, so their continuation count would be zero). SRILM keeps raw
# > counts for those; with that rule this library matches SRILM's PTB figure to 0.01%.
#
# > **Common mistake** (nltk.lm issues #2599, #3065, #3211): an unseen context or an unknown word giving a
# > division by zero or infinite perplexity. Here the unigram level is interpolated with the uniform
# > distribution, so `<unk>` and words never seen get probability mass, and an unseen context backs off to
# > a shorter one.
#
# **Stupid backoff** (Brants et al. 2007) skips normalisation: relative frequency, else 0.4 times the score
# of the shorter context. It is cheap and works for ranking in huge systems, but its scores do not sum to
# one, so it has no perplexity. The library refuses to compute one:

# %%
stupid = NGramLM.from_ids(NGramConfig(order=3, smoothing="stupid-backoff"), tokenizer, train_ids)
try:
    stupid.token_log_probs(test_ids)
except LmzooError as err:
    print("LmzooError:", err)

# %% [markdown]
# ## 5. Samples at each order
# Generation draws the next word from p(w | context) until `</s>`. The sampler calls the very function
# the scorer uses (`next_log_probs`), so it samples the probabilities that the perplexity measured. A
# unigram model produces word salad; by order 3-4 phrases are local copies of the training text, which is
# what a small corpus allows.

# %%
for order in orders:
    model = NGramLM.from_ids(NGramConfig(order=order), tokenizer, train_ids)
    sample = model.generate("The", max_length=25, sampler="top_k", top_k=20, seed=order)[0]
    print(f"order {order}: The {sample.strip()}")

# %% [markdown]
# ## 6. Sharing the model: ARPA files
# The backoff form of the model (one log10 probability per seen n-gram, one backoff weight per context)
# is the ARPA format that SRILM and KenLM read. Units matter: ARPA and KenLM use log10, the harness uses
# natural logs; `lmzoo.models.arpa` converts in one place. `lmzoo export RUN --format arpa --out lm.arpa`
# does the same from the command line.

# %%
path = OUT / "lee_trigram.arpa"
write_arpa(mkn3, path)
print("\n".join(path.read_text().splitlines()[:12]))
sentence = "The fire was contained today ."
ours = nats_to_log10(mkn3.token_log_probs(tokenizer.encode(sentence))).sum()
print(f"log10 p(sentence): ours {ours:.5f}; read back from ARPA "
      f"{nats_to_log10(read_arpa(path, tokenizer).token_log_probs(tokenizer.encode(sentence))).sum():.5f}")
try:
    import kenlm

    print(f"KenLM on our file: {kenlm.Model(str(path)).score(sentence, bos=True, eos=True):.5f}")
except ImportError:
    print("KenLM is not installed (pip install kenlm); skipping the cross-check")

# %% [markdown]
# ## Summary
# - An n-gram model estimates p(w | last n-1 words) by counting; counting is fast and exact, but new text is
#   full of n-grams never seen (84-87% [unseen_3_percent] of test trigrams here), so unsmoothed estimates
#   are zero and perplexity infinite.
# - Add-k fixes the zeros badly; interpolated (modified) Kneser-Ney discounts seen counts and backs off to
#   continuation counts, and is the strongest count-based model (PTB 5-gram: 141.2 [ptb_mkn5_perplexity]).
# - Perplexity = exp(cross-entropy per token): lower is better, count `</s>`, and compare only models
#   with the same tokens (or use bits per character).
# - The n-gram has no notion of similarity: "Tuesday" teaches it nothing about "Wednesday". Lesson 01b
#   measures that limit and builds the bridge: the count bigram as a one-layer network, then shared
#   embeddings; word vectors (lesson 02) and neural language models follow.
#
# ## Exercises
# 1. Train `lmzoo train ngram --set order=5 --set smoothing=modified-kneser-ney` and evaluate it. How much
#    does order 5 gain over order 3 on Lee, and why so little? (Look at the sparsity figure.)
# 2. Kneser-Ney with a fixed discount: `NGramConfig(smoothing="kneser-ney", discount=d)` for d from 0.1 to
#    1.0. Plot test perplexity against d and compare with the estimate n1 / (n1 + 2 n2).
# 3. Find the k of add-k that minimises *validation* perplexity for a bigram model, then report its test
#    perplexity. Does it get near Kneser-Ney?
# 4. Train a character-level model (`--set tokenizer=char`) at orders 3, 5 and 8 and compare bits per
#    character with the word model's (`lmzoo evaluate` prints both).
# 5. Show by sampling 10,000 next words after "The" that the sampler's frequencies match
#    `exp(model.next_log_probs(...))` (a chi-square test, as `tests/test_ngram.py` does).
# 6. **Build it: interpolated smoothing.** Add-k gives every unseen word the same share; interpolation
#    gives it the word's unigram share instead. From the pair counts of `train_ids` (read with `<s>`
#    before each sentence, as `lmzoo.models.ngram.sentence_stream` does), write
#    `next_log_probs(previous_id)` returning the natural log of p(w | v) = λ c(v w) / c(v) + (1 − λ)
#    p_add-k(w) for every id w (probability 0 for `<pad>` and `<s>`; an unseen v backs off to the
#    unigram), and choose λ and k on `corpus.valid`. Check it with
#    `lmzoo.lesson.check_bigram(next_log_probs, tokenizer, corpus.test,
#    target=math.log2(table["add-0.01"][1]))`: every row must be a distribution, and you should
#    reach a test perplexity at most the add-0.01 bigram's 1,000-1,050
#    [add001_order2_perplexity]. How close do you get to Kneser-Ney's bigram (420-440
#    [kn_order2_perplexity]), and what does discounting do that interpolation alone does not?
#    Solution: `lessons/solutions/01_ngram.py` (the tests run it).

# %% [markdown]
# ## Measured in this run
# Every figure this lesson quotes, as this run measured it or read it from a results file, beside the
# range its text states for this mode (`lmzoo.lesson.measured_table`, from the run's `claims.json`).

# %%
from lmzoo.lesson import measured_table

measured_table()
