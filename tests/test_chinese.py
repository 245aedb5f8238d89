"""Chinese end to end: `lmzoo compare --quick` on a Chinese text file, every family trains and generates,
and bits per character counts the text's own characters."""

import json
import os
import subprocess
import sys
import unicodedata

import pytest

from lmzoo.lesson import CHINESE_SAMPLE

LANGUAGE_MODELS = ("unigram", "ngram-2", "ngram-3", "ngram-5", "ngram-char-6", "transformer")


def run_compare(corpus: str, out, cwd, extra_env=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONSAFEPATH": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg", **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "lmzoo.cli", "compare", "--corpus", corpus, "--quick", "--out", str(out)],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=900)


def check_rows(out, test_text: str) -> list[dict]:
    rows = json.loads((out / "results.json").read_text(encoding="utf-8"))["rows"]
    failed = {r["name"]: r.get("reason") for r in rows if r["status"] != "ok"}
    assert not failed, failed
    by_name = {r["name"]: r for r in rows}
    for name in LANGUAGE_MODELS:
        row = by_name[name]
        assert row["characters"] == len(test_text), (name, row["characters"], len(test_text))
        # Open vocabulary: the NLL plus the spelling of every unknown token and the layout a word model
        # drops, over the text's own characters.
        open_nats = row["nll_nats"] + row["spelling_nats"] + row["layout_nats"]
        assert row["bits_per_char"] == pytest.approx(open_nats / len(test_text) / 0.6931471805599453)
        assert row["bits_per_char_closed"] == pytest.approx(row["nll_nats"] / len(test_text) / 0.6931471805599453)
        # Greedy decoding may end a poem line at once (after its 。), so a sample can be just the line end.
        assert isinstance(row["sample"], str) and "sample_error" not in row, (name, row.get("sample_error"))
    assert by_name["seq2seq"]["reconstruction_token_accuracy"] is not None
    return rows


def has_han(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CJK UNIFIED") for ch in text)


def test_compare_quick_on_a_chinese_text_file(tmp_path):
    (tmp_path / "poems.txt").write_text(CHINESE_SAMPLE, encoding="utf-8")
    result = run_compare("poems.txt", tmp_path / "out", tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = CHINESE_SAMPLE.splitlines(keepends=True)
    rows = check_rows(tmp_path / "out", "".join(lines[36:]))  # a user's file: its last 10% of lines is the test split
    assert has_han(next(r["sample"] for r in rows if r["name"] == "transformer"))  # it writes Chinese
    assert "transformer" in result.stdout


@pytest.mark.slow
def test_compare_quick_on_tang_poems(tmp_path, shared_corpora):
    from lmzoo.datasets import load_corpus

    corpus = load_corpus("tang-poems", shared_corpora, allow_download=False)
    result = run_compare("tang-poems", tmp_path / "out", tmp_path, {"LMZOO_DATA": str(shared_corpora)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    check_rows(tmp_path / "out", corpus.test)
