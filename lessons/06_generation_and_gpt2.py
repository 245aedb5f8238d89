# %% [markdown]
# # Lesson 06: generation, and pre-trained GPT-2
#
# **The question:** A language model gives next-token probabilities. How do we turn them into text,
# quickly, and what do the articles' GPT-2 recipes get wrong?
#
# **What you will learn:** the articles' GPT-2 recipe (load a pre-trained model, encode a prompt,
# generate with `max_length` and `num_return_sequences`, decode) with keras-nlp presets, and what to do
# when there is no network; GPT-2's byte-level BPE and why it never needs `<unk>`; the decoding
# strategies side by side (greedy, top-k, top-p, temperature, beam) and why greedy repeats itself; the
# difference between one forward pass (next-token prediction of the prompt) and generation
# (autoregressive decoding, made cheap by a key/value cache); the mistakes in the articles' GPT-2 code and
# how their Hugging Face calls map onto keras-nlp; and, to close the course, the landscape of
# Transformer language models (encoder-only, encoder-decoder, decoder-only), their scale, and their
# limits, each shown on this zoo's own models.
#
# **Prerequisites:** lesson 05 (the Transformer language model); lesson 04 (attention) for the cache.
#
# **Run time:** about a minute in quick mode (`LMZOO_QUICK=1`: the `quick` Transformer preset and an
# untrained tiny GPT-2, so the samples are noise); 2-4 minutes in full on 2 shared cores (the `default`
# Transformer preset and a short pre-training of the tiny GPT-2). With network access, downloading
# `gpt2_base_en` (500 MB) comes on top.
#
# **Expected results:** without network the real GPT-2 section prints `SKIPPED` with the one-line
# reason and runs the same code on a tiny local preset; BPE round trips are exact on English and
# Chinese. Each figure in brackets is measured as the lesson runs (or read from a results file) and
# printed beside its name. The Transformer trains 300 [quick:transformer_steps] steps in quick mode and
# 600 [transformer_steps] in full. In full mode it scores 2.9-3.4 [valid_bpc] bits per character on the
# start of the validation split and its samples are English-shaped words; greedy falls into a loop
# (0-0.3 [greedy_distinct_4grams] distinct 4-grams) while top-k text has 0.8-1 [topk_distinct_4grams]
# at a lower likelihood; the one-pass argmax guesses 0.2-0.45 [one_pass_accuracy] of the prompt's own
# next characters. Cached, uncached and Python-loop greedy decoding give the same tokens; on tiny
# Shakespeare's model (`benchmarks/transformer_shakespeare.py`, 256 new tokens) the cache decodes
# 3-25× [bench_cache_speedup] faster than recomputing the window in the same compiled loop, and 5-40×
# [bench_cache_over_python_loop] faster than the Python loop (the tokens/s behind these ratios are
# printed from the same results file; the ratios grow on a busy machine, where the recomputing loops
# suffer most, and this lesson's own timings depend on the machine too).
# In the closing section the zoo's n-gram copies long spans of its training text word for word, and a
# model trained on Tang poems does not know the characters of a modern sentence.
#
# **Library modules used:** `lmzoo.models.gpt2` (`load_preset`, `make_tiny_preset`, `GPT2Model`),
# `lmzoo.train` / the `transformer` family, `lmzoo.models.sampling`, `lmzoo.harness`, `lmzoo.lesson`.

# %%
import time

import keras
import keras_nlp
import matplotlib.pyplot as plt
import numpy as np

import lmzoo
from lmzoo import lesson
from lmzoo.errors import LmzooError
from lmzoo.harness import score_text, spelling_model
from lmzoo.lesson import claim, output_dir, preset, quick, read_result, save_and_show, show
from lmzoo.models import gpt2, sampling

OUT = output_dir("06_generation_and_gpt2")
corpus = lmzoo.load_corpus("lee")
PROMPT = "The Prime Minister said"

# %% [markdown]
# ## The articles' recipe, with keras-nlp presets
# The articles load GPT-2 with Hugging Face's `from_pretrained`, encode a prompt, call `generate` with
# `max_length` and `num_return_sequences`, and decode. keras-nlp has the same pieces: a **preset** holds
# the architecture (`config.json`), the weights and the tokenizer files, and
# `GPT2CausalLM.from_preset(name)` builds the model from it. A preset name such as `gpt2_base_en` is
# downloaded from Kaggle; a **path to a directory** written by `save_to_preset` is loaded through the
# same code. `lmzoo.models.gpt2.load_preset` wraps that and fails at once, with one line saying what to
# do, when the download is impossible. This machine has no network, so the lesson falls back to a tiny
# GPT-2 built and saved locally - same classes, same files, same loading path, 35 thousand parameters
# instead of 124 million.

