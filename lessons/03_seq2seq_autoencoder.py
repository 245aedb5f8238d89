# %% [markdown]
# # Lesson 03 — Encoder and decoder: a GRU sentence autoencoder
#
# **The question:** Can a network squeeze a whole sentence into one vector and write it back, and
# where does that break?
#
# **What you will learn:** how an encoder compresses a sentence into one latent vector and a decoder
# writes it back; what teacher forcing is, how scheduled sampling mixes it with free running, and
# what exposure bias does to greedy decoding; how the size of the bottleneck limits what a latent
# code can hold, and how attention removes that limit; what the latent space is good for
# (sentence embeddings, nearest neighbours, interpolation).
#
# **Prerequisites:** lesson 00 (tokens, padding), lesson 02 (embeddings); a GRU is a recurrent layer
# that reads one token at a time and carries a state vector.
#
# **Run time:** quick mode (`LMZOO_QUICK=1`) about 25 s on 2 CPU cores with tiny models; the full
# lesson (nine models trained on `lee`) took 21 minutes on 2 CPU cores shared at load 6 (594 s of
# CPU time; `benchmarks/results/lessons_full/03_seq2seq_autoencoder.json`).
#
# **Expected** (each figure is measured as the lesson runs, or read from a results file; the name in
# brackets is the line the run prints beside it): on `lee` (2,000 training sentences, a minute of training
# each) the full run's largest bottleneck model (latent 256) reconstructs held-out sentences with only
# 0.02-0.06 [bottleneck_accuracy] token accuracy (a fixed-size latent learnt in a minute keeps little
# beyond frequent words), while attention at the same size reaches 0.55-0.75 [attention_accuracy] and
# shows a near-diagonal heatmap. Exposure bias is visible: the teacher-forced model predicts 0.25-0.4
# [teacher_forced_accuracy] of next tokens right given the true prefix but only 0.03-0.08
# [free_running_accuracy] when it decodes freely. In quick mode every number is low and noisy; only the
# mechanics are checked. On Penn Treebank, `benchmarks/seq2seq_ptb.py` gives the same plot at scale:
# attention models reach 0.95-0.99 [ptb_attention_accuracy] held-out token accuracy, bottleneck models
# at most 0-0.1 [ptb_bottleneck_accuracy] on its short budget (`benchmarks/results/seq2seq_ptb.json`).
#
# **Library modules used:** `lmzoo.models.seq2seq` (the model, training, decoding),
# `lmzoo.models.sampling` (beam search), `lmzoo.harness.score_reconstruction` (token accuracy, exact
# match, BLEU, conditional NLL), `lmzoo.datasets` (corpus, tokenizer, padded batches), `lmzoo.lesson`.

# %%
import json
import time

import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from lmzoo import lesson, train
from lmzoo.datasets import load_corpus
from lmzoo.datasets.batching import padded_sentences
from lmzoo.datasets.tokenizers import BOS, fit_tokenizer
from lmzoo.harness import score_reconstruction
from lmzoo.models import seq2seq
from lmzoo.runs import RunDir

QUICK = lesson.quick()
OUT = lesson.output_dir("03_seq2seq_autoencoder")
corpus = load_corpus("lee")
# Quick mode shrinks everything so the lesson runs in seconds; numbers are then only illustrative.
SMALL = {"max_sentences": 300, "epochs": 1.0, "latent_dim": 32, "embedding_dim": 32, "context": 20,
         "checkpoint_every_n_steps": 5, "monitor_sentences": 16} if QUICK else {"checkpoint_every_n_steps": 40}
held_out = [s for s in corpus.sentences("test") if len(s.split()) <= 25][: 40 if QUICK else 200]
print(f"{len(corpus.sentences('train'))} training sentences; {len(held_out)} held-out sentences for scoring")

# %% [markdown]
# ## 1. The data flow
#
# The encoder reads the sentence (word embeddings into a GRU). Its **final state** is the latent
# vector z: everything the decoder will know about the sentence. The decoder is a second GRU whose
# state starts at z; at each step it reads the previous token and predicts the next, from `<s>` to
# `</s>`. Its output is scored against the embedding table itself (tied weights). The attention
# variant lets each decoder step also look back at every encoder state (dashed).

