# %% [markdown]
# # Lesson 04: attention
#
# **The question:** Instead of squeezing the past into one vector, can each position look back at
# every earlier one and choose what to use?
#
# **What you will learn:** scaled dot-product attention with queries, keys and values,
# `A = softmax(QKᵀ/√d_k + b)`; that the causal mask is exactly such an additive bias `b` (−∞ above the
# diagonal) and that a relative-position bias is another one; what attention weights look like on a real
# sentence; multi-head attention as reshapes, one attention per head, concatenation and an output
# projection W^O; sinusoidal positional encodings, and why the sine term alone is a mistake (with both
# sine and cosine a shift by k positions is a rotation).
#
# **Prerequisites:** lesson 02 (word vectors) for the embeddings used as inputs; matrix products and
# the softmax.
#
# **Run time:** about 25 s in quick mode (`LMZOO_QUICK=1`), about 2 minutes in full (it trains
# gensim's Word2Vec on `lee` for input vectors and the character Transformer whose heads we inspect).
#
# **Expected results:** every check below prints `True` / passes its assert; each row of every attention
# matrix sums to 1 and is exactly 0 above the diagonal under the causal bias; with identity projections
# a word attends most to itself and then to words with similar vectors; the sine/cosine shift is a
# rotation to float precision while the best linear map for the sine-only table still misses by 0.1-1.5
# [sine_only_error] (each figure in brackets is measured as the lesson runs and printed beside its name).
# In full mode the trained Transformer's heads show vertical stripes: many characters of a word attend to
# the space or capital letter that starts it (a mean look-back over the heads of 4-10
# [lookback_first_layer] characters in the first layer, 6-12 [lookback_last_layer] in the last); the quick
# preset's heads are still blurry. A block's feed-forward network maps d_model → d_ff → d_model, and the
# block rebuilt by hand from its two residual sums equals the library's.
#
# **Library modules used:** `lmzoo.models.transformer_layers` (`causal_bias`,
# `scaled_dot_product_attention`, `MultiHeadAttention`, `sinusoidal_positional_encoding`),
# `lmzoo.train` (the `word2vec-gensim` family for input vectors, the `transformer` family for trained
# heads), `lmzoo.lesson`.

# %%
import matplotlib.pyplot as plt
import numpy as np
from keras import ops

import lmzoo
from lmzoo.lesson import claim, output_dir, preset, save_and_show, shared_model, show
from lmzoo.models.transformer_layers import (
    MultiHeadAttention,
    causal_bias,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)

OUT = output_dir("04_attention")
rng = np.random.default_rng(0)


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


# %% [markdown]
# ## Queries, keys and values, from scratch
# Every position asks a question (its **query** q), advertises what it holds (its **key** k) and
# carries a payload (its **value** v). The weight that position i gives position j is a softmax over
# j of the similarity q_i·k_j, divided by √d_k so that the scores do not grow with the width (with unit
# variance entries a dot product of d_k terms has variance d_k, which would saturate the softmax). The
# output is the weighted average of the values:
#
# `Attention(Q, K, V) = softmax(QKᵀ/√d_k + b) V`
#
# Here it is in five lines of NumPy, then checked against the library's implementation.
#
# > **Common mistake: attention without V (article 004).** The article writes attention as
# > `A = softmax(QKᵀ/√d_k + b)` and stops there. That is only the matrix of **weights**, shape
# > (T, T): how much each position looks at each other one. The attention **output** multiplies it by
# > the values, `A V`, shape (T, d_v): a weighted average of what the other positions carry. Without V
# > nothing is passed on. The cell below prints both shapes.

# %%
def attention_from_scratch(q, k, v, b=0.0):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]) + b
    scores = scores - scores.max(axis=-1, keepdims=True)  # softmax is shift-invariant; avoids overflow
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    return weights @ v, weights


