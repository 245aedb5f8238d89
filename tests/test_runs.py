"""Run directories you can trust: no lost checkpoint, no silent retraining, metrics and timing of this run only."""

import dataclasses
import io
import json
import shutil
import time

import keras
import numpy as np
import pytest

import lmzoo
from lmzoo import families
from lmzoo.datasets import Corpus
from lmzoo.errors import LmzooError
from lmzoo.models import seq2seq
from lmzoo.models.callbacks import MetricsLog, TrainingDiverged, training_callbacks
from lmzoo.runs import RunDir

LINES = ["the cat sat on the mat .", "the dog sat on the log .", "a cat saw a dog .", "the dog ran ."]
TOY = Corpus("toy", "\n".join(LINES * 4) + "\n", "\n".join(LINES) + "\n", "\n".join(LINES) + "\n")


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


# 1. Divergence --------------------------------------------------------------------------------------------------


def test_nan_at_step_3_raises_keeps_the_last_good_checkpoint_and_is_not_complete(tmp_path):
    config = seq2seq.Seq2SeqConfig(embedding_dim=8, latent_dim=16, context=10, epochs=10.0,
                                   batch_size=4, checkpoint_every_n_steps=2, monitor_sentences=0)
    run = RunDir(tmp_path)

    class InjectNaN(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == 2:  # the third step
                variable = self.model.trainable_variables[0]
                variable.assign(np.full(variable.shape, np.nan, variable.dtype))

    with pytest.raises(TrainingDiverged) as err:
        seq2seq.train(config, TOY, run, extra_callbacks=[InjectNaN()])
    assert "training diverged: the loss became nan at step 3" in one_line(err)
    assert not run.is_complete()
    backup = run.checkpoint_dir / "backup"
    assert (backup / "latest.weights.h5").exists()
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 1  # the chunk ending at step 2
    assert run.has_checkpoint()
    assert run.timing()["interrupted"] is True


# 2. Checking a run directory before training into it ----------------------------------------------------------


def test_a_finished_run_of_another_family_is_refused_and_left_intact(lee, tmp_path):
    lmzoo.train("ngram", lee, tmp_path, order=2)
    before = (tmp_path / "config.json").read_text()
    with pytest.raises(LmzooError) as err:
        lmzoo.train("seq2seq", lee, tmp_path, preset="quick")
    assert "already holds a finished ngram run" in one_line(err) and "--overwrite" in str(err.value)
    assert (tmp_path / "config.json").read_text() == before and RunDir(tmp_path).is_complete()
    assert lmzoo.load(tmp_path).family == "ngram"


def test_a_finished_run_is_not_retrained_silently_and_overwrite_starts_over(lee, tmp_path):
    lmzoo.train("unigram", lee, tmp_path)
    run = RunDir(tmp_path)
    run.log_metrics({"step": 99})
    run.write_json("timing.json", {"train_seconds": 1000.0, "tokens_seen": 1, "tokens_per_second": 0.0})
    with pytest.raises(LmzooError, match="already holds a finished unigram run"):
        lmzoo.train("unigram", lee, tmp_path)
    model = lmzoo.train("unigram", lee, tmp_path, add_k=0.5, overwrite=True)
    assert model.config.add_k == 0.5 and run.is_complete()
    assert run.read_metrics() == [] and run.timing()["train_seconds"] < 1000  # the first run's seconds are gone


def test_resuming_with_another_config_or_corpus_is_refused(lee, tmp_path):
    lmzoo.train("unigram", lee, tmp_path)
    (tmp_path / "COMPLETE").unlink()  # as if it had been interrupted after a checkpoint
    (RunDir(tmp_path).checkpoint_dir / "state").write_text("x")
    with pytest.raises(LmzooError) as err:
        lmzoo.train("unigram", lee, tmp_path, add_k=0.5)
    assert "trained with other settings (differs in: config.add_k)" in one_line(err)
    with pytest.raises(LmzooError, match=r"differs in: corpus\.corpus, corpus\.train_sha256"):
        lmzoo.train("unigram", TOY, tmp_path)
    with pytest.raises(LmzooError, match="holds an unfinished unigram run, not ngram"):
        lmzoo.train("ngram", lee, tmp_path)
    assert lmzoo.train("unigram", lee, tmp_path).family == "unigram"  # the same settings resume
    (tmp_path / "COMPLETE").unlink()
    shutil.rmtree(tmp_path / "checkpoints")  # failed before its first checkpoint: nothing to resume
    assert lmzoo.train("unigram", lee, tmp_path, add_k=0.5).config.add_k == 0.5


def test_a_new_training_clears_complete_before_it_starts(lee, tmp_path, monkeypatch):
    lmzoo.train("unigram", lee, tmp_path)
    family = lmzoo.get_family("unigram")

    def failing(config, corpus, run):
        raise MemoryError("simulated")

    monkeypatch.setattr(families, "get_family", lambda name: dataclasses.replace(family, train=failing))
    with pytest.raises(MemoryError):
        families.train("unigram", lee, tmp_path, add_k=2.0, overwrite=True)
    run = RunDir(tmp_path)
    assert not run.is_complete() and run.read_config()["config"]["add_k"] == 2.0
    run.write_config("unigram", {})  # the compare job writes config.json itself: it clears COMPLETE too
    assert not run.is_complete()


def test_a_checkpoint_of_another_shape_is_one_line(tmp_path):
    def fit(units):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units)])
        model.compile("sgd", "mse")
        x, y = np.ones((8, 3), "float32"), np.ones((8, units), "float32")
        model.fit(x, y, epochs=2, steps_per_epoch=1, batch_size=8, verbose=0,
                  callbacks=training_callbacks(RunDir(tmp_path)))

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    with pytest.raises(KeyboardInterrupt):
        model.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=2, verbose=0,
                  callbacks=[*training_callbacks(RunDir(tmp_path)), Interrupt()])
    assert RunDir(tmp_path).has_checkpoint()
    with pytest.raises(LmzooError) as err:
        fit(5)
    assert "is damaged or from a different model" in one_line(err)