# %%
try:
    model = gpt2.load_preset("gpt2_base_en")
    source = "gpt2_base_en"
    print("loaded the real GPT-2:", model)
except LmzooError as err:
    print(f"SKIPPED gpt2_base_en: {err}")
    text = corpus.train[:30000] if quick() else corpus.train
    source = str(gpt2.make_tiny_preset(OUT / "tiny_gpt2", text, vocabulary_size=512, max_sequence_length=64))
    if not quick():
        # A few epochs of pre-training on lee, so that the tiny model writes word-like text. The same
        # `fit` call fine-tunes the real GPT-2.
        causal_lm = keras_nlp.models.GPT2CausalLM.from_preset(source)
        causal_lm.compile(optimizer=keras.optimizers.Adam(3e-3))
        causal_lm.fit([line for line in corpus.train.splitlines() if line.strip()], batch_size=16, epochs=6,
                      verbose=0)
        causal_lm.save_to_preset(source)
    model = gpt2.load_preset(source)
    print(f"using the local preset {source}: {model}")

# %% [markdown]
# The articles' usage, written with keras-nlp directly: the task model with its preprocessor takes a
# string. Note keras-nlp's `max_length` is the **total** length, prompt included.

# %%
causal_lm = keras_nlp.models.GPT2CausalLM.from_preset(source)
causal_lm.compile(sampler="top_k")
print(causal_lm.generate(PROMPT, max_length=30))

# %% [markdown]
# > **Common mistake: `max_length` counts the prompt (article 003).** In Hugging Face's `generate` and in
# > keras-nlp's, `max_length` is the length of the **whole** sequence, prompt included: a 20-token
# > prompt with `max_length=30` gets at most 10 new tokens, and a prompt longer than `max_length` gets
# > none. Ask for new tokens with `max_new_tokens` (Hugging Face), or add the prompt's length. The check:

# %%
# What `generate(text, max_length=L)` does inside: the preprocessor packs the prompt into L slots, and
# generation fills the slots the prompt left free. Here with the ids visible (no stop token):
raw_lm = keras_nlp.models.GPT2CausalLM.from_preset(source, preprocessor=None)
prompt_tokens = len(causal_lm.preprocessor.tokenizer(PROMPT)) + 1  # + the start token keras-nlp adds
for total in (prompt_tokens + 5, prompt_tokens + 12):
    packed = causal_lm.preprocessor.generate_preprocess([PROMPT], sequence_length=total)
    filled = int(np.asarray(raw_lm.generate(packed, stop_token_ids=None)["padding_mask"]).sum())
    print(f"max_length={total}: {prompt_tokens} prompt tokens + {filled - prompt_tokens} new = {filled}")
    assert filled == total

# %% [markdown]
# And through the zoo's wrapper, which follows the library's `Generator` protocol: `max_length` counts
# **new** tokens, `num_return_sequences` gives independent samples, generation stops at
# `<|endoftext|>`, and only the continuation is returned. Encode, generate, decode. (The tiny model is
# untrained in quick mode and only briefly pre-trained in full mode, so expect gibberish; an untrained
# model even emits byte sequences that are not valid UTF-8, shown as U+FFFD.)

# %%
ids = model.tokenizer.encode(PROMPT)
print("ids:", ids)
print("pieces:", [model.tokenizer.id_to_token(i) for i in ids], "(Ġ marks a leading space)")
new_ids = model.generate_ids(PROMPT, max_length=20, num_return_sequences=3, sampler="top_k", seed=0)
for new in new_ids:
    print(f"{len(new):2d} new tokens |", PROMPT + model.tokenizer.decode(new))
print(model.generate(PROMPT, max_length=20, num_return_sequences=2, sampler="top_p", top_p=0.9, seed=1))

# %% [markdown]
# > **Common mistake: greedy decoding with `num_return_sequences=5` (article 003).** Greedy decoding is
# > deterministic: the same prompt gives the same text every time, so asking for five sequences gives five
# > copies (Hugging Face refuses the combination outright). Several different continuations need
# > **sampling** (`do_sample=True` there; `sampler="top_k"`, `"top_p"` or `"temperature"` here) or beam
# > search with `num_return_sequences ≤ num_beams`. Counted on the zoo's wrapper:

# %%
for sampler in ("greedy", "top_k"):
    texts = model.generate(PROMPT, max_length=12, num_return_sequences=5, sampler=sampler, seed=0)
    print(f"{sampler:>6}: {len(set(texts))} distinct of 5")
assert len(set(model.generate(PROMPT, max_length=12, num_return_sequences=5, sampler="greedy"))) == 1

