"""Every lesson runs end to end in quick mode, as a learner would run it, saves its figures, and quotes
only numbers its run measures; one lesson executes as a notebook and shows its figures inline."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lmzoo.lesson import CLAIMS_FILE

LESSONS = sorted((Path(__file__).parent.parent / "lessons").glob("[0-9][0-9]*_*.py"))
SOLUTIONS = sorted((Path(__file__).parent.parent / "lessons" / "solutions").glob("[0-9][0-9]*_*.py"))
ENV = {"LMZOO_QUICK": "1", "MPLBACKEND": "Agg", "PYTHONSAFEPATH": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}

# A quoted figure: a number or range, an optional unit, then the claim that measures it in brackets,
# e.g. "405 [kn3_perplexity]", "8-10% [word_unk_rate]", "4.6× [quick:cache_speedup]".
NUMBER = r"\d[\d,]*(?:\.\d+)?"
MARKER = re.compile(rf"({NUMBER})(?:\s*[-–]\s*({NUMBER}))?\s*(?:%|×|x)?\s*\[(?:(quick|full):)?([a-z][a-z0-9_]*)\]")
# "about 405", "~2.7", "≈ 0.18": an approximate figure is a measured one, so it must name its claim.
APPROXIMATE = re.compile(rf"(?:\b(?:about|around|roughly|approximately)\s+|[~≈]\s*)({NUMBER}(?:\s*[-–]\s*{NUMBER})?)"
                         r"(?![\d,]|\.\d|\s*[-–]\s*\d|\s*(?:%|×|x)?\s*\[)")


def markdown(lesson: Path) -> str:
    import jupytext

    notebook = jupytext.read(lesson)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def prose_results(lesson: Path) -> str:
    """The markdown without its run-time estimate (a duration on the reader's machine, not a result)."""
    return re.sub(r"\*\*Run time[^\n]*(?:\n(?!\n|\*\*)[^\n]*)*", "", markdown(lesson), flags=re.IGNORECASE)


def quoted_figures(lesson: Path) -> list[tuple[float, float, str, str]]:
    """(low, high, mode, claim) for every figure the lesson's prose quotes."""
    out = []
    for low, high, mode, name in MARKER.findall(markdown(lesson)):
        low_value = float(low.replace(",", ""))
        out.append((low_value, float(high.replace(",", "")) if high else low_value, mode or "full", name))
    return out


def run_lesson(lesson: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **ENV, "LMZOO_LESSON_OUT": str(tmp_path)}
    return subprocess.run([sys.executable, str(lesson)], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=900)  # about a minute of CPU each; wall time grows on a shared machine


def check_measured_claims(lesson: Path, out: Path) -> None:
    """The run in `out` saved a figure, and its claims hold every figure the lesson's prose quotes."""
    assert list(out.rglob("*.png")), f"{lesson.name} saved no figure"
    claims_files = list(out.rglob(CLAIMS_FILE))
    claims = json.loads(claims_files[0].read_text()) if claims_files else {}
    wrong = {name: c for name, c in claims.items() if not c["ok"]}
    assert not wrong, f"{lesson.name}: measured values outside the ranges its text states: {wrong}"
    for low, high, mode, name in quoted_figures(lesson):
        assert name in claims, f"{lesson.name} quotes [{name}] but its run does not measure it"
        stated = claims[name][mode]
        assert stated is not None, f"{lesson.name}: [{name}] has no {mode}-mode range"
        assert stated[0] <= low <= high <= stated[1], (
            f"{lesson.name} says {low}-{high} [{name}] in {mode} mode; the run checks {stated}")


# Lesson 01 runs once, as a notebook (test_a_lesson_executes_as_a_notebook_with_inline_figures), which checks
# its claims too: a second run as a script would repeat the same code.
NOTEBOOK_LESSON = next(p for p in LESSONS if p.name.startswith("01_"))


@pytest.mark.parametrize("lesson", [p for p in LESSONS if p != NOTEBOOK_LESSON], ids=lambda p: p.stem)
def test_lesson_runs_in_quick_mode_and_measures_what_it_quotes(lesson, tmp_path):
    result = run_lesson(lesson, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    check_measured_claims(lesson, tmp_path)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_header_exercises_and_no_hand_typed_figures(lesson):
    text = lesson.read_text(encoding="utf-8")
    assert text.startswith("# ---\n") or text.startswith("# %% [markdown]"), "jupytext percent format"
    head = text[:4000].lower()
    for part in ("the question", "what you will learn", "prerequisites", "run time", "expected"):
        assert part in head, f"{lesson.name}: header lacks '{part}'"
    assert "exercises" in text.lower(), f"{lesson.name}: no exercises"
    assert 'matplotlib.use("Agg")' not in text, f"{lesson.name}: let MPLBACKEND choose the backend"
    loose = [m.group(0) for m in APPROXIMATE.finditer(prose_results(lesson))]
    assert not loose, f"{lesson.name}: approximate figures that name no claim: {loose}"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_exercise_solutions_pass_their_checks(solution, tmp_path):
    """Each lesson's appendix of build-it solutions runs and passes the `lmzoo.lesson.check_*` calls it makes."""
    assert any(p.stem == solution.stem for p in LESSONS), f"{solution.name} solves no lesson"
    result = run_lesson(solution, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_check_bigram_refuses_a_wrong_table():
    import numpy as np

    from lmzoo.datasets.tokenizers import BOS, fit_tokenizer
    from lmzoo.errors import LmzooError
    from lmzoo.lesson import check_bigram

    text = "abcabcabd\n"
    chars = fit_tokenizer("char", text)
    size = chars.vocabulary_size()
    ids = np.array([BOS, *chars.encode(text)])
    counts = np.full((size, size), 0.1)
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    table = counts / counts.sum(axis=1, keepdims=True)
    bits = check_bigram(table, chars, text, target=10.0)
    assert check_bigram(table, chars, text, target=bits) == bits
    with pytest.raises(LmzooError, match="above the target"):
        check_bigram(table, chars, text, target=bits - 0.1)
    with pytest.raises(LmzooError, match="not a probability distribution"):
        check_bigram(counts, chars, text, target=10.0)
    with pytest.raises(LmzooError, match="shape"):
        check_bigram(table[:-1], chars, text, target=10.0)
    uniform_but_zero = table.copy()
    uniform_but_zero[ids[1], :] = 0
    uniform_but_zero[ids[1], 0] = 1
    with pytest.raises(LmzooError, match="probability 0"):
        check_bigram(uniform_but_zero, chars, text, target=10.0)


def test_check_greedy_names_the_first_differing_token():
    from lmzoo.errors import LmzooError
    from lmzoo.lesson import check_greedy

    class Model:  # stands in for a trained LM: its greedy decoding is fixed
        def generate_ids(self, prompt_ids, *, max_length, sampler):
            assert sampler == "greedy"
            return [[5, 6, 7, 8][:max_length]]

    check_greedy([5, 6, 7, 8], Model(), [1])
    with pytest.raises(LmzooError, match="at new token 2: \\[9, 8\\] against \\[7, 8\\]"):
        check_greedy([5, 6, 9, 8], Model(), [1])


def test_check_tokenizer_and_check_causal_attention_refuse_wrong_answers():
    import numpy as np

    from lmzoo.errors import LmzooError
    from lmzoo.lesson import check_causal_attention, check_tokenizer

    text = "abca"
    check_tokenizer(lambda s: [ord(c) for c in s], lambda ids: "".join(map(chr, ids)), text)
    with pytest.raises(LmzooError, match="not the text"):
        check_tokenizer(lambda s: [ord(c) for c in s], lambda ids: "".join(map(chr, ids)).upper(), text)
    with pytest.raises(LmzooError, match="share one"):
        check_tokenizer(lambda s: [0] * len(s), lambda ids: text, text)

    def attention(q, k, v, scale=True, causal=True):
        scores = q @ k.T / (np.sqrt(q.shape[-1]) if scale else 1.0)
        if causal:
            scores = scores + np.triu(np.full(scores.shape, -np.inf), k=1)
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        return weights / weights.sum(axis=-1, keepdims=True) @ v

    assert check_causal_attention(attention) < 1e-5
    with pytest.raises(LmzooError, match="differs from the library's"):
        check_causal_attention(lambda q, k, v: attention(q, k, v, scale=False))
    with pytest.raises(LmzooError, match="differs"):
        check_causal_attention(lambda q, k, v: attention(q, k, v, causal=False))


def test_check_open_bits_refuses_the_closed_figure(lee, tmp_path):
    import lmzoo
    from lmzoo.errors import LmzooError
    from lmzoo.harness import score_text
    from lmzoo.lesson import check_open_bits
    from lmzoo.spelling import SpellingModel

    spelling = SpellingModel.fit(lee.train)
    unigram = lmzoo.train("unigram", lee, tmp_path)
    scores = score_text(unigram, lee.test, spelling)
    assert check_open_bits(scores["bits_per_char"], unigram, lee.test, spelling) == scores["bits_per_char"]
    with pytest.raises(LmzooError, match="closed figure"):
        check_open_bits(scores["bits_per_char_closed"], unigram, lee.test, spelling)


def test_check_top_p_and_check_carried_scores_refuse_wrong_answers():
    import numpy as np

    from lmzoo.errors import LmzooError
    from lmzoo.lesson import check_carried_scores, check_top_p
    from lmzoo.models.sampling import filter_log_probs

    check_top_p(lambda log_probs, p: filter_log_probs(log_probs, top_p=p))
    with pytest.raises(LmzooError, match="the nucleus has"):
        check_top_p(lambda log_probs, p: filter_log_probs(log_probs, top_p=min(1.0, p + 0.05)))
    with pytest.raises(LmzooError, match="not renormalised"):
        check_top_p(lambda log_probs, p: np.where(np.isfinite(filter_log_probs(log_probs, top_p=p)), log_probs, -np.inf))

    class Model:  # stands in for a recurrent LM with fixed scores
        def token_log_probs(self, ids):
            return -np.arange(1.0, len(ids) + 1)

    assert check_carried_scores(-np.arange(1.0, 5.0), Model(), [7, 8, 9, 10]) == -2.5
    with pytest.raises(LmzooError, match="differs at position 2"):
        check_carried_scores([-1.0, -2.0, -3.5, -4.0], Model(), [7, 8, 9, 10])


def test_markers_and_loose_figures_are_found():
    text = "KN scores 405 [kn3] and 8-10% [quick:unk], about 3 bits, ≈ 0.18 [ws], about 2.7 nats, ~4-5x."
    assert MARKER.findall(text) == [("405", "", "", "kn3"), ("8", "10", "quick", "unk"), ("0.18", "", "", "ws")]
    assert [m.group(1) for m in APPROXIMATE.finditer(text)] == ["3", "2.7", "4-5"]


def test_a_lesson_executes_as_a_notebook_with_inline_figures(tmp_path):
    """`make notebooks` output, executed: the figures must be in the cells' outputs, not only on disk, and
    the run measures what the lesson quotes (as the script runs of the other lessons check)."""
    from lmzoo.lesson import execute_notebook

    notebook = execute_notebook(NOTEBOOK_LESSON, tmp_path, timeout=300)
    images = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the executed notebook shows no figures"
    assert str(tmp_path) not in json.dumps(notebook), "the notebook names its machine's folder"
    check_measured_claims(NOTEBOOK_LESSON, tmp_path)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_each_lesson_has_its_executed_notebook_in_docs(lesson):
    """docs/notebooks (written by `make notebooks`) holds every lesson, executed, with the lesson's cells as
    they are now: a lesson edited without `make notebooks` fails here instead of going stale unseen."""
    import jupytext
    import nbformat

    path = lesson.parent.parent / "docs" / "notebooks" / f"{lesson.stem}.ipynb"
    assert path.exists(), f"no {path.name}: run make notebooks"
    committed = nbformat.read(path, as_version=4)
    current = jupytext.read(lesson)
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in current.cells], (
        f"{path.name} is stale: run make notebooks")
    outputs = [o for c in committed.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} was not executed"
    assert str(lesson.parent.parent.resolve()) not in path.read_text(), f"{path.name} names a machine path"


def test_claim_records_and_flags_a_mismatch(tmp_path, monkeypatch, capsys):
    from lmzoo import lesson

    monkeypatch.setenv("LMZOO_QUICK", "1")
    out = lesson.output_dir("x", root=tmp_path)
    assert lesson.claim("a", 2.0, quick=(1, 3), full=(5, 6)) is True
    assert lesson.claim("b", 9.0, quick=(1, 3)) is False
    assert "b = 9 (expected 1-3 in quick mode) MISMATCH" in capsys.readouterr().out
    saved = json.loads((out / CLAIMS_FILE).read_text())
    assert saved["a"] == {"value": 2.0, "mode": "quick", "ok": True, "text": "", "source": None, "full": [5, 6],
                          "quick": [1, 3]}
    assert saved["b"]["ok"] is False
    lesson.output_dir("x", root=tmp_path)  # a new run starts with no claims
    assert not (out / CLAIMS_FILE).exists()


def test_read_result_takes_the_first_key_present():
    from lmzoo.lesson import read_result

    summary = read_result("word2vec.json", ("summary_v2", "summary"))
    assert {"ratio_ours_over_gensim", "wordsim353_ours_mean"} <= set(summary)
    assert read_result("word2vec.json", "summary", "ratio_ours_over_gensim") == summary["ratio_ours_over_gensim"]
    assert read_result("word2vec.json", "no such key", default=None) is None
    with pytest.raises(KeyError, match="none of"):
        read_result("word2vec.json", ("a", "b"))


def test_check_bigram_takes_a_function_of_the_previous_id():
    import numpy as np

    from lmzoo.datasets.tokenizers import BOS, PAD, fit_tokenizer
    from lmzoo.errors import LmzooError
    from lmzoo.lesson import check_bigram

    text = "the cat sat\nthe dog sat\n"
    words = fit_tokenizer("word", text, word_split="whitespace")
    size = words.vocabulary_size()
    uniform = np.full(size, -np.log(size - 2))
    uniform[[PAD, BOS]] = -np.inf  # never predicted

    bits = check_bigram(lambda previous: uniform, words, text, target=10.0)
    assert bits == pytest.approx(np.log2(size - 2))
    with pytest.raises(LmzooError, match="above the target"):
        check_bigram(lambda previous: uniform, words, text, target=bits - 0.1)
    with pytest.raises(LmzooError, match="not a probability distribution"):
        check_bigram(lambda previous: uniform + 0.1, words, text, target=10.0)
    with pytest.raises(LmzooError, match="shape"):
        check_bigram(lambda previous: uniform[:-1], words, text, target=10.0)


def test_check_cbow_loss_refuses_a_mean_over_the_padding():
    import numpy as np

    from lmzoo.errors import LmzooError
    from lmzoo.lesson import check_cbow_loss

    def cbow_loss(V, U, contexts, centres, noise, skip_padding=True):
        real = (contexts != 0)[:, :, None] if skip_padding else np.ones(contexts.shape + (1,), bool)
        h = (V[contexts] * real).sum(axis=1) / real.sum(axis=1)
        scores = np.concatenate([np.einsum("bd,bd->b", U[centres], h)[:, None],
                                 -np.einsum("bkd,bd->bk", U[noise], h)], axis=1)
        return float(np.logaddexp(0.0, -scores).sum())

    assert check_cbow_loss(cbow_loss) > 0
    with pytest.raises(LmzooError, match="your CBOW loss is"):
        check_cbow_loss(lambda *args: cbow_loss(*args, skip_padding=False))


def test_check_reconstruction_names_the_first_differing_sentence():
    from lmzoo.errors import LmzooError
    from lmzoo.lesson import check_reconstruction

    class Model:  # stands in for a trained autoencoder: its greedy reconstruction is fixed
        def reconstruct(self, sentences):
            return [s.lower() for s in sentences]

    check_reconstruction(["a b", "c"], Model(), ["A B", "C"])
    with pytest.raises(LmzooError, match="sentence 1: you decode 'C'"):
        check_reconstruction(["a b", "C"], Model(), ["A B", "C"])
    with pytest.raises(LmzooError, match="1 decodings for 2"):
        check_reconstruction(["a b"], Model(), ["A B", "C"])


def test_check_position_bias_refuses_an_unclipped_or_unmasked_bias():
    import keras
    from keras import ops

    from lmzoo.errors import LmzooError
    from lmzoo.lesson import check_position_bias

    class Bias(keras.layers.Layer):
        def __init__(self, max_distance, clip=True, causal=True, **kwargs):
            super().__init__(**kwargs)
            self.max_distance, self.clip, self.causal = max_distance, clip, causal

        def build(self, shape):
            self.w = self.add_weight(shape=(self.max_distance,), initializer="zeros")

        def call(self, scores):
            distance = ops.arange(ops.shape(scores)[-1])[:, None] - ops.arange(ops.shape(scores)[-1])[None, :]
            index = ops.clip(distance, 0, self.max_distance - 1) if self.clip else ops.abs(distance) % self.max_distance
            bias = ops.take(self.w, index)
            return scores + (ops.where(distance >= 0, bias, -1e9) if self.causal else bias)

        def get_config(self):
            return {**super().get_config(), "max_distance": self.max_distance, "clip": self.clip, "causal": self.causal}

    check_position_bias(Bias(4))
    with pytest.raises(LmzooError, match="clipped at max_distance"):
        check_position_bias(Bias(4, clip=False))
    with pytest.raises(LmzooError, match="after its query"):
        check_position_bias(Bias(4, causal=False))


def test_check_freeze_then_unfreeze_refuses_a_schedule_that_never_recompiles():
    import keras

    from lmzoo.errors import LmzooError
    from lmzoo.lesson import check_freeze_then_unfreeze

    def schedule(classifier, x, y, *, frozen_epochs, epochs, recompile=True):
        for trainable, n in ((False, frozen_epochs), (True, epochs - frozen_epochs)):
            classifier.backbone.trainable = trainable
            if recompile or not trainable:
                classifier.compile(optimizer=keras.optimizers.Adam(1e-2),
                                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            classifier.fit(x, y, epochs=n, batch_size=16, verbose=0)

    check_freeze_then_unfreeze(schedule)
    with pytest.raises(LmzooError, match="compile again"):
        check_freeze_then_unfreeze(lambda *a, **k: schedule(*a, **k, recompile=False))
    with pytest.raises(LmzooError, match="fit calls"):  # never frozen
        check_freeze_then_unfreeze(lambda c, x, y, **k: schedule(c, x, y, frozen_epochs=0, epochs=k["epochs"]))


def test_measured_table_lists_this_runs_claims(tmp_path, monkeypatch, capsys):
    from lmzoo import lesson

    monkeypatch.setenv("LMZOO_QUICK", "1")
    lesson.output_dir("x", root=tmp_path)
    lesson.measured_table()
    assert capsys.readouterr().out == "No claims were recorded in this run.\n"
    lesson.claim("loss", 2.5, quick=(2, 3), full=(1, 2))
    lesson.claim("ptb", 141.2, quick=(141, 142), source="benchmarks/results/ngram_ptb.json")
    lesson.claim("far", 9.0, quick=(1, 3))
    capsys.readouterr()
    lesson.measured_table()
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "| claim | measured | expected (quick mode) | read from | verdict |"
    assert rows[2:] == ["| loss | 2.5 | 2-3 | this run | ok |",
                        "| ptb | 141.2 | 141-142 | benchmarks/results/ngram_ptb.json | ok |",
                        "| far | 9 | 1-3 | this run | MISMATCH |"]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_ends_with_its_measured_table(lesson):
    import jupytext

    cells = jupytext.read(lesson).cells
    assert cells[-2].source.startswith("## Measured in this run"), f"{lesson.name}: no closing table section"
    assert "measured_table()" in cells[-1].source


def rounds_to(value: float, figure: float) -> bool:
    """`value` written with as many decimals as `figure` has gives `figure`."""
    decimals = len(repr(figure).split(".")[1].rstrip("0"))
    return abs(value - figure) <= 0.5 * 10.0**-decimals + 1e-12


FULL_RESULTS = Path(__file__).parent.parent / "benchmarks" / "results" / "lessons_full"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_full_mode_prose_agrees_with_the_recorded_full_run(lesson):
    """Every full-mode figure the prose quotes holds the value the lesson measured when last run in full
    (`benchmarks/lessons_full.py`, whose records keep the date and machine load), so a full-mode claim
    that `make test`'s quick runs never exercise cannot rot unseen."""
    path = FULL_RESULTS / f"{lesson.stem}.json"
    assert path.exists(), f"{lesson.name} has no full-mode record: run python benchmarks/lessons_full.py --lessons " \
                          f"{lesson.name.split('_')[0]}"
    record = json.loads(path.read_text())
    claims = record["claims"]
    for low, high, mode, name in quoted_figures(lesson):
        if mode != "full":
            continue
        assert name in claims, f"{lesson.name} quotes [{name}] but its full run did not measure it"
        value, bounds = claims[name]["value"], claims[name]["full"] or []
        # A range must hold the value. A single figure is the value rounded as quoted ("1.5"), or a bound
        # the lesson checks ("within 0.03": the claim's full range ends at it) that holds the value.
        single_ok = rounds_to(value, low) or (low in bounds and bounds[0] <= value <= bounds[1])
        assert (low <= value <= high) if low < high else single_ok, (
            f"{lesson.name} says {low}-{high} [{name}] in full mode; its full run ({record['date']}) measured {value}")


def test_shared_model_trains_once_and_retrains_for_another_corpus(tmp_path, capsys, monkeypatch):
    """Lessons 04-06 share one trained Transformer (`lesson.shared_model`); a unigram stands in for it here."""
    import dataclasses

    from lmzoo import lesson
    from lmzoo.datasets import load_corpus

    monkeypatch.setenv("LMZOO_QUICK", "1")
    corpus = load_corpus("lee")
    first = lesson.shared_model("unigram", corpus, root=tmp_path)
    assert "reusing" not in capsys.readouterr().out
    again = lesson.shared_model("unigram", corpus, root=tmp_path)
    assert "reusing the unigram" in capsys.readouterr().out
    assert again.num_params() == first.num_params()
    shorter = dataclasses.replace(corpus, train=corpus.train[: len(corpus.train) // 2])  # same name, other text
    lesson.shared_model("unigram", shorter, root=tmp_path)
    assert "reusing" not in capsys.readouterr().out
    assert lesson.shared_run("unigram", corpus, tmp_path) == tmp_path / "shared" / "unigram-lee-quick"