# 3. metrics.jsonl and timing.json describe this run ---------------------------------------------------------


def test_a_half_written_last_line_is_skipped_with_a_warning(tmp_path):
    run = RunDir(tmp_path)
    run.file("metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n{"step": 3, "lo')
    with pytest.warns(UserWarning, match="skipped 1 line"):
        assert [r["step"] for r in run.read_metrics()] == [1, 2]


def test_a_resume_drops_the_records_past_the_restored_step(tmp_path):
    run = RunDir(tmp_path)
    run.file("metrics.jsonl").write_text("".join(json.dumps({"step": s, "seconds": float(s)}) + "\n"
                                                 for s in (2, 4, 6)) + '{"step": 8, "sec')
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.optimizer.iterations.assign(4)  # what BackupAndRestore restored
    callback = MetricsLog(run)
    callback.set_model(model)
    with pytest.warns(UserWarning):
        callback.on_train_begin()
    assert [r["step"] for r in run.read_metrics()] == [2, 4] and callback._offset == 4.0


def test_timing_is_reset_for_a_fresh_run_added_for_a_resume_and_written_when_interrupted(tmp_path):
    run = RunDir(tmp_path)
    run.write_json("timing.json", {"train_seconds": 500.0, "tokens_seen": 10, "tokens_per_second": 0.02})
    run.log_metrics({"step": 1})
    with run.timed(tokens_per_pass=10):  # nothing to resume: a fresh run
        pass
    assert run.timing()["train_seconds"] < 1 and not run.file("metrics.jsonl").exists()
    (run.checkpoint_dir / "state").write_text("x")  # an interrupted run left a checkpoint: this one resumes
    first = run.timing()["train_seconds"]
    with pytest.raises(KeyboardInterrupt), run.timed():
        time.sleep(0.05)
        raise KeyboardInterrupt
    timing = run.timing()
    assert timing["interrupted"] is True and timing["train_seconds"] >= first + 0.05


# 15. A missing or damaged weight file is one line, for every family ------------------------------------------

WEIGHTS = {"unigram": "unigram.npz", "ngram": "ngram.npz", "word2vec": "word2vec.keras", "seq2seq": "seq2seq.keras"}


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory, lee):
    root = tmp_path_factory.mktemp("finished")
    small = {"word2vec": {"epochs": 1, "dimension": 8}, "seq2seq": {"max_sentences": 64}}
    for family in WEIGHTS:
        lmzoo.train(family, lee, root / family, preset="quick", **small.get(family, {}))
    return root