# %% [markdown]
# ### The articles' Hugging Face calls, in keras-nlp
#
# | The articles (Hugging Face `transformers`) | keras-nlp / this library | Note |
# |---|---|---|
# | `GPT2LMHeadModel.from_pretrained("gpt2")` | `keras_nlp.models.GPT2CausalLM.from_preset("gpt2_base_en")`, or `gpt2.load_preset(...)` | a preset bundles config, weights and tokenizer; a directory path works too |
# | `GPT2Tokenizer.from_pretrained("gpt2")` | `keras_nlp.models.GPT2Tokenizer.from_preset("gpt2_base_en")` | the task model's preprocessor already holds it: `generate` takes strings |
# | `tokenizer.encode(text, return_tensors="pt")` | `tokenizer(text)` (a tensor already), or `model.tokenizer.encode(text)` here (a list) | no `return_tensors`: Keras tensors are backend tensors |
# | `model.generate(ids, max_length=50)` | `causal_lm.generate(text, max_length=50)` | both count the prompt in `max_length`; HF's `max_new_tokens` is this wrapper's `max_length` |
# | `num_return_sequences=5` | `model.generate(..., num_return_sequences=5, sampler="top_k")` here; keras-nlp: a batch of 5 prompts with a random sampler | needs sampling (or beams): greedy gives copies |
# | `do_sample=True, top_k=50, top_p=0.9, temperature=0.7` | `causal_lm.compile(sampler=keras_nlp.samplers.TopKSampler(k=50))` (or `TopPSampler`, `temperature=`) | the sampler is chosen at compile time, not per call |
# | `tokenizer.decode(ids, skip_special_tokens=True)` | `tokenizer.detokenize(ids)`; `generate` strips `<|endoftext|>` itself, as `model.generate` here does | decode **all** new ids, never `ids[:, :-1]` |

# %% [markdown]
# ### Byte-level BPE, and Chinese
# GPT-2's tokenizer works on **bytes**: its 256 base symbols are the 256 byte values, and merges join
# frequent pairs. So every string encodes - no `<unk>` - but a Chinese character (3 bytes in UTF-8)
# that is not a merge splits over several ids. Decoding half of them gives the replacement character
# U+FFFD; a streaming decoder must wait for the whole character (PITFALLS: GPT-2 BPE on Chinese).

# %%
chinese = "我明天要去看电影。"
zh_ids = model.tokenizer.encode(chinese)
print(f"{len(chinese)} characters -> {len(zh_ids)} ids; round trip exact: {model.tokenizer.decode(zh_ids) == chinese}")
print("naive decode of the first id:", repr(model.tokenizer.decode(zh_ids[:1])))
print("streaming decode, piece by piece:", list(model.tokenizer.decode_stream(zh_ids)))
assert model.tokenizer.decode(zh_ids) == chinese and "\ufffd" not in "".join(model.tokenizer.decode_stream(zh_ids))

# %% [markdown]
# ## Decoding strategies side by side
# A language model gives a distribution over the next token; a **decoding strategy** turns it into text:
#
# - **greedy**: always the most likely token;
# - **beam search**: keep the `num_beams` most likely partial sequences, return the best whole one;
# - **temperature**: sample from softmax(logits / T): T < 1 sharpens, T > 1 flattens;
# - **top-k**: sample among the k most likely tokens only;
# - **top-p** (nucleus): sample among the smallest set whose probability reaches p.
#
# We compare them on the `transformer` family (character level) trained on `lee`. The filters are
# the library's; here is the one shared by every family:

# %%
show(sampling.filter_log_probs)
transformer = lesson.shared_model("transformer", corpus)  # trained once, shared with lessons 04 and 05
claim("transformer_steps", transformer.config.steps, full=(600, 600), quick=(300, 300), text=f"{preset()} preset")
print(f"{transformer.num_params():,} parameters")
claim("valid_bpc", score_text(transformer, corpus.valid[:5000], spelling_model(corpus))["bits_per_char"], full=(2.9, 3.4), quick=(3.5, 4.5),
      text="bits per character, first 5,000 characters of the validation split")

# %%
STRATEGIES = {
    "greedy": {"sampler": "greedy"},
    "beam (4)": {"sampler": "beam", "num_beams": 4},
    "temperature 0.7": {"sampler": "temperature", "temperature": 0.7},
    "top-k 10": {"sampler": "top_k", "top_k": 10},
    "top-p 0.9": {"sampler": "top_p", "top_p": 0.9},
}
LENGTH = 40 if quick() else 200
prompt_ids = transformer.tokenizer.encode(PROMPT)


def distinct_4grams(text: str) -> float:
    grams = [text[i : i + 4] for i in range(len(text) - 3)]
    return len(set(grams)) / max(1, len(grams))


