# %% [markdown]
# # Lesson 03b: memory without attention, the recurrent language model
#
# **The question:** an n-gram forgets everything beyond its last few tokens. Can a network that carries
# one fixed-size state through the text beat counting, before attention exists?
#
# **What you will learn:** how a recurrent LM (LSTM or GRU) reads a text one token at a time; truncated
# back-propagation through time, and why the state must be *carried* from one training window to the
# next; LSTM against GRU; why a 10,000-way softmax dominates a CPU step, and how sampled softmax cuts it;
# why the output bias must start at the unigram (a common mistake); and the first crossing in this
# course: on Penn Treebank, an LSTM passes modified Kneser-Ney.
#
# **Prerequisites:** lesson 01 (n-grams, perplexity), lesson 02 (embeddings), lesson 03 (the GRU as an
# encoder).
#
# **Run time:** quick mode (`LMZOO_QUICK=1`) about a minute on 2 CPU cores; the full lesson about 5
# minutes on 2 shared cores (five small models trained on `lee`).
#
# **Expected results:** every figure is measured as the lesson runs or read from
# `benchmarks/results/rnnlm_ptb.json` and `ngram_ptb.json` (named where it is used); on PTB the LSTM
# scores 123.1 [ptb_lstm_test_ppl] test perplexity against modified Kneser-Ney's 141.2 [ptb_mkn5_test_ppl].
#
# **Library modules used:** `lmzoo.models.rnnlm` (the network, training, carried-state scoring),
# `lmzoo.models.window_lm` (training windows, sampled softmax), `lmzoo.harness`, `lmzoo.plots`,
# `lmzoo.lesson`.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from keras import ops

import lmzoo
from lmzoo import lesson, plots
from lmzoo.datasets import load_corpus
from lmzoo.datasets.tokenizers import BOS
from lmzoo.harness import score_text, spelling_model
from lmzoo.lesson import claim, read_result, show, show_saved
from lmzoo.models import rnnlm, window_lm

OUT = lesson.output_dir("03b_recurrent_lm")
QUICK = lesson.quick()
LN2 = math.log(2)
corpus = load_corpus("lee")
test_text = corpus.test[:4000] if QUICK else corpus.test
spelling = spelling_model(corpus)

# %% [markdown]
# ## 1. One state, carried through the text
# The network is an embedding, a stack of recurrent layers and an output layer. Each layer reads the
# sequence one token at a time and updates its state: an LSTM keeps a hidden vector h and a cell c
# (gates decide what to forget, add and show), a GRU a single h. The state after token t is all the
# model knows about tokens 1..t: a summary of any length of history in a fixed number of numbers.

# %%
show(rnnlm.RNNLanguageNetwork.run)

# %% [markdown]
# ## 2. Truncated back-propagation through time, and the carried state
# Gradients cannot flow back through a whole book: training cuts the text into windows of `context`
# tokens and back-propagates only inside a window (truncated BPTT). There are two ways to fill a batch:
#
# - **random windows**, each read from a zero state (how the Transformer trains): simple, but the model
#   never sees a state that summarises more than `context` tokens;
# - **contiguous streams** (Zaremba et al. 2014): the text is cut into `batch_size` parallel streams read
#   left to right, and the final state of one batch is the initial state of the next. Gradients still
#   stop at the window boundary, but the *state* crosses it, so the model learns to use the whole history.
#
# Here are the first two batches of the contiguous layout on a toy text of 24 ids: row i of the second
# batch continues row i of the first.

# %%
toy = np.arange(24, dtype=np.int32)
for step, (x, _y) in zip(range(2), window_lm.contiguous_windows(toy, 4, 3), strict=False):
    print(f"batch {step}: {np.asarray(x).tolist()}")

# %% [markdown]
# Train the same character LSTM both ways, then score the test text both ways: with the state carried
# over the whole text (`token_log_probs`, how a recurrent LM is meant to be read) and window by window
# from a zero state (`window_log_probs`, the Transformer's scorer: each window of `context` tokens moves
# by half a context, so every token has at least half a window of history). Shrinking the scoring window
# then measures how much history the model actually uses.

# %%
SMALL = {"steps": 150, "eval_every": 75} if QUICK else {"steps": 600, "eval_every": 200}


def train_lm(name: str, **overrides: object) -> rnnlm.RNNLM:
    return lmzoo.train("rnnlm", corpus, OUT / name, preset=lesson.preset(), overwrite=True, **{**SMALL, **overrides})


