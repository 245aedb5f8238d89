"""Benchmark: a character-level GPT on tiny Shakespeare, raced against nanoGPT in the same run.

Both run as their users run them, each as a whole process, one after the other: nanoGPT
(`../shared/peers/nanoGPT`, PyTorch, the `bench` extra) from a scratch copy with its data prepared as
its `prepare.py` would, `python train.py config/train_shakespeare_char.py --device=cpu --compile=False`;
ours, `lmzoo train transformer --corpus tinyshakespeare --set ...`. CPU settings (nanoGPT's laptop
run): 4 layers, 4 heads, 128 wide, context 64, batch 12, 2,000 steps, lr 1e-3 (warm-up 100, cosine
to 1e-4), AdamW (0.9, 0.99), weight decay 0.1, clip 1.0, no dropout, no biases.
Both final models are scored on the validation split in disjoint 64-character windows. Reported:
each process's wall time, ms/step, our XLA compile time and `breakdown`, both losses and the ratios,
then our greedy decoding speed and three samples (`generation`, lesson 06). Without PyTorch or the
nanoGPT folder, only our figures are recorded (said in one line).
`--preset speedrun`: the time-to-loss race: nanoGPT runs the same CPU settings, ours runs
`lmzoo train transformer --preset speedrun` (any recipe; the target is nanoGPT's final loss on the
same windows in <= 0.7x its wall time), into `transformer_speedrun.json`. `--ablation`: ours alone,
the preset and the preset with one of its changes reverted to nanoGPT's setting at a time, plus
nanoGPT's settings themselves (`transformer_speedrun_ablation.json`, lesson 06 reads it).
`--gpu`: nanoGPT's GPU config (6 layers, 6 heads, 384 wide, context 256, batch 64, 5,000 steps,
dropout 0.2, bf16) with tokens/s and MFU. `--dry-run`: build and trace one step, print both commands.
`--set KEY=VALUE` changes our run only (e.g. `--set jit_compile=False`); the results file records it.

Usage:
    LMZOO_DATA=../shared/corpora .venv/bin/python benchmarks/transformer_shakespeare.py [--gpu] [--dry-run]
        [--preset speedrun] [--ablation]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import pickle
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
NANOGPT = REPO / ".." / "shared" / "peers" / "nanoGPT"
CPU = {"num_layers": 4, "num_heads": 4, "hidden_dim": 128, "context": 64, "batch_size": 12, "steps": 2000,
       "dropout": 0.0, "eval_every": 250, "eval_batches": 20, "learning_rate": 1e-3, "min_learning_rate": 1e-4,
       "warmup_steps": 100, "beta_1": 0.9, "beta_2": 0.99, "weight_decay": 0.1, "clipnorm": 1.0, "use_bias": False}
GPU = {**CPU, "num_layers": 6, "num_heads": 6, "hidden_dim": 384, "context": 256, "batch_size": 64, "steps": 5000,
       "dropout": 0.2, "eval_batches": 200, "mixed_precision": True}
# Dense bf16 peak FLOP/s by GPU name (the vendors' data sheets), for MFU.
BF16_PEAK = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}
# The speedrun preset's changes, each reverted alone to nanoGPT's setting (`--ablation`).
ABLATION = (
    ("4 layers", "nanoGPT's depth (twice the step's cost)", {"num_layers": 4}),
    ("batch 12", "nanoGPT's 12 windows a step (the same 1,000 steps: 0.75x the tokens)", {"batch_size": 12}),
    ("learning rate 1e-3", "nanoGPT's peak 1e-3, cosine to 1e-4", {"learning_rate": 1e-3, "min_learning_rate": 1e-4}),
    ("weight decay 0.1", "nanoGPT's AdamW weight decay", {"weight_decay": 0.1}),
    ("warm-up 100", "nanoGPT's 100 warm-up steps", {"warmup_steps": 100}),
    ("evaluate every 250", "nanoGPT's evaluation and checkpoint cadence", {"eval_every": 250}),
    ("no XLA", "jit_compile=False: no compile, TensorFlow's op-by-op step", {"jit_compile": False}),
)
_ITER_RE = re.compile(r"^iter (\d+): loss [\d.]+, time ([\d.]+)ms")
_EVAL_RE = re.compile(r"^step (\d+): train loss ([\d.]+), val loss ([\d.]+)")


def nanogpt_args(settings: dict, gpu: bool) -> list[str]:
    """nanoGPT's own command line for these settings (its README's CPU recipe, or its GPU config)."""
    args = ["config/train_shakespeare_char.py", f"--eval_iters={settings['eval_batches']}", "--log_interval=1",
            f"--block_size={settings['context']}", f"--batch_size={settings['batch_size']}",
            f"--n_layer={settings['num_layers']}", f"--n_head={settings['num_heads']}", f"--n_embd={settings['hidden_dim']}",
            f"--max_iters={settings['steps']}", f"--lr_decay_iters={settings['steps']}", f"--dropout={settings['dropout']}",
            f"--eval_interval={settings['eval_every']}", "--always_save_checkpoint=True"]
    return args + (["--device=cuda", "--dtype=bfloat16"] if gpu else ["--device=cpu", "--compile=False"])


def our_args(settings: dict, gpu: bool) -> list[str]:
    out = []
    for key, value in settings.items():
        if key == "mixed_precision" and not gpu:
            continue
        out += ["--set", f"{key}={value}"]
    return out


def prepare_nanogpt_data(text: str, data_dir: Path) -> dict:
    """train.bin, val.bin and meta.pkl exactly as nanoGPT's data/shakespeare_char/prepare.py writes them."""
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = dict(enumerate(chars))
    n = len(text)
    train_ids = np.array([stoi[c] for c in text[: int(n * 0.9)]], dtype=np.uint16)
    val_ids = np.array([stoi[c] for c in text[int(n * 0.9) :]], dtype=np.uint16)
    data_dir.mkdir(parents=True, exist_ok=True)
    train_ids.tofile(data_dir / "train.bin")
    val_ids.tofile(data_dir / "val.bin")
    with open(data_dir / "meta.pkl", "wb") as f:  # nanoGPT's own format; we write it, never read a user's
        pickle.dump({"vocab_size": len(chars), "itos": itos, "stoi": stoi}, f)
    return {"vocab_size": len(chars), "train_tokens": len(train_ids), "val_tokens": len(val_ids)}