q, k, v = (rng.normal(size=(1, 1, 6, 8)).astype("float32") for _ in range(3))  # (batch, heads, time, d_k)
mine, mine_weights = attention_from_scratch(q, k, v)
library, library_weights = scaled_dot_product_attention(q, k, v)
assert np.allclose(mine, to_numpy(library), atol=1e-5) and np.allclose(mine_weights, to_numpy(library_weights), atol=1e-6)
print("from-scratch attention equals the library's: True; rows sum to", mine_weights.sum(-1).round(6)[0, 0])
print("weights A:", mine_weights.shape[-2:], "  output A V:", mine.shape[-2:])
show(scaled_dot_product_attention)

# %% [markdown]
# ## The causal mask is an additive bias
# A language model must not look at the tokens it is asked to predict. The articles write attention
# with a bias term b; the causal mask is exactly such a b: 0 on and below the diagonal (key j ≤ query i)
# and −∞ above it. Adding −∞ to a score makes its exponential 0, so the softmax gives future keys a
# weight of exactly 0 and renormalises over the past. (The library uses −10⁹ rather than −∞: the
# result is the same 0 in float32, and a row that is fully masked by two masks at once stays finite
# instead of turning into NaN.)

# %%
T = 6
bias = to_numpy(causal_bias(T))
print(np.where(bias == 0, "0", "-inf"))
causal_out, causal_weights = attention_from_scratch(q, k, v, b=bias)
assert np.all(causal_weights[0, 0][np.triu_indices(T, 1)] == 0)
print("weights above the diagonal are exactly 0:", True)
# The same thing as a boolean mask (True = may attend):
_, masked_weights = scaled_dot_product_attention(q, k, v, mask=np.tril(np.ones((T, T), bool)))
print("bias and boolean mask agree:", np.allclose(causal_weights, to_numpy(masked_weights), atol=1e-6))
# Causality as a test: change the last token's key and value; no earlier output moves.
k2, v2 = k.copy(), v.copy()
k2[..., -1, :] += 5.0
v2[..., -1, :] -= 5.0
changed, _ = attention_from_scratch(q, k2, v2, b=bias)
print("outputs before the last position unchanged:", np.allclose(changed[..., :-1, :], causal_out[..., :-1, :]))

# %% [markdown]
# ## A relative-position bias is another b
# Nothing forces b to be a mask. A **relative-position bias** adds a number that depends only on the
# distance i − j: ALiBi (Press et al. 2022) uses −m·(i − j), a straight penalty on distance with a
# different slope m per head; T5 learns one number per distance bucket. Added to the causal bias, it
# makes each head prefer recent tokens, more or less strongly.

# %%
distance = np.arange(T)[:, None] - np.arange(T)[None, :]
slopes = [0.0, 0.5, 2.0]
fig, axes = plt.subplots(1, len(slopes), figsize=(10, 3.2))
for ax, slope in zip(axes, slopes, strict=True):
    _, w = attention_from_scratch(q, k, v, b=bias - slope * np.maximum(distance, 0))
    ax.imshow(w[0, 0], cmap="viridis", vmin=0, vmax=1)
    ax.set_title(f"causal + ALiBi slope {slope}")
    ax.set_xlabel("key position j")
axes[0].set_ylabel("query position i")
fig.tight_layout()
save_and_show(fig, OUT / "relative_position_bias.png")

# %% [markdown]
# ## Attention on a real sentence
# To see weights on real words we need vectors for them. We train gensim's Word2Vec on the Lee corpus
# (the `word2vec-gensim` family of lesson 02) and use its vectors as the inputs x. Two settings:
#
# 1. **Identity projections** (Q = K = V = x): pure similarity. Each word attends most to itself and
#    then to words whose vectors are close: this is what attention computes before anything is learned.
#    A second panel masks the diagonal with one more bias to show which *other* word each one picks.
# 2. **A `MultiHeadAttention` layer with random (untrained) weights**, 4 heads, causal. The patterns are
#    arbitrary - nothing was trained - but they show the shape of the computation: each head has its
#    own projections and so its own weights, and nothing above the diagonal. Lesson 05 trains a
#    Transformer whose heads learn useful patterns.

# %%
corpus = lmzoo.load_corpus("lee")
w2v = lmzoo.train("word2vec-gensim", corpus, OUT / "word2vec", overwrite=True, preset=preset())
vectors = w2v.word_vectors()


