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


def test_speedrun_ablation_reverts_each_change_of_the_preset_to_nanogpts_setting():
    """Each `--ablation` row puts one of the speedrun preset's changes back to nanoGPT's CPU value, and
    every change but the step count (the rows train the preset's steps) has its row."""
    from lmzoo.models.transformer import PRESETS

    bench = _script("transformer_shakespeare")
    speedrun = PRESETS["speedrun"]
    for _, _, changes in bench.ABLATION:
        for key, value in changes.items():
            if key != "jit_compile":  # "no XLA" is not a nanoGPT setting, but what XLA buys
                assert bench.CPU[key] == value != getattr(speedrun, key), key
    changed = {key for key, value in bench.CPU.items() if getattr(speedrun, key) != value}
    reverted = {key for _, _, changes in bench.ABLATION for key in changes}
    assert changed - reverted == {"steps"}
    assert speedrun.num_layers < bench.CPU["num_layers"]  # the preset is a recipe, not nanoGPT's model


def test_a_race_whose_run_lost_xla_fails_in_one_line():
    from lmzoo.errors import JIT_FALLBACK

    bench = _script("transformer_shakespeare")
    log = f"... UserWarning: {JIT_FALLBACK} because op determinism is on\n"
    with pytest.raises(SystemExit, match="fell back to jit_compile=False"):
        bench.check_kept_xla({"jit_compile": True}, log)
    bench.check_kept_xla({"jit_compile": False}, log)  # asked for no XLA: nothing lost
    bench.check_kept_xla({"jit_compile": True}, "trained transformer on tinyshakespeare\n")


def _write(folder: Path, name: str, data: dict) -> None:
    (folder / name).write_text(json.dumps(data))


def test_summary_prints_both_figures_and_their_ratio_from_the_results_files(tmp_path):
    summary = _script("summary")
    _write(tmp_path, "word2vec.json", {"date": "d1", "summary": {
        "ours_train_seconds_median": 30.0, "gensim_list_train_seconds_median": 12.0, "ratio_ours_over_gensim": 2.5,
        "wordsim353_ours_mean": 0.25, "wordsim353_gensim_mean": 0.18}})
    _write(tmp_path, "transformer_speedrun.json", {"date": "d2", "machine": {"load_average_before": [3.0, 2.0, 1.0]},
                                                   "ours_preset": "speedrun",
                                                   "ours": {"process_wall_seconds": 90.0, "val_loss_disjoint_windows": 1.89},
                                                   "nanogpt": {"process_wall_seconds": 150.0, "val_loss_disjoint_windows": 1.90}})
    _write(tmp_path, "transformer_shakespeare.json", {"date": "d2", "machine": {"load_average_before": [1.0, 1.0, 1.0]},
                                                      "ours": {"process_wall_seconds": 180.0, "val_loss_disjoint_windows": 1.89},
                                                      "nanogpt": {"process_wall_seconds": 150.0, "val_loss_disjoint_windows": 1.90}})
    _write(tmp_path, "ngram_ptb.json", {"date": "d3", "kenlm": {
        "ours_tokens_per_second": 8e5, "kenlm_tokens_per_second": 1.6e6, "arpa_write_seconds": 1.5,
        "arpa_write_target_seconds": 2.0, "arpa_write_load_average": 4.0}})
    lines = summary.summary_lines(tmp_path)
    row = {line.split("  ")[0]: line for line in lines}
    assert "30.0" in row["Word2Vec vs gensim"] and "12.0" in row["Word2Vec vs gensim"]
    assert "2.50x" in row["Word2Vec vs gensim"] and " NO " in row["Word2Vec vs gensim"]
    assert "0.60x" in row["Transformer vs nanoGPT"] and " yes " in row["Transformer vs nanoGPT"]
    assert "load 3.0" in row["Transformer vs nanoGPT"] and "(load > 2)" in row["Transformer vs nanoGPT"]
    assert "(speedrun)" in row["Transformer vs nanoGPT"]
    # The same-steps race is the engine comparison: shown with its ratio, and no goal to meet or miss.
    assert "1.20x" in row["Transformer, same steps"] and "no target" in row["Transformer, same steps"]
    assert " yes " not in row["Transformer, same steps"] and " NO " not in row["Transformer, same steps"]
    assert "(load > 2)" not in row["Word2Vec vs gensim"]  # no load recorded: nothing to flag
    assert "0.50x" in row["n-gram vs KenLM"] and " yes " in row["n-gram vs KenLM"]
    # The newer of the full race and its --query-only run is the row shown, with the text-in ratio.
    _write(tmp_path, "ngram_ptb_query.json", {"date": "d4", "kenlm": {
        "ours_tokens_per_second": 2e6, "kenlm_tokens_per_second": 1.6e6, "query_speed_target": 1.0,
        "query_speed_text_in_ours_over_kenlm": 0.55}})
    newest = next(line for line in summary.summary_lines(tmp_path) if line.startswith("n-gram vs KenLM"))
    assert "1.25x" in newest and "text in: 0.55x" in newest and ">= 1x" in newest and "ngram_ptb_query.json" in newest
    assert any(line.startswith("ARPA write, PTB order 5: 1.50 s wall") and "met" in line.split(":")[-1] for line in lines)


