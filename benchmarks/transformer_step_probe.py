"""Benchmark: our Transformer's compiled training step against a plain Keras probe of the same model.

Issue 16 reported that a plain Keras + XLA model of nanoGPT's CPU configuration (4 layers, 4 heads,
128 wide, context 64, batch 12) stepped faster than `lmzoo train transformer`. Timed in one process:
- `probe`: embedding + learned positions + 4 pre-LN blocks (fused QKV, hand-written causal attention,
  GELU MLP, bias-free LayerNorm) + tied output; plain `keras.optimizers.AdamW`; XLA.
- `probe_keras_mha`: the same with `keras.layers.MultiHeadAttention`.
- `ours`: `transformer.build_network` and `schedules.make_optimizer`, compiled as
  `window_lm.train_window_lm` does.
- `ours_plain_optimizer`: our network with the probe's optimizer; `ours_no_xla`: `jit_compile=False`.
Every variant trains on the same `window_lm.random_windows` stream through `fit` (50 steps per call),
in interleaved rounds recording wall and process-CPU ms per step (the CPU time is what a shared
machine's load does not blur) and the first call's trace + compile. The optimized XLA HLO of
`probe` and `ours` is counted per instruction kind.

Usage:
    .venv/bin/python benchmarks/transformer_step_probe.py [--steps 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import os
import platform
import re
import sys
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops

from lmzoo.models.schedules import make_optimizer
from lmzoo.models.transformer import NO_DECAY_NAMES, TransformerConfig, build_network
from lmzoo.models.window_lm import random_windows

REPO = Path(__file__).resolve().parent.parent
VOCABULARY = 65  # tiny Shakespeare's characters
CONFIG = TransformerConfig(num_layers=4, num_heads=4, hidden_dim=128, context=64, batch_size=12, steps=2000)
VARIANTS = ("probe", "probe_keras_mha", "ours", "ours_plain_optimizer", "ours_no_xla")


class ProbeBlock(keras.layers.Layer):
    """A pre-LN GPT block written the plainest way: one QKV matmul, a constant causal mask."""

    def __init__(self, width: int, heads: int, context: int, keras_mha: bool = False, **kwargs):
        super().__init__(**kwargs)
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.width, self.heads, self.keras_mha = width, heads, keras_mha
        self.norm_1 = keras.layers.LayerNormalization(epsilon=1e-5, center=False)
        if keras_mha:
            self.attention = keras.layers.MultiHeadAttention(heads, width // heads, use_bias=False, kernel_initializer=init)
        else:
            self.qkv = keras.layers.Dense(3 * width, use_bias=False, kernel_initializer=init)
            self.projection = keras.layers.Dense(width, use_bias=False, kernel_initializer=init)
        self.mask = np.tril(np.ones((context, context), dtype=bool))
        self.norm_2 = keras.layers.LayerNormalization(epsilon=1e-5, center=False)
        self.ffn_in = keras.layers.Dense(4 * width, activation="gelu", use_bias=False, kernel_initializer=init)
        self.ffn_out = keras.layers.Dense(width, use_bias=False, kernel_initializer=init)

    def call(self, x):
        h = self.norm_1(x)
        if self.keras_mha:
            x = x + self.attention(h, h, use_causal_mask=True)
        else:
            b, t = ops.shape(x)[0], ops.shape(x)[1]
            q, k, v = (ops.transpose(ops.reshape(a, (b, t, self.heads, -1)), (0, 2, 1, 3))
                       for a in ops.split(self.qkv(h), 3, axis=-1))
            scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(self.width // self.heads)
            weights = ops.softmax(ops.where(self.mask[:t, :t], scores, -1e9), axis=-1)
            x = x + self.projection(ops.reshape(ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3)), (b, t, self.width)))
        return x + self.ffn_out(self.ffn_in(self.norm_2(x)))


class Probe(keras.Model):
    def __init__(self, config: TransformerConfig, vocabulary: int, keras_mha: bool = False):
        super().__init__()
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.token_embedding = keras.layers.Embedding(vocabulary, config.hidden_dim, embeddings_initializer=init)
        self.positions = self.add_weight(shape=(config.context, config.hidden_dim), initializer=init)
        self.blocks = [ProbeBlock(config.hidden_dim, config.num_heads, config.context, keras_mha)
                       for _ in range(config.num_layers)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, center=False)

    def call(self, x):
        h = self.token_embedding(x) + self.positions[: ops.shape(x)[1]]
        for block in self.blocks:
            h = block(h)
        return ops.matmul(self.final_norm(h), ops.transpose(self.token_embedding.embeddings))


def plain_adamw(config: TransformerConfig) -> keras.optimizers.AdamW:
    return keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay, beta_1=config.beta_1,
                                  beta_2=config.beta_2, global_clipnorm=config.clipnorm)


def build(variant: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    if variant.startswith("probe"):
        network = Probe(CONFIG, VOCABULARY, keras_mha=variant == "probe_keras_mha")
        network(np.zeros((1, CONFIG.context), "int32"))
    else:
        network = build_network(CONFIG, VOCABULARY)
    plain = variant.startswith("probe") or variant == "ours_plain_optimizer"
    optimizer = plain_adamw(CONFIG) if plain else make_optimizer(CONFIG, network.trainable_variables, NO_DECAY_NAMES)
    network.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    jit_compile=variant != "ours_no_xla", steps_per_execution=50)
    return network


def hlo_counts(network: keras.Model, x: np.ndarray, y: np.ndarray) -> dict:
    """Instruction counts of the optimized XLA HLO of one forward+backward pass."""
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(jit_compile=True)
    def gradients(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, network(x, training=True))
        return tape.gradient(loss, network.trainable_variables)

    hlo = gradients.experimental_get_compiler_ir(tf.constant(x), tf.constant(y))(stage="optimized_hlo")
    counts = collections.Counter(re.findall(r"= \S+ ([a-z][\w-]*)\(", hlo))
    return {"instructions": sum(counts.values()), **{k: counts[k] for k in ("dot", "fusion", "transpose", "copy")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="steps per timed fit call (a multiple of 50 is not needed)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/transformer_step_probe.json"))
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    steps = max(50, args.steps // 50 * 50)  # whole compiled calls

    ids = np.random.default_rng(0).integers(4, VOCABULARY, size=1_000_000).astype(np.int32)
    load_before = os.getloadavg()
    networks, first_call = {}, {}
    for variant in variants:
        network = build(variant)
        data = random_windows(ids, CONFIG.context, CONFIG.batch_size, seed=0)
        wall, cpu = time.perf_counter(), time.process_time()
        network.fit(data, epochs=1, steps_per_epoch=50, verbose=0)
        first_call[variant] = {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
                               "load": os.getloadavg()[0]}
        print(f"{variant:<22} first call (trace, compile, 50 steps): {first_call[variant]['wall_seconds']:.1f} s wall, "
              f"{first_call[variant]['cpu_seconds']:.1f} s CPU", flush=True)
        networks[variant] = (network, data)
    rounds = []
    for r in range(args.rounds):
        for variant, (network, data) in networks.items():
            load = os.getloadavg()[0]
            wall, cpu = time.perf_counter(), time.process_time()
            network.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
            row = {"round": r, "variant": variant, "load": load,
                   "wall_ms_per_step": 1000 * (time.perf_counter() - wall) / steps,
                   "cpu_ms_per_step": 1000 * (time.process_time() - cpu) / steps}
            rounds.append(row)
            print(f"round {r} {variant:<22} {row['wall_ms_per_step']:7.1f} ms/step wall {row['cpu_ms_per_step']:7.1f} "
                  f"ms/step CPU  (load {load:.1f})", flush=True)
    x = ids[: CONFIG.batch_size * CONFIG.context].reshape(CONFIG.batch_size, CONFIG.context)
    y = ids[1 : CONFIG.batch_size * CONFIG.context + 1].reshape(CONFIG.batch_size, CONFIG.context)
    hlo = {v: hlo_counts(networks[v][0], x, y) for v in ("probe", "ours") if v in networks}
    summary = {}
    for variant in variants:
        mine = [r for r in rounds if r["variant"] == variant]
        summary[variant] = {"wall_ms_per_step_median": float(np.median([r["wall_ms_per_step"] for r in mine])),
                            "cpu_ms_per_step_median": float(np.median([r["cpu_ms_per_step"] for r in mine]))}
    if "probe" in summary and "ours" in summary:
        summary["ours_over_probe_cpu"] = summary["ours"]["cpu_ms_per_step_median"] / summary["probe"]["cpu_ms_per_step_median"]
        # Paired per round: both timed within seconds of each other.
        pairs = [a["wall_ms_per_step"] / b["wall_ms_per_step"] for a in rounds for b in rounds
                 if a["round"] == b["round"] and a["variant"] == "ours" and b["variant"] == "probe"]
        summary["ours_over_probe_wall_paired_median"] = float(np.median(pairs))
    result = {
        "benchmark": "transformer_step_probe",
        "command": " ".join(["python", "benchmarks/transformer_step_probe.py", *(argv if argv is not None else sys.argv[1:])]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "load_average_before": list(load_before),
                    "load_average_after": list(os.getloadavg()),
                    "note": "2 cores shared with other workers' jobs: compare variants within a round, and CPU ms/step"},
        "versions": {"keras": keras.__version__, "backend": keras.config.backend()},
        "settings": {"num_layers": CONFIG.num_layers, "num_heads": CONFIG.num_heads, "hidden_dim": CONFIG.hidden_dim,
                     "context": CONFIG.context, "batch_size": CONFIG.batch_size, "steps_per_execution": 50,
                     "steps_per_round": steps, "vocabulary": VOCABULARY},
        "first_call": first_call, "rounds": rounds, "summary": summary, "hlo_forward_backward": hlo,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"summary": summary, "hlo_forward_backward": hlo}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