def bits_per_char(log_probs: np.ndarray) -> float:
    return float(-np.sum(log_probs) / LN2 / len(test_text))


models = {"random windows": train_lm("lstm_random", carry_state=False),
          "carried state": train_lm("lstm_carried", carry_state=True)}
test_ids = models["carried state"].tokenizer.encode(test_text)
carried = {name: bits_per_char(model.token_log_probs(test_ids)) for name, model in models.items()}
for name, bits in carried.items():
    print(f"trained with {name:<15} scored with the state carried: {bits:.3f} bits/char")
windows = [4, 8, 16, 32, 64]
lstm = models["carried state"]
windowed = [bits_per_char(lstm.window_log_probs(test_ids, context=w)) for w in windows]
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(windows, windowed, marker="o", label="windows from a zero state")
ax.axhline(carried["carried state"], color="C1", ls="--", label="state carried over the whole text")
ax.set_xscale("log", base=2)
ax.set_xlabel("scoring window (characters; each token sees at least half of it)")
ax.set_ylabel("test bits/char")
ax.set_title("How much history does the character LSTM use?")
ax.legend()
lesson.save_and_show(fig, OUT / "history_used.png")
claim("short_window_loss", windowed[0] - carried["carried state"], quick=(0.05, 1.5), full=(0.3, 1.2),
      text="bits/char lost when each window is 4 characters")
claim("long_window_loss", abs(windowed[-1] - carried["carried state"]), quick=(0, 0.02), full=(0, 0.02),
      text="|bits/char lost| with 64-character windows")

# %% [markdown]
# With 4-character windows the model loses 0.3-1.2 [short_window_loss] bits per character against its
# carried state; with 64-character windows it loses at most 0.02 [long_window_loss]: on lee, after a few
# minutes of training, the character LSTM uses no more than a few dozen characters of history, so at the
# character level the carried state matters little here. At the word level it matters a great deal: on
# PTB (section 6) the carried state is worth 33 [ptb_carried_gain] points of perplexity. Train with contiguous streams
# whenever you will score with the state carried: a model trained only from zero states was never shown a
# state that summarises a long history.
#
# ## 3. LSTM against GRU
# A GRU merges the LSTM's forget and input gates and drops the separate cell: three weight blocks
# per layer instead of four, so a quarter fewer recurrent parameters at the same width.

# %%
models["GRU, carried state"] = train_lm("gru_carried", carry_state=True, cell="gru")
for name in ("carried state", "GRU, carried state"):
    model = models[name]
    row = score_text(model, test_text, spelling)
    print(f"{model.config.cell.upper()}: {model.num_params():,} parameters, {row['bits_per_char']:.3f} bits/char")
gru = models["GRU, carried state"]
claim("gru_over_lstm_params", gru.num_params() / lstm.num_params(), quick=(0.7, 0.95), full=(0.7, 0.95),
      text="GRU parameters over LSTM parameters at the same width")

# %% [markdown]
# At the same width the GRU has 0.7-0.95 [gru_over_lstm_params] times the LSTM's parameters (the embedding
# and output layers are shared costs). Which scores better is a matter of budget and data; Zaremba et
# al.'s PTB recipe, used below, is an LSTM.
#
# ## 4. Why a big softmax dominates a CPU step: sampled softmax
# With a word vocabulary the output layer is a hidden × vocabulary matrix product for every token. For
# the PTB model of section 6 (2 layers of 200 units, 10,000 words), count the multiply-adds per token:

# %%
ptb = read_result("rnnlm_ptb.json")
hidden, layers, vocabulary = ptb["config"]["hidden_dim"], ptb["config"]["num_layers"], 10_000
recurrent = layers * 4 * hidden * (hidden + hidden)  # LSTM: four gates, each over [input, previous h]
output = hidden * vocabulary
negatives = ptb["config"]["sampled_softmax"]
print(f"recurrent layers {recurrent:,}, full softmax {output:,}, sampled softmax ({negatives} negatives) "
      f"{hidden * (negatives + 1):,} multiply-adds per token (forward)")
claim("softmax_share", 100 * output / (output + recurrent), quick=(70, 85), full=(70, 85),
      text="% of a forward step's multiply-adds in the full softmax")
show(window_lm.sampled_softmax_loss)

