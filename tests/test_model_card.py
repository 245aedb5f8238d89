"""MODEL_CARD.md in every run directory, written by train, finetune and compare."""

import hashlib

from lmzoo import load_corpus, train
from lmzoo.model_card import write_model_card
from lmzoo.runs import RunDir


def test_train_writes_a_card_with_the_data_hashes_and_the_run_figures(lee, tmp_path):
    train("unigram", lee, tmp_path / "run")
    card = (tmp_path / "run" / "MODEL_CARD.md").read_text()
    for split in ("train", "valid", "test"):
        assert hashlib.sha256(getattr(lee, split).encode("utf-8")).hexdigest() in card
    timing = RunDir(tmp_path / "run").timing()
    assert f"- tokens seen: {timing['tokens_seen']:,}" in card and f"{timing['train_seconds']:.1f} s" in card
    for section in ("## Model details", "## Training data", "## Training procedure", "## Evaluation",
                    "## Intended use", "## Limitations and known failure modes"):
        assert section in card
    assert "Not evaluated yet" in card and "no context at all" in card.lower()
    run = RunDir(tmp_path / "run")
    run.write_json("results.json", {"bits_per_char": 2.4567, "params": 7225, "split": "test", "corpus": "lee"})
    card = write_model_card(run).read_text()
    assert "| open-vocabulary bits/char | 2.457 |" in card and "Not evaluated yet" not in card


def test_finetune_card_names_the_pretrained_run(tmp_path):
    from lmzoo.config import replace
    from lmzoo.datasets.labelled import load_task_data
    from lmzoo.models import tasks

    pretrained = train("word2vec", load_corpus("rt-polarity-sample"), tmp_path / "w2v", preset="quick", min_count=1,
                       epochs=1)
    data = load_task_data("rt-polarity-sample")
    tasks.finetune(pretrained, data, tmp_path / "cls", replace(tasks.PRESETS["quick"], {"epochs": 1.0}),
                   pretrained_run=str(tmp_path / "w2v"))
    card = (tmp_path / "cls" / "MODEL_CARD.md").read_text()
    assert f"fine-tuned from the pre-trained word2vec run `{tmp_path / 'w2v'}`" in card
    assert f"| train | {len(data.train):,} examples |" in card


def test_an_unfinished_run_gets_no_card(tmp_path):
    """A worker other than the chief (multi-worker training) claims its --out but saves nothing: no card there."""
    run = RunDir(tmp_path / "worker1")
    run.begin("transformer", {}, {"family": "transformer"})
    assert write_model_card(run) is None and not run.file("MODEL_CARD.md").exists()
