# %% [markdown]
# # Lesson 02: word vectors with Word2Vec
#
# **The question:** Counting treats every word as unrelated to every other. Can a vector per word,
# learned from its neighbours, capture that "fire" and "blaze" are alike?
#
# **What you will learn:** why one-hot word ids carry no meaning and dense vectors can; the skip-gram
# and CBOW objectives with negative sampling, written out; the three tricks that make Word2Vec work
# (subsampling frequent words, a dynamic window, noise words from unigram^0.75); how to read training
# curves; a 2-D PCA map of frequent words; similarity and analogy queries; how our Keras model
# compares with gensim's Word2Vec trained on the same words with the same settings.
#
# **Prerequisites:** lesson 00 (tokens and ids) and lesson 01 (n-gram counts: Word2Vec learns from the
# same co-occurrences, but compresses them into vectors).
#
# **Run time:** about 20-30 s in quick mode (`LMZOO_QUICK=1`) and 25-60 s in full, on 2 CPU cores
# (start-up and compiling take much of it; more on a busy machine).
#
# **Expected results** (each figure is measured as the lesson runs, or read from
# `benchmarks/results/word2vec.json`; the name in brackets is the line the run prints beside it): on Lee
# (48k training words) an untrained model scores 6·ln 2 = 4.16 nats per example with 5 noise words; the
# loss falls to 1.9-2.2 [final_loss] after the 30 epochs of the default run (2.5-3.0 [quick:final_loss]
# after the 3 epochs of quick mode). On Lee, 60-75% [ws353_oov_percent] of WordSim353's pairs are out of
# vocabulary, so its Spearman rests on a hundred-odd pairs and a bootstrap interval around it is
# 0.2-0.45 [ws353_interval_width] wide: too wide to rank methods on Lee (the PTB figures below can). The
# neighbours of "fire" are topical.
# On PTB (900k words, `benchmarks/word2vec.py`) gensim's 5 epochs at its default learning rate 0.025
# reach a WordSim353 Spearman of 0.16-0.18 [ptb_ws353_gensim_skipgram]; Keras reaches
# 0.17-0.19 [ptb_ws353_keras_skipgram] in 3 epochs (the `race` preset: learning rate 0.05, which
# SimLex-999 picks too), at 1.0-1.2× [ptb_speed_ratio_skipgram] gensim's speed (gensim's training time
# over ours, measured alone on the 2-core machine). The seeds spread widely at 3 epochs (0.14-0.21);
# 5 epochs at 0.05 reach 0.24-0.26 [ptb_ws353_keras_lr005_5_epochs], for two more epochs' time
# (`word2vec_ablation.json`).
#
# **Library modules used:** `lmzoo.models.word2vec` (`PairStream`, `SkipGramNegativeSampling`, the
# `word2vec` and `word2vec-gensim` families), `lmzoo.harness` (`score_embeddings`,
# `nearest_neighbours`), `lmzoo.datasets`, `lmzoo.lesson`.

# %%
import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from lmzoo import LmzooError, load_corpus, plots, train
from lmzoo.datasets.tokenizers import WordTokenizer
from lmzoo.harness import nearest_neighbours, score_embeddings, wordsim353_interval
from lmzoo.lesson import claim, output_dir, preset, read_result, save_and_show, show, show_saved
from lmzoo.models.word2vec import (
    PRESETS,
    PairStream,
    SkipGramNegativeSampling,
    keep_probabilities,
    noise_distribution,
    skipgram_pairs,
)
from lmzoo.runs import RunDir

OUT = output_dir("02_word2vec")
corpus = load_corpus("lee")
config = PRESETS[preset()]
print("preset:", preset(), config)

# %% [markdown]
# ## From one-hot ids to dense vectors
# A tokenizer turns each word into an id. Written as a vector, id i is **one-hot**: all zeros except a
# 1 at position i. Any two different one-hot vectors are orthogonal, so "car" is exactly as far from
# "truck" as from "banana". An **embedding** is a V × d matrix E; multiplying a one-hot row by E picks
# out row i. That product is all a Keras `Embedding` layer does, but as a lookup instead of a matrix
# product, because V is large.

