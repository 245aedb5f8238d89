# The two commands that do everything on a fresh machine:
#   make compare   train and compare every family on the embedded corpus (results in runs/compare)
#   make test      ruff, then the default test run
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The current directory must never be on sys.path, or `models`/`datasets` would shadow.
export PYTHONSAFEPATH := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1
DATA_DIR ?= ../shared/corpora

.PHONY: install test test-all test-jax lint compare lessons notebooks bench bench-summary bench-all clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

# Two worker processes, a test file each at a time (module fixtures train once): 11 min instead of 18 on 2 cores.
# The report page's browser test needs Debian's chromium: installed here when possible, never failing
# the target (tests/test_report.py skips its browser tests, with the reason, where it is missing).
test: lint
	command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null 2>&1 || true
	$(BIN)/pytest -q -n 2 --dist loadfile

test-all: lint
	LMZOO_DATA=$(DATA_DIR) $(BIN)/pytest -q -m ""

# Every Keras family's model tests on the JAX backend, and data parallelism over 2 host devices.
# Tests that cannot run on JAX are skipped in their files with the reason (see README).
JAX_TESTS := tests/test_transformer.py tests/test_rnnlm.py tests/test_seq2seq.py tests/test_word2vec.py \
	tests/test_gpt2.py tests/test_finetune.py
$(VENV)/.installed-jax: $(STAMP)
	$(BIN)/pip install -q -e ".[test,jax]"
	touch $@

test-jax: $(VENV)/.installed-jax
	KERAS_BACKEND=jax $(BIN)/pytest -q $(JAX_TESTS)
	$(BIN)/pytest -q tests/test_distribute.py -k jax

compare: $(STAMP)
	$(BIN)/lmzoo compare --corpus lee --out runs/compare

lessons: $(STAMP)
	for f in lessons/[0-9]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

notebooks: $(STAMP)
	$(BIN)/jupytext --to notebook --output-dir runs/notebooks lessons/[0-9]*.py

# The peers the benchmarks race (PyTorch for nanoGPT, KenLM, nltk): the `bench` extra.
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install -q -e ".[bench]"
	touch $@

# The three peer races (about 25 min on 2 idle cores: word2vec vs gensim, the Transformer vs nanoGPT,
# n-grams vs KenLM), each writing its results file, then one table of the three pairs read from those
# files. A peer that is not installed is said in one line by its benchmark and by the table.
RACES := word2vec transformer_shakespeare ngram_ptb
bench: $(VENV)/.bench-installed
	for f in $(RACES); do echo "== benchmarks/$$f.py"; \
		LMZOO_DATA=$(DATA_DIR) $(BIN)/python benchmarks/$$f.py --data-dir $(DATA_DIR) || exit 1; done
	$(BIN)/python benchmarks/summary.py

bench-summary:
	$(BIN)/python benchmarks/summary.py

# Every benchmark, the long ones too (rnnlm_ptb about 20 min, finetune hours).
bench-all: $(VENV)/.bench-installed
	for f in benchmarks/*.py; do [ $$f = benchmarks/summary.py ] && continue; echo "== $$f"; \
		args=$$(grep -q -- '"--data-dir"' $$f && echo "--data-dir $(DATA_DIR)"); \
		LMZOO_DATA=$(DATA_DIR) $(BIN)/python $$f $$args || exit 1; done
	$(BIN)/python benchmarks/summary.py

clean:
	rm -rf runs build *.egg-info