results = {}
for name, options in STRATEGIES.items():
    news = transformer.generate_ids(prompt_ids, max_length=LENGTH, num_return_sequences=2, seed=0, **options)
    texts = [transformer.tokenizer.decode(new) for new in news]
    # Mean log-probability per character of the continuation under the model itself.
    fit = np.mean([transformer.token_log_probs(prompt_ids + new)[len(prompt_ids) :].mean() for new in news])
    results[name] = {"texts": texts, "distinct": np.mean([distinct_4grams(t) for t in texts]), "log_prob": fit}
    print(f"--- {name}: distinct 4-grams {results[name]['distinct']:.2f}, mean log-prob {fit:.2f} nats/char")
    for text in texts:
        print("   ", repr(PROMPT + text))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
names = list(results)
axes[0].bar(names, [results[n]["distinct"] for n in names], color="tab:blue")
axes[0].set_ylabel("distinct 4-grams / all 4-grams")
axes[0].set_title("diversity of the continuation")
axes[1].bar(names, [results[n]["log_prob"] for n in names], color="tab:orange")
axes[1].set_ylabel("mean log p per character (nats)")
axes[1].set_title("likelihood under the model")
for ax in axes:
    ax.tick_params(axis="x", rotation=30)
fig.tight_layout()
save_and_show(fig, OUT / "decoding_strategies.png")
claim("greedy_distinct_4grams", results["greedy"]["distinct"], full=(0, 0.3), text="distinct / all 4-grams")
claim("topk_distinct_4grams", results["top-k 10"]["distinct"], full=(0.8, 1.0), text="distinct / all 4-grams")

# %% [markdown]
# ### Why greedy repeats itself
# Greedy decoding is a deterministic function of the last `context` tokens. As soon as the text it
# wrote makes the same context come back, it must make the same choices again, forever: a cycle. And
# the most likely continuation of common text is common text ("the", " of the", spaces), so it drifts
# into such loops quickly. Beam search maximises total likelihood and loops just as readily. Sampling
# breaks the cycle because a repeated context no longer forces a repeated choice - at the price of
# lower likelihood (the right panel). Below: the period of the loop at the end of the greedy text.

# %%
def final_cycle(text: str, min_repeats: int = 3) -> str | None:
    """The shortest string that the end of `text` repeats at least `min_repeats` times."""
    for period in range(1, len(text) // min_repeats + 1):
        unit = text[-period:]
        if text.endswith(unit * min_repeats):
            return unit
    return None


greedy_text = results["greedy"]["texts"][0]
cycle = final_cycle(greedy_text)
print("greedy ends in a loop:", repr(cycle) if cycle else "no loop within this length")

# %% [markdown]
# ## Common mistake: one forward pass is not generation
# > **Common mistake.** One article runs the model once on the prompt, takes the argmax of the output
# > at every position and calls the result generated text. That output is the model's **next-token
# > prediction for each position of the prompt itself**, given the true prefix (teacher forcing): it
# > has the prompt's length, is shifted by one, and only its last token is new. Generation is
# > **autoregressive**: pick one token, append it, run again.

# %%
one_pass_ids = [lmzoo.datasets.tokenizers.BOS, *prompt_ids]
logits = keras.ops.convert_to_numpy(transformer.network(np.asarray([one_pass_ids], dtype=np.int32)))[0]
argmax = logits.argmax(axis=-1)
print("prompt           :", repr(PROMPT))
print("one pass, argmax : ", repr(transformer.tokenizer.decode(argmax[:-1].tolist())), " <- shifted by one", sep="")
accuracy = float(np.mean(argmax[:-1] == np.asarray(prompt_ids)))
print(f"it guesses the prompt's own next character {accuracy:.0%} of the time; the only new token is "
      f"{transformer.tokenizer.decode(argmax[-1:].tolist())!r}")
claim("one_pass_accuracy", accuracy, full=(0.2, 0.45), text="share of the prompt's next characters the argmax gets")
greedy_ids = transformer.generate_ids(prompt_ids, max_length=LENGTH, sampler="greedy")[0]
print("autoregressive   :", repr(PROMPT + transformer.tokenizer.decode(greedy_ids)))
assert greedy_ids[0] == argmax[-1]  # the first generated token is the one-pass prediction at the end

# %% [markdown]
# > **Common mistake: `decode(predicted_ids[:, :-1])` (article 002).** The article runs one forward pass,
# > takes the argmax at every position, drops the last one and decodes the rest. The last position is the
# > **only** prediction of a token that is not already in the prompt: everything before it re-predicts
# > the prompt's own characters (shifted by one). Dropping it throws away the one new token and prints a
# > noisy copy of the prompt, so the printed "generated text" in the article cannot come from that code.
# > Keep position −1, append it, and run again: that is generation.

# %%
print("decode(argmax[:-1]):", repr(transformer.tokenizer.decode(argmax[:-1].tolist())), "<- only prompt positions")
print("decode(argmax[-1:]):", repr(transformer.tokenizer.decode(argmax[-1:].tolist())), "<- the one new token")

# %% [markdown]
# ### Autoregressive decoding with a key/value cache
# Decoding token t+1 needs attention from the new position to all earlier keys and values. Without a
# cache the model recomputes every position for every new token (cost grows with the square of the
# length); with a **key/value cache** each layer stores the keys and values it has computed, and a step
# processes only the new position. Three ways to get the same greedy text, timed (after one warm-up
# call each, on a shared 2-core machine, so take the numbers as rough):
#
# 1. the model's `generate_ids` with the cache (the default);
# 2. the same compiled loop, `use_cache=False`: the whole window is recomputed at every step;
# 3. the library's plain Python loop `sampling.generate` over `next_log_probs` (full recompute and
#    Python overhead per token).
#
# Within the context window the output must be identical token for token (PITFALLS: a cache that
# diverged from the uncached path shipped in nanoGPT). In quick mode (context 32, a 28k-parameter model) the fixed cost per step
# dominates and the cache gains little; with the `default` preset (context 64) it is several times
# faster, and the gap grows with the context (GPT-2: 1,024 tokens).

# %%
def timed(fn, repeats: int = 2):
    fn()  # warm-up: tracing and compilation
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    return out, (time.perf_counter() - start) / repeats


STEPS = 60 if quick() else 200
ways = {
    "cache": lambda: transformer.generate_ids(prompt_ids, max_length=STEPS, sampler="greedy")[0],
    "no cache": lambda: transformer.generate_ids(prompt_ids, max_length=STEPS, sampler="greedy", use_cache=False)[0],
    "python loop": lambda: sampling.generate(transformer.next_log_probs, prompt_ids, max_new_tokens=STEPS,
                                             eos_id=lmzoo.datasets.tokenizers.EOS)[0],
}
speeds, outputs = {}, {}
for name, fn in ways.items():
    outputs[name], seconds = timed(fn, repeats=1 if name == "python loop" else 2)
    speeds[name] = len(outputs[name]) / seconds
    print(f"{name:>12}: {speeds[name]:8.0f} tokens/s")

def first_difference(a: list[int], b: list[int]) -> int | None:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)