def disjoint_windows(ids: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs ids[i:i+context] and targets ids[i+1:i+context+1] for i = 0, context, ...; the last
    window is padded (with 0, masked out by `valid`) so every character but the first is predicted once.

    Example:
        >>> x, y, valid = disjoint_windows(np.arange(6), 4)
        >>> x.tolist(), y.tolist(), valid.sum()
        ([[0, 1, 2, 3], [4, 0, 0, 0]], [[1, 2, 3, 4], [5, 0, 0, 0]], np.int64(5))
    """
    starts = np.arange(0, len(ids) - 1, context)
    x = np.zeros((len(starts), context), dtype=np.int64)
    y = np.zeros_like(x)
    valid = np.zeros(x.shape, dtype=bool)
    for row, start in enumerate(starts):
        n = min(context, len(ids) - 1 - start)
        x[row, :n], y[row, :n], valid[row, :n] = ids[start : start + n], ids[start + 1 : start + n + 1], True
    return x, y, valid


def run_process(command: list[str], cwd: Path, log: Path, env: dict | None = None) -> float:
    """Run a whole process to the end (output to `log`); its wall seconds. Fails loudly."""
    start = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    wall = time.perf_counter() - start
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-5:]
        raise SystemExit(f"{' '.join(command[:3])} ... failed with exit {code}: " + " | ".join(tail))
    return wall


def nanogpt_missing(folder: Path) -> str | None:
    if importlib.util.find_spec("torch") is None:
        return "nanoGPT not raced: PyTorch is not installed (pip install -e '.[bench]')"
    if not (folder / "train.py").is_file():
        return f"nanoGPT not raced: {folder} has no train.py (give --nanogpt, default ../shared/peers/nanoGPT)"
    return None


def score_nanogpt(workdir: Path, text: str, context: int, device: str) -> float:
    """Mean NLL (nats/char) of nanoGPT's final checkpoint on the validation split's disjoint windows."""
    import torch

    sys.path.insert(0, str(workdir))
    try:
        from model import GPT, GPTConfig  # nanoGPT's model.py, from the scratch copy
    finally:
        sys.path.remove(str(workdir))
    checkpoint = torch.load(workdir / "out-shakespeare-char" / "ckpt.pt", map_location=device, weights_only=True)
    model = GPT(GPTConfig(**checkpoint["model_args"]))
    state = {k.removeprefix("_orig_mod."): v for k, v in checkpoint["model"].items()}
    model.load_state_dict(state)
    model.to(device).eval()
    val = np.fromfile(workdir / "data" / "shakespeare_char" / "val.bin", dtype=np.uint16).astype(np.int64)
    x, y, valid = disjoint_windows(val, context)
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), 64):
            xb = torch.from_numpy(x[start : start + 64]).to(device)
            logits, _ = model(xb, torch.from_numpy(y[start : start + 64]).to(device))  # targets: logits at every position
            log_probs = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
            yb, vb = y[start : start + 64], valid[start : start + 64]
            picked = np.take_along_axis(log_probs, yb[..., None], axis=-1)[..., 0]
            total -= float(picked[vb].sum())
    return total / int(valid.sum())


def score_ours(run_dir: Path, text: str, context: int) -> tuple[float, dict]:
    """Mean NLL of our final model on the same windows, and timings of one evaluation and one checkpoint."""
    import keras

    import lmzoo

    model = lmzoo.load(run_dir)
    ids = np.asarray(model.tokenizer.encode(text), dtype=np.int64)
    if len(ids) != len(text):
        raise SystemExit(f"the char tokenizer gave {len(ids)} ids for {len(text)} characters: windows would not line up")
    x, y, valid = disjoint_windows(ids, context)
    network = model.network
    total = 0.0
    for start in range(0, len(x), 64):
        logits = network(x[start : start + 64].astype(np.int32), training=False)
        log_probs = keras.ops.convert_to_numpy(keras.ops.log_softmax(keras.ops.cast(logits, "float32"), axis=-1))
        picked = np.take_along_axis(log_probs, y[start : start + 64, :, None], axis=-1)[..., 0]
        total -= float(picked[valid[start : start + 64]].sum())
    costs = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        network.save(Path(tmp) / "probe.keras")
        costs["one_checkpoint_save_seconds"] = time.perf_counter() - start
    return total / int(valid.sum()), costs


def check_kept_xla(settings: dict, log: str) -> None:
    """Fail in one line when a run that asks for XLA trained without it (Keras only warns)."""
    from lmzoo.errors import JIT_FALLBACK

    if settings.get("jit_compile") and JIT_FALLBACK in log:
        raise SystemExit("our run asked for jit_compile=True but Keras fell back to jit_compile=False "
                         "(its log says so): the timing would not be an XLA run; do not enable TF op determinism")


def train_ours(extra_args: list[str], corpus_name: str, valid_text: str, context: int, run_dir: Path,
               env: dict) -> dict:
    """`lmzoo train transformer` as a whole process with `extra_args`; its wall time, breakdown and
    the final model's loss on the disjoint validation windows."""
    python = sys.executable
    command = [str(Path(python).parent / "lmzoo"), "train", "transformer", "--corpus", corpus_name,
               "--out", str(run_dir), *extra_args]
    print("ours: lmzoo " + " ".join(command[1:]).replace(str(run_dir), "RUN"), flush=True)
    load = os.getloadavg()
    wall = run_process(command, REPO, run_dir.with_suffix(".log"), env=env)
    load_after = os.getloadavg()
    settings = json.loads((run_dir / "config.json").read_text())["config"]
    check_kept_xla(settings, run_dir.with_suffix(".log").read_text(errors="replace"))
    val_loss, costs = score_ours(run_dir, valid_text, context)
    ours = {"command": "lmzoo " + " ".join(command[1:]).replace(str(run_dir), "RUN"), "settings": settings,
            "val_tokens": len(valid_text), "load_average_before": list(load), "load_average_after": list(load_after),
            "import_seconds": import_seconds(python, "lmzoo.cli, lmzoo.models.transformer", env),
            **breakdown(run_dir, settings, wall), **costs, "val_loss_disjoint_windows": val_loss}
    ours["ms_per_step_overall"] = 1000 * ours["train_seconds"] / settings["steps"]
    ours["tokens_per_second"] = settings["steps"] * settings["batch_size"] * settings["context"] / ours["train_seconds"]
    return ours


def ablation(args, corpus, env: dict, tmp: Path) -> dict:
    """The speedrun preset, the preset with each of its changes reverted alone, and nanoGPT's settings."""
    rows = [("speedrun", "the preset", {}), *ABLATION,
            ("nanoGPT's settings", "every setting as nanoGPT's CPU run (2,000 steps of 12)", CPU)]
    out = []
    for name, what, changes in rows:
        extra = ["--preset", args.preset or "speedrun"] + [a for k, v in changes.items() for a in ("--set", f"{k}={v}")]
        ours = train_ours(extra, args.corpus, corpus.valid, CPU["context"], tmp / f"ablation_{len(out)}", env)
        out.append({"row": name, "change": what, "settings_changed": changes, **{k: ours[k] for k in (
            "command", "process_wall_seconds", "train_seconds", "val_loss_disjoint_windows", "ms_per_step_steady",
            "tokens_per_second", "compile_seconds_estimate", "evaluation_and_checkpoint_seconds_total",
            "load_average_before", "load_average_after")}})
        print(f"{name:<22} {ours['process_wall_seconds']:7.1f} s  val loss {ours['val_loss_disjoint_windows']:.4f}", flush=True)
    return {"rows": out}


def generation_speed(run_dir: Path, prompt: str = "ROMEO:\n", new_tokens: int = 256) -> dict:
    """Greedy decoding speed of our final model (tokens/s): with the key/value cache, a full recompute
    of the window in the same compiled loop, and a Python loop over full forward passes; and one
    sample per sampler (lesson 06 reads these)."""
    import lmzoo
    from lmzoo.datasets.tokenizers import EOS
    from lmzoo.models import sampling

    model = lmzoo.load(run_dir)
    prompt_ids = model.tokenizer.encode(prompt)
    out: dict = {"new_tokens": new_tokens, "prompt": prompt}
    for name, run in (
        ("cached", lambda n: model.generate_ids(prompt_ids, max_length=n)),
        ("recompute", lambda n: model.generate_ids(prompt_ids, max_length=n, use_cache=False)),
        ("python_loop_recompute", lambda n: sampling.generate(model.next_log_probs, prompt_ids, max_new_tokens=n,
                                                              eos_id=EOS)),
    ):
        run(new_tokens)  # compile
        start = time.perf_counter()
        run(new_tokens)
        out[f"{name}_tokens_per_second"] = new_tokens / (time.perf_counter() - start)
    out["cache_speedup"] = out["cached_tokens_per_second"] / out["recompute_tokens_per_second"]
    out["samples"] = {s: model.generate(prompt, max_length=200, sampler=s, seed=0)[0] for s in ("greedy", "top_k", "top_p")}
    return out


def breakdown(run_dir: Path, settings: dict, wall: float) -> dict:
    """Where our process's time went, from its metrics.jsonl and timing.json.

    MetricsLog writes a record every `eval_every // 5` steps (at a batch end) and one at each
    chunk end (after the evaluation and the checkpoint), each with the seconds since training
    started. So: two batch records in a row time steps alone; a batch record and the chunk-end
    record at the same step time one evaluation plus one checkpoint; the first record, minus its
    steps at the steady rate, is the XLA compile (and tf.data start); what the process spent
    outside `fit` (imports, data, tokenizer, model build, the final save) is wall - train_seconds.
    """
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    records.sort(key=lambda r: r["seconds"])
    timing = json.loads((run_dir / "timing.json").read_text())
    step_rates, evals = [], []
    for a, b in zip(records, records[1:], strict=False):
        if "epoch" in b and "epoch" not in a and a["step"] == b["step"]:
            evals.append(b["seconds"] - a["seconds"])  # evaluation + checkpoint (+ metrics record)
        elif "epoch" not in b and b["step"] > a["step"]:
            step_rates.append((b["seconds"] - a["seconds"]) / (b["step"] - a["step"]))
    per_step = float(np.median(step_rates)) if step_rates else math.nan
    first = records[0] if records else {"seconds": math.nan, "step": 0}
    compile_s = first["seconds"] - first["step"] * per_step
    steps = settings["steps"]
    chunks = [r for r in records if "epoch" in r]
    out = {
        "process_wall_seconds": wall,
        "train_seconds": timing["train_seconds"],
        "outside_training_seconds": wall - timing["train_seconds"],
        "ms_per_step_steady": 1000 * per_step,
        "steps_seconds_at_steady_rate": steps * per_step,
        "compile_seconds_estimate": compile_s,
        "evaluation_and_checkpoint_seconds": evals,
        "evaluation_and_checkpoint_seconds_total": float(np.sum(evals)),
        "first_evaluation_and_checkpoint_seconds": evals[0] if evals else math.nan,
        "chunk_steps": settings["eval_every"],
        "chunks": [{k: r.get(k) for k in ("step", "seconds", "loss", "val_loss")} for r in chunks],
    }
    out["rest_of_training_seconds"] = timing["train_seconds"] - out["steps_seconds_at_steady_rate"] - compile_s \
        - out["evaluation_and_checkpoint_seconds_total"]
    # The old figure: chunk time / chunk steps, evaluation and checkpoint included (median chunk).
    per_chunk = sorted(b["seconds"] - a["seconds"] for a, b in zip(chunks, chunks[1:], strict=False))
    out["ms_per_step_including_eval_and_checkpoint"] = (1000 * per_chunk[len(per_chunk) // 2] / settings["eval_every"]
                                                        if per_chunk else 1000 * per_step)
    return out


def import_seconds(python: str, module: str, env: dict | None = None) -> float:
    """Wall seconds of a fresh `python -c "import module"` (the start-up every run of it pays)."""
    start = time.perf_counter()
    subprocess.run([python, "-c", f"import {module}"], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def gpu_peak() -> tuple[str | None, float | None]:
    try:
        name = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                              text=True, check=True).stdout.strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return None, None
    peak = next((v for k, v in BF16_PEAK.items() if k in name), None)
    return name, peak


def flops_per_token(settings: dict, vocabulary_size: int) -> float:
    """Training FLOPs per token, 6N + 12·layers·width·context (PaLM appendix B), for MFU."""
    d, layers, t = settings["hidden_dim"], settings["num_layers"], settings["context"]
    return 6 * (layers * 12 * d * d + vocabulary_size * d) + 12 * layers * d * t


def dry_run(args, settings: dict, text: str) -> int:
    """Build our model with these settings and trace one step; prepare nanoGPT's data; print the commands."""
    import lmzoo
    from lmzoo.datasets.corpus import Corpus

    sample = text[:20_000]
    cut = int(len(sample) * 0.9)
    corpus = Corpus(name="dry-run", train=sample[:cut], valid=sample[cut:], test=sample[cut:])
    # One traced step, without the XLA compile (minutes on a busy CPU); the full runs compile.
    one = {**settings, "steps": 1, "eval_every": 1, "eval_batches": 1, "warmup_steps": 0, "jit_compile": False}
    if not args.gpu:
        one.pop("mixed_precision", None)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        model = lmzoo.train("transformer", corpus, Path(tmp) / "ours", **one)
        print(f"ours: {model.num_params():,} parameters, one step traced and run in {time.perf_counter() - start:.1f} s")
        meta = prepare_nanogpt_data(sample, Path(tmp) / "data" / "shakespeare_char")
        print(f"nanoGPT data prepared: {meta}")
    print("would run: python train.py " + " ".join(nanogpt_args(settings, args.gpu)))
    print("would run: lmzoo train transformer --corpus tinyshakespeare " + " ".join(our_args(settings, args.gpu)))
    print(nanogpt_missing(Path(args.nanogpt)) or "nanoGPT and PyTorch are present")
    return 0


def finish(result: dict, args, argv: list[str] | None, load_before: tuple) -> int:
    """Add the command, date, machine and versions to `result` and write it to `args.out`."""
    from lmzoo.runs import library_versions

    result.update({
        "command": " ".join(["python", "benchmarks/transformer_shakespeare.py", *(argv if argv is not None else sys.argv[1:])]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "load_average_before": list(load_before),
                    "load_average_after": list(os.getloadavg()),
                    "note": "2 cores shared with other workers' jobs: absolute times are noisy; both ran in this run"},
        "versions": {**library_versions(), **({"torch": __import__("torch").__version__} if "torch" in sys.modules else {})},
    })
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")

    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("LMZOO_DATA", str(REPO / "../shared/corpora")))
    parser.add_argument("--corpus", default="tinyshakespeare", help="catalog name (the dry run can use the embedded lee)")
    parser.add_argument("--steps", type=int, help="override the number of steps for both (default: the config's)")
    parser.add_argument("--gpu", action="store_true", help="nanoGPT's GPU config on a GPU")
    parser.add_argument("--dry-run", action="store_true", help="build and trace one step; run neither trainer")
    parser.add_argument("--nanogpt", default=str(NANOGPT), help="nanoGPT's folder (read-only; it runs from a copy)")
    parser.add_argument("--skip-peer", action="store_true", help="do not run nanoGPT (records only our figures)")
    parser.add_argument("--set", dest="ours_set", action="append", default=[], metavar="KEY=VALUE",
                        help="an extra setting for our run only (e.g. jit_compile=False), recorded in the results file")
    parser.add_argument("--preset", help="ours runs this preset (e.g. speedrun) against nanoGPT's CPU settings")
    parser.add_argument("--ablation", action="store_true",
                        help="ours alone: the preset (default speedrun) with each change reverted in turn")
    parser.add_argument("--out", help="results file (default transformer_shakespeare.json, "
                        "transformer_speedrun.json with --preset, transformer_speedrun_ablation.json with --ablation)")
    args = parser.parse_args(argv)
    if args.gpu and (args.preset or args.ablation):
        parser.error("--preset and --ablation race the CPU settings; give them without --gpu")
    name = ("transformer_speedrun_ablation" if args.ablation else "transformer_speedrun" if args.preset
            else "transformer_shakespeare")
    args.out = args.out or str(REPO / "benchmarks" / "results" / f"{name}.json")

    import lmzoo

    settings = dict(GPU if args.gpu else CPU)
    if args.steps:
        if args.steps <= settings["warmup_steps"]:  # nanoGPT's get_lr divides by steps - warm-up
            parser.error(f"--steps {args.steps} must exceed the {settings['warmup_steps']} warm-up steps")
        settings["steps"] = args.steps
        settings["eval_every"] = min(settings["eval_every"], args.steps)
    corpus = lmzoo.load_corpus(args.corpus, args.data_dir)
    text = corpus.train + corpus.valid
    if args.dry_run:
        return dry_run(args, settings, text)

    env = {**os.environ, "LMZOO_DATA": str(Path(args.data_dir).resolve()), "PYTHONSAFEPATH": "1"}
    result: dict = {"benchmark": "transformer_shakespeare", "config": "gpu" if args.gpu else "cpu", "settings": settings}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="race_") as tmp:
        tmp = Path(tmp)
        if args.ablation:
            result = {"benchmark": "transformer_speedrun_ablation", **ablation(args, corpus, env, tmp)}
            return finish(result, args, argv, load_before)
        # nanoGPT first, as its users run it.
        missing = None if not args.skip_peer else "nanoGPT not raced: --skip-peer"
        missing = missing or nanogpt_missing(Path(args.nanogpt))
        if missing:
            print(missing)
            result["nanogpt"] = {"skipped": missing}
        else:
            work = tmp / "nanoGPT"
            shutil.copytree(args.nanogpt, work)
            prepare_nanogpt_data(text, work / "data" / "shakespeare_char")
            command = [sys.executable, "train.py", *nanogpt_args(settings, args.gpu)]
            print("nanoGPT: " + " ".join(command[1:]), flush=True)
            # As its users run it: train.py imports model.py from its own folder, which
            # PYTHONSAFEPATH (set for this project) would hide.
            plain = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
            load = os.getloadavg()
            wall = run_process(command, work, tmp / "nanogpt.log", env=plain)
            log = (tmp / "nanogpt.log").read_text().splitlines()
            times = [float(m.group(2)) for m in map(_ITER_RE.match, log) if m and int(m.group(1)) > 0]
            evals = [{"step": int(m.group(1)), "val_loss_20_batches": float(m.group(3))} for m in map(_EVAL_RE.match, log) if m]
            result["nanogpt"] = {
                "command": "python train.py " + " ".join(command[2:]),
                "source": "../shared/peers/nanoGPT (karpathy/nanoGPT 3adf61e)",
                "process_wall_seconds": wall,
                "load_average_before": list(load), "load_average_after": list(os.getloadavg()),
                "import_torch_seconds": import_seconds(sys.executable, "torch", plain),
                "ms_per_step_median": float(np.median(times)) if times else None,
                # nanoGPT times each iteration from the end of the last; an evaluation and its
                # checkpoint fall inside the next iteration, so the mean includes them.
                "ms_per_step_mean_including_eval_and_checkpoint": float(np.mean(times)) if times else None,
                "val_tokens": int(os.path.getsize(work / "data" / "shakespeare_char" / "val.bin") // 2),
                "ms_per_step_overall": 1000 * wall / settings["steps"],
                "evaluations": evals,
                "val_loss_disjoint_windows": score_nanogpt(work, corpus.valid, settings["context"],
                                                           "cuda" if args.gpu else "cpu"),
            }
            print(f"nanoGPT: {wall:.1f} s, val loss {result['nanogpt']['val_loss_disjoint_windows']:.4f}", flush=True)
        # Ours, the whole CLI process.
        ours_args = ["--preset", args.preset] if args.preset else our_args(settings, args.gpu)
        if args.ours_set:
            result["ours_extra_settings"] = args.ours_set
        ours = train_ours(ours_args + [a for item in args.ours_set for a in ("--set", item)], args.corpus, corpus.valid,
                          settings["context"], tmp / "ours", env)
        result["ours"] = ours
        if args.preset:
            result["ours_preset"] = args.preset
        if not args.gpu:  # lesson 06 quotes the CPU model's decoding speeds
            result["generation"] = generation_speed(tmp / "ours")
        result["val_loss_nats_per_char"] = ours["val_loss_disjoint_windows"]  # lesson 05 quotes it
        print(f"ours: {ours['process_wall_seconds']:.1f} s, val loss {ours['val_loss_disjoint_windows']:.4f}", flush=True)

    tokens = settings["steps"] * settings["batch_size"] * settings["context"]  # nanoGPT's
    if args.gpu:
        name, peak = gpu_peak()
        vocabulary = len(set(text))
        ours["gpu"] = name
        ours["mfu"] = flops_per_token(settings, vocabulary) * ours["tokens_per_second"] / peak if peak else None
        if "process_wall_seconds" in result["nanogpt"]:
            result["nanogpt"]["tokens_per_second"] = tokens / result["nanogpt"]["process_wall_seconds"]
    peer = result["nanogpt"]
    if "process_wall_seconds" in peer:
        result["ratios"] = {
            "wall_ours_over_nanogpt": ours["process_wall_seconds"] / peer["process_wall_seconds"],
            "val_loss_ours_minus_nanogpt": ours["val_loss_disjoint_windows"] - peer["val_loss_disjoint_windows"],
            "tokens_per_second_ours_over_nanogpt": ours["tokens_per_second"] * peer["process_wall_seconds"] / tokens,
        }
        if not args.preset:  # the same steps of the same batch: per-step times compare the engines
            result["ratios"].update({
                "ms_per_step_ours_over_nanogpt": ours["ms_per_step_including_eval_and_checkpoint"]
                / peer["ms_per_step_mean_including_eval_and_checkpoint"],
                "ms_per_step_steady_ours_over_nanogpt_median": ours["ms_per_step_steady"] / peer["ms_per_step_median"]})
        result["targets"] = {"wall_ratio_at_most": 0.7, "val_loss_at_most_nanogpt": True,
                             "met": result["ratios"]["wall_ours_over_nanogpt"] <= 0.7
                             and result["ratios"]["val_loss_ours_minus_nanogpt"] <= 0}
    finish(result, args, argv, load_before)
    print(f"\n{'':<38}{'ours':>10}{'nanoGPT':>10}{'ratio':>8}")
    def row(label, a, b, fmt):
        ratio = f"{a / b:.2f}" if a is not None and b else "-"
        print(f"{label:<38}{format(a, fmt) if a is not None else '-':>10}{format(b, fmt) if b is not None else '-':>10}{ratio:>8}")
    row("process wall time, s", ours["process_wall_seconds"], peer.get("process_wall_seconds"), ".1f")
    if not args.preset:
        row("ms/step (with eval and checkpoints)", ours["ms_per_step_including_eval_and_checkpoint"],
            peer.get("ms_per_step_mean_including_eval_and_checkpoint"), ".1f")
    row("val loss, disjoint 64-char windows", ours["val_loss_disjoint_windows"], peer.get("val_loss_disjoint_windows"), ".4f")
    print(f"ours: {ours['ms_per_step_steady']:.1f} ms/step steady x {ours['settings']['steps']} = {ours['steps_seconds_at_steady_rate']:.1f} s, "
          f"compile ~{ours['compile_seconds_estimate']:.1f} s, evaluations + checkpoints "
          f"{ours['evaluation_and_checkpoint_seconds_total']:.1f} s (first {ours['first_evaluation_and_checkpoint_seconds']:.1f} s), "
          f"rest of fit {ours['rest_of_training_seconds']:.1f} s, outside fit {ours['outside_training_seconds']:.1f} s "
          f"(import alone {ours['import_seconds']:.1f} s)")
    if "skipped" in peer:
        print(peer["skipped"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