# %%
fig, ax = plt.subplots(figsize=(10, 3.6))
ax.set_axis_off()
boxes = {
    "tokens\n'the fire spread </s>'": (0.07, 0.75), "embedding\n(V × E)": (0.25, 0.75),
    "encoder GRU\n(whole sequence)": (0.45, 0.75), "latent z\n(final state)": (0.65, 0.75),
    "'<s> the fire spread'\n(previous tokens)": (0.07, 0.2), "embedding\n(shared)": (0.25, 0.2),
    "decoder GRU\nstate starts at z": (0.45, 0.2), "output · embeddingᵀ\n→ p(next token)": (0.68, 0.2),
    "'the fire spread </s>'\n(targets)": (0.9, 0.2),
}
for text, (x, y) in boxes.items():
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5,
            bbox={"boxstyle": "round", "fc": "#fdf1d6" if "latent" in text else "#e8f0fb"})
arrows = [((0.16, 0.75), (0.2, 0.75)), ((0.3, 0.75), (0.39, 0.75)), ((0.51, 0.75), (0.6, 0.75)),
          ((0.65, 0.66), (0.48, 0.3)), ((0.16, 0.2), (0.2, 0.2)), ((0.3, 0.2), (0.39, 0.2)),
          ((0.51, 0.2), (0.6, 0.2)), ((0.76, 0.2), (0.815, 0.2))]
for start, end in arrows:
    ax.annotate("", end, start, arrowprops={"arrowstyle": "->", "lw": 1.4})
ax.annotate("", (0.66, 0.3), (0.47, 0.66), arrowprops={"arrowstyle": "->", "ls": "--", "color": "tab:red"})
ax.text(0.6, 0.5, "attention (variant):\nencoder states", color="tab:red", fontsize=8)
ax.text(0.07, 0.02, "teacher forcing: the previous token is the true one (or, with probability 1 − ratio, the model's own guess)",
        fontsize=8, style="italic")
ax.set_title("GRU seq2seq autoencoder: data flow")
lesson.save_and_show(fig, OUT / "data_flow.png", dpi=110)

# %% [markdown]
# ## 2. Sentences, padding and masking
#
# Sentences come from `corpus.sentences(split)` and the shared word tokenizer; each gets `</s>`, and a
# batch is padded with id 0 to its longest sentence. Padding must never count: the encoder skips
# masked steps (its final state is the state after the last real token), attention gives padding
# weight 0, and the loss is a mean over real tokens only. `tests/test_seq2seq.py` checks that a
# sentence scores the same with 0 or 20 padding columns.

# %%
batch = next(iter(padded_sentences([[5, 6, 7], [8, 9]], batch_size=2, add_eos=True)))
print("padded batch (0 = <pad>, 3 = </s>):\n", batch.numpy())
lesson.show(seq2seq.Seq2SeqNetwork.compute_loss)

# %% [markdown]
# ## The objective, written out
#
# The autoencoder is trained to give its own input a high probability, one token at a time, each step
# conditioned on the encoding enc(x) and on the true previous tokens:
#
#     loss(x) = −Σ_t log p(x_t | x_<t, enc(x))        (t runs over the real tokens, `</s>` included)
#
# `compute_loss` above is this sum divided by the number of real tokens in the batch. The check below
# computes it by hand from the network's logits, one position at a time, and compares.
#
# > **Common mistake: the articles' autoencoder code (article 001).** Its sketch
# > 1. indexes the **batch** axis where it means **time** (`input[i]` with `i` over sequence steps reads
# >    sentence i, not word i): a recurrent layer must step along axis 1 of a (batch, time) tensor;
# > 2. returns only the **last** decoder output, so there is no per-step prediction and no per-step loss
# >    (the objective above needs a distribution at every t);
# > 3. uses names it never defines (`initHidden`, `SOS_token`): the first decoder input is the start
# >    token `<s>` (`BOS`), and the decoder's first state is the encoder's final state, not a fresh zero;
# > 4. adds a dense `fc` after the encoder GRU that nothing needs: the final GRU state already is the
# >    latent vector (a projection only matters when encoder and decoder widths differ).
# >
# > The corrected loop is the library's `_teacher_forced`: one GRU call over the whole (batch, time)
# > sequence, logits at **every** step, the loss summed over steps with padding masked.
#
# > **Common mistake: "GPT is an autoencoder".** It is not. An autoencoder encodes x and rebuilds it, so
# > its decoder conditions on enc(x), a summary of the very text it predicts. GPT (lesson 05) is an
# > **autoregressive decoder** alone: it maximises Σ_t log p(x_t | x_<t) with no encoder and no enc(x),
# > and generates by feeding each predicted token back in. That is why this model's conditional
# > bits per character can never be compared with a language model's.

