"""Every task split is disjoint at the sentence level (case and spacing normalised), pre-training text included."""

import numpy as np
import pytest

from lmzoo.datasets.labelled import (
    LabelledData,
    as_text_corpus,
    disjoint_split,
    load_task_data,
    normalise,
    seeded_split,
)


def _strings(data, split: str) -> set[str]:
    items = data.split(split)
    if isinstance(data, LabelledData):
        return {normalise(text) for text, _ in items}
    return {normalise(side) for pair in items for side in pair}


def assert_disjoint(data) -> None:
    test = _strings(data, "test")
    for other in ("train", "valid"):
        shared = test & _strings(data, other)
        assert not shared, f"{data.name}: {len(shared)} test sentences also in {other}, e.g. {sorted(shared)[:2]}"
    assert not _strings(data, "valid") & _strings(data, "train")
    pretraining = {normalise(line) for line in as_text_corpus(data).train.split("\n") if line.strip()}
    assert not test & pretraining, f"{data.name}: test sentences in the pre-training text"


def test_without_repeats_the_split_is_the_seeded_shuffle():
    keys = [(f"sentence {i}", f"句子 {i}") for i in range(50)]
    ours, plain = disjoint_split(keys, test=7, valid=5), seeded_split(50, test=7, valid=5)
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(ours[split], plain[split])


def test_pairs_sharing_a_sentence_stay_in_one_split():
    rng = np.random.default_rng(1)
    keys = [(f"Source {rng.integers(30)}.", f"target {rng.integers(40)}") for _ in range(60)]
    keys += [(f"Other {i}.", f"other {i}") for i in range(140)]  # one large component and many singletons
    cut = disjoint_split(keys, test=20, valid=10)
    assert sorted(np.concatenate(list(cut.values()))) == list(range(200))
    assert (len(cut["test"]), len(cut["valid"])) == (20, 10)  # the large component is left to train
    sides = {name: {normalise(s) for i in idx for s in keys[i]} for name, idx in cut.items()}
    assert not sides["test"] & (sides["train"] | sides["valid"]) and not sides["valid"] & sides["train"]


def test_a_user_pairs_file_with_repeated_sentences_is_split_disjointly(tmp_path):
    lines = [f"I see {i % 13}.\t我看见{i % 17}。" for i in range(120)] + ["i  SEE 3.\t新的。"]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_disjoint(load_task_data(path))


def test_embedded_labelled_sample_is_disjoint():
    assert_disjoint(load_task_data("rt-polarity-sample"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rt-polarity", "tatoeba-cmn", "imdb"])
def test_real_task_splits_are_disjoint(shared_corpora, name):
    data = load_task_data(name, shared_corpora)
    assert_disjoint(data)
    if name == "tatoeba-cmn":
        assert_disjoint(data.reversed())


@pytest.mark.slow
def test_imdb_unsup_holds_no_labelled_test_review(shared_corpora):
    from lmzoo.datasets import load_corpus

    test = _strings(load_task_data("imdb", shared_corpora), "test")
    text = load_corpus("imdb-unsup", shared_corpora)
    reviews = {normalise(line) for split in ("train", "valid", "test") for line in text.split(split).split("\n") if line}
    assert not test & reviews
