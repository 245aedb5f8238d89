"""Benchmark: Transformer training throughput at 1 and 2 data-parallel replicas, and what it means at scale.

Measured: tokens/s of `lmzoo train transformer` on tiny Shakespeare with nanoGPT's CPU config (4
layers, 128 wide, context 64, global batch 12; without XLA, which tf.distribute cannot run), with
`distribute=none` and with `distribute=mirrored` over 2 logical CPU devices
(`lmzoo.models.distribute.use_logical_cpus`), each in a fresh process. The rate is the steady one,
between the first and the last logged step; the load average is recorded beside it.
On paper: a synchronous data-parallel step all-reduces every gradient once; a ring all-reduce moves
P × 4 bytes × 2(N−1)/N per replica per step (fp32 gradients), which adds to each step here since
tf.distribute all-reduces after the backward pass. The link bandwidths are typical published
figures, stated as assumptions. `--gpu` runs the GPU config (6 layers, 384 wide, context 256, batch
64) at one replica for `--steps` steps.

Usage:
    .venv/bin/python benchmarks/scaling.py [--data-dir DIR] [--steps 150] [--gpu] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CPU_CONFIG = {"num_layers": 4, "num_heads": 4, "hidden_dim": 128, "context": 64, "batch_size": 12,
              "learning_rate": 1e-3, "min_learning_rate": 1e-4, "warmup_steps": 100, "beta_2": 0.99,
              "dropout": 0.0, "eval_batches": 1, "jit_compile": False}  # XLA does not run under tf.distribute
GPU_CONFIG = {**CPU_CONFIG, "num_layers": 6, "num_heads": 6, "hidden_dim": 384, "context": 256, "batch_size": 64,
              "dropout": 0.2, "mixed_precision": True, "jit_compile": True}  # one replica
# Link bandwidths for the all-reduce (bus bandwidth a ring achieves), bytes/s: assumptions.
LINKS = {"NVLink 4 (8x H100 in one machine)": 350e9, "PCIe 4 x16 (GPUs without NVLink)": 20e9,
         "InfiniBand 400 Gb/s (between machines)": 45e9, "Ethernet 25 Gb/s (between machines)": 2.8e9}

WORKER = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
from lmzoo.models import distribute
if spec["replicas"] > 1:
    distribute.use_logical_cpus(spec["replicas"])
import lmzoo
from lmzoo.runs import RunDir
corpus = lmzoo.load_corpus("tinyshakespeare", spec["data_dir"])
model = lmzoo.train("transformer", corpus, spec["out"], **spec["config"])
steps = [r for r in RunDir(spec["out"]).read_metrics() if "epoch" not in r]
first, last = steps[0], steps[-1]
print("RESULT " + json.dumps({
    "params": model.num_params(), "vocabulary_size": model.tokenizer.vocabulary_size(),
    "tokens_per_second": (last["tokens"] - first["tokens"]) / (last["seconds"] - first["seconds"]),
    "ms_per_step": 1000 * (last["seconds"] - first["seconds"]) / (last["step"] - first["step"]),
    "steady_span_steps": [first["step"], last["step"]], "final_loss": last["loss"]}))
"""


def measure(replicas: int, config: dict, data_dir: str, timeout: float) -> dict:
    """One training run in a fresh process (devices are fixed when TensorFlow starts)."""
    with tempfile.TemporaryDirectory(prefix="scaling_") as out:
        spec = {"replicas": replicas, "config": config, "data_dir": data_dir, "out": out}
        env = {**os.environ, "PYTHONSAFEPATH": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", WORKER, json.dumps(spec)], env=env, capture_output=True,
                              text=True, timeout=timeout)
        wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"the {replicas}-replica run failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return {"replicas": replicas, "wall_seconds_incl_start": wall, **json.loads(lines[0][len("RESULT "):])}


def transformer_params(config: dict, vocabulary_size: int) -> int:
    """Parameters of the scratch build without biases: per block 12·d² (attention 4d², MLP 8d²) and
    two LayerNorm scales, plus token and position tables and the final LayerNorm (output tied)."""
    d, layers = config["hidden_dim"], config["num_layers"]
    return layers * (12 * d * d + 2 * d) + vocabulary_size * d + config["context"] * d + d