def test_summary_says_in_one_line_when_a_peer_was_not_raced(tmp_path):
    summary = _script("summary")
    _write(tmp_path, "transformer_speedrun.json", {"nanogpt": {"skipped": "nanoGPT not raced: --skip-peer"},
                                                   "ours": {"process_wall_seconds": 90.0}})
    _write(tmp_path, "ngram_ptb.json", {"kenlm": {"skipped": "kenlm is not installed (pip install kenlm)"}})
    lines = summary.summary_lines(tmp_path)
    assert "Transformer vs nanoGPT: nanoGPT not raced: --skip-peer" in lines
    assert "n-gram vs KenLM: kenlm is not installed (pip install kenlm)" in lines
    assert "word2vec.json is missing: run benchmarks/word2vec.py" in lines
    assert "transformer_shakespeare.json is missing: run benchmarks/transformer_shakespeare.py" in lines
    assert not any(re.search(r"\d\.\d\dx", line) for line in lines)  # no ratio without a race


def test_crossover_finds_each_change_of_sign_in_log_x():
    bench = _script("crossover")
    x, note = bench.crossing([(10**5, 0.2), (10**6, -0.2), (10**7, -0.3)])
    assert x == pytest.approx(10**5.5) and "overtakes at ≈316,228" in note and note.endswith("0.300 bits/char ahead")
    x, note = bench.crossing([(10**5, -0.1), (10**6, 0.1)])
    assert x == 10**5 and "falls behind at ≈316,228" in note
    x, note = bench.crossing([(10**5, 0.3), (10**6, 0.1)])
    assert x is None and note.startswith("does not cross") and note.endswith("0.100 bits/char behind")
    rows = [{"model": m, "train_chars": size, "bits_per_char": b} for m, size, b in [
        ("char-6gram", 10, 2.0), ("word-5gram", 10, 2.5), ("rnnlm-word", 10, 2.2),
        ("char-6gram", 100, 1.8), ("word-5gram", 100, 1.7), ("rnnlm-word", 100, 1.6)]]
    best = next(c for c in bench.crossings(rows) if (c["family"], c["against"]) == ("rnnlm-word", "best counting model"))
    assert best["train_chars"] == pytest.approx(10 ** (1 + 0.2 / 0.3))  # gaps +0.2 then -0.1 against 2.0 and 1.7


def test_crossover_prefixes_are_whole_reviews():
    bench = _script("crossover")
    text = "one review\ntwo reviews here\nthree\n"
    assert bench.prefix(text, 15) == "one review\n" and bench.prefix(text, 5) == "one review\n"
    assert bench.prefix(text, 1000) == text
    steps, eval_every = bench.neural_length(train_tokens=10_000, tokens_per_step=100, passes=10, max_tokens=50_000)
    assert (steps, eval_every) == (600, 150)  # 500 steps capped by the tokens, rounded up to a multiple of 200