# %%
vocabulary, dimension = 8, 3
E = np.random.default_rng(0).normal(size=(vocabulary, dimension)).astype("float32")
one_hot = np.eye(vocabulary, dtype="float32")[5]
layer = keras.layers.Embedding(vocabulary, dimension)
layer.build()
layer.embeddings.assign(E)
print("one-hot @ E   :", one_hot @ E)
print("Embedding(5)  :", keras.ops.convert_to_numpy(layer(np.array([5])))[0])
assert np.allclose(one_hot @ E, keras.ops.convert_to_numpy(layer(np.array([5])))[0])
print("cosine of two different one-hot vectors:", float(np.eye(vocabulary)[2] @ np.eye(vocabulary)[5]))

# %% [markdown]
# The question is how to choose E so that similar words get similar rows. Word2Vec's answer is the
# distributional hypothesis: a word is characterised by the words around it.
#
# ## The skip-gram objective with negative sampling
# Every word occurrence is a **centre** c; the words up to `window` positions away are its
# **contexts** o. Skip-gram gives each word two vectors: v_w when it is a centre (the "input" table,
# which becomes the word vectors) and u_w when it is a context (the "output" table). A full softmax
# over the vocabulary would cost V dot products per pair. **Negative sampling** replaces it with k+1
# binary questions: is (c, o) a real pair (yes), and is (c, n_i) for k random **noise words** n_i (no)?
#
#     loss(c, o) = -log σ(u_o · v_c) - Σ_{i=1..k} log σ(-u_{n_i} · v_c)
#
# Noise words are drawn from the unigram distribution raised to 0.75, which gives rare words more
# chances than their raw frequency. **CBOW** turns this around: the mean of the context vectors
# predicts the centre. Here is the loss written out in NumPy for a small batch, checked against the
# library model's `compute_loss`:

# %%
model = SkipGramNegativeSampling(vocabulary_size=20, dimension=4, negatives=3)
batch = {"inputs": np.array([4, 7, 9]), "targets": np.array([[5, 11, 12, 13], [8, 4, 15, 16], [10, 17, 18, 19]])}
model(batch)  # builds the two tables
rng = np.random.default_rng(1)
model.centre.embeddings.assign(rng.normal(scale=0.5, size=(20, 4)).astype("float32"))
model.context.embeddings.assign(rng.normal(scale=0.5, size=(20, 4)).astype("float32"))
V = keras.ops.convert_to_numpy(model.centre.embeddings)
U = keras.ops.convert_to_numpy(model.context.embeddings)


def log_sigmoid(x):
    return -np.log1p(np.exp(-x))


loss = 0.0
for c, (o, *noise) in zip(batch["inputs"], batch["targets"], strict=True):
    loss -= log_sigmoid(U[o] @ V[c]) + sum(log_sigmoid(-U[n] @ V[c]) for n in noise)
library_loss = float(model.compute_loss(x=batch, y_pred=model(batch)))
print(f"from scratch {loss:.5f}   library {library_loss:.5f}")
assert abs(loss - library_loss) < 1e-4

# %%
show(SkipGramNegativeSampling.compute_loss)

# %% [markdown]
# The loss is **summed** over the batch, not averaged: with plain SGD, each pair then gets the same
# step as in word2vec.c and gensim (learning rate 0.025, falling linearly to 0.0001), whatever the
# batch size.
#
# In training, a skip-gram row is not one pair but one centre with its whole window: the targets are
# its context words (padded with `<pad>`, which the loss ignores) followed by k noise words that serve
# as the negatives of every pair of the window. word2vec.c draws k fresh noise words per pair; sharing
# them keeps the loss and its expected gradient (each noise term counts once per pair it stands for) and
# roughly halves the embedding rows a step reads and writes, which is where a Keras step spends its time.
# A test checks that a row's loss and gradient equal those of its pairs written out one by one.
#
# ## The three tricks in the pair stream
# 1. **Subsampling**: a word with count f is kept with probability (sqrt(f/t) + 1)·t/f, t = 10⁻³ × the
#    corpus size. "the" is mostly dropped, rare words always kept; windows are taken after dropping,
#    so they reach further.
# 2. **Dynamic window**: each centre draws its reach uniformly from 1..window, so near words count more
#    (distance d is used with probability (window − d + 1)/window).
# 3. **Noise from unigram^0.75**.

