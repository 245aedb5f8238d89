"""Task corpora, backbones, fine-tuning for classification and translation, and their bad inputs.

Tiny runs on the embedded MR sample and on pairs this file writes itself; `slow` tests read the real
files from ../shared/corpora.
"""

import hashlib
import io
import json
import tarfile

import keras
import numpy as np
import pytest

from lmzoo.cli import main
from lmzoo.datasets.catalog import CATALOG, CorpusFile
from lmzoo.datasets.labelled import (
    LabelledData,
    PairData,
    as_text_corpus,
    ensure_task_file,
    extract_member,
    load_task_data,
    read_lines,
)
from lmzoo.errors import LmzooError
from lmzoo.runs import RunDir

PAIRS = [("I see.", "我明白了。"), ("Thanks.", "谢谢。"), ("Good night.", "晚安。"), ("I am here.", "我在这里。"),
         ("Hi.", "你好。"), ("Run.", "跑。"), ("I know.", "我知道。"), ("Come here.", "过来。")]


def write_pairs(path, pairs=PAIRS, repeat=4):
    path.write_text("".join(f"{a}\t{b}\tCC-BY 2.0 (France) test #{i}\n" for i, (a, b) in enumerate(pairs * repeat)),
                    encoding="utf-8")
    return path


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# Data ----------------------------------------------------------------------------------------------


def test_windows_1252_characters_survive(tmp_path):
    path = tmp_path / "rt-polarity.neg"
    path.write_bytes(b"clich\xe9s \x85 \x91quoted\x92 1990\x962000 \x97 end\n")  # as the MR files store them
    (line,) = read_lines(path, CATALOG["rt-polarity"].extra["encoding"])
    assert line == "clichés … ‘quoted’ 1990–2000 — end"
    assert not any(0x80 <= ord(ch) < 0xA0 for ch in line)  # what Latin-1 would have produced


def test_embedded_sample_is_labelled_split_and_decoded():
    data = load_task_data("rt-polarity-sample")
    assert isinstance(data, LabelledData) and data.labels == ("neg", "pos")
    assert [len(data.train), len(data.valid), len(data.test)] == [170, 10, 20]
    texts = [t for s in ("train", "valid", "test") for t, _ in data.split(s)]
    assert len(set(texts)) == 200 and sum(t.count("é") for t in texts) == 3 and sum(t.count("—") for t in texts) == 3
    assert data.train == load_task_data("rt-polarity-sample").train  # seeded, so the same every time
    text = as_text_corpus(data)
    assert not set(text.train.splitlines()) & {t for t, _ in data.test}  # pre-training never sees test text


def test_user_pairs_keep_attribution_and_reverse(tmp_path):
    data = load_task_data(write_pairs(tmp_path / "pairs.tsv"))
    assert isinstance(data, PairData) and (data.source_language, data.target_language) == ("en", "zh")
    assert len(data.train) + len(data.valid) + len(data.test) == 32
    assert all(credit.startswith("CC-BY") for credit in data.attribution["train"])
    back = data.reversed()
    assert back.train[0] == data.train[0][::-1] and back.target_language == "en"


def test_archive_member_is_extracted_only_to_its_catalog_path(tmp_path, http_server):
    wanted = b"good film\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("../evil.txt", b"x"), ("rt-polaritydata/rt-polarity.pos", wanted)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    www, url = http_server
    (www / "rt.tar.gz").write_bytes(buffer.getvalue())
    file = CorpusFile("rt-polarity/rt-polarity.pos", hashlib.sha256(wanted).hexdigest(), len(wanted),
                      (f"{url}/rt.tar.gz",), convert="archive:rt-polaritydata/rt-polarity.pos")
    target = tmp_path / "data"
    assert ensure_task_file(file, target).read_bytes() == wanted
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["rt-polarity.pos", "rt.tar.gz"]
    with pytest.raises(LmzooError, match="has no file"):
        extract_member(buffer.getvalue(), "../evil", tmp_path / "x", "0" * 64)
    with pytest.raises(LmzooError, match="checksum mismatch"):
        extract_member(buffer.getvalue(), "../evil.txt", tmp_path / "y", "0" * 64)
    assert not (tmp_path / "y").exists() and not (tmp_path / "evil.txt").exists()