# %% [markdown]
# The full softmax is 70-85 [softmax_share]% of the forward multiply-adds. Sampled softmax (Jean et al.
# 2015) trains the output layer on the target and K negatives drawn from the unigram^0.75, correcting
# each logit by −log(K q) so the estimate stays unbiased in the limit; validation and every score still
# use the full softmax. The logged training loss is then a sampled loss, not a cross-entropy.
#
# ## 5. Common mistake: an output bias that starts at zero
# Most of a language model's first lesson is the unigram: "the" is frequent, "Pyrmont" is rare. A zero
# output bias makes the network learn those frequencies through its recurrent state, pushing the state
# to a constant far from zero, where tanh and the gates are flat and pass no gradient (saturation).
# This project met it on a word-level GRU (the `rnnlm` docstring tells the story); the fix (Karpathy's
# "init well") is one line of `train`: start the output bias at the training text's log unigram
# frequencies. Compare the two starts on a word-level GRU:

# %%
word = {"tokenizer": "word", "cell": "gru", "carry_state": True}
bias_models = {"zero bias": train_lm("gru_word_zero_bias", unigram_bias=False, **word),
               "unigram bias": train_lm("gru_word_unigram_bias", unigram_bias=True, **word)}
valid_ids = np.asarray([[BOS, *bias_models["zero bias"].tokenizer.encode(corpus.valid)[:2047]]], dtype=np.int32)
bias_rows = {}
for name, model in bias_models.items():
    hidden_states, _ = model.network.run(valid_ids, training=False)
    saturated = float(np.mean(np.abs(ops.convert_to_numpy(hidden_states)) > 0.95))
    bias_rows[name] = {"saturated": saturated, "perplexity": score_text(model, test_text, spelling)["perplexity"]}
    print(f"{name:<13} test perplexity per token {bias_rows[name]['perplexity']:.0f}, "
          f"states past |0.95|: {saturated:.1%}")
claim("saturated_zero_bias", 100 * bias_rows["zero bias"]["saturated"], quick=(50, 100),
      text="% of the zero-bias GRU's hidden values past |0.95| on validation text")
claim("saturated_unigram_bias", 100 * bias_rows["unigram bias"]["saturated"], quick=(0, 30),
      text="% of the unigram-bias GRU's hidden values past |0.95|")
claim("bias_perplexity_ratio", bias_rows["zero bias"]["perplexity"] / bias_rows["unigram bias"]["perplexity"],
      quick=(1.0, 5.0), text="zero-bias perplexity over unigram-bias perplexity, same steps")

# %% [markdown]
# With the same steps, the zero-bias model ends with a higher perplexity: in the quick run 1.0-5.0
# [quick:bias_perplexity_ratio] times the unigram-started one's (a full run prints its own). The saturation share printed beside it is the
# symptom to look for in your own models: in the quick run 50-100 [quick:saturated_zero_bias]% of the
# zero-bias GRU's hidden values sit past ±0.95, against 0-30 [quick:saturated_unigram_bias]% with the
# unigram start. When most states sit at ±1, the gates pass no gradient and the recurrent layers have
# stopped learning.
#
# ## 6. The first crossing: PTB, LSTM against modified Kneser-Ney
# `benchmarks/rnnlm_ptb.py` trains Zaremba et al.'s small LSTM (2 × 200, 35-step truncated BPTT, carried
# state, SGD at learning rate 20 with clip 0.25, sampled softmax with 1,024 negatives) for 20 CPU
# minutes and keeps the final checkpoint.

# %%
mkn5 = next(r["test_perplexity"] for r in read_result("ngram_ptb.json", "ptb")
            if r["smoothing"] == "modified-kneser-ney" and r["order"] == 5)
per_step = ptb["config"]["batch_size"] * ptb["config"]["context"]
plots.against_training_tokens([{
    "title": "PTB: 2x200 LSTM (rnnlm_ptb.json) against MKN5 (ngram_ptb.json)", "ylabel": "perplexity per word",
    "curves": [{"label": "valid, each window from a zero state", "tokens": [p["step"] * per_step for p in ptb["curve"]],
                "values": [p["valid_ppl_windows"] for p in ptb["curve"]]},
               {"label": "final, state carried (valid)", "tokens": [ptb["steps"] * per_step],
                "values": [ptb["valid_perplexity"]], "marker": "*"},
               {"label": "final, state carried (test)", "tokens": [ptb["steps"] * per_step],
                "values": [ptb["test_perplexity"]], "marker": "P"}],
    "lines": [{"label": "modified Kneser-Ney, order 5 (test)", "value": mkn5}]}], OUT / "ptb_lstm_against_mkn5.png")