# The paths see the same history only within one context window: when prompt and output do not fit, the
# compiled loop slides its window in chunks of up to context/2 tokens (dropping the prompt's start before
# the first new token), the Python loop by one token, so they condition on different histories. The check
# therefore decodes only the new tokens that fit beside the prompt.
# A cache that is wrong diverges at once and by a wide margin; two correct paths can part only where the
# model's two best next tokens tie to float precision (the compiled and the Python path round differently).
# So the check is: identical, or parting first at such a near-tie.
fits = transformer.config.context - len(prompt_ids)
within = {"cache": transformer.generate_ids(prompt_ids, max_length=fits, sampler="greedy")[0],
          "no cache": transformer.generate_ids(prompt_ids, max_length=fits, sampler="greedy", use_cache=False)[0],
          "python loop": sampling.generate(transformer.next_log_probs, prompt_ids, max_new_tokens=fits,
                                           eos_id=lmzoo.datasets.tokenizers.EOS)[0]}
for name in ("no cache", "python loop"):
    at = first_difference(within["cache"], within[name])
    if at is not None:
        prefix = list(prompt_ids) + within["cache"][:at]
        best = np.sort(transformer.next_log_probs(prefix))[-2:]
        print(f"cache and {name} part at new token {at}: the two best next tokens differ by "
              f"{best[1] - best[0]:.2e} nats")
        assert best[1] - best[0] < 1e-4, f"cache and {name} differ at token {at}, where the model does not tie"
print(f"cached, uncached and Python-loop greedy decoding agree on the {fits} new tokens that fit the context "
      "(or part only at a near-tie)")

# The same check on GPT-2: keras-nlp's cached generate against a full forward pass per token.
gpt2_prompt = [model.tokenizer.start_token_id, *model.tokenizer.encode(PROMPT)]
cached = model.generate_ids(PROMPT, max_length=12, sampler="greedy")[0]
recomputed = sampling.generate(model.next_log_probs, gpt2_prompt, max_new_tokens=len(cached), eos_id=None)[0]
print("GPT-2 cached == recomputed:", cached == recomputed)
assert cached == recomputed

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(list(speeds), list(speeds.values()), color=["tab:green", "tab:red", "tab:gray"])
ax.set_ylabel("tokens per second (greedy)")
ax.set_title(f"transformer ({preset()} preset): decoding {STEPS} tokens")
fig.tight_layout()
save_and_show(fig, OUT / "kv_cache_speed.png")
try:
    bench = read_result("transformer_shakespeare.json", "generation")
    source = "benchmarks/results/transformer_shakespeare.json"
    print(f"{source}: greedy tokens/s cached {bench['cached_tokens_per_second']:.0f}, recompute "
          f"{bench['recompute_tokens_per_second']:.0f}, Python loop {bench['python_loop_recompute_tokens_per_second']:.0f}")
    # Ratios of two timings from one run: they hold on a busy machine where the tokens/s do not.
    claim("bench_cache_speedup", bench["cache_speedup"], full=(3, 25), quick=(3, 25),
          text=f"{bench['new_tokens']} new tokens", source=source)
    claim("bench_cache_over_python_loop",
          bench["cached_tokens_per_second"] / bench["python_loop_recompute_tokens_per_second"], full=(5, 40),
          quick=(5, 40), text=f"{bench['new_tokens']} new tokens", source=source)