@pytest.mark.slow
def test_real_task_corpora(shared_corpora):
    mr = load_task_data("rt-polarity", shared_corpora)
    assert [len(mr.train), len(mr.valid), len(mr.test)] == [9063, 533, 1066]
    text = "".join(t for s in ("train", "valid", "test") for t, _ in mr.split(s))
    assert {ch: text.count(ch) for ch in "é…‘–—"} == {"é": 99, "…": 23, "‘": 6, "–": 17, "—": 13}
    pairs = load_task_data("tatoeba-cmn", shared_corpora)
    assert [len(pairs.train), len(pairs.valid), len(pairs.test)] == [27655, 500, 1000]
    assert not any("\ufeff" in s or "\ufeff" in t for s, t in pairs.train + pairs.test)
    assert "Attribution: tatoeba.org" in pairs.attribution["test"][0]
    assert CATALOG["tatoeba-cmn"].licence.startswith("CC BY 2.0 FR")


# Backbones and fine-tuning -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def word2vec_run(tmp_path_factory):
    from lmzoo import load_corpus, train

    out = tmp_path_factory.mktemp("w2v")
    train("word2vec", load_corpus("rt-polarity-sample"), out, preset="quick", min_count=1)
    return out


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    return write_pairs(tmp_path_factory.mktemp("pairs") / "pairs.tsv")


@pytest.fixture(scope="module")
def transformer_run(pairs_file, tmp_path_factory):
    from lmzoo import train

    out = tmp_path_factory.mktemp("lm")
    train("transformer", as_text_corpus(load_task_data(pairs_file)), out, preset="quick", steps=40, context=32,
          eval_every=40)
    return out


def test_backbones_share_weights_with_the_pretrained_model(word2vec_run, transformer_run):
    from lmzoo import load
    from lmzoo.protocols import Backbone, CausalNetwork

    w2v, lm = load(word2vec_run), load(transformer_run)
    assert isinstance(w2v, Backbone) and isinstance(lm, Backbone) and isinstance(lm, CausalNetwork)
    ids = np.array([[4, 5, 6, 0]], np.int32)
    states = np.asarray(lm.backbone()(ids))
    assert states.shape == (1, 4, lm.config.hidden_dim)
    table = w2v.backbone().layers[-1].embeddings
    table.assign(np.asarray(table) + 1.0)
    assert np.allclose(w2v.word_vectors()[w2v.tokenizer.vocabulary[4]], np.asarray(table)[4])


def test_pretrained_word_lm_states_do_not_saturate(tmp_path):
    """The MR bug: a GRU LM whose output bias started at zero learned the unigram first by driving its
    states to a constant near ±1 (78% of them past 0.95 here, 81-90% on MR), where no gradient flows and no
    sentence differs, so a classifier fine-tuned from it stayed at chance. rnnlm's output bias now
    starts at the log unigram (`unigram_bias`), and the states stay in the tanh's working range."""
    from lmzoo import train
    from lmzoo.config import replace
    from lmzoo.models import tasks
    from lmzoo.models.tasks.encoding import encode, pad

    data = load_task_data("rt-polarity-sample")
    lm = train("rnnlm", as_text_corpus(data), tmp_path / "lm", preset="quick", cell="gru", tokenizer="word", hidden_dim=64,
               embedding_dim=32, context=32, steps=80, eval_every=80, learning_rate=3e-3, min_learning_rate=3e-4)
    ids = pad([encode(lm.tokenizer, text) for text, _ in data.train], 48)
    states = np.asarray(lm.backbone()(ids))[ids != 0]
    assert np.mean(np.abs(states) > 0.95) < 0.2
    # A recurrent backbone is causal: the state after the last word may be the sentence's summary.
    model = tasks.finetune(lm, data, tmp_path / "last", replace(tasks.PRESETS["quick"], {"pooling": "last", "epochs": 1.0}))
    assert model.network.pooling == "last"