# %%
tokenizer = WordTokenizer.fit(corpus.train, min_count=config.min_count, lowercase=True)
stream = PairStream(tokenizer, corpus.train, config)
keep = keep_probabilities(stream.counts, config.sample)
noise = noise_distribution(stream.counts)
unigram = stream.counts / stream.counts.sum()
print(f"{'word':<10} {'count':>6} {'keep':>6} {'unigram':>8} {'noise':>8}")
for word in ["the", "of", "said", "police", "fires", "hospital"]:
    i = tokenizer.token_to_id(word)
    print(f"{word:<10} {stream.counts[i]:>6} {keep[i]:>6.3f} {unigram[i]:>8.4f} {noise[i]:>8.4f}")

words = np.array([tokenizer.token_to_id(w) for w in "police said the fire near the town was contained".split()])
centres, contexts = skipgram_pairs(words, np.zeros(len(words), int), np.full(len(words), 2))
print("pairs with window 2:", [(tokenizer.id_to_token(c), tokenizer.id_to_token(o)) for c, o in zip(centres[:8], contexts[:8], strict=True)])

# %% [markdown]
# > **Common mistake:** labelling true contexts as negatives. Keras's old `skipgrams` helper built its
# > negatives by shuffling the context words of the batch, so real (centre, context) pairs came back
# > labelled 0 (keras-preprocessing #355). Here noise words are drawn independently of the pairs, and a
# > noise word equal to the true context is not counted (gensim skips it too). A test measures the
# > rate at which a positive pair of a batch also appears as a negative and checks it equals what chance
# > allows (a few percent on Lee, all from very frequent words).
#
# > **Common mistake:** trusting a float32 running loss. gensim's reported loss is a float32 running sum
# > that stops growing once it is large and is reset per `train()` call (gensim #2735, #3228), so
# > curves drawn from it flatten for the wrong reason. Our loss is the mean **per pair**, accumulated in
# > float64 over each epoch.
#
# ## Training: Keras skip-gram, Keras CBOW, and gensim with the same settings
# Both families go through the same `lmzoo.train` call and the same tokenizer; the gensim baseline is
# trained on exactly the words our tokenizer keeps.

# %%
runs = {}
for family, arch in [("word2vec", "skipgram"), ("word2vec", "cbow"), ("word2vec-gensim", "skipgram"),
                     ("word2vec-gensim", "cbow")]:
    name = f"{'keras' if family == 'word2vec' else 'gensim'} {arch}"
    out = OUT / name.replace(" ", "-")
    runs[name] = (train(family, corpus, out, overwrite=True, preset=preset(), arch=arch, workers=1), RunDir(out))
    print(f"{name:<16} {runs[name][1].timing()['train_seconds']:5.1f} s")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name in ("keras skipgram", "keras cbow"):
    records = [r for r in runs[name][1].read_metrics() if "epoch" in r]
    ax.plot([r["epoch"] for r in records], [r["loss"] for r in records], marker="o", label=name)
ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
ax.set_xlabel("epoch (one pass over the corpus)")
ax.set_ylabel("loss per example (nats)")
ax.set_title("Word2Vec training on Lee")
ax.legend()
fig.tight_layout()
save_and_show(fig, OUT / "training_curves.png")
final = [r for r in runs["keras skipgram"][1].read_metrics() if "epoch" in r][-1]["loss"]
claim("final_loss", final, full=(1.9, 2.2), quick=(2.5, 3.0), text="keras skip-gram loss per example, last epoch")

# %% [markdown]
# The loss falls fast in the first epoch and then slowly: most of what co-occurrence can teach about
# frequent words is learnt early. It never gets near 0: noise words are sometimes real neighbours, and
# the same centre has many different contexts.
#
# ## A 2-D map of frequent words
# PCA projects the 100-dimensional vectors onto the two directions of largest variance. It keeps only
# a little of the structure, but clusters of topic words (bushfire, police, cricket) usually show.

# %%
vectors = runs["keras skipgram"][0].word_vectors()
skip = {"the", "a", "an", "of", "to", "in", "and", "is", "was", "for", "on", "that", "it", "by", "with", "at", "as",
        "from", "be", "has", "have", "he", "his", "are", "says", "said", "s", "but", "they", "not", "this", "will",
        "been", "were", "had", "who", "their", "its", "we", "there", "or", "i", "after", "about", "would", "more"}