def _translation_row(seed: int, bleu: float, chrf: float) -> dict:
    return {"task": "translate", "model": "encoder-decoder translator", "init": "pretrained", "direction": "en->zh",
            "finetune_steps": 100, "seed": seed, "bleu": bleu, "chrf": chrf, "example": ["a", f"b{seed}"],
            "finetune_seconds": 10.0, "finetune_epochs": 1.0, "load_average_before": [1.0], "pretrain_text": None}


def test_finetune_summary_averages_translator_seeds_and_keeps_steps_apart():
    bench = _script("finetune")
    rows = [_translation_row(0, 10.0, 20.0), _translation_row(1, 14.0, 22.0),
            _translation_row(1, 12.0, 21.0),  # seed 1 measured again: the later row replaces the earlier
            {**_translation_row(0, 3.0, 5.0), "finetune_steps": 50}]
    summary = bench.summarise(rows)
    (two,) = [line for line in summary if line["runs"] == 2]
    assert (two["mean"], two["std"], two["chrf"], two["chrf_std"]) == (11.0, 1.0, 20.5, 0.5)
    assert [(line["mean"], line["runs"]) for line in summary if line is not two] == [(3.0, 1)]  # other steps: own line
    assert "| en->zh (overlapping split) | encoder-decoder translator | pretrained | 11.0 ± 1.0 (n=2) | 20.5 ± 0.5 (n=2) |" \
        in bench.markdown(summary, rows)  # rows without a split were measured before the disjoint one
    disjoint = bench.summarise([{**row, "split": "disjoint"} for row in rows[:3]] + rows[:3])
    assert sorted((line["split"], line["runs"]) for line in disjoint) == [("disjoint", 2), ("overlapping", 2)]


def test_finetune_merge_keeps_the_runs_of_a_file_merged_before(tmp_path, monkeypatch):
    bench = _script("finetune")
    row = {"task": "classify", "model": "m", "init": "scratch", "labels": 100, "seed": 0, "accuracy": 0.5}
    merged = tmp_path / "merged.json"
    merged.write_text(json.dumps({"runs": [{"command": "first"}, {"command": "second"}], "summary": [],
                                  "rows": [row]}))
    new = tmp_path / "new.json"
    new.write_text(json.dumps({"command": "third", "rows": [{**row, "seed": 1, "accuracy": 0.7}]}))
    out = tmp_path / "out.json"
    bench.merge([str(merged), str(new)], str(out))
    result = json.loads(out.read_text())
    assert [run["command"] for run in result["runs"]] == ["first", "second", "third"]
    assert [(s["mean"], s["runs"]) for s in result["summary"]] == [(60.0, 2)]


def test_finetune_candidate_grids_and_pretraining_reuse(tmp_path):
    """The settings chosen on valid, and a finished pre-training reused only with the settings asked for
    (a run with other settings in --work once stood in silently for the one asked for)."""
    import argparse

    from lmzoo.datasets.labelled import as_text_corpus, load_task_data

    bench = _script("finetune")
    args = argparse.Namespace(static_grid="1e-2:4,3e-2:16", backbone_lrs="3e-4,1e-3:4")
    assert bench.candidate_grid(args, freeze=True) == [{"learning_rate": 1e-2, "epochs_times": 4.0},
                                                       {"learning_rate": 3e-2, "epochs_times": 16.0}]
    assert bench.candidate_grid(args, freeze=False) == [{"backbone_learning_rate": 3e-4, "epochs_times": 1.0},
                                                        {"backbone_learning_rate": 1e-3, "epochs_times": 4.0}]
    text = as_text_corpus(load_task_data("rt-polarity-sample"))
    _, info = bench.pretrain("word2vec", text, tmp_path, scale=1.0, budget={"epochs": 1, "dimension": 8})
    assert info["pretrain_config"]["epochs"] == 1 and info["pretrain_cpu_seconds"] is not None
    _, again = bench.pretrain("word2vec", text, tmp_path, scale=1.0, budget={"epochs": 1, "dimension": 8})
    assert again["pretrain_cpu_seconds"] is None  # reused, not trained again
    with pytest.raises(SystemExit, match="other epochs"):
        bench.pretrain("word2vec", text, tmp_path, scale=1.0, budget={"epochs": 2, "dimension": 8})