def test_cnn_pooling_ignores_padding_and_round_trips(word2vec_run, tmp_path):
    """Kim (2014)'s CNN over frozen word vectors: the padding after a sentence changes nothing (the
    states are zeroed there and the ReLU maxima cannot come from it), only the convolutions and the head
    train, and the saved classifier gives the same logits."""
    from lmzoo import load
    from lmzoo.config import replace
    from lmzoo.models import tasks
    from lmzoo.models.tasks.classify import SequenceClassifier

    backbone = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(10, 8)])
    network = SequenceClassifier(backbone, num_labels=2, pooling="cnn")
    short, long = np.array([[5, 6, 7, 0]]), np.array([[5, 6, 7] + [0] * 20])
    np.testing.assert_allclose(np.asarray(network(short)), np.asarray(network(long)), atol=1e-6)
    assert not np.allclose(np.asarray(network(short)), np.asarray(network(np.array([[5, 6, 8, 0]]))))

    config = replace(tasks.PRESETS["quick"], {"pooling": "cnn", "freeze": True, "epochs": 1.0})
    model = tasks.finetune(load(word2vec_run), load_task_data("rt-polarity-sample"), tmp_path / "cnn", config)
    trainable = {v.path.split("/")[-2] for v in model.network.trainable_variables}
    assert trainable == {"conv3", "conv4", "conv5", "head"}
    ids = model.ids(["a moving , funny film .", "dull ."])
    np.testing.assert_allclose(np.asarray(load(tmp_path / "cnn").network(ids)), np.asarray(model.network(ids)), atol=1e-6)


def test_classify_end_to_end_with_cli(word2vec_run, tmp_path, capsys):
    from lmzoo import load

    out = tmp_path / "cls"
    argv = ["finetune", word2vec_run, "--task", "classify", "--corpus", "rt-polarity-sample", "--out", out,
            "--preset", "quick"]
    code, stdout, _ = run_cli(capsys, *argv)
    assert code == 0 and "fine-tuned word2vec" in stdout
    assert {"config.json", "tokenizer.json", "task.keras", "metrics.jsonl", "COMPLETE"} <= {p.name for p in out.iterdir()}
    code, stdout, _ = run_cli(capsys, "evaluate", out, "--json")
    row = json.loads(stdout)
    test = load_task_data("rt-polarity-sample").test
    assert code == 0 and row["examples"] == 20 and "train_seconds" in row
    # Recomputed from the reloaded network's outputs (not through classify(), which the harness calls).
    from lmzoo.models.tasks.encoding import encode, pad

    model = load(out)
    logits = np.asarray(model.network(pad([encode(model.tokenizer, t) for t, _ in test], model.context)))
    gold = [model.labels.index(label) for _, label in test]
    assert row["accuracy"] == pytest.approx(np.mean(np.argmax(logits, axis=-1) == gold))


def test_finetune_guards_its_run_directory_as_train_does(word2vec_run, tmp_path, capsys):
    """Issue 22 defect 2: a finished --out was silently reused whatever the settings, and a restart with
    other settings restored the old checkpoint. Now: the fingerprint check and --overwrite of `train`."""
    out = tmp_path / "cls"
    argv = ["finetune", word2vec_run, "--task", "classify", "--corpus", "rt-polarity-sample", "--out", out,
            "--preset", "quick", "--set", "epochs=1.0"]
    assert run_cli(capsys, *argv)[0] == 0
    code, stdout, err = run_cli(capsys, *argv, "--set", "learning_rate=0.01")
    assert code == 2 and not stdout and "already holds a finished finetuned run" in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    steps = len([r for r in RunDir(out).read_metrics() if "epoch" in r])
    code, stdout, err = run_cli(capsys, *argv, "--set", "epochs=2.0", "--overwrite")
    assert code == 0 and json.loads((out / "config.json").read_text())["config"]["epochs"] == 2.0
    assert len([r for r in RunDir(out).read_metrics() if "epoch" in r]) > steps  # trained again, metrics afresh
    (out / "COMPLETE").unlink()  # an interrupted run: a checkpoint and no COMPLETE
    (out / "checkpoints" / "backup").mkdir(parents=True, exist_ok=True)
    (out / "checkpoints" / "backup" / "latest.weights.h5").write_bytes(b"old weights")
    code, _, err = run_cli(capsys, *argv, "--set", "epochs=2.0", "--set", "learning_rate=0.01")
    assert code == 2 and "trained with other settings (differs in: config.learning_rate)" in err
    code, _, err = run_cli(capsys, *argv, "--set", "epochs=2.0", "--set", "max_examples=50")
    assert code == 2 and "config.max_examples" in err


