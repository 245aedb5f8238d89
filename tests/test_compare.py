"""The main job in quick mode: every family trains, results and figures are written, seeds reproduce."""

import json
from dataclasses import replace

import pytest

from lmzoo import compare as compare_module
from lmzoo.compare import ENTRIES, comparable, compare, scale_config
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
    family = get_family("unigram")
    config = family.presets["default"]
    assert scale_config(config, 3.0) == config  # no epochs/steps field: unchanged

    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Steps:
        steps: int = 100
        epochs: int = 2

    assert scale_config(Steps(), 2.5) == Steps(250, 5)