# %%
check_config = seq2seq.Seq2SeqConfig(latent_dim=16, embedding_dim=16)
check_tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split, eos_per_line=False)
check_net = seq2seq.build_network(check_config, check_tokenizer.vocabulary_size())
check_ids = seq2seq.pad_ids([check_tokenizer.encode(s)[:12] for s in held_out[:4]])
logits = ops.convert_to_numpy(check_net(check_ids)).astype(np.float64)  # (batch, time, vocabulary)
total, count = 0.0, 0
for b in range(check_ids.shape[0]):
    for t in range(check_ids.shape[1]):  # step along TIME, one distribution per position
        if check_ids[b, t] == 0:
            continue  # padding: not a token of the sentence
        row = logits[b, t] - logits[b, t].max()
        total -= row[check_ids[b, t]] - np.log(np.exp(row).sum())  # −log p(x_t | x_<t, enc(x))
        count += 1
library_loss = float(check_net.compute_loss(y=check_ids, y_pred=logits.astype("float32")))
print(f"−Σ_t log p(x_t | x_<t, enc(x)) / tokens by hand {total / count:.5f}; compute_loss {library_loss:.5f}")
assert abs(total / count - library_loss) < 1e-4

# %% [markdown]
# ## 3. Common mistake: teacher forcing once per batch, and a hand-made encoder loop
#
# > **Common mistake.** The articles' sketch draws one random number per *batch* —
# > `use_tf = random.random() < teacher_forcing_ratio` — and then feeds either only true tokens or
# > only predictions for the whole batch; and it runs the encoder one token at a time in a Python
# > loop. Scheduled sampling means a coin per *step and per sentence*. The encoder needs no loop at
# > all: a GRU layer consumes the whole padded sequence in one call (masking included). It gives the
# > same states with less code, and inside a compiled training step (or with cuDNN on a GPU) it runs
# > as one fused loop; in eager mode on a CPU the two timings below are of the same order.
#
# First, the encoder: a hand-made loop over the GRU cell gives the same final state as the layer.

# %%
tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split, eos_per_line=False)
probe_config = seq2seq.Seq2SeqConfig(latent_dim=64, embedding_dim=32, attention=True)
probe = seq2seq.Seq2SeqAutoencoder(probe_config, tokenizer,
                                   seq2seq.build_network(probe_config, tokenizer.vocabulary_size()))
ids = seq2seq.pad_ids(probe.ids(held_out[:16]))
net = probe.network
embedded = net.embedding(ids)


def hand_made_encoder_loop():
    """Teaching code: the articles' loop, one token at a time; padding keeps the old state."""
    state = ops.zeros((ids.shape[0], 64))
    for t in range(ids.shape[1]):
        new_state, _ = net.encoder.cell(embedded[:, t], state)
        state = ops.where((ids[:, t] != 0)[:, None], new_state, state)
    return state


seconds = {}
for name, fn in (("hand-made loop", hand_made_encoder_loop), ("one GRU call", lambda: net.encode_ids(ids)["latent"])):
    fn()  # warm up, so that neither timing includes one-off setup
    start = time.perf_counter()
    for _ in range(3):
        fn()
    seconds[name] = (time.perf_counter() - start) / 3
state, latent = hand_made_encoder_loop(), net.encode_ids(ids)["latent"]
np.testing.assert_allclose(ops.convert_to_numpy(state), ops.convert_to_numpy(latent), atol=1e-5)
print(", ".join(f"{k} {v * 1000:.0f} ms" for k, v in seconds.items()), "- and the same final state")