words = [w for w in vectors.index_to_key[:200] if w.isalpha() and w not in skip][:60]
X = np.array([vectors[w] for w in words])
X = X - X.mean(axis=0)
_, _, components = np.linalg.svd(X, full_matrices=False)
xy = X @ components[:2].T
fig, ax = plt.subplots(figsize=(8, 6))
ax.scatter(xy[:, 0], xy[:, 1], s=8, color="tab:blue")
for (x, y), w in zip(xy, words, strict=True):
    ax.annotate(w, (x, y), fontsize=8)
ax.set_title("Keras skip-gram vectors of frequent Lee words (PCA)")
fig.tight_layout()
save_and_show(fig, OUT / "pca_words.png")

# %% [markdown]
# ## Similarity and analogies
# Nearest neighbours by cosine similarity, the shared harness's `nearest_neighbours`. On 48k words
# expect topical neighbours ("government" near "minister", "opposition") more than synonyms. Analogies
# ("man is to king as woman is to ?", b − a + c) need far more text: gensim's analogy test
# questions are mostly out of vocabulary on Lee.
#
# In quick mode (3 epochs) the vectors are still undertrained: they all point in nearly the same
# direction (a mean cosine of 0.8-1.0 [quick:mean_cosine]), so every neighbour scores close to 1 and the
# lists are noise. gensim's vectors look the same after 3 epochs on Lee. The full run (30 epochs) spreads
# them out (a mean cosine of 0.1-0.4 [mean_cosine]), and the neighbours become topical.

# %%
model = runs["keras skipgram"][0]
unit = vectors.vectors[:500] / np.linalg.norm(vectors.vectors[:500], axis=1, keepdims=True)
claim("mean_cosine", (unit @ unit.T).mean(), full=(0.1, 0.4), quick=(0.8, 1.0), text="between the 500 most frequent words")
for word, neighbours in nearest_neighbours(model, ["government", "fire", "police", "australia"], topn=5).items():
    print(f"{word:<11}", ", ".join(f"{n} {s:.2f}" for n, s in neighbours))
print("similarity(fire, fires)   =", round(model.similarity("fire", "fires"), 3))
print("similarity(fire, cricket)  =", round(model.similarity("fire", "cricket"), 3))
print("australia : sydney :: afghanistan : ?", model.analogy("australia", "sydney", "afghanistan", topn=3))
try:
    model.similarity("fire", "zyzzyva")
except LmzooError as err:
    print("error:", err)

# %% [markdown]
# ## Keras against gensim
# The harness scores every embedder with the same gensim `KeyedVectors` code: Spearman correlation
# with human similarity ratings (WordSim353, SimLex-999; pairs with an unknown word are skipped and
# counted as OOV) and 3CosAdd accuracy on the Google analogies it can cover.

# %%
print(f"{'run':<16} {'WS353':>7} {'OOV':>5} {'SimLex':>7} {'analogy':>8} {'covered':>8} {'seconds':>8}")
scores = {}
for name, (m, run) in runs.items():
    s = scores[name] = score_embeddings(m)
    print(f"{name:<16} {s['wordsim353_spearman']:>7.3f} {s['wordsim353_oov']:>5.2f} {s['simlex999_spearman']:>7.3f} "
          f"{s['analogy_accuracy']:>8.3f} {s['analogy_covered']:>8} {run.timing()['train_seconds']:>8.1f}")
claim("ws353_keras_skipgram", scores["keras skipgram"]["wordsim353_spearman"],
      text="WordSim353 Spearman on Lee (noise: see the interval below)")
claim("ws353_oov_percent", 100 * scores["keras skipgram"]["wordsim353_oov"], full=(60, 75), quick=(60, 80),
      text="WordSim353 pairs out of vocabulary")



for name in ("keras skipgram", "gensim skipgram"):
    n_pairs, rho, low, high = wordsim353_interval(runs[name][0].word_vectors())
    print(f"{name}: WordSim353 Spearman {rho:.3f} on {n_pairs} pairs, 90% bootstrap interval {low:.3f} to {high:.3f}")
    if name == "keras skipgram":
        claim("ws353_pairs", n_pairs, text="WordSim353 pairs in Lee's vocabulary")
        claim("ws353_interval_width", high - low, full=(0.2, 0.45), quick=(0.2, 0.45),
              text="width of the 90% bootstrap interval of the Spearman on Lee")
