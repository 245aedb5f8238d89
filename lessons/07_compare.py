# %% [markdown]
# # Lesson 07: four generations of language models, compared. When does the neural model win?
#
# **The question:** on this lesson's small corpus a word unigram beats the Transformer. Is the
# Transformer a worse model, or a model that has not yet been given enough data and compute? This
# lesson measures where the lines cross, and why the small corpus ranks the models as it does.
#
# **What you will learn:** how to compare models that do not share a tokenizer, a size or even a task;
# why bits per character must be an *open-vocabulary* figure before it can rank a word model against a
# character model; where the neural models overtake the counting models (bits/char against training
# tokens and FLOPs, from the stored GPU and CPU runs); why a word unigram beats an undertrained
# Transformer (bits by position in the word); what each generation fixed in the one before it
# (sparsity → embeddings → recurrent memory → attention) and what it cost in parameters and time.
#
# **Prerequisites:** lessons 00-06 (this lesson reuses every family they built).
#
# **Run time:** about a minute in quick mode (`LMZOO_QUICK=1`); in full (the same job as `make compare`,
# then a minute of scoring) 131 s alone on 2 CPU cores and 301 s at load 10 (`benchmarks/results/lessons_full/`).
#
# **Expected results:** every number below is read from the `results.json` this lesson writes or from a
# results file in `benchmarks/results/` (named where it is used); the checks printed as `CHECK` state
# what a good run shows (for example, that paying for unknown words moves every word model up).
#
# **Library modules used:** `lmzoo.compare` (the job behind `lmzoo compare` / `make compare`),
# `lmzoo.harness`, `lmzoo.spelling`, `lmzoo.plots`, `lmzoo.lesson`.

# %%
import json
import math

import numpy as np

import lmzoo
from lmzoo.compare import ENTRIES, compare
from lmzoo.datasets import load_corpus
from lmzoo.harness import score_text
from lmzoo.lesson import RESULTS_DIR, claim, output_dir, quick, read_result, show, show_saved
from lmzoo.models.rnnlm import PRESETS as RNNLM_PRESETS
from lmzoo.models.transformer import PRESETS as TRANSFORMER_PRESETS
from lmzoo.plots import against_training_tokens, bits_by_position, crossover_panel
from lmzoo.spelling import SpellingModel
from lmzoo.surprisal import character_bits

LN2 = math.log(2)

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
corpus = load_corpus("lee")
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
# training, a path of length one between any two positions, and a fixed context window. It has the most
# parameters of the neural rows. Is it also the most expensive per parameter? Its matrix products run over
# a whole window at once, where the LSTM steps through the window one token at a time, so per parameter
# and per training token it can be the cheaper of the two. The ratio printed below is this run's
# (rnnlm's training seconds per parameter per token over the Transformer's: above 1, the Transformer is
# cheaper per parameter). It moves with the machine, XLA's compile time and the load: measure it rather
# than assume it.

# %%
print(describe("transformer"))
neural = [n for n in ("rnnlm", "transformer") if n in ok]
if neural and "ngram-char-6" in ok:
    for name in neural:
        diff = ok[name]["bits_per_char"] - ok["ngram-char-6"]["bits_per_char"]
        print(f"{name} vs the character 6-gram: {diff:+.3f} bits/char, "
              f"{ok[name]['params'] / ok['ngram-char-6']['params']:.1f}x the parameters, "
              f"{ok[name]['train_seconds'] / max(ok['ngram-char-6']['train_seconds'], 1e-3):.0f}x the training time")
if {"rnnlm", "transformer"} <= ok.keys():
    cost = {n: ok[n]["train_seconds"] / (ok[n]["params"] * ok[n]["tokens_seen"]) for n in ("rnnlm", "transformer")}
    print(f"rnnlm's seconds per parameter per token over the Transformer's: {cost['rnnlm'] / cost['transformer']:.2f}")

