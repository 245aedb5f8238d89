"""Benchmark: a character-level GPT on tiny Shakespeare against nanoGPT's published laptop run.

CPU config (nanoGPT `config/train_shakespeare_char.py` with its laptop overrides): 4 layers,
4 heads, 128 wide, context 64, batch 12, 2,000 steps, learning rate 1e-3 with 100 warm-up
steps and cosine decay to 1e-4, AdamW betas (0.9, 0.99), weight decay 0.1, gradient clip 1.0,
no dropout; the first 90% of the characters train, the rest validate.

Reports wall time end to end (tokenizer, XLA compile, training, periodic evaluation), ms/step,
tokens/s, the validation loss in nats per character over every position of the validation split
(non-overlapping 64-character windows, as nanoGPT estimates it on random windows), and the
generation speed with the key/value cache against a full recompute per token. The peer
figures (nanoGPT, PyTorch eager on a 2-core CPU of this kind) come from
../shared/PERFORMANCE.md; PyTorch is not installed here, so they are not re-run.

The GPU config (6 layers, 6 heads, 384 wide, context 256, batch 64, 5,000 steps, dropout 0.2;
target validation loss <= 1.47) runs with `--gpu` on a machine with a GPU.

Usage:
    .venv/bin/python benchmarks/transformer_shakespeare.py [--data-dir DIR] [--steps 2000] [--gpu]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NANOGPT = {"ms_per_step": [50, 52], "wall_seconds": 125, "val_loss": 1.886,
           "source": "../shared/PERFORMANCE.md (nanoGPT, PyTorch eager, 2-core CPU)"}
CPU_CONFIG = {"num_layers": 4, "num_heads": 4, "hidden_dim": 128, "context": 64, "batch_size": 12, "steps": 2000,
              "learning_rate": 1e-3, "min_learning_rate": 1e-4, "warmup_steps": 100, "beta_1": 0.9, "beta_2": 0.99,
              "weight_decay": 0.1, "clipnorm": 1.0, "dropout": 0.0, "use_bias": False, "eval_every": 250,
              "eval_batches": 20, "jit_compile": True}
GPU_CONFIG = {**CPU_CONFIG, "num_layers": 6, "num_heads": 6, "hidden_dim": 384, "context": 256, "batch_size": 64,
              "steps": 5000, "dropout": 0.2, "mixed_precision": True, "eval_batches": 200}
TARGETS = {"cpu": {"val_loss": 1.88, "wall_ratio_vs_nanogpt": 0.7}, "gpu": {"val_loss": 1.47}}


def model_flops_per_token(config: dict, vocabulary_size: int) -> float:
    """Training FLOPs per token (6N + attention), as in the PaLM appendix, for MFU."""
    d, layers, t = config["hidden_dim"], config["num_layers"], config["context"]
    params = layers * 12 * d * d + vocabulary_size * d
    return 6 * params + 12 * layers * d * t


def generation_speed(model, prompt_ids: list[int], new_tokens: int) -> dict:
    """Tokens/s of greedy decoding: cached, full recompute in the same compiled loop, and eager numpy."""
    from lmzoo.datasets.tokenizers import EOS
    from lmzoo.models import sampling

    out = {}
    for name, run in (
        ("cached", lambda n: model.generate_ids(prompt_ids, max_length=n)),
        ("recompute", lambda n: model.generate_ids(prompt_ids, max_length=n, use_cache=False)),
        ("python_loop_recompute", lambda n: sampling.generate(model.next_log_probs, prompt_ids, max_new_tokens=n, eos_id=EOS)),
    ):
        run(new_tokens)  # compile
        start = time.perf_counter()
        run(new_tokens)
        out[f"{name}_tokens_per_second"] = new_tokens / (time.perf_counter() - start)
    out["cache_speedup"] = out["cached_tokens_per_second"] / out["recompute_tokens_per_second"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA", str((REPO / "../shared/corpora").resolve())))
    parser.add_argument("--steps", type=int, help="override the number of steps (default: the config's)")
    parser.add_argument("--build", default="scratch", choices=["scratch", "keras_nlp"])
    parser.add_argument("--gpu", action="store_true", help="the GPU config (needs a GPU)")
    parser.add_argument("--generate-tokens", type=int, default=256)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/transformer_shakespeare.json"))
    args = parser.parse_args(argv)

    import keras

    import lmzoo
    from lmzoo.datasets.batching import lm_windows
    from lmzoo.runs import RunDir, library_versions

    corpus = lmzoo.load_corpus("tinyshakespeare", args.data_dir)
    config = dict(GPU_CONFIG if args.gpu else CPU_CONFIG, build=args.build)
    if args.steps:
        config["steps"] = args.steps
    run_dir = Path(tempfile.mkdtemp(prefix="transformer_shakespeare_"))
    start = time.perf_counter()
    model = lmzoo.train("transformer", corpus, run_dir, **config)
    wall = time.perf_counter() - start

    run = RunDir(run_dir)
    records = [r for r in run.read_metrics() if "epoch" in r]
    steady = [(b["seconds"] - a["seconds"]) / (b["step"] - a["step"]) for a, b in zip(records, records[1:], strict=False)]
    train_seconds = run.timing()["train_seconds"]
    tokens = config["steps"] * config["batch_size"] * config["context"]
    valid_ids = model.tokenizer.encode(corpus.valid)
    windows = lm_windows(valid_ids, config["context"], config["batch_size"], shuffle=False)
    val_loss = float(model.network.evaluate(windows, verbose=0))
    eval_start = time.perf_counter()
    rolling = -float(model.token_log_probs(valid_ids).mean())
    rolling_seconds = time.perf_counter() - eval_start
    prompt = model.tokenizer.encode("ROMEO:\n")
    generation = generation_speed(model, prompt, args.generate_tokens)
    samples = {s: model.generate("ROMEO:\n", max_length=200, sampler=s, seed=0) for s in ("greedy", "top_k", "top_p")}

    kind = "gpu" if args.gpu else "cpu"
    result = {
        "benchmark": "transformer_shakespeare",
        "command": " ".join([".venv/bin/python", "benchmarks/transformer_shakespeare.py", *(argv or sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpu_count": os.cpu_count(),
                    "load_average_at_end": list(os.getloadavg()), "keras_backend": keras.config.backend(),
                    "note": "2 cores shared with other jobs: timings are noisy"},
        "versions": library_versions(),
        "config": kind,
        "settings": config,
        "params": model.num_params(),
        "wall_seconds": wall,
        "train_seconds": train_seconds,
        "ms_per_step_overall": 1000 * train_seconds / config["steps"],
        "ms_per_step_steady": 1000 * sorted(steady)[len(steady) // 2] if steady else None,
        "first_epoch_seconds_incl_compile": records[0]["seconds"] if records else None,
        "tokens_per_second": tokens / train_seconds,
        "val_loss_nats_per_char": val_loss,
        "val_loss_rolling_windows_nats_per_char": rolling,
        "rolling_scoring_seconds": rolling_seconds,
        "learning_curve": [{k: r.get(k) for k in ("step", "seconds", "loss", "val_loss")} for r in records],
        "generation": {"new_tokens": args.generate_tokens, **generation},
        "samples": samples,
        "peer_nanogpt": NANOGPT,
        "targets": TARGETS[kind],
        "wall_ratio_vs_nanogpt": wall / NANOGPT["wall_seconds"],
        "gpu_config_documented": GPU_CONFIG,
    }
    if args.gpu:
        peak = 989e12  # H100 SXM dense bf16 FLOP/s; adjust for other GPUs
        result["mfu"] = model_flops_per_token(config, model.tokenizer.vocabulary_size()) * tokens / train_seconds / peak
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(run_dir, ignore_errors=True)

    print(f"{'':<34}{'keras-lmzoo':>14}{'nanoGPT (peer)':>16}{'target':>10}")
    print(f"{'wall time, s':<34}{wall:>14.1f}{NANOGPT['wall_seconds']:>16}{'<= 87.5' if kind == 'cpu' else '':>10}")
    print(f"{'ms/step (steady, median epoch)':<34}{result['ms_per_step_steady'] or math.nan:>14.1f}{'50-52':>16}")
    print(f"{'ms/step (overall)':<34}{result['ms_per_step_overall']:>14.1f}")
    print(f"{'tokens/s':<34}{result['tokens_per_second']:>14.0f}")
    print(f"{'val loss, nats/char':<34}{val_loss:>14.3f}{NANOGPT['val_loss']:>16}{TARGETS[kind]['val_loss']:>10}")
    print(f"{'val loss, rolling windows':<34}{rolling:>14.3f}")
    print(f"{'generate tok/s cached':<34}{generation['cached_tokens_per_second']:>14.0f}")
    print(f"{'generate tok/s recompute':<34}{generation['recompute_tokens_per_second']:>14.0f}")
    print(f"{'generate tok/s python loop':<34}{generation['python_loop_recompute_tokens_per_second']:>14.0f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
