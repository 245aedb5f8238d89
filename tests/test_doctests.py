"""The short examples in the docstrings of the core modules run and give what they show."""

import doctest
import importlib

import pytest

MODULES = ["lmzoo", "lmzoo.errors", "lmzoo.config", "lmzoo.runs", "lmzoo.families", "lmzoo.plots", "lmzoo.lesson",
           "lmzoo.harness", "lmzoo.datasets.corpus", "lmzoo.datasets.labelled", "lmzoo.datasets.tokenizers", "lmzoo.datasets.batching",
           "lmzoo.models.sampling", "lmzoo.models.gpt2"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