except FileNotFoundError:
    print("benchmarks/results/transformer_shakespeare.json is not here: run benchmarks/transformer_shakespeare.py")

# %% [markdown]
# ## Box: training to a loss faster than nanoGPT
# Decoding speed is one race; training is the other. What a user wants is a model *at a given loss*,
# as soon as possible: the modded-nanoGPT "speedrun" races wall time to a target validation loss with
# any recipe. `benchmarks/transformer_shakespeare.py --preset speedrun` runs nanoGPT's own CPU
# command (4 layers, 128 wide, context 64, 2,000 steps of 12 windows, learning rate 1e-3) from
# `../shared/peers/nanoGPT`, then `lmzoo train transformer --corpus tinyshakespeare --preset speedrun`
# (nanoGPT's width and context, but 2 layers instead of 4, 1,000 steps of 16 windows at learning rate
# 5e-3, no weight decay, 50 warm-up steps, one evaluation), and scores both on the same disjoint
# 64-character validation windows. Ours reached a loss below nanoGPT's final one in
# 0.3-0.4 [speedrun_wall_ratio] of its whole-process wall time (imports and XLA compile included).
#
# `--ablation` puts each change back to nanoGPT's setting, one at a time (below, read from
# `transformer_speedrun_ablation.json`). The learning rate is the big lever: at nanoGPT's 1e-3 the
# same 1,000 steps end 0.17-0.21 [ablation_lr_cost] nats worse. Depth is the other: the 4-layer model
# ends no lower after the same million tokens and takes 1.6-2.0× [ablation_depth_time] the time.
# Twelve windows a step instead of 16 see a quarter fewer tokens and fall short of nanoGPT's loss.
# Weight decay, the longer warm-up and XLA barely move the loss in so short a run (a few
# thousandths, either way); evaluating every 250 steps and running without XLA each cost a few
# seconds. At nanoGPT's own settings our process takes 0.8-1.1× [equal_settings_ratio] nanoGPT's time
# (ours in the ablation, nanoGPT in the race minutes before: two runs): the engines are about even on
# this machine, and the recipe is what wins the race.

# %%
try:
    race = read_result("transformer_speedrun.json")
    rows = read_result("transformer_speedrun_ablation.json", "rows")
    ours, peer = race["ours"], race["nanogpt"]
    print(f"nanoGPT ({peer['command'].split()[2]} ...): {peer['process_wall_seconds']:.1f} s, "
          f"val loss {peer['val_loss_disjoint_windows']:.4f}")
    print(f"ours (--preset speedrun): {ours['process_wall_seconds']:.1f} s, val loss {ours['val_loss_disjoint_windows']:.4f}")
    claim("speedrun_wall_ratio", ours["process_wall_seconds"] / peer["process_wall_seconds"], full=(0.3, 0.4),
          quick=(0.3, 0.4), text="our wall time over nanoGPT's, to a loss at most its", source="transformer_speedrun.json")
    assert ours["val_loss_disjoint_windows"] <= peer["val_loss_disjoint_windows"]
    base = rows[0]["val_loss_disjoint_windows"]
    print(f"\n{'row':<22}{'what changed':<62}{'wall s':>8}{'val loss':>10}{'vs preset':>11}")
    for row in rows:
        print(f"{row['row']:<22}{row['change'][:60]:<62}{row['process_wall_seconds']:>8.1f}"
              f"{row['val_loss_disjoint_windows']:>10.4f}{row['val_loss_disjoint_windows'] - base:>+11.4f}")
    by_name = {row["row"]: row for row in rows}
    claim("ablation_lr_cost", by_name["learning rate 1e-3"]["val_loss_disjoint_windows"] - base, full=(0.17, 0.21),
          quick=(0.17, 0.21), text="nats lost at nanoGPT's learning rate, same steps",
          source="transformer_speedrun_ablation.json")
    claim("ablation_depth_time", by_name["4 layers"]["process_wall_seconds"] / rows[0]["process_wall_seconds"],
          full=(1.6, 2.0), quick=(1.6, 2.0), text="wall time of 4 layers over the preset's 2, same steps",
          source="transformer_speedrun_ablation.json")
    assert by_name["4 layers"]["val_loss_disjoint_windows"] >= base  # deeper: no lower after the same tokens
    claim("equal_settings_ratio", by_name["nanoGPT's settings"]["process_wall_seconds"] / peer["process_wall_seconds"],
          full=(0.8, 1.1), quick=(0.8, 1.1), text="our wall time at nanoGPT's settings over nanoGPT's (two runs)",
          source="transformer_speedrun_ablation.json, transformer_speedrun.json")
