"""The benchmark scripts: the Transformer race's dry run, and nanoGPT's data written as its own script writes it."""

import importlib.util
import json
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / ".." / "shared" / "peers" / "nanoGPT"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_transformer_dry_run_builds_and_traces_one_step(capsys):
    bench = _script("transformer_shakespeare")
    assert bench.main(["--dry-run", "--corpus", "lee", "--nanogpt", str(ROOT / "no-such-folder")]) == 0
    out = capsys.readouterr().out
    params = int(re.search(r"ours: ([\d,]+) parameters", out).group(1).replace(",", ""))
    # 4 blocks of 12 x 128^2, positions and a tied character table: about 0.80M, as nanoGPT counts.
    assert 790_000 < params < 840_000
    assert "--device=cpu --compile=False" in out and "--set num_layers=4" in out
    assert "nanoGPT not raced" in out  # a missing peer is said in one line, never replaced by a number


def test_disjoint_windows_predict_every_character_but_the_first_once():
    bench = _script("transformer_shakespeare")
    ids = np.arange(1000) % 61
    x, y, valid = bench.disjoint_windows(ids, 64)
    assert valid.sum() == len(ids) - 1
    np.testing.assert_array_equal(y[valid], ids[1:])
    np.testing.assert_array_equal(x[:, 1:][valid[:, 1:]], y[:, :-1][valid[:, 1:]])  # targets are the next inputs


@pytest.mark.skipif(not (PEER / "data" / "shakespeare_char" / "prepare.py").is_file(), reason="../shared/peers/nanoGPT is missing")
def test_nanogpt_data_is_what_its_prepare_script_writes(tmp_path):
    pytest.importorskip("requests", reason="nanoGPT's prepare.py imports requests")
    bench = _script("transformer_shakespeare")
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 20
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    shutil.copy(PEER / "data" / "shakespeare_char" / "prepare.py", theirs)
    (theirs / "input.txt").write_text(text)  # present, so prepare.py downloads nothing
    subprocess.run([sys.executable, "prepare.py"], cwd=theirs, check=True, capture_output=True)
    ours = tmp_path / "ours"
    bench.prepare_nanogpt_data(text, ours)
    for name in ("train.bin", "val.bin"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes()
    with open(ours / "meta.pkl", "rb") as a, open(theirs / "meta.pkl", "rb") as b:  # files we just wrote
        assert pickle.load(a) == pickle.load(b)


def test_transformer_breakdown_splits_steps_compile_and_evaluations(tmp_path):
    bench = _script("transformer_shakespeare")
    # 10 s compile, 0.1 s a step, records every 2 steps, chunks of 4 ending in an evaluation and
    # a checkpoint (3 s the first time, with the evaluation's compile; 1.5 s after).
    records = [{"step": 2, "seconds": 10.2}, {"step": 4, "seconds": 10.4}, {"step": 4, "seconds": 13.4, "epoch": 1},
               {"step": 6, "seconds": 13.6}, {"step": 8, "seconds": 13.8}, {"step": 8, "seconds": 15.3, "epoch": 2}]
    (tmp_path / "metrics.jsonl").write_text("".join(f"{json.dumps(r)}\n" for r in records))
    (tmp_path / "timing.json").write_text(json.dumps({"train_seconds": 15.5}))
    out = bench.breakdown(tmp_path, {"steps": 8, "eval_every": 4}, wall=20.0)
    assert out["ms_per_step_steady"] == pytest.approx(100.0)
    assert out["compile_seconds_estimate"] == pytest.approx(10.0)
    assert out["evaluation_and_checkpoint_seconds"] == pytest.approx([3.0, 1.5])
    assert out["rest_of_training_seconds"] == pytest.approx(0.2)
    assert out["outside_training_seconds"] == pytest.approx(4.5)