@pytest.mark.parametrize("family", WEIGHTS)
@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated"])
def test_a_damaged_weight_file_is_one_line(finished_runs, tmp_path, family, damage):
    run = tmp_path / family
    shutil.copytree(finished_runs / family, run)
    weights = run / WEIGHTS[family]
    if damage == "missing":
        weights.unlink()
    elif damage == "garbage":
        weights.write_bytes(b"<html>not a weight file</html>")
    else:
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(LmzooError) as err:
        lmzoo.load(run)
    message = one_line(err)
    assert str(run) in message and ("missing or damaged" in message or "is missing" in message)


def test_a_config_without_family_is_one_line(finished_runs, tmp_path):
    run = RunDir(tmp_path)
    run.write_json("config.json", {"config": {}})
    with pytest.raises(LmzooError, match="does not name a family"):
        lmzoo.load(tmp_path)
    run.write_json("config.json", ["not", "a", "dict"])
    with pytest.raises(LmzooError, match="does not name a family"):
        lmzoo.load(tmp_path)


# Progress: one line per epoch (or chunk) on a terminal, nothing in a log -------------------------------------


class Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_training_shows_progress_on_a_terminal_only(tty, tmp_path):
    from lmzoo.models.callbacks import ProgressLine

    stream = Stream(tty)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, batch_size=4, verbose=0, callbacks=[ProgressLine(stream)])
    lines = stream.getvalue().splitlines()
    if tty:
        assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
        assert all("step" in line and "loss" in line for line in lines)
    else:
        assert lines == []
    assert any(isinstance(c, ProgressLine) for c in training_callbacks(RunDir(tmp_path)))


# One run per directory (issue 22 defect 7) -----------------------------------------------------------


def test_a_second_run_into_the_same_out_is_refused_at_once_and_the_first_finishes(tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "R"
    env = {**os.environ, "PYTHONSAFEPATH": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "lmzoo.cli", "train", "word2vec", "--corpus", "lee", "--out", str(out),
               "--preset", "quick", "--set", "epochs=250"]
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "metrics.jsonl").exists():  # the first has claimed the directory and is training
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()[1][-2000:]
        time.sleep(0.1)
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert first.poll() is None, "the first run ended before the second was refused: make it train longer"
    assert second.returncode == 2
    assert second.stderr.strip().splitlines()[-1] == (
        f"lmzoo: error: '{out}' is in use by another lmzoo run (pid {first.pid}); wait for it to finish, "
        "or choose another --out")
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert lmzoo.load(out).family == "word2vec" and len(RunDir(out).read_metrics()) == 250


def test_finetune_and_compare_refuse_a_directory_in_use(tmp_path, capsys):
    import os

    from lmzoo.cli import main

    for out in (tmp_path / "cls", tmp_path / "cmp"):
        holder = RunDir(out)
        holder.lock()
        argv = (["finetune", str(tmp_path), "--task", "classify", "--corpus", "rt-polarity-sample", "--out", str(out)]
                if out.name == "cls" else ["compare", "--quick", "--families", "unigram", "--out", str(out)])
        if out.name == "cls":
            lmzoo.train("unigram", TOY, tmp_path / "lm")
            argv[1] = str(tmp_path / "lm")
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"is in use by another lmzoo run (pid {os.getpid()})" in err and len(err.strip().splitlines()) == 1
        assert not (out / "config.json").exists() and not (out / "results.json").exists()
        del holder  # released with its RunDir
        assert main(argv) == (2 if out.name == "cls" else 0)  # a unigram has no backbone: refused, but not locked
        assert "in use" not in capsys.readouterr().err


def test_a_signal_is_recorded_while_training_polls_and_raised_at_once_otherwise():
    """The mechanism of issue 22 defect 6 (the subprocess tests are in test_interrupt.py)."""
    import os
    import signal

    from lmzoo.runs import Interrupted, check_interrupted, set_polling, stop_on_signals

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with stop_on_signals():
        set_polling(True)  # as inside Keras's fit (StopOnSignal)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # recorded, not raised: TensorFlow could drop an exception raised now
        with pytest.raises(Interrupted) as err:
            check_interrupted()
        assert err.value.exit_code == 143
    with stop_on_signals(), pytest.raises(Interrupted) as err:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(2)
    assert err.value.exit_code == 130
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