except FileNotFoundError as missing:
    print(f"{missing.filename} is not here: run benchmarks/transformer_shakespeare.py --preset speedrun (and --ablation)")

# %% [markdown]
# ## The landscape: three kinds of Transformer language model
#
# | Kind | Example | Trained to | Good at | In this zoo |
# |---|---|---|---|---|
# | encoder-only | BERT, RoBERTa | fill in masked tokens from both sides (masked LM) | reading: classification, tagging, retrieval | (none: it cannot generate left to right) |
# | encoder–decoder | T5, BART, the original Transformer | rebuild or transform a text: span corruption / denoising, translation | text to text: translation, summarisation | the GRU autoencoder of lesson 03 (recurrent, same shape) |
# | decoder-only | GPT-2, GPT-3 | predict the next token, Σ_t log p(x_t \| x_<t) | generation, and any task written as a prompt | the `transformer` family (lessons 04-06) |
#
# ### Scale, on one log axis
# The parameters of this lesson's models are counted here; GPT-2 small's 124 million (Radford et al.
# 2019, keras-nlp's `gpt2_base_en`), GPT-2 XL's 1.5 billion and GPT-3's 175 billion (Brown et al. 2020)
# are the published sizes.

# %%
sizes = {f"zoo transformer ({preset()})": transformer.num_params(), "tiny GPT-2 (this lesson)": model.num_params()}
if source == "gpt2_base_en":
    sizes["GPT-2 small, loaded"] = model.num_params()
sizes.update({"GPT-2 small (published)": 124e6, "GPT-2 XL (published)": 1.5e9, "GPT-3 (published)": 175e9})
fig, ax = plt.subplots(figsize=(7, 3.6))
bars = ax.barh(list(sizes), list(sizes.values()), color=["tab:green"] * 2 + ["tab:gray"] * (len(sizes) - 2))
ax.bar_label(bars, [f"{v:,.0f}" if v < 1e6 else f"{v / 1e6:,.0f} M" for v in sizes.values()], fontsize=8)
ax.set_xscale("log")
ax.set_xlabel("parameters (log scale)")
ax.set_title("model size: this zoo against published GPT models")
save_and_show(fig, OUT / "scale.png")
print(f"GPT-3 has {175e9 / transformer.num_params():,.0f} times the parameters of the zoo's Transformer")

# %% [markdown]
# ## The limits, each checked on this zoo's own models
# The articles list what large language models cannot be trusted with. Each has a small, checkable
# version here.
#
# **Memorisation and privacy.** A language model gives high probability to its training text, and can
# write it back word for word, names included. Below, the zoo's word 5-gram writes samples, and we
# measure the longest run of words in each that occurs verbatim in the training text (any span longer
# than the model's order of 5 was stitched together from overlapping training n-grams).

# %%
ngram = lmzoo.train("ngram", corpus, OUT / "ngram5", overwrite=True, preset=preset(), order=5)
train_words = " " + " ".join(w for line in corpus.train.splitlines() for w in ngram.tokenizer.words(line)) + " "


def longest_copied_span(words: list[str]) -> tuple[int, str]:
    """The longest run of consecutive `words` found verbatim in the training text."""
    best = (0, "")
    for i in range(len(words)):
        j = i + best[0] + 1
        while j <= len(words) and f" {' '.join(words[i:j])} " in train_words:
            best, j = (j - i, " ".join(words[i:j])), j + 1
    return best


spans = []
for seed in range(5):
    sample = ngram.generate("The", max_length=40, sampler="top_k", top_k=10, seed=seed)[0]
    spans.append(longest_copied_span(["The", *ngram.tokenizer.words(sample)]))
length, copied = max(spans)
print(f"longest span copied verbatim from the training text: {length} words: {copied!r}")
claim("longest_copied_span", length, full=(6, 45), quick=(6, 45), text="words, over 5 samples of the word 5-gram")

# %% [markdown]
# **Data and its bias.** A model knows only the text it was trained on. The articles' example sentence is
# modern Chinese; a character model trained on Tang poems (the `tang-poems` corpus, or the embedded sample
# when it is absent) has never seen some of its characters, and continues it in the style of the poems.

# %%
try:
    poems = lmzoo.load_corpus("tang-poems", allow_download=not quick())
except LmzooError as err:
    print(f"tang-poems is not available here ({err})")
    poems = lesson.chinese_sample_corpus()
    print(f"FALLBACK: using {poems.source} instead")