def in_vocabulary(word):
    return word in vectors.key_to_index or word.lower() in vectors.key_to_index


candidates = [s.rstrip(".").split() for s in corpus.sentences("test")]
words = next(s for s in candidates if 8 <= len(s) <= 14 and all(in_vocabulary(w) for w in s))
# Word2Vec vectors share a common direction (every cosine is positive); removing the mean vector
# leaves what distinguishes words. Scaling to norm √d gives entries of unit variance.
x = np.stack([vectors[w if w in vectors.key_to_index else w.lower()] for w in words]) - vectors.vectors.mean(axis=0)
x = (x / np.linalg.norm(x, axis=1, keepdims=True) * np.sqrt(x.shape[1])).astype("float32")
print(" ".join(words))

_, similarity_weights = scaled_dot_product_attention(x[None, None], x[None, None], x[None, None])
similarity_weights = to_numpy(similarity_weights)[0, 0]
print("each word attends most to itself:", bool(np.all(similarity_weights.argmax(axis=1) == np.arange(len(words)))))
# Self-similarity dominates; one more bias (−∞ on the diagonal) hides it and shows the neighbours.
not_self = np.where(np.eye(len(words), dtype=bool), -1e9, 0.0).astype("float32")
_, neighbour_weights = scaled_dot_product_attention(x[None, None], x[None, None], x[None, None], bias=not_self)
neighbour_weights = to_numpy(neighbour_weights)[0, 0]
for i in range(0, len(words), 3):
    print(f"  {words[i]!r:>14} attends most to {words[int(neighbour_weights[i].argmax())]!r}")

layer = MultiHeadAttention(num_heads=4, key_dim=x.shape[1] // 4)
_, head_weights = layer(x[None], x[None], use_causal_mask=True, return_attention_scores=True)
head_weights = to_numpy(head_weights)[0]  # (heads, time, time)
assert np.allclose(head_weights.sum(-1), 1, atol=1e-5) and np.all(head_weights[:, np.triu_indices(len(words), 1)[0], np.triu_indices(len(words), 1)[1]] == 0)

fig, axes = plt.subplots(1, 4, figsize=(20, 5.4))
panels = [(similarity_weights, "Q=K=V=x (similarity)"), (neighbour_weights, "Q=K=V=x, self masked by b"),
          (head_weights[0], "random head 1, causal"), (head_weights[1], "random head 2, causal")]
for ax, (weights, title) in zip(axes, panels, strict=True):
    ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(words)), words, rotation=90)
    ax.set_yticks(range(len(words)), words)
    ax.set_title(title)
fig.tight_layout()
save_and_show(fig, OUT / "attention_heatmaps.png")

# %% [markdown]
# ### Heads of a trained Transformer
# Random heads show the mechanics; trained heads show what attention is *for*. We train the library's
# character-level Transformer on `lee` (the `quick` preset in quick mode trains only 300
# [quick:transformer_steps] steps, so its heads are barely shaped; the `default` preset trains 600
# [transformer_steps]) and read the weights of every head in the
# first and last layers on the start of the same sentence. Typical patterns after training: heads that
# look at the previous character or two, and heads that look back to the start of the current word or
# to the last space. (Lesson 05 covers the model itself.)

# %%
transformer = shared_model("transformer", corpus)  # trained once, shared with lessons 05 and 06
claim("transformer_steps", transformer.config.steps, full=(600, 600), quick=(300, 300), text=f"{preset()} preset")
network = transformer.network
chars = " ".join(words)[: min(40, transformer.config.context)]  # at most one context
ids = np.asarray([transformer.tokenizer.encode(chars)], dtype=np.int32)
hidden = network.embed(ids, 0)
layer_weights = []
for block in network.blocks:
    normed = block.attention_norm(hidden)
    _, weights = block.attention(normed, normed, use_causal_mask=True, return_attention_scores=True)
    layer_weights.append(to_numpy(weights)[0])  # (heads, time, time)
    hidden = block(hidden)
