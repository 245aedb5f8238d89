"""The short examples in the docstrings of every module run and give what they show."""

import dataclasses
import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import lmzoo
import lmzoo.datasets
import lmzoo.models

MODULES = sorted({"lmzoo", "lmzoo.models", "lmzoo.datasets"} | {
    m.name for package in (lmzoo, lmzoo.models, lmzoo.datasets)
    for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")})
# Modules whose examples were once skipped: each must now have examples that run.
MUST_HAVE_EXAMPLES = ["lmzoo.models.ngram", "lmzoo.models.arpa", "lmzoo.models.word2vec", "lmzoo.models.seq2seq",
                      "lmzoo.models.transformer", "lmzoo.models.transformer_layers", "lmzoo.models.unigram",
                      "lmzoo.datasets.download", "lmzoo.runs", "lmzoo.models.sampling", "lmzoo.models.gpt2"]


# The examples that train a model use the quick preset; here it trains a few steps only, so that
# every example still runs (and its output is checked) at the cost of the whole suite in mind.
SHORTER = {"lmzoo.models.transformer": {"steps": 20, "eval_every": 10},
           "lmzoo.models.seq2seq": {"max_sentences": 64, "epochs": 1.0},
           "lmzoo.models.word2vec": {"epochs": 1}}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a relative path writes it here
    for family_module, changes in SHORTER.items():
        presets = importlib.import_module(family_module).PRESETS
        monkeypatch.setitem(presets, "quick", dataclasses.replace(presets["quick"], **changes))
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
    if name in MUST_HAVE_EXAMPLES:
        assert tried > 0, f"{name} has no example that runs"


def test_the_list_of_modules_is_the_package():
    assert set(MUST_HAVE_EXAMPLES) <= set(MODULES) and len(MODULES) >= 20


def test_no_module_imports_private_keras_modules():
    """Only public API of keras, keras-nlp and keras-hub: their `src` packages change without notice."""
    project = Path(lmzoo.__file__).resolve().parents[1]
    sources = [p for folder in ("lmzoo", "models", "datasets", "lessons", "benchmarks", "tests")
               for p in (project / folder).rglob("*.py")]
    private = re.compile(r"^\s*(from|import)\s+(keras|keras_nlp|keras_hub)\.src\b", re.M)
    offenders = [str(p) for p in sources if private.search(p.read_text(encoding="utf-8"))]
    assert not offenders


def test_no_absolute_path_of_this_machine_in_the_repository():
    """Paths are relative to the project (`../shared/...`) or temporary, never where this checkout lives."""
    project = Path(lmzoo.__file__).resolve().parents[1]
    ancestors = [f"{a}/" for a in project.parents if a != a.parent]  # the folders above the project (where ../shared lives)
    files = [p for folder in ("lmzoo", "models", "datasets", "lessons", "benchmarks")
             for p in (project / folder).rglob("*") if p.suffix in (".py", ".json", ".md")]
    offenders = [str(p) for p in [*files, project / "README.md"]
                 if any(a in p.read_text(encoding="utf-8") for a in ancestors)]
    assert not offenders