def on_paper(params: int, tokens_per_second_one_replica: float, global_batch: int, context: int) -> dict:
    """Per-step compute and all-reduce time for N replicas of the measured single-replica speed."""
    step_seconds = global_batch * context / tokens_per_second_one_replica
    gradient_bytes = params * 4
    out = {"params": params, "gradient_bytes": gradient_bytes, "global_batch": global_batch,
           "single_replica_step_ms": 1000 * step_seconds, "setups": [],
           "note": "compute_ms is the measured single-replica step of THIS machine divided by N: on a CPU run it "
                   "shows the all-reduce's share, not a GPU's speed"}
    for name, replicas, link in (("8 GPUs, one machine", 8, "NVLink 4 (8x H100 in one machine)"),
                                 ("8 GPUs without NVLink", 8, "PCIe 4 x16 (GPUs without NVLink)"),
                                 ("2 machines x 1 GPU, InfiniBand", 2, "InfiniBand 400 Gb/s (between machines)"),
                                 ("2 machines x 1 GPU, Ethernet", 2, "Ethernet 25 Gb/s (between machines)"),
                                 ("2 machines x 8 GPUs, InfiniBand", 16, "InfiniBand 400 Gb/s (between machines)")):
        volume = gradient_bytes * 2 * (replicas - 1) / replicas
        compute = step_seconds / replicas  # ideal split of the same global batch
        communicate = volume / LINKS[link]
        out["setups"].append({
            "setup": name, "replicas": replicas, "link": link, "link_bytes_per_second_assumed": LINKS[link],
            "batch_per_replica": global_batch / replicas, "allreduce_bytes_per_replica_per_step": volume,
            "compute_ms": 1000 * compute, "allreduce_ms": 1000 * communicate,
            "speedup_vs_one_replica": step_seconds / (compute + communicate),
        })
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA", str((REPO / "../shared/corpora").resolve())))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--gpu", action="store_true", help="the GPU config at one replica (needs a GPU)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per training run")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/scaling.json"))
    args = parser.parse_args(argv)

    config = dict(GPU_CONFIG if args.gpu else CPU_CONFIG, steps=args.steps, eval_every=args.steps)
    load_before = os.getloadavg()
    runs = [measure(1, config, args.data_dir, args.timeout)]
    if not args.gpu:
        runs.append(measure(2, {**config, "distribute": "mirrored"}, args.data_dir, args.timeout))
    base = runs[0]
    result = {
        "benchmark": "scaling",
        "command": " ".join([".venv/bin/python", "benchmarks/scaling.py", *(argv if argv is not None else sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "load_average_before": list(load_before), "load_average_after": list(os.getloadavg()),
                    "note": "measured while other jobs shared the machine (see the load averages): noisy"},
        "config": "gpu" if args.gpu else "cpu",
        "settings": config,
        "runs": runs,
        "speedup_2_replicas": runs[1]["tokens_per_second"] / base["tokens_per_second"] if len(runs) > 1 else None,
        "why_little_gain_on_2_cores": (
            "one replica already runs its matrix products on both cores (TensorFlow's intra-op threads); "
            "two replicas split the same cores, so the arithmetic per second cannot grow, and each step "
            "adds an all-reduce and a second copy of the per-op overhead; the batch per replica (6 windows) "
            "is too small to keep a core busy"),
        "on_paper": on_paper(base["params"], base["tokens_per_second"], config["batch_size"], config["context"]),
    }
    if args.gpu:
        result["on_paper"]["note"] = "single-replica step time measured on this GPU"
    else:
        params = transformer_params(GPU_CONFIG, base["vocabulary_size"])
        gpu = on_paper(params, 1.0, GPU_CONFIG["batch_size"], GPU_CONFIG["context"])
        result["gpu_config_allreduce"] = {
            "params": params, "params_formula_checked_on_cpu_config":
                transformer_params(CPU_CONFIG, base["vocabulary_size"]) == base["params"],
            "gradient_bytes": gpu["gradient_bytes"],
            "allreduce_bytes_per_replica_per_step": {s["setup"]: s["allreduce_bytes_per_replica_per_step"]
                                                     for s in gpu["setups"]},
            "allreduce_ms": {s["setup"]: s["allreduce_ms"] for s in gpu["setups"]},
            "note": "the GPU config's parameters (6 layers, 384 wide, same characters); its step time needs a "
                    "GPU run (benchmarks/gpu_check.sh)"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")

    print(f"{'replicas':<10}{'tokens/s':>12}{'ms/step':>10}")
    for run in runs:
        print(f"{run['replicas']:<10}{run['tokens_per_second']:>12.0f}{run['ms_per_step']:>10.1f}")
    print(f"load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for setup in result["on_paper"]["setups"]:
        print(f"on paper, {setup['setup']:<34} all-reduce {setup['allreduce_bytes_per_replica_per_step'] / 1e6:6.2f} MB "
              f"= {setup['allreduce_ms']:7.3f} ms, compute {setup['compute_ms']:7.2f} ms, "
              f"speed-up x{setup['speedup_vs_one_replica']:.2f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