# %% [markdown]
# Now teacher forcing. `scheduled_decode` returns the token actually fed at every step; with ratio 0.5
# the true token (green) and the model's own prediction (white; green only where it happens to be
# right) are mixed within each sentence and within each step. The per-batch version would give all-green or all-white images.

# %%
enc = net.encode_ids(ids)
fig, axes = plt.subplots(1, 3, figsize=(11, 3))
truth = np.concatenate([np.full((ids.shape[0], 1), BOS), ids[:, :-1]], axis=1)
for ax, ratio in zip(axes, (0.0, 0.5, 1.0), strict=True):
    _, fed = net.scheduled_decode(ids, enc, ratio)
    ax.imshow(ops.convert_to_numpy(fed) == truth, cmap="Greens", vmin=0, vmax=1, aspect="auto")
    ax.set_title(f"ratio {ratio}: true token fed (green)")
    ax.set_xlabel("decoder step")
axes[0].set_ylabel("sentence")
fig.tight_layout()
lesson.save_and_show(fig, OUT / "teacher_forcing_coins.png", dpi=110)
lesson.show(seq2seq.Seq2SeqNetwork.scheduled_decode)

# %% [markdown]
# ## 4. Teacher forcing against free running
#
# We train the same small model three ways: ratio 1 (always teacher forcing, the fast whole-sequence
# path), ratio 0 (free running: the decoder always reads its own argmax, through a `keras.ops.scan`
# loop) and scheduled sampling (ratio decaying from 1 to 0.5). Each run logs its training loss and,
# at each checkpoint, the **free-running** greedy token accuracy on held-out sentences.

# %%
runs = {}
variants = {"teacher forcing (1.0)": {}, "free running (0.0)": {"teacher_forcing_ratio": 0.0}}
if not QUICK:  # a third run is too slow for quick mode
    variants["scheduled 1.0 → 0.5"] = {"teacher_forcing_ratio": 1.0, "teacher_forcing_final": 0.5}
for i, (name, options) in enumerate(variants.items()):
    start = time.perf_counter()
    model = train("seq2seq", corpus, OUT / f"run_{i}", overwrite=True, preset=lesson.preset(), **{**SMALL, **options})
    runs[name] = (model, RunDir(OUT / f"run_{i}").read_metrics())
    print(f"{name}: trained in {time.perf_counter() - start:.0f} s")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
for name, (_, records) in runs.items():
    ax1.plot([r["step"] for r in records], [r["loss"] for r in records], label=name)
    ax2.plot([r["step"] for r in records], [r.get("free_running_token_accuracy", np.nan) for r in records], label=name)
ax1.set(xlabel="step", ylabel="training loss (nats/token)", title="loss on the inputs each run was fed")
ax2.set(xlabel="step", ylabel="greedy token accuracy", title="free-running accuracy, held out")
ax1.legend(fontsize=8)
fig.tight_layout()
lesson.save_and_show(fig, OUT / "teacher_forcing_curves.png", dpi=110)

# %% [markdown]
# **Exposure bias.** A teacher-forced model only ever saw true prefixes. At inference it reads its
# own outputs, and one early mistake puts it in states it never trained on. Compare the accuracy of
# each next-token prediction given the *true* prefix with greedy decoding's accuracy:

# %%
model = runs["teacher forcing (1.0)"][0]
padded = seq2seq.pad_ids(model.ids(held_out))
logits = model.network(padded)  # teacher-forced: every step reads the true previous token
mask = padded != 0
teacher_forced_accuracy = float(((ops.convert_to_numpy(logits).argmax(-1) == padded) & mask).sum() / mask.sum())
free = score_reconstruction(model, held_out)
lesson.claim("teacher_forced_accuracy", teacher_forced_accuracy, full=(0.25, 0.4), quick=(0.0, 0.3),
             text="next-token accuracy given the true prefix")
lesson.claim("free_running_accuracy", free["reconstruction_token_accuracy"], full=(0.03, 0.08), quick=(0.0, 0.2),
             text="greedy decoding from the model's own outputs")