shown = [(0, layer_weights[0]), (len(layer_weights) - 1, layer_weights[-1])]
n_heads = layer_weights[0].shape[0]
fig, axes = plt.subplots(2, n_heads, figsize=(4.2 * n_heads, 8.4), squeeze=False)
for row, (layer_index, weights) in enumerate(shown):
    for head in range(n_heads):
        ax = axes[row, head]
        ax.imshow(weights[head], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(chars)), list(chars), fontsize=6)
        ax.set_yticks(range(len(chars)), list(chars), fontsize=6)
        ax.set_title(f"layer {layer_index + 1}, head {head + 1}")
fig.suptitle(f"trained character Transformer ({preset()} preset) on {chars!r}")
fig.tight_layout()
save_and_show(fig, OUT / "trained_transformer_heads.png")
for (layer_index, weights), which in zip(shown, ("first", "last"), strict=True):
    # Average distance (in characters) between a query and the keys it attends to, per head.
    distances = (weights * np.maximum(np.arange(len(chars))[:, None] - np.arange(len(chars))[None, :], 0)).sum(-1).mean(-1)
    print(f"layer {layer_index + 1}: mean look-back per head", np.round(distances, 1))
    claim(f"lookback_{which}_layer", distances.mean(), full=(4, 10) if which == "first" else (6, 12),
          text="characters, mean over heads (quick: blurry heads, no range)")

# %% [markdown]
# ## Multi-head attention is reshapes
# One head compares vectors in one way. Multi-head attention runs h heads side by side on narrower
# pieces: project x to Q, K, V of width h·d_k, **reshape** the last axis into (h, d_k), move the head
# axis before time, run the same attention on every head at once, move it back, **reshape** (that is,
# concatenate the heads), and mix them with the output projection W^O. No loop over heads is needed.
# Below we redo the layer's computation by hand with its own weights, printing every shape.

# %%
def dense(layer_part, inputs):
    kernel, bias_vector = (to_numpy(w) for w in layer_part.weights)
    return inputs @ kernel + bias_vector


batch, time_steps, width = 1, len(words), x.shape[1]
heads, d_k = layer.num_heads, layer.key_dim
xb = x[None]
print("x                         ", xb.shape)
Q = dense(layer.query_dense, xb)
print("Q = x W^Q                 ", Q.shape)
Q_heads = Q.reshape(batch, time_steps, heads, d_k).transpose(0, 2, 1, 3)
K_heads = dense(layer.key_dense, xb).reshape(batch, time_steps, heads, d_k).transpose(0, 2, 1, 3)
V_heads = dense(layer.value_dense, xb).reshape(batch, time_steps, heads, d_k).transpose(0, 2, 1, 3)
print("reshape + transpose       ", Q_heads.shape, "(batch, heads, time, d_k)")
per_head, _ = attention_from_scratch(Q_heads, K_heads, V_heads, b=to_numpy(causal_bias(time_steps)))
print("attention per head        ", per_head.shape)
concatenated = per_head.transpose(0, 2, 1, 3).reshape(batch, time_steps, heads * d_k)
print("transpose + reshape = concat", concatenated.shape)
by_hand = dense(layer.output_dense, concatenated)
print("concat W^O                ", by_hand.shape)
assert np.allclose(by_hand, to_numpy(layer(xb, xb, use_causal_mask=True)), atol=1e-4)
print("hand-made multi-head attention equals the layer: True")

# %% [markdown]
# ## Positional encoding
# Attention is permutation-invariant: shuffle the words and each one gets the same weights over the
# same set. Order has to be added to the inputs. The sinusoidal encoding of Vaswani et al. adds, at
# position p, pairs PE[p, 2i] = sin(p·ω_i) and PE[p, 2i+1] = cos(p·ω_i), with frequencies
# ω_i = 10000^(−2i/d) from one cycle per 2π positions down to one per 2π·10000.
#
# > **Common mistake.** One of the articles writes only the sine term. With sine and cosine at the
# > same frequency, moving k positions is a **rotation** of each pair by the angle k·ω_i - a linear map
# > that does not depend on p - so a layer can learn "look k tokens back" once for every position, and
# > PE[p]·PE[q] depends only on p − q. With sines alone no such linear map exists
# > (sin(ω(p+k)) = sin(ωp)cos(ωk) + **cos(ωp)**sin(ωk) needs the cosine), and positions p and π/ω − p
# > get the same value at that frequency. The checks below show both facts numerically.