tang = lmzoo.train("ngram", poems, OUT / "tang_ngram", overwrite=True, preset=preset(), tokenizer="char", order=4)
modern = "我明天要去看电影。"
unknown = [ch for ch in modern if ch not in tang.tokenizer.index]
print(f"characters of {modern!r} the poem model never saw: {unknown} ({len(unknown)} of {len(modern)})")
print("its continuation:", repr(tang.generate(modern, max_length=24, sampler="top_k", top_k=5, seed=0)[0]))
assert unknown  # e.g. the simplified 电 of 电影: the poems are written in traditional characters

# %% [markdown]
# **Compute.** Training cost grows with parameters × tokens: 6 floating-point operations (a rule of
# thumb) per parameter per training token (forward and backward). The zoo's Transformer and GPT-3 (175 billion
# parameters, 300 billion training tokens, Brown et al. 2020), on that rule:

# %%
tokens_seen = transformer.config.steps * transformer.config.batch_size * transformer.config.context
zoo_flops, gpt3_flops = 6 * transformer.num_params() * tokens_seen, 6 * 175e9 * 300e9
print(f"zoo Transformer: 6 × {transformer.num_params():,} × {tokens_seen:,} = {zoo_flops:.2e} FLOPs")
print(f"GPT-3: {gpt3_flops:.2e} FLOPs, {gpt3_flops / zoo_flops:.1e} times more")

# %% [markdown]
# **Safety and truth.** A language model writes what is *likely* given its training text, not what is
# true or safe: the samples above are fluent-looking pieces of news stitched together with no regard for
# facts, and a model trained on the web learns whatever the web says. Nothing in the maximum-likelihood
# objective of lesson 05 rewards truth; the remedies (curated data, fine-tuning on instructions and human
# preferences, filters) are outside this course.

# %% [markdown]
# ## Summary
# - keras-nlp presets give the articles' GPT-2 recipe: `from_preset`, encode, `generate`, decode. A
#   preset is a directory; a name is just a directory that gets downloaded. Without network, point
#   `load_preset` at a local copy.
# - GPT-2's byte-level BPE encodes any text without `<unk>`; decode whole characters only.
# - Greedy and beam maximise likelihood and fall into loops; temperature, top-k and top-p trade a little
#   likelihood for diversity.
# - One forward pass predicts the next token at every prompt position; generation feeds each choice
#   back in. The key/value cache makes each step cost one position, with the same output.
# - Encoder-only models read (BERT), encoder-decoder models transform (T5), decoder-only models write
#   (GPT); GPT-3 has hundreds of thousands of times the zoo Transformer's parameters, and shares its limits:
#   it repeats its training text, knows only its data, and optimises likelihood, not truth.
#
# ## Exercises
# 1. Online (or with a local copy of `gpt2_base_en` under `~/.cache/lmzoo/presets`), rerun the first
#    section and compare GPT-2's samples with the tiny model's. How many BPE ids does
#    `我明天要去看电影。` take with the real vocabulary?
# 2. Sweep the temperature from 0.3 to 1.5 and plot distinct 4-grams against mean log-probability.
#    Where does the text stop looking like English?
# 3. Add a repetition penalty: subtract a constant from the log-probability of tokens already in the
#    last 20 positions, through `sampling.generate` with a wrapped `next_log_probs`. Does greedy still
#    loop?
# 4. Time cached and uncached decoding for 50, 200 and 800 new tokens with a model of `context=256`.
#    At what length does the cache start to pay off on this machine?
# 5. Beam search with `num_beams=1` is greedy: check it with `sampling.beam_search`.
# 6. **Build it: the key/value cache.** Write greedy decoding by hand over `transformer.network`: create an
#    empty cache with `network.init_cache(1, length)`, fill it with the whole prompt in one
#    `network.call_with_cache(prompt, cache, 0)` call, then feed one new token per step at its position
#    (`call_with_cache(token, cache, index)`), taking the argmax of the last logits. Check it with
#    `lmzoo.lesson.check_greedy(your_new_ids, transformer, prompt_ids)`: the target is the library's
#    compiled cached decoder, token for token, up to the context length. Solution:
#    `lessons/solutions/06_generation_and_gpt2.py` (the tests run it).
# 7. **Build it: top-p.** Write `top_p(log_probs, p)` returning the log-probabilities renormalised over
#    the smallest set of most likely tokens whose probability reaches p, and −∞ elsewhere. Check it with
#    `lmzoo.lesson.check_top_p(top_p)`: the target is `sampling.filter_log_probs` on 80 random cases.
#    Solution: the same file.

# %% [markdown]
# ## Measured in this run
# Every figure this lesson quotes, as this run measured it or read it from a results file, beside the
# range its text states for this mode (`lmzoo.lesson.measured_table`, from the run's `claims.json`).

# %%
from lmzoo.lesson import measured_table

measured_table()