# %% [markdown]
# ## 5. The bottleneck: accuracy against latent size (and against sentence length)
#
# Everything the plain decoder knows passes through z. A small z holds the gist (frequent words,
# length); a larger one holds more words. Attention side-steps the bottleneck, so it is shown too.

# %%
sizes = [8, 32] if QUICK else [16, 64, 256]
points = [(False, s) for s in sizes] + [(True, s) for s in (sizes[-1:] if QUICK else sizes)]
sweep = {}
for attention, size in points:
    if QUICK and (attention, size) == (False, SMALL["latent_dim"]):
        m = runs["teacher forcing (1.0)"][0]  # the same configuration was trained above
    else:
        options = {**SMALL, "latent_dim": size, "attention": attention, "monitor_sentences": 0}
        m = train("seq2seq", corpus, OUT / f"sweep_{attention}_{size}", overwrite=True, preset=lesson.preset(), **options)
    sweep[(attention, size)] = (m, score_reconstruction(m, held_out))
    print(f"attention={attention} latent={size}: token accuracy "
          f"{sweep[(attention, size)][1]['reconstruction_token_accuracy']:.3f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
for attention in (False, True):
    xs = [s for a, s in points if a == attention]
    ax1.plot(xs, [sweep[(attention, s)][1]["reconstruction_token_accuracy"] for s in xs], "o-",
             label="attention" if attention else "bottleneck only")
ax1.set_xscale("log", base=2)
ax1.set_xticks(sizes, [str(size) for size in sizes])
ax1.minorticks_off()
ax1.set(xlabel="latent size", ylabel="held-out token accuracy", title="bottleneck plot (lee)")
ax1.legend()
largest, _ = sweep[(False, sizes[-1])]
outputs = largest.reconstruct(held_out)
by_length: dict[int, list[float]] = {}
for ref, hyp in zip(held_out, outputs, strict=True):
    r, h = largest.tokenizer.encode(ref), largest.tokenizer.encode(hyp)
    by_length.setdefault(min(len(r) // 5 * 5, 30), []).append(np.mean([a == b for a, b in zip(r, h, strict=False)] + [0] * (len(r) - len(h))))
lengths = sorted(by_length)
ax2.bar([str(b) for b in lengths], [np.mean(by_length[b]) for b in lengths])
lesson.claim("bottleneck_accuracy", sweep[(False, sizes[-1])][1]["reconstruction_token_accuracy"], full=(0.02, 0.06),
             quick=(0.0, 0.2), text=f"latent {sizes[-1]}, no attention")
lesson.claim("attention_accuracy", sweep[(True, sizes[-1])][1]["reconstruction_token_accuracy"], full=(0.55, 0.75),
             quick=(0.0, 0.3), text=f"latent {sizes[-1]}, attention")
ax2.set(xlabel="sentence length (tokens, bucket start)", ylabel="token accuracy",
        title=f"bottleneck model (latent {sizes[-1]}) by length")
fig.tight_layout()
lesson.save_and_show(fig, OUT / "bottleneck.png", dpi=110)
try:
    ptb_rows = lesson.read_result("seq2seq_ptb.json", "rows")
    best = {attention: max(r["reconstruction_token_accuracy"] for r in ptb_rows if r["attention"] == attention)
            for attention in (False, True)}
    source = "benchmarks/results/seq2seq_ptb.json"
    lesson.claim("ptb_attention_accuracy", best[True], full=(0.95, 0.99), quick=(0.95, 0.99),
                 text="PTB, best attention model", source=source)
    lesson.claim("ptb_bottleneck_accuracy", best[False], full=(0.0, 0.1), quick=(0.0, 0.1),
                 text="PTB, best bottleneck model", source=source)
except FileNotFoundError:
    print("benchmarks/results/seq2seq_ptb.json is not here: run benchmarks/seq2seq_ptb.py for the PTB plot")

# %% [markdown]
# ## 6. Attention: where each output word looked
#
# The heatmap shows, for each output token (rows), the attention weights over the input tokens
# (columns). A trained attention autoencoder learns a near-diagonal: to copy word i it looks at word
# i. (In quick mode the model is barely trained and the map is blurry.)

# %%
attentive, _ = sweep[(True, sizes[-1])]
source, target, weights = attentive.attention_weights(held_out[0])
fig, ax = plt.subplots(figsize=(7, 6))
ax.imshow(weights, cmap="viridis", aspect="auto")
ax.set_xticks(range(len(source)), source, rotation=90, fontsize=7)
ax.set_yticks(range(len(target)), target, fontsize=7)
ax.set(xlabel="input tokens", ylabel="output tokens", title="additive attention weights")
fig.tight_layout()
lesson.save_and_show(fig, OUT / "attention_heatmap.png", dpi=110)

# %% [markdown]
# ## 7. The latent space: embeddings, neighbours, interpolation
#
# `encode` gives each sentence its latent vector, usable as a sentence embedding; nearest neighbours
# by cosine find sentences the model considers alike. Walking the straight line between two latents
# and decoding each point shows what the space has organised (Bowman et al. 2016): good latent
# spaces give grammatical sentences that morph from one end to the other. Our `lee` model is small and
# trained for a minute, so expect the gist to morph (an opening quote, "We ...", the length) rather
# than exact words; a bottleneck that cannot reconstruct a sentence cannot interpolate it either.

# %%
candidates = corpus.sentences("train")[:300]
for sentence, score in largest.nearest_sentences(held_out[1], candidates, topn=3):
    print(f"{score:.2f}  {sentence}")
# Two short training sentences: the bottleneck model writes those back best.
a, b = [s for s in corpus.sentences("train") if len(s.split()) <= 10][:2]
path = largest.interpolate(a, b, steps=5)
print(json.dumps({"from": a, "to": b}, indent=1))
for i, text in enumerate(path):
    print(f"  {i / 4:.2f}: {text}")

# %% [markdown]
# ## Summary
#
# - An autoencoder's encoder writes a sentence into one vector; the decoder must rebuild it from that
#   vector alone, so the latent size is a hard limit (the bottleneck plot) — attention removes it.
# - Teacher forcing trains fast and stably but hides exposure bias; scheduled sampling flips a coin
#   per step and per sentence; the encoder needs no hand-made loop.
# - The conditional NLL that `lmzoo evaluate` reports for this model is conditioned on the sentence
#   itself: never compare it with a language model's perplexity.
#
# ## Exercises
#
# 1. Implement per-batch teacher forcing (one coin per batch) as a variant and compare its
#    free-running accuracy curve with per-step scheduled sampling at the same ratio.
# 2. Train with `--set bidirectional=True` and compare the bottleneck plot. Why does reading the
#    sentence in both directions help the first words most?
# 3. Plot reconstruction accuracy against position in the sentence for the bottleneck model. Which
#    words are lost first?
# 4. Decode with `reconstruct(..., num_beams=4)` and with different `length_penalty` values; when
#    does beam search beat greedy, and when does it prefer short outputs?
# 5. Interpolate between a sentence and itself with a word changed. Is the path smooth?
# 6. **Build it: greedy decoding.** Write `greedy_reconstruct(model, sentences)` over the network's
#    two halves: `model.network.encode_ids(seq2seq.pad_ids(model.ids([s])))` gives the encoding `enc`,
#    whose `enc["latent"]` is the decoder's first state (pass `[enc["latent"]]`: one state per decoder
#    layer); `model.network.decode_step(tokens, states, enc)` is one decoder step. Feed `<s>` (`BOS`) first, then each step's argmax, and stop at `</s>`
#    (`EOS`) or after `model.config.context + 1` tokens. Check it with
#    `lmzoo.lesson.check_reconstruction(your_outputs, largest, held_out)`: the target is the library's
#    `reconstruct`, sentence for sentence, so your decoder scores the same 0.02-0.06
#    [bottleneck_accuracy] token accuracy. Then feed the *true* previous word instead of the argmax:
#    how much higher is the accuracy, and which section measured that gap? Solution:
#    `lessons/solutions/03_seq2seq_autoencoder.py` (the tests run it).

# %% [markdown]
# ## Measured in this run
# Every figure this lesson quotes, as this run measured it or read it from a results file, beside the
# range its text states for this mode (`lmzoo.lesson.measured_table`, from the run's `claims.json`).

# %%
from lmzoo.lesson import measured_table

measured_table()