# %% [markdown]
# ## When does the neural model win?
# The table above is one point per model: a few minutes of CPU on lee's small training text. A neural model's score
# is not fixed: it falls as the model sees more tokens, while a counting model has seen all its text
# once and stays where it is. So the honest comparison is a curve: bits per character against the
# training tokens the model has seen, with the counting models as horizontal lines. The top axis labels
# the same x in training compute, estimated as 6·N·D FLOPs (Kaplan et al. 2020: per parameter and token, a
# forward pass costs 2 floating-point operations and the backward pass 4; N is the non-embedding
# parameter count, 12·layers·width², D the training tokens).
#
# Every point comes from a results file the repository keeps (nothing is retrained here):
# - **lee**: the Transformer and the LSTM of `make compare`, trained four times longer
#   (`compare_budget_lee.json`, validation curves), and this run's rows and counting lines;
# - **Tiny Shakespeare**: the same 4-layer, 128-wide Transformer on a CPU for 2,000 steps
#   (`transformer_shakespeare.json`) and nanoGPT's 6-layer, 384-wide configuration on an H100 GPU
#   (`transformer_shakespeare_gpu.json`), against the counting rows of `compare_tinyshakespeare.json`;
# - **PTB**: the 2×200 LSTM of `benchmarks/rnnlm_ptb.py` (`rnnlm_ptb.json`) against modified
#   Kneser-Ney of order 5 (`ngram_ptb.json`), in perplexity per word, the unit PTB is reported in.
#
# When the crossover atlas (`benchmarks/crossover.py`, `crossover.json`) is present, the figure adds its
# panel: every family on one corpus at growing training sizes, with gzip, bz2 and xz as the floor.


# %%
def steps_of(row: dict) -> int:
    """The step count of a compare row's `training_length` ("3,200 steps")."""
    return int(row["training_length"].split()[0].replace(",", ""))


def kaplan_params(layers: int, width: int) -> int:
    """Non-embedding parameters of a Transformer block stack, the N of 6·N·D."""
    return 12 * layers * width**2


