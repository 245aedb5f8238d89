"""Stopping a run: SIGINT (Ctrl-C) and SIGTERM stop every training verb within seconds, keep the last
checkpoint, exit 130 / 143 with one line, and the same --out resumes (issue 22 defect 6).

Each run is a real `lmzoo` process that would train for minutes; the signal is sent once it has
written its first checkpoint. Before the fix, TensorFlow dropped the KeyboardInterrupt raised inside
a compiled step and training went on.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

# Seconds from the signal to the exit: one compiled call, the last metrics line, the process exit.
# Generous for a loaded 2-core machine; before the fix the runs went on for minutes.
PROMPT_EXIT = 20
TINY_LM = ["--set", "hidden_dim=16", "--set", "context=16", "--set", "batch_size=8", "--set", "eval_batches=1"]


def start(tmp_path, *args):
    env = {**os.environ, "PYTHONSAFEPATH": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "lmzoo.cli", *map(str, args)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def checkpoint_files(out):
    return [p for p in (out / "checkpoints").rglob("*") if p.is_file()] if (out / "checkpoints").is_dir() else []


def interrupt(process, out, signum=signal.SIGINT, wait=300):
    """Send `signum` once `out` holds a checkpoint; (exit code, seconds to exit, stderr)."""
    deadline = time.monotonic() + wait
    while not checkpoint_files(out):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no checkpoint before the signal (exit {process.poll()}): {process.communicate()[1][-2000:]}")
        time.sleep(0.1)
    time.sleep(0.5)  # inside a compiled training step, most likely
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=PROMPT_EXIT + 60)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        return None, time.monotonic() - sent, err
    return process.returncode, time.monotonic() - sent, err


def assert_stopped(result, out, signum=signal.SIGINT):
    code, seconds, err = result
    assert code == 128 + signum, f"exit {code} after {seconds:.1f} s: {err[-2000:]}"
    assert seconds < PROMPT_EXIT
    assert err.strip().splitlines()[-1].startswith(f"lmzoo: stopped by {signal.Signals(signum).name}")
    assert checkpoint_files(out) and not (out / "COMPLETE").exists()
    assert json.loads((out / "timing.json").read_text())["interrupted"] is True


def read_metrics(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_transformer_stops_on_sigint_and_the_same_out_resumes(tmp_path):
    out = tmp_path / "run"
    # The default preset: XLA-compiled steps, as in the report (`quick` turns XLA off).
    args = ["train", "transformer", "--corpus", "lee", "--out", out, *TINY_LM, "--set", "num_layers=1",
            "--set", "num_heads=2", "--set", "steps=400", "--set", "eval_every=10"]
    assert_stopped(interrupt(start(tmp_path, *args), out), out)
    before = read_metrics(out)
    saved = max(r["step"] for r in before if "epoch" in r)  # the checkpoint is written at each chunk's end
    assert saved < 400
    resumed = subprocess.run([sys.executable, "-m", "lmzoo.cli", *map(str, args)], cwd=tmp_path, capture_output=True,
                             text=True, env={**os.environ, "PYTHONSAFEPATH": "1"})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    after = read_metrics(out)
    # Resumed, not restarted: the records up to the checkpoint stay, and training ends at exactly 400 steps.
    assert [r for r in before if r["step"] <= saved] == [r for r in after if r["step"] <= saved]
    assert max(r["step"] for r in after) == 400 and (out / "COMPLETE").exists()


def test_rnnlm_stops_on_sigint(tmp_path):
    out = tmp_path / "run"
    process = start(tmp_path, "train", "rnnlm", "--corpus", "lee", "--out", out, "--preset", "quick", *TINY_LM,
                    "--set", "steps=100000", "--set", "eval_every=10")
    assert_stopped(interrupt(process, out), out)


def test_seq2seq_stops_on_sigint(tmp_path):
    out = tmp_path / "run"
    process = start(tmp_path, "train", "seq2seq", "--corpus", "lee", "--out", out, "--preset", "quick",
                    "--set", "epochs=1000.0", "--set", "checkpoint_every_n_steps=5", "--set", "latent_dim=16",
                    "--set", "embedding_dim=8")
    assert_stopped(interrupt(process, out), out)


def test_word2vec_stops_on_sigterm(tmp_path):
    out = tmp_path / "run"
    process = start(tmp_path, "train", "word2vec", "--corpus", "lee", "--out", out, "--preset", "quick",
                    "--set", "epochs=100000", "--set", "dimension=8")
    assert_stopped(interrupt(process, out, signal.SIGTERM), out, signal.SIGTERM)


def test_finetune_stops_on_sigint(tmp_path):
    from lmzoo import load_corpus, train

    train("word2vec", load_corpus("rt-polarity-sample"), tmp_path / "w2v", preset="quick", min_count=1)
    out = tmp_path / "cls"
    process = start(tmp_path, "finetune", tmp_path / "w2v", "--task", "classify", "--corpus", "rt-polarity-sample",
                    "--out", out, "--preset", "quick", "--set", "epochs=100000.0",
                    "--set", "checkpoint_every_n_steps=5")
    assert_stopped(interrupt(process, out), out)
