"""The main job in quick mode: every family trains, results and figures are written, seeds reproduce."""

import json
import math
from dataclasses import replace

import pytest

from lmzoo import compare as compare_module
from lmzoo.compare import ENTRIES, comparable, compare, scale_config
from lmzoo.errors import LmzooError
from lmzoo.families import get_family


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return out, compare("lee", out, quick=True, seed=0)


def test_quick_compare_writes_table_and_figures(quick_run):
    out, rows = quick_run
    assert [r["name"] for r in rows] == [e.name for e in ENTRIES]
    failed = {r["name"]: r["reason"] for r in rows if r["status"] != "ok"}
    assert not failed, failed
    saved = json.loads((out / "results.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(rows, default=str))
    table = (out / "results.md").read_text()
    assert all(f"| {e.name} |" in table for e in ENTRIES)
    for figure in ("bits_per_char", "learning_curves", "quality_vs_params", "embeddings", "samples"):
        assert (out / f"{figure}.png").stat().st_size > 5000
    unigram = next(r for r in rows if r["name"] == "unigram")
    assert all(r["bits_per_char"] < unigram["bits_per_char"] for r in rows if r["name"].startswith("ngram-")
               and r.get("tokenizer") == "word")


def test_same_seed_same_table(quick_run):
    out, rows = quick_run
    # Every trained neural family (gensim's multi-threaded baseline is not bit-reproducible), rerun into the
    # same directory: a second run must neither resume from nor add to the first one's state.
    names = ["unigram", "ngram-3", "word2vec", "seq2seq", "transformer"]
    again = compare("lee", out, quick=True, seed=0, entries=names)
    first = [r for r in rows if r["name"] in names]
    assert [r["name"] for r in again] == names
    assert comparable(again) == comparable(first)


def test_a_failing_family_is_reported_and_the_others_finish(tmp_path, monkeypatch):
    real = compare_module.get_family

    def broken(name):
        family = real(name)
        if name == "unigram":
            def train(*args):
                raise MemoryError("out of memory (simulated)")
            return replace(family, train=train)
        return family

    monkeypatch.setattr(compare_module, "get_family", broken)
    rows = compare("lee", tmp_path, quick=True, entries=["unigram", "ngram-2"])
    assert rows[0]["status"] == "failed" and "MemoryError: out of memory" in rows[0]["reason"]
    assert rows[1]["status"] == "ok"
    assert "unigram failed: MemoryError" in (tmp_path / "results.md").read_text()
    monkeypatch.setattr(compare_module, "get_family", real)
    resumed = compare("lee", tmp_path, quick=True, entries=["unigram", "ngram-2"], resume=True)
    assert resumed[0]["status"] == "ok" and resumed[1] == rows[1]  # finished entry kept, failed one retried


def test_budget_scales_training_length():
    """On the real ENTRIES: a budget scales the steps, the warm-up by the same share and the evaluation
    cadence to as many evaluations (rnnlm at --budget 0.25 warmed up for 50 of its 88 steps)."""
    from lmzoo.families import make_config
    from lmzoo.models.window_lm import steps_per_execution

    config = get_family("unigram").presets["default"]
    assert scale_config(config, 3.0) == config  # no epochs/steps field: unchanged
    scaled_steps = 0
    for entry in ENTRIES:
        family = get_family(entry.family)
        config = make_config(family, "default", {**entry.overrides, **entry.default_overrides})
        for budget in (0.1, 0.25, 2.5):
            scaled = scale_config(config, budget)
            scaled.validate()
            for name in ("epochs", "steps"):
                if hasattr(config, name):
                    assert getattr(scaled, name) == max(1, math.ceil(getattr(config, name) * budget))
            if not hasattr(config, "steps"):
                continue
            scaled_steps += 1
            if hasattr(config, "warmup_steps"):
                share, scaled_share = config.warmup_steps / config.steps, scaled.warmup_steps / scaled.steps
                assert abs(scaled_share - share) <= 1 / scaled.steps, (entry.name, budget)
            if hasattr(config, "eval_every"):
                evaluations = math.ceil(config.steps / config.eval_every)
                assert math.ceil(scaled.steps / scaled.eval_every) == evaluations, (entry.name, budget)
                per_call = steps_per_execution(scaled.steps, scaled.eval_every)
                assert scaled.eval_every % per_call == 0 and scaled.steps % per_call == 0
    assert scaled_steps >= 6  # rnnlm and the Transformer, three budgets each
    rnnlm = scale_config(make_config(get_family("rnnlm"), "default", {"steps": 350, "eval_every": 175}), 0.25)
    assert (rnnlm.steps, rnnlm.warmup_steps, rnnlm.eval_every) == (88, 13, 44)


def test_compiled_runs_reproduce_under_a_fixed_seed(lee, tmp_path):
    """Same seed, same row with XLA on: the reason op determinism (which drops XLA) is off."""
    entry = compare_module.Entry("transformer-xla", "transformer", {"jit_compile": True, "steps": 60})
    rows = [compare_module._run_entry(entry, lee, tmp_path / str(i), "quick", 1.0, seed=0) for i in range(2)]
    assert rows[0]["jit_compile"] is True
    assert comparable(rows[:1]) == comparable(rows[1:])


def test_a_silent_jit_fallback_fails_the_entry(tmp_path):
    """Under TF op determinism Keras drops jit_compile=True with a warning: compare must not accept it.

    Op determinism cannot be switched off again in a process, so this runs in a subprocess.
    """
    import subprocess
    import sys

    script = (
        "import sys, tensorflow as tf\n"
        "from lmzoo.compare import Entry, _run_entry\n"
        "from lmzoo.datasets import load_corpus\n"
        "from lmzoo.errors import LmzooError\n"
        "tf.config.experimental.enable_op_determinism()\n"
        # The transformer has no guard of its own (word2vec's family refuses first, in its own words).
        "entry = Entry('t', 'transformer', {'jit_compile': True, 'steps': 4, 'eval_every': 4, 'eval_batches': 1})\n"
        "try:\n"
        f"    _run_entry(entry, load_corpus('lee'), __import__('pathlib').Path({str(tmp_path)!r}), 'quick', 1.0, 0)\n"
        "except LmzooError as err:\n"
        "    print('REFUSED', err); sys.exit(0)\n"
        "print('ACCEPTED'); sys.exit(1)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "trained without XLA" in done.stdout


def test_jit_fallback_guard_refuses_keras_fallback_and_passes_other_warnings_on():
    import warnings

    from lmzoo.errors import JIT_FALLBACK, no_silent_jit_fallback

    with pytest.raises(LmzooError, match="row x trained without XLA"), no_silent_jit_fallback("row x"):
        warnings.warn(f"Model cannot be compiled. {JIT_FALLBACK}.", stacklevel=1)
    with pytest.warns(UserWarning, match="something else"), no_silent_jit_fallback("row x"):
        warnings.warn("something else", stacklevel=1)


def test_deterministic_flag_turns_xla_off_explicitly_and_says_so(tmp_path):
    import subprocess
    import sys

    script = ("from lmzoo.compare import compare\n"
              f"compare('lee', {str(tmp_path)!r}, quick=True, entries=['word2vec'], deterministic=True)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["deterministic"] is True and saved["rows"][0]["status"] == "ok"
    assert saved["rows"][0]["jit_compile"] is False
    assert "deterministic ops: XLA off" in (tmp_path / "results.md").read_text()


def test_resume_reuses_rows_only_with_the_same_settings(tmp_path, capsys):
    first = compare("lee", tmp_path, quick=True, entries=["unigram"], seed=0)
    again = compare("lee", tmp_path, quick=True, entries=["unigram"], seed=0, resume=True)
    assert again == first and "already done" in capsys.readouterr().out
    compare("lee", tmp_path, quick=True, entries=["unigram"], seed=1, resume=True)
    out = capsys.readouterr().out
    assert "retraining every entry" in out and "unigram          training (unigram" in out
    assert json.loads((tmp_path / "results.json").read_text())["seed"] == 1
    assert json.loads((tmp_path / "runs" / "unigram" / "config.json").read_text())["config"]["seed"] == 1


def test_resume_retrains_a_row_whose_entry_changed(tmp_path, capsys, monkeypatch):
    """Issue 22 defect 8: --resume reused a row after its ENTRIES line (or preset) changed."""
    first = compare("lee", tmp_path, quick=True, entries=["ngram-2"])
    changed = tuple(compare_module.Entry("ngram-2", "ngram", {"order": 3}) if e.name == "ngram-2" else e
                    for e in ENTRIES)
    monkeypatch.setattr(compare_module, "ENTRIES", changed)
    capsys.readouterr()
    again = compare("lee", tmp_path, quick=True, entries=["ngram-2"], resume=True)
    assert "already done" not in capsys.readouterr().out
    assert again[0]["config_fingerprint"] != first[0]["config_fingerprint"]
    assert again[0]["bits_per_char"] != first[0]["bits_per_char"]
    assert compare("lee", tmp_path, quick=True, entries=["ngram-2"], resume=True) == again  # unchanged: reused


def test_the_table_says_which_entries_train_with_xla(quick_run):
    """Issue 22 defect 8: the header said "XLA on" for every entry; now each row says it."""
    from lmzoo.datasets import load_corpus

    out, rows = quick_run
    assert "XLA on" not in (out / "results.md").read_text().splitlines()[0]
    table = compare_module.results_markdown(rows, load_corpus("lee"))  # results.md: another test rewrites it
    header = next(line for line in table.splitlines() if line.startswith("| model"))
    column = header.split(" | ").index("XLA")
    cells = {line.split(" | ")[0].strip("| "): line.split(" | ")[column] for line in table.splitlines()
             if line.startswith("| ") and not line.startswith("| model")}
    for row in rows:
        assert cells[row["name"]] == {True: "on", False: "off", None: "–"}[row.get("jit_compile")]
    assert {cells["transformer"], cells["word2vec"]} == {"off", "on"}  # the quick presets differ


def test_seeding_needs_no_tensorflow_on_another_backend(monkeypatch):
    """Issue 22 defect 8: compare imported TensorFlow to seed, which a JAX-only install lacks."""
    import sys

    import keras

    from lmzoo.errors import LmzooError

    monkeypatch.setattr(keras.config, "backend", lambda: "jax")
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` now fails, as without it
    compare_module.seed_everything(0)
    with pytest.raises(LmzooError, match="--deterministic"):
        compare_module.seed_everything(0, deterministic=True)


def test_language_model_rows_have_open_and_closed_figures(quick_run):
    _, rows = quick_run
    lms = [r for r in rows if r.get("status") == "ok" and "bits_per_char" in r]
    assert {"unigram", "ngram-2", "ngram-char-6", "transformer", "rnnlm"} <= {r["name"] for r in lms}
    for row in lms:
        assert row["bits_per_char"] >= row["bits_per_char_closed"]
        if row["tokenizer"] == "word":
            assert row["unknown_tokens"] > 0 and row["bits_per_char"] > row["bits_per_char_closed"]
    seq2seq = next(r for r in rows if r["name"] == "seq2seq")
    assert "bits_per_char" not in seq2seq and seq2seq["conditional_bits_per_char"] > 0