# lee: validation curves of --budget 4 (eval every steps/len(curve) steps), this run's rows, counting lines.
lee_curves = []
COLOURS = {"transformer": "C0", "rnnlm": "C2"}
for name, presets in (("transformer", TRANSFORMER_PRESETS), ("rnnlm", RNNLM_PRESETS)):
    row = read_result("compare_budget_lee.json", "rows", name, 0)
    per_step = presets["default"].batch_size * presets["default"].context
    curve = row["validation_curve"]
    lee_curves.append({"label": f"{name}, --budget {row['budget']:g} (valid)",
                       "tokens": [(i + 1) * steps_of(row) // len(curve) * per_step for i in range(len(curve))],
                       "values": [bpc for _seconds, bpc in curve], "color": COLOURS[name]})
    if name in ok:
        lee_curves.append({"label": f"{name}, this run (test)", "tokens": [ok[name]["tokens_seen"]],
                           "values": [ok[name]["bits_per_char"]], "marker": "*", "color": COLOURS[name]})
lee_lines = [{"label": f"{n} (test)", "value": ok[n]["bits_per_char"]} for n in ("ngram-char-6", "ngram-5", "unigram")
             if n in ok]
lee_transformer = TRANSFORMER_PRESETS["default"]

# Tiny Shakespeare: validation loss (nats per character) every 250 steps of the CPU and GPU runs.
shakespeare_curves, runs = [], {}
for label, filename, colour in (("Transformer 4x128, CPU", "transformer_shakespeare.json", "C0"),
                                ("Transformer 6x384, H100 GPU", "transformer_shakespeare_gpu.json", "C1")):
    settings, chunks = read_result(filename, "settings"), read_result(filename, "ours", "chunks")
    per_step = settings["batch_size"] * settings["context"]
    runs[label] = {"settings": settings, "tokens": np.array([c["step"] * per_step for c in chunks], dtype=float),
                   "bpc": np.array([c["val_loss"] / LN2 for c in chunks]),
                   "seconds": np.array([c["seconds"] for c in chunks]), "file": filename}
    shakespeare_curves.append({"label": f"{label} (valid)", "tokens": runs[label]["tokens"], "values": runs[label]["bpc"],
                               "color": colour})
ts_rows = {r["name"]: r for r in read_result("compare_tinyshakespeare.json", "rows") if r["status"] == "ok"}
for name in ("rnnlm", "transformer"):
    shakespeare_curves.append({"label": f"{name}, make compare's budget (test)", "tokens": [ts_rows[name]["tokens_seen"]],
                               "values": [ts_rows[name]["bits_per_char"]], "marker": "*", "color": COLOURS[name]})
ts_lines = [{"label": f"{n} (test)", "value": ts_rows[n]["bits_per_char"]} for n in ("ngram-char-6", "ngram-5", "unigram")]
gpu_settings = runs["Transformer 6x384, H100 GPU"]["settings"]

# PTB: the LSTM's validation perplexity (windows scored from a zero state) and its final carried-state score.
ptb = read_result("rnnlm_ptb.json")
ptb_per_step = ptb["config"]["batch_size"] * ptb["config"]["context"]
mkn5 = next(r["test_perplexity"] for r in read_result("ngram_ptb.json", "ptb")
            if r["smoothing"] == "modified-kneser-ney" and r["order"] == 5)
ptb_panel = {"title": "PTB (words): 2x200 LSTM against modified Kneser-Ney", "ylabel": "perplexity per word",
             "curves": [{"label": "LSTM, valid, each window from a zero state",
                         "tokens": [p["step"] * ptb_per_step for p in ptb["curve"]],
                         "values": [p["valid_ppl_windows"] for p in ptb["curve"]]},
                        {"label": "LSTM, final, state carried (valid)", "tokens": [ptb["steps"] * ptb_per_step],
                         "values": [ptb["valid_perplexity"]], "marker": "*"},
                        {"label": "LSTM, final, state carried (test)", "tokens": [ptb["steps"] * ptb_per_step],
                         "values": [ptb["test_perplexity"]], "marker": "P"}],
             "lines": [{"label": "modified KN, order 5 (test)", "value": mkn5}]}

panels = [
    {"title": "lee (characters): make compare's models", "ylabel": "bits/char", "curves": lee_curves,
     "lines": lee_lines, "flops_params": kaplan_params(lee_transformer.num_layers, lee_transformer.hidden_dim)},
    {"title": "Tiny Shakespeare (characters)", "ylabel": "bits/char", "curves": shakespeare_curves, "lines": ts_lines,
     "flops_params": kaplan_params(gpu_settings["num_layers"], gpu_settings["hidden_dim"])},
    ptb_panel,
]
if (RESULTS_DIR / "crossover.json").exists():
    atlas = json.loads((RESULTS_DIR / "crossover.json").read_text())
    panels.insert(0, crossover_panel(atlas))
    for crossing in atlas["crossings"]:
        print(f"atlas: {crossing['family']} passes {crossing['against']} at {crossing['train_chars']} "
              f"training characters ({crossing['note']})")
against_training_tokens(panels, OUT / "bits_against_training_tokens.png",
                        title="When does the neural model win? (lower is better; top axis: the panel's Transformer)")
show_saved(OUT / "bits_against_training_tokens.png")

# %% [markdown]
# Read the figure from right to left.
#
# **Tiny Shakespeare.** The character 6-gram scores 2.20 [ts_char6_bpc] bits/char. `make compare`'s
# Transformer, a few hundred CPU steps, is far above it, and even the 2,000-step CPU run ends at
# 2.73 [ts_cpu_transformer_bpc] (final checkpoint, disjoint validation windows): 1.5 [ts_cpu_mtokens]
# million training tokens are not enough. nanoGPT's GPU configuration (batches of 64 windows of 256 characters) crosses the
# 6-gram's line after 12-16 [gpu_crossing_mtokens] million training tokens, in about
# 58-70 [gpu_crossing_seconds] seconds of an H100, and is best at 2.06 [gpu_best_bpc] bits/char (2,000
# steps) before it overfits the 1 MB text. At the CPU run's measured rate (6·N·D FLOPs per second of
# `transformer_shakespeare.json`), the same crossing would take this machine 5-8 [crossing_cpu_hours]
# hours: that is why no CPU lesson shows it running.
#
# **PTB.** A word-level LSTM passes modified Kneser-Ney with the CPU minutes of `benchmarks/rnnlm_ptb.py`:
# 123.1 [ptb_lstm_test_ppl] against 141.2 [ptb_mkn5_test_ppl] on the test set. Note the two LSTM
# figures: scored window by window from a zero state (the curve) it never gets below MKN5; scored as it
# was trained, with its state carried through the whole text (the stars), it does.
#
# **lee.** Four times `make compare`'s budget brings the Transformer to 2.28 [lee_transformer_budget4_bpc]
# bits/char and the LSTM to 2.05 [lee_rnnlm_budget4_bpc], past the word unigram's 2.43 [lee_unigram_bpc]
# but not the character 6-gram's 1.97 [lee_char6_bpc]. The curves are still falling, but
# lee has 286,914 [lee_train_chars] training characters; on Tiny Shakespeare, a text
# 3.5 [ts_over_lee_chars] times longer, the crossing needed 13 [gpu_crossing_epochs] passes over the
# training text by a model 13 [gpu_over_lee_n] times the size of lee's. On a small text and a CPU
# budget, counting is hard to beat; the neural model wins with data and compute.

# %%
gpu = runs["Transformer 6x384, H100 GPU"]
char6 = ts_rows["ngram-char-6"]["bits_per_char"]
below = int(np.argmax(gpu["bpc"] < char6))  # the first evaluation under the 6-gram's line
assert gpu["bpc"][below] < char6 <= gpu["bpc"][below - 1], "the GPU curve does not cross the 6-gram"
# interpolate between the two evaluations around the line, linearly in log tokens
share = (gpu["bpc"][below - 1] - char6) / (gpu["bpc"][below - 1] - gpu["bpc"][below])
crossing_tokens = math.exp(math.log(gpu["tokens"][below - 1])
                           + share * (math.log(gpu["tokens"][below]) - math.log(gpu["tokens"][below - 1])))
crossing_seconds = gpu["seconds"][below - 1] + share * (gpu["seconds"][below] - gpu["seconds"][below - 1])
print(f"GPU run: {gpu['bpc'][below - 1]:.3f} bits/char at {gpu['tokens'][below - 1] / 1e6:.1f} M tokens, "
      f"{gpu['bpc'][below]:.3f} at {gpu['tokens'][below] / 1e6:.1f} M; crossing near {crossing_tokens / 1e6:.1f} M")
claim("ts_char6_bpc", char6, full=(2.19, 2.21), quick=(2.19, 2.21), source="compare_tinyshakespeare.json",
      text="character 6-gram on Tiny Shakespeare, test")
claim("ts_cpu_transformer_bpc", read_result("transformer_shakespeare.json", "ours", "val_loss_disjoint_windows") / LN2,
      full=(2.72, 2.74), quick=(2.72, 2.74), source="transformer_shakespeare.json",
      text="the CPU Transformer after 2,000 steps, final checkpoint")
claim("gpu_crossing_mtokens", crossing_tokens / 1e6, full=(12, 16.5), quick=(12, 16.5),
      source="transformer_shakespeare_gpu.json", text="million training tokens where the GPU run crosses the 6-gram")
claim("gpu_crossing_seconds", crossing_seconds, full=(58, 70), quick=(58, 70), source="transformer_shakespeare_gpu.json",
      text="H100 seconds to the crossing, compile included")
claim("gpu_best_bpc", gpu["bpc"].min(), full=(2.05, 2.07), quick=(2.05, 2.07), source="transformer_shakespeare_gpu.json",
      text="the GPU run's best validation bits/char")
cpu = runs["Transformer 4x128, CPU"]
cpu_flops_per_second = 6 * kaplan_params(cpu["settings"]["num_layers"], cpu["settings"]["hidden_dim"]) * read_result(
    "transformer_shakespeare.json", "ours", "tokens_per_second")
crossing_flops = 6 * kaplan_params(gpu_settings["num_layers"], gpu_settings["hidden_dim"]) * crossing_tokens
print(f"crossing: {crossing_flops:.2g} FLOPs; this CPU trains at {cpu_flops_per_second / 1e9:.0f} GFLOP/s (6·N·D)")
claim("crossing_cpu_hours", crossing_flops / cpu_flops_per_second / 3600, full=(5, 8), quick=(5, 8),
      source="transformer_shakespeare.json, transformer_shakespeare_gpu.json",
      text="hours of this CPU for the GPU run's crossing")
claim("ptb_lstm_test_ppl", ptb["test_perplexity"], full=(123.0, 123.2), quick=(123.0, 123.2), source="rnnlm_ptb.json",
      text="2x200 LSTM on PTB, test, state carried")
claim("ptb_mkn5_test_ppl", mkn5, full=(141.1, 141.3), quick=(141.1, 141.3), source="ngram_ptb.json",
      text="modified Kneser-Ney order 5 on PTB, test")
claim("lee_transformer_budget4_bpc", read_result("compare_budget_lee.json", "rows", "transformer", 0, "bits_per_char"),
      full=(2.27, 2.29), quick=(2.27, 2.29), source="compare_budget_lee.json", text="Transformer at --budget 4 on lee")
claim("lee_rnnlm_budget4_bpc", read_result("compare_budget_lee.json", "rows", "rnnlm", 0, "bits_per_char"),
      full=(2.04, 2.06), quick=(2.04, 2.06), source="compare_budget_lee.json", text="LSTM at --budget 4 on lee")
ts_train_chars = ts_rows["ngram-char-6"]["tokens_seen"]  # a counting model sees its training text once
claim("ts_cpu_mtokens", cpu["tokens"][-1] / 1e6, full=(1.5, 1.6), quick=(1.5, 1.6), source="transformer_shakespeare.json",
      text="million training tokens of the 2,000-step CPU run")
claim("lee_train_chars", len(corpus.train), full=(286_914, 286_914), quick=(286_914, 286_914),
      text="characters of lee's training split")
claim("ts_over_lee_chars", ts_train_chars / len(corpus.train), full=(3.4, 3.6), quick=(3.4, 3.6),
      source="compare_tinyshakespeare.json", text="Tiny Shakespeare's training characters over lee's")
claim("gpu_crossing_epochs", crossing_tokens / ts_train_chars, full=(12.5, 13.5), quick=(12.5, 13.5),
      source="transformer_shakespeare_gpu.json", text="passes over the training text at the crossing")
claim("gpu_over_lee_n", kaplan_params(gpu_settings["num_layers"], gpu_settings["hidden_dim"])
      / kaplan_params(lee_transformer.num_layers, lee_transformer.hidden_dim), full=(13, 14), quick=(13, 14),
      text="non-embedding parameters of the GPU Transformer over lee's default")
if "unigram" in ok:
    claim("lee_unigram_bpc", ok["unigram"]["bits_per_char"], full=(2.42, 2.44), quick=(2.42, 2.44),
          text="word unigram on lee, test")
if "ngram-char-6" in ok:
    claim("lee_char6_bpc", ok["ngram-char-6"]["bits_per_char"], full=(1.96, 1.98), quick=(1.96, 1.98),
          text="character 6-gram on lee, test")

# %% [markdown]
# ## Why does a word unigram beat the Transformer on lee?
# A word unigram knows nothing but word frequencies, yet on lee it needs fewer bits per character than
# `make compare`'s Transformer. Split each model's code length by where the character sits in its word.
# A character model pays for each character where it predicts it. A word model pays once per word (plus
# the word's spelling when it is unknown); spread that cost evenly over the word's characters
# (`lmzoo.surprisal.character_bits`, the same view as the compare page), with the end of line paid on the
# newline and the cost of the dropped layout on the spaces between words. The mean of these per-character
# costs is exactly the table's bits/char.


# %%
def bits_per_character(model: object) -> np.ndarray:
    """Each test character's bits under `model`: its token's cost (spelling included) spread over the token."""
    return character_bits(model, corpus.test, spelling)


letter = np.array([ch.isalnum() for ch in corpus.test])
first = letter & ~np.r_[False, letter[:-1]]
positions = {"first letter of a word": first, "later letters": letter & ~first, "spaces and punctuation": ~letter}
by_position = {}
for name in ("unigram", "ngram-char-6", "rnnlm", "transformer"):
    if name in ok:
        bits = bits_per_character(lmzoo.load(OUT / "runs" / name))
        assert math.isclose(bits.mean(), ok[name]["bits_per_char"], rel_tol=1e-4), name
        by_position[name] = {p: float(bits[mask].mean()) for p, mask in positions.items()}
        print(f"{name:<14} " + "  ".join(f"{p} {v:.2f}" for p, v in by_position[name].items()))
bits_by_position(by_position, {p: float(mask.mean()) for p, mask in positions.items()},
                 OUT / "bits_by_position_in_word.png", title="lee test: mean bits by position in the word")
show_saved(OUT / "bits_by_position_in_word.png")

# %% [markdown]
# Three things show in the bars (the full run's figures; a quick run prints its own).
#
# - **The first letter of a word is hard for everyone.** Choosing which word comes next costs the
#   character 6-gram 4.25-4.45 [full:char6_first_bits] bits and the Transformer 4.45-4.8
#   [full:transformer_first_bits] bits per first letter.
# - **The Transformer has not learned to spell yet.** Once a word has begun, the 6-gram has counted how
#   it goes on and pays 1.5-1.7 [full:char6_later_bits] bits per later letter; after 800 steps the
#   Transformer still pays 2.85-3.2 [full:transformer_later_bits], more than the word unigram's
#   2.7-2.85 [full:unigram_later_bits]. The word unigram gets spelling for free: a known word is one
#   token, whatever its length. Later letters are 64 [letter_share_later]% of lee's test characters, so
#   this is where the Transformer loses the table.
# - **Spaces and punctuation are nearly free for a word model** (0.55-0.65 [full:unigram_between_bits]
#   bits: it pays only for punctuation tokens and line ends), while the Transformer pays
#   1.75-2.1 [full:transformer_between_bits] bits for them.
#
# So "worse than a word unigram" means "has not yet learned the spelling and spacing that a word
# tokenizer hands the unigram for free". That is learnable from more text and steps (the curves above);
# a count of word frequencies cannot learn the first letters any better.

# %%
claim("letter_share_later", 100 * positions["later letters"].mean(), full=(63, 65), quick=(63, 65),
      text="% of lee's test characters that are later letters of a word")
for name, position, key, full_range in (("ngram-char-6", "first letter of a word", "char6_first_bits", (4.25, 4.45)),
                                        ("transformer", "first letter of a word", "transformer_first_bits", (4.45, 4.8)),
                                        ("ngram-char-6", "later letters", "char6_later_bits", (1.5, 1.7)),
                                        ("transformer", "later letters", "transformer_later_bits", (2.85, 3.2)),
                                        ("unigram", "later letters", "unigram_later_bits", (2.7, 2.85)),
                                        ("unigram", "spaces and punctuation", "unigram_between_bits", (0.55, 0.65)),
                                        ("transformer", "spaces and punctuation", "transformer_between_bits", (1.75, 2.1))):
    if name in by_position:
        claim(key, by_position[name][position], full=full_range, text=f"{name}, mean bits per {position}")

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
# - **The neural model wins with data and compute, and the figure shows where.** On Tiny Shakespeare a
#   GPU Transformer passes the character 6-gram after 12-16 [gpu_crossing_mtokens] million training
#   tokens, a few H100 minutes and several CPU hours here; on PTB an LSTM passes modified Kneser-Ney
#   (123.1 [ptb_lstm_test_ppl] against 141.2 [ptb_mkn5_test_ppl]) in CPU minutes. On lee, at CPU budgets,
#   counting wins, and the curves say it is a question of tokens seen, not of the architecture.
# - **Why a word unigram beats an undertrained Transformer:** the word tokenizer hands it spelling and
#   spacing for free; the Transformer pays for every later letter and space until it has learned them
#   (bits by position in the word).
# - One harness, protocols instead of per-family code, and one denominator (characters) make very
#   different model families comparable, **if** every model pays for every character: report
#   open-vocabulary bits per character, with the unknown-token rate beside it.
# - A table is only as true as its settings: the header names the budget, the seed, XLA, the machine and
#   the wall time, and `--resume` reuses a row only when they match.
#
# ## Exercises
# 1. Run `lmzoo compare --budget 4 --out runs/compare4`. Which families improve, and which stay put?
#    Add your Transformer's point to the lee panel of the crossing figure.
# 2. Run the comparison on `tinyshakespeare` (with a data directory). Does the ordering change?
# 3. Shrink the word vocabulary (`min_count=5`) for the n-gram: what happens to perplexity, to closed and
#    to open bits per character, and to the unk rate? Which number would you report?
# 4. Replace the spelling model's order (`SpellingModel.fit(corpus.train, order=1)`): how much do the
#    word models' open figures move? Why does a better spelling model help word models?
# 5. **Build it: open-vocabulary bits per character.** Before reading "Scoring by hand, once", compute
#    a word bigram's open figure yourself from `token_log_probs`, `unknown_pieces` and `spelling.cost`,
#    and check it with `lmzoo.lesson.check_open_bits(your_bits, bigram, corpus.test, spelling)`: the
#    target is the harness's figure to 1e-9. Solution: `lessons/solutions/07_compare.py` (the tests run it).

# %% [markdown]
# ## Measured in this run
# Every figure this lesson quotes, as this run measured it or read it from a results file, beside the
# range its text states for this mode (`lmzoo.lesson.measured_table`, from the run's `claims.json`).

# %%
from lmzoo.lesson import measured_table

measured_table()