def write_signal_tsv(path, n=200, seed=0):
    """`label<TAB>text` lines whose label a word decides (a learnable signal), 60% `neg`."""
    rng = np.random.default_rng(seed)
    good, bad = ["fine", "warm", "moving", "lovely"], ["dull", "tedious", "flat", "messy"]
    filler = ["a", "film", "the", "story", "and", "of", "it", "is", "with", "plot", "cast", "ending"]
    lines = []
    for i in range(n):
        label = "neg" if i % 5 < 3 else "pos"
        words = list(rng.choice(filler, 6)) + list(rng.choice(bad if label == "neg" else good, 2))
        rng.shuffle(words)
        lines.append(f"{label}\t{' '.join(words)}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_user_tsv_classifier_evaluates_above_the_majority_rate(tmp_path, monkeypatch, capsys):
    """Issue 22 defect 1: `evaluate` reloaded a `label<TAB>text` file as pairs (accuracy 0) from the raw
    relative --corpus path, unchecked. A neural classifier on a word signal must beat the majority rate,
    from another directory, and a changed file is refused."""
    from lmzoo import train

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_signal_tsv(data_dir / "signal.tsv")
    monkeypatch.chdir(data_dir)
    lm = tmp_path / "w2v"
    train("word2vec", as_text_corpus(load_task_data("signal.tsv", kind="labelled")), lm, preset="quick", min_count=1)
    code, _, err = run_cli(capsys, "finetune", lm, "--task", "classify", "--corpus", "signal.tsv", "--out",
                           tmp_path / "cls", "--preset", "quick", "--set", "epochs=8.0", "--set", "learning_rate=3e-3")
    assert code == 0, err
    monkeypatch.chdir(tmp_path)  # the recorded corpus is the resolved path, not "signal.tsv"
    code, stdout, err = run_cli(capsys, "evaluate", tmp_path / "cls", "--json")
    assert code == 0, err
    test = load_task_data(data_dir / "signal.tsv", kind="labelled").test
    majority = max(np.mean([g == label for _, g in test]) for label in ("neg", "pos"))
    assert json.loads(stdout)["accuracy"] > majority + 0.1
    recorded = json.loads((tmp_path / "cls" / "config.json").read_text())
    assert recorded["corpus_kind"] == "labelled" and recorded["corpus_path"] == str(data_dir / "signal.tsv")
    write_signal_tsv(data_dir / "signal.tsv", seed=1)
    code, _, err = run_cli(capsys, "evaluate", tmp_path / "cls")
    assert code == 2 and "changed since" in err and len(err.strip().splitlines()) == 1


def test_finetune_trains_exactly_its_step_count(word2vec_run, tmp_path):
    """Issue 22 defect 8: 7 steps in chunks of 3 trained 9 (whole chunks); StopAtStep cuts the last."""
    from lmzoo import load
    from lmzoo.config import replace
    from lmzoo.models import tasks

    config = replace(tasks.PRESETS["quick"], {"steps": 7, "checkpoint_every_n_steps": 3})
    model = tasks.finetune(load(word2vec_run), load_task_data("rt-polarity-sample"), tmp_path / "c", config)
    assert int(model.network.optimizer.iterations) == 7
    assert max(r["step"] for r in RunDir(tmp_path / "c").read_metrics()) == 7


def test_freeze_scratch_and_two_learning_rates(word2vec_run, tmp_path):
    from lmzoo import load
    from lmzoo.config import replace
    from lmzoo.models import tasks

    data = load_task_data("rt-polarity-sample")
    pretrained = load(word2vec_run)
    table = np.asarray(pretrained.backbone().layers[-1].embeddings).copy()
    quick = tasks.PRESETS["quick"]
    frozen = tasks.finetune(pretrained, data, tmp_path / "frozen", replace(quick, {"freeze": True}))
    assert np.array_equal(np.asarray(frozen.network.backbone.layers[-1].embeddings), table)
    if keras.config.backend() == "tensorflow":
        two = tasks.finetune(pretrained, data, tmp_path / "two", replace(quick, {"backbone_learning_rate": 1e-4}))
        moved = np.abs(np.asarray(two.network.backbone.layers[-1].embeddings) - table).max()
        assert 0 < moved
        assert all(r["loss"] > 0 for r in RunDir(tmp_path / "two").read_metrics() if "loss" in r)  # the own step logs it
    else:  # the two-rate step is a GradientTape: refused in one line elsewhere
        with pytest.raises(LmzooError, match="backbone_learning_rate needs the TensorFlow backend"):
            tasks.finetune(pretrained, data, tmp_path / "two", replace(quick, {"backbone_learning_rate": 1e-4}))
    scratch = tasks.finetune(load(word2vec_run), data, tmp_path / "scratch", replace(quick, {"init": "scratch"}))
    assert not np.allclose(np.asarray(scratch.network.backbone.layers[-1].embeddings), table, atol=1e-2)


def test_counting_classifier_separates_a_clear_signal():
    from lmzoo.models.tasks import CountingClassifier

    pos, neg = ["a fine and moving film", "moving , warm , fine"], ["a dull and tedious mess", "tedious , dull"]
    model = CountingClassifier().fit(pos * 5 + neg * 5, ["pos"] * 10 + ["neg"] * 10)
    assert model.classify(["fine work", "a tedious film", "warm and moving"]) == ["pos", "neg", "pos"]


@pytest.mark.parametrize("architecture", ["decoder_only", "encoder_decoder"])
def test_translate_learns_the_training_pairs(architecture, transformer_run, pairs_file, tmp_path, capsys):
    from lmzoo import load
    from lmzoo.config import replace
    from lmzoo.harness import score_translation
    from lmzoo.models import sampling, tasks

    data = load_task_data(pairs_file)
    # A step budget in place of epochs (40 passes of the 24 pairs), the rate decayed to a third.
    config = replace(tasks.PRESETS["quick"], {"task": "translate", "architecture": architecture, "steps": 80,
                                              "learning_rate": 3e-3, "min_learning_rate": 1e-3})
    out = tmp_path / architecture
    model = tasks.finetune(load(transformer_run), data, out, config)
    assert int(model.network.optimizer.iterations) == 80
    assert np.isclose(float(model.network.optimizer.learning_rate), 1e-3)
    scores = score_translation(model, data, "train")
    copy = score_translation(tasks.CopyTranslator("en", "zh"), data, "train")
    assert scores["bleu"] > 50 > copy["bleu"] and scores["direction"] == "en->zh"
    assert model.generate("Thanks.") == model.translate(["Thanks."])  # the shared sampler, greedy
    # The cached stepper samples what the uncached prefix scorer samples, past the context too (the row slides).
    source, options = model._source("Thanks."), {"max_new_tokens": 40, "eos_id": None, "sampler": "temperature",
                                                 "temperature": 3.0, "seed": 0}
    uncached = sampling.generate(lambda ids: model.next_log_probs(ids, source), [], **options)
    assert sampling.generate(None, [], stepper=lambda: model.stepper([source])[:2], **options) == uncached
    code, stdout, _ = run_cli(capsys, "generate", out, "--prompt", "Good night.")
    assert code == 0 and stdout.strip() == f"[0] {model.translate(['Good night.'])[0]}"


def test_benchmark_calibration_times_the_steps_it_runs(transformer_run, pairs_file, tmp_path):
    import importlib.util
    from pathlib import Path

    from lmzoo import load
    from lmzoo.config import replace
    from lmzoo.models import tasks

    spec = importlib.util.spec_from_file_location("bench_finetune", Path(__file__).parent.parent / "benchmarks" / "finetune.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    config = replace(tasks.PRESETS["quick"], {"task": "translate", "epochs": 50.0})  # steps= replaces the epochs
    per_step = bench.seconds_per_step(load(transformer_run), load_task_data(pairs_file), config, tmp_path / "c", 12)
    run = RunDir(tmp_path / "c")
    assert max(r["step"] for r in run.read_metrics()) == 12
    assert 0 < 12 * per_step < run.timing()["train_seconds"]  # tracing is excluded
    assert bench.budget_steps(1.0, per_step) == int(54 / per_step)


def test_translation_batches_group_lengths_and_drop_padding():
    from lmzoo.models.tasks.training import _pairs_dataset

    lengths = np.array([2, 9, 3, 8, 2, 9, 3, 8] * 4)
    y = np.zeros((len(lengths), 12), np.int32)
    for i, n in enumerate(lengths):
        y[i, :n] = np.arange(4, 4 + n)
    source = np.zeros_like(y)
    source[:, :5] = 7  # a source's width is its own, not its target's
    batches = list(_pairs_dataset((source, y), y, (y > 0).astype(np.float32), 4, seed=0, shuffle=True).take(6))
    for (src, inputs), targets, weights in batches:
        widths = np.count_nonzero(targets, axis=1)
        assert targets.shape[1] == inputs.shape[1] == weights.shape[1] == widths.max()  # cut to the longest row
        assert widths.max() - widths.min() <= 1  # grouped by length: short rows never wait on long ones
        assert src.shape[1] == 5
    evaluation = list(_pairs_dataset(y, y, (y > 0).astype(np.float32), 16, seed=0, shuffle=False))
    assert [b[0].shape for b in evaluation] == [(16, 9), (16, 9)]  # in order, every row, cut to 9


# Bad inputs: one line, exit 2 ----------------------------------------------------------------------


def assert_one_line_error(capsys, argv, match):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and match in err, err


def test_third_label_is_an_error(word2vec_run, tmp_path, capsys):
    path = tmp_path / "labels.tsv"
    path.write_text("pos\tgood film\nneg\tdull film\npos\tfine\nneutral\tit is a film\n", encoding="utf-8")
    assert_one_line_error(capsys, ["finetune", word2vec_run, "--task", "classify", "--corpus", path,
                                   "--out", tmp_path / "o"], "3 distinct labels")


def test_empty_side_of_a_pair_is_an_error(word2vec_run, tmp_path, capsys):
    path = tmp_path / "pairs.tsv"
    path.write_text("Hi.\t你好。\nRun.\t \nThanks.\t谢谢。\n", encoding="utf-8")
    assert_one_line_error(capsys, ["finetune", word2vec_run, "--task", "translate", "--corpus", path,
                                   "--out", tmp_path / "o"], "line 2 has an empty target side")


@pytest.mark.parametrize("family", ["ngram", "unigram"])
def test_family_without_backbone_is_an_error(family, tmp_path, capsys):
    from lmzoo import load_corpus, train

    train(family, load_corpus("rt-polarity-sample"), tmp_path / family)
    assert_one_line_error(capsys, ["finetune", tmp_path / family, "--task", "classify", "--corpus",
                                   "rt-polarity-sample", "--out", tmp_path / "o"], "has no backbone")


def test_tokenizer_mismatch_is_an_error(word2vec_run, pairs_file, tmp_path, capsys):
    assert_one_line_error(capsys, ["finetune", word2vec_run, "--task", "translate", "--corpus", pairs_file,
                                   "--out", tmp_path / "o", "--set", "architecture='encoder_decoder'"],
                          "tokenizer mismatch")


@pytest.fixture(scope="module")
def target_lm_run(pairs_file, tmp_path_factory):
    """A character GRU LM pre-trained on the target side (Chinese) of the training pairs only."""
    from lmzoo import train

    out = tmp_path_factory.mktemp("zh-lm")
    train("rnnlm", as_text_corpus(load_task_data(pairs_file), sides=("target",)), out, preset="quick", cell="gru",
          hidden_dim=32, embedding_dim=16, steps=30, context=16, eval_every=30,
          unigram_bias=False)  # the budgets below were sized from a zero output bias (41 BLEU with the unigram's)
    return out


def test_encoder_decoder_starts_its_decoder_as_the_target_lm(target_lm_run, pairs_file, tmp_path, capsys):
    from lmzoo import load
    from lmzoo.config import replace
    from lmzoo.harness import score_translation
    from lmzoo.models import tasks
    from lmzoo.models.tasks.translate import build_translator

    lm = load(target_lm_run)
    config = replace(tasks.PRESETS["quick"], {"task": "translate", "architecture": "encoder_decoder",
                                              "source_tokenizer": "word", "hidden_dim": 32, "embedding_dim": 16,
                                              "epochs": 40.0, "learning_rate": 3e-3})
    network, _, start = build_translator(config, lm)
    embedding, (gru,), output = tasks.translate.recurrent_lm_layers(lm)
    assert start == "lm" and np.array_equal(network.target_embedding.get_weights()[0], embedding.get_weights()[0])
    assert all(np.array_equal(a, b) for a, b in zip(network.decoders[0].get_weights(), gru.get_weights(), strict=True))
    kernel = network.output_layer.get_weights()[0]
    assert np.array_equal(kernel[:32], output.get_weights()[0]) and not kernel[32:].any()
    scratch, _, start = build_translator(replace(config, {"init": "scratch"}), lm)
    assert start == "random" and not np.allclose(scratch.decoders[0].get_weights()[0], gru.get_weights()[0])

    data = load_task_data(pairs_file)
    model = tasks.finetune(lm, data, tmp_path / "ed", config)
    assert model.source_tokenizer.kind == "word" and model.source_tokenizer is not model.tokenizer
    assert json.loads((tmp_path / "ed" / "config.json").read_text())["network_start"] == "lm"
    assert score_translation(model, data, "train")["bleu"] > 50
    assert tasks.load(RunDir(tmp_path / "ed")).translate(["Thanks."]) == model.translate(["Thanks."])
    recorded = json.loads((tmp_path / "ed" / "config.json").read_text())  # as a run fine-tuned before the rename
    recorded["sequence_length"] = recorded.pop("context")
    (tmp_path / "ed" / "config.json").write_text(json.dumps(recorded))
    assert tasks.load(RunDir(tmp_path / "ed")).context == model.context
    assert_one_line_error(capsys, ["finetune", target_lm_run, "--task", "translate", "--corpus", pairs_file,
                                   "--out", tmp_path / "o", "--set", "architecture='encoder_decoder'",
                                   "--set", "source_tokenizer='word'"], "--set hidden_dim=32 --set embedding_dim=16")


def test_encoder_decoder_from_a_two_layer_gru_lm_predicts_as_the_lm(lee, tmp_path):
    """The decoder started as a 2-layer GRU LM (the default preset's depth) is that LM once the attention
    context is zeroed and the decoder starts from a zero state: every layer is copied, not just the first."""
    from keras import ops

    from lmzoo import train
    from lmzoo.config import replace
    from lmzoo.datasets.tokenizers import BOS, EOS
    from lmzoo.models import tasks
    from lmzoo.models.tasks.translate import build_translator

    lm = train("rnnlm", lee, tmp_path / "lm", preset="default", cell="gru", hidden_dim=16, embedding_dim=8, context=16,
               batch_size=8, steps=6, eval_every=6, eval_batches=1, dropout=0.0)
    assert lm.config.num_layers == 2
    config = replace(tasks.PRESETS["quick"], {"task": "translate", "architecture": "encoder_decoder", "hidden_dim": 16,
                                              "embedding_dim": 8, "num_layers": 2})
    network, _, start = build_translator(config, lm)
    assert start == "lm"
    inputs = np.array([[BOS, *lm.tokenizer.encode("The fire spread quickly")]], np.int32)
    memory = network.encode(np.array([[5, 6, EOS]], np.int32))
    zeros = [ops.zeros((1, 16))] * 2
    memory = {**memory, "states": ops.zeros_like(memory["states"])}  # zero values: a zero context
    logits, _ = network.decode(inputs, zeros, memory)
    want = ops.convert_to_numpy(ops.log_softmax(lm.network(inputs, training=False), axis=-1))
    np.testing.assert_allclose(ops.convert_to_numpy(ops.log_softmax(logits, axis=-1)), want, atol=1e-5)
    network.save(tmp_path / "ed.keras")  # both stacks survive a safe-mode reload
    again = keras.saving.load_model(tmp_path / "ed.keras", safe_mode=True, compile=False)
    source, target = np.array([[5, 6, EOS]], np.int32), inputs[:, :4]
    np.testing.assert_allclose(again([source, target]), network([source, target]), atol=1e-6)
    with pytest.raises(LmzooError, match="--set num_layers=2"):
        build_translator(replace(config, {"num_layers": 1}), lm)