show_saved(OUT / "ptb_lstm_against_mkn5.png")
claim("ptb_lstm_test_ppl", ptb["test_perplexity"], quick=(123.0, 123.2), full=(123.0, 123.2), source="rnnlm_ptb.json",
      text="LSTM test perplexity, state carried")
claim("ptb_lstm_valid_ppl", ptb["valid_perplexity"], quick=(127.5, 127.7), full=(127.5, 127.7), source="rnnlm_ptb.json",
      text="LSTM validation perplexity, state carried")
claim("ptb_window_best_ppl", min(p["valid_ppl_windows"] for p in ptb["curve"]), quick=(160, 162), full=(160, 162),
      source="rnnlm_ptb.json", text="best validation perplexity with each window from a zero state")
claim("ptb_carried_gain", min(p["valid_ppl_windows"] for p in ptb["curve"]) - ptb["valid_perplexity"],
      quick=(33, 34), full=(33, 34), source="rnnlm_ptb.json", text="best windowed minus carried validation perplexity")
claim("ptb_mkn5_test_ppl", mkn5, quick=(141.1, 141.3), full=(141.1, 141.3), source="ngram_ptb.json",
      text="modified Kneser-Ney, order 5, test")
claim("ptb_minutes", ptb["train_seconds"] / 60, quick=(17, 18), full=(17, 18), source="rnnlm_ptb.json",
      text="CPU minutes of training")

# %% [markdown]
# Read with the state carried, as it was trained, the LSTM scores 127.6 [ptb_lstm_valid_ppl] on
# validation and 123.1 [ptb_lstm_test_ppl] on test, against 141.2 [ptb_mkn5_test_ppl] for the best
# counting model, after 17-18 [ptb_minutes] minutes of training on 2 CPU cores. Scored window by window
# from a zero state (the curve the benchmark logged while training), the same model never gets below
# 160-162 [ptb_window_best_ppl]: the carried state is worth 33 [ptb_carried_gain] points of perplexity
# on validation. The windowed curve also turns up after its fourth evaluation: without dropout, more steps overfit, so a longer run
# needs dropout between layers and the best-valid checkpoint. The benchmark logged only the windowed
# curve; a carried-state validation curve is the next measurement to add.
#
# ## Summary
# - A recurrent LM summarises the whole history in a fixed-size state; training cuts the text into
#   windows (truncated BPTT), and carrying the state across windows is what lets it use the history.
# - A GRU is an LSTM with fewer gates and no separate cell: fewer parameters at the same width.
# - A word vocabulary makes the softmax most of the step; sampled softmax trains it on a few negatives.
# - Start the output bias at the log unigram, or the state learns the unigram and saturates.
# - On PTB the LSTM passes modified Kneser-Ney in CPU minutes: the first crossing of counting by a
#   neural model. Lesson 07 shows the Transformer's crossing, which needs far more compute.
#
# ## Exercises
# 1. Train the character LSTM with `context=16` and `context=128` (carried state). Which gains more from
#    carried-state scoring, and why?
# 2. Add `dropout=0.3` to the word-level GRU of section 5 and train three times longer. Does the
#    validation loss still turn up?
# 3. Time 50 steps of the word-level GRU with `sampled_softmax=0` and `sampled_softmax=64`. How close is
#    the speed-up to the ratio of multiply-adds of section 4?
# 4. **Build it: the carried-state scorer.** Write it yourself: prepend `<s>` to the inputs, loop over
#    `test_ids` in chunks of 64, call `model.network.run(chunk, states)`, take the log-softmax of
#    `model.network.logits(hidden)` at each target, and pass the returned states to the next chunk. Check
#    it with `lmzoo.lesson.check_carried_scores(your_log_probs, lstm, test_ids)`: the target is
#    `token_log_probs` to 1e-4 nats. Solution: `lessons/solutions/03b_recurrent_lm.py` (the tests run it).

# %% [markdown]
# ## Measured in this run
# Every figure this lesson quotes, as this run measured it or read it from a results file, beside the
# range its text states for this mode (`lmzoo.lesson.measured_table`, from the run's `claims.json`).

# %%
from lmzoo.lesson import measured_table

measured_table()