lee_speed = runs["gensim skipgram"][1].timing()["train_seconds"] / runs["keras skipgram"][1].timing()["train_seconds"]
print(f"on Lee, this run: Keras skip-gram trains at {lee_speed:.2f}x gensim's speed (start-up and compiling included)")

# %% [markdown]
# On Lee the scores are noisy (few rated pairs are in the vocabulary). On a corpus twenty times larger the
# comparison means more: `benchmarks/word2vec.py` trains both libraries on PTB and tiny Shakespeare with the
# same settings and several seeds, and records quality and words per second. The lesson reads its results
# file (it never types the numbers) and draws them with `lmzoo.plots`, the module the compare job uses.

# %%
try:
    bench = read_result("word2vec.json")
    summary = bench["summary"]
    print(f"benchmarks/word2vec.py ({bench['date']}, PTB skip-gram, {bench['settings']}):")
    rows = [{"name": "raw gensim\n(token lists)", "wordsim353_spearman": summary["wordsim353_gensim_mean"],
             "train_seconds": summary["gensim_list_train_seconds_median"]},
            {"name": "Keras\n(lmzoo train)", "wordsim353_spearman": summary["wordsim353_ours_mean"],
             "train_seconds": summary["ours_train_seconds_median"]},
            {"name": "word2vec-gensim\nfamily", "wordsim353_spearman": summary["wordsim353_zoo_gensim_family_mean"],
             "train_seconds": summary["zoo_gensim_family_train_seconds_median"]}]
    for r in rows:
        print(f"{r['name'].replace(chr(10), ' '):<28} WS353 {r['wordsim353_spearman']:.3f}  {r['train_seconds']:7.1f} s")
    show_saved(plots.grouped_bars(rows, ["wordsim353_spearman"], OUT / "word2vec_vs_gensim.png",
                                  title="Word2Vec on PTB: Keras (race preset) against gensim (benchmarks/word2vec.py)"))
    show_saved(plots.bar_chart(rows, "train_seconds", OUT / "word2vec_vs_gensim_speed.png",
                               title="training seconds to gensim's WordSim353, PTB skip-gram (benchmarks/word2vec.py)"))
    source = "benchmarks/results/word2vec.json"
    claim("ptb_ws353_keras_skipgram", summary["wordsim353_ours_mean"], full=(0.17, 0.19), quick=(0.17, 0.19),
          text="PTB, Keras skip-gram, race preset", source=source)
    claim("ptb_ws353_gensim_skipgram", summary["wordsim353_gensim_mean"], full=(0.16, 0.18), quick=(0.16, 0.18),
          text="PTB, gensim skip-gram", source=source)
    claim("ptb_speed_ratio_skipgram", 1 / summary["ratio_ours_over_gensim"], full=(1.0, 1.2), quick=(1.0, 1.2),
          text="gensim's training time over ours, PTB skip-gram (our speed as a share of gensim's)", source=source)
    claim("ptb_ws353_keras_lr005_5_epochs", read_result("word2vec_ablation.json", "rows", "lr_0.05", "wordsim353_mean"),
          full=(0.24, 0.26), quick=(0.24, 0.26), text="PTB, Keras at learning rate 0.05, 5 epochs (ablation)",
          source="benchmarks/results/word2vec_ablation.json")
    claim("ptb_ws353_gensim_lr005", read_result("word2vec_ablation.json", "rows", "gensim_lr_0.05", "wordsim353_mean"),
          full=(0.27, 0.29), quick=(0.27, 0.29), text="PTB, gensim at learning rate 0.05 (ablation)",
          source="benchmarks/results/word2vec_ablation.json")
except FileNotFoundError:
    print("benchmarks/results/word2vec.json is not here: run benchmarks/word2vec.py to compare on PTB")