# %%
length, dim = 64, 32
pe = sinusoidal_positional_encoding(length, dim).astype(np.float64)
omega = 1.0 / np.power(10000.0, np.arange(0, dim, 2) / dim)
shift = 5
rotation = np.zeros((dim, dim))
for i, w in enumerate(omega):  # [sin(a+b), cos(a+b)] = [sin a, cos a] @ [[cos b, -sin b], [sin b, cos b]]
    c, s = np.cos(shift * w), np.sin(shift * w)
    rotation[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = [[c, -s], [s, c]]
rotation_error = np.abs(pe[:-shift] @ rotation - pe[shift:]).max()
print(f"sin+cos: PE[p+{shift}] = PE[p] @ R for every p, max error {rotation_error:.1e}")
assert rotation_error < 1e-5  # the table is stored in float32

sine_only = np.sin(np.arange(length)[:, None] * np.repeat(omega, 2)[None, :dim])
best_map, *_ = np.linalg.lstsq(sine_only[:-shift], sine_only[shift:], rcond=None)
sine_error = np.abs(sine_only[:-shift] @ best_map - sine_only[shift:]).max()
claim("sine_only_error", sine_error, full=(0.1, 1.5), quick=(0.1, 1.5),
      text=f"largest error of the best linear map PE[p] -> PE[p+{shift}], sine-only table")
assert sine_error > 100 * rotation_error

fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
image = axes[0].imshow(pe.T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
axes[0].set_title("sinusoidal encoding (rows: dims, sin/cos interleaved)")
axes[0].set_xlabel("position")
axes[0].set_ylabel("dimension")
fig.colorbar(image, ax=axes[0])
axes[1].imshow(pe @ pe.T, cmap="viridis")
axes[1].set_title("PE[p]·PE[q], sin+cos: depends on p−q only")
axes[2].imshow(sine_only @ sine_only.T, cmap="viridis")
axes[2].set_title("sine only: not a function of p−q")
for ax in axes[1:]:
    ax.set_xlabel("position q")
    ax.set_ylabel("position p")
fig.tight_layout()
save_and_show(fig, OUT / "positional_encoding.png")
toeplitz_gap = max(np.ptp(np.diagonal(pe @ pe.T, offset=d)) for d in range(length))
sine_gap = max(np.ptp(np.diagonal(sine_only @ sine_only.T, offset=d)) for d in range(length))
print(f"spread of PE[p]·PE[p+d] over p: sin+cos {toeplitz_gap:.1e}, sine only {sine_gap:.1f}")
print("figures in", OUT)

# %% [markdown]
# ## From attention to a Transformer block: the feed-forward network and the residuals
# A block adds two things to attention. Each sits inside a **residual connection** (the block adds its
# result to its input instead of replacing it) after a LayerNorm:
#
#     h = x + MultiHeadAttention(LN₁(x))
#     y = h + FFN(LN₂(h)),        FFN(z) = W₂ · GELU(W₁ z + b₁) + b₂
#
# with W₁ of shape d_model × d_ff and W₂ of shape d_ff × d_model: the FFN widens each position's vector to
# d_ff (4 × d_model in GPT-2), applies the non-linearity, and projects back, position by position.
#
# > **Common mistake: a malformed feed-forward formula, and no residuals (article 004).** The article's
# > FFN formula does not type-check. The FFN is two dense layers, **d_model → d_ff → d_model**, with the
# > activation between them (ReLU in the original Transformer, GELU in GPT-2 and here) and dropout after;
# > it must give back d_model so that it can be **added** to its input. The two additions, x + … and
# > h + …, are the residual connections: they let the gradient flow straight through a deep stack, and
# > each sub-layer learns a correction to what is already there. Below, the trained model's first block
# > is rebuilt by hand from these two lines and compared with the library's block.

# %%
block = network.blocks[0]
hidden = network.embed(ids, 0)
d_model, d_ff = hidden.shape[-1], block.intermediate_dim
print("W1", tuple(block.ffn_in.kernel.shape), " W2", tuple(block.ffn_out.kernel.shape), f"(d_model={d_model}, d_ff={d_ff})")
assert tuple(block.ffn_in.kernel.shape) == (d_model, d_ff) and tuple(block.ffn_out.kernel.shape) == (d_ff, d_model)
normed = block.attention_norm(hidden)
h = hidden + block.attention(normed, normed, use_causal_mask=True)  # residual 1
y = h + block.ffn_out(block.ffn_in(block.ffn_norm(h)))  # residual 2 (dropout is off at inference)
print("block by hand equals the library's block:", np.allclose(to_numpy(y), to_numpy(block(hidden)), atol=1e-5))
assert np.allclose(to_numpy(y), to_numpy(block(hidden)), atol=1e-5)

# %% [markdown]
# > **Common mistake: "the Transformer is based on RNNs" (article 000).** It is the opposite: the
# > Transformer removed recurrence. A recurrent network (the GRU of lesson 03) reads a sequence of T
# > tokens in **T dependent steps**: step t needs the state of step t − 1, so training cannot run the
# > positions in parallel, and information from token 1 reaches token T through T − 1 state updates (a
# > path of length T, along which gradients fade). Self-attention connects every pair of positions in
# > **one** step (path length 1) and computes all T positions of a layer at once with matrix products,
# > which is why it trains in parallel on long texts; its cost is the T × T weight matrix. (With a causal
# > mask it still *generates* one token at a time: lesson 06.)

# %% [markdown]
# ## Summary
# - Attention is `softmax(QKᵀ/√d_k + b) V`: a weighted average of values, weighted by query-key
#   similarity; the √d_k keeps the softmax from saturating as the width grows.
# - The causal mask is the bias b with −∞ above the diagonal; a relative-position bias (ALiBi, T5) is
#   another b, and the two simply add.
# - Multi-head attention is reshape → attention on every head at once → reshape (concatenate) → W^O.
# - Sinusoidal positions need sine **and** cosine: then a shift is a rotation, the same linear map at
#   every position.
#
# ## Exercises
# 1. Remove the `/ np.sqrt(q.shape[-1])` from `attention_from_scratch` and draw q, k with width 512
#    instead of 8. How peaked (max weight per row) do the attention rows become, and why?
# 2. Replace the ALiBi bias with a *learned* bias: one number per distance 0..T−1 (T5 style). Write it as
#    a (T,) vector indexed by `distance` and check that the causal rows still sum to 1.
# 3. Shuffle the words of the sentence and recompute the identity-projection heatmap. Which property of
#    attention does this show, and how do positional encodings change it?
# 4. Find two positions p ≠ q in `sine_only` whose rows are closer than any pair in `pe`. What does that
#    mean for a model that must tell them apart?
# 5. Compare the library's `MultiHeadAttention` with `keras.layers.MultiHeadAttention` after copying
#    the weights across (look at `tests/` for how the project proves they agree).
# 6. **Build it: causal attention with the mask as a bias.** In NumPy only, write
#    `causal_attention(q, k, v)` for (T, d) arrays: softmax(QKᵀ/√d_k + b) V with b = −∞ above the
#    diagonal. Check it with `lmzoo.lesson.check_causal_attention(causal_attention)`: the target is the
#    library's `scaled_dot_product_attention` to 1e-5, and a change to the last value must leave every
#    earlier output unchanged. Solution: `lessons/solutions/04_attention.py` (the tests run it).

# %% [markdown]
# ## Measured in this run
# Every figure this lesson quotes, as this run measured it or read it from a results file, beside the
# range its text states for this mode (`lmzoo.lesson.measured_table`, from the run's `claims.json`).

# %%
from lmzoo.lesson import measured_table

measured_table()