# %% [markdown]
# With twice gensim's learning rate the Keras model reaches gensim's score (as its users run it) in
# fewer epochs, and so sooner, on 2 CPU cores with nothing else running. That is not the same recipe: at the same 0.05, gensim reaches 0.27-0.29 [ptb_ws353_gensim_lr005] in the ablation of
# `benchmarks/results/word2vec_ablation.json` (README), because our rows update a centre's whole window
# from one point where gensim updates pair by pair. gensim runs fused C loops over one pair at a time on
# both cores; Keras gathers and scatters whole batches of rows, a centre's window at a time, in an XLA
# step that mostly uses one core.
# On a machine shared with other jobs the ratio swings widely (0.66× to 2.1× per seed in one such run),
# because gensim's threads lose more to the other jobs than one XLA thread does: time peers alone. On Lee the ratio printed
# above is far worse: a 48k-word corpus trains in seconds, so Keras's start-up and graph compiling dominate.
#
# > **Common mistake: "every word gets a vector that captures its meaning in context".** The articles'
# > central claim is context, but Word2Vec gives each word **one static vector**, whatever sentence it is
# > in. A word with several senses gets one mixture of them, weighted by how often each sense occurs:
# > the frequent sense takes the vector, and the rare one is lost or blurs the neighbours. Below, the
# > neighbours of a few words with more than one sense in the news ("bank": the West Bank or a bank;
# > "court": of law or of tennis; "party": political or a celebration; "fire": a bushfire or to fire a
# > weapon). In the full run, "bank" sits among West Bank words, so its vector says nothing about a
# > bank that lends money. The Transformer of lesson 05 gives every *occurrence* its own vector, its
# > hidden state, which changes with the sentence (lesson 05 measures how much).

# %%
for word, neighbours in nearest_neighbours(model, [w for w in ("bank", "court", "party", "fire")
                                                   if w in vectors.key_to_index], topn=8).items():
    print(f"{word:<6}", ", ".join(n for n, _ in neighbours))
print("one vector per word, whatever the sentence:", vectors["bank"].shape if "bank" in vectors.key_to_index else None)
#
# ## Summary
# - An embedding is a lookup table: one-hot times a matrix. Word2Vec learns the table from
#   co-occurrence.
# - Skip-gram with negative sampling asks k+1 yes/no questions per pair instead of a V-way softmax.
# - Subsampling, the dynamic window and unigram^0.75 noise are part of the method, not details.
# - Vectors are judged by correlation with human ratings and by analogies, and only on words they know
#   (always read the OOV rate next to the score).
#
# ## Exercises
# 1. Train with `sample=0.0` (no subsampling). What happens to the nearest neighbours of "the" and of
#    a topic word, and to the training time?
# 2. Set `ns_exponent=1.0` and then `0.0` (uniform noise). Compare WordSim353 and SimLex-999.
# 3. Vary `window` from 2 to 10 and plot SimLex-999 against it: do small windows give more "similar"
#    and large windows more "related" neighbours?
# 4. Export the vectors (`lmzoo export RUN --format projector --out proj`) and load `proj/vectors.tsv`
#    and `proj/metadata.tsv` in projector.tensorflow.org. Try its t-SNE view.
# 5. Run `benchmarks/word2vec.py --corpora ptb --seeds 1` and compare CBOW with skip-gram in quality
#    and speed. Why is CBOW faster?
# 6. **Build it: the CBOW loss.** Section "The skip-gram objective" writes the skip-gram loss out in
#    NumPy. Write CBOW's: `cbow_loss(V, U, contexts, centres, noise)`, where each row's hidden vector h
#    is the mean of the centre-table rows V of its *real* context words (`contexts` is padded with
#    `<pad>` = 0, which must not count), and the loss is −log σ(u_c · h) − Σ_n log σ(−u_n · h), summed
#    over the rows. Check it with `lmzoo.lesson.check_cbow_loss(cbow_loss)`: the target is the
#    library's CBOW `compute_loss` to 1e-4 on windows of one to four words. Solution:
#    `lessons/solutions/02_word2vec.py` (the tests run it).

# %% [markdown]
# ## Measured in this run
# Every figure this lesson quotes, as this run measured it or read it from a results file, beside the
# range its text states for this mode (`lmzoo.lesson.measured_table`, from the run's `claims.json`).

# %%
from lmzoo.lesson import measured_table

measured_table()
